"""Resolved configs, memoised per (endpoint type, key, headers, model, BYOK key).

Resolving is pure: the same preset, saved key config and header texts always give the same
``ResolvedConfig`` (frozen). An agent's requests repeat the same headers turn after turn, and
resolving them again (deep copies of the preset, three pydantic validations, the guard set and
the policy stack) cost more CPU than the rest of a passthrough request. A key's saved config
never changes after it is minted (revocation is checked on every request by the authenticator,
not here), so the key's id stands for it.

Only successes are cached; a bad header is resolved (and refused) each time. The cache is
bounded: at ``max_entries`` it starts over, which is cheap and keeps a client that varies its
headers from growing memory.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Memo(Generic[T]):
    """A bounded map from a hashable request shape to what was built for it."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._entries: dict[Hashable, T] = {}

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        found = self._entries.get(key)
        if found is not None:
            return found
        value = build()  # raises for bad input: nothing is stored
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = value
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()


__all__ = ["Memo"]
