"""The official LangGraph test files of ``sequrity`` 0.4.2, unchanged, against a live Airlock.

``test/control/test_langgraph.py`` drives ``client.control.langgraph.run`` over every provider
(Chat Completions routes, and Messages for ``anthropic``): Airlock runs the client's compiled
graph and sends each node back as a tool call. No model is asked anything: the graph is the
program (so the fake LLM must see no request at all).
"""

from __future__ import annotations

from tests.api.test_official_suite import run_official
from tests.official.test_official_files import assert_passed, run_file


def test_langgraph(sequrity_sdist, official_airlock, official_fake, tmp_path):
    result, summary, roles = run_file(sequrity_sdist, official_airlock, official_fake, tmp_path,
                                      "test_langgraph.py", "dual")
    assert_passed(result, summary, 9)
    assert roles == []  # the graph is the program: no planner, no reader
