"""How long a session lives: idle sessions end, and their rows are deleted.

A session's state and event log hold what its tools returned (mail, files, records), so
keeping every session forever keeps every tool result forever. A session idle longer than
``session_idle_ttl_s`` is over at once, whether or not its rows are gone yet (``expired``:
the lookup answers it as an unknown session), and the sweep deletes its rows later. The two
never disagree about a session: both compare the last write with the same cut.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone

from airlock.sessions.records import SessionRecord
from airlock.sessions.store import Store

log = logging.getLogger("airlock")

#: Sessions deleted per transaction: each batch holds the write lock for a few milliseconds,
#: so requests saving their sessions wait at most that long behind a sweep.
BATCH = 200


def expired(record: SessionRecord, idle_ttl_s: float, now: datetime | None = None) -> bool:
    if idle_ttl_s <= 0 or record.updated_at is None:
        return False
    return record.updated_at < (now or datetime.now(timezone.utc)) - timedelta(seconds=idle_ttl_s)


async def sweep(store: Store, idle_ttl_s: float, now: datetime | None = None) -> int:
    """Delete every session idle longer than ``idle_ttl_s``; returns how many were deleted."""
    if idle_ttl_s <= 0:
        return 0
    cut = (now or datetime.now(timezone.utc)) - timedelta(seconds=idle_ttl_s)
    total = 0
    while True:
        n = await store.delete_idle_sessions(cut, BATCH)
        total += n
        if n < BATCH:
            return total
        await asyncio.sleep(0)  # let the requests waiting on this process's store in between


async def sweep_forever(store: Store, idle_ttl_s: float, interval_s: float) -> None:
    """The server's sweeper: once at start, then every ``interval_s``. A failed sweep is logged
    (its type only: a database error may quote the rows) and tried again at the next one."""
    while True:
        try:
            n = await sweep(store, idle_ttl_s)
            if n:
                log.info("deleted %d sessions idle for more than %.0f s", n, idle_ttl_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the server keeps serving; the next sweep retries
            log.warning("session sweep failed (%s); retrying in %.0f s", type(exc).__name__, interval_s)
        await asyncio.sleep(interval_s)
