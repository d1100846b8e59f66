"""The storage interface every backend implements (SQLite and PostgreSQL via SQLAlchemy; Redis next).

Routes and agents only talk to ``Store``; swapping the backend is a settings change. Session
writes are compare-and-set on ``version`` so that two replicas (or two concurrent requests on
one replica) resuming the same session cannot both win: the loser gets ``SessionConflict``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from airlock.sessions.records import KeyRecord, LogWrite, SessionRecord


class SessionConflict(Exception):
    """The session changed since it was read (another request wrote it first)."""


class Store(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None:
        """Raise if the backend is not reachable (used by /control/health)."""

    # keys
    async def add_key(self, record: KeyRecord) -> None: ...
    async def key_by_hash(self, key_hash: str) -> KeyRecord | None: ...
    async def list_keys(self) -> list[KeyRecord]: ...
    async def revoke_key(self, id_or_name: str) -> KeyRecord | None: ...

    # sessions
    async def get_session(self, session_id: str) -> SessionRecord | None: ...
    async def save_session(self, record: SessionRecord, log: LogWrite | None = None) -> SessionRecord:
        """Insert (version 0) or update (version must match the stored one); returns the new
        record. ``log`` is written in the same transaction, only if the state is."""

    async def read_log(self, session_id: str, stream: str, count: int) -> list[dict[str, Any]]:
        """The entries ``0 .. count-1`` of one stream of the session's event log, in order
        (fewer if some are missing: the caller checks)."""

    async def delete_session(self, session_id: str) -> None: ...
    async def delete_idle_sessions(self, updated_before: datetime, limit: int) -> int:
        """Delete up to ``limit`` sessions last written before ``updated_before``, each with its
        event log, in one transaction; returns how many. A session written after the cut, even
        by a request racing this one, is never deleted."""


def store_from_url(url: str) -> Store:
    """Pick the backend for a database URL: embedded SQLite directly, anything else via SQLAlchemy."""
    if url.startswith("sqlite"):
        from airlock.sessions.sqlite import SqliteStore

        return SqliteStore(url)
    from airlock.sessions.sql import SqlStore

    return SqlStore(url)


__all__ = ["Store", "SessionConflict", "store_from_url", "KeyRecord", "LogWrite", "SessionRecord"]
