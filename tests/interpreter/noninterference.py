"""The noninterference harness: run a program twice with two different secrets, compare what
leaves the program, and require every difference to carry the secret's tag.

A program reads its secret from a client tool ``src`` (tagged ``secret``) and public values from
``pub`` (untagged); it reports through ``sink(v=...)`` calls, whose arguments' metadata a
recording policy captures (what a real policy would see). Observations are the sink calls in
order and the final value. Programs mark their control path with ``mark(p="...")`` calls in each
branch. ``explicit`` comparison considers only runs that took the same path (the same marks):
that is what ``standard`` guarantees. ``implicit`` compares everything, marks included (a mark
made under a branch on the secret must carry it): what ``strict`` guarantees.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from airlock.interpreter import ExecutionRecord, Failed, Finished, InternalTool, Limits, RunOptions, Suspended, ToolSpec, run
from airlock.meta import Meta

SECRET = "secret"
LIMITS = Limits(max_loop_iterations=300, max_steps=50_000, wall_time_s=5.0)
TOOLS = {
    "src": ToolSpec("src", {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}),
    "pub": ToolSpec("pub", {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}),
}
LOCAL = {
    "sink": InternalTool("sink", lambda v: None, ["v"], ["v"]),
    "mark": InternalTool("mark", lambda p: None, ["p"], ["p"]),
}


@dataclass
class Recorder:
    """A policy hook that allows everything and records what sinks and branches saw."""

    sinks: list[tuple[Any, Meta]] = field(default_factory=list)
    marks: list[tuple[Any, Meta]] = field(default_factory=list)
    events: list[tuple[str, Any, Meta]] = field(default_factory=list)

    def check_call(self, tool, args, session, control=None):
        if tool == "sink":
            self.sinks.append((args["v"].value, args["v"].meta))
            self.events.append(("sink", args["v"].value, args["v"].meta))
        elif tool == "mark":
            self.marks.append((args["p"].value, args["p"].meta))
            self.events.append(("mark", args["p"].value, args["p"].meta))
        return None

    def apply_result(self, tool, args, result, session, control=None):
        return result.meta

    def update_session(self, tool, phase, args, session, result=None, control=None):
        return None

    def check_branch(self, condition):
        return None


@dataclass
class Observation:
    sinks: list[tuple[Any, Meta]]
    final: Any
    final_meta: Meta | None
    error: str | None
    marks: list[tuple[Any, Meta]]
    events: list[tuple[str, Any, Meta]]


def secret_wrapper(value: Any) -> dict[str, Any]:
    return {"value": value, "meta": {"producers": [], "consumers": ["*"], "tags": [SECRET]},
            "is_sequrity_var": True, "combine_meta": "merge"}


def observe(program: str, inputs: list[tuple[str, str, Any]], mode: str) -> Observation:
    """Run ``program`` once. ``inputs``: the ``src``/``pub`` calls it makes first, in order, as
    ``(tool, name, value)`` — answered from a pre-built record, so one run suffices; ``sink`` and
    ``mark`` are local internal tools the recording policy watches."""
    rec = Recorder()
    opts = RunOptions(mode=mode, tool_producer=False, limits=LIMITS)
    events = []
    for i, (tool, name, value) in enumerate(inputs):
        raw = json.dumps(secret_wrapper(value) if tool == "src" else value)
        events.append({"index": i, "kind": "tool", "tool": tool, "args": {"name": name}, "result": raw,
                       "is_error": False})
    record = ExecutionRecord(program=program, events=events)
    out = run(program, tools=TOOLS, internal_tools=LOCAL, policy=rec, options=opts, record=record)
    assert not isinstance(out, Suspended), f"program asked for more input: {out.calls}"
    if isinstance(out, Finished):
        return Observation(list(rec.sinks), out.value["value"], Meta.from_json(out.value["meta"]), None,
                           list(rec.marks), list(rec.events))
    assert isinstance(out, Failed)
    assert out.error.code not in ("internal_error", "replay_divergence"), out.error.to_json()
    return Observation(list(rec.sinks), None, None, out.error.code, list(rec.marks), list(rec.events))


def tagged(m: Meta | None) -> bool:
    return m is not None and SECRET in m.tags.items


def leaks(a: Observation, b: Observation, implicit: bool) -> list[str]:
    """Differences between two runs that do not carry the secret's tag (empty: noninterference).

    ``implicit``: the *low views* — the untagged events, sinks and marks, in order — must be the
    same sequence (tagged events may appear, vanish or differ: they carry the secret; how many
    there are is the documented call-count channel). Otherwise, for two runs that took the same
    path (the same marks with the same number of sinks between them, both finished or both
    failed), every sink that differs must be tagged in both runs."""
    if implicit:
        low_a = [(k, _canon(v)) for k, v, m in a.events if not tagged(m)]
        low_b = [(k, _canon(v)) for k, v, m in b.events if not tagged(m)]
        # Termination-insensitive: a run that stopped (a limit, an uncaught error) shows a prefix.
        if a.error is not None and b.error is None:
            same = low_b[:len(low_a)] == low_a
        elif b.error is not None and a.error is None:
            same = low_a[:len(low_b)] == low_b
        elif a.error is not None and b.error is not None:
            n = min(len(low_a), len(low_b))
            same = low_a[:n] == low_b[:n]
        else:
            same = low_a == low_b
        problems = [] if same else [f"low views differ:\n  {low_a}\n  {low_b}"]
    else:
        shape_a = [(k, _canon(v) if k == "mark" else None) for k, v, _ in a.events]
        shape_b = [(k, _canon(v) if k == "mark" else None) for k, v, _ in b.events]
        same_path = shape_a == shape_b and (a.error is None) == (b.error is None)
        if not same_path:
            return []  # a different control path: only strict mode promises anything here
        problems = _compare("sink", a.sinks, b.sinks)
    if a.error is None and b.error is None and _canon(a.final) != _canon(b.final):
        if not (tagged(a.final_meta) and tagged(b.final_meta)):
            problems.append(f"final value {a.final!r} vs {b.final!r} untagged")
    return problems


def _compare(kind: str, xs: list[tuple[Any, Meta]], ys: list[tuple[Any, Meta]]) -> list[str]:
    problems = []
    for i in range(max(len(xs), len(ys))):
        sa = xs[i] if i < len(xs) else None
        sb = ys[i] if i < len(ys) else None
        if sa is not None and sb is not None:
            if _canon(sa[0]) != _canon(sb[0]) and not (tagged(sa[1]) and tagged(sb[1])):
                problems.append(f"{kind} {i}: {sa[0]!r} vs {sb[0]!r} (tagged: {tagged(sa[1])}, {tagged(sb[1])})")
        else:
            only = sa or sb
            assert only is not None
            if not tagged(only[1]):
                problems.append(f"{kind} {i} happens in one run only, untagged: {only[0]!r}")
    return problems


def _canon(v: Any) -> str:
    return json.dumps(v, sort_keys=True, default=str)
