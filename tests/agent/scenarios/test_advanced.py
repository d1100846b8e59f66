"""The five advanced SQRT scenarios (``advanced_sqrt_examples_2026-01-25.md``), every case,
through the ``sequrity`` client on Chat Completions (OpenRouter) and Messages (Anthropic),
driven like the docs' ``run_workflow``: headers on every request, tools run by the client,
results posted back until the final answer.
"""

from __future__ import annotations

import json

import pytest
from sequrity import SequrityClient

from tests.agent.scenarios import driver
from tests.agent.scenarios.catalog import ADVANCED, CASES, QLLM_MODEL, REFUND_QUERY
from tests.agent.scenarios.checks import assert_outcome

APIS = {"chat": driver.sequrity_chat, "messages": driver.sequrity_messages}
QLLM_CALLS = {"ex5-llm-allowed": 1}


@pytest.fixture
def client(scenario_airlock):
    with SequrityClient(api_key=scenario_airlock.keys["dual"], base_url=scenario_airlock.url, timeout=30) as c:
        yield c


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("cid", ADVANCED)
def test_documented_outcome(client, llm, cid, api):
    case = CASES[cid]
    kwargs = {"llm_api_key": driver.USER_LLM_KEY} if api == "chat" else {}
    run = APIS[api](client, case, **kwargs)
    assert_outcome(run, case, llm, qllm_calls=QLLM_CALLS.get(cid, 0))


def test_provenance_is_reported_in_metadata(client, llm):
    run = driver.sequrity_chat(client, CASES["ex3-verified"], llm_api_key=driver.USER_LLM_KEY)
    meta = run.final["final_return_value"]["meta"]
    assert {"verified_financial_data", "verified_marketing_data"} <= set(meta["producers"])
    assert "__non_executable" in meta["tags"]  # a tool result, never executable


def test_unverified_summary_never_reaches_the_client(client, llm):
    run = driver.sequrity_chat(client, CASES["ex3-unverified"], llm_api_key=driver.USER_LLM_KEY)
    assert "generate_business_summary" not in run.tool_names
    assert "no allow rule matched" in run.error_message  # the allow-list fallback decided


def test_de_identified_record_is_what_leaves(client, llm):
    run = driver.sequrity_chat(client, CASES["ex4-deidentified"], llm_api_key=driver.USER_LLM_KEY)
    sent = dict(run.calls)["send_to_research_institute"]["data"]
    assert "Patient ID: [REDACTED]" in sent and "PATIENT001" not in sent


def test_fair_flow_sends_to_the_named_recipient(client, llm):
    for cid in ("ex5-branch-allowed", "ex5-fair-query"):
        run = driver.sequrity_chat(client, CASES[cid], llm_api_key=driver.USER_LLM_KEY)
        assert dict(run.calls)["send_email"]["to"] == "hr-1@gmail.com"


def test_branch_denial_names_the_line(client, llm):
    run = driver.sequrity_chat(client, CASES["ex5-branch-denied"], llm_api_key=driver.USER_LLM_KEY)
    program = run.final["program"].splitlines()
    line = next(i for i, text in enumerate(program, 1) if text.startswith("if profile["))
    assert f"line {line}" in run.error_message


def test_quarantined_reader_gets_query_and_schema(client, llm):
    run = driver.sequrity_chat(client, CASES["ex5-llm-allowed"], llm_api_key=driver.USER_LLM_KEY)
    (qreq,) = llm.requests("qllm")
    assert qreq.model == QLLM_MODEL
    schema = qreq.json["response_format"]["json_schema"]["schema"]
    assert {"name", "education_level"} <= set(schema["properties"])
    assert "Education Level: Bachelor's Degree" in qreq.last_user_text  # it, not the planner, reads the data
    for plan in llm.requests("pllm"):
        assert "Alice Johnson" not in plan.raw.decode()
    assert run.final["final_return_value"]["value"]["education_level"] == "Bachelor's Degree"
    assert dict(run.calls)["send_email"]["subject"] == "Applicant profile: Alice Johnson"


def test_llm_blocked_data_never_reaches_the_reader(client, llm):
    driver.sequrity_chat(client, CASES["ex5-llm-blocked"], llm_api_key=driver.USER_LLM_KEY)
    assert llm.count("qllm") == 0


@pytest.mark.parametrize("api", APIS)
def test_refund_is_issued_on_the_fourth_request(client, llm, api):
    """Example 2: one session, the same request four times; three denials, then the refund."""
    case = CASES["ex2-refund"]
    messages: list[dict] = [{"role": "user", "content": REFUND_QUERY}]
    kwargs = {"llm_api_key": driver.USER_LLM_KEY} if api == "chat" else {}
    sessions = []
    for attempt in range(1, 5):
        run = APIS[api](client, case, messages=messages, **kwargs)
        sessions += run.sessions
        if attempt < 4:
            assert run.calls == [], f"attempt {attempt} ran {run.calls}"
            assert run.status == "failure"
            assert "'issue_refund' is denied by argument" in run.final_text
            messages.append({"role": "user", "content": REFUND_QUERY})
        else:
            assert run.calls == [("issue_refund", {"order_id": "ORDER67890"})]
            assert run.status == "success", run.final_text
            assert "Refund for order ORDER67890 has been issued." in run.final_text
            assert "__non_executable" in run.final["final_return_value"]["meta"]["tags"]
            assert "issue_refund(" in run.final["program"]
    assert len(set(sessions)) == 1, sessions
    assert llm.count("pllm") == 4  # one plan per turn


def test_run_workflow_style_dicts(client, llm):
    """Posting ``model_dump(exclude_none=True)`` messages (as the docs' helper does) works too."""
    case = CASES["ex1-trusted"]
    messages = [{"role": "user", "content": case.query}]
    for _ in range(5):
        resp = client.control.chat.create(messages=messages, model="openai/gpt-5-mini,openai/gpt-5-nano",
                                          llm_api_key=driver.USER_LLM_KEY, features=case.features,
                                          security_policy=case.policy, fine_grained_config=case.config,
                                          provider="openrouter", reasoning_effort="minimal", tools=case.tools)
        messages.append(resp.choices[0].message.model_dump(exclude_none=True))
        if resp.choices[0].finish_reason != "tool_calls":
            break
        for tc in resp.choices[0].message.tool_calls:
            messages.append({"role": "tool", "content": "ok: " + tc.function.name, "tool_call_id": tc.id})
    assert json.loads(messages[-1]["content"])["status"] == "success"
