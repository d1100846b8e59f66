"""The execution record: everything needed to resume a program anywhere, as plain JSON.

A record holds the program, the events of its run in order — tool results (``tool``), host
answers such as the quarantined LLM's (``internal``), clock readings (``clock``) — the calls
waiting for an answer, and the session metadata at the program's start. Resuming re-executes the
program and replays each recorded event at its call; a run that does not reproduce the record is
a ``ReplayDivergence``.

Events are never changed once recorded, so records share them instead of copying: a new record
is a new list of the same event dicts (v1 deep-copied the whole record about seven times per
request).

A record may be *partial*: ``events_from`` > 0 says its first events are kept elsewhere (the
session's append-only event log, ``airlock.sessions``) and ``events`` holds the rest. Loading
and rewriting every earlier event on every request made each resume O(K) in the host (decoding
a 30 KB state at K=150 alone took 0.15 ms); a warm resume needs only the count and the new
events. A replay needs them all: ``complete`` joins the earlier ones back, and ``run`` refuses a
partial record rather than replay a program against half its history.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

RECORD_VERSION = 1
CallKind = Literal["tool", "internal"]


@dataclass(frozen=True)
class PendingCall:
    """A call the host must answer: ``kind`` ``tool`` goes to the client, ``internal`` to the
    host itself (the QLLM)."""

    index: int
    tool: str
    args_json: dict[str, Any]
    kind: CallKind = "tool"

    def to_json(self) -> dict[str, Any]:
        out = {"index": self.index, "tool": self.tool, "args": self.args_json}
        if self.kind != "tool":
            out["kind"] = self.kind
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "PendingCall":
        return cls(int(data["index"]), str(data["tool"]), dict(data.get("args") or {}),
                   "internal" if data.get("kind") == "internal" else "tool")


def _digest(program: str) -> str:
    return hashlib.sha256(program.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class ExecutionRecord:
    program: str
    events: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    session_meta: dict[str, Any] = field(default_factory=dict)  # at the start of the program
    counters: dict[str, int] = field(default_factory=dict)
    #: The id of the run a worker keeps alive at this record's suspension (warm resume; see
    #: ``airlock.sandbox.warm``): a resume continues that run only if the record still names it.
    parked: str = ""
    #: Events ``0 .. events_from-1`` are not held here (a partial record, see the module's doc).
    events_from: int = 0

    @property
    def n_events(self) -> int:
        return self.events_from + len(self.events)

    def complete(self, earlier: list[dict[str, Any]]) -> "ExecutionRecord":
        """This record with its first ``events_from`` events given back (checked by index)."""
        if len(earlier) != self.events_from or any(ev.get("index") != i for i, ev in enumerate(earlier)):
            raise ValueError(f"the earlier events of a partial record must be its first {self.events_from}")
        return ExecutionRecord(program=self.program, events=[*earlier, *self.events], pending=self.pending,
                               session_meta=self.session_meta, counters=self.counters, parked=self.parked)

    def since(self, start: int) -> list[dict[str, Any]]:
        """The events from index ``start`` on (which this record must hold)."""
        if start < self.events_from:
            raise ValueError(f"events before {self.events_from} are not held by this partial record")
        return self.events[start - self.events_from:]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": RECORD_VERSION,
            "program": self.program,
            "program_sha256": _digest(self.program),
            "events": list(self.events),
            "pending": list(self.pending),
            "session_meta": dict(self.session_meta),
            "counters": dict(self.counters),
        }
        if self.parked:
            out["parked"] = self.parked
        if self.events_from:
            out["events_from"] = self.events_from
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ExecutionRecord":
        if data.get("version", RECORD_VERSION) != RECORD_VERSION:
            raise ValueError(f"unsupported execution record version {data.get('version')!r}")
        program = data["program"]
        if not isinstance(program, str):
            raise ValueError("execution record program must be text")
        digest = data.get("program_sha256")
        if digest is not None and digest != _digest(program):
            raise ValueError("execution record program does not match its digest")
        events = list(data.get("events") or [])
        start = data.get("events_from", 0)
        if not isinstance(start, int) or isinstance(start, bool) or start < 0:
            raise ValueError("execution record events_from must be a count")
        for i, ev in enumerate(events, start):
            if not isinstance(ev, dict) or ev.get("index", i) != i:
                raise ValueError(f"execution record events are not contiguous at {i}")
        return cls(program=program, events=events, pending=list(data.get("pending") or []),
                   session_meta=dict(data.get("session_meta") or {}), counters=dict(data.get("counters") or {}),
                   parked=str(data.get("parked") or ""), events_from=start)

    def pending_calls(self) -> list[PendingCall]:
        return [PendingCall.from_json(p) for p in self.pending]


def record_result(record: ExecutionRecord, index: int, raw_result: Any, *, is_error: bool = False,
                  tags: tuple[str, ...] | list[str] = ()) -> ExecutionRecord:
    """A new record with the answer to pending call ``index`` (a client's tool result or the
    host's answer to an internal call). Answers must come in call order. ``tags``: what content
    guards found in the result (they join its metadata, on every replay)."""
    pending = [p for p in record.pending if p.get("index") == index]
    if not pending:
        raise KeyError(f"no pending tool call with index {index}")
    if index != record.n_events:
        raise ValueError(f"tool results must be recorded in call order (next index is {record.n_events})")
    p = pending[0]
    event = {"index": index, "kind": "internal" if p.get("kind") == "internal" else "tool", "tool": p["tool"],
             "args": p["args"], "result": raw_result, "is_error": bool(is_error)}
    if tags:
        event["tags"] = sorted(set(tags))
    return ExecutionRecord(program=record.program, events=[*record.events, event],
                           pending=[q for q in record.pending if q.get("index") != index],
                           session_meta=record.session_meta, counters=dict(record.counters), parked=record.parked,
                           events_from=record.events_from)


record_tool_result = record_result
