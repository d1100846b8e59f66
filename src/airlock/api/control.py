"""The Control API's LLM routes: one handler serves every (endpoint type, provider, API) route.

The handler follows SPEC "How a request is served": route → authenticate → resolve the session
config from preset, key and headers → check the model → find the session → run the agent →
answer in the caller's format with ``X-Session-ID``.
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from airlock.jsonsafe import dump_bytes

from airlock.agent.call import Call, JsonReply, StreamReply
from airlock.agent.graph import GraphRequestError, parse_graph
from airlock.agent.tool_ids import sessions_in_request
from airlock.api.body import read_json_object
from airlock.api.errors import ApiError
from airlock.api.routing import Api, Route
from airlock.api.schemas import REQUEST_MODELS, describe_validation_error
from airlock.config.resolver import HeaderError, resolve
from airlock.guards import BLOCKERS, GuardError, GuardSet, GuardUnavailable
from airlock.sessions.ids import session_of_response_id
from airlock.sessions.lookup import SessionLookupError, find_or_create

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def handle(request: Request, route: Route) -> Response:
    services = request.app.state.services
    key = await services.auth.authenticate(request)
    body = await read_json_object(request, services.settings.max_body_bytes)
    try:
        REQUEST_MODELS[route.api].model_validate(body)
    except ValidationError as exc:
        param, message = describe_validation_error(exc)
        raise ApiError(400, message, param=param) from None

    try:
        graph = parse_graph(route.endpoint_type, body)
    except GraphRequestError as exc:
        raise ApiError(400, exc.message, param=exc.param, code="invalid_graph") from None

    byok = request.headers.get("x-api-key") or None
    try:
        config = resolve(
            route.endpoint_type,
            key_base=key.base_config,
            x_features=request.headers.get("x-features"),
            x_policy=request.headers.get("x-policy"),
            x_config=request.headers.get("x-config"),
            model=body["model"],
            byok_key=byok,
            policy_locked=key.policy_locked,
        )
    except HeaderError as exc:
        raise ApiError(400, str(exc), param=f"{exc.header}.{exc.field}" if exc.field else exc.header) from None
    check_content_guards(config)
    check_arch_fields(config)
    check_models_allowed(services.settings, [config.pllm_model, config.qllm_model], byok)

    try:
        header_id = request.headers.get("x-session-id")
        # The history's ids matter only without the header (a K-call history names 2K of them).
        history_ids = sessions_in_request(route.api, body) if header_id is None else []
        if header_id is None:
            history_ids += previous_response_session(route.api, body, config.arch)
        session = await find_or_create(services.store, key, config.arch, header_id, history_ids)
    except SessionLookupError as exc:
        raise ApiError(exc.status, exc.message, param=exc.param) from None

    call = Call(route=route, key=key, config=config, body=body, session=session, byok_key=byok, graph=graph)
    agent = services.agent_for(config)
    reply = await agent.serve(call)
    if isinstance(reply, StreamReply):
        return StreamingResponse(
            _chain(reply), media_type="text/event-stream", headers={**SSE_HEADERS, "X-Session-ID": reply.session_id}
        )
    assert isinstance(reply, JsonReply)
    return SafeJSONResponse(reply.body, status_code=reply.status, headers={"X-Session-ID": reply.session_id})


class SafeJSONResponse(JSONResponse):
    """Answers can carry text decoded from inside tool data (a JSON escape for a lone surrogate),
    which UTF-8 cannot encode: render it replaced instead of failing the whole answer."""

    def render(self, content: object) -> bytes:
        return dump_bytes(content)


async def _chain(reply: StreamReply):
    yield reply.first
    async for chunk in reply.rest:
        yield chunk


def check_content_guards(config) -> None:
    """A guard the request asks for but this server cannot run is a 400 before any model is
    called, never a silent pass (whether it came from X-Features or the key's saved config)."""
    try:
        GuardSet.from_features(config.features)
    except GuardError as exc:
        section = "content_blockers" if exc.guard in BLOCKERS else "content_classifiers"
        code = "guard_unavailable" if isinstance(exc, GuardUnavailable) else "invalid_guard"
        raise ApiError(400, f"X-Features: {exc.message}", param=f"X-Features.{section}", code=code) from None


def check_models_allowed(settings, models: list[str], byok: str | None) -> None:
    """Without BYOK the operator pays, so only allow-listed models may be used."""
    if byok:
        return
    allowed = settings.allowed_model_set()
    if allowed is None:
        return
    for model in dict.fromkeys(models):
        if model not in allowed:
            raise ApiError(
                400,
                f"Model {model!r} is not on this server's allow list; send your own provider key in X-Api-Key "
                f"to use any model, or pick one of: {', '.join(sorted(allowed))}.",
                param="model",
                code="model_not_allowed",
            )


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


def check_arch_fields(config) -> None:
    """Settings the request's architecture would accept and not act on are a 400 naming them:
    ``auto_gen`` in single-llm mode (the reference marks it unsupported there; no program, no
    generated layer), and dual-llm prompt overrides that select no template or no LLM."""
    if config.arch == "single-llm":
        if config.policy.auto_gen:
            raise ApiError(400, "X-Policy: auto_gen: policy generation runs in dual-llm mode only; single-llm mode "
                                "would ignore it (use /control/policy-gen and send the policy in codes)",
                           param="X-Policy.auto_gen")
        return
    from airlock.agent.dual_llm.prompts import prompt_override_error

    problem = prompt_override_error(config.config.prompt)
    if problem is not None:
        field, message = problem
        raise ApiError(400, f"X-Config: {field}: {message}", param=f"X-Config.{field}")
