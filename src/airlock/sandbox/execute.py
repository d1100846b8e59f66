"""Run one request and return its outcome as plain data — the same function in a worker process
and in-process."""

from __future__ import annotations

from typing import Any

from airlock import interpreter as interp
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

    def scan_argument(self, tool: str, name: str, value: Any) -> tuple[frozenset[str], Any, list[str]]:
        scan = self.guards.scan_value_local(value, "argument", self.redactor, name)
        return scan.tags, scan.value, [b.describe() for b in scan.blocks]


def execute(request: RunRequest) -> dict[str, Any]:
    policy = build_policy(PolicySpec.from_json(request.policy))
    guard = ArgumentGuards(request.guards, request.redactor) if request.guards else None
    try:
        outcome = interp.run(request.program, tools=request.tools, internal_tools=internal_tools(request.internal),
                             policy=policy, record=request.record, session=request.session, options=request.options,
                             guard=guard)
        out = outcome_to_json(outcome, request.views)
        if guard is not None:
            out["host_state"] = {"redactor": guard.redactor.to_json()}
        return out
    except MemoryError:
        # The run itself turns memory errors into failures; this is rendering its outcome.
        return outcome_to_json(Failed(ResourceLimitExceeded("out of memory", limit="max_memory_mb"), [],
                                      request.record, session=request.session))
