"""The LiteLLM proxy, in its own venv (bench/.venv-litellm, created on first use), never the project's."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE.parent / ".venv-litellm"
EXE = VENV / "bin" / "litellm"


def ensure_litellm() -> Path:
    if EXE.exists():
        return EXE
    print(f"[setup] installing litellm[proxy] into {VENV} (first run only, ~1-3 min)...", flush=True)
    base_python = getattr(sys, "_base_executable", None) or sys.executable
    subprocess.run([base_python, "-m", "venv", str(VENV)], check=True, capture_output=True, timeout=300)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    done = subprocess.run([*pip, "litellm[proxy]"], capture_output=True, text=True, timeout=1200)
    if done.returncode != 0 or not EXE.exists():
        raise RuntimeError(f"pip install 'litellm[proxy]' failed: {(done.stderr or done.stdout).strip()[-800:]}")
    return EXE


def version() -> str:
    with contextlib.suppress(Exception):
        dist = next((VENV / "lib").glob("python*/site-packages/litellm-*.dist-info"))
        return dist.name.removeprefix("litellm-").removesuffix(".dist-info")
    return ""


def prepare(workdir: Path, upstream_base: str, model: str, upstream_key: str, port: int) -> tuple[list[str], dict[str, str], str]:
    """(argv, env, master key) for a LiteLLM proxy with one ``openai/<model>`` pointing at the fake."""
    exe = ensure_litellm()
    master = "sk-" + secrets.token_hex(32)  # LiteLLM refuses to start without a (strong) master key
    cfg = workdir / "litellm.yaml"
    cfg.write_text(
        "model_list:\n"
        f"  - model_name: {model}\n"
        "    litellm_params:\n"
        f"      model: openai/{model}\n"
        f"      api_base: {upstream_base}\n"
        f"      api_key: {upstream_key}\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "general_settings:\n"
        "  disable_spend_logs: true\n"
    )
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LITELLM_", "DATABASE_URL", "REDIS_", "OPENAI_", "ANTHROPIC_"))}
    env.update(LITELLM_LOG="ERROR", LITELLM_MASTER_KEY=master, LITELLM_LOCAL_MODEL_COST_MAP="True",
               DISABLE_ADMIN_UI="True", LITELLM_TELEMETRY="False", NO_DOCS="True")
    argv = [str(exe), "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]
    return argv, env, master
