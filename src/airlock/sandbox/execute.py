"""Run one request and return its outcome as plain data — the same function in a worker process
and in-process."""

from __future__ import annotations

from typing import Any

from airlock import interpreter as interp
from airlock.interpreter import Outcome, Parker, Suspended
from airlock.interpreter.errors import ResourceLimitExceeded
from airlock.interpreter.outcomes import Failed, outcome_to_json
from airlock.policy import PolicySpec, build_policy

from .internal import internal_tools
from .request import RunRequest


class ArgumentGuards:
    """``airlock.guards`` as the interpreter's argument guard: local detectors (a worker cannot
    await the LLM classifier; results get it on the host, see the dual-LLM engine)."""

    def __init__(self, features: dict[str, Any], redactor: dict[str, Any] | None) -> None:
        from airlock.guards import GuardSet, Redactor

        self.guards = GuardSet.from_features(features)
        self.redactor = Redactor.from_json(redactor)

    def set_redactor(self, redactor: dict[str, Any] | None) -> None:
        """The host's redactor moved on (it redacted tool results) since this guard was built."""
        from airlock.guards import Redactor

        self.redactor = Redactor.from_json(redactor)

    def scan_argument(self, tool: str, name: str, value: Any) -> tuple[frozenset[str], Any, list[str]]:
        scan = self.guards.scan_value_local(value, "argument", self.redactor, name)
        return scan.tags, scan.value, [b.describe() for b in scan.blocks]


def guard_for(request: RunRequest) -> ArgumentGuards | None:
    return ArgumentGuards(request.guards, request.redactor) if request.guards else None


def run_request(request: RunRequest, guard: ArgumentGuards | None, parker: Parker | None = None) -> Outcome:
    policy = build_policy(PolicySpec.from_json(request.policy))
    return interp.run(request.program, tools=request.tools, internal_tools=internal_tools(request.internal),
                      policy=policy, record=request.record, session=request.session, options=request.options,
                      guard=guard, parker=parker, variables=request.variables)


def render(outcome: Outcome, request: RunRequest, guard: ArgumentGuards | None, known: int = 0) -> dict[str, Any]:
    """The outcome as the host needs it. A suspended run's policy history is left out (the host
    reads the history of finished and failed runs only, which repeat it), and only the record
    events past the ``known`` first ones are sent: what crosses the process boundary per resume
    is then the new events, not the whole session so far.

    A finished or failed run's history holds the checks of the host's internal tools (the engine
    reads ``set_policy`` and ``complete_turn`` there), and every check only for the ``history``
    view (a client asked for ``include_policy_check_history``): K checks are ~0.5 KB each, and
    encoding, piping and decoding them was most of the last request of a K=200 session (3 ms)."""
    try:
        out = outcome_to_json(outcome, request.views)
    except MemoryError:
        # The run itself turns memory errors into failures; this is rendering its outcome.
        out = outcome_to_json(Failed(ResourceLimitExceeded("out of memory", limit="max_memory_mb"), [],
                                     request.record, session=request.session))
    if isinstance(outcome, Suspended):
        out["history"] = []
    elif "history" not in request.views:
        internal = set(request.internal)
        out["history"] = [h for h in out["history"] if h.get("tool") in internal]
    record = out.get("record")
    if known and record is not None:
        record["events"] = record["events"][max(0, known - record.get("events_from", 0)):]
        record["events_from"] = known
    if guard is not None:
        out["host_state"] = {"redactor": guard.redactor.to_json()}
    return out


def execute(request: RunRequest) -> dict[str, Any]:
    guard = guard_for(request)
    return render(run_request(request, guard), request, guard)
