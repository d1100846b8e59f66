"""Utility routes: the route listing, health, header validation, and precise 404 messages."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from airlock.api.body import read_json_object
from airlock.api.errors import ApiError
from airlock.api.routing import (
    API_SUFFIX,
    ENDPOINT_TYPES,
    POLICY_GEN_PROVIDERS,
    RESERVED_ENDPOINT_TYPES,
    api_for_suffix,
    control_routes,
    providers_for,
)
from airlock.api.schemas import ValidateHeadersRequest

router = APIRouter()


def route_listing() -> list[dict[str, str]]:
    rows = [{"method": "POST", "path": r.path, "description": r.description} for r in control_routes()]
    from airlock.api.policy_gen import policy_gen_paths

    rows += [
        {"method": "POST", "path": path, "description": f"Generate a SQRT policy with {provider}"}
        for path, provider in policy_gen_paths()
    ]
    rows += [
        {"method": "POST", "path": "/control/v1/validate-headers", "description": "Validate X-Features/X-Policy/X-Config values"},
        {"method": "GET", "path": "/control/", "description": "This listing of every route"},
        {"method": "GET", "path": "/control/health", "description": "Liveness and storage readiness"},
        {"method": "GET", "path": "/control/openapi.json", "description": "OpenAPI document"},
    ]
    return rows


@router.get("/control/", summary="Every route: method, path, description")
@router.get("/control", include_in_schema=False)
async def index() -> dict:
    return {"service": "airlock", "routes": route_listing()}


@router.get("/control/health", summary="Liveness plus storage readiness")
async def health(request: Request) -> JSONResponse:
    services = request.app.state.services
    if not services.ready:  # still warming up: a load balancer should wait
        return JSONResponse({"status": "starting", "storage": "unknown"}, status_code=503)
    store = services.store
    try:
        await store.ping()
    except Exception as exc:  # readiness must answer, not crash, when the database is down
        return JSONResponse({"status": "degraded", "storage": "unavailable", "detail": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok", "storage": "ok"})


@router.post(
    "/control/v1/validate-headers",
    summary="Validate header values; per header null or {valid, errors, normalized}",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": ValidateHeadersRequest.model_json_schema()}}}
    },
)
async def validate_headers_route(request: Request) -> JSONResponse:
    from pydantic import ValidationError

    from airlock.api.schemas import describe_validation_error
    from airlock.config.validate import validate_headers

    body = await read_json_object(request, request.app.state.services.settings.max_body_bytes)
    try:
        parsed = ValidateHeadersRequest.model_validate(body)
    except ValidationError as exc:
        param, message = describe_validation_error(exc)
        raise ApiError(400, message, param=param) from None
    return JSONResponse(validate_headers(parsed.x_features, parsed.x_policy, parsed.x_config))


def not_found_message(path: str) -> str:
    """Say what exists instead of a bare 404."""
    parts = [p for p in path.split("/") if p]
    if not parts or parts[0] != "control":
        return f"No route {path}. Every route lives under /control; GET /control/ lists them."
    rest = parts[1:]
    if not rest:
        return "GET /control/ lists every route."
    endpoint_type = rest[0]
    if endpoint_type in RESERVED_ENDPOINT_TYPES:
        return f"The '{endpoint_type}' endpoint type is reserved and not available yet. Available: {', '.join(ENDPOINT_TYPES)}, policy-gen."
    if endpoint_type not in ENDPOINT_TYPES and endpoint_type not in ("policy-gen", "v1"):
        return f"Unknown endpoint type '{endpoint_type}'. Available: {', '.join(ENDPOINT_TYPES)}, policy-gen."
    if endpoint_type in ENDPOINT_TYPES and "v1" in rest:
        at = rest.index("v1")
        provider = rest[1] if at == 2 else None
        suffix = "/".join(rest[at + 1 :])
        api = api_for_suffix(suffix)
        if api is None:
            known = ", ".join(f"/v1/{s}" for s in API_SUFFIX.values())
            return f"Unknown API '/v1/{suffix}' for endpoint type '{endpoint_type}'. Available: {known}."
        providers = providers_for(endpoint_type, api)
        if not providers:
            return f"The {api.value} API is not served on the '{endpoint_type}' endpoint type."
        if provider is not None and provider not in providers:
            return (
                f"Provider '{provider}' does not serve the {api.value} API on '{endpoint_type}'. "
                f"Providers that do: {', '.join(providers)}."
            )
    if endpoint_type == "policy-gen" and len(rest) >= 2 and rest[1] not in ("v1", *POLICY_GEN_PROVIDERS):
        return f"Provider '{rest[1]}' does not serve policy generation. Providers that do: {', '.join(POLICY_GEN_PROVIDERS)}."
    return f"No route {path}. GET /control/ lists every route."
