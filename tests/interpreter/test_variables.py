"""Host-defined variables (a LangGraph run's context variables): bound before the program starts,
with the sender's metadata and what every value from outside carries, through replay and JSON."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airlock.interpreter import Failed, Finished, RunOptions, Suspended, Variable, run
from airlock.meta import Meta, StrSet

from .helpers import ScriptedPolicy, drive, tools

SECRET = Meta(producers=StrSet.of(["crm"]), consumers=StrSet.of(["alice"]), tags=StrSet.of(["confidential"]))
NODE = tools(step=("state",))


def seen_meta(program: str, variables: dict[str, Variable], **kw) -> Meta:
    """The metadata the policy sees on ``step``'s ``state`` argument."""
    policy = ScriptedPolicy()
    out = run(program, tools=NODE, policy=policy, variables=variables, **kw)
    assert isinstance(out, Suspended), out
    ((tool, args),) = policy.seen_calls
    return args["state"].meta


def test_a_variable_carries_its_senders_metadata_and_is_untrusted():
    meta = seen_meta("step(state=str(initial_state['k']))", {"initial_state": Variable({"k": "v"}, SECRET)})
    assert meta.untrusted
    assert "confidential" in meta.tags and "crm" in meta.producers and "alice" in meta.consumers


def test_non_executable_memory_marks_it_like_a_tool_result():
    meta = seen_meta("step(state=initial_state)", {"initial_state": Variable("x", Meta())},
                     options=RunOptions(non_executable_memory=True))
    assert "__non_executable" in meta.tags and meta.untrusted


@settings(max_examples=60, deadline=None)
@given(secret=st.text(max_size=12), tag=st.sampled_from(["a", "confidential", "pii"]))
def test_whatever_a_variable_decides_reaches_the_call_tagged(secret, tag):
    """Noninterference in small: vary the variable; every call argument that can differ carries
    its tag (the branch on it too: the control context joins the argument)."""
    program = "x = initial_state\nif len(x) > 3:\n    step(state='long')\nelse:\n    step(state=x)"
    meta = seen_meta(program, {"initial_state": Variable(secret, Meta(tags=StrSet.of([tag])))},
                     options=RunOptions(mode="strict"))
    assert tag in meta.tags


def test_a_variable_survives_replay_and_the_record_is_plain_json():
    variables = {"initial_state": Variable({"n": 1}, SECRET)}
    program = "s = initial_state\nr = step(state=str(s['n']))\nfinal_return_value = [s['n'], r]"
    out, calls = drive(program, {"step": "two"}, tools=NODE, variables=variables)
    assert isinstance(out, Finished) and out.value["value"] == [1, "two"]
    assert calls == [("step", {"state": "1"})]
    assert "confidential" in out.value["meta"]["tags"]


@pytest.mark.parametrize("name, why", [("1x", "cannot be"), ("class", "cannot be"), ("__builtins__", "cannot be"),
                                       ("step", "shadow")])
def test_a_name_a_program_cannot_use_fails_the_run_naming_it(name, why):
    out = run("final_return_value = 1", tools=NODE, variables={name: Variable(1)})
    assert isinstance(out, Failed) and out.error.code == "invalid_variable"
    assert why in str(out.error) and repr(name) in str(out.error)


def test_the_program_can_rebind_a_variable_without_touching_the_hosts_value():
    value = {"n": 1}
    out = run("initial_state['n'] = 5\nfinal_return_value = initial_state['n']",
              variables={"initial_state": Variable(value)})
    assert isinstance(out, Finished) and out.value["value"] == 5
    assert value == {"n": 1}
