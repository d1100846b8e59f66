"""Run state of one execution: limits, control context, policy hooks, tool calls and replay."""

from __future__ import annotations

import datetime as _dt
import json
import os
import time
from typing import Any, Mapping

from airlock.meta import NEUTRAL, Meta, SessionMeta, StrSet, Tagged

from .compiler import RETURN, Frame, UserFunction
from .errors import (
    ControlFlowDenied,
    InterpreterError,
    PolicyDenied,
    ProgRaise,
    ReplayDivergence,
    ResourceLimitExceeded,
    Suspend,
)
from .runtime import (
    EXC,
    BaseModelMarker,
    BoundMethod,
    BuiltinFn,
    DtClass,
    ExcObj,
    ExcType,
    ModelClass,
    ResultCtor,
    ResultObj,
    TypeMarker,
    args_meta,
    dt_construct,
    instantiate,
    model_json_schema,
    perr,
    type_name,
    validate,
)
from .tools import ToolFn, codex_transform, looks_like_error, parse_result, result_text
from .values import NONE, Value, deep_meta, intern_meta, mm, to_json_value, wrap_json

ALLOWED = "allowed"
SOFT = "soft_denied"
HARD = "hard_denied"


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))


def verdict_of(decision: Any) -> str:
    if decision is None or decision is True:
        return ALLOWED
    if decision is False:
        return HARD
    v = getattr(decision, "verdict", None)
    if v is None and isinstance(decision, Mapping):
        v = decision.get("verdict") or decision.get("final_verdict")
    v = getattr(v, "value", v)  # enums
    v = str(v or ALLOWED)
    if v in ("allow", "allowed", "soft_allowed", "hard_allowed"):
        return ALLOWED
    if v in ("soft_denied", "soft_deny"):
        return SOFT
    if v in ("hard_denied", "hard_deny", "denied", "deny"):
        return HARD
    return v


def decision_json(decision: Any) -> Any:
    fn = getattr(decision, "to_json", None)
    if fn is not None:
        return fn()
    if isinstance(decision, Mapping):
        return dict(decision)
    return {"final_verdict": verdict_of(decision)}


def decision_message(decision: Any) -> str:
    msg = getattr(decision, "message", None)
    if msg is None and isinstance(decision, Mapping):
        msg = decision.get("message")
    return str(msg or "")


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class Machine:
    """Mutable state of one run. Closures reach it as ``frame.it``."""

    def __init__(self, *, tools: dict[str, Value], policy: Any, session: SessionMeta, events: list[dict],
                 options: Any) -> None:
        self.options = options
        self.lim = options.limits
        self.tools = tools
        self.policy = policy
        self.session = session
        self.events = events  # recorded events (replayed), then new ones appended
        self.n_recorded = len(events)
        self.ev_idx = 0
        self.ctx: Meta = NEUTRAL
        self.steps = 0
        self.depth = 0
        self.handling: list[ExcObj] = []
        self.history: list[dict] = []
        self.printed: list[str] = []
        self.printed_chars = 0
        self.tool_calls = 0
        self.branch_cache: dict[int, tuple[Meta, str]] = {}
        self.start = time.monotonic()
        self.deadline = self.start + self.lim.wall_time_s
        self.check_every = 256
        self.next_check = min(self.lim.max_steps + 1, self.check_every)
        self.rss0 = _rss_bytes() if self.lim.max_memory_mb else None

    # -- limits -----------------------------------------------------------------------------------
    def periodic(self, line: int | None = None, col: int | None = None) -> None:
        if self.steps > self.lim.max_steps:
            raise ResourceLimitExceeded(
                f"program exceeded max_steps ({self.lim.max_steps})", limit="max_steps", line=line, col=col
            )
        now = time.monotonic()
        if now > self.deadline:
            raise ResourceLimitExceeded(
                f"program exceeded wall_time_s ({self.lim.wall_time_s}s)", limit="wall_time_s", line=line, col=col
            )
        if self.rss0 is not None and (self.steps // self.check_every) % 16 == 0:
            rss = _rss_bytes()
            if rss is not None and rss - self.rss0 > self.lim.max_memory_mb * 1024 * 1024:
                raise ResourceLimitExceeded(
                    f"program exceeded max_memory_mb ({self.lim.max_memory_mb})", limit="max_memory_mb",
                    line=line, col=col,
                )
        self.next_check = min(self.lim.max_steps + 1, self.steps + self.check_every)

    def count_steps(self, n: int) -> None:
        self.steps += n
        if self.steps >= self.next_check:
            self.periodic()

    def loop_limit(self, line: int, col: int) -> None:
        raise ResourceLimitExceeded(
            f"loop exceeded max_loop_iterations ({self.lim.max_loop_iterations})",
            limit="max_loop_iterations", line=line, col=col,
        )

    def print_line(self, line: str) -> None:
        self.printed_chars += len(line) + 1
        if self.printed_chars > self.lim.max_print_chars:
            raise ResourceLimitExceeded("program printed too much output", limit="max_print_chars")
        self.printed.append(line)

    # -- control flow policy --------------------------------------------------------------------------
    def branch(self, meta: Meta, line: int, col: int) -> None:
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
                self.history.append(
                    {"kind": "branch", "line": line, "col": col, "meta": meta.to_json(),
                     "decision": decision_json(decision)}
                )
        if verdict == HARD or (verdict == SOFT and self.options.stop_on_soft_deny):
            raise ControlFlowDenied(
                "The program violated control flow policies: branching on a value with metadata "
                f"{meta.to_json()} is denied.",
                line=line, col=col, detail={"meta": meta.to_json(), "verdict": verdict},
            )

    # -- calls ----------------------------------------------------------------------------------------
    def call(self, fv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
        f = fv.v
        t = type(f)
        if t is BuiltinFn or t is TypeMarker or t is BoundMethod:
            r = f.fn(self, args, kwargs)
        elif t is UserFunction:
            r = self.call_user(f, args, kwargs)
        elif t is ToolFn:
            r = self.call_tool(f, args, kwargs)
        elif t is ModelClass:
            r = instantiate(self, f, args, kwargs)
        elif t is ExcType:
            r = Value(ExcObj(f, list(args), args_meta(args)), NEUTRAL)
        elif t is DtClass:
            r = dt_construct(self, f, args, kwargs)
        elif t is ResultCtor:
            if len(args) != 1:
                raise perr("TypeError", f"{'Ok' if f.ok else 'Err'}() takes one argument")
            r = Value(ResultObj(f.ok, args[0]), NEUTRAL)
        elif t is BaseModelMarker:
            raise perr("TypeError", "BaseModel cannot be instantiated directly")
        else:
            raise perr("TypeError", f"'{type_name(f)}' object is not callable")
        if fv.m is not NEUTRAL:
            nm = mm(r.m, fv.m)
            if nm is not r.m:
                r = Value(r.v, nm)
        return r

    def call_user(self, fn: UserFunction, args: list[Value], kwargs: dict[str, Value]) -> Value:
        self.depth += 1
        if self.depth > self.lim.max_recursion:
            self.depth -= 1
            raise ResourceLimitExceeded(
                f"call depth exceeded max_recursion ({self.lim.max_recursion})", limit="max_recursion"
            )
        saved = self.ctx
        try:
            fr = Frame({}, fn.env, self, fn.env.glob)
            bind_args(fn, fr.vars, args, kwargs)
            r = fn.body(fr)
            if r == RETURN:
                return fr.ret
            return NONE
        finally:
            self.depth -= 1
            self.ctx = saved

    # -- clock (recorded so replays see the same time) -------------------------------------------------
    def clock(self) -> str:
        idx = self.ev_idx
        self.ev_idx += 1
        if idx < len(self.events):
            ev = self.events[idx]
            if ev.get("kind") != "clock":
                raise ReplayDivergence(
                    f"replay diverged at event {idx}: program read the clock where the record has "
                    f"{ev.get('kind')} {ev.get('tool', '')!r}",
                    detail={"index": idx},
                )
            return ev["value"]
        stamp = _dt.datetime.now(_dt.timezone.utc).isoformat()
        self.events.append({"index": idx, "kind": "clock", "value": stamp})
        return stamp

    # -- tools -----------------------------------------------------------------------------------------
    def call_tool(self, tf: ToolFn, args: list[Value], kwargs: dict[str, Value]) -> Value:
        opts = self.options
        name = tf.name
        params = tf.param_names
        named: dict[str, Value] = {}
        if len(args) > len(params):
            raise perr("TypeError", f"{name}() takes {len(params)} positional arguments but {len(args)} were given")
        for p, a in zip(params, args):
            named[p] = a
        for k, a in kwargs.items():
            if k in named:
                raise perr("TypeError", f"{name}() got multiple values for argument '{k}'")
            if k not in params and not tf.accepts_extra:
                raise perr("TypeError", f"{name}() got an unexpected keyword argument '{k}'")
            named[k] = a
        missing = [r for r in tf.required if r not in named]
        if missing:
            raise perr("TypeError", f"{name}() missing required argument(s): {', '.join(missing)}")
        self.tool_calls += 1
        if self.tool_calls > self.lim.max_tool_calls:
            raise ResourceLimitExceeded(
                f"program exceeded max_tool_calls ({self.lim.max_tool_calls})", limit="max_tool_calls"
            )

        ctx = self.ctx
        budget = self.lim.max_walk_nodes
        tagged: dict[str, Tagged] = {}
        args_json: dict[str, Any] = {}
        schema_arg: dict[str, ModelClass] = {}
        for k, v in named.items():
            m = intern_meta(mm(deep_meta(v, budget), ctx))
            if isinstance(v.v, ModelClass):
                plain = model_json_schema(v.v)
                schema_arg[k] = v.v
            else:
                plain = to_json_value(v, budget)
            args_json[k] = plain
            tagged[k] = Tagged(plain, m)

        index = self.ev_idx
        self.ev_idx += 1
        policy = self.policy
        upd = getattr(policy, "update_session", None)
        if upd is not None:
            upd(name, "before", tagged, self.session)
        decision = policy.check_call(name, tagged, self.session)
        verdict = verdict_of(decision)
        self.history.append(
            {"kind": "tool_call", "index": index, "tool": name, "args": args_json, "verdict": verdict,
             "decision": decision_json(decision)}
        )
        if verdict == HARD or (verdict == SOFT and opts.stop_on_soft_deny):
            headline = f"Tool call {name} denied by argument checking policies."
            detail = decision_message(decision) or ""
            if detail.startswith(headline):
                detail = detail[len(headline):].lstrip("\n")
            # Readable first (headline, then the decision's own lines), then the data behind it.
            results = {k: v for k, v in decision_json(decision).items() if k != "message"}
            msg = (
                headline + (f"\n{detail}" if detail else "")
                + f"\nTool calls: {{'{name}': {json.dumps(args_json, ensure_ascii=False, default=str)[:2000]}}}. "
                f"Checking results: {json.dumps(results, default=str)[:4000]}"
            )
            raise PolicyDenied(msg, tool=name, decision=decision, verdict=verdict,
                               detail={"tool": name, "verdict": verdict})

        # Replay or perform.
        if index < len(self.events):
            ev = self.events[index]
            kind = "internal" if tf.internal else "tool"
            if ev.get("kind") != kind or ev.get("tool") != name or canonical(ev.get("args")) != canonical(args_json):
                raise ReplayDivergence(
                    f"replay diverged at call {index}: program called {name}({canonical(args_json)[:300]}) "
                    f"but the record has {ev.get('kind')} {ev.get('tool')!r}({canonical(ev.get('args'))[:300]})",
                    detail={"index": index, "expected_tool": ev.get("tool"), "actual_tool": name},
                )
            raw = ev.get("result")
            is_error = bool(ev.get("is_error"))
        elif tf.internal is not None:
            raw, is_error = self._run_internal(tf, args_json)
            self.events.append(
                {"index": index, "kind": "internal", "tool": name, "args": args_json, "result": raw,
                 "is_error": is_error}
            )
        else:
            raise Suspend([{"index": index, "tool": name, "args": args_json}])

        base = NEUTRAL
        for t in tagged.values():
            base = mm(base, t.meta)
        if opts.tool_producer:
            base = mm(base, Meta(producers=StrSet.of([name])))
        tags = []
        if opts.non_executable_memory:
            tags.append("__non_executable")
        if opts.tool_tag:
            tags.append(f"__tool/{name}")
        if tags:
            base = mm(base, Meta(tags=StrSet.of(tags)))
        result, rtagged = self._result_value(tf, raw, is_error, base, tagged, schema_arg)
        if upd is not None:
            upd(name, "after", tagged, self.session, rtagged)
        return result

    def _run_internal(self, tf: ToolFn, args_json: dict[str, Any]) -> tuple[Any, bool]:
        try:
            out = tf.internal.fn(**args_json)  # type: ignore[union-attr]
        except InterpreterError:
            raise
        except Exception as e:  # noqa: BLE001 - reported to the program as a tool error
            return f"{type(e).__name__}: {e}", True
        try:
            json.dumps(out)
        except (TypeError, ValueError):
            out = result_text(out)
        return out, False

    def _result_value(self, tf: ToolFn, raw: Any, is_error: bool, base: Meta, tagged: dict[str, Tagged],
                      schema_arg: dict[str, ModelClass]) -> tuple[Value, Tagged]:
        opts = self.options
        value = raw
        error: str | None = "" if is_error else None
        if tf.internal is None:
            if opts.tool_result_transform == "codex":
                value, code = codex_transform(value)
                if code not in (None, 0):
                    if opts.detect_tool_errors in ("regex", "llm"):
                        error = f"exit code {code}: {result_text(value)}"
                    elif isinstance(value, str):
                        value = f"[exit code {code}]\n{value}"
            if error is None and opts.detect_tool_errors == "regex":
                if looks_like_error(result_text(value), opts.detect_tool_error_regex_pattern,
                                    opts.detect_tool_error_max_result_length):
                    error = ""
            if error is None:
                spec = tf.spec
                value, perr_msg = parse_result(value, spec.output_schema if spec else None,
                                               opts.strict_tool_result_parsing)
                if perr_msg is not None:
                    error = perr_msg
        if error is not None:
            text = error or result_text(value)
            meta = self._final_meta(tf, base, text, tagged)
            if opts.wrap_tool_result:
                return Value(ResultObj(False, Value(text, meta)), meta), Tagged(text, meta)
            raise ProgRaise(ExcObj(EXC["ToolCallError"], [Value(f"{tf.name}: {text}", meta)], meta))

        meta = base
        if isinstance(value, dict) and value.get("is_sequrity_var") is True and "value" in value:
            explicit = Meta.from_json(value.get("meta") if isinstance(value.get("meta"), dict) else None)
            mode = value.get("combine_meta", "merge")
            value = value["value"]
            if mode == "replace":
                meta = explicit
            elif mode == "merge":
                meta = meta.merge(explicit)
            # "ignore": keep the computed metadata
        meta = self._final_meta(tf, meta, value, tagged)
        if tf.internal is not None and schema_arg:
            cls = next(iter(schema_arg.values()))
            try:
                out = validate(self, ("model", cls), wrap_json(value, meta), "")
                out.m = meta if out.m is NEUTRAL else mm(out.m, meta)
                result = out
            except ProgRaise:
                result = wrap_json(value, meta)
        else:
            result = wrap_json(value, meta)
        if opts.wrap_tool_result:
            return Value(ResultObj(True, result), meta), Tagged(value, meta)
        return result, Tagged(value, meta)

    def _final_meta(self, tf: ToolFn, meta: Meta, value: Any, tagged: dict[str, Tagged]) -> Meta:
        apply = getattr(self.policy, "apply_result", None)
        if apply is not None:
            new = apply(tf.name, tagged, Tagged(value, meta), self.session)
            if new is not None:
                meta = new
        return intern_meta(meta)


def bind_args(fn: UserFunction, d: dict, args: list[Value], kwargs: dict[str, Value]) -> None:
    params = fn.params
    np = len(params)
    if len(args) > np and fn.vararg is None:
        raise perr("TypeError", f"{fn.name}() takes {np} positional arguments but {len(args)} were given")
    for p, a in zip(params, args):
        d[p] = a
    if fn.vararg is not None:
        d[fn.vararg] = Value(tuple(args[np:]))
    extra = {}
    for k, a in kwargs.items():
        if k in params or k in fn.kwonly:
            if k in d:
                raise perr("TypeError", f"{fn.name}() got multiple values for argument '{k}'")
            d[k] = a
        elif fn.kwarg is not None:
            extra[Value(k)] = a
        else:
            raise perr("TypeError", f"{fn.name}() got an unexpected keyword argument '{k}'")
    nd = len(fn.defaults)
    for i, p in enumerate(params):
        if p not in d:
            j = i - (np - nd)
            if j >= 0:
                d[p] = fn.defaults[j]
            else:
                raise perr("TypeError", f"{fn.name}() missing required argument: '{p}'")
    for p, dflt in zip(fn.kwonly, fn.kwdefaults):
        if p not in d:
            if dflt is None:
                raise perr("TypeError", f"{fn.name}() missing required keyword-only argument: '{p}'")
            d[p] = dflt
    if fn.kwarg is not None:
        d[fn.kwarg] = Value(extra)
