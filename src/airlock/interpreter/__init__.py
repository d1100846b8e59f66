"""``airlock.interpreter``: the sandboxed, metadata-tracking interpreter of dual-LLM programs.

A planning LLM writes a Python program; :func:`run` executes it node by node (``ast`` +
closures, never ``exec``/``eval``), tracking producers/consumers/tags on every value, asking
the :class:`PolicyHook` before every tool call and every branch on data.

Calling an external tool *suspends* the program: :func:`run` returns :class:`Suspended` with
the pending call and an :class:`ExecutionRecord` — plain JSON data. Once the client answers,
:func:`record_tool_result` adds the result to the record and :func:`run` is called again with
it: the program is re-executed from the start and every recorded result (tool results, QLLM
answers, clock readings) is replayed at its call, so any replica can resume any program.
A replay that does not reproduce the record is a :class:`ReplayDivergence`.
"""

from __future__ import annotations

import copy
import hashlib
import re as _pyre
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol, runtime_checkable

from airlock.meta import Meta, SessionMeta, Tagged

from .compiler import Frame, compile_program, ensure_recursion_headroom
from .errors import (
    ControlFlowDenied,
    InterpreterError,
    PolicyDenied,
    ProgramError,
    ProgramSyntaxError,
    ProgRaise,
    ReplayDivergence,
    ResourceLimitExceeded,
    SecurityViolation,
    Suspend,
    UnsupportedFeature,
)
from .machine import Machine
from .runtime import ExcObj, SafeModule
from .tools import DEFAULT_ERROR_PATTERN, InternalTool, ToolFn, ToolSpec, codex_transform
from .values import Value, deep_meta, to_json_value

__all__ = [
    "PolicyHook",
    "AllowAll",
    "Decision",
    "ToolSpec",
    "InternalTool",
    "Limits",
    "RunOptions",
    "ExecutionRecord",
    "PendingCall",
    "Finished",
    "Suspended",
    "Failed",
    "Outcome",
    "run",
    "record_tool_result",
    "namespace_snapshot",
    "InterpreterError",
    "PolicyDenied",
    "ControlFlowDenied",
    "ResourceLimitExceeded",
    "SecurityViolation",
    "ReplayDivergence",
    "ProgramError",
    "ProgramSyntaxError",
    "UnsupportedFeature",
    "DEFAULT_ERROR_PATTERN",
    "codex_transform",
    "FINAL_VAR",
]

FINAL_VAR = "final_return_value"
RECORD_VERSION = 1


# ------------------------------------------------------------------------------------------------
# Policy hook
# ------------------------------------------------------------------------------------------------


@runtime_checkable
class PolicyHook(Protocol):
    """What the interpreter asks the policy engine (implemented by ``airlock.policy``)."""

    def check_call(self, tool: str, args: Mapping[str, Tagged], session: SessionMeta) -> Any:
        """Decision for a tool call: ``.verdict`` in allowed/soft_denied/hard_denied."""

    def apply_result(self, tool: str, args: Mapping[str, Tagged], result: Tagged, session: SessionMeta) -> Meta:
        """Metadata of a tool result after the policy's ``result { ... }`` updates."""

    def update_session(self, tool: str, phase: str, args: Mapping[str, Tagged], session: SessionMeta,
                       result: Tagged | None = None) -> None:
        """Apply ``session before|after { ... }`` updates to ``session`` in place."""

    def check_branch(self, condition: Meta) -> Any:
        """Decision for branching on a value with this metadata."""


@dataclass(frozen=True)
class Decision:
    verdict: str = "allowed"
    message: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"final_verdict": self.verdict, "message": self.message, **self.detail}


class AllowAll:
    """A policy hook that allows every call and branch and leaves metadata alone."""

    _ALLOW = Decision("allowed")

    def check_call(self, tool: str, args: Mapping[str, Tagged], session: SessionMeta) -> Decision:
        return self._ALLOW

    def apply_result(self, tool: str, args: Mapping[str, Tagged], result: Tagged, session: SessionMeta) -> Meta:
        return result.meta

    def update_session(self, tool: str, phase: str, args: Mapping[str, Tagged], session: SessionMeta,
                       result: Tagged | None = None) -> None:
        return None

    def check_branch(self, condition: Meta) -> Decision:
        return self._ALLOW


# ------------------------------------------------------------------------------------------------
# Configuration
# ------------------------------------------------------------------------------------------------


@dataclass
class Limits:
    max_steps: int = 1_000_000
    max_loop_iterations: int = 100_000
    max_recursion: int = 50
    max_str_len: int = 4_000_000
    max_collection_len: int = 200_000
    wall_time_s: float = 10.0
    max_int_bits: int = 16_384
    max_walk_nodes: int = 2_000_000
    max_print_chars: int = 200_000
    max_tool_calls: int = 10_000
    max_memory_mb: int | None = 1024  # RSS growth of the process during the run (None: off)


@dataclass
class RunOptions:
    limits: Limits = field(default_factory=Limits)
    # fsm tool-result options (X-Config)
    wrap_tool_result: bool = False
    # "none" | "regex" | "llm": with "llm" the caller runs its detector when the result arrives and
    # passes is_error= to record_tool_result (so the verdict is recorded and replayed).
    detect_tool_errors: str = "none"
    detect_tool_error_regex_pattern: str | None = None
    detect_tool_error_max_result_length: int | None = None
    strict_tool_result_parsing: bool = False
    tool_result_transform: str = "none"  # "none" | "codex"
    # metadata of tool results
    non_executable_memory: bool = False  # tag every tool result "__non_executable"
    tool_producer: bool = True  # add the tool's name to a result's producers
    tool_tag: bool = False  # add "__tool/<name>" to a result's tags
    # policy
    stop_on_soft_deny: bool = True
    final_var: str = FINAL_VAR


# ------------------------------------------------------------------------------------------------
# Records and outcomes
# ------------------------------------------------------------------------------------------------


@dataclass
class PendingCall:
    index: int
    tool: str
    args_json: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "tool": self.tool, "args": self.args_json}


@dataclass
class ExecutionRecord:
    """Everything needed to resume a program anywhere: plain, JSON-serialisable data."""

    program: str
    events: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    session_meta: dict[str, Any] = field(default_factory=dict)  # at the start of the program
    counters: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": RECORD_VERSION,
            "program": self.program,
            "program_sha256": hashlib.sha256(self.program.encode()).hexdigest(),
            "events": copy.deepcopy(self.events),
            "pending": copy.deepcopy(self.pending),
            "session_meta": copy.deepcopy(self.session_meta),
            "counters": dict(self.counters),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ExecutionRecord":
        if data.get("version", RECORD_VERSION) != RECORD_VERSION:
            raise ValueError(f"unsupported execution record version {data.get('version')!r}")
        program = data["program"]
        digest = data.get("program_sha256")
        if digest is not None and digest != hashlib.sha256(program.encode()).hexdigest():
            raise ValueError("execution record program does not match its digest")
        events = copy.deepcopy(list(data.get("events") or []))
        for i, ev in enumerate(events):
            if ev.get("index", i) != i:
                raise ValueError(f"execution record events are not contiguous at {i}")
        return cls(
            program=program,
            events=events,
            pending=copy.deepcopy(list(data.get("pending") or [])),
            session_meta=copy.deepcopy(dict(data.get("session_meta") or {})),
            counters=dict(data.get("counters") or {}),
        )


class _LazyNamespace:
    """Mixin: ``namespace`` is rendered from the final variables only when first asked for."""

    _vars: Mapping[str, Value] | None
    _budget: int
    _ns: dict[str, dict[str, Any]] | None

    @property
    def namespace(self) -> dict[str, dict[str, Any]]:
        if self._ns is None:
            self._ns = namespace_snapshot(self._vars or {}, self._budget)
        return self._ns


class Finished(_LazyNamespace):
    """The program ran to the end. ``value`` is ``{"value": JSON, "meta": {...}}``."""

    status = "finished"

    def __init__(self, value: dict[str, Any], history: list[dict[str, Any]], vars: Mapping[str, Value],
                 record: ExecutionRecord, session: SessionMeta, printed: list[str], budget: int) -> None:
        self.value = value
        self.history = history
        self.record = record
        self.session = session
        self.printed = printed
        self._vars = vars
        self._budget = budget
        self._ns = None

    @property
    def tagged(self) -> Tagged:
        return Tagged(self.value["value"], Meta.from_json(self.value["meta"]))

    def __repr__(self) -> str:
        return f"Finished(value={self.value!r})"


@dataclass
class Suspended:
    """An external tool call must be answered by the client; resume with the returned record."""

    calls: list[PendingCall]
    record: ExecutionRecord
    history: list[dict[str, Any]]
    session: SessionMeta
    printed: list[str] = field(default_factory=list)
    status = "suspended"


class Failed(_LazyNamespace):
    """The program stopped: ``error.code``/``message``/``line``/``col`` say why."""

    status = "failed"

    def __init__(self, error: InterpreterError, history: list[dict[str, Any]], record: ExecutionRecord | None = None,
                 vars: Mapping[str, Value] | None = None, session: SessionMeta | None = None,
                 printed: list[str] | None = None, budget: int = 2_000_000) -> None:
        self.error = error
        self.history = history
        self.record = record
        self.session = session
        self.printed = printed or []
        self._vars = vars
        self._budget = budget
        self._ns = None

    def __repr__(self) -> str:
        return f"Failed(error={self.error.to_json()!r})"


Outcome = Finished | Suspended | Failed


# ------------------------------------------------------------------------------------------------
# Running
# ------------------------------------------------------------------------------------------------


def _tool_values(tools: Mapping[str, ToolSpec | Mapping[str, Any]] | None,
                 internal: Mapping[str, Callable | InternalTool] | None) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for name, spec in (tools or {}).items():
        if not isinstance(spec, ToolSpec):
            spec = ToolSpec(name=name, parameters=dict(spec.get("parameters") or {}),
                            output_schema=spec.get("output_schema"), description=spec.get("description", ""))
        out[name] = Value(ToolFn(name, spec, None))
    for name, fn in (internal or {}).items():
        it = fn if isinstance(fn, InternalTool) else InternalTool.from_callable(name, fn)
        out[name] = Value(ToolFn(name, None, it))
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


def namespace_snapshot(vars: Mapping[str, Value], budget: int = 2_000_000) -> dict[str, dict[str, Any]]:
    """Every variable with a JSON rendering of its value and its (deep) metadata."""
    out: dict[str, dict[str, Any]] = {}
    for name, val in vars.items():
        if isinstance(val.v, SafeModule):
            continue
        try:
            out[name] = {"value": to_json_value(val, budget), "meta": deep_meta(val, budget).to_json()}
        except ResourceLimitExceeded:
            out[name] = {"value": "<too large>", "meta": val.m.to_json()}
    return out


def run(
    program: str,
    *,
    tools: Mapping[str, ToolSpec | Mapping[str, Any]] | None = None,
    internal_tools: Mapping[str, Callable | InternalTool] | None = None,
    policy: PolicyHook | None = None,
    record: ExecutionRecord | None = None,
    session: SessionMeta | None = None,
    options: RunOptions | None = None,
) -> Outcome:
    """Run (or resume, with ``record``) a program until it finishes, fails or must suspend.

    ``session`` is updated in place by the policy hook; when resuming, it is first reset to the
    session metadata recorded at the program's start, so the replay sees what the first run saw.
    """
    options = options or RunOptions()
    policy = policy if policy is not None else AllowAll()
    session = session if session is not None else SessionMeta()
    history: list[dict[str, Any]] = []
    if record is None:
        record = ExecutionRecord(program=program, session_meta=session.to_json())
    else:
        if record.program != program:
            return Failed(ReplayDivergence("the program differs from the one in the execution record"), history,
                          record, session=session)
        restored = SessionMeta.from_json(record.session_meta)
        session.producers, session.consumers, session.tags = restored.producers, restored.consumers, restored.tags
        session.extra = restored.extra
    events = copy.deepcopy(record.events)
    counters = dict(record.counters)
    counters["runs"] = counters.get("runs", 0) + 1

    def new_record(pending: list[dict[str, Any]]) -> ExecutionRecord:
        return ExecutionRecord(program=program, events=list(events), pending=pending,
                               session_meta=copy.deepcopy(record.session_meta), counters=counters)

    try:
        compiled = compile_program(program)
    except InterpreterError as e:
        return Failed(e, history, new_record([]), session=session)

    m = Machine(tools=_tool_values(tools, internal_tools), policy=policy, session=session, events=events,
                options=options)
    history = m.history
    fr = Frame({}, None, m)
    ensure_recursion_headroom()
    try:
        compiled.body(fr)
        if m.ev_idx < len(events):
            raise ReplayDivergence(
                f"program finished after {m.ev_idx} events but the record has {len(events)}",
                detail={"index": m.ev_idx},
            )
    except Suspend as s:
        counters["steps_last_run"] = m.steps
        counters["events"] = len(events)
        calls = [PendingCall(c["index"], c["tool"], c["args"]) for c in s.calls]
        return Suspended(calls, new_record([c.to_json() for c in calls]), history, session, m.printed)
    except ProgRaise as e:
        exc: ExcObj = e.exc
        err = ProgramError(f"{exc.type.name}: {exc.message()}", line=exc.line, col=exc.col,
                           detail={"exception": exc.type.name})
        return _failed(err, m, fr, new_record([]), session)
    except InterpreterError as e:
        return _failed(e, m, fr, new_record([]), session)
    except RecursionError:
        err = ResourceLimitExceeded("interpreter recursion exhausted (program nested too deeply)",
                                    limit="max_recursion")
        return _failed(err, m, fr, new_record([]), session)
    except MemoryError:
        err = ResourceLimitExceeded("out of memory", limit="max_memory_mb")
        return _failed(err, m, fr, new_record([]), session)
    except Exception as e:  # noqa: BLE001 - a host-side failure must not escape as an exception
        err = InterpreterError(f"internal error: {type(e).__name__}: {e}", code="internal_error")
        return _failed(err, m, fr, new_record([]), session)
    counters["steps_last_run"] = m.steps
    counters["events"] = len(events)
    final = fr.vars.get(options.final_var)
    if final is None:
        final = Value(None)
    budget = options.limits.max_walk_nodes
    try:
        value = {"value": to_json_value(final, budget), "meta": deep_meta(final, budget).to_json()}
    except InterpreterError as e:
        return _failed(e, m, fr, new_record([]), session)
    return Finished(value, history, fr.vars, new_record([]), session, m.printed, budget)


def _failed(err: InterpreterError, m: Machine, fr: Frame, rec: ExecutionRecord, session: SessionMeta) -> Failed:
    return Failed(err, m.history, rec, fr.vars, session, m.printed, m.lim.max_walk_nodes)


def record_tool_result(record: ExecutionRecord, index: int, raw_result: Any, *, is_error: bool = False) -> ExecutionRecord:
    """A copy of ``record`` with the client's result for pending call ``index`` recorded."""
    pending = [p for p in record.pending if p.get("index") == index]
    if not pending:
        raise KeyError(f"no pending tool call with index {index}")
    if index != len(record.events):
        raise ValueError(f"tool results must be recorded in call order (next index is {len(record.events)})")
    p = pending[0]
    new = ExecutionRecord.from_json(record.to_json())
    new.events.append({"index": index, "kind": "tool", "tool": p["tool"], "args": p["args"],
                       "result": copy.deepcopy(raw_result), "is_error": bool(is_error)})
    new.pending = [q for q in new.pending if q.get("index") != index]
    return new
