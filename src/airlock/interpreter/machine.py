"""Run state of one execution, and the calls: every callable value goes through ``Machine.call``.

A callee chosen by data (``[a.append, b.append][secret](1)``, ``handlers[kind]()``) is a region
like a branch: the call's side effects run under the callee's metadata, and its result carries it.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Callable, Mapping

from airlock.meta import NEUTRAL, Meta, SessionMeta

from .budget import Budget
from .errors import ControlFlowDenied, ReplayDivergence
from .flow import UNTRUSTED, Heap, deep, invoke, mm, retag
from .hooks import ALLOWED, HARD, SOFT, ArgumentGuard, decision_json, verdict_of
from .options import RunOptions
from .record import PendingCall
from .stdlib.builtins import RESULT_CTORS
from .stdlib.datetimes import CONSTRUCT, DtClass
from .stdlib.models import INSTANTIATE, BaseModelMarker, ModelClass
from .stdlib.objects import BoundMethod, BuiltinFn, ExcObj, ExcType, ResultCtor, TypeMarker, perr, type_name
from .tools import ToolFn
from .values import NONE, DictObj, Value, new_serial
from .compile.frame import Frame, UserFunction
from .compile.program import RETURN
from .toolcall import call_tool


class Machine:
    """Mutable state of one run. Compiled closures reach it as ``frame.it``."""

    def __init__(self, *, tools: dict[str, Value], policy: Any, session: SessionMeta, events: list[dict[str, Any]],
                 options: RunOptions, escaping: tuple[str, ...] = (), escaping_nonlocal: tuple[str, ...] = (),
                 guard: ArgumentGuard | None = None) -> None:
        self.options = options
        self.budget = Budget(options.limits)
        #: strict/custom: the control context carries conditions' full metadata; standard: only
        #: their provenance bit (what planner isolation needs).
        self.full = options.tracks_implicit
        self.tools = tools
        self.policy = policy
        self.session = session
        self.events = events
        self.ev_idx = 0
        self.pc: Meta = NEUTRAL
        self.acc: Meta = NEUTRAL     # what the running table entry read through callbacks
        self.reads: Meta = NEUTRAL   # what the running table entry declared it reads
        self.try_depth = 0
        self.heap = Heap()
        self.handling: list[ExcObj] = []
        self.history: list[dict[str, Any]] = []
        self.printed: list[str] = []
        self.branch_cache: dict[int, tuple[Meta, str]] = {}
        self.guard = guard
        self.escaping = escaping
        self.escaping_nonlocal = escaping_nonlocal
        #: Set by ``run`` when the host can keep this run alive across a call (warm resume):
        #: called with the pending calls, it returns once their answers are in ``events``.
        self.park: Callable[[list[PendingCall]], None] | None = None

    # -- control context -------------------------------------------------------------------------
    def proj(self, m: Meta) -> Meta:
        """The part of a condition's metadata the control context carries in this mode."""
        if self.full or m is NEUTRAL:
            return m
        return UNTRUSTED if m.untrusted else NEUTRAL

    def raise_pc(self, m: Meta) -> None:
        c = self.proj(m)
        if c is not NEUTRAL:
            self.pc = mm(self.pc, c)

    def stored(self, v: Value) -> Value:
        pc = self.pc
        return v if pc is NEUTRAL else retag(v, pc)

    @staticmethod
    def serial_mark() -> int:
        return new_serial()

    def deep(self, v: Value) -> Meta:
        return deep(self, v)

    def check_branch(self, meta: Meta, line: int, col: int) -> None:
        hit = self.branch_cache.get(id(meta))
        if hit is not None and hit[0] is meta:
            verdict = hit[1]
            if verdict == ALLOWED:
                return
        else:
            check = getattr(self.policy, "check_branch", None)
            decision = check(meta) if check is not None else None
            verdict = verdict_of(decision)
            self.branch_cache[id(meta)] = (meta, verdict)
            if verdict != ALLOWED:
                self.history.append({"kind": "branch", "line": line, "col": col, "meta": meta.to_json(),
                                     "decision": decision_json(decision)})
        if verdict == HARD or (verdict == SOFT and self.options.stop_on_soft_deny):
            raise ControlFlowDenied(
                "The program violated control flow policies: branching on a value with metadata "
                f"{meta.to_json()} is denied.", line=line, col=col, detail={"meta": meta.to_json(), "verdict": verdict})

    # -- output ----------------------------------------------------------------------------------
    def print_line(self, line: str) -> None:
        self.budget.printed(len(line) + 1)
        self.printed.append(line)

    def clock(self) -> str:
        """The time, recorded so that a replay sees the same reading."""
        idx = self.ev_idx
        self.ev_idx += 1
        if idx < len(self.events):
            ev = self.events[idx]
            if ev.get("kind") != "clock":
                raise ReplayDivergence(f"replay diverged at event {idx}: program read the clock where the record "
                                       f"has {ev.get('kind')} {ev.get('tool', '')!r}", detail={"index": idx})
            return str(ev["value"])
        stamp = _dt.datetime.now(_dt.timezone.utc).isoformat()
        self.events.append({"index": idx, "kind": "clock", "value": stamp})
        return stamp

    # -- calls -----------------------------------------------------------------------------------
    def call(self, fv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
        f = fv.v
        chosen = fv.m
        if chosen is NEUTRAL:
            return self._dispatch(f, fv, args, kwargs, NEUTRAL)
        saved = self.pc
        c = self.proj(chosen)
        entered = c is not NEUTRAL and mm(saved, c) is not saved
        if entered:
            self.pc = mm(saved, c)
        serial = new_serial()
        try:
            r = self._dispatch(f, fv, args, kwargs, chosen)
        finally:
            if entered:
                if getattr(f, "may_mutate", True):
                    self.heap.push(serial, self.pc)
                if not self.try_depth:
                    self.pc = saved
        return retag(r, chosen)

    def _dispatch(self, f: Any, fv: Value, args: list[Value], kwargs: dict[str, Value], chosen: Meta) -> Value:
        t = type(f)
        if t is BuiltinFn or t is TypeMarker:
            return invoke(self, f.entry, None, args, kwargs)
        if t is BoundMethod:
            # A method chosen by data acts on a receiver chosen by data (as ``lists[i].append``).
            recv = f.recv if chosen is NEUTRAL else retag(f.recv, chosen)
            return invoke(self, f.entry, recv, args, kwargs)
        if t is UserFunction:
            return self.call_user(f, args, kwargs)
        if t is ToolFn:
            return call_tool(self, f, args, kwargs, chosen)
        if t is ModelClass:
            return invoke(self, INSTANTIATE, fv, args, kwargs)
        if t is ExcType:
            if kwargs:
                raise perr("TypeError", f"{f.name}() takes no keyword arguments", self.pc)
            return Value(ExcObj(f, list(args), NEUTRAL))
        if t is DtClass:
            return invoke(self, CONSTRUCT, fv, args, kwargs)
        if t is ResultCtor:
            return invoke(self, RESULT_CTORS[f.ok], None, args, kwargs)
        if t is BaseModelMarker:
            raise perr("TypeError", "BaseModel cannot be instantiated directly", self.pc)
        raise perr("TypeError", f"'{type_name(f)}' object is not callable", mm(fv.m, self.pc))

    def call_user(self, fn: Any, args: list[Value], kwargs: dict[str, Value]) -> Value:
        b = self.budget
        b.enter_call()
        saved = self.pc
        serial = new_serial()
        try:
            fr = Frame({}, fn.env, self, fn.env.glob)
            bind_args(self, fn, fr.vars, args, kwargs)
            r = fn.body(fr)
            if r == RETURN:
                return fr.ret
            return NONE if self.pc is NEUTRAL else Value(None, self.pc)
        finally:
            b.leave_call()
            if self.pc is not saved:
                # A return under a condition skipped the rest of the body on the other path.
                if fn.may_mutate:
                    self.heap.push(serial, self.pc)
                if not self.try_depth:
                    self.pc = saved


def bind_args(it: Machine, fn: Any, d: dict[str, Value], args: list[Value], kwargs: dict[str, Value]) -> None:
    """Bind a call's arguments to a program function's parameters. A binding error reveals how
    many arguments there were and their names (from ``**`` expansions: data)."""

    def fail(msg: str) -> Exception:
        m = it.pc
        for a in list(args) + list(kwargs.values()):
            m = mm(m, a.m)
        return perr("TypeError", msg, m)

    params = fn.params
    np = len(params)
    if len(args) > np and fn.vararg is None:
        raise fail(f"{fn.name}() takes {np} positional arguments but {len(args)} were given")
    for p, a in zip(params, args):
        d[p] = a
    if fn.vararg is not None:
        d[fn.vararg] = Value(tuple(args[np:]))
    extra: dict[Value, Value] = {}
    for k, a in kwargs.items():
        if k in params or k in fn.kwonly:
            if k in d:
                raise fail(f"{fn.name}() got multiple values for argument '{k}'")
            d[k] = a
        elif fn.kwarg is not None:
            extra[Value(k, a.m)] = a
        else:
            raise fail(f"{fn.name}() got an unexpected keyword argument '{k}'")
    nd = len(fn.defaults)
    for i, p in enumerate(params):
        if p not in d:
            j = i - (np - nd)
            if j >= 0:
                d[p] = fn.defaults[j]
            else:
                raise fail(f"{fn.name}() missing required argument: '{p}'")
    for p, dflt in zip(fn.kwonly, fn.kwdefaults):
        if p not in d:
            if dflt is None:
                raise fail(f"{fn.name}() missing required keyword-only argument: '{p}'")
            d[p] = dflt
    if fn.kwarg is not None:
        d[fn.kwarg] = Value(DictObj(extra))


__all__ = ["Machine", "bind_args"]

_ = Mapping
