"""The official ``sequrity`` 0.4.2 LLM-dependent test files, unchanged, against a live Airlock.

Each official file runs in a subprocess (``tests.api.test_official_suite.run_official``: the
sdist's own test files and helper package, ``TEST_MODE=local``) against one live Airlock whose
every provider is the fake LLM answered by ``tests.official.responder.OfficialLLM``.

The official tests use one Airlock key for everything and many of their requests carry no
``X-Features``, so the files with such requests run twice: with a dual-llm key (Airlock's
preset arch) and with a single-llm key. The expectations hold for both. Each run also checks
which roles the fake model played, so a pass cannot come from the wrong code path.

``test_responses.py::test_dual_llm_multi_turn`` (Responses chaining with ``previous_response_id``)
once failed on two Airlock gaps, now fixed; it runs with the rest of its file (notes/official.md).
"""

from __future__ import annotations

import re

import pytest

from tests.api.test_official_suite import run_official


def run_file(sdist, live, fake, tmp_path, name: str, key: str):
    """Run one official file; returns (result, its pytest summary line, the roles the fake played, in order)."""
    mark = len(fake.handler.calls)
    env = {"SEQURITY_API_KEY": live.keys[key]}
    result = run_official(sdist, live, name, tmp_path, extra_env=env)
    lines = result.stdout.strip().splitlines()
    summary = lines[-1] if lines else ""
    roles = [role for role, _ in fake.handler.calls[mark:]]
    return result, summary, roles


def assert_passed(result, summary: str, passed: int) -> None:
    detail = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, detail
    assert re.match(rf"^=*\s*{passed} passed in ", summary), detail


@pytest.fixture
def run(sequrity_sdist, official_airlock, official_fake, tmp_path):
    def go(name: str, key: str = "dual", **kw):
        return run_file(sequrity_sdist, official_airlock, official_fake, tmp_path, name, key, **kw)
    return go


# Roles: "pllm" = Airlock's planner, "single" = a plain request proxied in single-LLM mode.
@pytest.mark.parametrize("key, roles", [("dual", {"pllm"}), ("single", {"pllm", "single"})])
def test_chat_completion(run, key, roles):
    result, summary, seen = run("test_chat_completion.py", key)
    assert_passed(result, summary, 10)
    assert set(seen) == roles


@pytest.mark.parametrize("key", ["dual", "single"])
def test_message(run, key):
    result, summary, seen = run("test_message.py", key)
    assert_passed(result, summary, 6)
    assert set(seen) == {"pllm", "single"}  # test_features_only asks for each arch explicitly


@pytest.mark.parametrize("key, roles", [("dual", {"pllm"}), ("single", {"pllm", "single"})])
def test_responses(run, key, roles):
    result, summary, seen = run("test_responses.py", key)
    assert_passed(result, summary, 6)
    assert set(seen) == roles


@pytest.mark.parametrize("key, roles", [("dual", {"pllm"}), ("single", {"single"})])
def test_streaming(run, key, roles):
    result, summary, seen = run("test_streaming.py", key)
    assert_passed(result, summary, 6)
    assert set(seen) == roles


def test_policy_gen(run):
    result, summary, seen = run("test_policy_gen.py")
    assert_passed(result, summary, 10)
    assert seen == ["policy_gen"] * 4  # one call per generation: every first answer compiled


def test_header_overrides(run):
    result, summary, seen = run("test_header_overrides.py")
    assert_passed(result, summary, 28)
    assert seen == []  # client-side only: no request reaches a model
