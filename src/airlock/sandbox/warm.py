"""Warm resume: a suspended program stays alive in its worker, so that the answer to its call
continues it instead of replaying it from the start.

Why: resuming by replay re-executes the program from its start with the recorded results. Any
replica can do that from plain data, but a session whose program makes K calls then costs O(K²):
measured with ``bench/dual_llm_scale.py``, K=200 took 120x the time of K=10 and the last resume
17x the first. Here a run that reaches a call the host must answer *parks*: the interpreter's
stack is a greenlet, switched out at the call (no thread, no copy of the heap), and the worker
answers with the outcome a replay would return. The next request for the same session goes to
the same worker (``ProgramPool`` affinity) with only the new record events, and the greenlet
continues from the call.

The record stays the source of truth, so warm is only ever a shortcut. A parked run is resumed
only when the request names it (the record's ``parked`` id, fresh at every park, consumed by its
resume, so two racing requests cannot both continue it), continues its record exactly where it
stopped, and carries the program, tools, policy, options and guards it started with; any other
request — another replica, a restarted or killed worker, a changed key policy, an evicted run —
replays, with the same outcome (``tests/sandbox/test_warm.py`` runs every program both ways and
compares). Parked runs are bounded per worker in number, age and memory; beyond them the oldest
is dropped (its session replays).

Semantics that differ on purpose: the wall-clock limit applies to each segment between calls
(time spent waiting for a client is not the program's), as it does to each replayed run.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from greenlet import greenlet

from airlock.interpreter import Suspended
from airlock.interpreter.budget import rss_bytes

from .execute import ArgumentGuards, guard_for, render, run_request
from .request import RunRequest

#: The request fields a resume must share with the parked run (the record, the session metadata
#: and the redactor move on between requests; the replay resets the session from the record).
STATIC = ("program", "tools", "internal", "policy", "options", "views", "guards", "variables")


def static_part(request_json: dict[str, Any]) -> dict[str, Any]:
    return {k: request_json.get(k) for k in STATIC}


@dataclass(frozen=True)
class WarmSettings:
    max_runs: int = 64
    ttl_s: float = 300.0
    #: Memory the parked runs may hold: past this growth of the worker over its warm size, a
    #: suspending run is not kept (the pool recycles a worker that grew too much anyway).
    max_mb: float = 128.0


@dataclass
class _Parked:
    run: greenlet
    token: str
    static: dict[str, Any]
    events: int
    guard: ArgumentGuards | None
    request: RunRequest
    since: float = field(default_factory=time.monotonic)


class WarmRuns:
    """The runs one worker keeps parked, by handle (the session they belong to)."""

    def __init__(self, settings: WarmSettings | None = None) -> None:
        self.settings = settings or WarmSettings()
        self._parked: OrderedDict[str, _Parked] = OrderedDict()
        self.evicted: list[str] = []  # handles dropped since the host last heard (it forgets them)
        self._base = rss_bytes()

    def __len__(self) -> int:
        return len(self._parked)

    def drop(self, handle: str) -> None:
        p = self._parked.pop(handle, None)
        if p is not None and not p.run.dead:
            p.run.throw()  # GreenletExit unwinds the run (no program code runs while it does)

    def start(self, request: RunRequest, request_json: dict[str, Any], handle: str) -> dict[str, Any]:
        """A run from its record (a replay, or the program's first run); parks if it suspends."""
        self.drop(handle)
        guard = guard_for(request)

        def body() -> tuple[str, Any]:
            return "done", run_request(request, guard, parker=_park)

        known = request.record.n_events if request.record is not None else 0
        run = greenlet(body)
        return self._settle(handle, run, run.switch(), static_part(request_json), guard, request, known)

    def resume(self, handle: str, token: str, start: int, answers: list[dict[str, Any]],
               request: RunRequest, request_json: dict[str, Any]) -> dict[str, Any] | None:
        """Continue a parked run with the answers to its calls; ``None``: not parked here (the
        host then sends the whole record)."""
        p = self._parked.get(handle)
        if p is None or p.token != token or p.events != start or p.static != static_part(request_json):
            self.drop(handle)
            return None
        del self._parked[handle]
        if p.guard is not None:
            p.guard.set_redactor(request.redactor)
        return self._settle(handle, p.run, p.run.switch(answers), p.static, p.guard, p.request,
                            start + len(answers))

    def _settle(self, handle: str, run: greenlet, result: tuple[str, Any], static: dict[str, Any],
                guard: ArgumentGuards | None, request: RunRequest, known: int) -> dict[str, Any]:
        kind, outcome = result
        keep = kind == "suspended" and self._fits()
        if keep:
            token = secrets.token_hex(8)
            outcome.record.parked = token
            self._parked[handle] = _Parked(run, token, static, outcome.record.n_events, guard, request)
        out = render(outcome, request, guard, known)
        if kind == "suspended" and not keep:
            run.throw()
        if keep:
            self._trim()
        return out

    def _fits(self) -> bool:
        return self.settings.max_runs > 0 and (rss_bytes() - self._base) / (1 << 20) <= self.settings.max_mb

    def _trim(self) -> None:
        now = time.monotonic()
        while self._parked:
            handle, oldest = next(iter(self._parked.items()))
            if len(self._parked) <= self.settings.max_runs and now - oldest.since <= self.settings.ttl_s:
                break
            self.drop(handle)
            self.evicted.append(handle)

    def expire(self) -> list[str]:
        """Drop what outlived its age; return every handle dropped since the last call."""
        self._trim()
        out, self.evicted = self.evicted, []
        return out


def _park(suspended: Suspended) -> list[dict[str, Any]]:
    """The interpreter's parker: hand the outcome to the worker loop, wait for the answers."""
    current = greenlet.getcurrent()
    assert current.parent is not None
    answers: list[dict[str, Any]] = current.parent.switch(("suspended", suspended))
    return answers

