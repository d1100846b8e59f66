"""The official LangGraph test files of ``sequrity`` 0.4.2, unchanged, against a live Airlock.

``test/control/test_langgraph.py`` drives ``client.control.langgraph.run`` over every provider
(Chat Completions routes, and Messages for ``anthropic``): Airlock runs the client's compiled
graph and sends each node back as a tool call. No model is asked anything: the graph is the
program (so the fake LLM must see no request at all).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import SDIST_CACHE
from tests.api.test_official_suite import run_official
from tests.official.test_official_files import assert_passed, run_file


def test_langgraph(sequrity_sdist, official_airlock, official_fake, tmp_path):
    result, summary, roles = run_file(sequrity_sdist, official_airlock, official_fake, tmp_path,
                                      "test_langgraph.py", "dual")
    assert_passed(result, summary, 9)
    assert roles == []  # the graph is the program: no planner, no reader


@pytest.fixture(scope="session")
def openai_2():
    """``openai<3`` in a folder of its own, put first on the official test's path.

    ``openai`` 3.x moved to ``httpx2``, and ``langchain-openai`` caches one async client per
    process across event loops: with it, the official file's second async test fails client-side
    ("Event loop is closed") before a request reaches Airlock. ``sequrity`` 0.4.2 and the tests
    were written against ``openai`` 2.x, so this file runs with that (the rest of the suite keeps
    the installed 3.x)."""
    target = SDIST_CACHE / "openai-2"
    if not (target / "openai" / "__init__.py").exists():
        proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                               "openai>=2,<3"], capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            pytest.fail(f"could not install openai<3 for the integration test:\n{proc.stderr[-2000:]}")
    return target


def test_langgraph_integration(sequrity_sdist, official_airlock, official_fake, tmp_path, openai_2):
    """``test/integrations/test_langgraph_integration.py``: the LangChain ``ChatOpenAI`` client of
    ``sequrity.control.integrations.langgraph`` on the chat routes (dual- and single-LLM), with
    ``openai<3`` (see ``openai_2``)."""
    mark = len(official_fake.handler.calls)
    result = run_official(sequrity_sdist, official_airlock, "test_langgraph_integration.py", tmp_path,
                          extra_env={"SEQURITY_API_KEY": official_airlock.keys["dual"], "PYTHONPATH_FIRST": str(openai_2)}, folder="integrations")
    lines = result.stdout.strip().splitlines()
    assert_passed(result, lines[-1] if lines else "", 3)
    roles = [role for role, _ in official_fake.handler.calls[mark:]]
    assert set(roles) == {"pllm", "single"}  # dual-llm for two tests, single-llm for the third
