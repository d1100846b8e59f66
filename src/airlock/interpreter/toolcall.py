"""A tool call: arguments out (with their metadata), the policy, replay or suspension, and the
result's metadata coming in.

* Each argument carries its deep metadata plus the call's *control*: the control context it is
  made under and the metadata of whatever chose the tool (in ``strict`` mode a call made because
  of tool data says so, even with constant arguments).
* A result starts with the merge of its arguments' metadata (the reference's rule), is always
  ``untrusted`` when it came from a client's tool or the quarantined LLM, then gets the policy's
  ``result { }`` updates. A policy cannot clear the ``untrusted`` bit.
* A ``{"value", "meta", "is_sequrity_var": true, "combine_meta"}`` wrapper is recognised only as
  the whole result of a client's tool (never inside a value, never from the QLLM) and can only add
  metadata: ``replace`` drops what the result inherited from its arguments only for tools the
  operator allows to declassify (``RunOptions.declassify_tools``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from airlock.meta import NEUTRAL, Meta, StrSet, Tagged

from .errors import InterpreterError, PolicyDenied, ProgRaise, ReplayDivergence, Suspend
from .flow import UNTRUSTED, deep, mm
from .hooks import HARD, SOFT, accepts_control, decision_json, decision_message, verdict_of
from .record import PendingCall
from .stdlib.models import ModelClass, model_json_schema, validate
from .stdlib.objects import EXC, ExcObj, ResultObj, perr
from .tools import ToolFn, codex_transform, looks_like_error, parse_result, result_text
from .values import Value, intern_meta, to_json_value, wrap_json
from .variables import outside_meta

if TYPE_CHECKING:
    from .machine import Machine


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))


def _bind(it: "Machine", tf: ToolFn, args: list[Value], kwargs: dict[str, Value]) -> dict[str, Value]:
    def fail(msg: str) -> ProgRaise:
        m = it.pc
        for a in list(args) + list(kwargs.values()):
            m = mm(m, a.m)  # keyword names from ``**`` expansions are data: their metadata is here
        return perr("TypeError", msg, m)

    name = tf.name
    params = tf.param_names
    named: dict[str, Value] = {}
    if len(args) > len(params):
        raise fail(f"{name}() takes {len(params)} positional arguments but {len(args)} were given")
    for p, a in zip(params, args):
        named[p] = a
    for k, a in kwargs.items():
        if k in named:
            raise fail(f"{name}() got multiple values for argument '{k}'")
        if k not in params and not tf.accepts_extra:
            raise fail(f"{name}() got an unexpected keyword argument '{k}'")
        named[k] = a
    missing = [r for r in tf.required if r not in named]
    if missing:
        raise fail(f"{name}() missing required argument(s): {', '.join(missing)}")
    return named


def call_tool(it: "Machine", tf: ToolFn, args: list[Value], kwargs: dict[str, Value], chosen: Meta) -> Value:
    opts = it.options
    name = tf.name
    named = _bind(it, tf, args, kwargs)
    it.budget.tool_call()
    control = intern_meta(mm(it.pc, chosen))
    budget = it.budget.lim.max_walk_nodes
    tagged: dict[str, Tagged] = {}
    args_json: dict[str, Any] = {}
    schema_arg: ModelClass | None = None
    blocks: list[str] = []
    for k, v in named.items():
        m = intern_meta(mm(deep(it, v), control))
        if isinstance(v.v, ModelClass):
            plain: Any = model_json_schema(v.v)
            schema_arg = v.v
        else:
            plain = to_json_value(v, budget)
        if it.guard is not None and tf.internal is None:
            found, plain, blocked = it.guard.scan_argument(name, k, plain)
            blocks += blocked
            if found:
                m = intern_meta(mm(m, Meta(tags=StrSet.of(found))))
        args_json[k] = plain
        tagged[k] = Tagged(plain, m)
    if blocks:
        it.history.append({"kind": "tool_call", "index": it.ev_idx, "tool": name, "args": args_json,
                           "verdict": HARD, "decision": _guard_decision(name, blocks)})
        raise _denied(name, _GuardDecision(name, blocks), HARD, args_json)

    index = it.ev_idx
    it.ev_idx += 1
    policy = it.policy
    kw = {"control": control} if accepts_control(policy, "check_call") else {}
    upd = getattr(policy, "update_session", None)
    if upd is not None:
        upd(name, "before", tagged, it.session, **({"control": control} if accepts_control(policy, "update_session") else {}))
    decision = policy.check_call(name, tagged, it.session, **kw)
    verdict = verdict_of(decision)
    it.history.append({"kind": "tool_call", "index": index, "tool": name, "args": args_json, "verdict": verdict,
                       "decision": decision_json(decision)})
    if verdict == HARD or (verdict == SOFT and opts.stop_on_soft_deny):
        raise _denied(name, decision, verdict, args_json)

    if index >= len(it.events) and (tf.internal is None or tf.internal.host):
        call = PendingCall(index, name, args_json, "internal" if tf.internal is not None else "tool")
        if it.park is None:
            raise Suspend([call])
        it.park([call])  # returns once the host has recorded the answer (a warm resume)
    if index < len(it.events):
        ev = it.events[index]
        kind = "internal" if tf.internal else "tool"
        if ev.get("kind") != kind or ev.get("tool") != name or canonical(ev.get("args")) != canonical(args_json):
            raise ReplayDivergence(
                f"replay diverged at call {index}: program called {name}({canonical(args_json)[:300]}) "
                f"but the record has {ev.get('kind')} {ev.get('tool')!r}({canonical(ev.get('args'))[:300]})",
                detail={"index": index, "expected_tool": ev.get("tool"), "actual_tool": name})
        raw = ev.get("result")
        is_error = bool(ev.get("is_error"))
        result_tags: Any = ev.get("tags") or ()
    else:
        raw, is_error = _run_local(tf, args_json)
        result_tags = ()
        it.events.append({"index": index, "kind": "internal", "tool": name, "args": args_json, "result": raw,
                          "is_error": is_error})

    base = NEUTRAL
    for t in tagged.values():
        base = mm(base, t.meta)
    base = mm(base, control)
    from_outside = tf.internal is None or tf.internal.host
    if from_outside:
        base = outside_meta(opts, base)
    if opts.tool_producer:
        base = mm(base, Meta(producers=StrSet.of([name])))
    tags = []
    if opts.tool_tag:
        tags.append(f"__tool/{name}")
    tags.extend(str(t) for t in result_tags)  # content guards' findings on the result (recorded with it)
    if tags:
        base = mm(base, Meta(tags=StrSet.of(tags)))
    result, rtagged = _result_value(it, tf, raw, is_error, base, tagged, schema_arg, from_outside)
    if upd is not None:
        upd(name, "after", tagged, it.session, rtagged,
            **({"control": control} if accepts_control(policy, "update_session") else {}))
    return result


class _GuardDecision:
    """A content blocker's denial, shaped like a policy decision (same message, same history)."""

    def __init__(self, tool: str, blocks: list[str]) -> None:
        self.tool, self.blocks, self.verdict = tool, blocks, HARD

    @property
    def message(self) -> str:
        return _guard_message(self.tool, self.blocks)

    def to_json(self) -> dict[str, Any]:
        return _guard_decision(self.tool, self.blocks)


def _guard_decision(tool: str, blocks: list[str]) -> dict[str, Any]:
    fired = [{"kind": "guard", "effect": "deny", "level": "hard", "tool": tool, "description": b, "rule": None,
              "decisive": True} for b in blocks]
    return {"tool": tool, "verdict": HARD, "final_verdict": HARD, "allowed": False, "policy": "guard",
            "reason": "a content blocker found a URL or file path in the arguments", "fired": fired,
            "message": _guard_message(tool, blocks)}


def _guard_message(tool: str, blocks: list[str]) -> str:
    lines = [f"Tool call {tool} denied by argument checking policies.",
             f"'{tool}' is denied (hard): a content blocker found a URL or file path in the arguments"]
    return "\n".join(lines + [f"  - {b}" for b in blocks])


def _denied(name: str, decision: Any, verdict: str, args_json: dict[str, Any]) -> PolicyDenied:
    headline = f"Tool call {name} denied by argument checking policies."
    detail = decision_message(decision) or ""
    if detail.startswith(headline):
        detail = detail[len(headline):].lstrip("\n")
    # Readable first (headline, then the decision's own lines), then the data behind it.
    results = {k: v for k, v in decision_json(decision).items() if k != "message"}
    msg = (headline + (f"\n{detail}" if detail else "")
           + f"\nTool calls: {{'{name}': {json.dumps(args_json, ensure_ascii=False, default=str)[:2000]}}}. "
           f"Checking results: {json.dumps(results, default=str)[:4000]}")
    return PolicyDenied(msg, tool=name, decision=decision, verdict=verdict, detail={"tool": name, "verdict": verdict})


def _run_local(tf: ToolFn, args_json: dict[str, Any]) -> tuple[Any, bool]:
    fn = tf.internal.fn if tf.internal is not None else None
    if fn is None:
        return f"{tf.name}: not available", True
    try:
        out = fn(**args_json)
    except InterpreterError:
        raise
    except Exception as e:  # noqa: BLE001 - reported to the program as a tool error
        return f"{type(e).__name__}: {e}", True
    try:
        json.dumps(out)
    except (TypeError, ValueError):
        out = result_text(out)
    return out, False


def _result_value(it: "Machine", tf: ToolFn, raw: Any, is_error: bool, base: Meta, tagged: dict[str, Tagged],
                  schema_arg: ModelClass | None, from_outside: bool) -> tuple[Value, Tagged]:
    opts = it.options
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
            value, problem = parse_result(value, spec.output_schema if spec else None, opts.strict_tool_result_parsing)
            if problem is not None:
                error = problem
    if error is not None:
        text = error or result_text(value)
        meta = _final_meta(it, tf, base, text, tagged, from_outside)
        if opts.wrap_tool_result:
            return Value(ResultObj(False, Value(text, meta)), meta), Tagged(text, meta)
        raise ProgRaise(ExcObj(EXC["ToolCallError"], [Value(f"{tf.name}: {text}", meta)], meta))

    meta = base
    if tf.internal is None and isinstance(value, dict) and value.get("is_sequrity_var") is True and "value" in value:
        explicit = Meta.from_json(value.get("meta") if isinstance(value.get("meta"), dict) else None)
        mode = value.get("combine_meta", "merge")
        value = value["value"]
        if mode == "replace" and tf.name in opts.declassify_tools:
            meta = explicit  # the operator lets this tool declassify what it was called with
        elif mode in ("merge", "replace"):
            meta = meta.merge(explicit)
        # "ignore": keep the computed metadata
        if from_outside:
            meta = meta.merge(UNTRUSTED)
    meta = _final_meta(it, tf, meta, value, tagged, from_outside)
    if schema_arg is not None and tf.internal is not None:
        try:
            out = validate(it, ("model", schema_arg), wrap_json(value, meta), "")
            result = Value(out.v, mm(out.m, meta))
        except ProgRaise:
            result = wrap_json(value, meta)
    else:
        result = wrap_json(value, meta)
    if opts.wrap_tool_result:
        return Value(ResultObj(True, result), meta), Tagged(value, meta)
    return result, Tagged(value, meta)


def _final_meta(it: "Machine", tf: ToolFn, meta: Meta, value: Any, tagged: dict[str, Tagged],
                from_outside: bool) -> Meta:
    apply = getattr(it.policy, "apply_result", None)
    if apply is not None:
        new = apply(tf.name, tagged, Tagged(value, meta), it.session)
        if new is not None:
            meta = new
    if from_outside and not meta.untrusted:
        meta = meta.with_untrusted()  # provenance is ours: no policy update removes it
    return intern_meta(meta)
