"""Single-LLM passthrough driven by the official SDKs through their base_url, JSON and streaming."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest
from sequrity import SequrityClient

from airlock.sessions.ids import session_of_tool_call
from tests.fakes.llm_server import Reply, ToolCall

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
ANTHROPIC_TOOL = {"name": "get_weather", "description": "Weather for a city",
                  "input_schema": WEATHER_TOOL["function"]["parameters"]}
RESPONSES_TOOL = {"type": "function", "name": "get_weather", "description": "Weather for a city",
                  "parameters": WEATHER_TOOL["function"]["parameters"]}


@pytest.fixture
def oai(airlock):
    client = openai.OpenAI(base_url=f"{airlock.url}/control/chat/openai/v1", api_key=airlock.keys["single"], max_retries=0)
    yield client
    client.close()


@pytest.fixture
def claude(airlock):
    # anthropic>=2 refuses api_key together with auth_token and drops x-api-key once Authorization is
    # set, so both headers are given explicitly.
    client = anthropic.Anthropic(base_url=f"{airlock.url}/control/chat/anthropic", api_key="sk-ant-user", max_retries=0,
                                 default_headers={"Authorization": f"Bearer {airlock.keys['single']}",
                                                  "X-Api-Key": "sk-ant-user"})
    yield client
    client.close()


def test_openai_chat_json(oai, fake_llm):
    fake_llm.push(Reply(text="The answer is 97.", input_tokens=11, output_tokens=5))
    raw = oai.chat.completions.with_raw_response.create(model="fake-model", messages=[{"role": "user", "content": "prime?"}])
    completion = raw.parse()
    assert completion.choices[0].message.content == "The answer is 97."
    assert completion.usage.prompt_tokens == 11 and completion.usage.completion_tokens == 5
    assert raw.headers["x-session-id"]
    sent = fake_llm.last_request
    assert sent.path.endswith("/v1/chat/completions")
    assert sent.headers["authorization"] == "Bearer sk-server-openai-secret"  # no BYOK: server key
    assert sent.json["messages"] == [{"role": "user", "content": "prime?"}]


def test_openai_chat_stream(oai, fake_llm):
    fake_llm.push(Reply(text="Hello there, streaming world", input_tokens=3, output_tokens=4))
    with oai.chat.completions.with_streaming_response.create(
        model="fake-model", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True},
    ) as response:
        assert response.headers["x-session-id"]
        chunks = list(response.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello there, streaming world"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].usage.total_tokens == 7


def test_tool_call_ids_are_rewritten_and_mapped_back(oai, fake_llm):
    fake_llm.push(Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"}, id="call_upstream_1")]))
    messages = [{"role": "user", "content": "weather in Paris?"}]
    raw = oai.chat.completions.with_raw_response.create(model="fake-model", messages=messages, tools=[WEATHER_TOOL])
    first = raw.parse()
    session = raw.headers["x-session-id"]
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.id.startswith("tc-") and session_of_tool_call(call.id) == session and len(call.id) == 76
    assert json.loads(call.function.arguments) == {"city": "Paris"}

    # The client posts the result with our id and no session header: the session is found from the id.
    fake_llm.push(Reply(text="Sunny in Paris."))
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "sunny"}]
    raw2 = oai.chat.completions.with_raw_response.create(model="fake-model", messages=messages, tools=[WEATHER_TOOL])
    assert raw2.parse().choices[0].message.content == "Sunny in Paris."
    assert raw2.headers["x-session-id"] == session
    forwarded = fake_llm.last_request.json["messages"]
    assert forwarded[1]["tool_calls"][0]["id"] == "call_upstream_1"
    assert forwarded[2]["tool_call_id"] == "call_upstream_1"


def test_streamed_tool_call_ids_are_rewritten(oai, fake_llm):
    fake_llm.push(Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"}, id="call_up_stream")]))
    stream = oai.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "Oslo?"}],
                                         tools=[WEATHER_TOOL], stream=True)
    ids = [tc.id for chunk in stream for tc in (chunk.choices[0].delta.tool_calls or []) if chunk.choices and tc.id]
    assert len(ids) == 1 and ids[0].startswith("tc-")
    # the streamed id maps back too
    fake_llm.push(Reply(text="Cold."))
    oai.chat.completions.create(model="fake-model", tools=[WEATHER_TOOL], messages=[
        {"role": "user", "content": "Oslo?"},
        {"role": "assistant", "tool_calls": [{"id": ids[0], "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": ids[0], "content": "-5C"},
    ])
    assert fake_llm.last_request.json["messages"][2]["tool_call_id"] == "call_up_stream"


def test_forged_tool_call_id_is_rejected(oai, fake_llm):
    first = oai.chat.completions.with_raw_response.create(model="fake-model", messages=[{"role": "user", "content": "x"}])
    session = first.headers["x-session-id"]
    forged = f"tc-{session}-00000000-0000-4000-8000-000000000000"
    with pytest.raises(openai.BadRequestError) as err:
        oai.chat.completions.create(model="fake-model", messages=[
            {"role": "user", "content": "x"},
            {"role": "assistant", "tool_calls": [{"id": forged, "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": forged, "content": "r"},
        ])
    assert "Unknown tool call id" in str(err.value)


def test_anthropic_messages_json_and_tool_use(claude, fake_llm):
    fake_llm.push(Reply(tool_calls=[ToolCall("get_weather", {"city": "Rome"}, id="toolu_up_1")], input_tokens=20, output_tokens=8))
    raw = claude.messages.with_raw_response.create(model="fake-model", max_tokens=100, tools=[ANTHROPIC_TOOL],
                                                   messages=[{"role": "user", "content": "Rome?"}])
    message = raw.parse()
    assert message.stop_reason == "tool_use"
    block = [b for b in message.content if b.type == "tool_use"][0]
    assert block.id.startswith("tc-") and block.input == {"city": "Rome"}
    assert message.usage.input_tokens == 20
    sent = fake_llm.last_request
    assert sent.headers["x-api-key"] == "sk-ant-user"  # the SDK's api_key is Airlock's BYOK header
    assert "authorization" not in sent.headers

    fake_llm.push(Reply(text="Warm in Rome."))
    reply = claude.messages.create(model="fake-model", max_tokens=100, tools=[ANTHROPIC_TOOL], messages=[
        {"role": "user", "content": "Rome?"},
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in message.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "25C"}]},
    ])
    assert reply.content[0].text == "Warm in Rome."
    forwarded = fake_llm.last_request.json["messages"]
    assert forwarded[1]["content"][-1]["id"] == "toolu_up_1"
    assert forwarded[2]["content"][0]["tool_use_id"] == "toolu_up_1"


def test_anthropic_messages_stream(claude, fake_llm):
    fake_llm.push(Reply(text="streamed claude text", tool_calls=[ToolCall("get_weather", {"city": "Nice"}, id="toolu_s")]))
    with claude.messages.stream(model="fake-model", max_tokens=100, tools=[ANTHROPIC_TOOL],
                                messages=[{"role": "user", "content": "Nice?"}]) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == "streamed claude text"
    assert final.content[1].id.startswith("tc-") and final.content[1].input == {"city": "Nice"}
    assert final.stop_reason == "tool_use"


def test_openai_responses_json_and_stream(airlock, fake_llm):
    client = openai.OpenAI(base_url=f"{airlock.url}/control/chat/openai/v1", api_key=airlock.keys["single"], max_retries=0)
    fake_llm.push(Reply(tool_calls=[ToolCall("get_weather", {"city": "Lima"}, id="call_resp_1")]))
    response = client.responses.create(model="fake-model", input="Lima?", tools=[RESPONSES_TOOL])
    calls = [item for item in response.output if item.type == "function_call"]
    assert calls[0].call_id.startswith("tc-")
    fake_llm.push(Reply(text="Mild."))
    client.responses.create(model="fake-model", tools=[RESPONSES_TOOL], input=[
        {"role": "user", "content": "Lima?"},
        {"type": "function_call", "call_id": calls[0].call_id, "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": calls[0].call_id, "output": "18C"},
    ])
    assert fake_llm.last_request.json["input"][2]["call_id"] == "call_resp_1"

    fake_llm.push(Reply(text="a streamed responses answer"))
    with client.responses.stream(model="fake-model", input="hi") as stream:
        final = stream.get_final_response()
    assert final.output_text == "a streamed responses answer"
    client.close()


@pytest.mark.parametrize("provider", ["openai", "openrouter", "sequrity_azure", None])
def test_sequrity_client_chat_per_provider(airlock, fake_llm, provider):
    client = SequrityClient(api_key=airlock.keys["single"], base_url=airlock.url, timeout=30)
    fake_llm.push(Reply(text="97 is the largest prime below 100."))
    response = client.control.chat.create(messages=[{"role": "user", "content": "largest prime below 100?"}],
                                          model="gpt-5-mini", llm_api_key="sk-user", provider=provider)
    assert "97" in response.choices[0].message.content
    assert response.session_id
    sent = fake_llm.last_request
    if provider == "sequrity_azure":
        assert sent.headers["api-key"] == "sk-user" and "api-version" in sent.query
        assert "/deployments/gpt-5-mini/" in sent.path
    else:
        assert sent.headers["authorization"] == "Bearer sk-user"


def test_sequrity_client_messages_and_responses_streaming(airlock, fake_llm):
    client = SequrityClient(api_key=airlock.keys["single"], base_url=airlock.url, timeout=30)
    fake_llm.push(Reply(text="hello from messages"))
    stream = client.control.messages.create(messages=[{"role": "user", "content": "hi"}], model="claude-sonnet-4-5",
                                            max_tokens=50, llm_api_key="sk-ant", provider="anthropic", stream=True)
    events = list(stream)
    assert events[0].type == "message_start" and events[-1].type == "message_stop"
    assert stream.session_id
    fake_llm.push(Reply(text="hello from responses"))
    stream = client.control.responses.create(input="hi", model="gpt-5-mini", llm_api_key="sk", provider="openai", stream=True)
    kinds = [e.type for e in stream]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"


def test_max_n_turns_bounds_a_session(oai, fake_llm):
    config = json.dumps({"fsm": {"max_n_turns": 2}})
    first = oai.chat.completions.with_raw_response.create(
        model="fake-model", messages=[{"role": "user", "content": "one"}], extra_headers={"X-Config": config})
    session = first.headers["x-session-id"]
    headers = {"X-Config": config, "X-Session-ID": session}
    second = oai.chat.completions.with_raw_response.create(
        model="fake-model", messages=[{"role": "user", "content": "two"}], extra_headers=headers)
    assert second.headers["x-session-id"] == session  # turn 2 of 2 in the same session
    third = oai.chat.completions.with_raw_response.create(
        model="fake-model", messages=[{"role": "user", "content": "three"}], extra_headers=headers)
    assert third.headers["x-session-id"] != session  # the ended session is succeeded by a new one
