"""Dual-LLM mode on the wire: parse the request, run the engine, persist, answer in the same API.

The engine (``agent/dual_llm/``) is API-neutral and keeps all of its progress in the session's
plain-JSON ``state["dual"]``; this adapter owns the I/O around it: body → ``Conversation``,
``AgentOutput`` → JSON or SSE, and the compare-and-set write of the session *before* the
answer leaves, so a tool-call id the client holds always resolves on any replica.
"""

from __future__ import annotations

import asyncio

from airlock.agent.call import Call, JsonReply, StreamReply
from airlock.agent.dual_llm import DualLLMEngine, event_log
from airlock.agent.dual_llm.engine import EngineBusy, repeats_final
from airlock.interpreter import Limits
from airlock.sandbox import Runner
from airlock.agent.graph import GraphRequestError, check_graph_config
from airlock.agent.wire import WireError, parse_conversation, render_json, render_sse
from airlock.agent.wire.render import langgraph_failure
from airlock.agent.wire.params import TIMEOUT, llm_params
from airlock.api.errors import ApiError
from airlock.providers import UpstreamClient, UpstreamError
from airlock.sessions.ids import new_response_id
from airlock.sessions.lookup import successor
from airlock.sessions.store import SessionConflict, Store


class DualLLM:
    def __init__(self, upstream: UpstreamClient, store: Store, runner: Runner | None = None,
                 limits: Limits | None = None) -> None:
        self.engine = DualLLMEngine(upstream, runner, limits)
        self.store = store

    async def serve(self, call: Call) -> JsonReply | StreamReply:
        try:
            conversation = parse_conversation(call.api, call.body, call.history)
            params = llm_params(call.api, call.body, call.route.endpoint_type)
        except WireError as exc:
            raise ApiError(400, str(exc), param=getattr(exc, "param", None)) from None
        if call.session.closed and not repeats_final(conversation, call.session.state.get("dual", {})):
            call.session = successor(call.session, call.config.arch)
        state = call.session.state.setdefault("dual", {})
        loaded_stream = event_log.stream_of(state)
        session_id = call.session.id
        timeout = call.body.get(TIMEOUT)  # checked by llm_params
        deadline = asyncio.timeout(timeout)
        try:
            if call.graph is not None:
                check_graph_config(call.config, call.stream)
            async with deadline:
                output = await self.engine.run(
                    conversation, call.config, state,
                    session_id=call.session.id, provider=call.provider, api=call.api, api_key=call.byok_key,
                    owner=call.key.id, graph=call.graph, params=params,
                    read_log=lambda stream, n: self.store.read_log(session_id, stream, n),
                )
        except TimeoutError:
            if not deadline.expired():
                raise
            # Nothing was saved: the session is as it was, and the same request can be sent again.
            raise ApiError(504, f"The request did not finish within its timeout of {timeout} s; the session is "
                                "unchanged, so the same request can be retried.", "timeout_error", param=TIMEOUT) from None
        except GraphRequestError as exc:
            raise ApiError(400, exc.message, param=exc.param, code="invalid_graph") from None
        except UpstreamError as exc:
            raise ApiError(exc.status, exc.message, exc.error_type, headers=exc.headers) from None
        except EngineBusy as exc:
            raise ApiError(503, str(exc), "overloaded_error", headers={"Retry-After": "1"}) from None
        if state.get("closed"):
            call.session.closed = True
        try:
            call.session = await self.store.save_session(call.session, event_log.flush(state, loaded_stream))
        except SessionConflict:
            raise ApiError(409, f"Session {call.session.id} was changed by a concurrent request; retry.", "conflict_error") from None
        model = conversation.model
        # Responses: the id names the session, so previous_response_id alone resumes it.
        rid = new_response_id(call.session.id) if call.api is call.api.RESPONSES else None
        if not call.stream:
            body = render_json(call.api, output, model=model, response_id=rid)
            if call.graph is not None and output.failed:
                body = langgraph_failure(call.api, body)
            return JsonReply(body, call.session.id)
        stream_thoughts = bool(getattr(call.config.response_format, "stream_thoughts", False))
        include_usage = call.api != call.api.CHAT_COMPLETIONS or bool((call.body.get("stream_options") or {}).get("include_usage"))
        chunks = render_sse(call.api, output, model=model, stream_thoughts=stream_thoughts, include_usage=include_usage,
                            response_id=rid)
        return StreamReply.from_chunks(chunks, call.session.id)
