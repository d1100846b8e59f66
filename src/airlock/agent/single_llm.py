"""Single-LLM mode: a guarded proxy to the provider, in the API format the client called.

Per request: put the provider's own tool-call ids back into the history, count the turn, clear
session metadata as ``clear_session_meta`` says (``every_turn``: when a turn starts;
``every_attempt``: every request, each being one LLM attempt), absorb posted tool results into
the session and context metadata (``guard.absorb_results``), filter the tools
(``tool_filter``), forward, check the answer (``guard.enforce``), then give every client-run
call a ``tc-<session>-<call>`` id and persist the id map *before* the client can see the new id
(so a crash never leaves a client holding an id we cannot map back). Responses' own ids get the
same treatment (``response_ids``): the client sees one naming the session, so
``previous_response_id`` alone leads back to it, and the provider is sent its own id back. The session is written
with compare-and-set; a concurrent writer loses with 409 rather than silently overwriting.

With a policy that can deny something the provider is asked for a whole answer and a streaming
client gets the checked answer as events (``wire.answer_sse``). With nothing to enforce (no
code in any layer, ``default_allow`` on) the stream is relayed as it arrives.
"""

from __future__ import annotations

import json
from typing import Any, AsyncIterator

from airlock.agent.authority import PolicyConfigError, session_policy
from airlock.agent.call import Call, JsonReply, StreamReply
from airlock.agent.content_guards import ContentGuards
from airlock.agent.conversation import Usage
from airlock.agent.guard import WrapperError, absorb_results, enforce
from airlock.agent.tool_filter import add_usage, filter_tools
from airlock.agent.tool_ids import (
    ResponseIdRewriter, UnknownToolCallId, restore_previous_response, restore_upstream_ids,
)
from airlock.api.errors import ApiError, stream_error_event
from airlock.api.resolution import header_policy_error
from airlock.jsonsafe import JsonInputError, loads
from airlock.meta import Meta, SessionMeta
from airlock.policy import LLM_BLOCKED_TAG, PolicyStack
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
        response_ids: dict[str, str] | None = state.setdefault("response_ids", {}) if call.api == Api.RESPONSES else None
        try:
            restore_upstream_ids(call.api, body, id_map)
        except UnknownToolCallId as exc:
            raise ApiError(400, f"Unknown tool call id {exc.tool_call_id!r} for session {session.id}.", param="messages")
        try:
            restore_previous_response(call.api, body, response_ids or {})
        except UnknownToolCallId as exc:
            raise ApiError(404, f"Response {exc.tool_call_id!r} not found in session {session.id}.",
                           param="previous_response_id") from None
        new_turn = starts_turn(call.api, body)
        if new_turn:
            max_turns = _max_turns(call.config)
            if max_turns is not None and state.get("turns", 0) >= max_turns:
                raise ApiError(400, f"Session {session.id} reached max_n_turns={max_turns}; start a new session.", param="X-Session-ID")
            state["turns"] = state.get("turns", 0) + 1
        state["api"] = call.api.value
        policy = _policy(call)
        clearing = call.config.fsm.clear_session_meta
        if clearing == "every_attempt" or (clearing == "every_turn" and new_turn):
            state["session_meta"] = SessionMeta().to_json()
        session_meta = SessionMeta.from_json(state.get("session_meta"))
        pending = state.setdefault("pending_calls", {})
        try:
            context = absorb_results(call.api, body, pending, policy, session_meta, Meta.from_json(state.get("context_meta")))
        except WrapperError as exc:
            raise ApiError(400, f"Tool result metadata wrapper: {exc}", param=exc.param) from None
        state["session_meta"], state["context_meta"] = session_meta.to_json(), context.to_json()
        extra_usage = await self._filter_tools(call)
        rewriter = ResponseIdRewriter(call.api, session.id, id_map, response_ids=response_ids)
        content = ContentGuards.for_call(call, self.upstream)
        if content is not None:
            policy = content.wrap(policy)  # guards run with the policy check, on the whole answer
        guarded = not policy.enforces_nothing or LLM_BLOCKED_TAG in context.tags
        if call.stream and not guarded:
            return await self._stream(call, rewriter, extra_usage)
        # Tool calls are checked whole, so the provider is asked without streaming.
        upstream_body = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
        if content is not None:
            await content.before_upstream(call.api, upstream_body, state)
            session_meta = SessionMeta.from_json(state.get("session_meta"))  # with the results' guard tags
        try:
            result = await self.upstream.request(call.provider, call.api, upstream_body, api_key=call.byok_key)
        except UpstreamError as exc:
            raise upstream_api_error(exc) from exc
        answer = result.json
        if not isinstance(answer, dict):
            raise ApiError(502, f"Provider {call.provider} answered with JSON that is not an object.", "upstream_error")
        if content is not None:
            await content.before_enforce(call.api, answer)
        if guarded:
            checked = enforce(call.api, answer, policy, session_meta, context)
            pending.update(checked.pending)
            state["session_meta"], state["context_meta"] = session_meta.to_json(), checked.context.to_json()
            state["policy_check_history"] = (state.get("policy_check_history", []) + checked.history)[-100:]
        if content is not None:
            content.after_enforce(call.api, answer, state)
        add_usage(call.api, answer, extra_usage)
        rewriter.rewrite(answer)
        self._end_of_answer(call, rewriter)
        await self._save(call)
        if call.stream:
            return _as_stream(call, answer, session.id)
        return JsonReply(answer, session.id)

    async def _filter_tools(self, call: Call) -> Usage | None:
        try:
            return await filter_tools(self.upstream, call)
        except UpstreamError as exc:
            raise upstream_api_error(exc) from exc

    async def _stream(self, call: Call, rewriter: ResponseIdRewriter, extra_usage: Usage | None) -> StreamReply:
        # Relayed per socket read: the events of one upstream read leave in one write.
        reads = self.upstream.stream_reads(call.provider, call.api, call.body, api_key=call.byok_key).__aiter__()
        try:
            first = await reads.__anext__()
        except UpstreamError as exc:
            raise upstream_api_error(exc) from exc
        except StopAsyncIteration:
            raise ApiError(502, "The provider closed the stream without sending anything.") from None
        first_bytes = await self._relay_all(call, rewriter, first, extra_usage)
        return StreamReply(first_bytes, self._rest(call, rewriter, reads, extra_usage), call.session.id)

    async def _rest(self, call: Call, rewriter: ResponseIdRewriter, reads: AsyncIterator[Any],
                    extra_usage: Usage | None) -> AsyncIterator[bytes]:
        # Headers are sent by now: failures become the API's in-stream error event.
        try:
            async for batch in reads:
                chunk = await self._relay_all(call, rewriter, batch, extra_usage)
                if chunk:
                    yield chunk
            self._end_of_answer(call, rewriter)
            await self._save(call)
        except UpstreamError as exc:
            yield stream_error_event(call.api, upstream_api_error(exc))
        except ApiError as exc:
            yield stream_error_event(call.api, exc)
        finally:
            close = getattr(reads, "aclose", None)
            if close is not None:  # a client that went away frees the upstream connection now
                await close()

    async def _relay_all(self, call: Call, rewriter: ResponseIdRewriter, events: list[Any],
                         extra_usage: Usage | None) -> bytes:
        return b"".join([await self._relay(call, rewriter, event, extra_usage) for event in events])

    async def _relay(self, call: Call, rewriter: ResponseIdRewriter, event: Any, extra_usage: Usage | None) -> bytes:
        if event.event == "ping":
            # Keep-alives carry nothing for the client, and typed clients (sequrity) reject them.
            return b""
        data = event.data
        with_usage = extra_usage is not None and '"usage"' in data
        if data and data != "[DONE]" and ('"id"' in data or '"call_id"' in data or with_usage):
            try:
                parsed = loads(data, surrogates="replace")
            except JsonInputError as exc:
                raise ApiError(502, f"The provider sent a stream event Airlock cannot read: {exc}.", "upstream_error") from None
            if isinstance(parsed, dict):
                changed = rewriter.rewrite(parsed)
                if with_usage:
                    add_usage(call.api, parsed, extra_usage)
                if rewriter.rewrote or with_usage:
                    data = json.dumps(parsed, separators=(",", ":"))
                if changed:
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
    from airlock.agent.wire.answer_sse import answer_sse

    include_usage = bool((call.body.get("stream_options") or {}).get("include_usage"))
    return StreamReply.from_chunks(answer_sse(call.api, answer, include_usage=include_usage), session_id)


def _policy(call: Call) -> PolicyStack:
    if call.policy is not None:
        return call.policy  # type: ignore[no-any-return]
    try:
        return session_policy(call.config)
    except PolicyConfigError as exc:
        if exc.authority == "header":
            raise header_policy_error(exc) from None
        raise ApiError(500, f"This key's saved policy does not compile ({exc}); the operator must fix it.",
                       "server_error") from None


def _max_turns(config: Any) -> int | None:
    fsm = getattr(getattr(config, "config", None), "fsm", None)
    return getattr(fsm, "max_n_turns", None)


__all__ = ["SingleLLM", "starts_turn"]
