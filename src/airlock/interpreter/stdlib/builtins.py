"""Builtin functions. Each is a table entry; its declaration says what it reads (``flow.py``)."""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any, Callable

from airlock.meta import NEUTRAL

from ..flow import DEEP, PASS, SHALLOW, Entry, callback, elements, mm
from ..values import NONE, DictObj, ListObj, SetObj, Value
from .objects import EXC, BuiltinFn, ExcObj, ExcType, ResultCtor, ResultObj, TypeMarker, perr, type_name
from .operators import truth
from .text import render, safe_format

if TYPE_CHECKING:
    from ..machine import Machine

Impl = Callable[["Machine", Any, list[Value], dict[str, Value]], Value]


def _one(args: list[Value], name: str) -> Value:
    if len(args) != 1:
        raise perr("TypeError", f"{name}() takes exactly one argument ({len(args)} given)")
    return args[0]


def _no_kwargs(kwargs: dict[str, Value], name: str, allowed: tuple[str, ...] = ()) -> None:
    for k in kwargs:
        if k not in allowed:
            raise perr("TypeError", f"{name}() got an unexpected keyword argument '{k}'")


def b_len(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _no_kwargs(kwargs, "len")
    v = _one(args, "len").v
    if type(v) in (str, ListObj, tuple, DictObj, SetObj, range):
        return Value(len(v))
    raise perr("TypeError", f"object of type '{type_name(v)}' has no len()")


def b_range(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _no_kwargs(kwargs, "range")
    if not 1 <= len(args) <= 3:
        raise perr("TypeError", f"range expected 1 to 3 arguments, got {len(args)}")
    pa = [a.v for a in args]
    for x in pa:
        if type(x) is not int and type(x) is not bool:
            raise perr("TypeError", f"'{type_name(x)}' object cannot be interpreted as an integer")
    return Value(range(*pa))


def b_enumerate(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _no_kwargs(kwargs, "enumerate", ("start",))
    start = kwargs["start"].v if "start" in kwargs else (args[1].v if len(args) > 1 else 0)
    if type(start) is not int:
        raise perr("TypeError", "enumerate() start must be an integer")
    items = elements(it, args[0])
    it.budget.coll_len(len(items), len(items))
    return Value(ListObj([Value((Value(i), e)) for i, e in enumerate(items, start)]))


def b_zip(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _no_kwargs(kwargs, "zip")
    lists = [elements(it, a) for a in args]
    n = min((len(x) for x in lists), default=0)
    it.budget.coll_len(n, n)
    return Value(ListObj([Value(tuple(t)) for t in zip(*lists)]))


def _key(kwargs: dict[str, Value]) -> Value | None:
    kf = kwargs.get("key")
    return None if kf is None or kf.v is None else kf


def sort_values(it: "Machine", items: list[Value], key: Value | None, rev: bool) -> list[Value]:
    it.budget.charge(len(items))
    if key is None:
        return sorted(items, reverse=rev)
    keys = [callback(it, key, [e]) for e in items]
    order = sorted(range(len(items)), key=lambda i: keys[i], reverse=rev)
    return [items[i] for i in order]


def b_sorted(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _no_kwargs(kwargs, "sorted", ("key", "reverse"))
    items = elements(it, _one(args, "sorted"))
    rev = bool(kwargs["reverse"].v) if "reverse" in kwargs else False
    return Value(ListObj(sort_values(it, items, _key(kwargs), rev)))


def _minmax(which: str) -> Impl:
    def fn(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
        _no_kwargs(kwargs, which, ("key", "default"))
        if not args:
            raise perr("TypeError", f"{which} expected at least 1 argument, got 0")
        items = elements(it, args[0]) if len(args) == 1 else list(args)
        if not items:
            if "default" in kwargs:
                return kwargs["default"]
            raise perr("ValueError", f"{which}() arg is an empty sequence")
        key = _key(kwargs)
        it.budget.charge(len(items))
        if key is None:
            return min(items) if which == "min" else max(items)
        keys = [callback(it, key, [e]) for e in items]
        idx = range(len(items))
        best = min(idx, key=lambda i: keys[i]) if which == "min" else max(idx, key=lambda i: keys[i])
        return items[best]

    return fn


def b_sum(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _no_kwargs(kwargs, "sum", ("start",))
    if not 1 <= len(args) <= 2:
        raise perr("TypeError", "sum() takes 1 or 2 arguments")
    items = elements(it, args[0])
    total = args[1].v if len(args) > 1 else (kwargs["start"].v if "start" in kwargs else 0)
    for e in items:
        x = e.v
        if type(x) not in (int, float, bool) or type(total) not in (int, float, bool):
            raise perr("TypeError", f"unsupported operand type(s) for +: '{type_name(total)}' and '{type_name(x)}'")
        total = total + x
        if type(total) is int:
            it.budget.int_bits(total.bit_length())
    return Value(total)


def b_any(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    return Value(any(truth(it, e)[0] for e in elements(it, _one(args, "any"))))


def b_all(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    return Value(all(truth(it, e)[0] for e in elements(it, _one(args, "all"))))


def _num(x: Any) -> bool:
    return type(x) in (int, float, bool)


def b_abs(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    v = _one(args, "abs").v
    if not _num(v) and not isinstance(v, _dt.timedelta):
        raise perr("TypeError", f"bad operand type for abs(): '{type_name(v)}'")
    return Value(abs(v))


def b_round(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _no_kwargs(kwargs, "round", ("ndigits",))
    if not args:
        raise perr("TypeError", "round() missing required argument 'number'")
    x = args[0].v
    nd = args[1] if len(args) > 1 else kwargs.get("ndigits")
    if not _num(x):
        raise perr("TypeError", f"type {type_name(x)} doesn't define __round__ method")
    if nd is None or nd.v is None:
        return Value(round(x))
    if type(nd.v) is not int or abs(nd.v) > 400:
        raise perr("ValueError", "ndigits out of range")
    return Value(round(x, nd.v))


def b_divmod(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    if len(args) != 2 or not _num(args[0].v) or not _num(args[1].v):
        raise perr("TypeError", "unsupported operand type(s) for divmod()")
    q, r = divmod(args[0].v, args[1].v)
    return Value((Value(q), Value(r)))


def b_pow(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    from .operators import ARITH

    if len(args) == 3:
        b, e, mod = (x.v for x in args)
        if not all(type(x) is int for x in (b, e, mod)):
            raise perr("TypeError", "pow() 3rd argument not allowed unless all arguments are integers")
        # Modular exponentiation costs ~ bits(e) * bits(mod)^2: bound it before computing.
        lim = it.budget.lim.max_int_bits
        if e.bit_length() > lim or mod.bit_length() > 4096:
            from ..errors import ResourceLimitExceeded

            raise ResourceLimitExceeded("pow() operands too large", limit="max_int_bits")
        it.budget.charge(1 + (e.bit_length() * max(1, mod.bit_length() // 64) ** 2) // 64)
        return Value(pow(b, e, mod))
    if len(args) != 2:
        raise perr("TypeError", "pow() takes 2 or 3 arguments")
    return ARITH["**"].fn(it, None, args, {})


def isinstance_of(x: Any, t: Any) -> bool:
    from .datetimes import DtClass
    from .models import BaseModelMarker, ModelClass, ModelInstance

    if type(t) is tuple:
        return any(isinstance_of(x, e.v) for e in t)
    if isinstance(t, TypeMarker):
        return isinstance(x, t.pytypes)
    if isinstance(t, ModelClass):
        return type(x) is ModelInstance and x.cls.is_sub(t)
    if isinstance(t, ExcType):
        return type(x) is ExcObj and x.type.is_sub(t)
    if isinstance(t, DtClass):
        return isinstance(x, t.pytype)
    if isinstance(t, BaseModelMarker):
        return type(x) is ModelInstance
    if isinstance(t, ResultCtor):
        return type(x) is ResultObj and x.ok == t.ok
    if t is None:
        return x is None
    raise perr("TypeError", "isinstance() arg 2 must be a type or tuple of types")


def b_isinstance(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    if len(args) != 2:
        raise perr("TypeError", "isinstance expected 2 arguments")
    return Value(isinstance_of(args[0].v, args[1].v))


def b_str(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _no_kwargs(kwargs, "str")
    if not args:
        return Value("")
    return Value(render(it, _one(args, "str"), False))


def b_repr(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    return Value(render(it, _one(args, "repr"), True))


def b_int(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _no_kwargs(kwargs, "int", ("base",))
    if not args:
        return Value(0)
    v = args[0].v
    if len(args) > 1 or "base" in kwargs:
        base = (args[1] if len(args) > 1 else kwargs["base"]).v
        if type(v) is not str:
            raise perr("TypeError", "int() can't convert non-string with explicit base")
        if len(v) > 1000:
            raise perr("ValueError", "integer string too long")
        return Value(int(v, base))
    if type(v) is str:
        if len(v) > 1000:
            raise perr("ValueError", "integer string too long")
        return Value(int(v))
    if _num(v):
        return Value(int(v))
    raise perr("TypeError", f"int() argument must be a string or a number, not '{type_name(v)}'")


def b_float(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _no_kwargs(kwargs, "float")
    if not args:
        return Value(0.0)
    v = _one(args, "float").v
    if _num(v) or (type(v) is str and len(v) <= 1000):
        return Value(float(v))
    raise perr("TypeError", f"float() argument must be a string or a real number, not '{type_name(v)}'")


def b_bool(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    if not args:
        return Value(False)
    return Value(truth(it, _one(args, "bool"))[0])


def b_list(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _no_kwargs(kwargs, "list")
    if not args:
        return Value(ListObj())
    items = elements(it, _one(args, "list"))
    it.budget.coll_len(len(items), len(items))
    return Value(ListObj(items))


def b_tuple(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _no_kwargs(kwargs, "tuple")
    if not args:
        return Value(())
    items = elements(it, _one(args, "tuple"))
    it.budget.coll_len(len(items), len(items))
    return Value(tuple(items))


def b_set(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _no_kwargs(kwargs, "set")
    if not args:
        return Value(SetObj())
    items = elements(it, _one(args, "set"))
    it.budget.coll_len(len(items), len(items))
    try:
        return Value(SetObj(items))
    except TypeError:
        raise perr("TypeError", "unhashable element in set()") from None


def dict_from(it: "Machine", src: Value) -> dict[Value, Value]:
    """The items of ``dict(src)``: a dict's items, or the pairs of an iterable."""
    if type(src.v) is DictObj:
        return dict(src.v.items)
    out: dict[Value, Value] = {}
    for pair in elements(it, src):
        kv = elements(it, pair)
        if len(kv) != 2:
            raise perr("ValueError", "dictionary update sequence element has wrong length")
        try:
            out.pop(kv[0], None)
            out[kv[0]] = kv[1]
        except TypeError:
            raise perr("TypeError", f"unhashable type: '{type_name(kv[0].v)}'") from None
    return out


def b_dict(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    if len(args) > 1:
        raise perr("TypeError", f"dict expected at most 1 argument, got {len(args)}")
    out = dict_from(it, args[0]) if args else {}
    for k, v in kwargs.items():
        out[Value(k)] = v
    it.budget.coll_len(len(out), len(out))
    return Value(DictObj(out))


def b_print(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _no_kwargs(kwargs, "print", ("sep", "end"))
    sep = kwargs["sep"].v if "sep" in kwargs and kwargs["sep"].v is not None else " "
    if type(sep) is not str:
        raise perr("TypeError", "sep must be None or a string")
    it.print_line(sep.join(render(it, a, False) for a in args))
    return NONE


def b_chr(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    v = _one(args, "chr").v
    if type(v) is not int:
        raise perr("TypeError", "an integer is required")
    return Value(chr(v))


def b_ord(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    v = _one(args, "ord").v
    if type(v) is not str or len(v) != 1:
        raise perr("TypeError", "ord() expected a character")
    return Value(ord(v))


def _numfmt(f: Callable[[int], str]) -> Impl:
    def fn(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
        v = _one(args, f.__name__).v
        if type(v) not in (int, bool):
            raise perr("TypeError", "an integer is required")
        return Value(f(v))

    return fn


def b_map(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _no_kwargs(kwargs, "map")
    if len(args) < 2:
        raise perr("TypeError", "map() must have at least two arguments.")
    fn = args[0]
    lists = [elements(it, a) for a in args[1:]]
    n = min(len(x) for x in lists)
    it.budget.coll_len(n, n)
    return Value(ListObj([callback(it, fn, list(t)) for t in zip(*lists)]))


def b_filter(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _no_kwargs(kwargs, "filter")
    if len(args) != 2:
        raise perr("TypeError", "filter expected 2 arguments")
    fn = args[0]
    items = elements(it, args[1])
    out = []
    for e in items:
        if fn.v is None:
            keep, m = truth(it, e)
            it.acc = mm(it.acc, m)
        else:
            keep, m = truth(it, callback(it, fn, [e]))
        if keep:
            out.append(e)
    return Value(ListObj(out))


def b_reversed(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    src = _one(args, "reversed")
    if type(src.v) in (DictObj, SetObj):
        raise perr("TypeError", f"'{type_name(src.v)}' object is not reversible")
    items = elements(it, src)
    items.reverse()
    return Value(ListObj(items))


def b_format(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    if not 1 <= len(args) <= 2:
        raise perr("TypeError", "format expected 1 or 2 arguments")
    spec = args[1].v if len(args) > 1 else ""
    if type(spec) is not str:
        raise perr("TypeError", "format() argument 2 must be str")
    return Value(safe_format(it, args[0], spec))


def b_result(ok: bool) -> Impl:
    def fn(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
        if len(args) != 1 or kwargs:
            raise perr("TypeError", f"{'Ok' if ok else 'Err'}() takes one argument")
        return Value(ResultObj(ok, args[0]))

    return fn


_ELEMENTS_WHY = "the result holds the argument's elements (each keeps its own metadata) in an order or " \
                "number decided by the argument's structure"

FUNCTIONS: dict[str, Entry] = {e.name: e for e in [
    Entry("len", b_len, args=(SHALLOW,), why="a length is structure"),
    Entry("range", b_range),
    Entry("enumerate", b_enumerate, args=(SHALLOW,), kw={"start": DEEP}, why=_ELEMENTS_WHY),
    Entry("zip", b_zip, rest=SHALLOW, why=_ELEMENTS_WHY),
    Entry("sorted", b_sorted, kw={"key": SHALLOW, "reverse": DEEP},
          why="the key function is called, not inspected: its results join through the callbacks"),
    Entry("reversed", b_reversed, args=(SHALLOW,), why=_ELEMENTS_WHY),
    Entry("min", _minmax("min"), kw={"key": SHALLOW, "default": PASS},
          why="the default is returned unchanged when the sequence is empty"),
    Entry("max", _minmax("max"), kw={"key": SHALLOW, "default": PASS},
          why="the default is returned unchanged when the sequence is empty"),
    Entry("sum", b_sum),
    Entry("any", b_any),
    Entry("all", b_all),
    Entry("abs", b_abs),
    Entry("round", b_round),
    Entry("divmod", b_divmod),
    Entry("pow", b_pow),
    Entry("isinstance", b_isinstance, args=(SHALLOW, SHALLOW), why="a payload's type is decided by its reference"),
    Entry("repr", b_repr),
    Entry("print", b_print),
    Entry("chr", b_chr),
    Entry("ord", b_ord),
    Entry("hex", _numfmt(hex)),
    Entry("bin", _numfmt(bin)),
    Entry("oct", _numfmt(oct)),
    Entry("map", b_map, rest=SHALLOW, steering_callbacks=False,
          why="the results are the callback's results, one per element: the structure comes from the "
              "iterables', each element from the callback on the elements"),
    Entry("filter", b_filter, rest=SHALLOW,
          why="the kept elements keep their own metadata; which are kept joins through the callbacks "
              "(or the elements' truth, recorded as read)"),
    Entry("format", b_format),
    Entry("Ok", b_result(True), args=(PASS,), why="the payload is wrapped unchanged"),
    Entry("Err", b_result(False), args=(PASS,), why="the payload is wrapped unchanged"),
]}

TYPES: dict[str, TypeMarker] = {}


def _type(name: str, fn: Impl, pytypes: tuple[type, ...], spec: tuple[Any, ...], **kw: Any) -> None:
    TYPES[name] = TypeMarker(Entry(name, fn, **kw), pytypes, spec)


ANY_SPEC = ("any",)
_type("str", b_str, (str,), ("str",))
_type("int", b_int, (int,), ("int",))
_type("float", b_float, (float,), ("float",))
_type("bool", b_bool, (bool,), ("bool",), args=(SHALLOW,), why="truthiness of a container is its emptiness")
_type("list", b_list, (ListObj,), ("list", ANY_SPEC), args=(SHALLOW,), why=_ELEMENTS_WHY)
_type("tuple", b_tuple, (tuple,), ("list", ANY_SPEC), args=(SHALLOW,), why=_ELEMENTS_WHY)
_type("dict", b_dict, (DictObj,), ("dict", ANY_SPEC, ANY_SPEC), kw_rest=PASS,
      why="keyword values become the new dict's values unchanged (their names are program text)")
_type("set", b_set, (SetObj,), ("list", ANY_SPEC))


def builtin_values() -> dict[str, Value]:
    """The names every program starts with (besides tools)."""
    out: dict[str, Value] = {name: Value(BuiltinFn(e)) for name, e in FUNCTIONS.items() if name not in ("Ok", "Err")}
    out.update({name: Value(t) for name, t in TYPES.items()})
    out["Ok"] = Value(ResultCtor(True))
    out["Err"] = Value(ResultCtor(False))
    for name, t in EXC.items():
        if name not in ("BaseException", "JSONDecodeError", "ValidationError", "RegexError"):
            out[name] = Value(t)
    return out


RESULT_CTORS = {True: FUNCTIONS["Ok"], False: FUNCTIONS["Err"]}
