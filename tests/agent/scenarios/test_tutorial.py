"""The dual-LLM tutorial (``tool_use_dual_llm.md``), both cases, through every client.

With the ``sequrity`` client it runs as the tutorial is written: one client for both cases,
the security headers on the first request of each case only, no provider key (the server's
own key and allow-listed models are used). The plain ``openai`` and ``anthropic`` SDKs and the
Responses API run the same two cases.
"""

from __future__ import annotations

import json

import anthropic
import openai
import pytest
from sequrity import SequrityClient
from sequrity.control.types.dual_llm_response import ResponseContentJsonSchema

from tests.agent.scenarios import driver
from tests.agent.scenarios.catalog import CASES, DUAL_MODEL as UNTRUSTED_MODEL, PLLM_MODEL, TUTORIAL_DOC_TEXT, to_anthropic
from tests.agent.scenarios.checks import assert_outcome

UNTRUSTED, TRUSTED = CASES["tutorial-untrusted"], CASES["tutorial-trusted"]
TUTORIAL_TOOLS = {"get_internal_document": lambda doc_id: TUTORIAL_DOC_TEXT}


@pytest.fixture
def client(scenario_airlock):
    with SequrityClient(api_key=scenario_airlock.keys["dual"], base_url=scenario_airlock.url, timeout=30) as c:
        yield c


def test_tutorial_as_written(client, llm):
    # Case 1: the document may not go to gmail.com.
    denied = driver.sequrity_chat(client, UNTRUSTED, headers_every_time=False, overrides=TUTORIAL_TOOLS)
    assert_outcome(denied, UNTRUSTED, llm, qllm_calls=0)
    assert denied.responses[0].choices[0].finish_reason == "tool_calls"
    assert denied.calls[0] == ("get_internal_document", {"doc_id": "DOC12345"})
    content = ResponseContentJsonSchema.model_validate_json(denied.final_text)
    assert content.error is not None and "denied by argument checking policies" in content.error.message
    assert "send_email(" in content.program and "research@gmail.com" in content.program
    # No provider key in the tutorial: the server's OpenRouter key and the named PLLM are used.
    plan_request = llm.requests("pllm")[0]
    assert plan_request.headers["authorization"] == "Bearer sk-srv-openrouter"
    assert plan_request.model == PLLM_MODEL
    assert UNTRUSTED.query in plan_request.last_user_text

    # Case 2, same client: to trustedcorp.com the email goes out.
    mark = llm.mark()
    allowed = driver.sequrity_chat(client, TRUSTED, headers_every_time=False, overrides=TUTORIAL_TOOLS)
    assert allowed.tool_names == ["get_internal_document", "send_email"]
    assert allowed.status == "success", allowed.final_text
    sent = allowed.calls[1][1]
    assert sent["to"] == "user@trustedcorp.com" and TUTORIAL_DOC_TEXT in sent["body"]
    assert [c.role for c in llm.since(mark)] == ["pllm"]
    content = ResponseContentJsonSchema.model_validate_json(allowed.final_text)
    assert content.status == "success" and content.final_return_value.value["emailed_to"] == "user@trustedcorp.com"


@pytest.mark.parametrize("case", [UNTRUSTED, TRUSTED], ids=lambda c: c.id)
def test_tutorial_sequrity_messages(client, llm, case):
    run = driver.sequrity_messages(client, case, overrides=TUTORIAL_TOOLS)
    assert_outcome(run, case, llm, qllm_calls=0)
    assert run.responses[0].stop_reason == "tool_use"
    assert llm.requests("pllm")[0].api == "messages"  # Anthropic provider: the planner is asked in Messages form
    assert llm.requests("pllm")[0].headers.get("x-api-key") == driver.USER_LLM_KEY


@pytest.mark.parametrize("case", [UNTRUSTED, TRUSTED], ids=lambda c: c.id)
def test_tutorial_sequrity_responses(client, llm, case):
    run = driver.sequrity_responses(client, case, overrides=TUTORIAL_TOOLS)
    assert_outcome(run, case, llm, qllm_calls=0)


@pytest.fixture
def oai(scenario_airlock):
    c = openai.OpenAI(base_url=f"{scenario_airlock.url}/control/chat/openrouter/v1",
                      api_key=scenario_airlock.keys["dual"], max_retries=0,
                      default_headers={"X-Api-Key": driver.USER_LLM_KEY})
    yield c
    c.close()


@pytest.fixture
def claude(scenario_airlock):
    key = scenario_airlock.keys["dual"]
    c = anthropic.Anthropic(base_url=f"{scenario_airlock.url}/control/chat/anthropic", api_key=driver.USER_LLM_KEY,
                            max_retries=0, default_headers={"Authorization": f"Bearer {key}",
                                                            "X-Api-Key": driver.USER_LLM_KEY})
    yield c
    c.close()


@pytest.mark.parametrize("case", [UNTRUSTED, TRUSTED], ids=lambda c: c.id)
def test_tutorial_openai_sdk(oai, llm, case):
    run = driver.openai_chat(oai, case, overrides=TUTORIAL_TOOLS)
    assert_outcome(run, case, llm, qllm_calls=0)
    assert run.responses[0].choices[0].message.tool_calls[0].id.startswith("tc-")
    assert llm.requests("pllm")[0].headers["authorization"] == f"Bearer {driver.USER_LLM_KEY}"  # BYOK


@pytest.mark.parametrize("case", [UNTRUSTED, TRUSTED], ids=lambda c: c.id)
def test_tutorial_anthropic_sdk(claude, llm, case):
    run = driver.anthropic_messages(claude, case, overrides=TUTORIAL_TOOLS)
    assert_outcome(run, case, llm, qllm_calls=0)
    assert llm.requests("pllm")[0].headers.get("x-api-key") == driver.USER_LLM_KEY


def test_tutorial_streaming(client, llm):
    """The same flow with ``stream=True``: the tool call and then the denial arrive as SSE chunks."""
    common = dict(model=UNTRUSTED_MODEL, tools=UNTRUSTED.tools, features=UNTRUSTED.features,
                  security_policy=UNTRUSTED.policy, fine_grained_config=UNTRUSTED.config, provider="openrouter",
                  stream=True)
    messages = [{"role": "user", "content": UNTRUSTED.query}]
    chunks = list(client.control.chat.create(messages=messages, **common))
    calls = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    head = next(tc for tc in calls if tc.id)
    assert head.function.name == "get_internal_document"
    arguments = "".join(tc.function.arguments or "" for tc in calls if tc.function)
    assert json.loads(arguments) == {"doc_id": "DOC12345"}
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]
    messages += [{"role": "assistant", "content": None, "tool_calls": [
                     {"id": head.id, "type": "function", "function": {"name": head.function.name, "arguments": arguments}}]},
                 {"role": "tool", "tool_call_id": head.id, "content": TUTORIAL_DOC_TEXT}]
    chunks = list(client.control.chat.create(messages=messages, **common))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "Tool call send_email denied by argument checking policies." in text
    assert json.loads(text)["status"] == "failure"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert llm.count("pllm") == 1


def test_anthropic_sdk_streaming(claude, llm):
    """Messages SSE through the anthropic SDK's own stream accumulator: tool_use, then the denial."""
    case = UNTRUSTED
    messages = [{"role": "user", "content": case.query}]
    common = dict(model=UNTRUSTED_MODEL, max_tokens=1024, tools=to_anthropic(case.tools), extra_headers=case.headers())
    with claude.messages.stream(messages=messages, **common) as stream:
        first = stream.get_final_message()
    assert first.stop_reason == "tool_use"
    (use,) = [b for b in first.content if b.type == "tool_use"]
    assert use.name == "get_internal_document" and use.input == {"doc_id": "DOC12345"}
    messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                               "content": TUTORIAL_DOC_TEXT}]}]
    with claude.messages.stream(messages=messages, **common) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "end_turn"
    text = "".join(b.text for b in final.content if b.type == "text")
    assert json.loads(text)["status"] == "failure"
    assert "Tool call send_email denied by argument checking policies." in text and "'send_email' is denied" in text
    assert llm.count("pllm") == 1


def test_arch_from_header_or_key(scenario_airlock, llm):
    """Dual-LLM is chosen by ``X-Features`` on a single-LLM key, and by a dual-LLM key alone."""
    base = f"{scenario_airlock.url}/control/chat/openrouter/v1"
    headers = {"X-Api-Key": driver.USER_LLM_KEY}
    with openai.OpenAI(base_url=base, api_key=scenario_airlock.keys["single"], max_retries=0,
                       default_headers={**headers, "X-Features": '{"agent_arch": "dual-llm"}'}) as by_header:
        resp = by_header.chat.completions.create(model=UNTRUSTED_MODEL, tools=TRUSTED.tools,
                                                 messages=[{"role": "user", "content": TRUSTED.query}])
    assert resp.choices[0].message.tool_calls[0].function.name == "get_internal_document"
    with openai.OpenAI(base_url=base, api_key=scenario_airlock.keys["dual"], max_retries=0,
                       default_headers=headers) as by_key:
        resp = by_key.chat.completions.create(model=UNTRUSTED_MODEL, tools=TRUSTED.tools,
                                              messages=[{"role": "user", "content": TRUSTED.query}])
    assert resp.choices[0].message.tool_calls[0].function.name == "get_internal_document"
    assert [c.role for c in llm.calls] == ["pllm", "pllm"]


def test_retried_tool_result_reemits_the_pending_call(client, llm):
    """A client that re-posts a tool result (e.g. after a timeout) gets the same pending call back,
    with the same id, and nothing is planned or run twice."""
    case = TRUSTED
    kw = dict(model=UNTRUSTED_MODEL, tools=case.tools, features=case.features, security_policy=case.policy,
              fine_grained_config=case.config, provider="openrouter", llm_api_key=driver.USER_LLM_KEY)
    messages = [{"role": "user", "content": case.query}]
    first = client.control.chat.create(messages=messages, **kw)
    (call,) = first.choices[0].message.tool_calls
    messages += [first.choices[0].message.model_dump(mode="json", exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": TUTORIAL_DOC_TEXT}]
    second = client.control.chat.create(messages=messages, **kw)
    again = client.control.chat.create(messages=messages, **kw)
    (send,), (send_again,) = second.choices[0].message.tool_calls, again.choices[0].message.tool_calls
    assert send.function.name == send_again.function.name == "send_email"
    assert send.id == send_again.id and send.function.arguments == send_again.function.arguments
    assert llm.count("pllm") == 1
