"""``run``: execute (or resume) a program until it finishes, fails or needs the host."""

from __future__ import annotations

import re as _pyre
from typing import Any, Callable, Mapping

from airlock.meta import SessionMeta

from .compile import Frame, compile_program
from .errors import InterpreterError, ProgramError, ProgRaise, ReplayDivergence, ResourceLimitExceeded, Suspend
from .hooks import AllowAll, ArgumentGuard, PolicyHook
from .machine import Machine
from .options import RunOptions
from .outcomes import Failed, Finished, Outcome, Suspended
from .record import ExecutionRecord, PendingCall
from .stdlib.objects import ExcObj
from .tools import InternalTool, ToolFn, ToolSpec
from .values import Value, mm, to_json_value
from .variables import Variable, bind

ToolsArg = Mapping[str, "ToolSpec | Mapping[str, Any]"] | None
InternalArg = Mapping[str, "Callable[..., Any] | InternalTool"] | None
#: Takes the outcome a run would return at a call the host must answer; returns the answers.
Parker = Callable[[Suspended], list[dict[str, Any]]]


def tool_values(tools: ToolsArg, internal: InternalArg) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for name, spec in (tools or {}).items():
        if not isinstance(spec, ToolSpec):
            spec = ToolSpec(name=name, parameters=dict(spec.get("parameters") or {}),
                            output_schema=spec.get("output_schema"), description=spec.get("description", ""))
        out[name] = Value(ToolFn(name, spec, None))
    for name, fn in (internal or {}).items():
        itool = fn if isinstance(fn, InternalTool) else InternalTool.from_callable(name, fn)
        out[name] = Value(ToolFn(name, None, itool))
    # Tools whose names are not identifiers ("get-weather") are also callable by a sanitised
    # alias ("get_weather"); the call still goes out under the real name.
    for name in list(out):
        if not name.isidentifier():
            alias = _pyre.sub(r"\W", "_", name)
            if alias and alias[0].isdigit():
                alias = "_" + alias
            if alias.isidentifier() and alias not in out:
                out[alias] = out[name]
    return out


def program_error(exc: ExcObj) -> ProgramError:
    """An uncaught program exception. The planner sees its message only when everything that
    produced it is proven trusted; otherwise the type alone."""
    m = exc.meta
    for a in exc.args:
        m = mm(m, a.m)
    text = f"{exc.type.name}: {exc.message()}"
    safe = text if not m.untrusted else f"{exc.type.name} (message hidden: it depends on data from tools)"
    return ProgramError(text, line=exc.line, col=exc.col, detail={"exception": exc.type.name}, safe=safe)


def run(
    program: str,
    *,
    tools: ToolsArg = None,
    internal_tools: InternalArg = None,
    policy: PolicyHook | None = None,
    record: ExecutionRecord | None = None,
    session: SessionMeta | None = None,
    options: RunOptions | None = None,
    guard: ArgumentGuard | None = None,
    parker: Parker | None = None,
    variables: Mapping[str, Variable] | None = None,
) -> Outcome:
    """Run (or resume, with ``record``) a program until it finishes, fails or must suspend.

    ``session`` is updated in place by the policy hook; when resuming it is first reset to the
    session metadata recorded at the program's start, so the replay sees what the first run saw.
    With ``parker`` the run does not return at a call the host must answer: it hands the host
    the ``Suspended`` outcome it would have returned and continues with the answers the parker
    returns (events in record order) — the outcome is the one a replay of the extended record
    would give, without re-executing what ran before the call (see ``airlock.sandbox.warm``).
    ``variables`` are bound in the program's globals before it starts (``interpreter.variables``),
    each with its sender's metadata and what every value from outside carries.
    Never raises: every problem is a ``Failed`` outcome (a parker may unwind the run with a
    ``BaseException`` of its own, e.g. to drop it)."""
    options = options or RunOptions()
    hook: Any = policy if policy is not None else AllowAll()
    session = session if session is not None else SessionMeta()
    if record is None:
        record = ExecutionRecord(program=program, session_meta=session.to_json())
    else:
        if record.program != program:
            return Failed(ReplayDivergence("the program differs from the one in the execution record"), [], record,
                          session=session)
        if record.events_from:  # the host must ``complete`` it: half a history would replay wrong
            return Failed(ReplayDivergence("the execution record is partial (its earlier events were not given)"),
                          [], record, session=session)
        restored = SessionMeta.from_json(record.session_meta)
        session.producers, session.consumers, session.tags = restored.producers, restored.consumers, restored.tags
        session.extra = restored.extra
    events = list(record.events)
    counters = dict(record.counters)
    counters["runs"] = counters.get("runs", 0) + 1
    start_meta = record.session_meta

    def new_record(pending: list[dict[str, Any]]) -> ExecutionRecord:
        return ExecutionRecord(program=program, events=events, pending=pending, session_meta=start_meta,
                               counters=counters)

    try:
        compiled = compile_program(program)
    except InterpreterError as e:
        return Failed(e, [], new_record([]), session=session)
    except RecursionError:
        return Failed(ResourceLimitExceeded("program nested too deeply", limit="max_nesting"), [], new_record([]),
                      session=session)

    m = Machine(tools=tool_values(tools, internal_tools), policy=hook, session=session, events=events,
                options=options, escaping=tuple(sorted(compiled.facts.global_names)),
                escaping_nonlocal=tuple(sorted(compiled.facts.nonlocal_names)), guard=guard)
    try:
        fr = Frame(bind(variables, options, m.tools), None, m)
    except ValueError as e:
        return Failed(InterpreterError(str(e), code="invalid_variable"), [], new_record([]), session=session)
    if parker is not None:
        def park(calls: list[PendingCall]) -> None:
            counters["steps_last_run"] = m.budget.steps
            counters["events"] = len(events)
            suspended = Suspended(list(calls), ExecutionRecord(
                program=program, events=list(events), pending=[c.to_json() for c in calls], session_meta=start_meta,
                counters=dict(counters)), list(m.history), session, list(m.printed))
            answers = parker(suspended)
            first = calls[0].index
            if first != len(events) or len(answers) < 1 or any(
                    not isinstance(ev, dict) or ev.get("index") != first + i for i, ev in enumerate(answers)):
                raise ReplayDivergence("the answers to a parked call do not continue its record",
                                       detail={"index": first})
            events.extend(answers)
            counters["runs"] = counters.get("runs", 0) + 1
            m.budget.resumed()

        m.park = park

    def failed(err: InterpreterError) -> Failed:
        counters["steps_last_run"] = m.budget.steps
        return Failed(err, m.history, new_record([]), fr.vars, session, m.printed, m)

    try:
        compiled.body(fr)
        if m.ev_idx < len(events):
            raise ReplayDivergence(f"program finished after {m.ev_idx} events but the record has {len(events)}",
                                   detail={"index": m.ev_idx})
    except Suspend as s:
        counters["steps_last_run"] = m.budget.steps
        counters["events"] = len(events)
        return Suspended(list(s.calls), new_record([c.to_json() for c in s.calls]), m.history, session, m.printed)
    except ProgRaise as e:
        return failed(program_error(e.exc))
    except InterpreterError as e:
        return failed(e)
    except RecursionError:
        return failed(ResourceLimitExceeded("interpreter recursion exhausted (program nested too deeply)",
                                            limit="max_recursion"))
    except MemoryError:
        return failed(ResourceLimitExceeded("out of memory", limit="max_memory_mb"))
    except Exception as e:  # noqa: BLE001 - a host-side failure must not escape as an exception
        return failed(InterpreterError(f"internal error: {type(e).__name__}", code="internal_error"))
    counters["steps_last_run"] = m.budget.steps
    counters["events"] = len(events)
    final = fr.vars.get(options.final_var) or Value(None)
    try:
        meta = m.deep(final)
        value = {"value": to_json_value(final, options.limits.max_walk_nodes), "meta": meta.to_json()}
    except InterpreterError as e:
        return failed(e)
    return Finished(value, m.history, fr.vars, new_record([]), session, m.printed, m, trusted=not meta.untrusted)
