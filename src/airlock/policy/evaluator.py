"""Compiled policies and the decision procedure for one tool call.

Decision procedure (``CompiledPolicy.check_call``). The callers run ``session before`` updates
first (``update_session(tool, "before", ...)`` or ``before_call``), then:

1. **Relevant rules** are the check rules of every tool declaration whose id matches the tool
   (a string equals the name; an ``r"..."`` regex matches the *whole* name), plus internal
   preset rules. They are ordered by declaration priority, highest first, then source order.
2. **Evaluate** the conditions in that order; a rule whose condition holds *fires*. A condition
   that raises counts as holding for a deny rule and not holding for an allow rule (fail
   closed). With ``fail_fast`` evaluation stops at the first hard deny that fires; without it
   every rule is evaluated so the record shows all that fired. The verdict is the same.
3. **Hard beats soft.** Any hard deny that fired → ``hard_denied``. Otherwise any hard allow
   that fired → ``allowed``.
4. **Soft rules by priority.** Among soft rules that fired, only those of the highest priority
   decide; at that priority **deny beats allow** → ``soft_denied``, else ``allowed``.
5. **Nothing fired, tool has allow rules** → denied, hard if any of those allow rules is hard,
   else soft. Writing *when* a tool is allowed means it is not allowed otherwise; this is what
   makes ``hard allow when "final_attempt" in @session.tags`` deny the first three refunds in
   the docs' example even though ``default_allow`` is on.
6. **Nothing fired, no allow rules** → ``default_allow``: allowed, or — with
   ``default_allow=false`` — denied at ``default_allow_enforcement_level``.

Result metadata (``apply_result``): start from the metadata the caller computed (normally the
merge of the arguments' metadata), add ``__non_executable`` if that preset is on, then run the
``result { }`` statements of every matching declaration (priority order, then source order);
each statement sees the effect of the previous ones. Session updates (``update_session``) run
the ``session before``/``session after`` statements the same way and mutate the session.

Compiled policies are cached per distinct (language, text, presets, mode, fail_fast), and each
keeps a per-tool plan (the rules and updates relevant to that tool name), so the per-call cost
is only the closures of the rules that apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Iterable, Literal, Mapping

from airlock.meta import NEUTRAL, Meta, SessionMeta, Tagged

from . import ast as A
from .compiler import Compiler, Ctx, Trace, compile_regex_checked
from .decision import Decision, FiredRule
from .errors import ErrorItem, PolicyError, error_at
from .matchers import PatternError
from .parser import parse
from .presets import MODES, Level, PolicyPresets, check_branch, llm_blocked_sqrt, with_non_executable


@dataclass(slots=True)
class Rule:
    matches: Callable[[str], bool]
    tool_pattern: str
    priority: int
    order: int
    level: Literal["hard", "soft"]
    effect: Literal["allow", "deny"]
    cond: Callable[[Ctx], bool] | None
    kind: str = "rule"
    description: str | None = None
    source: str | None = None
    line: int | None = None
    trace: tuple[tuple[str, Callable[[Ctx], Any]], ...] = ()

    def fired(self, ctx: Ctx | None, decisive: bool = True) -> FiredRule:
        seen = {}
        if ctx is not None:
            for label, fn in self.trace:
                try:
                    seen[label] = fn(ctx)
                except Exception:  # pragma: no cover - accessors do not raise
                    seen[label] = None
        return FiredRule(self.kind, self.effect, self.level, self.tool_pattern, self.priority,
                         self.description, self.source, self.line, seen, decisive)


@dataclass(slots=True)
class Updater:
    matches: Callable[[str], bool]
    priority: int
    order: int
    phase: Literal["result", "before", "after"]
    fns: tuple[Callable[[Ctx], None], ...]


@dataclass(slots=True)
class Plan:
    rules: tuple[Rule, ...]
    allow_level: Level | None  # strongest level among the tool's allow rules, None if none
    result: tuple[Callable[[Ctx], None], ...]
    before: tuple[Callable[[Ctx], None], ...]
    after: tuple[Callable[[Ctx], None], ...]


def decide(tool: str, fired: list[FiredRule], allow_level: Level | None, presets: PolicyPresets) -> Decision:
    """Steps 3–6 of the decision procedure over rules already evaluated (steps 1–2).

    ``fired`` must be in evaluation order (priority first). Shared by SQRT and Cedar."""
    hard_deny = hard_allow = False
    soft_prio = None
    soft_deny = False
    for r in fired:
        if r.level == "hard":
            if r.effect == "deny":
                hard_deny = True
            else:
                hard_allow = True
        elif soft_prio is None or r.priority == soft_prio:
            soft_prio = r.priority
            soft_deny = soft_deny or r.effect == "deny"
    if hard_deny:
        for r in fired:
            r.decisive = r.level == "hard" and r.effect == "deny"
        return Decision(tool, "hard_denied", fired, "a hard deny rule fired")
    if hard_allow:
        for r in fired:
            r.decisive = r.level == "hard"
        return Decision(tool, "allowed", fired, "a hard allow rule fired")
    if soft_prio is not None:
        effect = "deny" if soft_deny else "allow"
        for r in fired:
            r.decisive = r.priority == soft_prio and r.effect == effect
        if soft_deny:
            return Decision(tool, "soft_denied", fired, f"a soft deny rule fired at priority {soft_prio}")
        return Decision(tool, "allowed", fired, f"a soft allow rule fired at priority {soft_prio}")
    if allow_level is not None:
        entry = FiredRule("allowlist", "deny", allow_level, tool,
                          description=f"'{tool}' has allow rules and none of them matched")
        return Decision(tool, "hard_denied" if allow_level == "hard" else "soft_denied", fired + [entry],
                        "no allow rule matched")
    level = presets.default_allow_enforcement_level
    if presets.default_allow:
        entry = FiredRule("default", "allow", level, tool, description="default_allow: no rule applies")
        return Decision(tool, "allowed", fired + [entry], "no rule applies; default_allow")
    entry = FiredRule("default", "deny", level, tool, description="default_allow is off and no rule applies")
    return Decision(tool, "hard_denied" if level == "hard" else "soft_denied", fired + [entry],
                    "no rule applies and default_allow is off")


class CompiledPolicy:
    """A policy ready to check calls. Build with ``compile_policy``; safe to share between
    threads (per-tool plans are computed once and only ever replaced by equal values)."""

    language = "sqrt"

    def __init__(self, rules: list[Rule], updaters: list[Updater], presets: PolicyPresets,
                 mode: str = "standard", fail_fast: bool = True):
        self.rules = sorted(rules, key=lambda r: (-r.priority, r.order))
        self.updaters = sorted(updaters, key=lambda u: (-u.priority, u.order))
        self.presets = presets
        self.mode = mode
        self.fail_fast = fail_fast
        self._plans: dict[str, Plan] = {}

    @property
    def propagates_control_flow(self) -> bool:
        """Whether the interpreter must give values assigned under a branch the branch
        condition's metadata (``strict`` and ``custom`` modes)."""
        return self.mode in ("strict", "custom")

    def plan(self, tool: str) -> Plan:
        plan = self._plans.get(tool)
        if plan is None:
            rules = tuple(r for r in self.rules if r.matches(tool))
            allow = [r.level for r in rules if r.effect == "allow" and r.kind == "rule"]
            allow_level: Level | None = ("hard" if "hard" in allow else "soft") if allow else None
            ups = [u for u in self.updaters if u.matches(tool)]
            plan = Plan(rules, allow_level,
                        tuple(f for u in ups if u.phase == "result" for f in u.fns),
                        tuple(f for u in ups if u.phase == "before" for f in u.fns),
                        tuple(f for u in ups if u.phase == "after" for f in u.fns))
            if len(self._plans) < 4096:  # tool names come from requests; bound the cache
                self._plans[tool] = plan
        return plan

    # ---- the four calls the interpreter makes ---------------------------------------------
    def check_call(self, tool: str, args: Mapping[str, Tagged], session: SessionMeta, *,
                   control: Meta = NEUTRAL) -> Decision:
        plan = self.plan(tool)
        ctx = Ctx(args, session, control=control)
        fired: list[FiredRule] = []
        fail_fast = self.fail_fast
        for r in plan.rules:
            cond = r.cond
            if cond is not None:
                try:
                    if not cond(ctx):
                        continue
                except Exception as exc:
                    if r.effect != "deny":
                        continue
                    entry = r.fired(ctx)
                    entry.kind = "error"
                    entry.description = f"{r.description or ''} (condition failed: {exc})".strip()
                    fired.append(entry)
                    if r.level == "hard" and fail_fast:
                        break
                    continue
            fired.append(r.fired(ctx))
            if fail_fast and r.level == "hard" and r.effect == "deny":
                break
        return decide(tool, fired, plan.allow_level, self.presets)

    def before_call(self, tool: str, args: Mapping[str, Tagged], session: SessionMeta, *,
                    control: Meta = NEUTRAL) -> Decision:
        """``session before`` updates, then ``check_call`` — the order the docs' refund example needs."""
        self.update_session(tool, "before", args, session, control=control)
        return self.check_call(tool, args, session, control=control)

    def apply_result(self, tool: str, args: Mapping[str, Tagged], result: Tagged, session: SessionMeta, *,
                     control: Meta = NEUTRAL) -> Meta:
        meta = result.meta
        if self.presets.enable_non_executable_memory:
            meta = with_non_executable(meta)
        fns = self.plan(tool).result
        if not fns:
            return meta
        ctx = Ctx(args, session, result.value, meta, control)
        for fn in fns:
            fn(ctx)
        return ctx.result_meta

    def update_session(self, tool: str, phase: Literal["before", "after"], args: Mapping[str, Tagged],
                       session: SessionMeta, result: Tagged | None = None, *, control: Meta = NEUTRAL) -> None:
        plan = self.plan(tool)
        fns = plan.before if phase == "before" else plan.after
        if not fns:
            return
        ctx = Ctx(args, session, None if result is None else result.value,
                  Meta() if result is None else result.meta, control)
        for fn in fns:
            fn(ctx)

    def check_branch(self, condition: Meta) -> Decision:
        return check_branch(self.mode, self.presets.branching_meta_policy, condition)

    def __repr__(self) -> str:
        return f"<CompiledPolicy {self.language} mode={self.mode} rules={len(self.rules)} updaters={len(self.updaters)}>"


# ---- building ----------------------------------------------------------------------------


def initial_result_meta(args: Mapping[str, Tagged], manual: Meta | None = None, combine: str = "merge", *,
                        control: Meta = NEUTRAL) -> Meta:
    """The metadata a tool result starts with: the merge of its arguments' metadata (and of the
    control context the call was made in), combined with metadata the tool supplied itself
    (``{"value", "meta", "is_sequrity_var": true, "combine_meta"}``): ``merge`` (default),
    ``replace`` or ``ignore``."""
    base = Meta.merge_all([*(t.meta for t in args.values()), control])
    if manual is None or combine == "ignore":
        return base
    if combine == "replace":
        return manual
    return base.merge(manual)


def _tool_matcher(tool: A.Tool) -> Callable[[str], bool]:
    if tool.is_regex:
        return compile_regex_checked(tool.pattern)
    name = tool.pattern
    return lambda t: t == name


def build_sqrt(sources: list[str], presets: PolicyPresets, mode: str, fail_fast: bool) -> CompiledPolicy:
    programs: list[tuple[int | None, A.Program]] = []
    errors: list[ErrorItem] = []
    multi = len(sources) > 1
    for i, text in enumerate(sources):
        try:
            programs.append((i if multi else None, parse(text)))
        except PolicyError as exc:
            for e in exc.errors:
                e.source_index = i if multi else None
            errors.extend(exc.errors)
    preset_text = llm_blocked_sqrt(presets)
    preset_program = parse(preset_text) if preset_text else A.Program()
    if errors:
        raise PolicyError(errors)

    # let names are global across all texts; a second definition is an error
    lets: dict[str, A.Let] = {}
    let_src: dict[str, tuple[int | None, str]] = {}
    for idx, prog in programs:
        for let in prog.lets:
            if let.name in lets:
                prev = lets[let.name].span.line
                e = error_at(prog.source, let.span, f"`{let.name}` is already defined by the `let` on line {prev}")
                e.source_index = idx
                errors.append(e)
                continue
            lets[let.name] = let
            let_src[let.name] = (idx, prog.source)

    rules: list[Rule] = []
    updaters: list[Updater] = []
    order = 0
    all_programs = programs + [(None, preset_program)]
    for n, (idx, prog) in enumerate(all_programs):
        is_preset = n == len(programs)
        comp = Compiler(prog.source, lets)
        if not is_preset:
            for let in prog.lets:
                comp.check_let(let)
        for tool in prog.tools:
            try:
                matches = _tool_matcher(tool)
            except PatternError as exc:
                comp.errors.append(error_at(prog.source, tool.id_span, str(exc)))
                continue
            for check in tool.checks:
                order += 1
                trace: Trace = {}
                cond = None
                if check.cond is not None:
                    cond = comp.predicate(check.cond, "check", trace)
                    if cond is None:
                        continue
                text = " ".join(prog.source[check.span.start:check.span.end].split()).rstrip(";")
                rules.append(Rule(matches, tool.pattern, tool.priority, order, check.level, check.effect, cond,
                                  "preset" if is_preset else "rule", check.doc or tool.doc, text,
                                  None if is_preset else check.span.line, tuple(trace.items())))
            for block in tool.blocks:
                order += 1
                fns = comp.block(block)
                if fns:
                    updaters.append(Updater(matches, tool.priority, order, block.phase, tuple(fns)))
        # errors inside let bodies are reported against the text that defined the let
        for e in comp.errors:
            e.source_index = idx
        errors.extend(comp.errors)
    if errors:
        errors.sort(key=lambda e: (e.source_index or 0, e.line or 0, e.column or 0))
        # the same let error reported at several use sites is one problem
        unique, seen = [], set()
        for e in errors:
            key = (e.source_index, e.line, e.column, e.message.split(" (in let ")[0])
            if key not in seen:
                seen.add(key)
                unique.append(e)
        raise PolicyError(unique)
    return CompiledPolicy(rules, updaters, presets, mode, fail_fast)


@lru_cache(maxsize=256)
def _compile_cached(language: str, sources: tuple[str, ...], presets: PolicyPresets, mode: str,
                    fail_fast: bool) -> CompiledPolicy:
    if language == "cedar":
        from .cedar import build_cedar

        return build_cedar(list(sources), presets, mode, fail_fast)
    return build_sqrt(list(sources), presets, mode, fail_fast)


def compile_policy(source: str | Iterable[str], language: str = "sqrt",
                   presets: PolicyPresets | dict[str, Any] | None = None, fail_fast: bool = True,
                   mode: str | None = "standard") -> CompiledPolicy:
    """Compile (or fetch from the cache) a policy. Raises ``PolicyError`` listing every problem."""
    if language not in ("sqrt", "cedar"):
        raise PolicyError(f"unknown policy language {language!r}: expected 'sqrt' or 'cedar'")
    mode = mode or "standard"
    if mode not in MODES:
        raise PolicyError(f"unknown policy mode {mode!r}: expected one of {', '.join(MODES)}")
    sources = (source,) if isinstance(source, str) else tuple(source)
    return _compile_cached(language, sources, PolicyPresets.from_value(presets), mode,
                           True if fail_fast is None else bool(fail_fast))
