"""Start the oracle and an Airlock server (or target a running one) and run the configurations.

Airlock runs as its own process (``python -m airlock.cli serve``) on an embedded SQLite file, with
the ``openai_compatible`` provider pointed at the oracle: the application, the gateway and the
model talk real HTTP, as in production, and the gateway gets its own core.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx

from airlock.eval.agentdojo import app as A
from airlock.eval.agentdojo import cases as C
from airlock.eval.agentdojo.oracle import Oracle, oracle_app

# examples/ beside src/ when running from a checkout (where `make eval` runs).
POLICY_DIR = Path(__file__).resolve().parents[4] / "examples" / "policies" / "agentdojo"
MODES = ("standard", "strict")


@dataclass(frozen=True)
class Configuration:
    name: str
    arch: str  # single-llm | dual-llm
    mode: str | None = None  # policy mode when the suite's policy is sent

    def headers(self, suite: str, policy_dir: Path) -> dict[str, str]:
        out = {"X-Features": json.dumps({"agent_arch": self.arch})}
        if self.mode is not None:
            code = (policy_dir / f"{suite}.sqrt").read_text()
            out["X-Policy"] = json.dumps({"mode": self.mode, "codes": {"code": code, "language": "sqrt"}})
        return out


def configurations(modes: list[str]) -> list[Configuration]:
    out = [Configuration("undefended", "single-llm"), Configuration("dual_llm", "dual-llm")]
    out += [Configuration(f"dual_llm_policies_{m}", "dual-llm", m) for m in modes]
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_in_thread(asgi: Any) -> tuple[Any, int]:
    import uvicorn

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(asgi, log_level="error", access_log=False, lifespan="off",
                                           timeout_keep_alive=60))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="agentdojo-oracle", daemon=True).start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the oracle server did not start")
        time.sleep(0.01)
    return server, int(sock.getsockname()[1])


@dataclass
class LocalAirlock:
    """An Airlock server process on loopback with one key, upstream = ``upstream_url``."""

    upstream_url: str | None  # None: the real providers (with --provider-key)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="airlock-eval-")))
    port: int = 0
    key: str = ""
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "LocalAirlock":
        from airlock.keys import mint_key
        from airlock.sessions.store import store_from_url

        db = f"sqlite+aiosqlite:///{self.workdir / 'airlock.db'}"
        secret, record = mint_key("agentdojo-eval", {"arch": "dual-llm"})

        async def add() -> None:
            store = store_from_url(db)
            await store.start()
            try:
                await store.add_key(record)
            finally:
                await store.close()

        asyncio.run(add())
        self.key = secret
        self.port = free_port()
        env = {**os.environ, "AIRLOCK_DATABASE_URL": db, "AIRLOCK_ALLOWED_MODELS": "*", "AIRLOCK_LOG_LEVEL": "warning",
               "AIRLOCK_UPSTREAM_TIMEOUT_S": "60"}
        if self.upstream_url:
            env["AIRLOCK_OPENAI_COMPATIBLE_BASE_URL"] = f"{self.upstream_url}/v1"
        log = (self.workdir / "airlock.log").open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "airlock.cli", "serve", "--port", str(self.port)],
                                     env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/control/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Airlock did not start; see {self.workdir / 'airlock.log'}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None


@dataclass
class Plan:
    """What to run."""

    suites: list[str]
    attack: str = C.DEFAULT_ATTACK
    modes: list[str] = field(default_factory=lambda: list(MODES))
    user_tasks: list[str] | None = None
    injection_tasks: list[str] | None = None
    adversarial: bool = True  # the reader's side in attacked runs
    workers: int = 4
    policy_dir: Path = POLICY_DIR
    configs: list[str] | None = None  # subset of configuration names


@dataclass
class Results:
    plan: Plan
    outcomes: dict[str, list[A.Outcome]]  # configuration → outcomes (utility runs, then attacked runs)
    wall_s: float
    misses: list[str]
    oracle_counts: dict[str, int]


def _run_all(cases: list[C.Case], run: Callable[[C.Case], A.Outcome], workers: int) -> list[A.Outcome]:
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(run, cases))


def run_plan(plan: Plan, target: A.Target, progress: Callable[[str], None] = lambda s: None,
             oracle: Oracle | None = None) -> Results:
    """Run every configuration of ``plan`` against ``target``: utility runs, then attacked runs."""
    started = time.monotonic()
    plain = C.cases(plan.suites, user_tasks=plan.user_tasks, attacked=False)
    attacked = C.cases(plan.suites, user_tasks=plan.user_tasks, injection_tasks=plan.injection_tasks, attacked=True)
    configs = [c for c in configurations(plan.modes) if plan.configs is None or c.name in plan.configs]
    local = threading.local()
    from openai import OpenAI

    def client() -> Any:
        if not hasattr(local, "client"):
            extra = {"X-Api-Key": target.provider_key} if target.provider_key else {}
            local.client = OpenAI(base_url=f"{target.base_url}/control/chat/{target.provider}/v1", api_key=target.key,
                                  default_headers=extra, timeout=target.timeout_s, max_retries=0)
        return local.client

    out: dict[str, list[A.Outcome]] = {}
    for config in configs:
        t0 = time.monotonic()
        headers = {s: config.headers(s, plan.policy_dir) for s in plan.suites}
        runner = lambda case: A.run_case(case, target, headers[case.suite], plan.attack, client())  # noqa: E731
        out[config.name] = _run_all(plain, runner, plan.workers) + _run_all(attacked, runner, plan.workers)
        progress(f"{config.name}: {len(plain)} utility + {len(attacked)} attacked cases in {time.monotonic() - t0:.1f} s")
    misses = sorted(set(oracle.misses)) if oracle is not None else []
    counts = dict(oracle.counts) if oracle is not None else {}
    return Results(plan, out, time.monotonic() - started, misses, counts)


def offline(plan: Plan, progress: Callable[[str], None] = lambda s: None) -> Results:
    """The offline evaluation: the oracle as every model, a fresh Airlock process in front of it."""
    oracle = Oracle(adversarial=plan.adversarial)
    server, port = serve_in_thread(oracle_app(oracle))
    airlock = LocalAirlock(f"http://127.0.0.1:{port}")
    try:
        airlock.start()
        progress(f"oracle on 127.0.0.1:{port}, Airlock on {airlock.url} ({airlock.workdir})")
        target = A.Target(airlock.url, airlock.key)
        return run_plan(plan, target, progress, oracle)
    finally:
        airlock.stop()
        server.should_exit = True


def iter_outcomes(results: Results) -> Iterator[tuple[str, A.Outcome]]:
    for name, outs in results.outcomes.items():
        for o in outs:
            yield name, o
