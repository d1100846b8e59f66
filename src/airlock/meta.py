"""Data-flow metadata: the one vocabulary shared by the policy engine, the interpreter and the agents.

Every value in a dual-LLM program carries three sets:

* ``producers`` — who produced the data (tool names, ``"user"``...). Derived values take the
  **union** of their inputs' producers: data is as tainted as its most tainted input.
* ``consumers`` — who may receive the data. Derived values take the **intersection**: data
  may only go where *all* of its inputs may go. ``"*"`` means "anyone" (the universal set).
* ``tags`` — free labels (``"__non_executable"``, ``"__llm_blocked"``, ``"pii"``...). Union.

A fourth, internal component, ``untrusted``, records provenance the policies cannot see or
change: true when anything a value was computed from came from a tool or the quarantined LLM.
It is what proves a value is safe to show the planner (planner isolation): user-visible tags can
be removed by an operator's policy, and a tool's metadata wrapper can name any producers, so
neither can carry that proof. It is never serialised into user-visible metadata.

``StrSet`` is a set of strings that can also be the universal set, which plain ``frozenset``
cannot express; it is immutable so metadata can be shared between values without copying.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

UNIVERSAL_MARK = "*"
#: The tag every value from outside carries under non-executable memory: the interpreter adds
#: it, the policy presets act on it.
NON_EXECUTABLE_TAG = "__non_executable"


@dataclass(frozen=True, slots=True)
class StrSet:
    """A finite set of strings, or the universal set (``universal=True``, written ``"*"``)."""

    items: frozenset[str] = frozenset()
    universal: bool = False

    @classmethod
    def of(cls, values: Iterable[str] | None = None) -> "StrSet":
        """Build from strings; a ``"*"`` member makes the set universal."""
        values = frozenset(values or ())
        if UNIVERSAL_MARK in values:
            return UNIVERSAL
        return cls(values)

    # -- algebra -----------------------------------------------------------------------------
    def union(self, other: "StrSet") -> "StrSet":
        if self.universal or other.universal:
            return UNIVERSAL
        return StrSet(self.items | other.items)

    def intersect(self, other: "StrSet") -> "StrSet":
        if self.universal:
            return other
        if other.universal:
            return self
        return StrSet(self.items & other.items)

    def minus(self, other: "StrSet") -> "StrSet":
        if other.universal:
            return EMPTY
        if self.universal:
            # The complement of a finite set is not representable; keep universal, which is the
            # conservative answer for consumers (removing named readers from "anyone" is
            # expressed by intersecting with an explicit allow list instead).
            return UNIVERSAL
        return StrSet(self.items - other.items)

    def contains(self, value: str) -> bool:
        return self.universal or value in self.items

    def is_subset(self, other: "StrSet") -> bool:
        if other.universal:
            return True
        if self.universal:
            return False
        return self.items <= other.items

    def is_empty(self) -> bool:
        return not self.universal and not self.items

    def overlaps(self, other: "StrSet") -> bool:
        return not self.intersect(other).is_empty()

    # -- serialisation -------------------------------------------------------------------------
    def to_json(self) -> list[str]:
        return [UNIVERSAL_MARK] if self.universal else sorted(self.items)

    def __iter__(self):
        return iter(sorted(self.items))

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return "StrSet(*)" if self.universal else f"StrSet({sorted(self.items)!r})"


EMPTY = StrSet()
UNIVERSAL = StrSet(frozenset(), True)


@dataclass(frozen=True, slots=True)
class Meta:
    """Producers, consumers and tags of one value. Immutable; merging returns a new Meta."""

    producers: StrSet = EMPTY
    consumers: StrSet = UNIVERSAL
    tags: StrSet = EMPTY
    untrusted: bool = False

    def merge(self, other: "Meta") -> "Meta":
        """Metadata of a value derived from ``self`` and ``other``."""
        if other is self or other == NEUTRAL:
            return self
        if self == NEUTRAL:
            return other
        return Meta(
            self.producers.union(other.producers),
            self.consumers.intersect(other.consumers),
            self.tags.union(other.tags),
            self.untrusted or other.untrusted,
        )

    def with_untrusted(self, untrusted: bool = True) -> "Meta":
        """This metadata with the provenance bit set (``untrusted``) — what a policy update that
        rebuilt the visible sets must not lose."""
        if self.untrusted == untrusted:
            return self
        return Meta(self.producers, self.consumers, self.tags, untrusted)

    @staticmethod
    def merge_all(metas: Iterable["Meta"]) -> "Meta":
        result = NEUTRAL
        for meta in metas:
            result = result.merge(meta)
        return result

    def to_json(self) -> dict[str, list[str]]:
        """The user-visible sets (the reference's shape); ``untrusted`` is internal."""
        return {
            "producers": self.producers.to_json(),
            "consumers": self.consumers.to_json(),
            "tags": self.tags.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "Meta":
        data = data or {}
        return cls(
            StrSet.of(data.get("producers", ())),
            StrSet.of(data.get("consumers", (UNIVERSAL_MARK,))),
            StrSet.of(data.get("tags", ())),
        )


# The identity of ``merge``: no producers, anyone may read, no tags (literals in a program).
NEUTRAL = Meta()


@dataclass(slots=True)
class SessionMeta:
    """Metadata accumulated over a session (``@session.*`` in SQRT). Mutable by policy updates."""

    producers: StrSet = EMPTY
    consumers: StrSet = UNIVERSAL
    tags: StrSet = EMPTY
    extra: dict[str, Any] = field(default_factory=dict)

    def as_meta(self) -> Meta:
        return Meta(self.producers, self.consumers, self.tags)

    def to_json(self) -> dict[str, Any]:
        return {**Meta(self.producers, self.consumers, self.tags).to_json(), **self.extra}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "SessionMeta":
        meta = Meta.from_json(data)
        extra = {k: v for k, v in (data or {}).items() if k not in ("producers", "consumers", "tags")}
        return cls(meta.producers, meta.consumers, meta.tags, extra)


@dataclass(frozen=True, slots=True)
class Tagged:
    """A plain value together with its metadata: how tool arguments reach the policy engine."""

    value: Any
    meta: Meta = NEUTRAL
