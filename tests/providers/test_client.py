"""UpstreamClient against the fake upstream: URLs, auth styles, retries, timeouts, streaming."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import aiohttp
import pytest

from airlock.providers import ApiFormat, SSEDecoder, UpstreamClient, UpstreamError
from tests.fakes.llm_server import Reply, ToolCall
from tests.providers.conftest import KEYS, make_settings

CHAT = {"model": "gpt-x", "messages": [{"role": "user", "content": "hello"}]}
MSGS = {"model": "claude-x", "max_tokens": 64, "messages": [{"role": "user", "content": "hello"}]}
RESP = {"model": "gpt-x", "input": "hello"}


# -- routing and auth -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "api", "body", "path", "header", "value"),
    [
        ("openai", "chat_completions", CHAT, "/v1/chat/completions", "authorization", "Bearer " + KEYS["OPENAI_API_KEY"]),
        ("openai", "responses", RESP, "/v1/responses", "authorization", "Bearer " + KEYS["OPENAI_API_KEY"]),
        ("openrouter", "chat_completions", CHAT, "/api/v1/chat/completions", "authorization", "Bearer " + KEYS["OPENROUTER_API_KEY"]),
        ("anthropic", "messages", MSGS, "/v1/messages", "x-api-key", KEYS["ANTHROPIC_API_KEY"]),
        ("sequrity_azure", "chat_completions", CHAT, "/openai/deployments/gpt-x/chat/completions", "api-key", KEYS["AZURE_OPENAI_API_KEY"]),
        ("sequrity_azure", "responses", RESP, "/openai/responses", "api-key", KEYS["AZURE_OPENAI_API_KEY"]),
    ],
)
async def test_server_key_url_and_auth_style(client, fake_llm, provider, api, body, path, header, value):
    result = await client.request(provider, api, body, api_key=None)
    assert result.status == 200 and result.provider == provider and result.attempts == 1
    req = fake_llm.last_request
    assert req.path == path and req.headers[header] == value and req.json == body
    auth_headers = {"authorization", "x-api-key", "api-key"} & set(req.headers)
    assert auth_headers == {header}  # exactly one credential style
    if provider == "anthropic":
        assert req.headers["anthropic-version"] == "2023-06-01"
        assert result.json["content"][0]["text"] == "echo: hello"
    if provider == "sequrity_azure":
        assert req.query == {"api-version": "2024-10-21"}
    else:
        assert req.query == {}


async def test_byok_key_wins_over_server_key(client, fake_llm):
    await client.request("openai", ApiFormat.CHAT_COMPLETIONS, CHAT, api_key="sk-user-byok-999")
    await client.request("anthropic", "messages", MSGS, api_key="sk-ant-user-1")
    assert fake_llm.requests[0].headers["authorization"] == "Bearer sk-user-byok-999"
    assert fake_llm.requests[1].headers["x-api-key"] == "sk-ant-user-1"


async def test_no_key_anywhere_is_401_naming_the_variable(fake_llm):
    settings = make_settings(fake_llm, OPENAI_API_KEY=None)
    async with UpstreamClient(settings) as client:
        with pytest.raises(UpstreamError) as err:
            await client.request("openai", "chat_completions", CHAT, api_key=None)
    assert err.value.status == 401 and err.value.error_type == "authentication_error"
    assert "OPENAI_API_KEY" in err.value.message and "X-Api-Key" in err.value.message
    assert fake_llm.requests == []


async def test_openai_compatible_runs_keyless_or_with_a_key(client, fake_llm):
    await client.request("openai_compatible", "chat_completions", CHAT, api_key=None)
    await client.request("openai_compatible", "chat_completions", CHAT, api_key="local-key")
    assert fake_llm.requests[0].path == "/compat/v1/chat/completions"
    assert "authorization" not in fake_llm.requests[0].headers
    assert fake_llm.requests[1].headers["authorization"] == "Bearer local-key"


async def test_azure_deployment_setting_and_v1_layout(fake_llm):
    settings = make_settings(fake_llm, sequrity_azure_deployment="prod-4o", sequrity_azure_api_version="2025-04-01-preview")
    async with UpstreamClient(settings) as client:
        await client.request("sequrity_azure", "chat_completions", CHAT, api_key=None)
    assert fake_llm.last_request.path == "/openai/deployments/prod-4o/chat/completions"
    assert fake_llm.last_request.query == {"api-version": "2025-04-01-preview"}
    async with UpstreamClient(make_settings(fake_llm, sequrity_azure_base_url=fake_llm.url("/openai/v1"))) as client:
        await client.request("sequrity_azure", "chat_completions", CHAT, api_key="az-user")
    assert fake_llm.last_request.path == "/openai/v1/chat/completions" and fake_llm.last_request.query == {}
    assert fake_llm.last_request.headers["api-key"] == "az-user"


@pytest.mark.parametrize(
    ("provider", "api", "status", "words"),
    [
        ("anthropic", "chat_completions", 404, "providers that do: openai, openrouter, sequrity_azure, openai_compatible"),
        ("openrouter", "messages", 404, "providers that do: anthropic"),
        ("nope", "chat_completions", 404, "Unknown provider 'nope'"),
    ],
)
async def test_unservable_provider_api(client, fake_llm, provider, api, status, words):
    with pytest.raises(UpstreamError) as err:
        await client.request(provider, api, CHAT, api_key="k")
    assert err.value.status == status and words in err.value.message and fake_llm.requests == []


async def test_unconfigured_provider_is_400(fake_llm):
    async with UpstreamClient(make_settings(fake_llm, sequrity_azure_base_url=None)) as client:
        with pytest.raises(UpstreamError) as err:
            await client.request("sequrity_azure", "chat_completions", CHAT, api_key="k")
    assert err.value.status == 400 and "AIRLOCK_SEQURITY_AZURE_BASE_URL" in err.value.message


async def test_extra_headers_pass_but_cannot_replace_credentials(client, fake_llm):
    await client.request("anthropic", "messages", MSGS, api_key=None,
                         extra_headers={"anthropic-beta": "tools-1", "anthropic-version": "2099-01-01", "X-Api-Key": "evil"})
    h = fake_llm.last_request.headers
    assert h["anthropic-beta"] == "tools-1" and h["x-api-key"] == KEYS["ANTHROPIC_API_KEY"]
    assert h["anthropic-version"] == "2023-06-01"  # our auth block sets it last


async def test_request_strips_stream_flags(client, fake_llm):
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    result = await client.request("openai", "chat_completions", body, api_key=None)
    assert result.json["object"] == "chat.completion"
    assert "stream" not in fake_llm.last_request.json and "stream_options" not in fake_llm.last_request.json
    assert body["stream"] is True  # the caller's dict is untouched


# -- retries and failures ---------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503, 429, 529])
async def test_retry_then_success(client, fake_llm, status):
    fake_llm.push(Reply.fail(status), "recovered")
    result = await client.request("openai", "chat_completions", CHAT, api_key=None)
    assert result.json["choices"][0]["message"]["content"] == "recovered"
    assert result.attempts == 2 and len(fake_llm.requests) == 2


async def test_retries_exhausted_on_5xx_is_502(client, fake_llm):
    fake_llm.push(*[Reply.fail(500, "boom")] * 3)
    with pytest.raises(UpstreamError) as err:
        await client.request("openrouter", "chat_completions", CHAT, api_key=None)
    e = err.value
    assert (e.status, e.upstream_status, e.error_type, e.provider) == (502, 500, "upstream_error", "openrouter")
    assert "boom" in e.message and len(fake_llm.requests) == 3


async def test_retries_exhausted_on_429_passes_429_through(client, fake_llm):
    fake_llm.push(*[Reply.fail(429, "rate limited", headers={"retry-after": "0"})] * 3)
    with pytest.raises(UpstreamError) as err:
        await client.request("anthropic", "messages", MSGS, api_key=None)
    assert (err.value.status, err.value.error_type) == (429, "rate_limit_error")
    assert err.value.headers == {"retry-after": "0"} and len(fake_llm.requests) == 3


async def test_long_retry_after_is_not_waited_out(client, fake_llm):
    fake_llm.push(Reply.fail(429, headers={"retry-after": "3600"}), "never")
    t0 = time.perf_counter()
    with pytest.raises(UpstreamError) as err:
        await client.request("openai", "chat_completions", CHAT, api_key=None)
    assert err.value.status == 429 and time.perf_counter() - t0 < 1 and len(fake_llm.requests) == 1


async def test_short_retry_after_ms_is_respected(client, fake_llm):
    fake_llm.push(Reply.fail(503, headers={"retry-after-ms": "300"}), "ok")
    t0 = time.perf_counter()
    await client.request("openai", "chat_completions", CHAT, api_key=None)
    assert time.perf_counter() - t0 >= 0.3 and len(fake_llm.requests) == 2


async def test_x_should_retry_false_is_obeyed(client, fake_llm):
    fake_llm.push(Reply.fail(500, headers={"x-should-retry": "false"}), "never")
    with pytest.raises(UpstreamError):
        await client.request("openai", "chat_completions", CHAT, api_key=None)
    assert len(fake_llm.requests) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
async def test_4xx_passthrough_without_retry(client, fake_llm, status):
    fake_llm.push(Reply.fail(status, "upstream says no"))
    with pytest.raises(UpstreamError) as err:
        await client.request("openai", "chat_completions", CHAT, api_key=None)
    assert err.value.status == err.value.upstream_status == status
    assert "upstream says no" in err.value.message and len(fake_llm.requests) == 1
    expected = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "request_too_large", 422: "invalid_request_error"}[status]
    assert err.value.error_type == expected


async def test_keys_are_scrubbed_from_messages(client, fake_llm):
    fake_llm.push(Reply.fail(401, "Incorrect API key provided: sk-user-SECRET-123456. Also Bearer abcdefghijkl."),
                  Reply.fail(401, f"bad azure key {KEYS['AZURE_OPENAI_API_KEY']}"))
    with pytest.raises(UpstreamError) as err:
        await client.request("openai", "chat_completions", CHAT, api_key="sk-user-SECRET-123456")
    assert "SECRET" not in err.value.message and "abcdefghijkl" not in err.value.message
    assert "SECRET" not in repr(err.value)
    with pytest.raises(UpstreamError) as err:
        await client.request("sequrity_azure", "chat_completions", CHAT, api_key=None)
    assert KEYS["AZURE_OPENAI_API_KEY"] not in err.value.message and "bad azure key ***" in err.value.message


async def test_invalid_json_is_502(client, fake_llm):
    fake_llm.push(Reply(body="<html>gateway</html>"))
    with pytest.raises(UpstreamError) as err:
        await client.request("openai", "chat_completions", CHAT, api_key=None)
    assert err.value.status == 502 and err.value.error_type == "upstream_error"


async def test_read_timeout_is_504_and_not_retried(fake_llm):
    fake_llm.push(Reply(delay=1.0), "late")
    async with UpstreamClient(make_settings(fake_llm, upstream_timeout_s=0.2)) as client:
        t0 = time.perf_counter()
        with pytest.raises(UpstreamError) as err:
            await client.request("openai", "chat_completions", CHAT, api_key=None)
    assert (err.value.status, err.value.error_type) == (504, "upstream_timeout")
    assert time.perf_counter() - t0 < 0.9 and len(fake_llm.requests) == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_connection_refused_exhausted_is_502(fake_llm):
    settings = make_settings(fake_llm, openai_base_url=f"http://127.0.0.1:{_closed_port()}/v1")
    async with UpstreamClient(settings) as client:
        with pytest.raises(UpstreamError) as err:
            await client.request("openai", "chat_completions", CHAT, api_key=None)
    assert (err.value.status, err.value.error_type, err.value.upstream_status) == (502, "upstream_error", None)


class FlakyConnect(aiohttp.TCPConnector):
    """Refuses the first ``fails`` new connections, then behaves normally."""

    def __init__(self, fails: int) -> None:
        super().__init__(force_close=True)  # every request opens a connection: each retry is counted
        self.fails = fails
        self.calls = 0

    async def _create_connection(self, req, traces, timeout):
        self.calls += 1
        if self.calls <= self.fails:
            raise aiohttp.ClientConnectorError(req.connection_key, ConnectionRefusedError(111, "connection refused"))
        return await super()._create_connection(req, traces, timeout)


async def test_connect_refused_then_success(fake_llm):
    transport = FlakyConnect(fails=2)
    async with UpstreamClient(make_settings(fake_llm), connector=transport) as client:
        result = await client.request("openai", "chat_completions", CHAT, api_key=None)
        assert result.attempts == 3 and transport.calls == 3 and len(fake_llm.requests) == 1
        transport.fails = transport.calls + 2  # the stream's first two connects fail too
        events = [e async for e in client.stream("openai", "chat_completions", CHAT, api_key=None)]
    assert events[-1].is_done and transport.calls == 6 and len(fake_llm.requests) == 2


# -- streaming --------------------------------------------------------------------------------


async def test_stream_chat_events_and_raw_bytes(client, fake_llm):
    fake_llm.push(Reply(text="Hi there friend", tool_calls=[ToolCall("lookup", {"q": "x" * 40})]))
    body = {**CHAT, "stream_options": {"include_usage": True}}
    events = [e async for e in client.stream("openai", "chat_completions", body, api_key=None)]
    assert fake_llm.last_request.json["stream"] is True and fake_llm.last_request.headers["accept"] == "text/event-stream"
    assert events[-1].is_done and events[-1].event is None
    chunks = [e.json() for e in events[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == "Hi there friend"
    assert chunks[-1]["usage"]["total_tokens"] > 0
    replay = SSEDecoder().feed(b"".join(e.raw for e in events))  # raw bytes re-parse identically
    assert [(e.event, e.data) for e in replay] == [(e.event, e.data) for e in events]


async def test_stream_messages_keeps_event_names(client, fake_llm):
    fake_llm.push(Reply(text="Hello", tool_calls=[ToolCall("t", {"a": 1})]))
    events = [e async for e in client.stream("anthropic", "messages", MSGS, api_key=None)]
    names = [e.event for e in events]
    assert names[0] == "message_start" and names[-1] == "message_stop"
    assert all(e.event == e.json()["type"] for e in events)
    assert events[0].raw.startswith(b"event: message_start\ndata: {") and events[0].raw.endswith(b"\n\n")


async def test_stream_responses(client, fake_llm):
    events = [e async for e in client.stream("openai", "responses", RESP, api_key=None)]
    assert events[0].event == "response.created" and events[-1].event == "response.completed"
    assert events[-1].json()["response"]["output"][0]["content"][0]["text"] == "echo: hello"


async def test_stream_retries_before_first_event(client, fake_llm):
    fake_llm.push(Reply.fail(502), Reply.fail(429, headers={"retry-after": "0"}), "third time")
    events = [e async for e in client.stream("openai", "chat_completions", CHAT, api_key=None)]
    assert len(fake_llm.requests) == 3 and events[-1].is_done


async def test_stream_error_surfaces_on_first_anext(client, fake_llm):
    fake_llm.push(Reply.fail(401, "invalid x-api-key"))
    agen = client.stream("anthropic", "messages", MSGS, api_key="sk-ant-bad-key-0000")
    with pytest.raises(UpstreamError) as err:
        await agen.__anext__()
    assert err.value.status == 401 and "invalid x-api-key" in err.value.message and len(fake_llm.requests) == 1


async def test_stream_no_retry_after_first_event(client, fake_llm):
    fake_llm.push(Reply(text="a b c d e f", drop_after=3), "should not be fetched")
    got = []
    with pytest.raises(UpstreamError) as err:
        async for event in client.stream("openai", "chat_completions", CHAT, api_key=None):
            got.append(event)
    assert len(got) == 3 and err.value.status == 502 and "mid-stream" in err.value.message
    assert len(fake_llm.requests) == 1 and fake_llm.pending == 1


async def test_stream_stall_is_504(fake_llm):
    fake_llm.push(Reply(text="slow words here", chunk_delay=0.5))
    async with UpstreamClient(make_settings(fake_llm, upstream_timeout_s=0.2)) as client:
        with pytest.raises(UpstreamError) as err:
            async for _ in client.stream("openai", "chat_completions", CHAT, api_key=None):
                pass
    assert (err.value.status, err.value.error_type) == (504, "upstream_timeout")


async def test_stream_answered_with_json_is_502(client, fake_llm):
    fake_llm.push(Reply(body={"error": {"message": "streaming unsupported"}}))
    with pytest.raises(UpstreamError) as err:
        await client.stream("openai_compatible", "chat_completions", CHAT, api_key=None).__anext__()
    assert err.value.status == 502 and "streaming unsupported" in err.value.message


async def test_many_concurrent_streams_share_the_pool(client, fake_llm):
    async def one(i: int) -> str:
        body = {**CHAT, "messages": [{"role": "user", "content": f"n{i}"}]}
        events = [e async for e in client.stream("openai", "chat_completions", body, api_key=None)]
        return "".join((e.json()["choices"][0]["delta"].get("content") or "") for e in events[:-1])

    texts = await asyncio.gather(*(one(i) for i in range(30)))
    assert texts == [f"echo: n{i}" for i in range(30)]
    assert len(fake_llm.requests) == 30 and json.dumps(fake_llm.requests[0].json)
