"""Methods of ``str`` (and the few of ``int`` and ``float``). A string is a scalar: reading it
reads all of it, so every entry here keeps the default ``DEEP`` declarations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..flow import Entry, elements
from ..values import ListObj, Value
from .objects import perr, type_name
from .text import str_format

if TYPE_CHECKING:
    from ..machine import Machine

Impl = Callable[["Machine", Value, list[Value], dict[str, Value]], Value]

# Methods whose Python implementation is safe on bounded input and returns a bounded result:
# name -> (min args, max args, allowed keywords).
_PURE: dict[str, tuple[int, int, tuple[str, ...]]] = {
    "capitalize": (0, 0, ()), "casefold": (0, 0, ()), "lower": (0, 0, ()), "upper": (0, 0, ()),
    "title": (0, 0, ()), "swapcase": (0, 0, ()), "strip": (0, 1, ()), "lstrip": (0, 1, ()), "rstrip": (0, 1, ()),
    "split": (0, 2, ("sep", "maxsplit")), "rsplit": (0, 2, ("sep", "maxsplit")), "splitlines": (0, 1, ("keepends",)),
    "startswith": (1, 3, ()), "endswith": (1, 3, ()), "find": (1, 3, ()), "rfind": (1, 3, ()),
    "index": (1, 3, ()), "rindex": (1, 3, ()), "count": (1, 3, ()), "isalnum": (0, 0, ()), "isalpha": (0, 0, ()),
    "isdigit": (0, 0, ()), "isnumeric": (0, 0, ()), "isdecimal": (0, 0, ()), "isspace": (0, 0, ()),
    "islower": (0, 0, ()), "isupper": (0, 0, ()), "istitle": (0, 0, ()), "isidentifier": (0, 0, ()),
    "isascii": (0, 0, ()), "isprintable": (0, 0, ()), "partition": (1, 1, ()), "rpartition": (1, 1, ()),
    "removeprefix": (1, 1, ()), "removesuffix": (1, 1, ()),
}


def plain(v: Value) -> Any:
    """A simple argument as the Python value a str method expects (tuples of strings allowed)."""
    x = v.v
    if type(x) in (str, int, bool) or x is None:
        return x
    if type(x) is tuple:
        return tuple(plain(e) for e in x)
    raise perr("TypeError", f"unsupported argument type {type_name(x)}")


def _wrap(it: "Machine", r: Any) -> Value:
    if type(r) is str:
        it.budget.str_len(len(r), r.isascii())
        return Value(r)
    if type(r) is list:
        it.budget.coll_len(len(r), len(r))
        return Value(ListObj([Value(x) for x in r]))
    if type(r) is tuple:
        return Value(tuple(Value(x) for x in r))
    return Value(r)


def _pure(name: str, lo: int, hi: int, kws: tuple[str, ...]) -> Impl:
    def fn(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
        if not lo <= len(args) <= hi:
            raise perr("TypeError", f"str.{name}() takes {lo}..{hi} arguments ({len(args)} given)")
        for k in kwargs:
            if k not in kws:
                raise perr("TypeError", f"str.{name}() got an unexpected keyword argument '{k}'")
        s = recv.v
        it.budget.charge(len(s) >> 6)
        return _wrap(it, getattr(s, name)(*[plain(a) for a in args], **{k: plain(a) for k, a in kwargs.items()}))

    return fn


def s_join(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    if len(args) != 1 or kwargs:
        raise perr("TypeError", "str.join() takes exactly one argument")
    s = recv.v
    parts = []
    total = 0
    for e in elements(it, args[0]):
        if type(e.v) is not str:
            raise perr("TypeError", f"sequence item: expected str instance, {type_name(e.v)} found")
        total += len(e.v) + len(s)
        parts.append(e.v)
    it.budget.str_len(total)
    r = s.join(parts)
    it.budget.str_len(len(r), r.isascii())
    return Value(r)


def s_replace(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    if not 2 <= len(args) <= 3 or kwargs:
        raise perr("TypeError", "str.replace() takes 2 or 3 arguments")
    s = recv.v
    old, new = args[0].v, args[1].v
    if type(old) is not str or type(new) is not str:
        raise perr("TypeError", "replace() arguments must be str")
    cnt = args[2].v if len(args) > 2 else -1
    if type(cnt) is not int:
        raise perr("TypeError", "replace() count must be an integer")
    n = s.count(old) if old else len(s) + 1
    if cnt >= 0:
        n = min(n, cnt)
    it.budget.str_len(len(s) + n * (len(new) - len(old)))
    return _wrap(it, s.replace(old, new, cnt))


def s_pad(name: str) -> Impl:
    def fn(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
        if not args or kwargs or len(args) > (1 if name == "zfill" else 2):
            raise perr("TypeError", f"str.{name}() takes a width (and a fill character)")
        width = args[0].v
        if type(width) is not int:
            raise perr("TypeError", "width must be an integer")
        it.budget.str_len(max(width, len(recv.v)))
        return _wrap(it, getattr(recv.v, name)(*[plain(a) for a in args]))

    return fn


def s_expandtabs(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    ts = args[0].v if args else 8
    if type(ts) is not int:
        raise perr("TypeError", "tabsize must be an integer")
    it.budget.str_len(len(recv.v) * max(ts, 1))
    return _wrap(it, recv.v.expandtabs(ts))


def s_format(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    return Value(str_format(it, recv.v, args, kwargs))


STR_METHODS: dict[str, Entry] = {name: Entry(f"str.{name}", _pure(name, *spec)) for name, spec in _PURE.items()}
STR_METHODS.update({
    "join": Entry("str.join", s_join),
    "replace": Entry("str.replace", s_replace),
    "ljust": Entry("str.ljust", s_pad("ljust")),
    "rjust": Entry("str.rjust", s_pad("rjust")),
    "center": Entry("str.center", s_pad("center")),
    "zfill": Entry("str.zfill", s_pad("zfill")),
    "expandtabs": Entry("str.expandtabs", s_expandtabs),
    "format": Entry("str.format", s_format),
})


def i_bit_length(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    if args or kwargs:
        raise perr("TypeError", "int.bit_length() takes no arguments")
    return Value(int(recv.v).bit_length())


def f_is_integer(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    if args or kwargs:
        raise perr("TypeError", "float.is_integer() takes no arguments")
    return Value(recv.v.is_integer())


INT_METHODS: dict[str, Entry] = {"bit_length": Entry("int.bit_length", i_bit_length)}
FLOAT_METHODS: dict[str, Entry] = {"is_integer": Entry("float.is_integer", f_is_integer)}
