"""render_json: bodies the official SDK types (and sequrity's) accept, with the right values."""

from __future__ import annotations

import json

import anthropic.types
import openai.types.chat
import openai.types.responses
import pytest
from sequrity.types.chat_completion.response import ChatCompletionResponse
from sequrity.types.messages.response import AnthropicMessageResponse
from sequrity.types.responses.response import ResponsesResponse

from airlock.agent.wire import new_response_id, render_json
from airlock.providers.registry import ApiFormat as Api

from tests.agent.wire.samples import FINAL_TEXT, ID1, ID2, LONG_ARGS, OUTPUTS, final, text_and_tool_call, tool_calls


@pytest.mark.parametrize("name", OUTPUTS)
def test_all_bodies_validate_with_official_and_sequrity_types(name):
    output = OUTPUTS[name]()
    chat = render_json(Api.CHAT_COMPLETIONS, output, model="m")
    openai.types.chat.ChatCompletion.model_validate(chat)
    ChatCompletionResponse.model_validate(chat)
    msg = render_json(Api.MESSAGES, output, model="m")
    anthropic.types.Message.model_validate(msg)
    AnthropicMessageResponse.model_validate(msg)
    resp = render_json(Api.RESPONSES, output, model="m")
    openai.types.responses.Response.model_validate(resp)
    ResponsesResponse.model_validate(resp)
    json.dumps([chat, msg, resp])  # plain JSON data


def test_chat_final_and_tool_calls():
    done = openai.types.chat.ChatCompletion.model_validate(render_json(Api.CHAT_COMPLETIONS, final(), model="gpt", response_id="chatcmpl-x"))
    assert done.id == "chatcmpl-x" and done.object == "chat.completion" and done.model == "gpt"
    assert done.choices[0].message.content == FINAL_TEXT and done.choices[0].finish_reason == "stop"
    assert done.choices[0].message.tool_calls is None
    assert (done.usage.prompt_tokens, done.usage.completion_tokens, done.usage.total_tokens) == (120, 45, 165)

    calls = openai.types.chat.ChatCompletion.model_validate(render_json(Api.CHAT_COMPLETIONS, tool_calls(), model="gpt"))
    choice = calls.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    assert [(c.id, c.type, c.function.name, json.loads(c.function.arguments)) for c in choice.message.tool_calls] == [
        (ID1, "function", "get_weather", LONG_ARGS), (ID2, "function", "get_time", {})]
    assert calls.id.startswith("chatcmpl-")


def test_messages_final_and_tool_calls():
    done = anthropic.types.Message.model_validate(render_json(Api.MESSAGES, final(), model="claude"))
    assert done.id.startswith("msg_") and done.stop_reason == "end_turn"
    assert [(b.type, b.text) for b in done.content] == [("text", FINAL_TEXT)]
    assert (done.usage.input_tokens, done.usage.output_tokens) == (120, 45)

    calls = anthropic.types.Message.model_validate(render_json(Api.MESSAGES, text_and_tool_call(), model="claude"))
    assert calls.stop_reason == "tool_use"
    assert calls.content[0].type == "text" and calls.content[0].text == "Let me check."
    assert (calls.content[1].type, calls.content[1].id, calls.content[1].name, calls.content[1].input) == (
        "tool_use", ID1, "get_weather", {"city": "Paris"})


def test_responses_final_and_tool_calls():
    done = openai.types.responses.Response.model_validate(render_json(Api.RESPONSES, final(), model="gpt", response_id="resp_abc"))
    assert done.id == "resp_abc" and done.status == "completed" and done.output_text == FINAL_TEXT
    assert done.output[0].type == "message" and done.output[0].id == "msg_abc"
    assert (done.usage.input_tokens, done.usage.output_tokens, done.usage.total_tokens) == (120, 45, 165)

    calls = openai.types.responses.Response.model_validate(render_json(Api.RESPONSES, tool_calls(), model="gpt", response_id="resp_abc"))
    assert [(i.type, i.id, i.call_id, i.name, json.loads(i.arguments), i.status) for i in calls.output] == [
        ("function_call", "fc_abc_0", ID1, "get_weather", LONG_ARGS, "completed"),
        ("function_call", "fc_abc_1", ID2, "get_time", {}, "completed")]


def test_new_response_ids_are_unique_and_styled():
    assert new_response_id("messages").startswith("msg_") and new_response_id(Api.RESPONSES).startswith("resp_")
    assert new_response_id(Api.CHAT_COMPLETIONS) != new_response_id(Api.CHAT_COMPLETIONS)
