"""Which leading messages of a request an earlier request of the same session already checked.

A client of a tool-using agent re-posts the whole history at every step: a dual-LLM program
that makes K tool calls is resumed K times with 2K+1 messages. Checking them again each time —
the depth bound, the schema, the dual-LLM parse into the engine's messages — was 1.9 ms of a
K=200 resume and made a session quadratic in K (issue 14's profile). Here each checked message
list is kept as its canonical bytes (orjson: exact types, so ``1``, ``1.0`` and ``true`` differ;
key order kept; one byte string per value), and a new list whose bytes start with a kept list's
bytes, up to an item boundary, begins with exactly the items checked before: those are not
checked again, and their parse is reused. Anything that does not encode (a lone surrogate, an
integer past 64 bits, nesting orjson refuses) simply finds nothing and is checked in full.

Every check this skips is a pure function of one item (the schema validates each message on
its own; parsing one message reads only that message), so the reuse is invisible: the same
body gets the same answer, errors included, with the memo on or off (tests/api/test_history.py
checks both ways on generated histories). Entries are per API key, so one tenant's memo never
answers for another's; memory is bounded by ``history_memo_mb`` (0 turns the memo off).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

from airlock.providers.registry import ApiFormat as Api

#: The body field holding the history, per API. Responses is absent: its items group across
#: items (a run of ``function_call`` items is one assistant turn), and clients chaining with
#: ``previous_response_id`` post only the new items anyway.
ITEMS = {Api.CHAT_COMPLETIONS: "messages", Api.MESSAGES: "messages"}

_PER_BUCKET = 4  # lists kept per session: the latest, plus a retry or a restarted turn
_WEIGHT = 4  # bytes held per byte of a list: its encoding plus the parsed messages kept with it


@dataclass(slots=True)
class Checked:
    """A message list that passed the body checks: ``head`` is its encoding without the
    closing bracket. ``parsed``: what the dual-LLM agent read from it, once it has (its
    messages, and after each item how many of them that item and the earlier ones gave)."""

    head: bytes
    count: int
    parsed: tuple[list[Any], list[int]] | None = None


@dataclass(slots=True)
class Known:
    """This request's history against the memo: its first ``count`` items are ``earlier``'s."""

    count: int = 0
    earlier: Checked | None = None
    total: int = 0  # items in this request's history
    encoded: bytes | None = None
    bucket: tuple[str, ...] | None = None
    #: This request's own entry, once its body passed the checks (the agent attaches its parse).
    entry: Checked | None = None

    def earlier_parse(self) -> tuple[list[Any], list[int]] | None:
        """The parsed messages of the known items and their cut points, if there are any."""
        if not self.count or self.earlier is None or self.earlier.parsed is None:
            return None
        messages, cuts = self.earlier.parsed
        return messages[:cuts[self.count - 1]], cuts[:self.count]

    def attach(self, messages: list[Any], cuts: list[int]) -> None:
        if self.entry is not None:
            self.entry.parsed = (messages, cuts)


NOTHING_KNOWN = Known()


class HistoryMemo:
    def __init__(self, budget_mb: float) -> None:
        self.budget = int(budget_mb * 1024 * 1024)
        self._buckets: OrderedDict[tuple[str, ...], list[Checked]] = OrderedDict()
        self._weight = 0

    def recall(self, key_id: str, session_id: str | None, api: Api, body: dict[str, Any]) -> Known:
        """How many leading items of ``body``'s history were checked before (never all of them:
        at least one is left to check, so the checks always see a non-empty list)."""
        field = ITEMS.get(api)
        items = body.get(field) if field else None
        if self.budget <= 0 or type(items) is not list or not items:
            return NOTHING_KNOWN
        try:
            encoded = orjson.dumps(items)
            # With no session header the first two items name the session well enough: the
            # second holds the first tool call, whose id carries the session id.
            hint = session_id or hashlib.blake2b(orjson.dumps(items[:2]), digest_size=16).hexdigest()
        except TypeError:  # orjson.JSONEncodeError: not canonical, so never known
            return NOTHING_KNOWN
        bucket = (key_id, hint)
        best: Checked | None = None
        for entry in self._buckets.get(bucket, ()):
            head = entry.head
            if ((best is None or entry.count > best.count) and encoded.startswith(head)
                    and encoded[len(head):len(head) + 1] in (b",", b"]")):
                best = entry
        count = min(best.count, len(items) - 1) if best is not None else 0
        return Known(count, best if count else None, len(items), encoded, bucket)

    def keep(self, known: Known) -> None:
        """Remember this request's list (its body passed the checks)."""
        if known.encoded is None or known.bucket is None:
            return
        entry = known.entry = Checked(known.encoded[:-1], known.total)
        old = self._buckets.pop(known.bucket, [])
        kept = [entry] + [e for e in old if e.head != entry.head][:_PER_BUCKET - 1]
        self._buckets[known.bucket] = kept
        self._weight += (sum(len(e.head) for e in kept) - sum(len(e.head) for e in old)) * _WEIGHT
        self._trim()

    def _trim(self) -> None:
        while self._weight > self.budget and self._buckets:
            _, dropped = self._buckets.popitem(last=False)
            self._weight -= sum(len(e.head) for e in dropped) * _WEIGHT
        if not self._buckets:
            self._weight = 0

    def __len__(self) -> int:
        return sum(len(v) for v in self._buckets.values())
