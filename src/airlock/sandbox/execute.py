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


def execute(request: RunRequest) -> dict[str, Any]:
    policy = build_policy(PolicySpec.from_json(request.policy))
    try:
        outcome = interp.run(request.program, tools=request.tools, internal_tools=internal_tools(request.internal),
                             policy=policy, record=request.record, session=request.session, options=request.options)
        return outcome_to_json(outcome, request.views)
    except MemoryError:
        # The run itself turns memory errors into failures; this is rendering its outcome.
        return outcome_to_json(Failed(ResourceLimitExceeded("out of memory", limit="max_memory_mb"), [],
                                      request.record, session=request.session))
