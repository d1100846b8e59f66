"""Turning values into text: ``str``/``repr``, format specs, ``str.format`` and ``%``.

Output size is checked as it is produced: containers are rendered piece by piece with a running
total, so ``str(x)`` of a huge nested value stops at ``max_str_len`` instead of building the
string first (the v1 interpreter estimated sizes and could still build a string past the limit).
Format widths and precisions are checked before Python formats anything.
"""

from __future__ import annotations

import datetime as _dt
import re as _pyre
import string as _string
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..errors import ResourceLimitExceeded, SecurityViolation
from ..values import SCALAR_TYPES, DictObj, ListObj, Mutable, SetObj, Value
from .objects import perr, type_name

if TYPE_CHECKING:
    from ..machine import Machine


class _Out:
    __slots__ = ("parts", "total", "limit")

    def __init__(self, limit: int) -> None:
        self.parts: list[str] = []
        self.total = 0
        self.limit = limit

    def add(self, s: str) -> None:
        self.total += len(s)
        if self.total > self.limit:
            raise ResourceLimitExceeded(f"string would exceed max_str_len ({self.limit})", limit="max_str_len")
        self.parts.append(s)


def render(it: "Machine", val: Value, as_repr: bool) -> str:
    """``repr(x)`` or ``str(x)`` of a program value, as CPython prints the same data."""
    v = val.v
    t = type(v)
    if t is str:
        if not as_repr:
            return v
        s = repr(v)
        it.budget.str_len(len(s), s.isascii())
        return s
    if t in SCALAR_TYPES:
        return repr(v) if as_repr or t is not str else v
    out = _Out(it.budget.lim.max_str_len)
    nodes = [0]
    limit = it.budget.lim.max_walk_nodes

    def walk(x: Value, top_str: bool, depth: int) -> None:
        nodes[0] += 1
        if nodes[0] > limit or depth > 500:
            raise ResourceLimitExceeded("value too large to render", limit="max_walk_nodes")
        p = x.v
        tp = type(p)
        if tp is str:
            out.add(p if top_str else repr(p))
        elif tp in SCALAR_TYPES:
            out.add(repr(p))
        elif tp is ListObj or tp is tuple:
            items = p.items if tp is ListObj else p
            out.add("[" if tp is ListObj else "(")
            for i, e in enumerate(items):
                if i:
                    out.add(", ")
                walk(e, False, depth + 1)
            if tp is tuple and len(items) == 1:
                out.add(",")
            out.add("]" if tp is ListObj else ")")
        elif tp is DictObj:
            out.add("{")
            for i, (k, e) in enumerate(p.items.items()):
                if i:
                    out.add(", ")
                walk(k, False, depth + 1)
                out.add(": ")
                walk(e, False, depth + 1)
            out.add("}")
        elif tp is SetObj:
            if not p.items:
                out.add("set()")
            else:
                out.add("{")
                for i, k in enumerate(p.items):
                    if i:
                        out.add(", ")
                    walk(k, False, depth + 1)
                out.add("}")
        else:
            custom = getattr(p, "render", None)
            if custom is not None:
                custom(lambda e: walk(e, False, depth + 1), out.add, top_str)
            elif top_str and isinstance(p, (_dt.date, _dt.time, _dt.timedelta)):
                out.add(str(p))
            else:
                out.add(repr(p)[:10_000])

    walk(val, not as_repr, 0)
    s = "".join(out.parts)
    it.budget.str_len(len(s), s.isascii())
    return s


# -- format specs --------------------------------------------------------------------------------

_SPEC_RE = _pyre.compile(
    r"(?:(?P<fill>.)?(?P<align>[<>=^]))?(?P<sign>[-+ ])?z?#?0?(?P<width>\d+)?[_,]?(?:\.(?P<prec>\d+))?"
    r"(?P<type>[bcdeEfFgGnosxX%])?\Z",
    _pyre.S,
)


@lru_cache(maxsize=1024)
def _parse_spec(spec: str) -> tuple[int, int, str | None] | None:
    mt = _SPEC_RE.match(spec)
    if mt is None:
        return None
    return int(mt.group("width") or 0), int(mt.group("prec") or 0), mt.group("type")


def safe_format(it: "Machine", val: Value, spec: str) -> str:
    """``format(value, spec)`` for a validated spec on a scalar or datetime payload."""
    v = val.v
    if spec == "":
        return render(it, val, False)
    if type(spec) is not str:
        raise perr("TypeError", "format spec must be a string")
    if len(spec) > 200:
        raise perr("ValueError", "format specifier too long")
    if isinstance(v, (_dt.date, _dt.time)):
        s = format(v, spec)  # strftime: output bounded by the spec length
        it.budget.str_len(len(s))
        return s
    if type(v) not in (str, int, float, bool):
        raise perr("TypeError", f"unsupported format string passed to {type_name(v)}.__format__")
    parsed = _parse_spec(spec)
    if parsed is None:
        raise perr("ValueError", f"invalid format specifier {spec!r}")
    width, prec, ftype = parsed
    lim = it.budget.lim.max_str_len
    if width > lim:
        raise ResourceLimitExceeded(f"format width {width} exceeds max_str_len", limit="max_str_len")
    if prec > 1000:
        raise ResourceLimitExceeded("format precision too large", limit="max_str_len")
    if type(v) is float and ftype in ("f", "F", "%") and abs(v) > 1e300 and prec > 100:
        raise ResourceLimitExceeded("formatted number too long", limit="max_str_len")
    if width + prec > 4096:
        it.budget.str_len(max(width, len(v) if type(v) is str else 0) + prec)
    s = format(v, spec)
    if len(s) > 4096:
        it.budget.str_len(len(s), s.isascii())  # short pieces are counted where they are joined
    return s


def convert_field(it: "Machine", val: Value, conv: int | str | None) -> Value:
    """``!r`` / ``!s`` / ``!a`` of an f-string or format field (metadata: the value's reference)."""
    if conv in (None, -1):
        return val
    if conv in ("r", 114, "a", 97):
        s = render(it, val, True)
        if conv in ("a", 97):
            s = s.encode("ascii", "backslashreplace").decode("ascii")
        return Value(s, val.m)
    if conv in ("s", 115):
        return Value(render(it, val, False), val.m)
    raise perr("ValueError", f"unknown conversion {conv!r}")


def str_format(it: "Machine", fmt: str, args: list[Value], kwargs: dict[str, Value]) -> str:
    """``str.format`` without attribute or index walking in field names (the dispatch gives the
    result the format string's and every argument's metadata)."""
    out = _Out(it.budget.lim.max_str_len)
    auto = 0
    try:
        parsed = list(_string.Formatter().parse(fmt))
    except ValueError as e:
        raise perr("ValueError", str(e)) from None
    for literal, fname, spec, conv in parsed:
        out.add(literal)
        if fname is None:
            continue
        if "." in fname or "[" in fname:
            raise SecurityViolation(
                f"format field {fname!r}: attribute/index access in format strings is not allowed", static=False)
        if fname == "":
            if auto >= len(args):
                raise perr("IndexError", "Replacement index out of range for positional args tuple")
            val = args[auto]
            auto += 1
        elif fname.isdigit():
            i = int(fname)
            if i >= len(args):
                raise perr("IndexError", f"Replacement index {i} out of range")
            val = args[i]
        else:
            if fname not in kwargs:
                raise perr("KeyError", repr(fname))
            val = kwargs[fname]
        if spec and "{" in spec:
            spec = str_format(it, spec, args, kwargs)
        val = convert_field(it, val, conv)
        out.add(safe_format(it, val, spec or ""))
    s = "".join(out.parts)
    it.budget.str_len(len(s), s.isascii())
    return s


_PCT_RE = _pyre.compile(
    r"%(?:\((?P<key>[^)]*)\))?(?P<flags>[#0\- +]*)(?P<width>\*|\d+)?(?:\.(?P<prec>\*|\d+))?[hlL]?(?P<conv>.)", _pyre.S)


def percent_format(it: "Machine", fmt: str, arg: Value) -> str:
    """``"..." % args`` with bounded widths and scalar arguments only."""
    lim = it.budget.lim.max_str_len
    width_total = 0
    for mt in _PCT_RE.finditer(fmt):
        if mt.group("width") == "*" or mt.group("prec") == "*":
            raise perr("ValueError", "'*' width is not supported")
        w, p = int(mt.group("width") or 0), int(mt.group("prec") or 0)
        if w > lim or p > 1000:
            raise ResourceLimitExceeded("format width too large", limit="max_str_len")
        width_total += w + p
    it.budget.str_len(len(fmt) + width_total)
    a = arg.v
    pa: Any
    if type(a) is tuple:
        pa = tuple(_pct_arg(it, e) for e in a)
    elif type(a) is DictObj:
        pa = {k.v: _pct_arg(it, e) for k, e in a.items.items()}
    else:
        pa = _pct_arg(it, arg)
    s = fmt % pa
    it.budget.str_len(len(s), s.isascii())
    return s


def _pct_arg(it: "Machine", v: Value) -> Any:
    if type(v.v) in SCALAR_TYPES:
        return v.v
    return render(it, v, False)


def is_container(v: Any) -> bool:
    return isinstance(v, Mutable) or type(v) is tuple
