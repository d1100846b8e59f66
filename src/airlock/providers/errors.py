"""Upstream failures, and error bodies in the caller's API shape.

A client speaking the Anthropic API must get an Anthropic-shaped error even when the failure
was an OpenAI upstream (or Airlock itself), or its SDK raises a confusing parse error instead
of the right exception class. Error types are carried OpenAI-style (plus Airlock's
``upstream_timeout``/``upstream_error``) and translated to Anthropic's names on rendering.

Messages must never leak a provider key: :func:`scrub` removes known keys and anything shaped
like one before a message leaves this package.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from airlock.providers.registry import ApiFormat

ANTHROPIC_ERROR_TYPES = frozenset({
    "invalid_request_error", "authentication_error", "permission_error", "not_found_error",
    "request_too_large", "rate_limit_error", "api_error", "overloaded_error", "timeout_error",
})

_TYPE_BY_STATUS = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 409: "conflict_error", 413: "request_too_large",
    422: "invalid_request_error", 429: "rate_limit_error", 502: "upstream_error",
    503: "overloaded_error", 504: "upstream_timeout", 529: "overloaded_error",
}

_TO_ANTHROPIC = {
    "upstream_timeout": "timeout_error", "upstream_error": "api_error", "server_error": "api_error",
    "conflict_error": "invalid_request_error", "insufficient_quota": "rate_limit_error",
}

_ANTHROPIC_BY_STATUS = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
    503: "overloaded_error", 504: "timeout_error", 529: "overloaded_error",
}


def default_error_type(status: int) -> str:
    """The OpenAI-style ``type`` Airlock uses for a status when nothing more specific is known."""
    return _TYPE_BY_STATUS.get(status, "server_error" if status >= 500 else "invalid_request_error")


def anthropic_error_type(status: int, type_: str | None = None) -> str:
    """Map an (OpenAI-style or Anthropic) type, or failing that the status, to Anthropic's list."""
    if type_ in ANTHROPIC_ERROR_TYPES:
        return type_  # type: ignore[return-value]
    if type_ in _TO_ANTHROPIC:
        return _TO_ANTHROPIC[type_]
    return _ANTHROPIC_BY_STATUS.get(status, "api_error" if status >= 500 else "invalid_request_error")


def error_body(
    api: ApiFormat | str | None,
    status: int,
    message: str,
    type_: str | None = None,
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """The JSON error body for ``api``: Anthropic shape for Messages, OpenAI shape otherwise."""
    if api == ApiFormat.MESSAGES:
        return {"type": "error", "error": {"type": anthropic_error_type(status, type_), "message": message}}
    return {"error": {"message": message, "type": type_ or default_error_type(status), "param": param, "code": code}}


def sse_error(
    api: ApiFormat | str | None,
    status: int,
    message: str,
    type_: str | None = None,
    param: str | None = None,
    code: str | None = None,
) -> bytes:
    """One SSE event reporting an error after the stream (and its 200 status) already started.

    * Chat Completions: ``data: {"error": {...}}`` — what OpenAI sends; the SDK raises on it.
    * Messages: ``event: error`` + ``{"type": "error", "error": {...}}`` — Anthropic's event.
    * Responses: ``event: error`` with the documented top-level ``type/code/message/param`` and
      ``sequence_number``, plus the OpenAI ``error`` object so the ``openai`` SDK raises
      ``APIError`` instead of silently yielding an event.
    """
    body = error_body(api, status, message, type_, param, code)
    if api == ApiFormat.MESSAGES:
        return b"event: error\ndata: " + _dumps(body) + b"\n\n"
    if api == ApiFormat.RESPONSES:
        err = body["error"]
        event = {"type": "error", "code": code or err["type"], "message": message, "param": param,
                 "sequence_number": 0, "error": err}
        return b"event: error\ndata: " + _dumps(event) + b"\n\n"
    return b"data: " + _dumps(body) + b"\n\n"


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


# Things that look like provider keys: OpenAI/OpenRouter/Anthropic prefixes, bearer tokens.
_KEYLIKE = re.compile(r"(sk-[A-Za-z0-9_\-]{2})[A-Za-z0-9_\-*]{6,}|(Bearer\s+)[A-Za-z0-9_\-.=]{8,}")


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove the given secrets and anything key-shaped from ``text``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _KEYLIKE.sub(lambda m: (m.group(1) or m.group(2)) + "***", text)


class UpstreamError(Exception):
    """A call to a provider failed; carries what Airlock should answer its own client.

    ``status``: 504 for timeouts, 502 for upstream 5xx / connection failures / invalid bodies,
    the upstream's own status for its 4xx (400, 401, 403, 404, 413, 422, 429...), and 400/401
    for Airlock-side configuration problems (unknown provider, no key). ``message`` is safe to
    show (keys scrubbed). ``headers`` carries ``Retry-After`` worth passing back on a 429.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        provider: str,
        error_type: str | None = None,
        upstream_status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.provider = provider
        self.error_type = error_type or default_error_type(status)
        self.upstream_status = upstream_status
        self.headers = headers or {}

    def body(self, api: ApiFormat | str | None) -> dict[str, Any]:
        """This error as a JSON body in ``api``'s shape."""
        return error_body(api, self.status, self.message, self.error_type)

    def sse(self, api: ApiFormat | str | None) -> bytes:
        """This error as an in-stream SSE event in ``api``'s shape."""
        return sse_error(api, self.status, self.message, self.error_type)

    def __repr__(self) -> str:
        return f"UpstreamError({self.status}, {self.error_type!r}, provider={self.provider!r}, {self.message!r})"
