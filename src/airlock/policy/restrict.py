"""Restrictions added by *additional* policies, carried inside ordinary metadata.

A header policy under a locked key and every ``set_policy`` policy are additional: they may add
restrictions (tags, producers; fewer consumers) but never lift one, and they must never change
what the key's policy decides. Clamping their updates (never remove) is not enough for the
second half: a key policy may use metadata as a *capability* — the docs' refund example allows
a refund ``when "final_attempt" in @session.tags`` — and an additional policy that merely adds
that tag would grant what the key withholds. So additional layers write their restrictions as
*marked* entries, and every layer reads the metadata through its own view:

* the **key view** (the base layer) drops marked entries: the base layer sees exactly the
  metadata it would see if no additional policy existed, so its verdicts and updates are the
  key-alone ones by construction;
* the **restricted view** (additional layers) decodes the marks on top of the plain metadata,
  so additional policies see each other's restrictions as well as the key's metadata.

Encoding, in the ordinary sets (so the interpreter propagates marks like any tag — union on
merge — without knowing about them):

* an added tag ``t`` is the tag ``"~t"``; an added producer ``p`` is the producer ``"~p"``;
* a consumer restriction to the readers ``S`` is the tag ``'~consumers:["a","b"]'``. The
  restricted view intersects the plain consumers with every such ``S``; because tags unite on
  merge, restrictions of derived values accumulate, which is the intersection consumers need.

Tags and producers starting with ``~`` are therefore reserved. A forged mark (say, in a tool's
metadata wrapper) can only add a restriction that the additional layers see: it restricts, it
never permits, and the base layer never sees it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from airlock.meta import EMPTY, Meta, SessionMeta, StrSet

MARK = "~"
CONSUMERS_MARK = "~consumers:"


def _split(s: StrSet) -> tuple[StrSet, frozenset[str]]:
    """(plain entries, marked entries) of a set; a universal set has no marked entries."""
    if s.universal or not any(x.startswith(MARK) for x in s.items):
        return s, frozenset()
    marked = frozenset(x for x in s.items if x.startswith(MARK))
    return StrSet(s.items - marked), marked


def key_view(meta: Meta) -> Meta:
    """The metadata without any additional layer's restriction."""
    tags, marked_tags = _split(meta.tags)
    producers, marked_producers = _split(meta.producers)
    if not marked_tags and not marked_producers:
        return meta
    return Meta(producers, meta.consumers, tags, meta.untrusted)


def restricted_view(meta: Meta) -> Meta:
    """The plain metadata with every additional layer's restriction applied."""
    tags, marked_tags = _split(meta.tags)
    producers, marked_producers = _split(meta.producers)
    if not marked_tags and not marked_producers:
        return meta
    consumers = meta.consumers
    added: list[str] = []
    for mark in marked_tags:
        if mark.startswith(CONSUMERS_MARK):
            consumers = consumers.intersect(_readers(mark))
        else:
            added.append(mark[len(MARK):])
    return Meta(producers.union(StrSet.of(p[len(MARK):] for p in marked_producers)), consumers,
                tags.union(StrSet.of(added)), meta.untrusted)


def _readers(mark: str) -> StrSet:
    try:
        names = json.loads(mark[len(CONSUMERS_MARK):])
    except ValueError:
        return EMPTY  # an unreadable restriction restricts everything (fail closed)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return EMPTY
    return StrSet(frozenset(names))


@dataclass(frozen=True, slots=True)
class Restriction:
    """What an additional layer added, as marks to put on the carrier metadata."""

    tags: frozenset[str] = frozenset()
    producers: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.tags or self.producers)


def restriction(before: Meta, after: Meta) -> Restriction:
    """The restrictions ``after`` adds to ``before`` (both restricted views); removals are
    ignored — that is the clamp: an additional layer can only ever add."""
    tags = {MARK + t for t in _added(before.tags, after.tags)}
    producers = {MARK + p for p in _added(before.producers, after.producers)}
    readers = before.consumers.intersect(after.consumers)  # a grown consumer set is no restriction
    if readers != before.consumers:
        tags.add(CONSUMERS_MARK + json.dumps(sorted(readers.items), ensure_ascii=False, separators=(",", ":")))
    return Restriction(frozenset(tags), frozenset(producers))


def _added(before: StrSet, after: StrSet) -> frozenset[str]:
    if after.universal and not before.universal:
        return frozenset({"*"})  # "~*" decodes back to the universal set
    if after.universal:
        return frozenset()
    return frozenset(after.items - before.items) if not before.universal else frozenset()


def restrict(carrier: Meta, r: Restriction) -> Meta:
    """``carrier`` with the marks of ``r`` added."""
    if not r:
        return carrier
    return Meta(carrier.producers.union(StrSet(r.producers)), carrier.consumers, carrier.tags.union(StrSet(r.tags)),
                carrier.untrusted)


def marks_of(meta: Meta) -> Restriction:
    """The marks ``meta`` already carries (restrictions inherited from what it was derived from)."""
    return Restriction(_split(meta.tags)[1], _split(meta.producers)[1])


def session_view(session: SessionMeta, view: Meta) -> SessionMeta:
    """A separate session object showing ``view`` (updates to it do not touch ``session``)."""
    return SessionMeta(view.producers, view.consumers, view.tags, session.extra)
