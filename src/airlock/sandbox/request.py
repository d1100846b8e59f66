"""One program run as plain data: everything a worker process needs to reproduce it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from airlock.interpreter import ExecutionRecord, RunOptions, ToolSpec, Variable
from airlock.meta import SessionMeta


#: Given ``n``, the first ``n`` events of the request's record (a partial record's earlier
#: events live in the session's event log, ``airlock.interpreter.record``).
EarlierEvents = Callable[[int], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class RunRequest:
    program: str
    tools: dict[str, ToolSpec]
    internal: tuple[str, ...]
    policy: dict[str, Any]            # airlock.policy.PolicySpec.to_json()
    record: ExecutionRecord | None
    session: SessionMeta
    options: RunOptions
    #: Renderings of the final variables to send back: "namespace" (client), "planner".
    views: frozenset[str] = field(default_factory=frozenset)
    #: Content guards on tool-call arguments (``X-Features`` classifiers and blockers) and the
    #: session's redactor state, when the request asks for guards.
    guards: dict[str, Any] | None = None
    redactor: dict[str, Any] | None = None
    #: Globals defined before the program starts (a LangGraph run's context variables).
    variables: dict[str, Variable] = field(default_factory=dict)

    def to_json(self, *, with_record: bool = True) -> dict[str, Any]:
        """``with_record=False``: a warm resume's frame, whose worker holds the record (serialising
        K recorded events only to drop them was an O(K) cost per resume)."""
        return {
            "program": self.program,
            "tools": {n: {"parameters": t.parameters, "output_schema": t.output_schema, "description": t.description}
                      for n, t in self.tools.items()},
            "internal": list(self.internal),
            "policy": self.policy,
            "record": self.record.to_json() if self.record is not None and with_record else None,
            "session": self.session.to_json(),
            "options": self.options.to_json(),
            "views": sorted(self.views),
            "guards": self.guards,
            "redactor": self.redactor,
            **({"variables": {n: v.to_json() for n, v in self.variables.items()}} if self.variables else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RunRequest":
        tools = {n: ToolSpec(n, dict(t.get("parameters") or {}), t.get("output_schema"), t.get("description") or "")
                 for n, t in (data.get("tools") or {}).items()}
        record = ExecutionRecord.from_json(data["record"]) if data.get("record") else None
        return cls(str(data["program"]), tools, tuple(data.get("internal") or ()), dict(data.get("policy") or {}),
                   record, SessionMeta.from_json(data.get("session")), RunOptions.from_json(data.get("options")),
                   frozenset(data.get("views") or ()), data.get("guards"), data.get("redactor"),
                   {n: Variable.from_json(v) for n, v in (data.get("variables") or {}).items()})


async def with_full_record(request: RunRequest, earlier: EarlierEvents | None) -> RunRequest:
    """The request a run that replays needs: its record's earlier events given back. Where they
    cannot be (no reader, a gap in the log) the record stays partial, and the interpreter fails
    the run as a replay divergence instead of replaying half a history."""
    record = request.record
    if record is None or not record.events_from or earlier is None:
        return request
    try:
        return replace(request, record=record.complete(await earlier(record.events_from)))
    except ValueError:
        return request
