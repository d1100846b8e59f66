"""Assertions shared by the scenario tests: the documented outcome of a case, on any API."""

from __future__ import annotations

import json

from airlock.sessions.ids import session_of_tool_call

from tests.agent.scenarios.catalog import Case
from tests.agent.scenarios.driver import Run
from tests.agent.scenarios.planner import ScriptedLLM

STOP = {"stop", "end_turn", "completed", "failed"}  # Responses: a denial is a "failed" response


def usage_prompt_tokens(resp) -> int:
    u = resp.usage
    return getattr(u, "prompt_tokens", None) or getattr(u, "input_tokens", 0) or 0


def assert_outcome(run: Run, case: Case, llm: ScriptedLLM | None = None, *, qllm_calls: int | None = None) -> None:
    """The client ran exactly the documented tools, then got the documented final answer."""
    exp = case.expect
    assert run.tool_names == exp.calls, f"{case.id}: tool calls {run.calls}"
    # One session for the whole conversation; every tool-call id names it.
    assert run.sessions and run.sessions[0], "no X-Session-ID"
    assert set(run.sessions) == {run.sessions[0]}, run.sessions
    for cid in run.call_ids:
        assert session_of_tool_call(cid) == run.sessions[0], cid
    assert run.finish_reason in STOP, run.finish_reason
    assert run.final is not None, f"final content is not JSON: {run.final_text!r}"
    if exp.outcome == "success":
        assert run.status == "success", run.final_text
        assert "final_return_value" in run.final and "value" in run.final["final_return_value"]
        for piece in exp.final_contains:
            assert piece in run.final_text, (piece, run.final_text)
    elif exp.outcome == "control_flow_denied":
        assert run.status == "failure", run.final_text
        assert "Control flow violation" in run.error_message
        assert "cannot continue as retries on policy violations are disabled" in run.error_message
    else:
        tool = exp.denied_tool
        assert run.status == "failure", run.final_text
        assert f"Tool call {tool} denied by argument checking policies." in run.error_message
        assert f"'{tool}' is denied" in run.final_text
    if case.config.response_format and case.config.response_format.include_program:
        program = run.final.get("program") or ""
        for name in exp.calls:
            assert f"{name}(" in program, program
    if llm is not None:
        assert llm.count("pllm") == 1, llm.by_role()  # one plan; tool results never re-plan
        if qllm_calls is not None:
            assert llm.count("qllm") == qllm_calls, llm.by_role()
        # usage: what the responses report, summed, is what the upstream charged
        assert sum(usage_prompt_tokens(r) for r in run.responses) == llm.prompt_tokens(), llm.by_role()


def assert_planner_never_saw(llm: ScriptedLLM, *needles: str) -> None:
    bodies = [req.raw.decode() for req in llm.requests("pllm")]
    assert bodies, "the planner was never called"
    for needle in needles:
        for body in bodies:
            assert needle not in body and needle.replace("@", "\\u0040") not in body, f"PLLM saw {needle!r}"


def assert_no_tool_data_in_planner(llm: ScriptedLLM, results: list[str]) -> None:
    """No tool result — any line of it long enough to be distinctive, raw or JSON-escaped — in
    any request to the planner."""
    bodies = [req.raw.decode() for req in llm.requests("pllm")]
    for result in results:
        for piece in (ln.strip() for ln in str(result).splitlines()):
            if len(piece) < 16:
                continue
            escaped = json.dumps(piece)[1:-1]
            for body in bodies:
                assert piece not in body and escaped not in body, f"a planner prompt carries tool data: {piece!r}"
