"""Reading a request body safely: bounded size and depth, valid Unicode, a JSON object, precise errors."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from airlock.api.errors import ApiError
from airlock.jsonsafe import MAX_DEPTH, JsonInputError, loads


async def read_json_object(request: Request, max_bytes: int, *, check_depth: bool = True) -> dict[str, Any]:
    """``check_depth=False``: the caller bounds the depth itself (``api.control.check_body``
    skips the messages an earlier request of the session already checked)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            too_big = int(declared) > max_bytes
        except ValueError:
            raise ApiError(400, "Content-Length is not a number.") from None
        if too_big:
            raise ApiError(413, f"Request body is larger than the limit of {max_bytes} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:  # chunked uploads have no Content-Length to trust
            raise ApiError(413, f"Request body is larger than the limit of {max_bytes} bytes.")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise ApiError(400, "Request body is empty; expected a JSON object.")
    try:
        body = loads(raw, max_depth=MAX_DEPTH if check_depth else None)
    except JsonInputError as exc:
        raise body_error(exc) from None
    if not isinstance(body, dict):
        raise ApiError(400, f"Request body must be a JSON object, got {type(body).__name__}.")
    return body


def body_error(exc: JsonInputError) -> ApiError:
    if exc.path:
        return ApiError(400, f"Request body: {exc}.", param=exc.path)
    return ApiError(400, f"Request body is {exc.reason}." if exc.reason.startswith("not ")
                    else f"Request body is rejected: {exc.reason}.")
