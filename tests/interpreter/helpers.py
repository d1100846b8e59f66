"""Shared helpers for the interpreter tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from airlock.interpreter import (
    AllowAll,
    ExecutionRecord,
    Failed,
    Finished,
    Suspended,
    ToolSpec,
    record_tool_result,
    run,
)
from airlock.meta import Meta, SessionMeta, StrSet, Tagged


def tool(name: str, *params: str, output_schema: dict | None = None) -> ToolSpec:
    return ToolSpec(name, {"type": "object", "properties": {p: {"type": "string"} for p in params},
                           "required": list(params)}, output_schema)


def tools(**params: tuple[str, ...]) -> dict[str, ToolSpec]:
    return {name: tool(name, *ps) for name, ps in params.items()}


def finish(program: str, **kw: Any) -> Finished:
    out = run(program, **kw)
    assert isinstance(out, Finished), f"expected Finished, got {out!r}"
    return out


def value(program: str, **kw: Any) -> Any:
    return finish(program, **kw).value["value"]


def fail(program: str, **kw: Any) -> Failed:
    out = run(program, **kw)
    assert isinstance(out, Failed), f"expected Failed, got {out!r}"
    return out


def drive(program: str, results: Callable[[str, dict], Any] | Mapping[str, Any], *, via_json: bool = True,
          max_rounds: int = 100, **kw: Any):
    """Run a program to completion, answering each suspension with ``results``.

    Returns ``(outcome, calls)`` where ``calls`` lists ``(tool, args)`` in order.
    """
    calls: list[tuple[str, dict]] = []
    out = run(program, **kw)
    rounds = 0
    while isinstance(out, Suspended):
        rounds += 1
        assert rounds <= max_rounds
        (call,) = out.calls
        calls.append((call.tool, call.args_json))
        raw = results(call.tool, call.args_json) if callable(results) else results[call.tool]
        rec = out.record
        if via_json:
            rec = ExecutionRecord.from_json(json.loads(json.dumps(rec.to_json())))
        rec = record_tool_result(rec, call.index, raw)
        out = run(program, record=rec, **kw)
    return out, calls


def meta(producers=(), consumers=("*",), tags=()) -> Meta:
    return Meta(StrSet.of(producers), StrSet.of(consumers), StrSet.of(tags))


@dataclass
class Verdict:
    verdict: str
    message: str = ""

    def to_json(self) -> dict:
        return {"final_verdict": self.verdict, "message": self.message}


@dataclass
class ScriptedPolicy(AllowAll):
    """A small real policy: deny tools by rule, tag results, record everything it saw."""

    deny: Callable[[str, Mapping[str, Tagged], SessionMeta], str | None] | None = None
    result_tags: dict[str, set[str]] = field(default_factory=dict)
    branch_deny_tags: set[str] = field(default_factory=set)
    seen_calls: list[tuple[str, dict]] = field(default_factory=list)
    seen_results: list[tuple[str, Tagged]] = field(default_factory=list)
    seen_branches: list[Meta] = field(default_factory=list)
    session_events: list[tuple[str, str]] = field(default_factory=list)

    def check_call(self, tool, args, session):
        self.seen_calls.append((tool, dict(args)))
        if self.deny is not None:
            v = self.deny(tool, args, session)
            if v:
                return Verdict(v, f"'{tool}' is denied")
        return Verdict("allowed")

    def apply_result(self, tool, args, result, session):
        self.seen_results.append((tool, result))
        extra = self.result_tags.get(tool)
        if extra:
            return result.meta.merge(Meta(tags=StrSet.of(extra)))
        return result.meta

    def update_session(self, tool, phase, args, session, result=None):
        self.session_events.append((tool, phase))
        if phase == "before":
            session.tags = session.tags.union(StrSet.of([f"called:{tool}"]))

    def check_branch(self, condition):
        self.seen_branches.append(condition)
        if condition.tags.overlaps(StrSet.of(self.branch_deny_tags)):
            return Verdict("hard_denied", "branching on protected data")
        return Verdict("allowed")
