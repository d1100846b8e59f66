"""The turn's execution record in the session's append-only event log (``LogWrite``).

Why: the record gains one event per tool call, and when it lived whole in the session's state
every request decoded and rewrote all earlier events; at K=150 calls that was a 30 KB state and
0.15 ms to decode it alone, per request (O(K²) per session, and the WAL written with it). Here
the state holds each record *partial* (``ExecutionRecord.events_from``): the count of earlier
events, which the log holds under the turn's stream, plus the events added since the last save.
``flush`` moves those to the log as the session is saved (in the same transaction as its
compare-and-set, so a request that loses a race adds none). A warm resume needs only the count
and the new events; a replay (another replica, an evicted run) reads the earlier ones back.

States written before the log keep their records whole and inline (no stream): they resume as
they did and their turn ends as it would have.
"""

from __future__ import annotations

import secrets
from typing import Any

from airlock.sessions.records import LogWrite

RECORDS = ("base_record", "record")  # the turn's records: base (earlier steps), then current


def new_stream() -> str:
    return secrets.token_hex(8)


def stream_of(state: dict[str, Any]) -> str | None:
    cur = state.get("current")
    stream = cur.get("log") if isinstance(cur, dict) else None
    return stream if isinstance(stream, str) else None


def flush(state: dict[str, Any], loaded: str | None) -> LogWrite | None:
    """Move the events the turn's records gained into a ``LogWrite`` (the records become partial);
    ``loaded``: the stream the session had when the request read it (a different one now means
    its turn is over and its entries go)."""
    stream = stream_of(state)
    entries: dict[int, dict[str, Any]] = {}
    if stream is not None:
        cur = state["current"]
        for key in RECORDS:  # the current record last: where the two overlap they agree
            record = cur.get(key)
            if record and record.get("events"):
                start = int(record.get("events_from", 0))
                entries.update(enumerate(record["events"], start))
                record["events_from"], record["events"] = start + len(record["events"]), []
    prune = loaded is not None and loaded != stream
    if not entries and not prune:
        return None
    return LogWrite(stream, tuple(sorted(entries.items())), prune)
