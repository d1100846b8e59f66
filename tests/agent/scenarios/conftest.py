"""One fake LLM (scripted by ``ScriptedLLM``) and one live Airlock for the whole directory.

Keys: ``dual`` (arch dual-llm) and ``single`` (arch single-llm). Every provider points at the
fake; the server holds its own provider keys, and the docs' model pair is on the allow list so
the tutorial can run exactly as written (no ``llm_api_key``).
"""

from __future__ import annotations

import pytest

import json

from tests.agent.scenarios.catalog import DUAL_MODEL, POSTED_RESULTS
from tests.agent.scenarios.planner import ScriptedLLM
from tests.fakes.llm_server import FakeLLM
from tests.live_server import LiveAirlock, upstream_settings

SERVER_KEYS = dict(openai_api_key="sk-srv-openai", openrouter_api_key="sk-srv-openrouter",
                   anthropic_api_key="sk-ant-srv", azure_openai_api_key="azure-srv")


@pytest.fixture(scope="session")
def scenario_fake():
    with FakeLLM() as fake:
        yield fake


@pytest.fixture(scope="session")
def scenario_airlock(scenario_fake, tmp_path_factory):
    db = tmp_path_factory.mktemp("scenarios") / "airlock.db"
    live = LiveAirlock(upstream_settings(
        scenario_fake.base_url, f"sqlite+aiosqlite:///{db}",
        allowed_models=f"fake-model,{DUAL_MODEL}", upstream_timeout_s=5.0, **SERVER_KEYS))
    live.add_keys({"dual": {"arch": "dual-llm"}, "single": {"arch": "single-llm"}})
    live.start()
    yield live
    live.stop()


@pytest.fixture
def llm(scenario_fake) -> ScriptedLLM:
    """A fresh scripted model installed as the fake's handler (counters start at zero).

    The canary: after every scenario, no tool result the client posted — in any form, whole
    lines of it or JSON-escaped — appears in any request to the planner (planner isolation)."""
    scenario_fake.reset()
    POSTED_RESULTS.clear()
    scripted = ScriptedLLM()
    scenario_fake.handler = scripted
    yield scripted
    planner_bodies = [req.raw.decode() for req in scripted.requests("pllm")]
    for result in POSTED_RESULTS:
        for piece in _distinctive(result):
            escaped = json.dumps(piece)[1:-1]
            for body in planner_bodies:
                assert piece not in body and escaped not in body, f"a planner prompt carries tool data: {piece!r}"
    scenario_fake.reset()


def _distinctive(result: str) -> list[str]:
    """The pieces of a tool result that cannot appear in a prompt by coincidence."""
    lines = [ln.strip() for ln in str(result).splitlines()]
    return [ln for ln in lines if len(ln) >= 16]
