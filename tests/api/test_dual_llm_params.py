"""Request parameters in dual-LLM mode, through a live server and the real SDKs: what reaches the
planner (PLLM) and the quarantined reader (QLLM), and what is a 400 naming the field.

The table is ``airlock.agent.wire.params``: sampling, budget, reasoning and attribution go to
both roles; stop sequences to the PLLM only."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from tests.api.dual_roles import DUAL, Roles, program

SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
READS = program(f'r = parse_with_ai(query="greet", output_schema={SCHEMA!r})\nfinal_return_value = r["answer"]')
BYOK = {**DUAL, "X-Api-Key": "sk-user"}


def _oai(airlock) -> openai.OpenAI:
    return openai.OpenAI(api_key=airlock.keys["single"], base_url=f"{airlock.url}/control/chat/openai/v1",
                         default_headers=BYOK, max_retries=0)


def test_chat_parameters_reach_the_roles_the_table_names(airlock, fake_llm):
    roles = Roles(pllm=[READS], qllm=['{"answer": "hi"}'])
    fake_llm.handler = roles
    answer = _oai(airlock).chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": "greet me"}],
        temperature=0.3, top_p=0.9, max_completion_tokens=777, reasoning_effort="low", seed=7,
        stop=["END"], metadata={"app": "t"}, user="u-1", parallel_tool_calls=False, tool_choice="auto",
        tools=[{"type": "function", "function": {"name": "noop", "parameters": {"type": "object", "properties": {}}}}],
    )
    assert '"success"' in answer.choices[0].message.content and "hi" in answer.choices[0].message.content
    shared = {"temperature": 0.3, "top_p": 0.9, "max_completion_tokens": 777, "reasoning_effort": "low", "seed": 7,
              "metadata": {"app": "t"}, "user": "u-1"}
    (pllm,), (qllm,) = roles.sent["pllm"], roles.sent["qllm"]
    assert {k: pllm.get(k) for k in shared} == shared and pllm["stop"] == ["END"]
    assert {k: qllm.get(k) for k in shared} == shared
    assert "stop" not in qllm, "a stop sequence would cut the reader's JSON answer"
    assert qllm["response_format"]["type"] == "json_schema"  # our structured output is kept
    for sent in (pllm, qllm):  # satisfied by the engine itself, not forwarded
        assert "parallel_tool_calls" not in sent and "tool_choice" not in sent and "tools" not in sent


def test_messages_thinking_and_budget_reach_both_roles(airlock, fake_llm):
    roles = Roles(pllm=[READS], qllm=['{"answer": "hi"}'])
    fake_llm.handler = roles
    client = anthropic.Anthropic(api_key="unused", base_url=f"{airlock.url}/control/chat/anthropic",
                                 default_headers={**BYOK, "Authorization": f"Bearer {airlock.keys['single']}"},
                                 max_retries=0)
    message = client.messages.create(
        model="fake-model", max_tokens=3000, messages=[{"role": "user", "content": "greet me"}],
        thinking={"type": "enabled", "budget_tokens": 2048}, stop_sequences=["END"], extra_body={"top_k": 5},
        metadata={"user_id": "u-9"},
    )
    assert "hi" in message.content[0].text
    (pllm,), (qllm,) = roles.sent["pllm"], roles.sent["qllm"]
    for sent in (pllm, qllm):
        assert sent["max_tokens"] == 3000 and sent["thinking"] == {"type": "enabled", "budget_tokens": 2048}
        assert sent["top_k"] == 5 and sent["metadata"] == {"user_id": "u-9"}
    assert pllm["stop_sequences"] == ["END"] and "stop_sequences" not in qllm


def test_responses_reasoning_and_output_cap_reach_both_roles(airlock, fake_llm):
    roles = Roles(pllm=[READS], qllm=['{"answer": "hi"}'])
    fake_llm.handler = roles
    client = openai.OpenAI(api_key=airlock.keys["single"], base_url=f"{airlock.url}/control/chat/openai/v1",
                           default_headers=BYOK, max_retries=0)
    response = client.responses.create(model="fake-model", input="greet me", max_output_tokens=900,
                                       reasoning={"effort": "minimal"}, temperature=0.2, metadata={"k": "v"})
    assert "hi" in response.output_text
    for sent in (roles.sent["pllm"][0], roles.sent["qllm"][0]):
        assert sent["max_output_tokens"] == 900 and sent["reasoning"] == {"effort": "minimal"}
        assert sent["temperature"] == 0.2 and sent["metadata"] == {"k": "v"}


_USER = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("path, body, param", [
    ("chat/openai/v1/chat/completions", {"messages": _USER, "response_format": {"type": "json_object"}}, "response_format"),
    ("chat/openai/v1/chat/completions", {"messages": _USER, "logprobs": True}, "logprobs"),
    ("chat/openai/v1/chat/completions", {"messages": _USER, "temperature": 5}, "temperature"),
    ("chat/openai/v1/chat/completions", {"messages": _USER, "reasoning_effort": "extreme"}, "reasoning_effort"),
    ("chat/openai/v1/chat/completions", {"messages": _USER, "tool_choice": "required"}, "tool_choice"),
    ("chat/openai/v1/chat/completions", {"messages": _USER, "n": 2}, "n"),
    ("chat/openai/v1/chat/completions", {"messages": _USER, "user_provided_program": "x = 1"}, "user_provided_program"),
    ("chat/openai/v1/chat/completions", {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": "data:,x"}}]}]},
     "messages.0.content.1.type"),
    ("chat/openai/v1/chat/completions", {"messages": _USER, "tools": [{"type": "web_search"}]}, "tools.0.type"),
    ("chat/anthropic/v1/messages", {"messages": _USER, "max_tokens": 10,
                                    "tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "tools.0.type"),
    ("chat/anthropic/v1/messages", {"messages": _USER, "max_tokens": 10, "thinking": {"type": "enabled"}},
     "thinking.budget_tokens"),
    ("chat/anthropic/v1/messages", {"messages": _USER, "max_tokens": 10, "service_tier": "auto"}, "service_tier"),
    ("chat/openai/v1/responses", {"input": "hi", "tools": [{"type": "web_search_preview"}]}, "tools.0.type"),
    ("chat/openai/v1/responses", {"input": "hi", "store": True}, "store"),
    ("chat/openai/v1/responses", {"input": "hi", "reasoning": {"effort": "low", "summary": "auto"}}, "reasoning.summary"),
    ("chat/openai/v1/responses", {"input": "hi", "text": {"format": {"type": "json_object"}}}, "text"),
])
def test_parameters_that_cannot_apply_are_a_400_naming_the_field(http, airlock, fake_llm, path, body, param):
    response = http.post(f"/control/{path}", json={"model": "fake-model", **body},
                         headers={"Authorization": f"Bearer {airlock.keys['single']}", **BYOK})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert param in error["message"]
    if "param" in error:
        assert error["param"] == param
    assert fake_llm.requests == [], "nothing may reach a model before the request is known to be servable"


def test_readme_documents_every_forwarded_field_with_its_roles():
    """The README's role table is written from the same table the server uses."""
    from pathlib import Path

    from airlock.agent.wire.params import PARAMS, PLANNER

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| `") and ("| ✓ |" in line or "| — |" in line)]
    for table in PARAMS.values():
        for name, spec in table.items():
            if not spec.roles:
                continue
            row = next((r for r in rows if f"`{name}`" in r or f"`{name}." in r), None)
            assert row is not None, f"README does not document {name}"
            assert ("| ✓ | — |" if spec.roles == PLANNER else "| ✓ | ✓ |") in row, (name, row)


def test_timeout_in_the_body_bounds_the_turn_and_keeps_the_session(airlock, fake_llm):
    """The sequrity client sends ``timeout`` ("maximum request duration") in Messages and
    Responses bodies: it is honoured (a 504 naming it, in the API's error shape), not dropped and
    not refused; the session is left as it was, so the same request can be sent again."""
    import time

    from tests.fakes.llm_server import Reply

    slow = {"on": True}

    def planner(req):
        reply = Reply(text=program('final_return_value = "done"'), input_tokens=3, output_tokens=2)
        reply.delay = 2.0 if slow["on"] else 0.0
        return reply

    fake_llm.handler = planner
    client = anthropic.Anthropic(api_key="unused", base_url=f"{airlock.url}/control/chat/anthropic",
                                 default_headers={**BYOK, "Authorization": f"Bearer {airlock.keys['single']}"},
                                 max_retries=0)
    ask = dict(model="fake-model", max_tokens=100, messages=[{"role": "user", "content": "hurry"}])
    t0 = time.monotonic()
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.create(**ask, extra_body={"timeout": 0.5})
    assert time.monotonic() - t0 < 1.8
    assert caught.value.status_code == 504
    assert caught.value.body["type"] == "error" and "timeout" in caught.value.body["error"]["message"]
    slow["on"] = False
    again = client.messages.create(**ask, extra_body={"timeout": 30})
    assert "done" in again.content[0].text


@pytest.mark.parametrize("bad", [0, -1, "soon", True, 10**9])
def test_a_bad_timeout_is_a_400_naming_it(airlock, fake_llm, bad):
    client = anthropic.Anthropic(api_key="unused", base_url=f"{airlock.url}/control/chat/anthropic",
                                 default_headers={**BYOK, "Authorization": f"Bearer {airlock.keys['single']}"},
                                 max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model="fake-model", max_tokens=100, messages=[{"role": "user", "content": "x"}],
                               extra_body={"timeout": bad})
    assert "timeout" in str(caught.value)


def test_an_x_policy_that_does_not_compile_is_a_400_in_dual_llm_mode_too(airlock, fake_llm):
    """As in single-LLM mode: the caller's own code is refused before any model is called, with
    the compiler's line and column, not answered with a failure JSON after planning."""
    key = airlock.keys["single"]
    headers = {**BYOK, "X-Policy": json.dumps({"codes": {"code": 'tool "x" { hard deny when ; }', "language": "sqrt"}})}
    client = openai.OpenAI(api_key=key, base_url=f"{airlock.url}/control/chat/openai/v1", default_headers=headers,
                           max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "x"}])
    assert "X-Policy" in str(caught.value) and "line 1" in str(caught.value)
    assert caught.value.body["param"] == "X-Policy.codes"
    assert fake_llm.requests == []
