"""Errors answered in the shape of the API that was called.

Every failure a caller can cause or meet is an ``ApiError`` carrying its HTTP status and an
OpenAI-style ``type``; rendering (OpenAI ``{"error": {...}}`` for Chat Completions, Responses
and utility routes, Anthropic ``{"type": "error", ...}`` for Messages, and the in-stream error
events) lives with the providers' errors in ``airlock.providers.errors`` so both layers speak
the same shapes. An unexpected exception is logged without secrets and answered as a 500.
"""

from __future__ import annotations

from typing import Any

from airlock.providers.errors import default_error_type, error_body as _shaped_body, sse_error
from airlock.providers.registry import ApiFormat


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
        self.type = type_ or default_error_type(status)
        self.param = param
        self.code = code
        self.headers = headers or {}


def error_body(api: ApiFormat | None, error: ApiError) -> dict[str, Any]:
    return _shaped_body(api, error.status, error.message, error.type, error.param, error.code)


def stream_error_event(api: ApiFormat, error: ApiError) -> bytes:
    """An error that happens after the stream started: the API's own in-stream error event."""
    return sse_error(api, error.status, error.message, error.type, error.param, error.code)
