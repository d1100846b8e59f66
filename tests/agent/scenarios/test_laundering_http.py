"""The laundering corpus through the HTTP API: a live Airlock, the scripted upstream writing each
laundering program as the plan, a real client (``openai`` for Chat Completions, ``anthropic`` for
Messages) executing the tools. Every attempt ends with the policy's denial of ``send_email``,
and the confidential text never reaches the planner (the suite-wide canary checks it)."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from tests.agent.scenarios.catalog import DUAL_MODEL, POSTED_RESULTS
from tests.agent.scenarios.checks import assert_no_tool_data_in_planner
from tests.interpreter.laundering import EXPLICIT, IMPLICIT, LAUNDER_RESULT, POLICY, SECRET_TEXT

TOOL_DEFS = [
    {"type": "function", "function": {"name": "read_doc", "description": "Read a document.", "parameters": {
        "type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}}},
    {"type": "function", "function": {"name": "send_email", "description": "Send an e-mail.", "parameters": {
        "type": "object", "properties": {"to": {"type": "string"}, "body": {"type": "string"}},
        "required": ["to", "body"]}}},
    {"type": "function", "function": {"name": "launder", "description": "Rewrite text.", "parameters": {
        "type": "object", "properties": {"data": {"type": "string"}}, "required": ["data"]}}},
]
RESULTS = {"read_doc": SECRET_TEXT, "launder": json.dumps(LAUNDER_RESULT), "send_email": "sent"}
DENIED = "Tool call send_email denied by argument checking policies."


def _headers(mode: str) -> dict[str, str]:
    return {"X-Api-Key": "sk-user-byok", "X-Features": json.dumps({"agent_arch": "dual-llm"}),
            "X-Policy": json.dumps({"mode": mode, "codes": {"code": POLICY, "language": "sqrt"}})}


def _tool(name: str) -> str:
    result = RESULTS[name]
    POSTED_RESULTS.append(result)
    return result


def chat_attempt(airlock, query: str, mode: str) -> tuple[list[str], dict]:
    client = openai.OpenAI(base_url=f"{airlock.url}/control/chat/openai/v1", api_key=airlock.keys["dual"],
                           default_headers=_headers(mode), max_retries=0, timeout=30)
    messages: list[dict] = [{"role": "user", "content": query}]
    called = []
    for _ in range(8):
        resp = client.chat.completions.create(model=DUAL_MODEL, messages=messages, tools=TOOL_DEFS)
        choice = resp.choices[0]
        if choice.finish_reason != "tool_calls":
            return called, json.loads(choice.message.content)
        messages.append(choice.message.model_dump(mode="json", exclude_none=True))
        for tc in choice.message.tool_calls:
            called.append(tc.function.name)
            messages.append({"role": "tool", "tool_call_id": tc.id, "content": _tool(tc.function.name)})
    raise AssertionError("no final answer")


def messages_attempt(airlock, query: str, mode: str) -> tuple[list[str], dict]:
    headers = {**_headers(mode), "Authorization": f"Bearer {airlock.keys['dual']}"}
    client = anthropic.Anthropic(base_url=f"{airlock.url}/control/chat/anthropic", api_key="sk-user-byok",
                                 default_headers=headers, max_retries=0, timeout=30)
    tools = [{"name": t["function"]["name"], "description": t["function"]["description"],
              "input_schema": t["function"]["parameters"]} for t in TOOL_DEFS]
    messages: list[dict] = [{"role": "user", "content": query}]
    called = []
    for _ in range(8):
        resp = client.messages.create(model=DUAL_MODEL, max_tokens=512, messages=messages, tools=tools)
        uses = [b for b in resp.content if b.type == "tool_use"]
        if not uses:
            return called, json.loads("".join(b.text for b in resp.content if b.type == "text"))
        messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in resp.content]})
        results = []
        for b in uses:
            called.append(b.name)
            results.append({"type": "tool_result", "tool_use_id": b.id, "content": _tool(b.name)})
        messages.append({"role": "user", "content": results})
    raise AssertionError("no final answer")


def _assert_denied(called: list[str], final: dict, name: str) -> None:
    assert final["status"] == "failure", f"{name}: {final}"
    assert DENIED in final["error"]["message"], f"{name}: {final['error']}"
    assert "send_email" not in called, f"{name}: the laundered e-mail reached the client"


@pytest.mark.parametrize("name", sorted(EXPLICIT))
def test_explicit_laundering_is_denied_over_http(scenario_airlock, llm, name):
    query = f"launder-case {name}"
    llm.program_override[query] = EXPLICIT[name]
    called, final = chat_attempt(scenario_airlock, query, "standard")
    _assert_denied(called, final, name)


@pytest.mark.parametrize("name", sorted(IMPLICIT))
def test_implicit_laundering_is_denied_over_http_in_strict_mode(scenario_airlock, llm, name):
    query = f"launder-case {name}"
    llm.program_override[query] = IMPLICIT[name]
    called, final = chat_attempt(scenario_airlock, query, "strict")
    _assert_denied(called, final, name)


@pytest.mark.parametrize("name", ["sorted key function", "exception args", "wrapper result from data",
                                  "keyword chooses parameter", "model default"])
def test_laundering_is_denied_over_messages(scenario_airlock, llm, name):
    query = f"launder-case {name}"
    llm.program_override[query] = EXPLICIT[name]
    called, final = messages_attempt(scenario_airlock, query, "standard")
    _assert_denied(called, final, name)


@pytest.mark.parametrize("name", ["branch not taken", "exception as control flow", "early return skips mutation"])
def test_implicit_laundering_over_messages(scenario_airlock, llm, name):
    query = f"launder-case {name}"
    llm.program_override[query] = IMPLICIT[name]
    called, final = messages_attempt(scenario_airlock, query, "strict")
    _assert_denied(called, final, name)


def test_the_canary_catches_tool_data_in_a_planner_prompt(scenario_airlock, llm):
    """The canary is not vacuous: with the client's documented opt-out that inlines earlier tool
    results into the planner's query, it fires."""
    query = "launder-case canary opt-out"
    llm.program_override[query] = 'doc = read_doc(id="1")\nfinal_return_value = "read"\n'
    client = openai.OpenAI(base_url=f"{scenario_airlock.url}/control/chat/openai/v1",
                           api_key=scenario_airlock.keys["dual"], max_retries=0, timeout=30, default_headers={
                               **_headers("standard"), "X-Config": json.dumps({"prompt": {"pllm": {
                                   "query_inline_roles": ["tool"], "query_include_tool_results": True}}})})
    messages: list[dict] = [{"role": "user", "content": query}]
    first = client.chat.completions.create(model=DUAL_MODEL, messages=messages, tools=TOOL_DEFS)
    tc = first.choices[0].message.tool_calls[0]
    messages += [first.choices[0].message.model_dump(mode="json", exclude_none=True),
                 {"role": "tool", "tool_call_id": tc.id, "content": SECRET_TEXT}]
    done = client.chat.completions.create(model=DUAL_MODEL, messages=messages, tools=TOOL_DEFS)
    messages += [done.choices[0].message.model_dump(mode="json", exclude_none=True),
                 {"role": "user", "content": query + " again"}]
    llm.program_override[query + " again"] = 'final_return_value = "again"\n'
    client.chat.completions.create(model=DUAL_MODEL, messages=messages, tools=TOOL_DEFS)
    with pytest.raises(AssertionError, match="carries tool data"):
        assert_no_tool_data_in_planner(llm, [SECRET_TEXT])
