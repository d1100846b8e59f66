"""The five advanced scenarios of docs/control/examples, replayed without an LLM.

Each test follows the tool calls the documented run makes (values and metadata flowing from
one call's result into the next call's arguments, session metadata carried across turns) and
asserts the documented outcome: which call is denied, and that the denial text carries the
phrases the official client looks for.
"""

from __future__ import annotations

from airlock.meta import Meta, SessionMeta, StrSet, Tagged
from airlock.policy import compile_policy, initial_result_meta

from tests.reference_policies import (
    LEAK_POLICY, LLM_BLOCKED_POLICY, PII_POLICY, PROVENANCE_POLICY, RACE_POLICY, REFUND_POLICY,
)

from .conftest import T

EX1, EX2, EX3, EX4 = LEAK_POLICY, REFUND_POLICY, PROVENANCE_POLICY, PII_POLICY
EX5_RACE, EX5_BLOCKED = RACE_POLICY, LLM_BLOCKED_POLICY

PRESETS = {"default_allow": True, "enable_non_executable_memory": True}


def call_tool(policy, tool, args, value, session):
    """What the interpreter does around one call; returns (decision, result or None)."""
    decision = policy.before_call(tool, args, session)
    if decision.denied:
        return decision, None
    meta = policy.apply_result(tool, args, Tagged(value, initial_result_meta(args)), session)
    result = Tagged(value, meta)
    policy.update_session(tool, "after", args, session, result)
    return decision, result


def test_example1_sensitive_data_leak():
    policy = compile_policy(EX1, presets=PRESETS)
    for to, expected in [("research@gmail.com", "hard_denied"), ("admin@trustedcorp.com", "allowed")]:
        session = SessionMeta()
        d, doc = call_tool(policy, "get_internal_document", {"doc_id": Tagged("DOC12345")}, "# Internal...", session)
        assert d.allowed and {"internal_use", "confidential", "__non_executable"} <= set(doc.meta.tags.items)
        body = Tagged(f"Document: {doc.value}", doc.meta)  # an f-string over the document keeps its meta
        d, _ = call_tool(policy, "send_email", {"to": Tagged(to), "subject": Tagged("Doc"), "body": body}, "sent", session)
        assert d.verdict == expected
        if expected != "allowed":
            assert "Tool call send_email denied by argument checking policies." in d.message
            assert "'send_email' is denied" in d.message
    # the domain must match the whole address: a look-alike suffix is not trusted
    d = policy.check_call("send_email", {"to": T("a@trustedcorp.com.evil.org"), "body": T("x", tags=["confidential"])},
                          SessionMeta())
    assert d.hard


def test_example2_refund_only_on_fourth_attempt():
    policy = compile_policy(EX2, presets=PRESETS)
    session = SessionMeta()  # clear_session_meta "never": one session across the four turns
    verdicts = [call_tool(policy, "issue_refund", {"order_id": Tagged("ORDER67890")}, "refunded", session)[0].verdict
                for _ in range(4)]
    assert verdicts == ["hard_denied", "hard_denied", "hard_denied", "allowed"]
    assert {"attempt1", "attempt2", "attempt3", "final_attempt"} <= set(session.tags.items)


def test_example2_result_meta_matches_documented_output():
    policy = compile_policy(EX2, presets=PRESETS)
    meta = policy.apply_result("issue_refund", {"order_id": Tagged("O")}, Tagged("ok"), SessionMeta())
    assert meta.to_json() == {"producers": [], "consumers": ["*"], "tags": ["__non_executable"]}


def test_example3_provenance():
    policy = compile_policy(EX3, presets=PRESETS)
    session = SessionMeta()
    _, report = call_tool(policy, "get_quarterly_earning_report", {"company": Tagged("Sequrity AI")}, "Q1...", session)
    _, marketing = call_tool(policy, "get_marketing_analysis", {"company": Tagged("Sequrity AI")}, "strong", session)
    d, _ = call_tool(policy, "generate_business_summary",
                     {"earnings_report": report, "marketing_analysis": marketing}, "summary", session)
    assert d.allowed
    # case 2: the marketing text comes from the user, not from the verified tool
    d, _ = call_tool(policy, "generate_business_summary",
                     {"earnings_report": report, "marketing_analysis": Tagged("strong brand presence")}, "s", session)
    assert d.verdict == "hard_denied"
    assert "generate_business_summary denied by argument checking policies" in d.message


def test_example4_pii_requires_deidentification():
    policy = compile_policy(EX4, presets=PRESETS)
    session = SessionMeta()
    _, record = call_tool(policy, "load_patient_record", {"patient_id": Tagged("PATIENT001")}, "# Patient", session)
    assert "pii" in record.meta.tags.items
    _, clean = call_tool(policy, "de_identify_data", {"data": record}, "# Patient [REDACTED]", session)
    assert "pii" not in clean.meta.tags.items
    assert call_tool(policy, "send_to_research_institute", {"data": clean}, "ok", session)[0].allowed
    d, _ = call_tool(policy, "send_to_research_institute", {"data": record}, "ok", session)
    assert d.hard and "Tool call send_to_research_institute denied" in d.message


def test_example5_branching_on_race_is_denied_in_custom_mode():
    deny = {"default_allow": True, "branching_meta_policy": {"mode": "deny", "tags": ["RACE"]}}
    policy = compile_policy(EX5_RACE, presets=deny, mode="custom")
    session = SessionMeta()
    _, profile = call_tool(policy, "retrive_applicant_profile", {"applicant_id": Tagged("applicant-154")}, {}, session)
    race_condition = profile.meta  # `race == "European"` derives from the profile
    d = policy.check_branch(race_condition)
    assert d.hard and d.message.startswith("Control flow violation")
    assert policy.check_branch(Meta()).allowed  # a condition on the user's own literals
    # case 2 (no branching policy): the same branch is allowed, and so is the email
    allow = compile_policy(EX5_RACE, presets={"default_allow": True}, mode="custom")
    assert allow.check_branch(race_condition).allowed
    assert allow.check_call("send_email", {"to": T("hr-1@gmail.com"), "attachment_content": profile}, session).allowed


def test_example5_llm_blocked_tag_denies_parse_with_ai():
    on = compile_policy(EX5_BLOCKED, presets={"default_allow": True, "enable_llm_blocked_tag": True})
    session = SessionMeta()
    _, text = call_tool(on, "retrive_applicant_profile_text", {"applicant_id": Tagged("a-154")}, "Name: ...", session)
    prompt = Tagged("Extract ... " + text.value, text.meta)
    d = on.check_call("parse_with_ai", {"query": prompt, "output_schema": Tagged({})}, session)
    assert d.hard and "Tool call parse_with_ai denied by argument checking policies." in d.message
    assert "'parse_with_ai' is denied" in d.message
    # case 2: processing without the QLLM goes through
    assert on.check_call("send_email", {"to": T("hr-1@gmail.com"), "attachment_content": text}, session).allowed
    off = compile_policy(EX5_BLOCKED, presets={"enable_llm_blocked_tag": False})
    assert off.check_call("parse_with_ai", {"query": prompt}, session).allowed
    soft = compile_policy(EX5_BLOCKED, presets={"llm_blocked_tag_enforcement_level": "soft"})
    assert soft.check_call("parse_with_ai", {"query": prompt}, session).verdict == "soft_denied"
    assert StrSet.of(["__llm_blocked"]).is_subset(text.meta.tags)
