"""``re`` as programs see it, on RE2 (linear time, no backreferences).

Patterns and subjects are read whole (``DEEP``); a match carries both (``meta``). Work is charged
as it happens: matches are consumed one at a time from RE2's iterator, each charged to the budget,
so ``re.findall("", big)`` stops at the step or size limit instead of being one uninterruptible
call, and a callable replacement in ``re.sub`` builds its output with a running total (v1 summed
every piece after each match: quadratic).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable

import re2

from airlock.meta import NEUTRAL, Meta

from ..errors import ResourceLimitExceeded
from ..flow import Entry, callback
from ..values import ListObj, Value
from .objects import perr

if TYPE_CHECKING:
    from ..machine import Machine

Impl = Callable[["Machine", Any, list[Value], dict[str, Value]], Value]
FLAGS = {"IGNORECASE": 2, "I": 2, "MULTILINE": 8, "M": 8, "DOTALL": 16, "S": 16, "ASCII": 256, "A": 256}
_CACHE: dict[tuple[str, int], Any] = {}


class RePattern:
    __slots__ = ("rx", "pattern", "meta")

    def __init__(self, rx: Any, pattern: str, meta: Meta) -> None:
        self.rx = rx
        self.pattern = pattern
        self.meta = meta

    def walk_children(self) -> Iterable[Value]:
        return ()

    def __repr__(self) -> str:
        return f"re.compile({self.pattern!r})"


class ReMatch:
    __slots__ = ("mt", "meta")

    def __init__(self, mt: Any, meta: Meta) -> None:
        self.mt = mt
        self.meta = meta

    def walk_children(self) -> Iterable[Value]:
        return ()

    def getitem(self, it: "Machine", key: Value) -> Value:
        return _wrap(self.mt.group(key.v))

    def __repr__(self) -> str:
        return f"<re.Match object; span={self.mt.span()}, match={self.mt.group(0)!r}>"


def compile_rx(it: "Machine", pattern: Any, flags: int) -> Any:
    if type(pattern) is not str:
        raise perr("TypeError", "pattern must be a string")
    if len(pattern) > it.budget.lim.max_regex_len:
        raise ResourceLimitExceeded("regular expression too long", limit="max_regex_len")
    if type(flags) is not int:
        raise perr("TypeError", "flags must be an integer")
    key = (pattern, flags)
    rx = _CACHE.get(key)
    if rx is None:
        prefix = "".join(c for bit, c in ((2, "i"), (8, "m"), (16, "s")) if flags & bit)
        opts = re2.Options()
        opts.max_mem = 8 << 20
        opts.log_errors = False
        try:
            rx = re2.compile(f"(?{prefix}){pattern}" if prefix else pattern, opts)
        except re2.error as e:
            raise perr("RegexError", f"unsupported or invalid regular expression: {e}") from None
        if len(_CACHE) > 512:
            _CACHE.clear()
        _CACHE[key] = rx
    it.budget.charge(1 + (len(pattern) >> 4))
    return rx


def re_search(it: "Machine", pattern: str, subject: str) -> bool:
    return compile_rx(it, pattern, 0).search(subject) is not None


def _subject(v: Value) -> str:
    if type(v.v) is not str:
        raise perr("TypeError", "expected string")
    return str(v.v)


def _wrap(r: Any) -> Value:
    if type(r) is tuple:
        return Value(tuple(Value(x) for x in r))
    if type(r) is dict:
        from ..values import DictObj

        return Value(DictObj({Value(k): Value(x) for k, x in r.items()}))
    return Value(r)


def _matches(it: "Machine", rx: Any, subject: str) -> Iterable[Any]:
    """RE2's matches one at a time, each charged (and counted against the collection limit)."""
    lim = it.budget.lim.max_collection_len
    it.budget.charge(1 + (len(subject) >> 8))
    for n, mt in enumerate(rx.finditer(subject), 1):
        if n > lim:
            raise ResourceLimitExceeded(f"too many regex matches (max_collection_len {lim})", limit="max_collection_len")
        it.budget.charge(1)
        yield mt


def run_op(it: "Machine", rx: Any, op: str, args: list[Value], kwargs: dict[str, Value]) -> Value:
    """``op`` of a compiled pattern; ``args`` exclude the pattern."""
    if op in ("search", "match", "fullmatch"):
        if len(args) != 1:
            raise perr("TypeError", f"{op}() takes a string")
        subj = _subject(args[0])
        it.budget.charge(1 + (len(subj) >> 8))
        mt = getattr(rx, op)(subj)
        return Value(ReMatch(mt, it.reads)) if mt is not None else Value(None)
    if op == "findall":
        subj = _subject(args[0])
        out = []
        for mt in _matches(it, rx, subj):
            g = mt.groups()
            out.append(_wrap(mt.group(0) if not g else (g[0] if len(g) == 1 else tuple(g))))
        it.budget.coll_len(len(out), len(out))
        return Value(ListObj(out))
    if op == "finditer":
        subj = _subject(args[0])
        out = [Value(ReMatch(mt, it.reads)) for mt in _matches(it, rx, subj)]
        it.budget.coll_len(len(out), len(out))
        return Value(ListObj(out))
    if op == "split":
        subj = _subject(args[0])
        maxsplit = kwargs["maxsplit"].v if "maxsplit" in kwargs else (args[1].v if len(args) > 1 else 0)
        if type(maxsplit) is not int:
            raise perr("TypeError", "maxsplit must be an integer")
        if maxsplit < 0:
            return Value(ListObj([Value(subj)]))
        parts: list[Value] = []
        last = 0
        for n, mt in enumerate(_matches(it, rx, subj)):
            if maxsplit and n >= maxsplit:
                break
            parts.append(Value(subj[last:mt.start()]))
            parts.extend(Value(mt.group(g)) for g in range(1, rx.groups + 1))
            last = mt.end()
        parts.append(Value(subj[last:]))
        it.budget.coll_len(len(parts), len(parts))
        return Value(ListObj(parts))
    if op in ("sub", "subn"):
        if len(args) < 2:
            raise perr("TypeError", f"{op}() takes a replacement and a string")
        repl, s = args[0], args[1]
        count = kwargs["count"].v if "count" in kwargs else (args[2].v if len(args) > 2 else 0)
        if type(count) is not int:
            raise perr("TypeError", "count must be an integer")
        subj = _subject(s)
        lim = it.budget.lim.max_str_len
        pieces: list[str] = []
        total = 0
        last = 0
        n = 0
        for mt in _matches(it, rx, subj):
            if count and n >= count:
                break
            if type(repl.v) is str:
                try:
                    piece = mt.expand(repl.v)
                except re2.error as e:
                    raise perr("RegexError", f"bad replacement: {e}") from None
            else:
                rv = callback(it, repl, [Value(ReMatch(mt, it.reads))])
                if type(rv.v) is not str:
                    raise perr("TypeError", "replacement function must return str")
                piece = rv.v
            for p in (subj[last:mt.start()], piece):
                total += len(p)
                if total > lim:
                    raise ResourceLimitExceeded(f"string would exceed max_str_len ({lim})", limit="max_str_len")
                pieces.append(p)
            last = mt.end()
            n += 1
        pieces.append(subj[last:])
        res = "".join(pieces)
        it.budget.str_len(len(res), res.isascii())
        if op == "subn":
            return Value((Value(res), Value(n)))
        return Value(res)
    raise perr("AttributeError", f"'re.Pattern' object has no attribute '{op}'")


# Positional layout of the module-level functions: arguments before ``flags``.
_ARITY = {"search": 2, "match": 2, "fullmatch": 2, "findall": 2, "finditer": 2, "split": 3, "sub": 4, "subn": 4}


def _flags(args: list[Value], kwargs: dict[str, Value], pos: int) -> Any:
    if "flags" in kwargs:
        return kwargs["flags"].v
    if len(args) > pos:
        return args[pos].v
    return 0


def _module_fn(op: str) -> Impl:
    arity = _ARITY[op]

    def fn(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
        if not args:
            raise perr("TypeError", f"re.{op}() missing pattern")
        if len(args) > arity + 1:
            raise perr("TypeError", f"re.{op}() takes at most {arity + 1} arguments")
        pat = args[0].v
        rx = pat.rx if type(pat) is RePattern else compile_rx(it, pat, _flags(args, kwargs, arity))
        kw = {k: v for k, v in kwargs.items() if k != "flags"}
        return run_op(it, rx, op, list(args[1:arity]), kw)

    return fn


def _compile(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    if not args:
        raise perr("TypeError", "re.compile() missing pattern")
    pat = args[0].v
    if type(pat) is RePattern:
        return args[0]
    return Value(RePattern(compile_rx(it, pat, _flags(args, kwargs, 1)), pat, it.reads))


def _escape(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    if len(args) != 1:
        raise perr("TypeError", "re.escape() takes one argument")
    return Value(re2.escape(_subject(args[0])))


def _pattern_method(op: str) -> Impl:
    def fn(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
        return run_op(it, recv.v.rx, op, args, kwargs)

    return fn


def _match_method(name: str) -> Impl:
    def fn(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
        mt = recv.v.mt
        pa = [a.v for a in args]
        if name == "group" and len(pa) > 1:
            return _wrap(tuple(mt.group(*pa)))
        if name == "groups":
            return _wrap(tuple(mt.groups(*pa)))
        return _wrap(getattr(mt, name)(*pa))

    return fn


OPS = ("search", "match", "fullmatch", "findall", "finditer", "split", "sub", "subn")
MODULE_FUNCTIONS: dict[str, Entry] = {op: Entry(f"re.{op}", _module_fn(op)) for op in OPS}
MODULE_FUNCTIONS["compile"] = Entry("re.compile", _compile)
MODULE_FUNCTIONS["escape"] = Entry("re.escape", _escape)
PATTERN_METHODS: dict[str, Entry] = {op: Entry(f"Pattern.{op}", _pattern_method(op)) for op in OPS}
MATCH_METHODS: dict[str, Entry] = {n: Entry(f"Match.{n}", _match_method(n))
                                   for n in ("group", "groups", "groupdict", "start", "end", "span")}
NO_META = NEUTRAL
