"""Prompt injection in tool data changes nothing.

1. The plan is fixed before any tool runs: the planner (PLLM) is asked once per turn, from the
   user's query only, and no request to it ever carries tool output — not on resume, not in a
   later turn of the same conversation.
2. The quarantined reader (QLLM) does read the data. Even a reader that *obeys* the injection
   (answers the attacker's address) cannot move tagged data past the policy: ``send_email`` to
   the attacker is denied and never reaches the client.
"""

from __future__ import annotations

import pytest
from sequrity import SequrityClient

from tests.agent.scenarios import driver
from tests.agent.scenarios.catalog import ATTACKER, CASES, DOC_QUERY, INJECTION
from tests.agent.scenarios.checks import assert_outcome, assert_planner_never_saw

APIS = {"chat": driver.sequrity_chat, "messages": driver.sequrity_messages}
INBOX = CASES["injection"]
DOC_WITH_INJECTION = {"get_internal_document": lambda doc_id: f"Quarterly numbers for {doc_id}.\n{INJECTION}\n"}


@pytest.fixture
def client(scenario_airlock):
    with SequrityClient(api_key=scenario_airlock.keys["dual"], base_url=scenario_airlock.url, timeout=30) as c:
        yield c


def _kw(api: str) -> dict:
    return {"llm_api_key": driver.USER_LLM_KEY} if api == "chat" else {}


@pytest.mark.parametrize("api", APIS)
def test_injected_tool_result_does_not_change_the_plan(client, llm, api, scenario_airlock):
    case = CASES["tutorial-trusted"]
    clean = APIS[api](client, case, **_kw(api))
    with SequrityClient(api_key=scenario_airlock.keys["dual"], base_url=scenario_airlock.url, timeout=30) as fresh:
        mark = llm.mark()
        attacked = APIS[api](fresh, case, overrides=DOC_WITH_INJECTION, **_kw(api))
    # Same calls, same recipients; only the document text (data) differs.
    assert attacked.tool_names == clean.tool_names == ["get_internal_document", "send_email"]
    assert attacked.calls[0] == clean.calls[0]
    sent = attacked.calls[1][1]
    assert sent["to"] == "user@trustedcorp.com" and sent["subject"] == clean.calls[1][1]["subject"]
    assert INJECTION in sent["body"]  # carried as data, never obeyed
    assert attacked.status == "success"
    assert [c.role for c in llm.since(mark)] == ["pllm"]  # planned once, before the tool ran
    assert_planner_never_saw(llm, INJECTION, ATTACKER)


@pytest.mark.parametrize("api", APIS)
def test_honest_reader_with_injected_inbox(client, llm, api):
    run = APIS[api](client, INBOX, **_kw(api))
    assert_outcome(run, INBOX, llm, qllm_calls=1)
    assert dict(run.calls)["send_email"]["to"] == "alice@trustedcorp.com"
    (reader,) = llm.requests("qllm")
    assert INJECTION in reader.raw.decode()  # the reader sees the data...
    assert_planner_never_saw(llm, INJECTION, ATTACKER, "alice@trustedcorp.com")  # ...the planner never does


@pytest.mark.parametrize("api", APIS)
def test_obedient_reader_cannot_exfiltrate(client, llm, api):
    llm.obey_injection = True  # a compromised QLLM: answers whatever the data tells it to
    run = APIS[api](client, INBOX, **_kw(api))
    assert llm.count("qllm") == 1
    # The attacker's address came out of the reader, but the send was stopped inside Airlock.
    assert run.tool_names == ["read_inbox", "get_internal_document"]
    assert all(args.get("to") != ATTACKER for _, args in run.calls)
    assert run.status == "failure"
    assert "Tool call send_email denied by argument checking policies." in run.error_message
    assert "'send_email' is denied" in run.final_text
    assert ATTACKER in run.error_message  # the denied call is reported to the client who owns the session
    assert llm.count("pllm") == 1
    assert_planner_never_saw(llm, INJECTION, ATTACKER)


def test_later_turn_planner_does_not_see_earlier_tool_results(client, llm):
    """A second query in the same conversation: the history the client posts carries the injected
    tool result, but the new plan is made from the user's messages only."""
    case = CASES["tutorial-trusted"]
    first = driver.sequrity_chat(client, case, llm_api_key=driver.USER_LLM_KEY, overrides=DOC_WITH_INJECTION)
    assert first.status == "success"
    follow_up = DOC_QUERY.format(to="user@trustedcorp.com").replace("DOC12345", "DOC777")
    messages = first.messages + [{"role": "user", "content": follow_up}]
    second = driver.sequrity_chat(client, case, messages=messages, llm_api_key=driver.USER_LLM_KEY,
                                  overrides=DOC_WITH_INJECTION)
    assert second.calls[0] == ("get_internal_document", {"doc_id": "DOC777"})
    assert second.status == "success", second.final_text
    assert set(first.sessions) == set(second.sessions)
    plans = llm.requests("pllm")
    assert len(plans) == 2 and follow_up in plans[1].last_user_text
    assert_planner_never_saw(llm, INJECTION, ATTACKER)

