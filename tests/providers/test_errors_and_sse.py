"""Error bodies in both API shapes (checked by the official SDKs) and the SSE decoder."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from airlock.providers import SSEDecoder, SSEEvent, UpstreamError, anthropic_error_type, error_body, scrub, sse_error
from tests.fakes.llm_server import Reply

USER = [{"role": "user", "content": "hi"}]
SSE = {"content-type": "text/event-stream"}


def test_openai_shape():
    assert error_body("chat_completions", 400, "bad field", param="messages", code="missing") == {
        "error": {"message": "bad field", "type": "invalid_request_error", "param": "messages", "code": "missing"}}
    assert error_body("responses", 504, "slow")["error"]["type"] == "upstream_timeout"
    assert error_body(None, 500, "x")["error"]["type"] == "server_error"
    assert error_body("chat_completions", 502, "x", type_="custom")["error"]["type"] == "custom"


@pytest.mark.parametrize(
    ("status", "type_", "expected"),
    [
        (400, None, "invalid_request_error"), (401, None, "authentication_error"), (403, None, "permission_error"),
        (404, None, "not_found_error"), (413, None, "request_too_large"), (429, None, "rate_limit_error"),
        (500, None, "api_error"), (529, None, "overloaded_error"), (504, "upstream_timeout", "timeout_error"),
        (502, "upstream_error", "api_error"), (400, "conflict_error", "invalid_request_error"),
        (422, "weird_custom_type", "invalid_request_error"), (503, "overloaded_error", "overloaded_error"),
    ],
)
def test_anthropic_shape_uses_anthropic_types(status, type_, expected):
    body = error_body("messages", status, "msg", type_)
    assert body == {"type": "error", "error": {"type": expected, "message": "msg"}}
    assert anthropic_error_type(status, type_) == expected


def test_upstream_error_renders_itself():
    err = UpstreamError(429, "slow down", provider="openai", upstream_status=429)
    assert err.error_type == "rate_limit_error" and str(err) == "slow down"
    assert err.body("messages")["error"]["type"] == "rate_limit_error"
    assert err.body("chat_completions")["error"]["message"] == "slow down"
    assert err.sse("messages").startswith(b"event: error\n")


def test_error_bodies_raise_the_right_sdk_exceptions(fake_llm):
    fake_llm.push(Reply(status=429, body=error_body("chat_completions", 429, "too many")),
                  Reply(status=504, body=error_body("messages", 504, "slow", "upstream_timeout")))
    with pytest.raises(openai.RateLimitError) as oe:
        openai.OpenAI(base_url=fake_llm.url("/v1"), api_key="k", max_retries=0).chat.completions.create(model="m", messages=USER)
    assert oe.value.message.endswith("too many") and oe.value.type == "rate_limit_error"
    with pytest.raises(anthropic.APIStatusError) as ae:
        anthropic.Anthropic(base_url=fake_llm.url(""), api_key="k", max_retries=0).messages.create(
            model="m", max_tokens=5, messages=USER)
    assert ae.value.status_code == 504 and ae.value.body["error"]["type"] == "timeout_error"


def _chat_chunk(text: str) -> bytes:
    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m",
             "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def test_midstream_error_chat_raises_in_openai_sdk(fake_llm):
    fake_llm.push(Reply(body=_chat_chunk("partial") + sse_error("chat_completions", 502, "provider went away"), headers=SSE))
    got = []
    with pytest.raises(openai.APIError) as err:
        for chunk in openai.OpenAI(base_url=fake_llm.url("/v1"), api_key="k", max_retries=0).chat.completions.create(
                model="m", messages=USER, stream=True):
            got.append(chunk.choices[0].delta.content)
    assert got == ["partial"] and "provider went away" in str(err.value)


def test_midstream_error_responses_raises_in_openai_sdk(fake_llm):
    raw = sse_error("responses", 504, "stalled", "upstream_timeout")
    event = json.loads(raw.split(b"data: ", 1)[1])
    assert raw.startswith(b"event: error\n") and event["type"] == "error" and event["code"] == "upstream_timeout"
    assert event["message"] == "stalled" and "sequence_number" in event
    fake_llm.push(Reply(body=raw, headers=SSE))
    with pytest.raises(openai.APIError) as err:
        list(openai.OpenAI(base_url=fake_llm.url("/v1"), api_key="k", max_retries=0).responses.create(
            model="m", input="x", stream=True))
    assert "stalled" in str(err.value)


def test_midstream_error_messages_raises_in_anthropic_sdk(fake_llm):
    fake_llm.push(Reply(body=sse_error("messages", 529, "overloaded", "overloaded_error"), headers=SSE))
    with pytest.raises(anthropic.APIStatusError) as err:
        list(anthropic.Anthropic(base_url=fake_llm.url(""), api_key="k", max_retries=0).messages.create(
            model="m", max_tokens=5, messages=USER, stream=True))
    assert err.value.body["error"] == {"type": "overloaded_error", "message": "overloaded"}


def test_scrub():
    text = "key sk-proj-abcdef123456 and sk-ant-api03-XYZ_abc-9999 and Bearer tok.en-1234567 and mine-9876"
    out = scrub(text, ["mine-9876", None, ""])
    assert out == "key sk-pr*** and sk-an*** and Bearer *** and ***"
    assert scrub("Incorrect API key provided: sk-abc***wxyz.") == "Incorrect API key provided: sk-ab***."


# -- SSE decoder ------------------------------------------------------------------------------


def test_sse_any_chunking_and_line_endings():
    stream = b"event: a\r\ndata: 1\r\n\r\n: comment\n\ndata: x\ndata:y\nid: 7\n\nevent: b\rdata: {\"k\": 2}\r\r"
    expected = [("a", "1", None), (None, "x\ny", "7"), ("b", '{"k": 2}', "7")]
    for size in (1, 2, 3, 7, len(stream)):
        decoder = SSEDecoder()
        events = [e for i in range(0, len(stream), size) for e in decoder.feed(stream[i : i + size])]
        events += decoder.flush()
        assert [(e.event, e.data, e.id) for e in events] == expected, size
        assert events[0].raw == b"event: a\r\ndata: 1\r\n\r\n"
        assert events[2].json() == {"k": 2}


def test_sse_flush_dispatches_unterminated_event_with_canonical_bytes():
    decoder = SSEDecoder()
    assert decoder.feed(b"event: e\ndata: tail") == []
    (event,) = decoder.flush()
    assert (event.event, event.data) == ("e", "tail") and event.encode() == b"event: e\ndata: tail\n\n"


def test_sse_event_helpers():
    assert SSEEvent(None, "[DONE]").is_done
    assert SSEEvent(None, "a\nb").encode() == b"data: a\ndata: b\n\n"
    with pytest.raises(ValueError):
        SSEEvent(None, "not json").json()
