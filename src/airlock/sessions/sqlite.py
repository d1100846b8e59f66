"""The embedded SQLite store: stdlib ``sqlite3`` on the event-loop thread.

Measured on the 2-core CI machine: a session INSERT through SQLAlchemy async + aiosqlite costs
0.87 ms (thread hops per statement and commit); the same INSERT on a plain ``sqlite3``
connection in WAL mode costs 0.04 ms. Every request writes its session, so the embedded default
uses the direct path and keeps the gateway's added latency under its 2 ms budget. SQLite
serialises writers anyway; in WAL mode readers never wait, and a writer waits at most
``busy_timeout`` for another process's 40 µs commit. The schema is the same, created by the
same Alembic migrations; PostgreSQL uses ``SqlStore``.

WAL checkpoints run in a thread of their own (``_Checkpointer``), not inside the write that
crosses SQLite's threshold: a checkpoint copies the WAL into the database and fsyncs, 5-8 ms that
landed on whichever request made the thousandth page (``bench/dual_llm_scale.py``: a K=200
session, whose state grows with each call, hit it 3-7 times; 387 ms vs 610 ms without them).
The writer keeps a far threshold of its own as the backstop should the thread fall behind.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import sqlite3
import threading
import uuid
import weakref
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import create_engine

from airlock.jsonsafe import dumps_trusted, loads_trusted
from airlock.sessions.migrate import upgrade_connection
from airlock.sessions.records import KeyRecord, LogWrite, SessionRecord
from airlock.sessions.store import SessionConflict

_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
_CHECKPOINT_BYTES = 2 << 20  # written since the last checkpoint: ask the thread for one
_BACKSTOP_PAGES = 10_000  # the writer checkpoints itself past this (40 MB of WAL at 4 KB pages)

log = logging.getLogger("airlock")


def _now() -> str:
    return datetime.now(timezone.utc).strftime(_FORMAT)


def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    # fromisoformat reads what _FORMAT writes (with or without the fraction) in C: strptime took
    # ~17 µs per timestamp, two per key or session read, and ~0.1 ms the first time per process.
    return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)


@contextlib.contextmanager
def _migration_lock(path: str) -> Iterator[None]:
    if path in ("", ":memory:") or path.startswith("file:"):
        yield
        return
    with open(f"{path}.migrate-lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def sqlite_path(url: str) -> str:
    """``sqlite+aiosqlite:///./x.db`` / ``sqlite:///x.db`` → ``./x.db``."""
    return url.split(":///", 1)[1] if ":///" in url else url


_LIVE: "weakref.WeakSet[_Checkpointer]" = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """Stop every checkpoint thread before the interpreter finalizes: one still inside SQLite
    (or closing its connection) while modules are torn down can crash the process."""
    for checkpointer in list(_LIVE):
        checkpointer.close()


class _Checkpointer:
    """A thread with its own connection that runs a passive WAL checkpoint each time the writer
    has written ``_CHECKPOINT_BYTES``. sqlite3 releases the GIL while SQLite works, so the copy
    and the fsync overlap the event loop instead of stalling it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.done = 0  # checkpoints run (tests read it)
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="airlock-sqlite-checkpoint", daemon=True)
        self._thread.start()
        _LIVE.add(self)

    def request(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=2000")
            while not self._stop:
                self._wake.wait()
                self._wake.clear()
                if self._stop:
                    break
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.done += 1
                except sqlite3.Error as exc:  # the writer's backstop still bounds the WAL
                    log.warning("WAL checkpoint failed: %s", type(exc).__name__)
        finally:
            db.close()


class SqliteStore:
    def __init__(self, url: str) -> None:
        self.path = sqlite_path(url)
        self._db: sqlite3.Connection | None = None
        self._checkpointer: _Checkpointer | None = None
        self._written = 0

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # durable across application crashes
            db.execute("PRAGMA busy_timeout=2000")
            if self.path not in ("", ":memory:") and not self.path.startswith("file:"):
                db.execute(f"PRAGMA wal_autocheckpoint={_BACKSTOP_PAGES}")
                self._checkpointer = _Checkpointer(self.path)
            self._db = db
        return self._db

    def _wrote(self, size: int) -> None:
        self._written += size
        if self._written >= _CHECKPOINT_BYTES and self._checkpointer is not None:
            self._written = 0
            self._checkpointer.request()

    async def start(self) -> None:
        # ``airlock serve --workers N`` starts N processes on one file at once: two Alembic
        # upgrades racing on a fresh file both try CREATE TABLE and one fails. An exclusive file
        # lock makes them take turns; the second finds the schema at head and does nothing.
        with _migration_lock(self.path):
            engine = create_engine(f"sqlite:///{self.path}")
            try:
                with engine.begin() as conn:
                    upgrade_connection(conn)
            finally:
                engine.dispose()

    async def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        if self._db is not None:
            self._db.close()
            self._db = None

    async def ping(self) -> None:
        self.db.execute("SELECT 1").fetchone()

    async def warm(self) -> None:
        """A row written and deleted again: the first commit after start appends to and maps the
        WAL (~1 ms measured inside the first request); this pays it at start-up. A rolled-back
        write does not reach the WAL, so it would not do; the row's id is unique to this call."""
        row_id = f"warm-up-{uuid.uuid4()}"
        now = _now()
        self.db.execute("INSERT INTO sessions (id, key_id, arch, state, version, closed, created_at, updated_at)"
                        " VALUES (?, 'warm-up', 'single-llm', '{}', 1, 0, ?, ?)", (row_id, now, now))
        self.db.execute("DELETE FROM sessions WHERE id = ?", (row_id,))
        # The event log's statements too, as a dual-LLM session's save and replay run them.
        self._write_log(row_id, LogWrite("warm", ((0, {}),)))
        await self.read_log(row_id, "warm", 1)
        self.db.execute("DELETE FROM session_events WHERE session_id = ?", (row_id,))

    # -- keys ---------------------------------------------------------------------------------
    async def add_key(self, record: KeyRecord) -> None:
        from sqlalchemy.exc import IntegrityError

        try:
            self.db.execute(
                "INSERT INTO api_keys (id, name, prefix, key_hash, base_config, created_at, revoked_at, policy_locked)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (record.id, record.name, record.prefix, record.key_hash, json.dumps(record.base_config),
                 record.created_at.strftime(_FORMAT), None, int(record.policy_locked)),
            )
        except sqlite3.IntegrityError as exc:  # same exception type as the SQLAlchemy store raises
            raise IntegrityError("INSERT INTO api_keys", None, exc) from exc

    async def key_by_hash(self, key_hash: str) -> KeyRecord | None:
        row = self.db.execute("SELECT * FROM api_keys WHERE key_hash = ?", (key_hash,)).fetchone()
        return _key(row) if row else None

    async def list_keys(self) -> list[KeyRecord]:
        return [_key(row) for row in self.db.execute("SELECT * FROM api_keys ORDER BY created_at")]

    async def revoke_key(self, id_or_name: str) -> KeyRecord | None:
        db = self.db
        db.execute("UPDATE api_keys SET revoked_at = ? WHERE (id = ? OR name = ?) AND revoked_at IS NULL",
                   (_now(), id_or_name, id_or_name))
        row = db.execute("SELECT * FROM api_keys WHERE id = ? OR name = ?", (id_or_name, id_or_name)).fetchone()
        return _key(row) if row else None

    # -- sessions -----------------------------------------------------------------------------
    async def get_session(self, session_id: str) -> SessionRecord | None:
        row = self.db.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return _session(row) if row else None

    async def save_session(self, record: SessionRecord, log: LogWrite | None = None) -> SessionRecord:
        # Formatted once and kept as a datetime: parsing back what was just formatted cost two
        # strptime calls (~35 µs) on every request.
        now_dt = datetime.now(timezone.utc)
        now = now_dt.strftime(_FORMAT)
        state = dumps_trusted(record.state)
        db = self.db
        # One transaction: the log is written only by the request whose state write wins (a
        # lone statement commits by itself, ~5 µs cheaper).
        atomic = log is not None and (log.prune or bool(log.entries))
        if atomic:
            db.execute("BEGIN")
        try:
            if record.version == 0:
                try:
                    db.execute(
                        "INSERT INTO sessions (id, key_id, arch, state, version, closed, created_at, updated_at) VALUES (?,?,?,?,1,?,?,?)",
                        (record.id, record.key_id, record.arch, state, int(record.closed), now, now),
                    )
                except sqlite3.IntegrityError:
                    raise SessionConflict(record.id) from None
                created = now_dt
            else:
                cursor = db.execute(
                    "UPDATE sessions SET state = ?, version = ?, closed = ?, updated_at = ? WHERE id = ? AND version = ?",
                    (state, record.version + 1, int(record.closed), now, record.id, record.version),
                )
                if cursor.rowcount != 1:
                    raise SessionConflict(record.id)
                created = record.created_at
            written = len(state) + (self._write_log(record.id, log) if atomic and log is not None else 0)
            if atomic:
                db.execute("COMMIT")
        except BaseException:
            if atomic:
                db.execute("ROLLBACK")
            raise
        self._wrote(written)
        return SessionRecord(record.id, record.key_id, record.arch, record.state, record.version + 1, record.closed,
                             created, now_dt)

    def _write_log(self, session_id: str, log: LogWrite) -> int:
        db, size = self.db, 0
        if log.prune:
            db.execute("DELETE FROM session_events WHERE session_id = ? AND stream IS NOT ?", (session_id, log.stream))
        if log.entries and log.stream is not None:
            rows = [(session_id, log.stream, index, dumps_trusted(event)) for index, event in log.entries]
            db.executemany("INSERT OR REPLACE INTO session_events (session_id, stream, idx, event) VALUES (?,?,?,?)", rows)
            size = sum(len(r[3]) for r in rows)
        return size

    async def read_log(self, session_id: str, stream: str, count: int) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT event FROM session_events WHERE session_id = ? AND stream = ? AND idx < ?"
                               " ORDER BY idx", (session_id, stream, count)).fetchall()
        return [loads_trusted(row[0]) for row in rows]

    async def delete_session(self, session_id: str) -> None:
        db = self.db
        db.execute("BEGIN")
        db.execute("DELETE FROM session_events WHERE session_id = ?", (session_id,))
        db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
        db.execute("COMMIT")


    async def delete_idle_sessions(self, updated_before: datetime, limit: int) -> int:
        cut = updated_before.astimezone(timezone.utc).strftime(_FORMAT)
        db = self.db
        db.execute("BEGIN IMMEDIATE")  # the write lock first: no other process writes between the two deletes
        try:
            ids = [row[0] for row in db.execute(
                "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE updated_at < ? ORDER BY updated_at LIMIT ?)"
                " RETURNING id", (cut, limit))]
            db.executemany("DELETE FROM session_events WHERE session_id = ?", [(i,) for i in ids])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return len(ids)


def _key(row: sqlite3.Row) -> KeyRecord:
    return KeyRecord(row["id"], row["name"], row["prefix"], row["key_hash"], json.loads(row["base_config"]),
                     _time(row["created_at"]), _time(row["revoked_at"]), bool(row["policy_locked"]))


def _session(row: sqlite3.Row) -> SessionRecord:
    return SessionRecord(row["id"], row["key_id"], row["arch"], loads_trusted(row["state"]), row["version"],
                         bool(row["closed"]), _time(row["created_at"]), _time(row["updated_at"]))
