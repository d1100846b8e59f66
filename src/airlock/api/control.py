"""The Control API's LLM routes: one handler serves every (endpoint type, provider, API) route.

The handler follows SPEC "How a request is served": route → authenticate → resolve the session
config from preset, key and headers → check the model → find the session → run the agent →
answer in the caller's format with ``X-Session-ID``.
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from airlock.jsonsafe import JsonInputError, check_depth, dump_bytes

from airlock.agent.call import Call, JsonReply, StreamReply
from airlock.agent.graph import GraphRequestError, parse_graph
from airlock.agent.tool_ids import sessions_in_request
from airlock.api.body import body_error, read_json_object
from airlock.api.errors import ApiError
from airlock.api.history import ITEMS
from airlock.api.routing import Api, Route
from airlock.api.sse_response import SSEResponse
from airlock.api.schemas import REQUEST_MODELS, describe_validation_error
from airlock.sessions.ids import session_of_response_id
from airlock.sessions.lookup import SessionLookupError, find_or_create

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def handle(request: Request, route: Route) -> Response:
    services = request.app.state.services
    key = await services.auth.authenticate(request)
    headers = request.headers
    header_id = headers.get("x-session-id")
    body = await read_json_object(request, services.settings.max_body_bytes, check_depth=False)
    known = services.history.recall(key.id, header_id, route.api, body)
    check_body(route, body, known.count)
    services.history.keep(known)
    try:
        graph = parse_graph(route.endpoint_type, body)
    except GraphRequestError as exc:
        raise ApiError(400, exc.message, param=exc.param, code="invalid_graph") from None

    byok = headers.get("x-api-key") or None
    resolved = services.resolutions.get(route, key, headers, body["model"], byok)
    config = resolved.config

    try:
        # The history's ids matter only without the header (a K-call history names 2K of them).
        history_ids = sessions_in_request(route.api, body) if header_id is None else []
        if header_id is None:
            history_ids += previous_response_session(route.api, body, config.arch)
        session = await find_or_create(services.store, key, config.arch, header_id, history_ids,
                                       services.settings.session_idle_ttl_s)
    except SessionLookupError as exc:
        raise ApiError(exc.status, exc.message, param=exc.param) from None

    call = Call(route=route, key=key, config=config, body=body, session=session, byok_key=byok,
                policy=resolved.policy, graph=graph, history=known)
    agent = services.agent_for(config)
    reply = await agent.serve(call)
    if isinstance(reply, StreamReply):
        return SSEResponse(_chain(reply), headers={**SSE_HEADERS, "X-Session-ID": reply.session_id})
    assert isinstance(reply, JsonReply)
    return SafeJSONResponse(reply.body, status_code=reply.status, headers={"X-Session-ID": reply.session_id})


def check_body(route: Route, body: dict, known: int = 0) -> None:
    """The one check of the body: bounded depth, and the fields Airlock reads have the types it
    assumes (a precise 400 otherwise). The agents then read the parsed dict, which passed it.

    ``known``: leading history items an earlier request of the session passed these checks
    with (``api.history``); each check is a function of one item, so the rest is what is left."""
    rest = body
    if known:
        field = ITEMS[route.api]
        rest = {**body, field: body[field][known:]}
    try:
        check_depth(rest)
    except JsonInputError as exc:
        raise body_error(exc) from None
    validator = REQUEST_MODELS[route.api].__pydantic_validator__
    try:
        validator.validate_python(rest)
    except ValidationError as exc:
        if known:  # the whole body names the failing item by its own index
            return check_body(route, body)
        param, message = describe_validation_error(exc)
        raise ApiError(400, message, param=param) from None


class SafeJSONResponse(JSONResponse):
    """Answers can carry text decoded from inside tool data (a JSON escape for a lone surrogate),
    which UTF-8 cannot encode: render it replaced instead of failing the whole answer."""

    def render(self, content: object) -> bytes:
        return dump_bytes(content)


async def _chain(reply: StreamReply):
    yield reply.first
    async for chunk in reply.rest:
        yield chunk


def previous_response_session(api: Api, body: dict, arch: str) -> list[str]:
    """Responses chaining: ``previous_response_id`` names the session it continues (our ids,
    ``sessions.ids.new_response_id``, in both modes); the lookup's owner check applies to it as
    to any id. In dual-LLM mode an id that is not ours cannot be continued, so it is a 404, not
    a new session that would silently lose the conversation; in single-LLM mode it may be the
    provider's own (a conversation the client started elsewhere) and is forwarded."""
    previous = body.get("previous_response_id") if api is Api.RESPONSES else None
    if previous is None:
        return []
    session = session_of_response_id(previous)
    if session is None and arch == "single-llm":
        return []
    if session is None:
        raise ApiError(404, f"Response {str(previous)[:80]!r} not found: previous_response_id must be the id of an "
                            "answer this server gave.", param="previous_response_id")
    return [session]


# Kept importable from here (policy_gen uses the allow-list check).
from airlock.api.resolution import check_content_guards, check_models_allowed  # noqa: E402

__all__ = ["handle", "check_body", "check_content_guards", "check_models_allowed", "SafeJSONResponse"]
