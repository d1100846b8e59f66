"""Type-check SQRT and compile it to Python closures.

Name resolution, type checking and code generation are one pass over the ``ast``: each
expression compiles to a ``Typed`` (its type plus a closure over an evaluation context), so a
mistake is reported exactly where the types stop fitting, with the types named. Types:

* ``pred``  — true/false (check conditions, ``when`` clauses);
* ``set``   — a set of strings that may be universal (metadata: tags/producers/consumers);
* ``pattern`` — a *value set*: exact strings plus regexes, wildcards and type domains; only
  usable on the right of ``in``/``overlaps``/``subset of`` and joinable with ``|``;
* ``value`` — a tool-argument value or a literal (``x.value``, ``"a"``, ``3``).

``let`` bindings are macros: a name expands to its definition compiled *where it is used*, so
``@tags`` or ``@result`` inside a ``let`` take the meaning of the block that uses it, and one
definition can serve a check rule and a result block alike. Cycles are errors.

Phases decide what an accessor means (see ``Phase``): in a check rule ``@result.*`` is the
*prospective* result metadata (the merge of the arguments' metadata, which is what the result
will start with), while ``@result.value`` and bare ``@tags`` have no meaning and are errors.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Literal, Mapping

from airlock.meta import EMPTY, NEUTRAL, UNIVERSAL, Meta, SessionMeta, StrSet, Tagged

from . import ast as A
from .errors import ErrorItem, error_at
from .matchers import PatternError, compile_regex, describe_domain, domain_matcher, regex_matcher, to_epoch, wildcard_matcher

META_FIELDS = ("tags", "producers", "consumers")
Phase = Literal["check", "result", "before", "after", "let"]
_MISSING = Tagged(None, NEUTRAL)
Trace = dict[str, Callable[["Ctx"], Any]]  # accessor label -> accessor, recorded into a decision


# ---- evaluation context --------------------------------------------------------------------


class Ctx:
    """What one evaluation sees. ``result_meta`` is the metadata being built (result block) or
    the final one (``session after``); in check rules it is computed lazily from the args.

    ``control`` is the metadata of the context the call is made in (the branch conditions and
    loop iterables above it, in strict mode). It is one more operand of every ``@args.*``
    aggregate and of the prospective ``@result.*``: a zero-argument call made because of a
    tainted condition is as tainted as the condition, and without this operand it would look
    clean. The top-level context (``NEUTRAL``) is no operand at all, so ``.intersect`` over the
    arguments is unchanged outside branches."""

    __slots__ = ("args", "session", "result_value", "_result_meta", "control")

    def __init__(self, args: Mapping[str, Tagged], session: SessionMeta, result_value: Any = None,
                 result_meta: Meta | None = None, control: Meta = NEUTRAL):
        self.args = args
        self.session = session
        self.result_value = result_value
        self._result_meta = result_meta
        self.control = control

    def operands(self) -> Iterator[Meta]:
        """The metadata the call depends on: each argument's, then the control context's."""
        for t in self.args.values():
            yield t.meta
        if self.control is not NEUTRAL and self.control != NEUTRAL:
            yield self.control

    @property
    def result_meta(self) -> Meta:
        meta = self._result_meta
        if meta is None:
            meta = self._result_meta = Meta.merge_all(self.operands())
        return meta

    @result_meta.setter
    def result_meta(self, meta: Meta) -> None:
        self._result_meta = meta


# ---- set algebra beyond meta.StrSet --------------------------------------------------------


def set_xor(a: StrSet, b: StrSet) -> StrSet:
    """Symmetric difference. The complement of a finite set is not representable, so a
    universal operand with a finite one yields the universal set (an over-approximation, the
    same convention ``StrSet.minus`` uses)."""
    if a.universal and b.universal:
        return EMPTY
    if a.universal or b.universal:
        return UNIVERSAL
    return StrSet(a.items ^ b.items)


def set_equal(a: StrSet, b: StrSet) -> bool:
    return a.universal == b.universal and (a.universal or a.items == b.items)


_SET_OPS: dict[str, Callable[[StrSet, StrSet], StrSet]] = {
    "union": StrSet.union,
    "intersect": StrSet.intersect,
    "minus": StrSet.minus,
    "xor": set_xor,
    "|=": StrSet.union,
    "&=": StrSet.intersect,
    "-=": StrSet.minus,
    "^=": set_xor,
}


# ---- typed compilation results -------------------------------------------------------------


@dataclass(slots=True)
class Pattern:
    """A static value set: exact strings (O(1) lookup) plus matchers for everything else."""

    exact: frozenset[Any] = frozenset()
    matchers: tuple[Callable[[Any], bool], ...] = ()
    universal: bool = False
    labels: tuple[str, ...] = ()

    def matches(self, v: Any) -> bool:
        if self.universal:
            return True
        if isinstance(v, str):
            if v in self.exact:
                return True
        elif isinstance(v, (bool, int, float)) and not isinstance(v, str):
            if (type(v), v) in self.exact:  # numbers and bools are stored type-tagged
                return True
        for m in self.matchers:
            if m(v):
                return True
        return False

    def join(self, other: "Pattern") -> "Pattern":
        return Pattern(self.exact | other.exact, self.matchers + other.matchers,
                       self.universal or other.universal, self.labels + other.labels)


def _no_fn(c: Ctx) -> Any:  # pragma: no cover - patterns are constants, never evaluated
    raise TypeError("a value set has no call-time value")


@dataclass(slots=True)
class Typed:
    type: Literal["pred", "set", "pattern", "value"]
    fn: Callable[[Ctx], Any] = _no_fn
    const: Any = None  # StrSet for constant sets, Pattern for patterns, python value for literals
    is_const: bool = False
    datetime_literal: bool = False


_TYPE_WORDS = {"pred": "a condition", "set": "a set", "pattern": "a value set", "value": "a value"}


class _Fail(Exception):
    """Aborts compiling one expression after its error has been recorded."""


@dataclass
class Compiler:
    """Compiles expressions/statements of one program; ``errors`` collects every problem."""

    source: str
    lets: dict[str, A.Let]
    errors: list[ErrorItem] = field(default_factory=list)
    _expanding: list[str] = field(default_factory=list)

    # ---- error helpers -----------------------------------------------------------------------
    def fail(self, span: A.Span, message: str) -> _Fail:
        if self._expanding:
            message += f" (in let {' -> '.join(self._expanding)})"
        self.errors.append(error_at(self.source, span, message))
        return _Fail()

    def text(self, node: Any) -> str:
        span = getattr(node, "span", None)
        if span is None or span.end <= span.start:
            return type(node).__name__
        t = " ".join(self.source[span.start : span.end].split())
        return t if len(t) <= 60 else t[:57] + "..."

    def want(self, t: Typed, kinds: tuple[str, ...], node: Any, role: str) -> Typed:
        if t.type not in kinds:
            hint = ""
            if t.type == "set" and "pred" in kinds:
                hint = "; compare it, e.g. `... overlaps {...}`, `... is empty` or `\"x\" in ...`"
            elif t.type == "pattern" and "set" in kinds:
                hint = "; value sets with patterns or domains only go right of `in`, `overlaps` or `subset of`"
            wanted = " or ".join(_TYPE_WORDS[k] for k in kinds)
            raise self.fail(node.span, f"{role} must be {wanted}, but `{self.text(node)}` is {_TYPE_WORDS[t.type]}{hint}")
        return t

    # ---- entry points ------------------------------------------------------------------------
    def predicate(self, node: A.Expr, phase: Phase, trace: Trace | None = None) -> Callable[[Ctx], bool] | None:
        try:
            t = self.want(self.expr(node, phase, trace), ("pred",), node, "a condition")
        except _Fail:
            return None
        return t.fn

    def set_expr(self, node: A.Expr, phase: Phase) -> Callable[[Ctx], StrSet] | None:
        try:
            t = self.want(self.expr(node, phase, None), ("set",), node, "the assigned expression")
        except _Fail:
            return None
        return t.fn

    def check_let(self, let: A.Let) -> None:
        try:
            self.expr(let.expr, "let", None)
        except _Fail:
            pass

    # ---- expressions -------------------------------------------------------------------------
    def expr(self, node: A.Expr, phase: Phase, trace: Trace | None) -> Typed:
        method: Callable[[Any, Phase, Trace | None], Typed] = getattr(self, "_" + type(node).__name__)
        return method(node, phase, trace)

    def _Name(self, node: A.Name, phase: Phase, trace: Trace | None) -> Typed:
        let = self.lets.get(node.name)
        if let is None:
            close = difflib.get_close_matches(node.name, list(self.lets), n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            raise self.fail(node.span, f"unknown name `{node.name}`: not defined by any `let`{hint} "
                                       f"(an argument needs a field, e.g. `{node.name}.value` or `{node.name}.tags`)")
        if node.name in self._expanding:
            cycle = " -> ".join(self._expanding[self._expanding.index(node.name):] + [node.name])
            raise self.fail(node.span, f"`let` definitions refer to each other in a cycle: {cycle}")
        self._expanding.append(node.name)
        try:
            return self.expr(let.expr, phase, trace)
        finally:
            self._expanding.pop()

    def _StrLit(self, node: A.StrLit, phase: Phase, trace: Trace | None) -> Typed:
        v = node.value
        return Typed("value", lambda c: v, v, True)

    def _NumLit(self, node: A.NumLit, phase: Phase, trace: Trace | None) -> Typed:
        v = node.value
        return Typed("value", lambda c: v, v, True)

    def _BoolLit(self, node: A.BoolLit, phase: Phase, trace: Trace | None) -> Typed:
        v = node.value
        return Typed("value", lambda c: v, v, True)

    def _DateTimeLit(self, node: A.DateTimeLit, phase: Phase, trace: Trace | None) -> Typed:
        t = to_epoch(node.text)
        if t is None:
            raise self.fail(node.span, f'invalid datetime d"{node.text}": expected ISO 8601 such as d"2024-01-31T12:00:00Z"')
        return Typed("value", lambda c: t, t, True, datetime_literal=True)

    def _RegexLit(self, node: A.RegexLit | A.WildLit | A.Domain, phase: Phase, trace: Trace | None) -> Typed:
        return Typed("pattern", const=self.pattern_of(node), is_const=True)

    _WildLit = _RegexLit
    _Domain = _RegexLit

    def pattern_of(self, node: Any) -> Pattern:
        try:
            if isinstance(node, A.RegexLit):
                return Pattern(matchers=(regex_matcher(node.pattern),), labels=(f'r"{node.pattern}"',))
            if isinstance(node, A.WildLit):
                return Pattern(matchers=(wildcard_matcher(node.pattern),), labels=(f'w"{node.pattern}"',))
            return Pattern(matchers=(domain_matcher(node),), labels=(describe_domain(node),))
        except PatternError as exc:
            raise self.fail(node.span, str(exc)) from None

    def _SetLit(self, node: A.SetLit, phase: Phase, trace: Trace | None) -> Typed:
        exact: set[str] = set()
        pattern = Pattern()
        has_pattern = False
        universal = False
        for el in node.elements:
            t = self.expr(el, phase, trace)
            if t.type == "value" and t.is_const and not t.datetime_literal:
                v = t.const
                if isinstance(v, str):
                    if v == "*":
                        universal = True
                    else:
                        exact.add(v)
                else:  # numbers and bools match by value and kind, never as strings
                    has_pattern = True
                    keys: set[tuple[type, Any]] = {(bool, v)} if isinstance(v, bool) else {(int, v), (float, v)}
                    pattern = pattern.join(Pattern(exact=frozenset(keys),
                                                   labels=(str(v).lower(),)))
            elif t.type == "value" and t.datetime_literal:
                has_pattern = True
                pattern = pattern.join(Pattern(matchers=(_same_instant(t.const),), labels=(self.text(el),)))
            elif t.type == "set" and t.is_const:
                universal = universal or t.const.universal
                exact |= t.const.items
            elif t.type == "pattern":
                has_pattern = True
                pattern = pattern.join(t.const)
            else:
                raise self.fail(el.span, f"set elements must be constants (strings, patterns, domains or numbers), "
                                         f"but `{self.text(el)}` is {_TYPE_WORDS[t.type]} computed at call time")
        if not has_pattern:
            s = UNIVERSAL if universal else StrSet(frozenset(exact))
            return Typed("set", lambda c: s, s, True)
        p = Pattern(frozenset(exact) | pattern.exact, pattern.matchers, universal,
                    tuple(sorted(exact)) + pattern.labels)
        return Typed("pattern", const=p, is_const=True)

    def _Access(self, node: A.Access, phase: Phase, trace: Trace | None) -> Typed:
        f = node.field
        scope = node.scope
        if f not in META_FIELDS and f != "value":
            close = difflib.get_close_matches(f, META_FIELDS + ("value",), n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            raise self.fail(node.span, f"unknown field `{f}` in `{self.text(node)}`: expected tags, producers, consumers or value{hint}")
        if scope == "context":
            if phase == "check":
                raise self.fail(node.span, f"`@{f}` needs a `result` or `session` block to say whose {f}; "
                                           f"in a check rule write `@session.{f}`, `@result.{f}` or `@args.{f}`")
            scope = "result" if phase == "result" else ("session" if phase in ("before", "after") else "session")
            if phase == "let":
                scope = "session"
        if f == "value" and scope == "args":
            raise self.fail(node.span, "`@args.value` is not defined: aggregate a metadata field (tags, producers, consumers)")
        if scope == "result":
            if phase == "before":
                raise self.fail(node.span, f"`{self.text(node)}`: the result is not known in `session before`; "
                                           "use it in `result { }` or `session after { }`")
            if f == "value" and phase == "check":
                raise self.fail(node.span, "`@result.value` is not known before the call; check arguments with `NAME.value`")
        fn = _accessor(scope, f, node.arg, node.agg)
        if trace is not None:
            trace.setdefault(node.label(), fn)
        return Typed("value" if f == "value" else "set", fn)

    def _BinOp(self, node: A.BinOp, phase: Phase, trace: Trace | None) -> Typed:
        left = self.expr(node.left, phase, trace)
        if node.op in ("with", "without"):
            right = self.expr(node.right, phase, trace)
            if left.type == "pattern" and node.op == "with" and right.type in ("pattern",):
                return Typed("pattern", const=left.const.join(right.const), is_const=True)
            self.want(left, ("set",), node.left, f"the left side of `{node.op}`")
            if not (right.type == "value" and right.is_const and isinstance(right.const, str)):
                raise self.fail(node.right.span, f"`{node.op}` takes one string, e.g. `@tags {node.op} \"x\"`; "
                                                 f"got `{self.text(node.right)}`")
            single = StrSet.of([right.const])
            op = StrSet.union if node.op == "with" else StrSet.minus
            return self._fold(op, left, Typed("set", lambda c: single, single, True))
        right = self.expr(node.right, phase, trace)
        if node.op == "union" and "pattern" in (left.type, right.type):
            parts = []
            for side, t in ((node.left, left), (node.right, right)):
                if t.type == "pattern":
                    parts.append(t.const)
                elif t.type == "set" and t.is_const:
                    parts.append(Pattern(t.const.items, (), t.const.universal, tuple(sorted(t.const.items))))
                else:
                    raise self.fail(side.span, f"a value set can only be joined with constant sets; `{self.text(side)}` is computed at call time")
            return Typed("pattern", const=parts[0].join(parts[1]), is_const=True)
        sym = {"union": "|", "intersect": "&", "minus": "-", "xor": "^"}[node.op]
        self.want(left, ("set",), node.left, f"the left side of `{sym}`")
        self.want(right, ("set",), node.right, f"the right side of `{sym}`")
        return self._fold(_SET_OPS[node.op], left, right)

    @staticmethod
    def _fold(op: Callable[[StrSet, StrSet], StrSet], left: Typed, right: Typed) -> Typed:
        if left.is_const and right.is_const:
            s = op(left.const, right.const)
            return Typed("set", lambda c: s, s, True)
        lf, rf = left.fn, right.fn
        return Typed("set", lambda c: op(lf(c), rf(c)))

    def _BoolOp(self, node: A.BoolOp, phase: Phase, trace: Trace | None) -> Typed:
        a = self.want(self.expr(node.left, phase, trace), ("pred",), node.left, f"each side of `{node.op}`").fn
        b = self.want(self.expr(node.right, phase, trace), ("pred",), node.right, f"each side of `{node.op}`").fn
        if node.op == "and":
            return Typed("pred", lambda c: a(c) and b(c))
        return Typed("pred", lambda c: a(c) or b(c))

    def _Not(self, node: A.Not, phase: Phase, trace: Trace | None) -> Typed:
        a = self.want(self.expr(node.operand, phase, trace), ("pred",), node.operand, "the operand of `not`").fn
        return Typed("pred", lambda c: not a(c))

    def _Compare(self, node: A.Compare, phase: Phase, trace: Trace | None) -> Typed:
        op = node.op
        left = self.expr(node.left, phase, trace)
        if op in ("is_empty", "is_universal"):
            lf = self.want(left, ("set",), node.left, f"the operand of `is {op[3:]}`").fn
            if op == "is_empty":
                return Typed("pred", lambda c: lf(c).is_empty())
            return Typed("pred", lambda c: lf(c).universal)
        assert node.right is not None  # only the two `is ...` tests are unary
        right = self.expr(node.right, phase, trace)
        if op in ("matching", "like"):
            lf = self.want(left, ("value",), node.left, f"the left side of `{op}`").fn
            m = self.pattern_of(node.right).matchers[0]
            return Typed("pred", lambda c: _any_value(lf(c), m))
        if op == "in":
            if left.type == "set":
                raise self.fail(node.left.span, f"`{self.text(node.left)}` is a set; `in` tests one value — "
                                                "for sets use `subset of`, `overlaps` or `superset of`")
            self.want(left, ("value",), node.left, "the left side of `in`")
            self.want(right, ("set", "pattern"), node.right, "the right side of `in`")
            return Typed("pred", _in(left, right))
        if op in ("==", "!="):
            if left.type == "value" and right.type == "value":
                lf, rf = left.fn, right.fn
                if left.datetime_literal or right.datetime_literal:
                    eq = lambda c: to_epoch(lf(c)) == to_epoch(rf(c))  # noqa: E731
                else:
                    eq = lambda c: _values_equal(lf(c), rf(c))  # noqa: E731
            elif left.type == "set" and right.type == "set":
                lf, rf = left.fn, right.fn
                eq = lambda c: set_equal(lf(c), rf(c))  # noqa: E731
            else:
                raise self.fail(node.span, f"`{op}` compares two values or two sets, but `{self.text(node.left)}` is "
                                           f"{_TYPE_WORDS[left.type]} and `{self.text(node.right)}` is {_TYPE_WORDS[right.type]}")
            if op == "==":
                return Typed("pred", eq)
            check_eq: Callable[[Ctx], bool] = eq
            return Typed("pred", lambda c: not check_eq(c))
        # overlaps / subset / superset
        word = {"overlaps": "overlaps", "subset": "subset of", "superset": "superset of"}[op]
        self.want(left, ("set", "value"), node.left, f"the left side of `{word}`")
        allowed_right = ("set",) if op == "superset" else ("set", "pattern")
        self.want(right, allowed_right, node.right, f"the right side of `{word}`")
        lf = left.fn if left.type == "set" else _value_as_set(left.fn)
        if right.type == "pattern":
            p = right.const
            if op == "overlaps":
                return Typed("pred", lambda c: _pattern_overlaps(lf(c), p))
            return Typed("pred", lambda c: _pattern_subset(lf(c), p))
        rf = right.fn
        if op == "overlaps":
            return Typed("pred", lambda c: lf(c).overlaps(rf(c)))
        if op == "subset":
            return Typed("pred", lambda c: lf(c).is_subset(rf(c)))
        return Typed("pred", lambda c: rf(c).is_subset(lf(c)))

    # ---- statements --------------------------------------------------------------------------
    def update(self, upd: A.Update, phase: Phase) -> Callable[[Ctx], None] | None:
        tgt = upd.target
        if tgt.field not in META_FIELDS:
            self.fail(tgt.span, f"cannot assign `{self.text(tgt)}`: only tags, producers and consumers can be updated")
            return None
        scope = tgt.scope
        if scope == "context":
            scope = "result" if phase == "result" else "session"
        if scope == "arg":
            self.fail(tgt.span, f"argument metadata is read-only: `{self.text(tgt)}`; update `@result.{tgt.field}` or `@session.{tgt.field}`")
            return None
        if scope == "args":
            self.fail(tgt.span, "`@args.*` is an aggregate and cannot be assigned")
            return None
        if scope == "result" and phase != "result":
            where = "session before" if phase == "before" else "session after"
            self.fail(tgt.span, f"`@result.{tgt.field}` can only be updated in a `result` block, not in `{where}`")
            return None
        rhs = self.set_expr(upd.expr, phase)
        if rhs is None:
            return None
        f = tgt.field
        combine = None if upd.op == "=" else _SET_OPS[upd.op]
        if scope == "result":
            def run(c: Ctx) -> None:
                m = c.result_meta
                new = rhs(c) if combine is None else combine(getattr(m, f), rhs(c))
                c.result_meta = Meta(
                    new if f == "producers" else m.producers,
                    new if f == "consumers" else m.consumers,
                    new if f == "tags" else m.tags,
                    m.untrusted,  # provenance is not the policy's to change
                )
        else:
            def run(c: Ctx) -> None:
                s = c.session
                setattr(s, f, rhs(c) if combine is None else combine(getattr(s, f), rhs(c)))
        return run

    def block(self, block: A.Block) -> list[Callable[[Ctx], None]]:
        out: list[Callable[[Ctx], None]] = []
        for stmt in block.stmts:
            if isinstance(stmt, A.Update):
                fn = self.update(stmt, block.phase)
                if fn:
                    out.append(fn)
                continue
            cond = self.predicate(stmt.cond, block.phase)
            body = [fn for fn in (self.update(u, block.phase) for u in stmt.updates) if fn]
            if cond is None:
                continue

            def run(c: Ctx, cond: Callable[[Ctx], bool] = cond,
                    body: tuple[Callable[[Ctx], None], ...] = tuple(body)) -> None:
                try:
                    hit = cond(c)
                except Exception:  # a malformed value never takes a conditional branch
                    hit = False
                if hit:
                    for fn in body:
                        fn(c)

            out.append(run)
        return out


# ---- runtime helpers (module level so closures stay small) ---------------------------------


def _accessor(scope: str, f: str, arg: str | None, agg: str) -> Callable[[Ctx], Any]:
    if scope == "arg":
        name = arg or ""
        if f == "value":
            return lambda c: c.args.get(name, _MISSING).value
        return lambda c: getattr(c.args.get(name, _MISSING).meta, f)
    if scope == "session":
        if f == "value":
            return lambda c: c.session.extra.get("value")
        return lambda c: getattr(c.session, f)
    if scope == "result":
        if f == "value":
            return lambda c: c.result_value
        return lambda c: getattr(c.result_meta, f)
    # @args aggregation over the arguments and the control context (``Ctx.operands``); the
    # empty aggregate is the operation's identity
    if agg == "union":
        def agg_union(c: Ctx) -> StrSet:
            out = EMPTY
            for m in c.operands():
                out = out.union(getattr(m, f))
            return out
        return agg_union

    def agg_intersect(c: Ctx) -> StrSet:
        out = UNIVERSAL
        for m in c.operands():
            out = out.intersect(getattr(m, f))
        return out
    return agg_intersect


def _same_instant(ts: float) -> Callable[[Any], bool]:
    return lambda v: to_epoch(v) == ts


def _values_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False  # true is not 1
    return bool(a == b)


def _any_value(v: Any, m: Callable[[Any], bool]) -> bool:
    if isinstance(v, (list, tuple, set, frozenset)):
        return bool(v) and all(m(x) for x in v)
    return m(v)


def _in(left: Typed, right: Typed) -> Callable[[Ctx], bool]:
    """``value in S``. A list value is in S when it is non-empty and every element is."""
    lf = left.fn
    if right.type == "pattern":
        test = right.const.matches
    elif right.is_const:
        s = right.const
        test = lambda v: isinstance(v, str) and s.contains(v)  # noqa: E731
    else:
        rf = right.fn

        def dyn(c: Ctx) -> bool:
            s = rf(c)
            return _any_value(lf(c), lambda v: isinstance(v, str) and s.contains(v))
        return dyn
    if left.is_const:
        v = left.const
        hit = _any_value(v, test)
        return lambda c: hit
    return lambda c: _any_value(lf(c), test)


def _value_as_set(fn: Callable[[Ctx], Any]) -> Callable[[Ctx], StrSet]:
    """A value used as a set (``tables.value overlaps {...}``): its string elements."""
    def conv(c: Ctx) -> StrSet:
        v = fn(c)
        if isinstance(v, str):
            return StrSet(frozenset((v,)))
        if isinstance(v, (list, tuple, set, frozenset)):
            return StrSet(frozenset(x for x in v if isinstance(x, str)))
        return EMPTY
    return conv


def _pattern_overlaps(s: StrSet, p: Pattern) -> bool:
    if s.universal:
        return bool(p.exact or p.matchers or p.universal)
    return any(p.matches(x) for x in s.items)


def _pattern_subset(s: StrSet, p: Pattern) -> bool:
    if s.universal:
        return p.universal
    return all(p.matches(x) for x in s.items)


def compile_regex_checked(pattern: str) -> Callable[[str], bool]:
    """Tool-id regexes: whole-name match on RE2 (raises PatternError)."""
    rx = compile_regex(pattern)
    return lambda name: rx.fullmatch(name) is not None
