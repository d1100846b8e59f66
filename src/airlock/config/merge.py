"""The one merge rule used by every configuration layer."""

from __future__ import annotations

from typing import Any


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into ``base`` in place and return it.

    Objects merge key by key, so a layer only changes what it names; anything else (lists,
    scalars) replaces the previous value, so a list of classifiers or internal tools is always
    exactly what the last layer said. ``None`` means "not given", so layers are dumped without
    it (``resolver.layer_of``) — except a limit's explicit ``null`` that means "unlimited"
    (``headers.NULL_IS_UNLIMITED``), which replaces the previous value like any other.
    """
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value
    return base
