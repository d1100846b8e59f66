"""Tool calls: suspension, replay, divergence, policies, internal tools and result options."""

from __future__ import annotations

import json

import pytest

from airlock.interpreter import (
    ExecutionRecord,
    Failed,
    Finished,
    RunOptions,
    Suspended,
    ToolSpec,
    codex_transform,
    record_tool_result,
    run,
)
from airlock.meta import SessionMeta, StrSet

from .helpers import ScriptedPolicy, drive, tool, tools

EMAIL_TOOLS = tools(get_internal_document=("doc_id",), send_email=("to", "subject", "body"))

EMAIL_PROGRAM = """
final_return_value = None
doc_id = "DOC12345"
recipient = "research@gmail.com"
subject = f"Internal Document {doc_id}"
document_content = get_internal_document(doc_id=doc_id)
email_body = f"Attached is the content of internal document {doc_id}:\\n\\n{document_content}"
send_result = send_email(to=recipient, subject=subject, body=email_body)
final_return_value = send_result
"""


def test_external_call_suspends_with_plain_json_args():
    out = run(EMAIL_PROGRAM, tools=EMAIL_TOOLS)
    assert isinstance(out, Suspended)
    assert [c.to_json() for c in out.calls] == [
        {"index": 0, "tool": "get_internal_document", "args": {"doc_id": "DOC12345"}}]
    json.dumps(out.record.to_json())  # plain data


def test_suspend_resume_round_trip_through_json():
    out, calls = drive(EMAIL_PROGRAM, {"get_internal_document": "TOP SECRET", "send_email": "Email sent."},
                       tools=EMAIL_TOOLS)
    assert isinstance(out, Finished)
    assert out.value["value"] == "Email sent."
    assert [t for t, _ in calls] == ["get_internal_document", "send_email"]
    assert calls[1][1]["body"].endswith("TOP SECRET")
    assert out.record.counters["runs"] == 3


def test_resume_is_idempotent_while_result_missing():
    out = run(EMAIL_PROGRAM, tools=EMAIL_TOOLS)
    again = run(EMAIL_PROGRAM, tools=EMAIL_TOOLS, record=out.record)
    assert isinstance(again, Suspended)
    assert again.calls == out.calls


def test_positional_arguments_follow_schema_property_order():
    prog = "r = send_email('a@b.c', 'subj', body='text')\nfinal_return_value = r"
    out = run(prog, tools=EMAIL_TOOLS)
    assert out.calls[0].args_json == {"to": "a@b.c", "subject": "subj", "body": "text"}


@pytest.mark.parametrize("call,needle", [
    ("send_email('a', 'b', 'c', 'd')", "positional"),
    ("send_email(to='a', subject='b', body='c', cc='d')", "unexpected keyword"),
    ("send_email(to='a')", "missing"),
    ("send_email('a', to='b', subject='c', body='d')", "multiple values"),
])
def test_bad_tool_arguments_are_program_errors(call, needle):
    out = run(f"x = {call}", tools=EMAIL_TOOLS)
    assert isinstance(out, Failed)
    assert out.error.code == "program_error"
    assert needle in out.error.message


def test_bad_tool_arguments_can_be_caught():
    out = run("try:\n    send_email(to='a')\nexcept TypeError:\n    final_return_value = 'caught'", tools=EMAIL_TOOLS)
    assert out.value["value"] == "caught"


def test_replay_divergence_on_different_args():
    out = run(EMAIL_PROGRAM, tools=EMAIL_TOOLS)
    rec = record_tool_result(out.record, 0, "doc")
    data = rec.to_json()
    data["events"][0]["args"] = {"doc_id": "OTHER"}
    tampered = ExecutionRecord.from_json(data)
    res = run(EMAIL_PROGRAM, tools=EMAIL_TOOLS, record=tampered)
    assert isinstance(res, Failed)
    assert res.error.code == "replay_divergence"
    assert res.error.line == 6


def test_replay_divergence_on_different_tool():
    out = run(EMAIL_PROGRAM, tools=EMAIL_TOOLS)
    rec = record_tool_result(out.record, 0, "doc")
    data = rec.to_json()
    data["events"][0]["tool"] = "send_email"
    res = run(EMAIL_PROGRAM, tools=EMAIL_TOOLS, record=ExecutionRecord.from_json(data))
    assert res.error.code == "replay_divergence"


def test_replay_divergence_when_program_differs_or_record_has_extra_events():
    out, _ = drive(EMAIL_PROGRAM, {"get_internal_document": "d", "send_email": "ok"}, tools=EMAIL_TOOLS)
    other = EMAIL_PROGRAM.replace("research@gmail.com", "x@y.z")
    assert run(other, tools=EMAIL_TOOLS, record=out.record).error.code == "replay_divergence"
    short = "final_return_value = get_internal_document(doc_id='DOC12345')"
    rec = ExecutionRecord(program=short, events=out.record.events)
    assert run(short, tools=EMAIL_TOOLS, record=rec).error.code == "replay_divergence"


def test_record_validation():
    out = run(EMAIL_PROGRAM, tools=EMAIL_TOOLS)
    with pytest.raises(KeyError):
        record_tool_result(out.record, 5, "x")
    data = out.record.to_json()
    data["program"] = "x = 1"
    with pytest.raises(ValueError):
        ExecutionRecord.from_json(data)


def test_internal_tool_results_are_recorded_and_not_called_again():
    calls = []

    def parse_with_ai(query, output_schema):
        calls.append(query)
        return {"name": "Ada", "ok": True}

    prog = """
text = fetch(id='1')
info = parse_with_ai(query='Extract: ' + text, output_schema={'type': 'object'})
ack = store(name=info['name'])
final_return_value = info
"""
    out, _ = drive(prog, {"fetch": "profile of Ada", "store": "stored"}, tools=tools(fetch=("id",), store=("name",)),
                   internal_tools={"parse_with_ai": parse_with_ai})
    assert out.value["value"] == {"name": "Ada", "ok": True}
    assert calls == ["Extract: profile of Ada"]  # one QLLM call despite two replays
    assert [e["kind"] for e in out.record.events] == ["tool", "internal", "tool"]
    # QLLM output derives from the untrusted text
    assert set(out.value["meta"]["producers"]) == {"fetch", "parse_with_ai"}


def test_internal_tool_with_model_schema_returns_instance():
    def parse_with_ai(query, output_schema):
        assert output_schema["properties"]["name"]["type"] == "string"
        return {"name": "Ada", "years": "7"}

    prog = """
from pydantic import BaseModel, Field
class Person(BaseModel):
    name: str = Field(description="full name")
    years: int
p = parse_with_ai(query='q', output_schema=Person)
final_return_value = [p.name, p.years + 1]
"""
    out = run(prog, internal_tools={"parse_with_ai": parse_with_ai})
    assert out.value["value"] == ["Ada", 8]


def test_internal_tool_exception_becomes_catchable_tool_error_and_is_recorded():
    n = []

    def flaky(x):
        n.append(x)
        raise RuntimeError("qllm down")

    prog = "try:\n    r = flaky(x=1)\nexcept ToolCallError as e:\n    r = 'failed: ' + str(e)\nfinal_return_value = r"
    out = run(prog, internal_tools={"flaky": flaky})
    assert out.value["value"].startswith("failed: flaky: RuntimeError: qllm down")
    again = run(prog, internal_tools={"flaky": flaky}, record=out.record)
    assert again.value == out.value
    assert len(n) == 1


def test_policy_hard_deny_stops_with_message_and_history():
    policy = ScriptedPolicy(
        result_tags={"get_internal_document": {"confidential"}},
        deny=lambda t, a, s: "hard_denied" if t == "send_email" and a["body"].meta.tags.contains(
            "confidential") and not a["to"].value.endswith("@trustedcorp.com") else None,
    )
    out, calls = drive(EMAIL_PROGRAM, {"get_internal_document": "secret", "send_email": "sent"},
                       policy=policy, tools=EMAIL_TOOLS)
    assert isinstance(out, Failed)
    assert out.error.code == "policy_denied"
    assert "Tool call send_email denied by argument checking policies." in out.error.message
    assert "'send_email' is denied" in out.error.message
    assert out.error.line == 8
    assert [h["verdict"] for h in out.history] == ["allowed", "hard_denied"]
    assert [t for t, _ in calls] == ["get_internal_document"]
    # the trusted recipient passes
    ok, _ = drive(EMAIL_PROGRAM.replace("research@gmail.com", "user@trustedcorp.com"),
                  {"get_internal_document": "secret", "send_email": "sent"}, policy=policy, tools=EMAIL_TOOLS)
    assert isinstance(ok, Finished)


def test_internal_tools_are_policy_checked_too():
    policy = ScriptedPolicy(deny=lambda t, a, s: "hard_denied" if t == "parse_with_ai" and any(
        v.meta.tags.contains("__llm_blocked") for v in a.values()) else None,
        result_tags={"fetch": {"__llm_blocked"}})
    called = []
    prog = "t = fetch(id='1')\nx = parse_with_ai(query=t, output_schema={})"
    out, _ = drive(prog, {"fetch": "text"}, policy=policy, tools=tools(fetch=("id",)),
                   internal_tools={"parse_with_ai": lambda query, output_schema: called.append(1)})
    assert out.error.code == "policy_denied"
    assert called == []


def test_soft_deny_option():
    policy = ScriptedPolicy(deny=lambda t, a, s: "soft_denied")
    prog = "final_return_value = f(x=1)"
    t = tools(f=("x",))
    assert run(prog, tools=t, policy=policy).error.code == "policy_denied"
    out = run(prog, tools=t, policy=policy, options=RunOptions(stop_on_soft_deny=False))
    assert isinstance(out, Suspended)


def test_session_updates_run_before_and_after_and_replay_from_initial_session():
    policy = ScriptedPolicy()
    session = SessionMeta(tags=StrSet.of(["start"]))
    prog = "a = f(x=1)\nb = f(x=2)\nfinal_return_value = [a, b]"
    out = run(prog, tools=tools(f=("x",)), policy=policy, session=session)
    assert out.record.session_meta["tags"] == ["start"]
    rec = record_tool_result(out.record, 0, "r1")
    session2 = SessionMeta()  # another replica: the record restores the initial session
    out2 = run(prog, tools=tools(f=("x",)), policy=policy, session=session2, record=rec)
    assert isinstance(out2, Suspended)
    assert session2.tags.items == {"start", "called:f"}
    rec = record_tool_result(out2.record, 1, "r2")
    out3 = run(prog, tools=tools(f=("x",)), policy=policy, session=session2, record=rec)
    assert out3.value["value"] == ["r1", "r2"]
    assert policy.session_events[-4:] == [("f", "before"), ("f", "after"), ("f", "before"), ("f", "after")]


def test_refund_flow_session_counting():
    """Stateful policy: only the 4th attempt within the session is allowed."""

    class Refund(ScriptedPolicy):
        def update_session(self, tool, phase, args, session, result=None):
            if tool == "issue_refund" and phase == "before":
                n = session.extra.get("attempts", 0) + 1
                session.extra["attempts"] = n

        def check_call(self, tool, args, session):
            if tool == "issue_refund" and session.extra.get("attempts", 0) < 4:
                return type(self).deny_verdict
            return super().check_call(tool, args, session)

    from .helpers import Verdict

    Refund.deny_verdict = Verdict("hard_denied", "'issue_refund' is denied")
    policy = Refund()
    session = SessionMeta()
    prog = "final_return_value = issue_refund(order_id='ORDER67890')"
    t = tools(issue_refund=("order_id",))
    for _ in range(3):
        assert run(prog, tools=t, policy=policy, session=session).error.code == "policy_denied"
    out = run(prog, tools=t, policy=policy, session=session)
    assert isinstance(out, Suspended)


def test_clock_is_recorded_and_replayed():
    prog = "from datetime import datetime\nnow = datetime.now()\nr = log(at=now.isoformat())\nfinal_return_value = [now.isoformat(), r]"
    out, calls = drive(prog, {"log": "ok"}, tools=tools(log=("at",)))
    assert isinstance(out, Finished)
    assert out.value["value"][0] == calls[0][1]["at"]
    assert out.record.events[0]["kind"] == "clock"


# -- tool result options -----------------------------------------------------------------------------


def one(prog_expr: str, raw, options=None, spec=None, is_error=False):
    t = {"f": spec or tool("f", "x")}
    prog = f"final_return_value = {prog_expr}"
    out = run(prog, tools=t, options=options)
    rec = record_tool_result(out.record, 0, raw, is_error=is_error)
    return run(prog, tools=t, options=options, record=rec)


def test_non_strict_parses_json_or_keeps_text():
    assert one("f(x='1')", '{"a": [1, 2]}').value["value"] == {"a": [1, 2]}
    assert one("f(x='1')['a'][1]", '{"a": [1, 2]}').value["value"] == 2
    assert one("f(x='1')", "plain text").value["value"] == "plain text"
    assert one("f(x='1')", "{broken").value["value"] == "{broken"


def test_strict_parsing_uses_output_schema():
    strict = RunOptions(strict_tool_result_parsing=True)
    obj_schema = tool("f", "x", output_schema={"type": "object"})
    str_schema = tool("f", "x", output_schema={"type": "string"})
    assert one("f(x='1')", '{"a": 1}', strict).value["value"] == '{"a": 1}'  # no schema: text
    assert one("f(x='1')", '{"a": 1}', strict, obj_schema).value["value"] == {"a": 1}
    assert one("f(x='1')", "123", strict, str_schema).value["value"] == "123"
    bad = one("f(x='1')", "not json", strict, obj_schema)
    assert isinstance(bad, Failed) and "ToolCallError" in bad.error.message


def test_wrap_tool_result_ok_and_err():
    opts = RunOptions(wrap_tool_result=True, detect_tool_errors="regex")
    ok = one("[f(x='1').is_ok(), f(x='1').unwrap()]", "fine", opts)
    # the program calls f twice; the second call is index 1, answer it too
    assert isinstance(ok, Suspended)
    rec = record_tool_result(ok.record, 1, "fine")
    done = run("final_return_value = [f(x='1').is_ok(), f(x='1').unwrap()]", tools={"f": tool("f", "x")},
               options=opts, record=rec)
    assert done.value["value"] == [True, "fine"]
    err = one("f(x='1')", "Error: file not found", opts)
    assert err.value["value"] == {"err": "Error: file not found"}
    flagged = one("f(x='1').is_err()", "whatever", opts, is_error=True)
    assert flagged.value["value"] is True


def test_error_detection_without_wrapping_raises_catchable_error():
    opts = RunOptions(detect_tool_errors="regex")
    prog_expr = "f(x='1')"
    failed = one(prog_expr, "Traceback (most recent call last):\n  boom", opts)
    assert isinstance(failed, Failed) and "ToolCallError" in failed.error.message
    assert one(prog_expr, "All good, no errors here", opts).value["value"] == "All good, no errors here"
    custom = RunOptions(detect_tool_errors="regex", detect_tool_error_regex_pattern=r"^NOPE")
    assert isinstance(one(prog_expr, "NOPE: denied", custom), Failed)
    assert one(prog_expr, "Error: but pattern differs", custom).value["value"] == "Error: but pattern differs"
    clipped = RunOptions(detect_tool_errors="regex", detect_tool_error_regex_pattern="FAIL",
                         detect_tool_error_max_result_length=10)
    assert one(prog_expr, "0123456789 FAIL", clipped).value["value"] == "0123456789 FAIL"
    # detection off: error-looking text is data
    assert one(prog_expr, "Error: x").value["value"] == "Error: x"


def test_codex_transform():
    assert codex_transform("Exit code: 0\nWall time: 0.2 seconds\nOutput:\nhello\n") == ("hello\n", 0)
    assert codex_transform('{"output": "x", "metadata": {"exit_code": 2, "duration_seconds": 0.1}}') == ("x", 2)
    assert codex_transform("no prefix") == ("no prefix", None)
    opts = RunOptions(tool_result_transform="codex")
    assert one("f(x='1')", "Exit code: 0\nWall time: 1 seconds\nOutput:\n[1, 2]", opts).value["value"] == [1, 2]
    failing = one("f(x='1')", "Exit code: 1\nWall time: 1 seconds\nOutput:\ncommand not found", opts)
    assert failing.value["value"] == "[exit code 1]\ncommand not found"
    detect = RunOptions(tool_result_transform="codex", detect_tool_errors="regex", wrap_tool_result=True)
    err = one("f(x='1')", "Exit code: 1\nWall time: 1 seconds\nOutput:\noops", detect)
    assert err.value["value"] == {"err": "exit code 1: oops"}


def test_non_string_results_are_data():
    assert one("f(x='1')", {"k": [1, 2]}).value["value"] == {"k": [1, 2]}


def test_dict_tool_specs_are_accepted():
    spec = {"parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}
    out = run("final_return_value = search('hi')", tools={"search": spec})
    assert out.calls[0].args_json == {"q": "hi"}


def test_tool_spec_helpers():
    s = ToolSpec("t", {"type": "object", "properties": {"a": {}, "b": {}}, "required": ["a"]})
    assert s.param_names == ["a", "b"] and s.required == ["a"] and not s.accepts_extra


def test_suspension_is_not_catchable_and_works_in_nested_contexts():
    prog = """
def get(i):
    try:
        return fetch(i=str(i))
    except Exception:
        return 'swallowed'
    finally:
        marker = 1
vals = [get(i) for i in range(2)]
final_return_value = sorted(vals, key=lambda v: fetch(i=v))
"""
    answers = {("fetch", "0"): "b", ("fetch", "1"): "a", ("fetch", "b"): "2", ("fetch", "a"): "1"}
    out, calls = drive(prog, lambda t, a: answers[(t, a["i"])], tools=tools(fetch=("i",)))
    assert isinstance(out, Finished)
    assert out.value["value"] == ["a", "b"]
    assert [a["i"] for _, a in calls] == ["0", "1", "b", "a"]


def test_policy_hook_crash_becomes_internal_error():
    class Broken(ScriptedPolicy):
        def check_call(self, tool, args, session):
            raise RuntimeError("bug in policy")

    out = run("final_return_value = f(x='1')", tools=tools(f=("x",)), policy=Broken())
    assert isinstance(out, Failed)
    assert out.error.code == "internal_error"


def test_non_identifier_tool_names_get_an_alias():
    out = run("final_return_value = get_weather(city='Oslo')", tools={"get-weather": tool("get-weather", "city")})
    assert out.calls[0].tool == "get-weather"
