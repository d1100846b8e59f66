"""Which session a request belongs to (SPEC "How a request is served", step 5).

Order: the ``X-Session-ID`` header, else the session named by the newest of our tool-call ids in the history,
else a new session. A session is visible only to the key that created it: to any other key it
does not exist (404, never 403, so ids cannot be probed). A session that ended (its last turn
answered) is succeeded by a fresh one that inherits its tool-call id map, because clients such
as the ``sequrity`` SDK keep sending the last ``X-Session-ID`` they saw (``successor``; the agent
decides, since a retry of an ended session's last request must get its stored answer instead).
"""

from __future__ import annotations

from airlock.sessions.ids import is_session_id, new_session_id
from airlock.sessions.records import KeyRecord, SessionRecord
from airlock.sessions.retention import expired
from airlock.sessions.store import Store


class SessionLookupError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param


async def find_or_create(
    store: Store, key: KeyRecord, arch: str, header_id: str | None, history_ids: list[str],
    idle_ttl_s: float = 0.0,
) -> SessionRecord:
    if header_id is not None:
        header_id = header_id.strip()
        if not is_session_id(header_id):
            raise SessionLookupError(400, f"X-Session-ID must be a session UUID, got {header_id[:64]!r}.", "X-Session-ID")
        session_id = header_id
    elif history_ids:
        # The most recent id wins: older ones may name a session that has since ended.
        session_id = history_ids[-1]
    else:
        return SessionRecord(id=new_session_id(), key_id=key.id, arch=arch, state={})

    record = await store.get_session(session_id)
    # An expired session is answered as one that never existed: whether the sweep has deleted
    # its rows yet must not change the answer, and no key learns that an id was once in use.
    if record is None or record.key_id != key.id or expired(record, idle_ttl_s):
        ended = f" (a session ends after {idle_ttl_s:.0f} s without a request)" if idle_ttl_s > 0 else ""
        raise SessionLookupError(404, f"Session {session_id} not found{ended}.", "X-Session-ID")
    return record


def successor(record: SessionRecord, arch: str) -> SessionRecord:
    """A fresh session for a request that names an ended one; it keeps the tool-call and
    response id maps so the history the client still holds resolves."""
    inherited = {"tool_ids": dict(record.state.get("tool_ids", {})),
                 "response_ids": dict(record.state.get("response_ids", {}))}
    return SessionRecord(id=new_session_id(), key_id=record.key_id, arch=arch, state=inherited)
