"""SQLAlchemy (async) store: SQLite by default, PostgreSQL with ``postgresql+asyncpg://``."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete, event, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from airlock.sessions.migrate import upgrade_connection
from airlock.sessions.records import KeyRecord, LogWrite, SessionRecord
from airlock.sessions.schema import api_keys, session_events, sessions
from airlock.sessions.store import SessionConflict


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes; everything we stored was UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def normalise_url(url: str) -> str:
    """Accept the URLs operators type (``postgresql://``, ``sqlite:///x``) and pick async drivers."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///"):]
    return url


class SqlStore:
    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine: AsyncEngine = create_async_engine(self.url, pool_pre_ping=not self._sqlite)
        if self._sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    @property
    def _sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    async def start(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(upgrade_connection)

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    # -- keys ---------------------------------------------------------------------------------
    async def add_key(self, record: KeyRecord) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                api_keys.insert().values(
                    id=record.id,
                    name=record.name,
                    prefix=record.prefix,
                    key_hash=record.key_hash,
                    base_config=record.base_config,
                    created_at=record.created_at,
                    revoked_at=record.revoked_at,
                    policy_locked=record.policy_locked,
                )
            )

    async def key_by_hash(self, key_hash: str) -> KeyRecord | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(api_keys).where(api_keys.c.key_hash == key_hash))).first()
        return _key(row) if row else None

    async def list_keys(self) -> list[KeyRecord]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(api_keys).order_by(api_keys.c.created_at))).all()
        return [_key(row) for row in rows]

    async def revoke_key(self, id_or_name: str) -> KeyRecord | None:
        async with self.engine.begin() as conn:
            match = (api_keys.c.id == id_or_name) | (api_keys.c.name == id_or_name)
            row = (await conn.execute(select(api_keys).where(match))).first()
            if row is None:
                return None
            if row.revoked_at is None:
                await conn.execute(update(api_keys).where(api_keys.c.id == row.id).values(revoked_at=_utcnow()))
            row = (await conn.execute(select(api_keys).where(api_keys.c.id == row.id))).first()
        return _key(row)

    # -- sessions -----------------------------------------------------------------------------
    async def get_session(self, session_id: str) -> SessionRecord | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(sessions).where(sessions.c.id == session_id))).first()
        return _session(row) if row else None

    async def save_session(self, record: SessionRecord, log: LogWrite | None = None) -> SessionRecord:
        now = _utcnow()
        async with self.engine.begin() as conn:
            if record.version == 0:
                row = dict(
                    id=record.id,
                    key_id=record.key_id,
                    arch=record.arch,
                    state=record.state,
                    version=1,
                    closed=record.closed,
                    created_at=now,
                    updated_at=now,
                )
                await _insert_or_conflict(conn, record.id, sessions.insert().values(**row))
                created = now
            else:
                result = await conn.execute(
                    update(sessions)
                    .where(sessions.c.id == record.id, sessions.c.version == record.version)
                    .values(state=record.state, version=record.version + 1, closed=record.closed, updated_at=now)
                )
                if result.rowcount != 1:
                    raise SessionConflict(record.id)
                created = record.created_at
            if log is not None:
                await self._write_log(conn, record.id, log)
        return SessionRecord(
            record.id, record.key_id, record.arch, record.state, record.version + 1, record.closed, created, now
        )

    async def _write_log(self, conn, session_id: str, log: LogWrite) -> None:
        if log.prune:
            others = session_events.c.session_id == session_id
            if log.stream is not None:
                others = others & (session_events.c.stream != log.stream)
            await conn.execute(delete(session_events).where(others))
        if log.entries and log.stream is not None:
            if self._sqlite:
                from sqlalchemy.dialects.sqlite import insert
            else:
                from sqlalchemy.dialects.postgresql import insert
            statement = insert(session_events)
            statement = statement.on_conflict_do_update(
                index_elements=[session_events.c.session_id, session_events.c.stream, session_events.c.idx],
                set_={"event": statement.excluded.event})
            await conn.execute(statement, [{"session_id": session_id, "stream": log.stream, "idx": index, "event": ev}
                                           for index, ev in log.entries])

    async def read_log(self, session_id: str, stream: str, count: int) -> list[dict[str, Any]]:
        c = session_events.c
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(c.event).where(c.session_id == session_id, c.stream == stream, c.idx < count)
                                       .order_by(c.idx))).all()
        return [row.event for row in rows]

    async def delete_session(self, session_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(session_events).where(session_events.c.session_id == session_id))
            await conn.execute(sessions.delete().where(sessions.c.id == session_id))


    async def delete_idle_sessions(self, updated_before: datetime, limit: int) -> int:
        c = sessions.c
        oldest = select(c.id).where(c.updated_at < updated_before).order_by(c.updated_at).limit(limit)
        async with self.engine.begin() as conn:
            # The cut is checked again by the DELETE itself: under PostgreSQL's read committed, a
            # row a racing request updated after the subquery read it is re-evaluated and kept.
            ids = list((await conn.execute(
                sessions.delete().where(c.id.in_(oldest.scalar_subquery()), c.updated_at < updated_before)
                .returning(c.id))).scalars())
            if ids:
                await conn.execute(delete(session_events).where(session_events.c.session_id.in_(ids)))
        return len(ids)


async def _insert_or_conflict(conn, session_id: str, statement) -> None:
    # Two requests creating the same session id: the second is a conflict, not a crash.
    try:
        await conn.execute(statement)
    except IntegrityError as exc:
        raise SessionConflict(session_id) from exc


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers proceed while one writer commits; NORMAL sync is durable across app crashes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _key(row) -> KeyRecord:
    return KeyRecord(
        row.id, row.name, row.prefix, row.key_hash, row.base_config, _aware(row.created_at), _aware(row.revoked_at),
        bool(row.policy_locked),
    )


def _session(row) -> SessionRecord:
    return SessionRecord(
        row.id, row.key_id, row.arch, row.state, row.version, row.closed, _aware(row.created_at), _aware(row.updated_at)
    )
