"""Warm start: serve a few synthetic requests in-process before the server accepts real ones.

The first request after start used to take ~80 ms against ~0.8 ms for the next (measured with
``bench/warm_start.py``): lazy imports (the agents' wire modules, strptime, the SQRT grammar),
pydantic and regex compiles, the first SQLite statements, the upstream client's session. Rather
than keep a list of what to import — which goes stale the day a module is added — the warm-up
drives the real path: ``control.handle`` for every API, JSON and streamed, with and without a
SQRT policy, against a loopback upstream that lives only for the warm-up, with an in-memory
store and a throw-away key, so nothing reaches the operator's providers, and the operator's
database is left as it was: the real store gets a ping, a key lookup and a session lookup that
find nothing, and (SQLite) one row written and deleted again to open its WAL.

A warm-up failure is logged and start-up goes on: the warm-up only buys speed, never safety
(every request still runs every check); ``/control/health`` says ``ready`` once it is over.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import time
from datetime import datetime
from dataclasses import replace
from collections.abc import MutableMapping
from typing import Any

from starlette.requests import Request

from airlock.api.errors import ApiError
from airlock.api.routing import Route
from airlock.providers.registry import ApiFormat as Api
from airlock.keys import hash_key, mint_key
from airlock.sessions.records import KeyRecord, LogWrite, SessionRecord
from airlock.sessions.store import SessionConflict

log = logging.getLogger("airlock")

_POLICY = json.dumps({"codes": {"language": "sqrt", "code": 'tool "warm_up_tool" { hard deny when x.value == "y"; }'}})
_DUAL_HEADERS = {"x-features": json.dumps({"agent_arch": "dual-llm"}),
                 "x-config": json.dumps({"fsm": {"max_n_turns": 2, "disable_rllm": True, "max_tool_calls_per_step": 50}}),
                 "x-policy": json.dumps({"mode": "strict"})}
_CHAT = {"model": "warm-up", "messages": [{"role": "user", "content": "warm up"}]}
_PLAN_ASK = "warm up the planner"
_PLAN = '```python\nfinal_return_value = warm_up_tool(i=1, after="x")\n```'
_DUAL_SESSION = {"x-features": json.dumps({"agent_arch": "dual-llm"}),
                 "x-config": json.dumps({"fsm": {"max_n_turns": 1, "disable_rllm": True}})}
_WARM_TOOL = {"type": "function", "function": {"name": "warm_up_tool", "description": "Warm-up.", "parameters": {
    "type": "object", "properties": {"i": {"type": "integer"}, "after": {"type": "string"}}, "required": ["i", "after"]}}}
_MESSAGES = {"model": "warm-up", "max_tokens": 8, "messages": [{"role": "user", "content": "warm up"}]}
_RESPONSES = {"model": "warm-up", "input": "warm up"}
_REQUESTS: list[tuple[Api, dict[str, Any], dict[str, str]]] = [
    (Api.CHAT_COMPLETIONS, _CHAT, {}),
    (Api.CHAT_COMPLETIONS, {**_CHAT, "stream": True}, {}),
    (Api.CHAT_COMPLETIONS, _CHAT, {"x-policy": _POLICY}),
    (Api.CHAT_COMPLETIONS, {**_CHAT, "stream": True}, {"x-policy": _POLICY}),
    (Api.MESSAGES, _MESSAGES, {}),
    (Api.RESPONSES, _RESPONSES, {}),
]


async def warm_up(services: Any) -> float:
    """Run the warm-up; returns its duration in seconds."""
    t0 = time.perf_counter()
    try:
        _build_dual_llm(services)
        await _touch_store(services.store)
        await _serve_synthetic(services)
        # Start-up leaves ~10^6 long-lived objects (modules, grammars, validators); the first
        # full collection after start scanned them all inside some request (~10 ms measured).
        # Collect now and move the survivors out of the collector's sight for good.
        gc.collect()
        gc.freeze()
    except _WarmUpFailed as exc:
        log.warning("warm-up incomplete (%s); the first requests may be slower", exc)
    except Exception as exc:  # noqa: BLE001 - speed only; the server must still start
        log.warning("warm-up incomplete (%s); the first requests may be slower", type(exc).__name__)
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    return time.perf_counter() - t0


#: Young objects allocated before the collector runs (CPython's default: 700). A K=200 Chat
#: history parses into ~5,000 containers, so each resume ran ~7 young collections and, every
#: few requests, an older one over the parsed histories the memo keeps: collection was half of
#: what a request's cost grows by with K. At 100,000, interleaved runs of
#: ``bench/dual_llm_scale.py`` (3 rounds each): K=200/K=10 16-22x vs 21-23x, 50 concurrent
#: sessions p99 160-184 ms vs 178-223, server CPU 2.9-3.6 ms/request vs 3.5-4.0. Only cyclic
#: garbage waits longer (reference counting frees the rest at once); program workers keep the
#: default, so a program's cycles never count against its memory limit any later than before.
GC_YOUNG_THRESHOLD = 100_000


def _build_dual_llm(services: Any) -> None:
    """The dual-LLM agent, its prompt templates and the SQRT parser (with every lexer state),
    which the synthetic single-LLM requests do not reach: the first dual-LLM session took
    104 ms against 5 ms later (``bench/dual_llm_scale.py``)."""
    from airlock.agent.authority import default_policy_specs
    from airlock.policy import build_policy, warm_up as build_sqrt_parser

    with contextlib.suppress(ApiError):  # a build without the dual-LLM agent serves single-LLM only
        services.dual_llm_agent()
        from airlock.agent.dual_llm.prompts import template

        template("pllm")  # the prompt templates are read from disk once
    build_sqrt_parser()
    for spec in default_policy_specs():  # the stacks a dual-LLM session's resolve compiles
        build_policy(spec)


async def _touch_store(store: Any) -> None:
    await store.ping()
    await store.key_by_hash(hash_key("airlock-warm-up"))
    await store.get_session("00000000-0000-4000-8000-000000000000")
    warm = getattr(store, "warm", None)  # a backend's own start-up work (SQLite: its WAL)
    if warm is not None:
        await warm()


async def _serve_synthetic(services: Any) -> None:
    from airlock.agent.single_llm import SingleLLM
    from airlock.api import control
    from airlock.api.auth import Authenticator
    from airlock.api.resolution import Resolutions
    from airlock.providers import UpstreamClient

    loop = asyncio.get_running_loop()
    server = await loop.create_server(_FakeProvider, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
    settings = services.settings.model_copy(update={
        "openai_base_url": base, "openrouter_base_url": base, "anthropic_base_url": base,
        "openai_compatible_base_url": base, "upstream_max_retries": 0, "allowed_models": "*"})
    store = _MemoryStore()
    secret, key = mint_key("warm-up", {"arch": "single-llm"})
    await store.add_key(key)
    upstream = UpstreamClient(settings)
    warm = replace(services, settings=settings, store=store, upstream=upstream, auth=Authenticator(store),
                   single_llm=SingleLLM(upstream, store), resolutions=Resolutions(settings))
    app = _App(warm)
    try:
        for api, body, headers in _REQUESTS:
            route = Route("chat", None, api)
            await _one(app, control, route, body, {"authorization": f"Bearer {secret}", "x-api-key": "warm-up", **headers})
        # The dual-LLM agent's modules (built lazily on a server's first dual-LLM request).
        dual = warm.resolutions.get(Route("chat", None, Api.CHAT_COMPLETIONS), replace(key, base_config={"arch": "dual-llm"}),
                                        {}, "warm-up", "warm-up-key")
        services.agent_for(dual.config)
        # A header shape is resolved once per process; the first with all three headers went
        # through code no request had run yet (1.3 ms against 0.3 ms for the next new shape).
        warm.resolutions.get(Route("chat", None, Api.CHAT_COMPLETIONS), key, _DUAL_HEADERS, "warm-up", "warm-up-key")
        await _dual_session(replace(warm, dual_llm=None), control, secret)
        await services.upstream.warm(f"{base}/chat/completions")
    finally:
        await upstream.aclose()
        server.close()


async def _dual_session(warm: Any, control: Any, secret: str) -> None:
    """A dual-LLM session of one tool call, on the server's own program workers: plan, run to
    the call, resume with its result, answer. Without it the first dual-LLM request after start
    ran the host's half of all that for the first time (planner prompt, run request, outcome,
    tool-call rendering, event log): 5.8 ms against 2.5 ms for the next (``bench/dual_llm_scale.py``)."""
    app, route = _App(warm), Route("chat", None, Api.CHAT_COMPLETIONS)
    auth = {"authorization": f"Bearer {secret}", "x-api-key": "warm-up", **_DUAL_SESSION}
    messages: list[dict[str, Any]] = [{"role": "user", "content": _PLAN_ASK}]
    body: dict[str, Any] = {"model": "warm-up", "messages": messages, "tools": [_WARM_TOOL]}
    sent = await _one(app, control, route, body, auth)
    session_id = _header(sent, b"x-session-id")
    calls = json.loads(_body(sent))["choices"][0]["message"].get("tool_calls") or []
    if not calls or session_id is None:
        raise _WarmUpFailed("the dual-LLM warm-up session did not reach its tool call")
    messages.append({"role": "assistant", "content": None, "tool_calls": calls})
    messages.append({"role": "tool", "tool_call_id": calls[0]["id"], "content": "done"})
    final = json.loads(_body(await _one(app, control, route, body, {**auth, "x-session-id": session_id})))
    if "success" not in (final["choices"][0]["message"].get("content") or ""):
        raise _WarmUpFailed("the dual-LLM warm-up session did not finish")


def _header(sent: list[MutableMapping[str, Any]], name: bytes) -> str | None:
    for message in sent:
        for key, value in message.get("headers") or ():
            if key.lower() == name:
                return bytes(value).decode()
    return None


def _body(sent: list[MutableMapping[str, Any]]) -> bytes:
    return b"".join(bytes(m.get("body") or b"") for m in sent if m.get("type") == "http.response.body")


async def _one(app: "_App", control: Any, route: Route, body: dict[str, Any],
               headers: dict[str, str]) -> list[MutableMapping[str, Any]]:
    raw = json.dumps(body).encode()
    sent: list[MutableMapping[str, Any]] = []
    pending = [{"type": "http.request", "body": raw, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    hdrs = [(k.encode(), v.encode()) for k, v in {"content-type": "application/json",
                                                  "content-length": str(len(raw)), **headers}.items()]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": route.path, "raw_path": route.path.encode(), "query_string": b"", "root_path": "",
             "headers": hdrs, "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 0), "app": app, "state": {}}
    request = Request(scope, receive, send)
    request.state.api = route.api
    try:
        response = await control.handle(request, route)
    except ApiError as exc:  # our own synthetic request: its message names no secret
        raise _WarmUpFailed(f"{route.path} answered {exc.status}: {exc.message}") from None
    await response(scope, receive, send)
    return sent


class _WarmUpFailed(Exception):
    pass


class _App:
    """What ``control.handle`` reads of the app: ``app.state.services``."""

    def __init__(self, services: Any) -> None:
        self.state = type("State", (), {"services": services})()


class _MemoryStore:
    """The warm-up's store: the ``Store`` protocol over two dicts."""

    def __init__(self) -> None:
        self.keys: dict[str, KeyRecord] = {}
        self.sessions: dict[str, SessionRecord] = {}
        self.log: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None: ...

    async def add_key(self, record: KeyRecord) -> None:
        self.keys[record.key_hash] = record

    async def key_by_hash(self, key_hash: str) -> KeyRecord | None:
        return self.keys.get(key_hash)

    async def list_keys(self) -> list[KeyRecord]:
        return list(self.keys.values())

    async def revoke_key(self, id_or_name: str) -> KeyRecord | None:
        return None

    async def get_session(self, session_id: str) -> SessionRecord | None:
        return self.sessions.get(session_id)

    async def save_session(self, record: SessionRecord, log: LogWrite | None = None) -> SessionRecord:
        held = self.sessions.get(record.id)
        if (held.version if held else 0) != record.version:
            raise SessionConflict(record.id)
        saved = replace(record, version=record.version + 1)
        self.sessions[record.id] = saved
        if log is not None:
            if log.prune:
                self.log = {k: v for k, v in self.log.items() if k[0] != record.id or k[1] == log.stream}
            if log.stream is not None:
                self.log.setdefault((record.id, log.stream), {}).update(log.entries)
        return saved

    async def read_log(self, session_id: str, stream: str, count: int) -> list[dict[str, Any]]:
        held = self.log.get((session_id, stream), {})
        return [held[i] for i in range(count) if i in held]

    async def delete_session(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)
        self.log = {k: v for k, v in self.log.items() if k[0] != session_id}

    async def delete_idle_sessions(self, updated_before: datetime, limit: int) -> int:
        idle = [s.id for s in self.sessions.values() if s.updated_at is not None and s.updated_at < updated_before]
        for session_id in idle[:limit]:
            await self.delete_session(session_id)
        return len(idle[:limit])


def _answer(path: bytes, body: bytes) -> bytes:
    stream = b'"stream":true' in body.replace(b" ", b"")
    if path.endswith(b"/messages"):
        data: Any = {"id": "msg_warm", "type": "message", "role": "assistant", "model": "warm-up", "stop_reason": "end_turn",
                     "content": [{"type": "text", "text": "ok"}], "usage": {"input_tokens": 1, "output_tokens": 1}}
    elif path.endswith(b"/responses"):
        data = {"id": "resp_warm", "object": "response", "status": "completed", "model": "warm-up",
                "output": [{"type": "message", "id": "msg_warm", "role": "assistant", "status": "completed",
                            "content": [{"type": "output_text", "text": "ok", "annotations": []}]}],
                "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}}
    elif stream:
        chunk = {"id": "chatcmpl-warm", "object": "chat.completion.chunk", "created": 0, "model": "warm-up",
                 "choices": [{"index": 0, "delta": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}
        text = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
        return _http(text, b"text/event-stream")
    else:
        text = _PLAN if _PLAN_ASK.encode() in body else "ok"  # the dual-LLM session's planner gets a program
        data = {"id": "chatcmpl-warm", "object": "chat.completion", "created": 0, "model": "warm-up",
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
    return _http(json.dumps(data).encode(), b"application/json")


def _http(body: bytes, content_type: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\ncontent-type: " + content_type + b"\r\ncontent-length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)


class _FakeProvider(asyncio.Protocol):
    """A provider on loopback that answers every request with a fixed success, keep-alive."""

    def __init__(self) -> None:
        self.buf = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while b"\r\n\r\n" in self.buf:
            head, _, rest = self.buf.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if len(rest) < length:
                return
            path = head.split(b" ", 2)[1].split(b"?", 1)[0]
            self.buf = rest[length:]
            self.transport.write(_answer(path, rest[:length]))
