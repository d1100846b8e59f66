"""Single-LLM mode: a guarded proxy to the provider, in the API format the client called.

Per request: put the provider's own tool-call ids back into the history, count the turn,
forward, then give every tool call in the answer a ``tc-<session>-<call>`` id and persist the
id map *before* the client can see the new id (so a crash never leaves a client holding an id
we cannot map back). The session is written with compare-and-set; a concurrent writer loses
with 409 rather than silently overwriting.
"""

from __future__ import annotations

import json
from typing import Any, AsyncIterator

from airlock.agent.call import Call, JsonReply, StreamReply
from airlock.agent.content_guards import ContentGuards
from airlock.agent.guard import PolicyConfigError, after_results, enforce, session_policy
from airlock.agent.tool_ids import ResponseIdRewriter, UnknownToolCallId, restore_upstream_ids
from airlock.api.errors import ApiError, stream_error_event
from airlock.meta import SessionMeta
from airlock.providers.registry import ApiFormat as Api
from airlock.providers import UpstreamClient, UpstreamError
from airlock.sessions.lookup import successor
from airlock.sessions.store import SessionConflict, Store


def starts_turn(api: Api, body: dict[str, Any]) -> bool:
    """Whether the request opens a new turn (its newest message is the user's, not a tool result)."""
    if api == Api.CHAT_COMPLETIONS:
        return body["messages"][-1].get("role") == "user"
    if api == Api.MESSAGES:
        last = body["messages"][-1]
        content = last.get("content")
        if last.get("role") != "user":
            return False
        return isinstance(content, str) or any(b.get("type") != "tool_result" for b in content if isinstance(b, dict))
    items = body.get("input")
    if isinstance(items, str):
        return True
    last = items[-1] if items else {}
    return last.get("type", "message") == "message" and last.get("role") == "user"


def upstream_api_error(exc: UpstreamError) -> ApiError:
    return ApiError(exc.status, exc.message, exc.error_type, headers=exc.headers)


class SingleLLM:
    def __init__(self, upstream: UpstreamClient, store: Store) -> None:
        self.upstream = upstream
        self.store = store

    async def serve(self, call: Call) -> JsonReply | StreamReply:
        if call.session.closed:
            call.session = successor(call.session, call.config.arch)
        session = call.session
        state = session.state
        id_map: dict[str, str] = state.setdefault("tool_ids", {})
        body = call.body
        body["model"] = call.config.pllm_model
        try:
            restore_upstream_ids(call.api, body, id_map)
        except UnknownToolCallId as exc:
            raise ApiError(400, f"Unknown tool call id {exc.tool_call_id!r} for session {session.id}.", param="messages")
        if starts_turn(call.api, body):
            max_turns = _max_turns(call.config)
            if max_turns is not None and state.get("turns", 0) >= max_turns:
                raise ApiError(400, f"Session {session.id} reached max_n_turns={max_turns}; start a new session.", param="X-Session-ID")
            state["turns"] = state.get("turns", 0) + 1
        state["api"] = call.api.value
        try:
            policy = session_policy(call.config)
        except PolicyConfigError as exc:
            raise ApiError(400, f"X-Policy: codes: {exc}", param="X-Policy.codes") from None
        content = ContentGuards.for_call(call, self.upstream)
        if content is not None:
            policy = content.wrap(policy)  # guards run with the policy check, on the whole answer
        rewriter = ResponseIdRewriter(call.api, session.id, id_map)
        if call.stream and policy is None:
            return await self._stream(call, rewriter)
        # With a policy, tool calls are checked whole, so the provider is asked without streaming.
        upstream_body = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
        if content is not None:
            await content.before_upstream(call.api, upstream_body, state)
        try:
            result = await self.upstream.request(call.provider, call.api, upstream_body, api_key=call.byok_key)
        except UpstreamError as exc:
            raise upstream_api_error(exc) from exc
        answer = result.json
        if content is not None:
            await content.before_enforce(call.api, answer)
        if policy is not None:
            session_meta = SessionMeta.from_json(state.get("session_meta"))
            pending = state.setdefault("pending_calls", {})
            after_results(call.api, body, pending, policy, session_meta)
            history, allowed = enforce(call.api, answer, policy, session_meta)
            pending.update(allowed)
            state["session_meta"] = session_meta.to_json()
            state["policy_check_history"] = (state.get("policy_check_history", []) + history)[-100:]
        if content is not None:
            content.after_enforce(call.api, answer, state)
        rewriter.rewrite(answer)
        self._end_of_answer(call, rewriter)
        await self._save(call)
        if call.stream:
            return _as_stream(call, answer, session.id)
        return JsonReply(answer, session.id)

    async def _stream(self, call: Call, rewriter: ResponseIdRewriter) -> StreamReply:
        events = self.upstream.stream(call.provider, call.api, call.body, api_key=call.byok_key).__aiter__()
        try:
            first = await events.__anext__()
        except UpstreamError as exc:
            raise upstream_api_error(exc) from exc
        except StopAsyncIteration:
            raise ApiError(502, "The provider closed the stream without sending anything.") from None
        first_bytes = await self._relay(call, rewriter, first)
        return StreamReply(first_bytes, self._rest(call, rewriter, events), call.session.id)

    async def _rest(self, call: Call, rewriter: ResponseIdRewriter, events: AsyncIterator[Any]) -> AsyncIterator[bytes]:
        # Headers are sent by now: failures become the API's in-stream error event.
        try:
            async for event in events:
                yield await self._relay(call, rewriter, event)
            self._end_of_answer(call, rewriter)
            await self._save(call)
        except UpstreamError as exc:
            yield stream_error_event(call.api, upstream_api_error(exc))
        except ApiError as exc:
            yield stream_error_event(call.api, exc)

    async def _relay(self, call: Call, rewriter: ResponseIdRewriter, event: Any) -> bytes:
        if event.event == "ping":
            # Keep-alives carry nothing for the client, and typed clients (sequrity) reject them.
            return b""
        data = event.data
        if data and data != "[DONE]" and ('"id"' in data or '"call_id"' in data):
            try:
                parsed = json.loads(data)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict) and rewriter.rewrite(parsed):
                data = json.dumps(parsed, separators=(",", ":"))
                await self._save(call)  # the id map is durable before the client sees the new id
        prefix = f"event: {event.event}\n" if event.event else ""
        return f"{prefix}data: {data}\n\n".encode()

    def _end_of_answer(self, call: Call, rewriter: ResponseIdRewriter) -> None:
        """An answer without tool calls ends the turn; the last allowed turn ends the session."""
        if rewriter.new_ids:
            return
        max_turns = _max_turns(call.config)
        if max_turns is not None and call.session.state.get("turns", 0) >= max_turns:
            call.session.closed = True

    async def _save(self, call: Call) -> None:
        try:
            call.session = await self.store.save_session(call.session)
        except SessionConflict:
            raise ApiError(409, f"Session {call.session.id} was changed by a concurrent request; retry.", "conflict_error") from None


def _as_stream(call: Call, answer: dict[str, Any], session_id: str) -> StreamReply:
    """Stream an already checked whole answer with the API's own events."""
    from airlock.agent.wire import render_sse
    from airlock.agent.wire.answer import answer_to_output

    output = answer_to_output(call.api, answer)
    include_usage = bool((call.body.get("stream_options") or {}).get("include_usage"))
    chunks = render_sse(call.api, output, model=output.model or call.body["model"], include_usage=include_usage)
    return StreamReply.from_chunks(chunks, session_id)


def _max_turns(config: Any) -> int | None:
    fsm = getattr(getattr(config, "config", None), "fsm", None)
    return getattr(fsm, "max_n_turns", None)


__all__ = ["SingleLLM", "starts_turn"]
