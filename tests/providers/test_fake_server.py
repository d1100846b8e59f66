"""The fake LLM server, checked by the official SDKs: if they parse it, Airlock's tests are honest."""

from __future__ import annotations

import json
import time

import anthropic
import httpx
import openai
import pytest

from tests.fakes.llm_server import FakeLLM, Reply, ToolCall

USER = [{"role": "user", "content": "What is the weather in Paris?"}]
WEATHER = ToolCall("get_weather", {"city": "Paris", "units": "celsius", "days": [1, 2, 3]}, id="call_w1")


def oa(fake: FakeLLM) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.url("/v1"), api_key="sk-test", max_retries=0)


def an(fake: FakeLLM) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=fake.url(""), api_key="sk-ant-test", max_retries=0)


# -- Chat Completions -------------------------------------------------------------------------


def test_chat_json_default_echo_and_recording(fake_llm):
    out = oa(fake_llm).chat.completions.create(model="gpt-x", messages=USER)
    assert out.choices[0].message.content == "echo: What is the weather in Paris?"
    assert out.choices[0].finish_reason == "stop"
    assert out.model == "gpt-x" and out.usage.total_tokens == out.usage.prompt_tokens + out.usage.completion_tokens
    req = fake_llm.last_request
    assert (req.method, req.path, req.api) == ("POST", "/v1/chat/completions", "chat_completions")
    assert req.headers["authorization"] == "Bearer sk-test" and req.json["messages"] == USER


def test_chat_json_tool_calls(fake_llm):
    fake_llm.push(Reply(tool_calls=[WEATHER, ToolCall("noop")], input_tokens=7, output_tokens=3))
    out = oa(fake_llm).chat.completions.create(model="m", messages=USER)
    msg = out.choices[0].message
    assert out.choices[0].finish_reason == "tool_calls" and msg.content is None
    assert [c.id for c in msg.tool_calls][0] == "call_w1" and msg.tool_calls[1].id
    assert json.loads(msg.tool_calls[0].function.arguments) == WEATHER.arguments
    assert msg.tool_calls[1].function.name == "noop"
    assert (out.usage.prompt_tokens, out.usage.completion_tokens) == (7, 3)


def test_chat_stream_text_tools_and_usage(fake_llm):
    fake_llm.push(Reply(text="It is sunny today.", tool_calls=[WEATHER], input_tokens=11, output_tokens=5))
    chunks = list(oa(fake_llm).chat.completions.create(
        model="m", messages=USER, stream=True, stream_options={"include_usage": True}))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    args = "".join(tc.function.arguments or "" for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or [])
    assert text == "It is sunny today." and json.loads(args) == WEATHER.arguments
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1  # really incremental
    finals = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finals == ["tool_calls"]
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 16
    assert all(c.usage is None for c in chunks[:-1])


def test_chat_stream_without_usage_has_no_usage_chunk(fake_llm):
    chunks = list(oa(fake_llm).chat.completions.create(model="m", messages=USER, stream=True))
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: What is the weather in Paris?"


def test_chat_stream_helper_accumulates(fake_llm):
    fake_llm.push(Reply(text="Hello there", tool_calls=[WEATHER]))
    with oa(fake_llm).chat.completions.stream(model="m", messages=USER) as stream:
        final = stream.get_final_completion()
    msg = final.choices[0].message
    assert msg.content == "Hello there" and msg.tool_calls[0].function.name == "get_weather"
    assert json.loads(msg.tool_calls[0].function.arguments) == WEATHER.arguments


def test_azure_client_path_and_query(fake_llm):
    client = openai.AzureOpenAI(azure_endpoint=fake_llm.base_url, api_key="az-k", api_version="2024-10-21", max_retries=0)
    out = client.chat.completions.create(model="my-deploy", messages=USER)
    assert out.choices[0].message.content.startswith("echo:")
    req = fake_llm.last_request
    assert req.path == "/openai/deployments/my-deploy/chat/completions"
    assert req.query == {"api-version": "2024-10-21"} and req.headers["api-key"] == "az-k"


# -- Responses --------------------------------------------------------------------------------


def test_responses_json_text_and_function_call(fake_llm):
    fake_llm.push(Reply(text="Checking.", tool_calls=[WEATHER], input_tokens=4, output_tokens=6))
    out = oa(fake_llm).responses.create(model="m", input="weather?")
    assert out.output_text == "Checking." and out.status == "completed"
    call = [item for item in out.output if item.type == "function_call"][0]
    assert (call.name, call.call_id, json.loads(call.arguments)) == ("get_weather", "call_w1", WEATHER.arguments)
    assert (out.usage.input_tokens, out.usage.output_tokens, out.usage.total_tokens) == (4, 6, 10)
    assert fake_llm.last_request.path == "/v1/responses" and fake_llm.last_request.last_user_text == "weather?"


def test_responses_stream_events_and_helper(fake_llm):
    fake_llm.push(Reply(text="Sunny and warm", tool_calls=[WEATHER]))
    events = list(oa(fake_llm).responses.create(model="m", input=USER, stream=True))
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    for kind in ("response.output_item.added", "response.content_part.added", "response.output_text.done",
                 "response.function_call_arguments.delta", "response.function_call_arguments.done",
                 "response.output_item.done"):
        assert kind in kinds
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "Sunny and warm"

    fake_llm.push(Reply(text="Sunny and warm", tool_calls=[WEATHER]))
    with oa(fake_llm).responses.stream(model="m", input=USER) as stream:
        final = stream.get_final_response()
    assert final.output_text == "Sunny and warm"
    assert json.loads(final.output[1].arguments) == WEATHER.arguments


def test_responses_length_is_incomplete(fake_llm):
    fake_llm.push(Reply(text="cut", finish_reason="length"))
    out = oa(fake_llm).responses.create(model="m", input="x")
    assert out.status == "incomplete" and out.incomplete_details.reason == "max_output_tokens"


# -- Anthropic Messages -----------------------------------------------------------------------


def test_messages_json_text_and_tool_use(fake_llm):
    fake_llm.push(Reply(text="Let me check.", tool_calls=[WEATHER], input_tokens=9, output_tokens=4))
    out = an(fake_llm).messages.create(model="claude-x", max_tokens=100, messages=USER)
    assert [b.type for b in out.content] == ["text", "tool_use"]
    assert out.content[0].text == "Let me check." and out.content[1].input == WEATHER.arguments
    assert out.stop_reason == "tool_use" and (out.usage.input_tokens, out.usage.output_tokens) == (9, 4)
    req = fake_llm.last_request
    assert req.path == "/v1/messages" and "anthropic-version" in req.headers


def test_messages_stream_helper_and_raw_events(fake_llm):
    fake_llm.push(Reply(text="Rain is likely.", tool_calls=[WEATHER], output_tokens=12))
    with an(fake_llm).messages.stream(model="m", max_tokens=50, messages=USER) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(texts) == "Rain is likely." and len(texts) > 1
    assert final.content[1].type == "tool_use" and final.content[1].input == WEATHER.arguments
    assert final.stop_reason == "tool_use" and final.usage.output_tokens == 12

    raw = list(an(fake_llm).messages.create(model="m", max_tokens=5, messages=USER, stream=True))
    kinds = [e.type for e in raw]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    assert raw[-2].delta.stop_reason == "end_turn"
    assert {"content_block_start", "content_block_delta", "content_block_stop"} <= set(kinds)


def test_messages_sse_has_event_lines(fake_llm):
    with httpx.stream("POST", fake_llm.url("/v1/messages"), json={"messages": USER, "stream": True}) as r:
        body = r.read().decode()
    assert r.headers["content-type"].startswith("text/event-stream")
    blocks = [b for b in body.split("\n\n") if b]
    for block in blocks:
        event, data = block.split("\n")
        assert event.startswith("event: ") and event[7:] == json.loads(data[6:])["type"]


# -- errors, scripting, faults ----------------------------------------------------------------


def test_error_replies_match_each_sdk(fake_llm):
    fake_llm.push(Reply.fail(429, "slow down", headers={"retry-after": "7"}), Reply.fail(401, "bad key"))
    with pytest.raises(openai.RateLimitError) as oe:
        oa(fake_llm).chat.completions.create(model="m", messages=USER)
    assert oe.value.response.headers["retry-after"] == "7" and oe.value.body["message"] == "slow down"
    with pytest.raises(anthropic.AuthenticationError) as ae:
        an(fake_llm).messages.create(model="m", max_tokens=5, messages=USER)
    assert ae.value.body == {"type": "error", "error": {"type": "authentication_error", "message": "bad key"}}


def test_queue_first_then_handler_then_echo(fake_llm):
    fake_llm.push("queued")
    fake_llm.handler = lambda req: Reply(text=f"handled {req.last_user_text}") if "plan" in req.last_user_text else None
    client = oa(fake_llm)

    def ask(q: str) -> str:
        return client.chat.completions.create(model="m", messages=[{"role": "user", "content": q}]).choices[0].message.content

    assert [ask("plan a"), ask("plan b"), ask("other")] == ["queued", "handled plan b", "echo: other"]
    assert fake_llm.pending == 0 and len(fake_llm.requests) == 3


def test_async_handler(fake_llm):
    async def handler(req):
        return "from coroutine"

    fake_llm.handler = handler
    assert oa(fake_llm).chat.completions.create(model="m", messages=USER).choices[0].message.content == "from coroutine"


def test_drop_mid_stream_breaks_the_sdk(fake_llm):
    fake_llm.push(Reply(text="one two three four", drop_after=3))
    got = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in oa(fake_llm).chat.completions.create(model="m", messages=USER, stream=True):
            got.append(chunk.choices[0].delta.content)
    assert got == ["", "one ", "two "]


def test_delay_and_verbatim_body(fake_llm):
    fake_llm.push(Reply(delay=0.3), Reply(body="not json at all"))
    t0 = time.perf_counter()
    oa(fake_llm).chat.completions.create(model="m", messages=USER)
    assert time.perf_counter() - t0 >= 0.3
    r = httpx.post(fake_llm.url("/v1/chat/completions"), json={"messages": USER})
    assert r.status_code == 200 and r.text == "not json at all"


def test_unknown_route_is_404(fake_llm):
    assert httpx.post(fake_llm.url("/v1/embeddings"), json={}).status_code == 404


def test_start_is_fast_and_stop_is_clean():
    t0 = time.perf_counter()
    fake = FakeLLM().start()
    started = time.perf_counter() - t0
    assert httpx.post(fake.url("/v1/messages"), json={"messages": USER}).status_code == 200
    fake.stop()
    assert started < 1.0
    assert fake._thread is None
    with pytest.raises(httpx.ConnectError):
        httpx.post(fake.url("/v1/messages"), json={"messages": USER})
