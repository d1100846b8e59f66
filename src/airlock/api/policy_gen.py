"""``POST /control/policy-gen/{provider?}/v1/generate``: SQRT policies written by an LLM, compiled by us."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from airlock.agent.policy_gen import PolicyGenFailed, PolicyGenRequest, generate_policy
from airlock.api.body import read_json_object
from airlock.api.control import check_models_allowed
from airlock.api.errors import ApiError
from airlock.api.routing import POLICY_GEN_PROVIDERS
from airlock.api.schemas import describe_validation_error
from airlock.providers import UpstreamError


def policy_gen_paths() -> list[tuple[str, str]]:
    """(path, provider) for the default route and each provider."""
    return [("/control/policy-gen/v1/generate", POLICY_GEN_PROVIDERS[0])] + [
        (f"/control/policy-gen/{p}/v1/generate", p) for p in POLICY_GEN_PROVIDERS
    ]


def register(app: FastAPI) -> None:
    schema = PolicyGenRequest.model_json_schema()
    for path, provider in policy_gen_paths():
        app.add_api_route(
            path,
            _endpoint(provider),
            methods=["POST"],
            name=path,
            summary=f"Generate a SQRT policy ({provider}); returns {{policies, usage}}",
            tags=["policy-gen"],
            openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}},
        )


def _endpoint(provider: str):
    async def endpoint(request: Request) -> JSONResponse:
        services = request.app.state.services
        await services.auth.authenticate(request)
        body = await read_json_object(request, services.settings.max_body_bytes)
        try:
            parsed = PolicyGenRequest.model_validate(body)
        except ValidationError as exc:
            param, message = describe_validation_error(exc)
            raise ApiError(400, message, param=param) from None
        byok = request.headers.get("x-api-key") or None
        check_models_allowed(services.settings, [parsed.model], byok)
        try:
            result = await generate_policy(services.upstream, provider, parsed, byok)
        except UpstreamError as exc:
            raise ApiError(exc.status, exc.message, exc.error_type, headers=exc.headers) from None
        except PolicyGenFailed as exc:
            raise ApiError(422, str(exc), "invalid_request_error", code="policy_generation_failed") from None
        return JSONResponse(result)

    return endpoint
