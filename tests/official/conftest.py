"""One fake LLM (answered by ``OfficialLLM``) and one live Airlock for the official suite.

Every provider points at the fake and the server holds its own provider keys; the official
tests bring their own (``llm_api_key`` → ``X-Api-Key``) anyway, and the allow list names the
official test models in case a request comes without one.

Keys: ``dual`` is minted with ``{"arch": "dual-llm"}`` — the same arch Airlock's preset gives a
key with no saved arch — and ``single`` with ``{"arch": "single-llm"}``. See notes/official.md
for why the suite is run with each.
"""

from __future__ import annotations

import pytest

from tests.fakes.llm_server import FakeLLM
from tests.live_server import LiveAirlock, upstream_settings
from tests.official.responder import OfficialLLM

OFFICIAL_MODELS = "gpt-5-mini,google/gemini-3-flash-preview,claude-sonnet-4-5,claude-sonnet-4-5-20250929"
SERVER_KEYS = dict(openai_api_key="sk-srv-openai", openrouter_api_key="sk-srv-openrouter",
                   anthropic_api_key="sk-ant-srv", azure_openai_api_key="azure-srv")


@pytest.fixture(scope="session")
def official_fake():
    with FakeLLM() as fake:
        fake.handler = OfficialLLM()
        yield fake


@pytest.fixture(scope="session")
def official_airlock(official_fake, tmp_path_factory):
    db = tmp_path_factory.mktemp("official") / "airlock.db"
    live = LiveAirlock(upstream_settings(
        official_fake.base_url, f"sqlite+aiosqlite:///{db}",
        allowed_models=OFFICIAL_MODELS, upstream_timeout_s=10.0, **SERVER_KEYS))
    live.add_keys({"dual": {"arch": "dual-llm"}, "single": {"arch": "single-llm"}})
    live.start()
    yield live
    live.stop()
