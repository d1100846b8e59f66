"""A live Airlock (real uvicorn on loopback, real SQLite) whose providers are the fake LLM server."""

from __future__ import annotations

import httpx
import pytest

from tests.fakes.llm_server import fake_llm, fake_llm_server  # noqa: F401 - fixtures
from tests.live_server import LiveAirlock, upstream_settings

KEYS = {
    "single": {"arch": "single-llm"},
    "other": {"arch": "single-llm"},
    "revoked": {"arch": "single-llm"},
}


@pytest.fixture(scope="session")
def airlock(fake_llm_server, tmp_path_factory):  # noqa: F811
    db = tmp_path_factory.mktemp("airlock") / "airlock.db"
    live = LiveAirlock(
        upstream_settings(
            fake_llm_server.base_url,
            f"sqlite+aiosqlite:///{db}",
            allowed_models="fake-model,gpt-5-mini",
            max_body_bytes=64 * 1024,
            upstream_timeout_s=1.0,
            openai_api_key="sk-server-openai-secret",
            openrouter_api_key="sk-server-openrouter-secret",
            anthropic_api_key="sk-ant-server-secret",
            azure_openai_api_key="azure-server-secret",
        )
    )
    live.add_keys(KEYS)
    live.start()
    import asyncio

    from airlock.sessions.store import store_from_url

    async def revoke():
        store = store_from_url(live.settings.database_url)
        await store.start()
        await store.revoke_key("revoked")
        await store.close()

    asyncio.run(revoke())
    yield live
    live.stop()


@pytest.fixture
def http(airlock):
    with httpx.Client(base_url=airlock.url, timeout=10) as client:
        yield client


@pytest.fixture
def auth(airlock) -> dict[str, str]:
    return {"Authorization": f"Bearer {airlock.keys['single']}"}
