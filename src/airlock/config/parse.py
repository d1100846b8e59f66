"""Turning raw header strings into header models, with errors that name header and field.

Shared by the request path (``resolver``, where the first error becomes an HTTP 400) and by
``POST /control/v1/validate-headers`` (``validate``, which reports every error).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from airlock.jsonsafe import JsonInputError, loads

from .headers import HEADER_MODELS


class HeaderError(ValueError):
    """A client-supplied header (or the request model string) is unusable: answer HTTP 400.

    ``header`` is ``"X-Features"``, ``"X-Policy"``, ``"X-Config"`` or ``"model"``; ``field`` is a
    dotted path such as ``fsm.max_n_turns`` (empty when the whole value is wrong); ``errors``
    lists every problem found, formatted like ``str(self)``.
    """

    def __init__(self, header: str, field: str, message: str, errors: list[str] | None = None):
        self.header, self.field, self.message = header, field, message
        self.errors = errors or [format_error(header, field, message)]
        super().__init__(format_error(header, field, message))


class KeyConfigError(ValueError):
    """An API key's saved base config is invalid: an operator problem, not the client's."""


def format_error(header: str, field: str, message: str) -> str:
    return f"{header}: {field}: {message}" if field else f"{header}: {message}"


def loc_path(loc: tuple[Any, ...]) -> str:
    """``("content_classifiers", 0, "name")`` -> ``content_classifiers[0].name``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _errors(exc: ValidationError) -> list[tuple[str, str]]:
    return [(loc_path(e["loc"]), e["msg"].removeprefix("Value error, ")) for e in exc.errors(include_url=False)]


_JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


def load_json_object(header: str, raw: str) -> dict[str, Any]:
    """Parse ``raw`` as a JSON object or raise ``HeaderError`` ("Invalid JSON" / not an object)."""
    try:
        data = loads(raw, constants=True)  # the header models reject NaN naming the field
    except JsonInputError as exc:
        raise HeaderError(header, exc.path, f"Invalid JSON: {exc.reason}") from None
    if not isinstance(data, dict):
        raise HeaderError(header, "", f"Header must be a JSON object, got {_JSON_TYPES.get(type(data), 'value')}")
    return data


def validate_object(header: str, data: dict[str, Any]) -> BaseModel:
    """Validate an already-decoded object against the model for ``header``."""
    try:
        return HEADER_MODELS[header].model_validate(data)
    except ValidationError as exc:
        found = _errors(exc)
        field, message = found[0]
        raise HeaderError(header, field, message, [format_error(header, f, m) for f, m in found]) from None


def parse_header(header: str, raw: str | None) -> BaseModel | None:
    """``None`` or blank -> ``None`` (not given); otherwise the validated model or ``HeaderError``."""
    if raw is None or not raw.strip():
        return None
    return validate_object(header, load_json_object(header, raw))
