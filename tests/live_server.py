"""Run a real Airlock server on loopback for tests and benchmarks, upstreams pointed at a fake."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field

import uvicorn

from airlock.api.app import create_app
from airlock.keys import mint_key
from airlock.sessions.store import store_from_url
from airlock.settings import Settings


def serve_in_thread(app, *, name: str) -> tuple[uvicorn.Server, threading.Thread, int]:
    """Start ``app`` under uvicorn on 127.0.0.1 with an OS-chosen port; returns once it accepts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, access_log=False, timeout_graceful_shutdown=1, timeout_keep_alive=60)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"{name}-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"{name} did not start")
        time.sleep(0.005)
    return server, thread, port


def upstream_settings(fake_base_url: str, database_url: str, **overrides) -> Settings:
    """Settings whose every provider points at the fake LLM server."""
    values = dict(
        database_url=database_url,
        openai_base_url=f"{fake_base_url}/v1",
        openrouter_base_url=f"{fake_base_url}/v1",
        anthropic_base_url=f"{fake_base_url}/v1",
        sequrity_azure_base_url=f"{fake_base_url}/azure",
        openai_compatible_base_url=f"{fake_base_url}/v1",
        upstream_retry_backoff_s=0.01,
        upstream_timeout_s=5.0,
    )
    values.update(overrides)
    return Settings(**values)


@dataclass
class LiveAirlock:
    settings: Settings
    keys: dict[str, str] = field(default_factory=dict)
    port: int = 0
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_keys(self, specs: dict[str, dict]) -> None:
        """Mint keys straight into the database before (or while) the server runs."""

        async def add():
            store = store_from_url(self.settings.database_url)
            await store.start()
            try:
                for name, base in specs.items():
                    secret, record = mint_key(name, base)
                    await store.add_key(record)
                    self.keys[name] = secret
            finally:
                await store.close()

        asyncio.run(add())

    def start(self) -> "LiveAirlock":
        self._server, self._thread, self.port = serve_in_thread(create_app(self.settings), name="airlock")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = None
