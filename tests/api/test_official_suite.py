"""The official ``sequrity`` test files, unchanged, against a live Airlock."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def run_official(sdist, airlock, test_file: str, tmp_path, extra_env: dict | None = None, folder: str = "control",
                 python: str = sys.executable) -> subprocess.CompletedProcess:
    # Only the sdist's test helper package goes on the path; `sequrity` itself is the installed 0.4.2.
    helpers = tmp_path / "helpers"
    helpers.mkdir(exist_ok=True)
    link = helpers / "sequrity_unittest"
    if not link.exists():
        link.symlink_to(sdist / "src" / "sequrity_unittest")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([*(extra_env or {}).get("PYTHONPATH_FIRST", "").split(os.pathsep), str(helpers)]).strip(os.pathsep),
        "TEST_MODE": "local",
        "SEQURITY_BASE_URL": airlock.url,
        "SEQURITY_API_KEY": airlock.keys["single"],
        "OPENAI_API_KEY": "sk-test-openai",
        "OPENROUTER_API_KEY": "sk-test-openrouter",
        "ANTHROPIC_API_KEY": "sk-test-anthropic",
        "SEQURITY_AZURE_API_KEY": "sk-test-azure",
        **(extra_env or {}),
    }
    return subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(sdist),
         "-o", "asyncio_mode=auto", str(sdist / "test" / folder / test_file)],
        env=env, capture_output=True, text=True, timeout=300, cwd=str(tmp_path),
    )


def test_official_test_headers_passes_unchanged(sequrity_sdist, airlock, tmp_path):
    result = run_official(sequrity_sdist, airlock, "test_headers.py", tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
