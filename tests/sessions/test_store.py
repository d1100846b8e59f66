"""The SQL store against real SQLite and real PostgreSQL: same behaviour on both."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone

import pytest
from contextlib import AsyncExitStack

from tests.conftest import fresh_pg_database

from airlock.keys import hash_key, mint_key
from airlock.sessions.records import LogWrite, SessionRecord
from airlock.sessions.sql import SqlStore
from airlock.sessions.sqlite import SqliteStore
from airlock.sessions.store import SessionConflict


@pytest.fixture(params=["sqlite-direct", "sqlite-sqlalchemy", "postgresql"])
async def store(request, tmp_path):
    async with AsyncExitStack() as stack:
        if request.param == "postgresql":
            url = await stack.enter_async_context(fresh_pg_database())
        else:
            url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
        s = SqliteStore(url) if request.param == "sqlite-direct" else SqlStore(url)
        await s.start()
        stack.push_async_callback(s.close)
        yield s


async def test_migrations_are_idempotent(store):
    await store.start()  # second upgrade on the same database is a no-op
    await store.ping()


async def test_keys_are_stored_hashed_and_revocable(store):
    secret, record = mint_key("alice", {"arch": "dual-llm"})
    await store.add_key(record)
    found = await store.key_by_hash(hash_key(secret))
    assert found is not None and found.name == "alice" and found.base_config == {"arch": "dual-llm"}
    assert found.key_hash != secret and secret not in repr(found)
    assert await store.key_by_hash(hash_key(secret + "x")) is None
    revoked = await store.revoke_key("alice")
    assert revoked is not None and not revoked.active
    assert [k.name for k in await store.list_keys()] == ["alice"]
    assert await store.revoke_key("nobody") is None


async def test_key_policy_lock_is_stored(store):
    _, locked = mint_key("ops", {"arch": "single-llm", "policy": {"codes": {"code": "tool x", "language": "sqrt"}}})
    _, open_key = mint_key("open", {"policy": {"codes": {"code": "tool x"}}}, policy_locked=False)
    _, plain = mint_key("plain", {"arch": "dual-llm"})
    for record in (locked, open_key, plain):
        await store.add_key(record)
    by_name = {k.name: k.policy_locked for k in await store.list_keys()}
    assert by_name == {"ops": True, "open": False, "plain": False}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_migration_locks_keys_that_saved_a_policy_before_the_flag_existed(backend, tmp_path):
    """Keys written by revision 0001 (no lock column) come out of the upgrade locked when they
    carry a policy: the operator's policy holds unless they ask otherwise."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from airlock.sessions.migrate import MIGRATIONS
    from airlock.sessions.sql import normalise_url

    async with AsyncExitStack() as stack:
        url = (await stack.enter_async_context(fresh_pg_database()) if backend == "postgresql"
               else f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
        engine = create_async_engine(normalise_url(url))

        def to_0001(conn):
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = conn
            command.upgrade(config, "0001")

        async with engine.begin() as conn:
            await conn.run_sync(to_0001)
            for name, base in (("with-policy", {"policy": {"codes": {"code": 'tool "x" { hard deny always; }'}}}),
                               ("presets-only", {"policy": {"presets": {"default_allow": False}}}),
                               ("no-policy", {"arch": "dual-llm"})):
                _, record = mint_key(name, base)
                await conn.execute(text(
                    "INSERT INTO api_keys (id, name, prefix, key_hash, base_config, created_at) "
                    "VALUES (:id, :name, :prefix, :hash, :base, :created)"),
                    {"id": record.id, "name": name, "prefix": record.prefix, "hash": record.key_hash,
                     "base": json.dumps(base), "created": record.created_at})
        await engine.dispose()
        store = SqlStore(url)
        await store.start()
        stack.push_async_callback(store.close)
        by_name = {k.name: k.policy_locked for k in await store.list_keys()}
        assert by_name == {"with-policy": True, "presets-only": True, "no-policy": False}


async def test_session_compare_and_set(store):
    record = SessionRecord(id="6f1c2a52-55a8-4c47-9d55-000000000001", key_id="k1", arch="single-llm", state={"turns": 1})
    saved = await store.save_session(record)
    assert saved.version == 1
    loaded = await store.get_session(record.id)
    assert loaded.state == {"turns": 1} and loaded.version == 1
    loaded.state["turns"] = 2
    second = await store.save_session(loaded)
    assert second.version == 2
    stale = SessionRecord(record.id, "k1", "single-llm", {"turns": 99}, version=1)
    with pytest.raises(SessionConflict):
        await store.save_session(stale)
    with pytest.raises(SessionConflict):  # creating an id that exists is a conflict too
        await store.save_session(SessionRecord(record.id, "k1", "single-llm", {}))
    assert (await store.get_session(record.id)).state == {"turns": 2}
    await store.delete_session(record.id)
    assert await store.get_session(record.id) is None


async def test_concurrent_writers_exactly_one_wins(store):
    record = await store.save_session(SessionRecord("6f1c2a52-55a8-4c47-9d55-000000000002", "k1", "dual-llm", {}))

    async def write(n):
        copy = SessionRecord(record.id, "k1", "dual-llm", {"writer": n}, version=record.version)
        try:
            await store.save_session(copy)
            return True
        except SessionConflict:
            return False

    results = await asyncio.gather(*(write(n) for n in range(5)))
    assert results.count(True) == 1


def _ev(i, tag=""):
    return {"index": i, "kind": "tool", "tool": "t", "args": {"i": i}, "result": f"r{i}{tag}", "is_error": False}


async def test_event_log_appends_replaces_and_prunes_with_the_state(store):
    sid = "6f1c2a52-55a8-4c47-9d55-000000000003"
    record = await store.save_session(SessionRecord(sid, "k1", "dual-llm", {"n": 2}),
                                      LogWrite("s1", ((0, _ev(0)), (1, _ev(1)))))
    record = await store.save_session(record, LogWrite("s1", ((2, _ev(2)),)))
    assert await store.read_log(sid, "s1", 3) == [_ev(0), _ev(1), _ev(2)]
    assert await store.read_log(sid, "s1", 2) == [_ev(0), _ev(1)]  # only what the record counts
    assert await store.read_log(sid, "other", 3) == []
    # A re-planned program continues from index 1: its events replace the abandoned attempt's.
    record = await store.save_session(record, LogWrite("s1", ((1, _ev(1, "b")),)))
    assert await store.read_log(sid, "s1", 3) == [_ev(0), _ev(1, "b"), _ev(2)]
    # A new turn's stream: the old turn's entries go, in the same save.
    record = await store.save_session(record, LogWrite("s2", ((0, _ev(0, "new")),), prune=True))
    assert await store.read_log(sid, "s1", 3) == [] and await store.read_log(sid, "s2", 1) == [_ev(0, "new")]
    record = await store.save_session(record, LogWrite(None, (), prune=True))  # the turn ended
    assert await store.read_log(sid, "s2", 1) == []
    await store.save_session(record, LogWrite("s3", ((0, _ev(0)),)))
    await store.delete_session(sid)
    assert await store.read_log(sid, "s3", 1) == []


async def test_a_save_that_loses_the_race_adds_nothing_to_the_log(store):
    """The log is written in the state's transaction: a stale writer (a concurrent request on
    the same session) must not leave its event where the winner's record will count one."""
    sid = "6f1c2a52-55a8-4c47-9d55-000000000004"
    base = await store.save_session(SessionRecord(sid, "k1", "dual-llm", {}), LogWrite("s", ((0, _ev(0)),)))
    winner = SessionRecord(sid, "k1", "dual-llm", {"by": "a"}, version=base.version)
    loser = SessionRecord(sid, "k1", "dual-llm", {"by": "b"}, version=base.version)
    await store.save_session(winner, LogWrite("s", ((1, _ev(1, "a")),)))
    with pytest.raises(SessionConflict):
        await store.save_session(loser, LogWrite("s", ((1, _ev(1, "b")), (2, _ev(2, "b"))), prune=True))
    assert await store.read_log(sid, "s", 5) == [_ev(0), _ev(1, "a")]
    with pytest.raises(SessionConflict):  # creating over an existing id: nothing either
        await store.save_session(SessionRecord(sid, "k1", "dual-llm", {}), LogWrite("t", ((0, _ev(0)),)))
    assert await store.read_log(sid, "t", 1) == []


async def test_concurrent_log_writers_exactly_one_lands(store):
    sid = "6f1c2a52-55a8-4c47-9d55-000000000005"
    base = await store.save_session(SessionRecord(sid, "k1", "dual-llm", {}))

    async def write(n):
        try:
            await store.save_session(SessionRecord(sid, "k1", "dual-llm", {"w": n}, version=base.version),
                                     LogWrite("s", ((0, _ev(0, str(n))),)))
            return n
        except SessionConflict:
            return None

    won = [n for n in await asyncio.gather(*(write(n) for n in range(5))) if n is not None]
    assert len(won) == 1 and await store.read_log(sid, "s", 1) == [_ev(0, str(won[0]))]
    assert (await store.get_session(sid)).state == {"w": won[0]}


async def test_idle_sessions_go_with_their_logs_and_rewritten_ones_stay(store):
    """The sweep deletes what was last written before the cut, its event log with it, a batch at
    a time; a session written again after the cut (a request racing the sweep) is kept whole."""
    sids = [f"6f1c2a52-55a8-4c47-9d55-0000000001{i:02d}" for i in range(5)]
    old = [await store.save_session(SessionRecord(sid, "k1", "dual-llm", {"n": i}), LogWrite("s", ((0, _ev(i)),)))
           for i, sid in enumerate(sids[:3])]
    await asyncio.sleep(0.02)
    cut = datetime.now(timezone.utc)
    await asyncio.sleep(0.02)
    for i, sid in enumerate(sids[3:], start=3):
        await store.save_session(SessionRecord(sid, "k1", "dual-llm", {"n": i}), LogWrite("s", ((0, _ev(i)),)))
    await store.save_session(old[0], LogWrite("s", ((1, _ev(1)),)))  # used again after the cut
    assert await store.delete_idle_sessions(cut, 1) == 1  # one batch of one
    assert await store.delete_idle_sessions(cut, 10) == 1
    assert await store.delete_idle_sessions(cut, 10) == 0
    for i, sid in enumerate(sids):
        gone = i in (1, 2)
        assert (await store.get_session(sid) is None) == gone
        assert await store.read_log(sid, "s", 2) == ([] if gone else [_ev(i), _ev(1)] if i == 0 else [_ev(i)])


async def test_postgresql_sweep_keeps_a_session_a_concurrent_request_just_wrote(pg_url):
    """Read committed: the sweep's subquery picks an idle session while a request's update of it
    is in flight; once that commits, the delete must see the new write and keep the session."""
    import asyncpg

    store = SqlStore(pg_url)
    await store.start()
    sid = "6f1c2a52-55a8-4c47-9d55-000000000200"
    try:
        await store.save_session(SessionRecord(sid, "k1", "dual-llm", {}), LogWrite("s", ((0, _ev(0)),)))
        await asyncio.sleep(0.02)
        cut = datetime.now(timezone.utc)
        writer = await asyncpg.connect(pg_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            request = writer.transaction()
            await request.start()
            await writer.execute("UPDATE sessions SET updated_at = now(), version = version + 1 WHERE id = $1", sid)
            sweep = asyncio.create_task(store.delete_idle_sessions(cut, 10))
            await asyncio.sleep(0.3)
            assert not sweep.done()  # waiting on the request's row lock
            await request.commit()
            assert await sweep == 0
        finally:
            await writer.close()
        assert await store.get_session(sid) is not None and await store.read_log(sid, "s", 1) == [_ev(0)]
    finally:
        await store.close()


async def test_sqlite_checkpoints_in_its_own_thread_and_stops_with_the_store(tmp_path):
    """The write that crosses the WAL threshold no longer runs the checkpoint itself: the store's
    thread does, while the writer keeps a far threshold as its backstop. Sessions survive it."""
    s = SqliteStore(f"sqlite:///{tmp_path / 'c.db'}")
    await s.start()
    record = SessionRecord("s-1", "k", "dual-llm", {"blob": "x" * 200_000})
    for i in range(15):  # 3 MB written: past the thread's threshold
        record.state["i"] = i
        record = await s.save_session(record)
    assert s.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 10_000
    checkpointer = s._checkpointer
    for _ in range(100):
        if checkpointer.done:
            break
        await asyncio.sleep(0.05)
    assert checkpointer.done >= 1
    assert (await s.get_session("s-1")).state["i"] == 14
    await s.close()
    assert not checkpointer._thread.is_alive()
    again = SqliteStore(f"sqlite:///{tmp_path / 'c.db'}")
    assert (await again.get_session("s-1")).version == 15
    await again.close()
