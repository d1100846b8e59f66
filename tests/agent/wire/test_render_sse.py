"""render_sse: streams the official SDKs (over real HTTP) and sequrity's stream types accept.

Each stream is served by the replay server and read back with the SDK's own streaming helpers,
whose accumulated result must equal the JSON rendering of the same answer.
"""

from __future__ import annotations

import json

import anthropic
import anthropic.types
import openai
import openai.types.chat
import openai.types.responses
import pytest
from pydantic import TypeAdapter
from sequrity.types.chat_completion.stream import ChatCompletionChunk
from sequrity.types.messages.stream import AnthropicStreamEvent
from sequrity.types.responses.stream import OpenAiResponseStreamEvent

from airlock.agent.wire import render_json, render_sse
from airlock.providers.registry import ApiFormat as Api

from tests.agent.wire.samples import FINAL_TEXT, ID1, ID2, LONG_ARGS, OUTPUTS, THOUGHTS, events, final, tool_calls

USER = [{"role": "user", "content": "weather?"}]
_HELPER_ONLY = {"parsed", "parsed_arguments", "parsed_output"}  # fields the SDK stream helpers add


def _plain(value):
    """An SDK object as plain data, without the fields only the streaming helpers' types carry."""
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in _HELPER_ONLY}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@pytest.fixture
def oai(replay):
    return openai.OpenAI(base_url=replay.url + "/v1", api_key="k", max_retries=0)


@pytest.fixture
def claude(replay):
    return anthropic.Anthropic(base_url=replay.url, api_key="k", max_retries=0)


# -- sequrity's stream types and framing, for every output ---------------------------------------

_MESSAGES_EVENT = TypeAdapter(AnthropicStreamEvent)
_RESPONSES_EVENT = TypeAdapter(OpenAiResponseStreamEvent)


@pytest.mark.parametrize("thoughts", [False, True])
@pytest.mark.parametrize("name", OUTPUTS)
def test_every_event_parses_with_sequrity_types(name, thoughts):
    output = OUTPUTS[name](thoughts=list(THOUGHTS))
    chat = events(render_sse(Api.CHAT_COMPLETIONS, output, model="m", stream_thoughts=thoughts))
    assert chat[-1] == (None, "[DONE]") and all(event is None for event, _ in chat)
    for _, data in chat[:-1]:
        ChatCompletionChunk.model_validate(data)
        openai.types.chat.ChatCompletionChunk.model_validate(data)
    for api, adapter in ((Api.MESSAGES, _MESSAGES_EVENT), (Api.RESPONSES, _RESPONSES_EVENT)):
        stream = events(render_sse(api, output, model="m", stream_thoughts=thoughts))
        for event, data in stream:
            assert event == data["type"]  # the ``event:`` line names the data's type
            adapter.validate_python(data)
    sequence = [d["sequence_number"] for _, d in events(render_sse(Api.RESPONSES, output, model="m"))]
    assert sequence == list(range(len(sequence)))


def test_thoughts_only_when_asked():
    output = final(thoughts=list(THOUGHTS))
    for api in Api:
        plain = b"".join(render_sse(api, output, model="m"))
        for marker in (b"reasoning_content", b'"thinking"', b"reasoning_summary", b'"type":"reasoning"', b"Planning"):
            assert marker not in plain
        assert b"Planning" in b"".join(render_sse(api, output, model="m", stream_thoughts=True))


# -- Chat Completions --------------------------------------------------------------------------


def test_chat_stream_accumulates_tool_calls(replay, oai):
    replay.answer_sse(render_sse(Api.CHAT_COMPLETIONS, tool_calls(), model="m"))
    calls: dict[int, dict] = {}
    finish, usage = None, None
    for chunk in oai.chat.completions.create(model="m", messages=USER, stream=True,
                                             stream_options={"include_usage": True}):
        usage = chunk.usage or usage
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for delta in choice.delta.tool_calls or ():
                call = calls.setdefault(delta.index, {"id": None, "name": None, "arguments": ""})
                call["id"] = delta.id or call["id"]
                if delta.function:
                    call["name"] = delta.function.name or call["name"]
                    call["arguments"] += delta.function.arguments or ""
    assert [(c["id"], c["name"], json.loads(c["arguments"])) for c in calls.values()] == [
        (ID1, "get_weather", LONG_ARGS), (ID2, "get_time", {})]
    assert finish == "tool_calls" and (usage.prompt_tokens, usage.total_tokens) == (80, 110)


@pytest.mark.parametrize("name", OUTPUTS)
def test_chat_stream_helper_equals_json(replay, oai, name):
    output = OUTPUTS[name]()
    replay.answer_sse(render_sse(Api.CHAT_COMPLETIONS, output, model="m", response_id="chatcmpl-1"))
    with oai.chat.completions.stream(model="m", messages=USER, stream_options={"include_usage": True}) as stream:
        streamed = stream.get_final_completion()
    expected = openai.types.chat.ChatCompletion.model_validate(
        render_json(Api.CHAT_COMPLETIONS, output, model="m", response_id="chatcmpl-1"))
    got, want = streamed.choices[0], expected.choices[0]
    assert got.finish_reason == want.finish_reason
    assert (got.message.content or None) == (want.message.content or None)
    got_calls = [{k: v for k, v in _plain(c).items() if k != "index"} for c in got.message.tool_calls or []]
    assert got_calls == _plain(want.message.tool_calls or [])
    assert streamed.usage == expected.usage and streamed.id == expected.id


def test_chat_without_usage_chunk(replay, oai):
    stream = events(render_sse(Api.CHAT_COMPLETIONS, final(), model="m", include_usage=False))
    assert all("usage" not in data and data["choices"] for _, data in stream[:-1])
    replay.answer_sse(render_sse(Api.CHAT_COMPLETIONS, final(), model="m", include_usage=False))
    text = "".join(c.choices[0].delta.content or "" for c in oai.chat.completions.create(model="m", messages=USER, stream=True))
    assert text == FINAL_TEXT


def test_chat_reasoning_content(replay, oai):
    replay.answer_sse(render_sse(Api.CHAT_COMPLETIONS, final(thoughts=list(THOUGHTS)), model="m", stream_thoughts=True))
    reasoning, text = "", ""
    for chunk in oai.chat.completions.create(model="m", messages=USER, stream=True):
        for choice in chunk.choices:
            reasoning += getattr(choice.delta, "reasoning_content", None) or ""
            text += choice.delta.content or ""
    assert reasoning == "\n\n".join(THOUGHTS) and text == FINAL_TEXT


# -- Anthropic Messages ------------------------------------------------------------------------


@pytest.mark.parametrize("name", OUTPUTS)
def test_messages_stream_final_message_equals_json(replay, claude, name):
    output = OUTPUTS[name]()
    replay.answer_sse(render_sse(Api.MESSAGES, output, model="claude", response_id="msg_1"))
    with claude.messages.stream(model="claude", max_tokens=100, messages=USER) as stream:
        streamed = stream.get_final_message()
    expected = anthropic.types.Message.model_validate(render_json(Api.MESSAGES, output, model="claude", response_id="msg_1"))
    assert _plain(streamed) == _plain(expected)


def test_messages_thinking_block(replay, claude):
    output = tool_calls(thoughts=list(THOUGHTS))
    replay.answer_sse(render_sse(Api.MESSAGES, output, model="claude", response_id="msg_1", stream_thoughts=True))
    with claude.messages.stream(model="claude", max_tokens=100, messages=USER) as stream:
        thinking = "".join(e.thinking for e in stream if e.type == "thinking")
        streamed = stream.get_final_message()
    expected = anthropic.types.Message.model_validate(render_json(Api.MESSAGES, output, model="claude", response_id="msg_1"))
    assert thinking == "\n\n".join(THOUGHTS)
    assert streamed.content[0].type == "thinking" and streamed.content[0].thinking == thinking
    assert _plain(streamed.content[1:]) == _plain(expected.content) and streamed.stop_reason == "tool_use"


# -- OpenAI Responses --------------------------------------------------------------------------


@pytest.mark.parametrize("name", OUTPUTS)
def test_responses_stream_final_response_equals_json(replay, oai, name):
    output = OUTPUTS[name]()
    replay.answer_sse(render_sse(Api.RESPONSES, output, model="m", response_id="resp_1"))
    with oai.responses.stream(model="m", input="weather?") as stream:
        kinds = [event.type for event in stream]
        streamed = stream.get_final_response()
    expected = openai.types.responses.Response.model_validate(render_json(Api.RESPONSES, output, model="m", response_id="resp_1"))
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    assert _plain(streamed.output) == _plain(expected.output)
    assert streamed.usage == expected.usage and streamed.output_text == expected.output_text


def test_responses_raw_stream_deltas_add_up(replay, oai):
    replay.answer_sse(render_sse(Api.RESPONSES, tool_calls(), model="m"))
    args: dict[str, str] = {}
    done: dict[str, str] = {}
    for event in oai.responses.create(model="m", input="x", stream=True):
        if event.type == "response.function_call_arguments.delta":
            args[event.item_id] = args.get(event.item_id, "") + event.delta
        elif event.type == "response.function_call_arguments.done":
            done[event.item_id] = event.arguments
    assert args == done and [json.loads(a) for a in args.values()] == [LONG_ARGS, {}]


def test_responses_reasoning_item(replay, oai):
    output = final(thoughts=list(THOUGHTS))
    replay.answer_sse(render_sse(Api.RESPONSES, output, model="m", response_id="resp_1", stream_thoughts=True))
    with oai.responses.stream(model="m", input="weather?") as stream:
        deltas = "".join(e.delta for e in stream if e.type == "response.reasoning_summary_text.delta")
        streamed = stream.get_final_response()
    reasoning = streamed.output[0]
    assert reasoning.type == "reasoning" and [s.text for s in reasoning.summary] == THOUGHTS
    assert deltas == "".join(THOUGHTS) and streamed.output_text == FINAL_TEXT
