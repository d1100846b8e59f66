"""Errors answered in the shape of the API that was called.

Every failure a caller can cause or meet is an ``ApiError`` carrying its HTTP status and an
OpenAI-style ``type``; the handler renders it as OpenAI ``{"error": {...}}`` for Chat
Completions / Responses / utility routes and as Anthropic ``{"type": "error", "error": {...}}``
for Messages. Nothing else reaches the client: an unexpected exception is logged (without
secrets) and answered as a 500 in the same shape.
"""

from __future__ import annotations

from typing import Any

from airlock.api.routing import Api

# OpenAI error types → Anthropic's names for the same condition.
_ANTHROPIC_TYPES = {
    "invalid_request_error": "invalid_request_error",
    "authentication_error": "authentication_error",
    "permission_error": "permission_error",
    "not_found_error": "not_found_error",
    "request_too_large": "request_too_large",
    "rate_limit_error": "rate_limit_error",
    "upstream_timeout": "timeout_error",
    "upstream_error": "api_error",
    "conflict_error": "invalid_request_error",
    "server_error": "api_error",
    "overloaded_error": "overloaded_error",
}

_DEFAULT_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    502: "upstream_error",
    503: "overloaded_error",
    504: "upstream_timeout",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        type_: str | None = None,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_ or _DEFAULT_TYPE_BY_STATUS.get(status, "server_error" if status >= 500 else "invalid_request_error")
        self.param = param
        self.code = code
        self.headers = headers or {}


def error_body(api: Api | None, error: ApiError) -> dict[str, Any]:
    if api == Api.MESSAGES:
        return {"type": "error", "error": {"type": _ANTHROPIC_TYPES.get(error.type, "api_error"), "message": error.message}}
    return {"error": {"message": error.message, "type": error.type, "param": error.param, "code": error.code}}


def stream_error_event(api: Api, error: ApiError) -> bytes:
    """An error that happens after the stream started: the API's own in-stream error event."""
    import json

    data = json.dumps(error_body(api, error))
    if api == Api.MESSAGES:
        return f"event: error\ndata: {data}\n\n".encode()
    if api == Api.RESPONSES:
        payload = {"type": "error", "code": error.code or error.type, "message": error.message, "param": error.param}
        return f"event: error\ndata: {json.dumps(payload)}\n\n".encode()
    return f"data: {data}\n\n".encode()
