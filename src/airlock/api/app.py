"""The ASGI application: services wired at start-up, routes generated from the route table."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from airlock import __version__
from airlock.api import control, policy_gen, utility
from airlock.api.auth import Authenticator
from airlock.api.errors import ApiError, error_body
from airlock.api.history import HistoryMemo
from airlock.api.resolution import Resolutions
from airlock.api.routing import Api, Route, control_routes
from airlock.api.schemas import REQUEST_MODELS
from airlock.settings import Settings, get_settings

log = logging.getLogger("airlock")


@dataclass
class Services:
    settings: Settings
    store: Any
    upstream: Any
    auth: Authenticator
    single_llm: Any
    programs: Any = None  # the pool of program workers (airlock.sandbox.ProgramPool)
    dual_llm: Any = None
    resolutions: Any = None  # airlock.api.resolution.Resolutions (memoised configs)
    history: Any = None  # airlock.api.history.HistoryMemo (histories already checked)
    ready: bool = False  # the warm-up is over (``/control/health`` answers 200 only then)

    def agent_for(self, config: Any):
        if config.arch != "dual-llm":
            return self.single_llm
        return self.dual_llm_agent()

    def dual_llm_agent(self):
        if self.dual_llm is None:
            try:
                from airlock.agent.dual_llm_agent import DualLLM
            except ImportError:
                raise ApiError(501, "The dual-LLM agent is not available in this build; use agent_arch 'single-llm'.",
                               "not_implemented", param="X-Features.agent_arch") from None
            from airlock.interpreter import Limits

            s = self.settings
            limits = Limits(wall_time_s=s.program_wall_time_s, max_steps=s.program_max_steps,
                            max_memory_mb=s.program_max_memory_mb)
            self.dual_llm = DualLLM(self.upstream, self.store, self.programs, limits)
        return self.dual_llm


def create_app(settings: Settings | None = None, store: Any = None) -> "LlmRoutesFirst":
    settings = (settings or get_settings()).worker_share()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from airlock.agent.single_llm import SingleLLM
        from airlock.providers import UpstreamClient
        from airlock.sessions.store import store_from_url

        own_store = store is None
        the_store = store or store_from_url(settings.database_url)
        await the_store.start()
        from airlock.sandbox import PoolSettings, ProgramPool

        upstream = UpstreamClient(settings)
        pool_settings = PoolSettings.from_settings(settings)
        if settings.warm_start:  # the workers' first runs skip compiling the usual policy stacks
            from dataclasses import replace

            from airlock.agent.authority import default_policy_specs

            pool_settings = replace(pool_settings, warm_policies=tuple(
                json.dumps(spec.to_json()) for spec in default_policy_specs()))
        programs = ProgramPool(pool_settings)
        await programs.start()  # workers warm before the first request
        app.state.services = Services(
            settings=settings,
            store=the_store,
            upstream=upstream,
            auth=Authenticator(the_store, ttl=settings.key_cache_ttl_s),
            single_llm=SingleLLM(upstream, the_store),
            programs=programs,
            resolutions=Resolutions(settings),
            history=HistoryMemo(settings.history_memo_mb),
        )
        services = app.state.services
        if settings.warm_start:
            from airlock.api.warmup import warm_up

            took = await warm_up(services)
            log.info("warm-up done in %.0f ms", took * 1e3)
        services.ready = True
        sweeper = None
        if settings.session_idle_ttl_s > 0:
            from airlock.sessions.retention import sweep_forever

            sweeper = asyncio.create_task(sweep_forever(the_store, settings.session_idle_ttl_s,
                                                        settings.session_sweep_interval_s))
        try:
            yield
        finally:
            if sweeper is not None:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            await programs.close()
            await upstream.aclose()
            if own_store:
                await the_store.close()

    app = FastAPI(
        title="Airlock — Sequrity Control API",
        version=__version__,
        lifespan=lifespan,
        docs_url="/control/docs",
        openapi_url="/control/openapi.json",
        redoc_url=None,
    )
    _register_llm_routes(app)
    policy_gen.register(app)
    app.include_router(utility.router)
    _register_error_handlers(app)
    return LlmRoutesFirst(app)


class LlmRoutesFirst:
    """The ASGI entry: a POST to an LLM route goes straight to ``control.handle``; everything
    else (utility routes, OpenAPI, 404/405, lifespan) to FastAPI, which still lists the LLM routes.

    Why: FastAPI's router, dependency solver and middleware stack cost more CPU per request than
    the rest of a passthrough (a profile at concurrency 64, issue #14); the LLM routes read their
    body themselves and take no parameters, so an exact-path table lookup is the whole routing.
    Errors keep their API shape: ``ApiError`` answers as FastAPI's handler does, and anything else
    goes through the same last-resort 500 (type logged, message never).
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.routes: dict[str, Route] = {r.path: r for r in control_routes()}
        self._llm = _LastResort(self._serve)

    @property
    def state(self) -> Any:
        return self.app.state

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in self.routes:
            scope["app"] = self.app  # request.app.state.services, as under FastAPI
            await self._llm(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _serve(self, scope, receive, send) -> None:
        route = self.routes[scope["path"]]
        request = Request(scope, receive, send)
        request.state.api = route.api
        try:
            response = await control.handle(request, route)
        except ApiError as exc:
            response = JSONResponse(error_body(route.api, exc), status_code=exc.status, headers=exc.headers)
        await response(scope, receive, send)


_REF = "#/components/schemas/{model}"


def _request_schema(model) -> dict:
    """A body schema whose nested models point into ``components.schemas`` (see ``_with_components``)."""
    schema = dict(model.model_json_schema(ref_template=_REF))
    schema.pop("$defs", None)
    return schema


def _with_components(app: FastAPI) -> None:
    """Add the nested request models to the OpenAPI components so every ``$ref`` resolves."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
            components = doc.setdefault("components", {}).setdefault("schemas", {})
            for model in REQUEST_MODELS.values():
                components.update(model.model_json_schema(ref_template=_REF).get("$defs", {}))
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi


def _register_llm_routes(app: FastAPI) -> None:
    _with_components(app)
    for route in control_routes():
        schema = _request_schema(REQUEST_MODELS[route.api])
        app.add_api_route(
            route.path,
            _endpoint(route),
            methods=["POST"],
            name=route.path,
            summary=route.description,
            tags=[route.endpoint_type],
            openapi_extra={
                "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
                "parameters": _HEADER_PARAMS,
            },
        )


def _endpoint(route):
    async def endpoint(request: Request):
        request.state.api = route.api
        return await control.handle(request, route)

    endpoint.__doc__ = route.description
    return endpoint


_HEADER_PARAMS = [
    {"name": name, "in": "header", "required": False, "schema": {"type": "string"}, "description": text}
    for name, text in [
        ("X-Api-Key", "Your provider API key (bring your own key); any model is then accepted."),
        ("X-Features", "JSON: agent architecture, content classifiers and blockers."),
        ("X-Policy", "JSON: SQRT/Cedar policy code and internal policy presets."),
        ("X-Config", "JSON: fine-grained FSM, prompt and response-format settings."),
        ("X-Session-ID", "Continue an existing session (returned on every response)."),
    ]
]


def _api_of(request: Request) -> Api | None:
    api = getattr(request.state, "api", None)
    if api is None and request.url.path.endswith("/v1/messages"):
        return Api.MESSAGES
    return api


def _register_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return JSONResponse(error_body(_api_of(request), exc), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {"loc": ("body",), "msg": "invalid request"}
        param = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        err = ApiError(400, f"{param}: {first.get('msg')}", param=param)
        return JSONResponse(error_body(_api_of(request), err), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 404:
            err = ApiError(404, utility.not_found_message(request.url.path))
        elif exc.status_code == 405:
            err = ApiError(405, f"Method {request.method} is not allowed on {request.url.path}.", "invalid_request_error")
        else:
            err = ApiError(exc.status_code, str(exc.detail))
        return JSONResponse(error_body(_api_of(request), err), status_code=err.status)

    app.add_middleware(_LastResort)


class _LastResort:
    """Answer any unexpected exception with a 500 in the caller's API shape, logging only its type.

    Starlette's own handler re-raises so the server prints the traceback, and exception messages
    can embed request data (keys included); catching here, inside that middleware, keeps them out.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracking_send(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # noqa: BLE001 - this is the last line of defence
            log.error("unhandled %s on %s %s", type(exc).__name__, scope.get("method"), scope.get("path"))
            if started:
                return  # headers are gone; the client sees the stream end
            api = Api.MESSAGES if str(scope.get("path", "")).endswith("/v1/messages") else None
            response = JSONResponse(error_body(api, ApiError(500, "Internal server error.", "server_error")), status_code=500)
            await response(scope, receive, send)
