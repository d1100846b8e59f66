"""Our scripted programs, run offline through the real interpreter and policy engine.

This needs neither the dual-LLM engine nor the HTTP server: it checks that every program the
scripted planner writes is in the interpreter's Python subset and that, under the documented
policy, it reaches the documented outcome with the documented tool-call sequence. When an
end-to-end scenario fails, this file tells whether the program/policy side or the engine/wire
side is at fault.
"""

from __future__ import annotations

import json

import pytest

from airlock.interpreter import Failed, Finished, RunOptions, Suspended, ToolSpec, record_tool_result, run
from airlock.meta import SessionMeta
from airlock.policy import compile_policy

from tests.agent.scenarios.catalog import ATTACKER, CASES, TOOL_IMPLS, Case
from tests.agent.scenarios.planner import program_for, read_structured


def compiled(case: Case):
    p = case.policy
    presets = p.presets.model_dump(mode="json") if p.presets else None
    return compile_policy(p.codes.code, p.codes.language, presets=presets, fail_fast=p.fail_fast, mode=p.mode)


def drive(case: Case, *, obey_injection: bool = False, session: SessionMeta | None = None):
    program = program_for(case.query, set(case.tool_names))
    specs = {t["function"]["name"]: ToolSpec(t["function"]["name"], t["function"]["parameters"]) for t in case.tools}

    def parse_with_ai(query, output_schema):
        return read_structured(query, output_schema, obey_injection)

    kw = dict(tools=specs, internal_tools={"parse_with_ai": parse_with_ai}, policy=compiled(case),
              session=session if session is not None else SessionMeta(),
              options=RunOptions(non_executable_memory=True))
    calls = []
    out = run(program, **kw)
    while isinstance(out, Suspended):
        (call,) = out.calls
        calls.append((call.tool, call.args_json))
        raw = TOOL_IMPLS[call.tool](**call.args_json)
        out = run(program, record=record_tool_result(out.record, call.index, raw), **kw)
    return out, calls


@pytest.mark.parametrize("cid", [c for c in CASES if c != "ex2-refund"])
def test_program_reaches_documented_outcome(cid):
    case = CASES[cid]
    out, calls = drive(case)
    assert [c[0] for c in calls] == case.expect.calls
    if case.expect.outcome == "success":
        assert isinstance(out, Finished), out.error.to_json()
        text = json.dumps(out.value["value"], ensure_ascii=False)
        for piece in case.expect.final_contains:
            assert piece in text
    elif case.expect.outcome == "control_flow_denied":
        assert isinstance(out, Failed) and out.error.code == "control_flow_denied", out
    else:
        assert isinstance(out, Failed) and out.error.code == "policy_denied", out
        assert f"Tool call {case.expect.denied_tool} denied by argument checking policies." in out.error.message


def test_refund_needs_four_attempts():
    case, session = CASES["ex2-refund"], SessionMeta()
    for attempt in range(1, 5):
        out, calls = drive(case, session=session)
        if attempt < 4:
            assert isinstance(out, Failed) and out.error.code == "policy_denied" and not calls
        else:
            assert isinstance(out, Finished) and [c[0] for c in calls] == ["issue_refund"]
            assert "Refund for order ORDER67890 has been issued." in out.value["value"]


def test_injected_reader_cannot_move_tagged_data():
    case = CASES["injection"]
    honest, calls = drive(case)
    assert isinstance(honest, Finished) and calls[-1][1]["to"] == "alice@trustedcorp.com"
    assert calls[-1][1]["body"] == TOOL_IMPLS["get_internal_document"]("DOC-7")  # the document, not the inbox
    obeying, calls = drive(case, obey_injection=True)
    assert isinstance(obeying, Failed) and obeying.error.code == "policy_denied"
    assert [c[0] for c in calls] == ["read_inbox", "get_internal_document"]
    assert ATTACKER in obeying.error.message  # the denied call was the attacker's
