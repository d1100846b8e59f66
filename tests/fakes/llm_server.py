"""A scripted fake LLM server: real HTTP on loopback, speaking the three provider APIs.

Airlock's tests and benchmarks need an upstream that behaves like OpenAI, OpenRouter, Azure
OpenAI and Anthropic *on the wire* (status codes, JSON bodies, SSE framing, dropped
connections, slow answers) without the network or a key. Talking real HTTP, rather than
mocking httpx, keeps the connection pool, timeouts and SSE parsing of the code under test
honest. The renderers are deliberately independent of ``airlock.providers`` so that a bug
there cannot hide itself by being shared with the fake.

Routing is by path *suffix*, so any prefix works: ``/v1/chat/completions``,
``/openai/deployments/<name>/chat/completions`` (Azure), ``/api/v1/chat/completions``
(OpenRouter), ``/v1/messages``, ``/v1/responses``, ``/openai/responses``...

Script the answers with ``fake.push(Reply(...), ...)`` (a FIFO queue, consumed first) and/or
``fake.handler = lambda req: Reply(...)`` (sees the parsed :class:`FakeRequest`; may return
``None`` to fall back). Without either, the fake answers ``"echo: <last user message>"``.
Every request is recorded in ``fake.requests``.

    with FakeLLM() as fake:
        fake.push(Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"})]))
        OpenAI(base_url=fake.url("/v1"), api_key="k").chat.completions.create(...)
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import logging
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterator

import pytest
import uvicorn

__all__ = ["FakeLLM", "FakeRequest", "Reply", "ToolCall", "fake_llm", "fake_llm_server"]


@dataclass
class ToolCall:
    """One tool call the fake model emits; ``id`` is generated when omitted."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass
class Reply:
    """One scripted answer in API-neutral terms; rendered in the format of the called endpoint.

    ``status >= 400`` makes an error reply: ``body`` if given, else ``error`` as the message in
    the called API's error shape. ``body`` (dict → JSON, str/bytes verbatim) also overrides a
    successful answer, e.g. to send invalid JSON or (with a ``content-type`` in ``headers``) a
    hand-written SSE stream. ``delay`` waits before the response headers;
    ``chunk_delay`` waits between stream events; ``drop_after`` closes the connection abruptly
    after that many SSE events (non-streaming: after half of the body).
    """

    text: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None  # "stop" | "tool_calls" | "length"; derived when None
    chunks: list[str] | None = None  # explicit text deltas for streaming
    status: int = 200
    error: str | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunk_delay: float = 0.0
    drop_after: int | None = None
    model: str | None = None

    def __post_init__(self) -> None:
        self.tool_calls = [
            tc if isinstance(tc, ToolCall) else ToolCall(**tc) if isinstance(tc, dict) else ToolCall(*tc)
            for tc in self.tool_calls
        ]

    @classmethod
    def fail(cls, status: int, error: str = "fake upstream error", **kw: Any) -> "Reply":
        """An error reply (``body=...`` sends a verbatim body instead of the shaped one)."""
        return cls(status=status, error=error, **kw)


@dataclass
class FakeRequest:
    """A request as the fake saw it; header names are lower-case."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    raw: bytes

    @property
    def api(self) -> str | None:
        """``chat_completions`` | ``messages`` | ``responses`` | None, from the path suffix."""
        return _api_of(self.path)

    @property
    def stream(self) -> bool:
        return isinstance(self.json, dict) and bool(self.json.get("stream"))

    @property
    def model(self) -> str | None:
        return self.json.get("model") if isinstance(self.json, dict) else None

    @property
    def last_user_text(self) -> str:
        """Text of the last user turn, whatever the API's message shape."""
        body = self.json if isinstance(self.json, dict) else {}
        items = body.get("messages") if "messages" in body else body.get("input")
        if isinstance(items, str):
            return items
        for item in reversed(items or []):
            if isinstance(item, dict) and item.get("role") == "user":
                return _text_of(item.get("content"))
        return ""


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = [p.get("text", "") for p in content or [] if isinstance(p, dict) and "text" in p]
    return "".join(p for p in parts if isinstance(p, str))


def _api_of(path: str) -> str | None:
    path = path.rstrip("/")
    if path.endswith("/chat/completions"):
        return "chat_completions"
    if path.endswith("/messages"):
        return "messages"
    if path.endswith("/responses"):
        return "responses"
    return None


Handler = Callable[[FakeRequest], "Reply | str | None | Awaitable[Reply | str | None]"]


class _Drop(Exception):
    """Raised inside the ASGI app to make uvicorn cut the connection mid-response."""


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _Drop))


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


# --------------------------------------------------------------------------------------------
# Rendering: one neutral Reply → each API's JSON body or SSE event stream.
# --------------------------------------------------------------------------------------------


def _sse(data: Any, event: str | None = None) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def _pieces(s: str, size: int = 16) -> list[str]:
    return [s[i : i + size] for i in range(0, len(s), size)] or [""]


class _Render:
    """Per-request rendering state: ids, token counts and the finish reason."""

    def __init__(self, reply: Reply, req: FakeRequest, n: int, default_model: str, ping: bool = True) -> None:
        self.r, self.req, self.n, self.ping = reply, req, n, ping
        self.model = reply.model or req.model or default_model
        self.text = reply.text
        self.calls = [(tc, tc.id or f"call_fake{n}x{i}", json.dumps(tc.arguments)) for i, tc in enumerate(reply.tool_calls)]
        self.finish = reply.finish_reason or ("tool_calls" if self.calls else "stop")
        self.inp = reply.input_tokens if reply.input_tokens is not None else max(1, len(req.raw) // 4)
        out = reply.output_tokens
        if out is None:
            out = len((self.text or "").split()) + sum(len(a) // 4 + 1 for _, _, a in self.calls) or 1
        self.out = out
        self.created = int(time.time())

    def deltas(self) -> list[str]:
        if self.r.chunks is not None:
            return list(self.r.chunks)
        return re.findall(r"\S+\s*|\s+", self.text or "")

    # -- chat completions ---------------------------------------------------------------------
    def chat_json(self) -> dict:
        msg: dict[str, Any] = {"role": "assistant", "content": self.text, "refusal": None}
        if self.calls:
            msg["tool_calls"] = [
                {"id": cid, "type": "function", "function": {"name": tc.name, "arguments": args}}
                for tc, cid, args in self.calls
            ]
        return {
            "id": f"chatcmpl-fake{self.n}", "object": "chat.completion", "created": self.created,
            "model": self.model, "system_fingerprint": None,
            "choices": [{"index": 0, "message": msg, "logprobs": None, "finish_reason": self.finish}],
            "usage": self._chat_usage(),
        }

    def _chat_usage(self) -> dict:
        return {"prompt_tokens": self.inp, "completion_tokens": self.out, "total_tokens": self.inp + self.out}

    def chat_stream(self) -> Iterator[bytes]:
        opts = (self.req.json or {}).get("stream_options") or {}
        with_usage = bool(opts.get("include_usage"))
        base = {"id": f"chatcmpl-fake{self.n}", "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "system_fingerprint": None}

        def chunk(delta: dict, finish: str | None = None) -> bytes:
            c = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            if with_usage:
                c["usage"] = None
            return _sse(c)

        yield chunk({"role": "assistant", "content": "", "refusal": None})
        for d in self.deltas():
            yield chunk({"content": d})
        for i, (tc, cid, args) in enumerate(self.calls):
            head = {"index": i, "id": cid, "type": "function", "function": {"name": tc.name, "arguments": ""}}
            yield chunk({"tool_calls": [head]})
            for piece in _pieces(args):
                yield chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
        yield chunk({}, self.finish)
        if with_usage:
            yield _sse({**base, "choices": [], "usage": self._chat_usage()})
        yield _sse("[DONE]")

    # -- anthropic messages -------------------------------------------------------------------
    @property
    def _stop_reason(self) -> str:
        return {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}.get(self.finish, self.finish)

    def _tool_id(self, tc: ToolCall, cid: str) -> str:
        return tc.id or cid.replace("call_", "toolu_", 1)

    def messages_json(self) -> dict:
        content: list[dict] = [{"type": "text", "text": self.text}] if self.text else []
        content += [{"type": "tool_use", "id": self._tool_id(tc, cid), "name": tc.name, "input": tc.arguments}
                    for tc, cid, _ in self.calls]
        return {
            "id": f"msg_fake{self.n}", "type": "message", "role": "assistant", "model": self.model,
            "content": content, "stop_reason": self._stop_reason, "stop_sequence": None,
            "usage": {"input_tokens": self.inp, "output_tokens": self.out,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
        }

    def messages_stream(self) -> Iterator[bytes]:
        start = {**self.messages_json(), "content": [], "stop_reason": None}
        start["usage"] = {**start["usage"], "output_tokens": 1}
        yield _sse({"type": "message_start", "message": start}, "message_start")
        idx = 0
        if self.text:
            yield _sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}, "content_block_start")
            if self.ping:  # Anthropic really sends these; clients that choke on them must be shielded
                yield _sse({"type": "ping"}, "ping")
            for d in self.deltas():
                yield _sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": d}}, "content_block_delta")
            yield _sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
            idx = 1
        for i, (tc, cid, args) in enumerate(self.calls, start=idx):
            block = {"type": "tool_use", "id": self._tool_id(tc, cid), "name": tc.name, "input": {}}
            yield _sse({"type": "content_block_start", "index": i, "content_block": block}, "content_block_start")
            for piece in [""] + _pieces(args):
                delta = {"type": "input_json_delta", "partial_json": piece}
                yield _sse({"type": "content_block_delta", "index": i, "delta": delta}, "content_block_delta")
            yield _sse({"type": "content_block_stop", "index": i}, "content_block_stop")
        delta = {"stop_reason": self._stop_reason, "stop_sequence": None}
        yield _sse({"type": "message_delta", "delta": delta, "usage": {"output_tokens": self.out}}, "message_delta")
        yield _sse({"type": "message_stop"}, "message_stop")

    # -- openai responses ---------------------------------------------------------------------
    def _resp_items(self) -> list[dict]:
        items: list[dict] = []
        if self.text is not None:
            part = {"type": "output_text", "text": self.text, "annotations": [], "logprobs": []}
            items.append({"id": f"msg_fake{self.n}", "type": "message", "status": "completed",
                          "role": "assistant", "content": [part]})
        for i, (tc, cid, args) in enumerate(self.calls):
            items.append({"id": f"fc_fake{self.n}x{i}", "type": "function_call", "status": "completed",
                          "call_id": cid, "name": tc.name, "arguments": args})
        return items

    def responses_json(self, final: bool = True) -> dict:
        body = self.req.json if isinstance(self.req.json, dict) else {}
        incomplete = self.finish == "length"
        return {
            "id": f"resp_fake{self.n}", "object": "response", "created_at": self.created,
            "status": ("incomplete" if incomplete else "completed") if final else "in_progress",
            "background": False, "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if incomplete and final else None,
            "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
            "model": self.model, "output": self._resp_items() if final else [],
            "parallel_tool_calls": True, "previous_response_id": body.get("previous_response_id"),
            "reasoning": {"effort": None, "summary": None}, "store": True,
            "temperature": body.get("temperature", 1.0), "text": {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools", []),
            "top_p": body.get("top_p", 1.0), "truncation": "disabled", "user": None, "metadata": {},
            "usage": {
                "input_tokens": self.inp, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": self.out, "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": self.inp + self.out,
            } if final else None,
        }

    def responses_stream(self) -> Iterator[bytes]:
        seq = itertools.count()

        def ev(kind: str, **data: Any) -> bytes:
            return _sse({"type": kind, "sequence_number": next(seq), **data}, kind)

        yield ev("response.created", response=self.responses_json(final=False))
        yield ev("response.in_progress", response=self.responses_json(final=False))
        for out_i, item in enumerate(self._resp_items()):
            iid = item["id"]
            if item["type"] == "message":
                yield ev("response.output_item.added", output_index=out_i,
                         item={**item, "status": "in_progress", "content": []})
                empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                loc = {"item_id": iid, "output_index": out_i, "content_index": 0}
                yield ev("response.content_part.added", **loc, part=empty)
                for d in self.deltas():
                    yield ev("response.output_text.delta", **loc, delta=d, logprobs=[])
                yield ev("response.output_text.done", **loc, text=self.text, logprobs=[])
                yield ev("response.content_part.done", **loc, part=item["content"][0])
            else:
                yield ev("response.output_item.added", output_index=out_i,
                         item={**item, "status": "in_progress", "arguments": ""})
                for piece in _pieces(item["arguments"]):
                    yield ev("response.function_call_arguments.delta", item_id=iid, output_index=out_i, delta=piece)
                yield ev("response.function_call_arguments.done", item_id=iid, output_index=out_i,
                         name=item["name"], arguments=item["arguments"])
            yield ev("response.output_item.done", output_index=out_i, item=item)
        final = self.responses_json()
        yield ev("response.incomplete" if final["status"] == "incomplete" else "response.completed", response=final)


def _error_body(api: str | None, status: int, message: str) -> dict:
    if api == "messages":
        kind = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                529: "overloaded_error"}.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}
    kind = {400: "invalid_request_error", 401: "invalid_request_error", 404: "invalid_request_error",
            429: "rate_limit_error"}.get(status, "server_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


# --------------------------------------------------------------------------------------------
# The server.
# --------------------------------------------------------------------------------------------


class FakeLLM:
    """The fake upstream. Use as a context manager, or ``start()``/``stop()``.

    ``record=False`` stops recording requests (for long benchmarks); ``port=0`` lets the OS choose.
    ``anthropic_ping`` (default True, as the real API) emits an ``event: ping`` in Messages streams.
    """

    anthropic_ping: bool = True

    def __init__(self, *, record: bool = True, model: str = "fake-model", port: int = 0) -> None:
        self.record = record
        self.port = port
        self.default_model = model
        self.requests: list[FakeRequest] = []
        self.handler: Handler | None = None
        self._queue: deque[Reply] = deque()
        self._ids = itertools.count(1)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # -- scripting ----------------------------------------------------------------------------
    def push(self, *replies: Reply | str) -> None:
        """Queue replies (a str is ``Reply(text=...)``); each request consumes one, in order."""
        self._queue.extend(Reply(text=r) if isinstance(r, str) else r for r in replies)

    def reset(self) -> None:
        """Forget the queue, the handler and the recorded requests."""
        self._queue.clear()
        self.handler = None
        self.requests.clear()

    @property
    def pending(self) -> int:
        return len(self._queue)

    @property
    def last_request(self) -> FakeRequest:
        return self.requests[-1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, prefix: str = "") -> str:
        return self.base_url + prefix

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> "FakeLLM":
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self._app, interface="asgi3", log_config=None, access_log=False, lifespan="off",
                                timeout_graceful_shutdown=0.25, timeout_keep_alive=60)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"fake-llm-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 5
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake LLM server did not start")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            assert self._thread is not None
            self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> "FakeLLM":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- ASGI ---------------------------------------------------------------------------------
    async def _next_reply(self, req: FakeRequest) -> Reply:
        reply: Any = None
        if self._queue:
            try:
                reply = self._queue.popleft()
            except IndexError:
                reply = None
        if reply is None and self.handler is not None:
            reply = self.handler(req)
            if inspect.isawaitable(reply):
                reply = await reply
        if reply is None:
            reply = f"echo: {req.last_user_text}"
        return Reply(text=reply) if isinstance(reply, str) else reply

    async def _app(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            msg = await receive()
            chunks.append(msg.get("body", b""))
            if not msg.get("more_body"):
                break
        raw = b"".join(chunks)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        query = {}
        if scope.get("query_string"):
            from urllib.parse import parse_qsl

            query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        req = FakeRequest(
            method=scope["method"], path=scope["path"], query=query,
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            json=body, raw=raw,
        )
        if self.record:
            self.requests.append(req)
        api = req.api
        if scope["method"] == "GET" and req.path.rstrip("/").endswith("/models"):
            data = [{"id": self.default_model, "object": "model", "created": 0, "owned_by": "fake"}]
            return await self._send(send, 200, {"object": "list", "data": data})
        if api is None or scope["method"] != "POST":
            return await self._send(send, 404, _error_body(api, 404, f"no such route: {req.path}"))

        reply = await self._next_reply(req)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        extra = [(k.lower().encode(), str(v).encode()) for k, v in reply.headers.items()]
        if reply.status >= 400 or reply.body is not None:
            payload = reply.body if reply.body is not None else _error_body(api, reply.status, reply.error or "fake upstream error")
            return await self._send(send, reply.status, payload, extra, drop=reply.drop_after is not None)

        r = _Render(reply, req, next(self._ids), self.default_model, self.anthropic_ping)
        if not req.stream:
            payload = {"chat_completions": r.chat_json, "messages": r.messages_json, "responses": r.responses_json}[api]()
            return await self._send(send, 200, payload, extra, drop=reply.drop_after is not None)

        events = {"chat_completions": r.chat_stream, "messages": r.messages_stream, "responses": r.responses_stream}[api]()
        headers = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache"), *extra]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for i, event in enumerate(events):
            if reply.drop_after is not None and i >= reply.drop_after:
                raise _Drop()
            if reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    @staticmethod
    async def _send(send: Callable, status: int, payload: Any, extra: list | None = None, drop: bool = False) -> None:
        if isinstance(payload, (dict, list)):
            data, ctype = json.dumps(payload).encode(), b"application/json"
        else:
            data = payload.encode() if isinstance(payload, str) else bytes(payload)
            ctype = b"text/plain; charset=utf-8"
        extra = extra or []
        if any(k == b"content-type" for k, _ in extra):  # a scripted raw body may bring its own
            headers = [(b"content-length", str(len(data)).encode()), *extra]
        else:
            headers = [(b"content-type", ctype), (b"content-length", str(len(data)).encode()), *extra]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if drop:
            await send({"type": "http.response.body", "body": data[: len(data) // 2], "more_body": True})
            raise _Drop()
        await send({"type": "http.response.body", "body": data})


# --------------------------------------------------------------------------------------------
# pytest fixtures: import them into a conftest (``from tests.fakes.llm_server import fake_llm,
# fake_llm_server``). One server per session; ``fake_llm`` hands it out reset for each test.
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


@pytest.fixture
def fake_llm(fake_llm_server: FakeLLM) -> Iterator[FakeLLM]:
    fake_llm_server.reset()
    yield fake_llm_server
    fake_llm_server.reset()
