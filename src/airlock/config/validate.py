"""Body of ``POST /control/v1/validate-headers``: check headers without serving a request.

Each header is reported independently (one bad header does not hide the verdict on another),
with every error found rather than only the first, so a client can fix them all at once.
``normalized`` is the header as the server understood it: unknown-to-client defaults of value
objects filled in (e.g. classifier ``threshold``), "not given" (null) fields left out — except an
explicit ``null`` that means "unlimited" (``headers.NULL_IS_UNLIMITED``), which is kept.
"""

from __future__ import annotations

from typing import Any

from .parse import HeaderError, parse_header
from .resolver import layer_of

_FIELDS = {"x_features": "X-Features", "x_policy": "X-Policy", "x_config": "X-Config"}


def _check(header: str, raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        model = parse_header(header, raw)
    except HeaderError as exc:
        return {"valid": False, "errors": exc.errors, "normalized": None}
    normalized = layer_of(model)
    return {"valid": True, "errors": [], "normalized": normalized}


def validate_headers(x_features: str | None, x_policy: str | None, x_config: str | None) -> dict[str, Any]:
    """``{"x_features"|"x_policy"|"x_config": None | {"valid", "errors", "normalized"}}``."""
    raw = {"x_features": x_features, "x_policy": x_policy, "x_config": x_config}
    return {field: _check(header, raw[field]) for field, header in _FIELDS.items()}
