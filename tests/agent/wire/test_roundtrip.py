"""Round trip: our tool-call answer → the official SDK → the client's next request → parse_conversation.

The client builds its next request the way the SDK docs show (append the assistant message /
content blocks / output items it received, then the tool results); the replay server records the
body actually posted, and the tool results must land on the ids we handed out.
"""

from __future__ import annotations

import anthropic
import openai
import pytest

from airlock.agent.wire import parse_conversation, render_json, render_sse
from airlock.providers.registry import ApiFormat as Api

from tests.agent.wire.samples import ID1, ID2, LONG_ARGS, THOUGHTS, final, tool_calls

TOOLS_CHAT = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
              {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}]
RESULTS = {ID1: '{"temp": 21}', ID2: "noon"}


def _answer(replay, api, stream):
    output = tool_calls(thoughts=list(THOUGHTS))
    if stream:
        replay.answer_sse(render_sse(api, output, model="m", stream_thoughts=True))
    else:
        replay.answer_json(render_json(api, output, model="m"))


def _check(api, posted):
    conv = parse_conversation(api, posted)
    assistant = [m for m in conv.messages if m.role == "assistant"][-1]
    assert assistant.tool_calls == [{"id": ID1, "name": "get_weather", "arguments": LONG_ARGS},
                                    {"id": ID2, "name": "get_time", "arguments": {}}]
    assert [(m.tool_call_id, m.name, m.content) for m in conv.trailing_tool_results()] == [
        (ID1, "get_weather", RESULTS[ID1]), (ID2, "get_time", RESULTS[ID2])]
    assert not conv.starts_turn and conv.messages[0].content == "weather?"


@pytest.mark.parametrize("stream", [False, True])
def test_chat_round_trip(replay, stream):
    client = openai.OpenAI(base_url=replay.url + "/v1", api_key="k", max_retries=0)
    messages: list = [{"role": "user", "content": "weather?"}]
    _answer(replay, Api.CHAT_COMPLETIONS, stream)
    if stream:
        with client.chat.completions.stream(model="m", messages=messages, tools=TOOLS_CHAT) as s:
            message = s.get_final_completion().choices[0].message
    else:
        message = client.chat.completions.create(model="m", messages=messages, tools=TOOLS_CHAT).choices[0].message
    messages.append(message)  # the SDK model itself, as the OpenAI docs do
    messages += [{"role": "tool", "tool_call_id": c.id, "content": RESULTS[c.id]} for c in message.tool_calls]
    replay.answer_json(render_json(Api.CHAT_COMPLETIONS, final(), model="m"))
    client.chat.completions.create(model="m", messages=messages, tools=TOOLS_CHAT)
    _check(Api.CHAT_COMPLETIONS, replay.posted[-1])


@pytest.mark.parametrize("stream", [False, True])
def test_messages_round_trip(replay, stream):
    client = anthropic.Anthropic(base_url=replay.url, api_key="k", max_retries=0)
    messages: list = [{"role": "user", "content": "weather?"}]
    tools = [{"name": "get_weather", "input_schema": {"type": "object"}}, {"name": "get_time", "input_schema": {"type": "object"}}]
    _answer(replay, Api.MESSAGES, stream)
    if stream:
        with client.messages.stream(model="m", max_tokens=100, messages=messages, tools=tools) as s:
            message = s.get_final_message()
        assert message.content[0].type == "thinking"  # sent back too, and skipped by the parser
    else:
        message = client.messages.create(model="m", max_tokens=100, messages=messages, tools=tools)
    messages.append({"role": "assistant", "content": message.content})
    messages.append({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": b.id, "content": RESULTS[b.id]} for b in message.content if b.type == "tool_use"]})
    replay.answer_json(render_json(Api.MESSAGES, final(), model="m"))
    client.messages.create(model="m", max_tokens=100, messages=messages, tools=tools)
    _check(Api.MESSAGES, replay.posted[-1])


@pytest.mark.parametrize("stream", [False, True])
def test_responses_round_trip(replay, stream):
    client = openai.OpenAI(base_url=replay.url + "/v1", api_key="k", max_retries=0)
    tools = [{"type": "function", "name": n, "parameters": {"type": "object"}, "strict": False} for n in ("get_weather", "get_time")]
    items: list = [{"role": "user", "content": "weather?"}]
    _answer(replay, Api.RESPONSES, stream)
    if stream:
        with client.responses.stream(model="m", input=items, tools=tools) as s:
            response = s.get_final_response()
        assert response.output[0].type == "reasoning"  # sent back too, and skipped by the parser
    else:
        response = client.responses.create(model="m", input=items, tools=tools)
    items += response.output  # the SDK's output items themselves, as the OpenAI docs do
    items += [{"type": "function_call_output", "call_id": i.call_id, "output": RESULTS[i.call_id]}
              for i in response.output if i.type == "function_call"]
    replay.answer_json(render_json(Api.RESPONSES, final(), model="m"))
    client.responses.create(model="m", input=items, tools=tools)
    _check(Api.RESPONSES, replay.posted[-1])
