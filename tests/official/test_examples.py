"""The sdist's getting-started examples, unchanged, against a live Airlock with *default* settings.

The server here has no ``allowed_models`` override: the examples' model strings
(``openai/gpt-5-mini,openai/gpt-5-nano``) must be on the default allow list, since the dual-LLM
example sends no provider key of its own and so runs on the server's. Every provider is the fake
LLM answered by ``OfficialLLM``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from airlock.settings import Settings
from tests.live_server import LiveAirlock, upstream_settings
from tests.official.conftest import SERVER_KEYS


@pytest.fixture(scope="module")
def default_airlock(official_fake, tmp_path_factory):
    db = tmp_path_factory.mktemp("examples") / "airlock.db"
    settings = upstream_settings(official_fake.base_url, f"sqlite+aiosqlite:///{db}", upstream_timeout_s=10.0,
                                 **SERVER_KEYS)
    assert settings.allowed_models == Settings.model_fields["allowed_models"].default
    live = LiveAirlock(settings)
    live.add_keys({"dual": {"arch": "dual-llm"}})
    live.start()
    yield live
    live.stop()


def run_example(sdist, live, name: str, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SEQURITY_API_KEY": live.keys["dual"], "SEQURITY_BASE_URL": live.url,
           "OPENROUTER_API_KEY": "sk-test-openrouter"}
    script = sdist / "examples" / "control" / "getting_started" / name / "sequrity_client.py"
    return subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120,
                          cwd=str(tmp_path))


def test_tool_use_dual_llm_runs_on_a_default_server(sequrity_sdist, default_airlock, official_fake, tmp_path):
    mark = len(official_fake.handler.calls)
    result = run_example(sequrity_sdist, default_airlock, "tool_use_dual_llm", tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Send email denied by security policy" in result.stdout
    assert "denied by argument checking policies" in result.stdout
    assert "Email allowed to trusted domain" in result.stdout
    models = [req.json.get("model") for req in official_fake.requests[-(len(official_fake.handler.calls) - mark):]]
    assert set(models) == {"openai/gpt-5-mini"}  # the planner; the server's key paid for it


def test_langgraph_example_prints_its_tables_query_and_result(sequrity_sdist, default_airlock, official_fake, tmp_path):
    mark = len(official_fake.handler.calls)
    result = run_example(sequrity_sdist, default_airlock, "langgraph", tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "Tables: users, orders, products" in out
    assert "SQL Query: SELECT * FROM users WHERE name LIKE '%recent%'" in out
    assert "Query executed successfully!" in out and "Found 3 matching records" in out
    assert out.index("Listing available tables") < out.index("Getting schema") < out.index("Executing SQL")
    assert "routing directly to execute_query" in out
    assert len(official_fake.handler.calls) == mark  # the graph is the program
