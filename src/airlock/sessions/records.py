"""Plain records the stores hand out: what a key and a session are, independent of any backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class KeyRecord:
    """An Airlock API key. Only the SHA-256 of the secret is ever stored; ``prefix`` is for display.

    ``policy_locked``: the key's saved policy is the operator's and cannot be weakened by a
    request (header policies become additional, restrict-only ones; see ``config.resolver``).
    """

    id: str
    name: str
    prefix: str
    key_hash: str
    base_config: dict[str, Any]
    created_at: datetime
    revoked_at: datetime | None = None
    policy_locked: bool = False

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(slots=True)
class SessionRecord:
    """One session: owned by one key, versioned so concurrent writers cannot silently overwrite.

    ``state`` is plain JSON (turn counters, tool-call id map, interpreter records...). It never
    holds provider keys: a BYOK key lives only for the request that carried it.
    """

    id: str
    key_id: str
    arch: str
    state: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    closed: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LogWrite:
    """What a session save adds to the session's append-only event log, in the same transaction
    as the compare-and-set of its state (a request that loses the race adds nothing).

    The log holds entries by ``(stream, index)``; an entry written again at an index replaces
    the old one (a re-planned program continues from its earlier steps' events, overwriting those
    of the attempt it replaces). ``prune``: the entries of every other stream are deleted (the
    turn they belonged to is over); ``stream`` ``None`` with ``prune`` deletes them all.
    """

    stream: str | None
    entries: tuple[tuple[int, dict[str, Any]], ...] = ()
    prune: bool = False
