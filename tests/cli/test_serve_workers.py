"""`airlock serve --workers N`: several processes on one embedded store, as real processes.

What must hold across worker processes (each with its own key cache and warm state): the SQLite
schema is migrated once even when workers start together on a fresh file; a session created
through one process resumes through another; a key revoked in the store is refused by every
process within the key-cache TTL. And the warm-up that runs before a worker accepts leaves
nothing in the operator's database and calls no provider.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from airlock.settings import Settings
from tests.fakes.llm_server import FakeLLM, Reply

from tests.cli.test_cli_end_to_end import AIRLOCK, _free_port

CHAT = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def env(tmp_path):
    fake = FakeLLM().start()
    values = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_")}
    values.update({
        "AIRLOCK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'workers.db'}",
        "AIRLOCK_OPENAI_BASE_URL": f"{fake.base_url}/v1",
        "OPENAI_API_KEY": "sk-operator-key",
        "AIRLOCK_ALLOWED_MODELS": "fake-model",
        "AIRLOCK_KEY_CACHE_TTL_S": "1.0",
    })
    yield values, fake, tmp_path / "workers.db"
    fake.stop()


def _key(values: dict[str, str], name: str) -> str:
    made = subprocess.run([AIRLOCK, "keys", "create", "--name", name, "--arch", "single-llm"], env=values,
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip().splitlines()[-1]


class Server:
    def __init__(self, values: dict[str, str], workers: int, *, wait: bool = True) -> None:
        self.port = _free_port()
        self.proc = subprocess.Popen([AIRLOCK, "serve", "--port", str(self.port), "--workers", str(workers)],
                                     env=values, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if wait:
            self.wait()

    def wait(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/control/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None, self.proc.stdout.read()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def chat(self, secret: str, session: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {secret}"}
        if session:
            headers["X-Session-ID"] = session
        # A fresh connection per call: with several workers the kernel may hand it to any of them.
        return httpx.post(f"{self.url}/control/chat/openai/v1/chat/completions", json=CHAT, headers=headers, timeout=30)

    def worker_pids(self) -> list[int]:
        """uvicorn's worker processes: the server's children started by multiprocessing's spawn."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat[1]) == self.proc.pid and b"spawn_main" in cmdline:
                pids.append(int(entry.name))
        return pids

    def stop(self) -> str:
        self.proc.terminate()
        return self.proc.communicate(timeout=30)[0]


def test_two_workers_on_a_fresh_database(env):
    values, fake, db = env
    assert not db.exists()  # never migrated: the serve process migrates before its workers start
    server = Server(values, workers=2)
    try:
        assert len(server.worker_pids()) == 2
        # The warm-up served its synthetic requests elsewhere: no provider call, no row left.
        assert fake.requests == []
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM api_keys").fetchone() == (0,)
        secret = _key(values, "app")
        for _ in range(12):
            fake.push(Reply(text="from a worker"))
            answer = server.chat(secret)
            assert answer.status_code == 200, answer.text
            assert answer.json()["choices"][0]["message"]["content"] == "from a worker"
    finally:
        output = server.stop()
    assert secret not in output and "sk-operator-key" not in output


def test_sessions_and_revocation_across_worker_processes(env):
    values, fake, db = env
    assert not db.exists()
    # Started together on a fresh file: their two migrations take turns under the file lock.
    a, b = Server(values, workers=1, wait=False), Server(values, workers=1, wait=False)
    try:
        a.wait()
        b.wait()
        secret = _key(values, "shared")
        fake.push(Reply(text="one"))
        first = a.chat(secret)
        assert first.status_code == 200, first.text
        session = first.headers["X-Session-ID"]
        fake.push(Reply(text="two"))
        resumed = b.chat(secret, session)  # another process, same store
        assert resumed.status_code == 200, resumed.text
        assert resumed.headers["X-Session-ID"] == session
        fake.push(Reply(text="three"))
        assert a.chat(secret, session).status_code == 200  # A sees B's write (compare-and-set version)

        # Both processes now hold the key in their caches; revoke it in the store.
        revoked = subprocess.run([AIRLOCK, "keys", "revoke", "shared"], env=values, capture_output=True, text=True,
                                 timeout=60)
        assert revoked.returncode == 0, revoked.stderr
        t0 = time.monotonic()
        ttl = float(values["AIRLOCK_KEY_CACHE_TTL_S"])
        refused_after = {}
        while len(refused_after) < 2:
            for name, server in (("a", a), ("b", b)):
                if name not in refused_after:
                    fake.push(Reply(text="should not be served"))
                    if server.chat(secret).status_code == 401:
                        refused_after[name] = time.monotonic() - t0
            assert time.monotonic() - t0 < ttl + 3, f"still accepted after {ttl + 3} s: {refused_after}"
            time.sleep(0.05)
        assert max(refused_after.values()) <= ttl + 1.0, refused_after
        # ... and it stays refused, by both.
        assert a.chat(secret).status_code == 401 and b.chat(secret).status_code == 401
    finally:
        a.stop()
        b.stop()


def test_worker_share_divides_the_host_budgets():
    one = Settings(workers_max=16, workers_min=2, workers_per_key=12, upstream_max_connections=200)
    assert one.worker_share() is one
    four = one.model_copy(update={"serve_workers": 4}).worker_share()
    assert (four.workers_max, four.workers_min, four.workers_per_key, four.upstream_max_connections) == (4, 1, 3, 50)
    many = one.model_copy(update={"serve_workers": 64}).worker_share()
    assert (many.workers_max, many.workers_min, many.workers_per_key) == (1, 1, 1)  # never zero
