"""The one merge rule used by every configuration layer."""

from __future__ import annotations

from typing import Any


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into ``base`` in place and return it.

    Objects merge key by key, so a layer only changes what it names; anything else (lists,
    scalars) replaces the previous value, so a list of classifiers or internal tools is always
    exactly what the last layer said. ``None`` values are never passed in: layers are dumped
    with ``exclude_none`` because ``None`` means "not given".
    """
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value
    return base
