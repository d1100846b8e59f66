"""The laundering corpus (``laundering.py``) against a real compiled SQRT policy: every explicit
leak is stopped in both modes, every implicit one in ``strict`` mode, and ``standard`` mode lets
implicit flows through — the modes are different, as documented."""

from __future__ import annotations

import json

import pytest

from airlock.interpreter import Failed, Finished, RunOptions
from airlock.policy import compile_policy

from .helpers import drive, tools
from .laundering import EXPLICIT, IMPLICIT, LAUNDER_RESULT, POLICY, SECRET_TEXT, TOOLS

ANSWERS = {"read_doc": SECRET_TEXT, "launder": json.dumps(LAUNDER_RESULT), "send_email": "sent"}


def attempt(program: str, mode: str):
    policy = compile_policy(POLICY, mode=mode)
    out, calls = drive(program, lambda tool, args: ANSWERS[tool], tools=tools(**TOOLS), policy=policy,
                       options=RunOptions(mode=mode, tool_producer=False, non_executable_memory=True))
    return out, calls


def assert_stopped(out, calls, name):
    assert isinstance(out, Failed), f"{name}: laundered past the policy: {out!r}"
    assert out.error.code == "policy_denied", f"{name}: {out.error.to_json()}"
    assert out.error.tool == "send_email"
    assert "send_email" not in [t for t, _ in calls]


@pytest.mark.parametrize("mode", ["standard", "strict"])
@pytest.mark.parametrize("name", sorted(EXPLICIT))
def test_explicit_laundering_is_stopped(name, mode):
    out, calls = attempt(EXPLICIT[name], mode)
    assert_stopped(out, calls, name)


@pytest.mark.parametrize("name", sorted(IMPLICIT))
def test_implicit_laundering_is_stopped_in_strict_mode(name):
    out, calls = attempt(IMPLICIT[name], "strict")
    assert_stopped(out, calls, name)


@pytest.mark.parametrize("name", sorted(IMPLICIT))
def test_standard_mode_does_not_track_implicit_flows(name):
    """Documented, not a leak of the mode's guarantee: standard closes explicit flows only. (The
    provenance bit still follows the branch: the planner would not be shown the result.)"""
    out, calls = attempt(IMPLICIT[name], "standard")
    assert isinstance(out, Finished), f"{name}: {out!r}"
    assert [t for t, _ in calls][-1] == "send_email"
