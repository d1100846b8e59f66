"""parse_conversation: each API's request shapes, tool histories included, and precise errors."""

from __future__ import annotations

import pytest

from airlock.agent.conversation import Message, ToolDef
from airlock.agent.wire import WireError, parse_conversation
from airlock.providers.registry import ApiFormat as Api

WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
ID1 = "tc-11111111-1111-4111-8111-111111111111-22222222-2222-4222-8222-222222222222"
ID2 = "tc-11111111-1111-4111-8111-111111111111-33333333-3333-4333-8333-333333333333"


def _roles(conv):
    return [(m.role, m.content) for m in conv.messages]


# -- Chat Completions --------------------------------------------------------------------------


def test_chat_full_tool_history():
    body = {
        "model": "gpt-5-mini",
        "stream": True,
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "developer", "content": [{"type": "text", "text": "dev "}, {"type": "text", "text": "rules"}]},
            {"role": "user", "content": [{"type": "text", "text": "weather?"}]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": ID1, "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
                {"id": ID2, "type": "function", "function": {"name": "get_time", "arguments": ""}},
            ]},
            {"role": "tool", "tool_call_id": ID1, "content": "sunny"},
            {"role": "tool", "tool_call_id": ID2, "content": [{"type": "text", "text": "noon"}]},
        ],
        "tools": [
            {"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": WEATHER_SCHEMA}},
            {"type": "function", "function": {"name": "get_time"}},
        ],
    }
    conv = parse_conversation(Api.CHAT_COMPLETIONS, body)
    assert conv.model == "gpt-5-mini" and conv.stream is True
    assert _roles(conv) == [("system", "be brief"), ("system", "dev rules"), ("user", "weather?"),
                            ("assistant", ""), ("tool", "sunny"), ("tool", "noon")]
    assert conv.messages[0].name is None and conv.messages[1].name == "developer"
    assert conv.messages[3].tool_calls == [
        {"id": ID1, "name": "get_weather", "arguments": {"city": "Paris"}},
        {"id": ID2, "name": "get_time", "arguments": {}},
    ]
    assert [(m.tool_call_id, m.name) for m in conv.trailing_tool_results()] == [(ID1, "get_weather"), (ID2, "get_time")]
    assert not conv.starts_turn
    assert conv.tools == [ToolDef("get_weather", "Weather", WEATHER_SCHEMA),
                          ToolDef("get_time", "", {"type": "object", "properties": {}})]


def test_chat_simple_user_turn():
    conv = parse_conversation("chat_completions", {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert conv.messages == [Message(role="user", content="hi")] and conv.tools == [] and conv.starts_turn
    assert conv.stream is False


@pytest.mark.parametrize("messages, param", [
    ([], "messages"),
    ("hi", "messages"),
    (["hi"], "messages.0"),
    ([{"role": "robot", "content": "x"}], "messages.0.role"),
    ([{"role": "function", "name": "f", "content": "x"}], "messages.0.role"),
    ([{"role": "user", "content": [{"text": "no type"}]}], "messages.0.content.0.type"),
    ([{"role": "user", "content": [{"type": "text", "text": 3}]}], "messages.0.content.0.text"),
    ([{"role": "user", "content": 7}], "messages.0.content"),
    ([{"role": "tool", "content": "x"}], "messages.0.tool_call_id"),
    ([{"role": "assistant", "tool_calls": {"id": "x"}}], "messages.0.tool_calls"),
    ([{"role": "assistant", "tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": "{bad"}}]}],
     "messages.0.tool_calls.0.function.arguments"),
    ([{"role": "assistant", "tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}],
     "messages.0.tool_calls.0.function.arguments"),
    ([{"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{}"}}]}],
     "messages.0.tool_calls.0.id"),
    ([{"role": "assistant", "tool_calls": [{"id": "a", "type": "custom", "custom": {}}]}], "messages.0.tool_calls.0.type"),
])
def test_chat_errors(messages, param):
    with pytest.raises(WireError) as exc:
        parse_conversation(Api.CHAT_COMPLETIONS, {"model": "m", "messages": messages})
    assert exc.value.param == param
    assert exc.value.message.startswith(param + ": ")


@pytest.mark.parametrize("body, param", [
    ({"messages": [{"role": "user", "content": "x"}]}, "model"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": {"a": 1}}, "tools"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "web_search"}]}, "tools.0.type"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {}}]},
     "tools.0.function.name"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}],
      "tools": [{"type": "function", "function": {"name": "f", "parameters": "nope"}}]}, "tools.0.function.parameters"),
])
def test_chat_body_errors(body, param):
    with pytest.raises(WireError) as exc:
        parse_conversation(Api.CHAT_COMPLETIONS, body)
    assert exc.value.param == param


def test_not_an_object():
    with pytest.raises(WireError) as exc:
        parse_conversation(Api.MESSAGES, ["x"])  # type: ignore[arg-type]
    assert exc.value.param == "body"


# -- Anthropic Messages ------------------------------------------------------------------------


def test_messages_full_tool_history():
    body = {
        "model": "claude", "max_tokens": 100,
        "system": [{"type": "text", "text": "be "}, {"type": "text", "text": "brief"}],
        "messages": [
            {"role": "user", "content": "weather in Paris and London?"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": ID1, "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": ID2, "name": "get_weather", "input": {"city": "London"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": ID1, "content": "sunny"},
                {"type": "tool_result", "tool_use_id": ID2, "content": [{"type": "text", "text": "rain"}], "is_error": True},
            ]},
        ],
        "tools": [{"name": "get_weather", "description": "Weather", "input_schema": WEATHER_SCHEMA}],
    }
    conv = parse_conversation(Api.MESSAGES, body)
    assert _roles(conv) == [("system", "be brief"), ("user", "weather in Paris and London?"), ("assistant", "Checking."),
                            ("tool", "sunny"), ("tool", "rain")]
    assert [m.is_error for m in conv.messages[3:]] == [False, True]
    assert conv.messages[2].tool_calls == [
        {"id": ID1, "name": "get_weather", "arguments": {"city": "Paris"}},
        {"id": ID2, "name": "get_weather", "arguments": {"city": "London"}},
    ]
    assert [(m.tool_call_id, m.name) for m in conv.trailing_tool_results()] == [(ID1, "get_weather"), (ID2, "get_weather")]
    assert conv.tools == [ToolDef("get_weather", "Weather", WEATHER_SCHEMA)]
    assert not conv.starts_turn


def test_messages_text_after_tool_result_is_a_user_message():
    body = {"model": "c", "max_tokens": 5, "system": "sys", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "go"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": ID1, "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": ID1},
                                     {"type": "text", "text": "also this"}]},
    ]}
    conv = parse_conversation(Api.MESSAGES, body)
    assert _roles(conv) == [("system", "sys"), ("user", "go"), ("assistant", ""), ("tool", ""), ("user", "also this")]


@pytest.mark.parametrize("api, body, param", [
    (Api.MESSAGES, {"model": "c", "max_tokens": 5, "messages": [
        {"role": "user", "content": [{"type": "image", "source": {"type": "url", "url": "http://x"}}]}]},
     "messages.0.content.0.type"),
    (Api.MESSAGES, {"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "a", "content": [{"type": "image", "source": {}}]}]}]},
     "messages.0.content.0.content.0.type"),
    (Api.CHAT_COMPLETIONS, {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": "data:x"}}]}]},
     "messages.0.content.1.type"),
    (Api.CHAT_COMPLETIONS, {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}]}]}, "messages.0.content.0.type"),
    (Api.RESPONSES, {"model": "m", "input": [{"role": "user", "content": [
        {"type": "input_text", "text": "x"}, {"type": "input_image", "image_url": "x"}]}]}, "input.0.content.1.type"),
    (Api.RESPONSES, {"model": "m", "input": [{"type": "function_call_output", "call_id": "c",
                                              "output": [{"type": "input_file", "file_id": "f"}]}]}, "input.0.output.0.type"),
])
def test_media_nobody_could_read_is_a_400_naming_the_part(api, body, param):
    """Dual-LLM mode reads text only: an image, file or audio part is rejected, never dropped."""
    with pytest.raises(WireError) as exc:
        parse_conversation(api, body)
    assert exc.value.param == param and "cannot apply in dual-LLM mode" in str(exc.value)


@pytest.mark.parametrize("messages, param", [
    ([{"role": "system", "content": "x"}], "messages.0.role"),
    ([{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}], "messages.0.content.0.tool_use_id"),
    ([{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "a", "is_error": "yes"}]}],
     "messages.0.content.0.is_error"),
    ([{"role": "user", "content": [{"type": "tool_use", "id": "a", "name": "f", "input": {}}]}], "messages.0.content.0.type"),
    ([{"role": "user", "content": [{"type": "text"}]}], "messages.0.content.0.text"),
    ([{"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "f", "input": [1]}]}],
     "messages.0.content.0.input"),
    ([{"role": "assistant", "content": [{"type": "tool_use", "name": "f", "input": {}}]}], "messages.0.content.0.id"),
    ([{"role": "assistant", "content": [{"type": "server_tool_use", "id": "s", "name": "web_search"}]}],
     "messages.0.content.0.type"),
])
def test_messages_errors(messages, param):
    with pytest.raises(WireError) as exc:
        parse_conversation(Api.MESSAGES, {"model": "c", "max_tokens": 5, "messages": messages})
    assert exc.value.param == param


def test_messages_server_tool_rejected():
    body = {"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "web_search_20250305", "name": "web_search"}]}
    with pytest.raises(WireError) as exc:
        parse_conversation(Api.MESSAGES, body)
    assert exc.value.param == "tools.0.type"


# -- OpenAI Responses --------------------------------------------------------------------------


def test_responses_string_input_and_instructions():
    conv = parse_conversation(Api.RESPONSES, {"model": "m", "instructions": "be brief", "input": "hello"})
    assert _roles(conv) == [("system", "be brief"), ("user", "hello")] and conv.starts_turn


def test_responses_full_tool_history():
    body = {
        "model": "m",
        "input": [
            {"role": "developer", "content": "dev rules"},
            {"role": "user", "content": [{"type": "input_text", "text": "weather?"}]},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
             "content": [{"type": "output_text", "text": "Checking.", "annotations": []}]},
            {"type": "function_call", "id": "fc_1", "call_id": ID1, "name": "get_weather", "arguments": '{"city":"Paris"}'},
            {"type": "function_call", "id": "fc_2", "call_id": ID2, "name": "get_time", "arguments": "{}"},
            {"type": "function_call_output", "call_id": ID1, "output": "sunny"},
            {"type": "function_call_output", "call_id": ID2, "output": [{"type": "input_text", "text": "noon"}]},
        ],
        "tools": [{"type": "function", "name": "get_weather", "description": "Weather", "parameters": WEATHER_SCHEMA,
                   "strict": False}],
    }
    conv = parse_conversation(Api.RESPONSES, body)
    assert _roles(conv) == [("system", "dev rules"), ("user", "weather?"), ("assistant", "Checking."),
                            ("tool", "sunny"), ("tool", "noon")]
    assert conv.messages[0].name == "developer"
    assert conv.messages[2].tool_calls == [
        {"id": ID1, "name": "get_weather", "arguments": {"city": "Paris"}},
        {"id": ID2, "name": "get_time", "arguments": {}},
    ]
    assert [(m.tool_call_id, m.name) for m in conv.trailing_tool_results()] == [(ID1, "get_weather"), (ID2, "get_time")]
    assert conv.tools == [ToolDef("get_weather", "Weather", WEATHER_SCHEMA)]


def test_responses_function_call_without_assistant_text():
    body = {"model": "m", "input": [
        {"role": "user", "content": "go"},
        {"type": "function_call", "call_id": ID1, "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": ID1, "output": "done"},
        {"role": "user", "content": "thanks"},
    ]}
    conv = parse_conversation(Api.RESPONSES, body)
    assert _roles(conv) == [("user", "go"), ("assistant", ""), ("tool", "done"), ("user", "thanks")]
    assert conv.starts_turn


@pytest.mark.parametrize("body, param", [
    ({"model": "m", "input": []}, "input"),
    ({"model": "m", "input": 5}, "input"),
    ({"model": "m", "input": "x", "instructions": 5}, "instructions"),
    ({"model": "m", "input": [{"role": "tool", "content": "x"}]}, "input.0.role"),
    ({"model": "m", "input": [{"type": "item_reference", "id": "msg_1"}]}, "input.0.type"),
    ({"model": "m", "input": [{"type": "computer_call_output", "call_id": "c"}]}, "input.0.type"),
    ({"model": "m", "input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "nope"}]},
     "input.0.arguments"),
    ({"model": "m", "input": [{"type": "function_call_output", "output": "x"}]}, "input.0.call_id"),
    ({"model": "m", "input": "x", "tools": [{"type": "web_search"}]}, "tools.0.type"),
    ({"model": "m", "input": "x", "tools": [{"type": "function", "name": "f", "description": 3}]}, "tools.0.description"),
])
def test_responses_errors(body, param):
    with pytest.raises(WireError) as exc:
        parse_conversation(Api.RESPONSES, body)
    assert exc.value.param == param


# -- naming tool results after a known prefix ----------------------------------------------------

from hypothesis import given, strategies as st  # noqa: E402

from airlock.agent.wire.fields import name_tool_results  # noqa: E402

_IDS = st.sampled_from(["a", "b", "c", "d"])
_MESSAGE = st.one_of(
    st.builds(lambda calls: Message(role="assistant", tool_calls=[{"id": i, "name": n, "arguments": {}} for i, n in calls]),
              st.lists(st.tuples(_IDS, st.sampled_from(["f", "g", "h"])), max_size=3)),
    st.builds(lambda i: Message(role="tool", content="r", tool_call_id=i), st.one_of(_IDS, st.none())),
    st.builds(lambda n: Message(role="tool", content="r", tool_call_id="a", name=n), st.sampled_from(["x", None])),
    st.just(Message(role="user", content="q")),
)


def _copy(messages):
    return [Message(m.role, m.content, [dict(c) for c in m.tool_calls], m.tool_call_id, m.name) for m in messages]


@given(st.lists(_MESSAGE, max_size=14), st.data())
def test_naming_after_a_named_prefix_equals_naming_everything(messages, data):
    """A resume names only the messages after the shared prefix: every result must still get the
    name a full forward pass gives (the latest call with its id before it, the new calls first)."""
    start = data.draw(st.integers(0, len(messages)))
    full = _copy(messages)
    name_tool_results(full)
    prefix = _copy(messages[:start])
    name_tool_results(prefix)  # what the earlier request did to the shared messages
    resumed = prefix + _copy(messages[start:])
    name_tool_results(resumed, start)
    assert [m.name for m in resumed] == [m.name for m in full]
