"""Operators, subscripts and truthiness as table entries.

The compiled program calls :func:`binop`, :func:`compare` and friends; each picks the entry for
the operand types and runs it through the one dispatch (``flow.invoke``), so operators follow the
same rules as builtins. The compiler inlines a few scalar fast paths (``int + int``...) that
compute exactly what the entry would: for scalars ``DEEP`` is the value's own metadata.
"""

from __future__ import annotations

import datetime as _dt
import operator
from typing import TYPE_CHECKING, Any, Callable

from airlock.meta import NEUTRAL

from ..errors import ResourceLimitExceeded
from ..flow import DEEP, KEY, SHALLOW, STORED, Entry, deep, invoke, mm, retag, shallow, struct
from ..values import NONE, SCALAR_TYPES, DictObj, ListObj, Mutable, SetObj, Value
from .objects import EXC, ExcObj, ProgRaise, perr, type_name
from .text import percent_format

if TYPE_CHECKING:
    from ..machine import Machine

_NUM = (int, float, bool)
_DT = (_dt.datetime, _dt.date, _dt.time, _dt.timedelta, _dt.timezone)


def _bits(x: Any) -> int:
    return int(x).bit_length() if type(x) in (int, bool) else 64


def _arith(op: str, f: Callable[[Any, Any], Any]) -> Callable[..., Value]:
    def fn(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
        a, b = args
        av, bv = a.v, b.v
        ta, tb = type(av), type(bv)
        lim = it.budget.lim
        if ta in _NUM and tb in _NUM:
            if op == "*" and ta is int and tb is int and _bits(av) + _bits(bv) > lim.max_int_bits:
                raise ResourceLimitExceeded("integer exceeds max_int_bits", limit="max_int_bits")
            if op == "**" and tb is int and ta in (int, bool) and bv > 0 and abs(av) > 1 \
                    and max(_bits(av) - 1, 1) * bv > lim.max_int_bits:
                raise ResourceLimitExceeded("integer exceeds max_int_bits", limit="max_int_bits")
            if op == "<<" and ta in (int, bool) and tb in (int, bool) and bv > 0 and _bits(av) + bv > lim.max_int_bits:
                raise ResourceLimitExceeded("integer exceeds max_int_bits", limit="max_int_bits")
            r = f(av, bv)
            if type(r) is complex:
                raise perr("ValueError", "complex results are not supported")
            if type(r) is int:
                it.budget.int_bits(r.bit_length())
            return Value(r)
        if op == "+" and ta is str and tb is str:
            it.budget.str_len(len(av) + len(bv), av.isascii() and bv.isascii())
            return Value(av + bv)
        if op == "*" and ((ta is str and tb in (int, bool)) or (tb is str and ta in (int, bool))):
            s, n = (av, bv) if ta is str else (bv, av)
            it.budget.str_len(len(s) * max(int(n), 0), s.isascii())
            return Value(s * n)
        if op == "%" and ta is str:
            return Value(percent_format(it, av, b))
        if op in ("|", "&", "^", "-") and ta is SetObj and tb is SetObj:
            return Value(set_op(it, op, av, bv))
        if op == "|" and ta is DictObj and tb is DictObj:
            it.budget.coll_len(len(av.items) + len(bv.items), len(bv.items))
            merged = dict(av.items)
            for k, e in bv.items.items():
                merged.pop(k, None)
                merged[k] = e
            return Value(DictObj(merged))
        if isinstance(av, _DT) or isinstance(bv, _DT):
            if op in ("+", "-") and isinstance(av, (_dt.date, _dt.timedelta)) and isinstance(bv, (_dt.date, _dt.timedelta)):
                return Value(f(av, bv))
            if op in ("*", "/", "//") and isinstance(av, _dt.timedelta) and type(bv) in _NUM:
                return Value(f(av, bv))
            if op in ("/", "//") and isinstance(av, _dt.timedelta) and isinstance(bv, _dt.timedelta):
                return Value(f(av, bv))
        raise perr("TypeError", f"unsupported operand type(s) for {op}: '{type_name(av)}' and '{type_name(bv)}'")

    return fn


_PYOPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "//": operator.floordiv,
    "%": operator.mod, "**": operator.pow, "<<": operator.lshift, ">>": operator.rshift, "|": operator.or_,
    "&": operator.and_, "^": operator.xor,
}
ARITH: dict[str, Entry] = {op: Entry(f"operator {op}", _arith(op, f)) for op, f in _PYOPS.items()}


def _seq_concat(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    a, b = args
    if type(a.v) is ListObj:
        items = a.v.items + b.v.items
        it.budget.coll_len(len(items), len(items))
        return Value(ListObj(items))
    t = a.v + b.v
    it.budget.coll_len(len(t), len(t))
    return Value(t)


def _seq_repeat(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    a, b = args
    seq, n = (a, b) if type(b.v) in (int, bool) else (b, a)
    items = seq.v.items if type(seq.v) is ListObj else seq.v
    total = len(items) * max(int(n.v), 0)
    it.budget.coll_len(total, total)
    return Value(ListObj(items * n.v)) if type(seq.v) is ListObj else Value(items * n.v)


SEQ_CONCAT = Entry("sequence +", _seq_concat, args=(SHALLOW, SHALLOW),
                   why="the result is both sequences' elements in order: its structure comes from both "
                       "structures, each element keeps its own metadata")
SEQ_REPEAT = Entry("sequence *", _seq_repeat, args=(SHALLOW, DEEP),
                   why="the result repeats the elements: structure from the sequence and the count")


def set_op(it: "Machine", op: str, a: SetObj, b: SetObj) -> SetObj:
    it.budget.coll_len(len(a.items) + len(b.items), len(a.items) + len(b.items))
    if op == "|":
        r = dict(a.items)
        r.update(b.items)
    elif op == "&":
        r = {k: None for k in a.items if k in b.items}
    elif op == "-":
        r = {k: None for k in a.items if k not in b.items}
    else:
        r = {k: None for k in a.items if k not in b.items}
        r.update((k, None) for k in b.items if k not in a.items)
    return SetObj(r)


def binop(it: "Machine", op: str, a: Value, b: Value) -> Value:
    ta, tb = type(a.v), type(b.v)
    if op == "+" and ta is tb and (ta is ListObj or ta is tuple):
        return invoke(it, SEQ_CONCAT, None, [a, b], {})
    if op == "*" and ((ta in (ListObj, tuple) and tb in (int, bool)) or (tb in (ListObj, tuple) and ta in (int, bool))):
        if ta in (int, bool):
            a, b = b, a
        return invoke(it, SEQ_REPEAT, None, [a, b], {})
    return invoke(it, ARITH[op], None, [a, b], {})


# -- comparisons -------------------------------------------------------------------------------

_CMP: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


def _cmp(op: str) -> Callable[..., Value]:
    f = _CMP[op]

    def fn(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
        a, b = args
        av, bv = a.v, b.v
        if type(av) in SCALAR_TYPES and type(bv) in SCALAR_TYPES:
            return Value(bool(f(av, bv)))
        if (getattr(av, "type_name", None) or getattr(bv, "type_name", None)) and op not in ("==", "!="):
            raise perr("TypeError", f"'{op}' not supported between '{type_name(av)}' and '{type_name(bv)}'")
        r = f(av, bv)
        if type(r) is not bool:
            raise perr("TypeError", f"'{op}' not supported between '{type_name(av)}' and '{type_name(bv)}'")
        return Value(r)

    return fn


COMPARE: dict[str, Entry] = {op: Entry(f"operator {op}", _cmp(op)) for op in _CMP}


def _is_fn(negate: bool) -> Callable[..., Value]:
    def fn(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
        a, b = (x.v for x in args)
        if a is None or b is None or type(a) is bool or type(b) is bool:
            r = a is b
        elif type(a) in SCALAR_TYPES and type(b) in SCALAR_TYPES:
            r = type(a) is type(b) and a == b
        else:
            r = a is b
        return Value(r != negate)

    return fn


IS = Entry("operator is", _is_fn(False), args=(SHALLOW, SHALLOW),
           why="identity depends on which object each side refers to, not on what it contains")
IS_NOT = Entry("operator is not", _is_fn(True), args=(SHALLOW, SHALLOW), why=IS.why)


def _contains_fn(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    item, container = args
    c = container.v
    t = type(c)
    if t is str:
        if type(item.v) is not str:
            raise perr("TypeError", "'in <string>' requires string as left operand")
        return Value(item.v in c)
    if t is DictObj or t is SetObj:
        try:
            return Value(item in c.items)
        except TypeError:
            raise perr("TypeError", f"unhashable type: '{type_name(item.v)}'") from None
    if t is ListObj or t is tuple:
        seq = c.items if t is ListObj else c
        it.budget.charge(len(seq) >> 3)
        return Value(item in seq)
    if t is range:
        return Value(item.v in c)
    raise perr("TypeError", f"argument of type '{type_name(c)}' is not iterable")


CONTAINS = Entry("operator in", _contains_fn)
CONTAINS_HASHED = Entry("operator in (dict/set)", _contains_fn, args=(DEEP, SHALLOW),
                        why="membership in a dict or set depends on its key set, which is its structure "
                            "(key metadata joins the structure on insertion)")


def contains(it: "Machine", item: Value, container: Value) -> Value:
    e = CONTAINS_HASHED if type(container.v) in (DictObj, SetObj) else CONTAINS
    return invoke(it, e, None, [item, container], {})


def compare(it: "Machine", op: str, a: Value, b: Value) -> Value:
    if op == "in":
        return contains(it, a, b)
    if op == "not in":
        r = contains(it, a, b)
        return Value(not r.v, r.m)
    if op == "is":
        return invoke(it, IS, None, [a, b], {})
    if op == "is not":
        return invoke(it, IS_NOT, None, [a, b], {})
    return invoke(it, COMPARE[op], None, [a, b], {})


# -- unary and truthiness ------------------------------------------------------------------------


def truthy_payload(v: Any) -> bool:
    if isinstance(v, Mutable):
        return getattr(v, "type_name", None) is not None or len(v) > 0  # type: ignore[arg-type]
    return bool(v)


def truth(it: "Machine", val: Value) -> tuple[bool, Any]:
    """A condition's truth value and the metadata deciding it (emptiness is structure)."""
    v = val.v
    if isinstance(v, Mutable):
        if getattr(v, "type_name", None) is not None:
            return True, val.m  # a model instance is always true
        return len(v) > 0, mm(val.m, struct(it, v))  # type: ignore[arg-type]
    return bool(v), val.m


def _unary(op: str) -> Callable[..., Value]:
    def fn(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
        v = args[0].v
        if op == "not":
            return Value(not truthy_payload(v))
        if type(v) in _NUM or isinstance(v, _dt.timedelta):
            if op == "-":
                return Value(-v)
            if op == "+":
                return Value(+v)
            if op == "~" and type(v) in (int, bool):
                return Value(~v)
        raise perr("TypeError", f"bad operand type for unary {op}: '{type_name(v)}'")

    return fn


UNARY = {op: Entry(f"operator {op}", _unary(op)) for op in ("-", "+", "~")}
UNARY["not"] = Entry("operator not", _unary("not"), args=(SHALLOW,),
                     why="truthiness of a container is its emptiness: structure")


def unary(it: "Machine", op: str, a: Value) -> Value:
    return invoke(it, UNARY[op], None, [a], {})


# -- subscripts ----------------------------------------------------------------------------------


def _getitem(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    c = recv.v
    key = args[0]
    k = key.v
    t = type(c)
    if t is DictObj:
        try:
            e = c.items[key]
        except KeyError:
            raise ProgRaise(ExcObj(EXC["KeyError"], [key])) from None
        except TypeError:
            raise perr("TypeError", f"unhashable type: '{type_name(k)}'") from None
        return e
    if t is ListObj or t is tuple or t is str or t is range:
        seq = c.items if t is ListObj else c
        if type(k) is int or type(k) is bool:
            try:
                e = seq[k]
            except IndexError:
                raise perr("IndexError", f"{type_name(c)} index out of range") from None
            return e if t is ListObj or t is tuple else Value(e)
        if type(k) is slice:
            r = seq[k]
            it.budget.charge(len(r) >> 3)
            if t is ListObj:
                return Value(ListObj(r))
            if t is str:
                it.budget.str_len(len(r), r.isascii())
            return Value(r)
        raise perr("TypeError", f"{type_name(c)} indices must be integers or slices, not {type_name(k)}")
    hook = getattr(c, "getitem", None)
    if hook is not None:
        return hook(it, key)
    raise perr("TypeError", f"'{type_name(c)}' object is not subscriptable")


GETITEM = Entry("subscript", _getitem, recv=SHALLOW, args=(DEEP,),
                why="reading one element reveals the element (which keeps its own metadata), the "
                    "container's structure and the key — not the other elements")


def getitem(it: "Machine", cont: Value, key: Value) -> Value:
    return invoke(it, GETITEM, cont, [key], {})


def _setitem(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    c = recv.v
    key, val = args
    t = type(c)
    if t is DictObj:
        try:
            if key in c.items:
                c.items.pop(key)  # the new key keeps its metadata
            else:
                it.budget.coll_len(len(c.items) + 1, 1)
            c.items[key] = val
        except TypeError:
            raise perr("TypeError", f"unhashable type: '{type_name(key.v)}'") from None
        return NONE
    if t is ListObj:
        k = key.v
        if type(k) is int or type(k) is bool:
            try:
                c.items[k] = val
            except IndexError:
                raise perr("IndexError", "list assignment index out of range") from None
            return NONE
        if type(k) is slice:
            from ..flow import elements

            items = elements(it, val)
            pc = it.pc
            c.items[k] = items if pc is NEUTRAL else [retag(x, pc) for x in items]
            it.budget.coll_len(len(c.items), len(items))
            return NONE
        raise perr("TypeError", f"list indices must be integers or slices, not {type_name(k)}")
    raise perr("TypeError", f"'{type_name(c)}' object does not support item assignment")


SETITEM = Entry("subscript assignment", _setitem, recv=SHALLOW, args=(KEY, STORED), mutates=True,
                why="assigning an element changes the structure by the key (a dict's key set, or "
                    "which list slot) and stores the value, which keeps its own metadata")


def setitem(it: "Machine", cont: Value, key: Value, val: Value) -> None:
    d = cont.v
    if type(d) is DictObj and type(key.v) in SCALAR_TYPES:
        # invoke(SETITEM) specialised for a scalar key: R = the receiver's shallow read and the
        # key; key and value are stored with the control context; the structure gains R and it.
        b = it.budget
        b.steps += 1
        if b.steps >= b.next_check:
            b.tick()
        sm = d.meta if d.hv == it.heap.version else it.heap.refresh(d)
        R = mm(mm(cont.m, sm), key.m)
        pc = it.pc
        if pc is not NEUTRAL:
            key, val = retag(key, pc), retag(val, pc)
        items = d.items
        if key in items:
            items.pop(key)
        else:
            b.coll_len(len(items) + 1, 1)
        items[key] = val
        grown = mm(sm, mm(R, pc))
        if grown is not sm:
            d.meta = grown
        if it.try_depth and R is not NEUTRAL:
            it.raise_pc(R)
        return
    invoke(it, SETSLICE if type(key.v) is slice else SETITEM, cont, [key, val], {})


def _delitem(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    c = recv.v
    key = args[0]
    try:
        if type(c) is DictObj:
            del c.items[key]
        elif type(c) is ListObj:
            del c.items[key.v]
        else:
            raise perr("TypeError", f"'{type_name(c)}' object doesn't support item deletion")
    except KeyError:
        raise ProgRaise(ExcObj(EXC["KeyError"], [key])) from None
    except IndexError:
        raise perr("IndexError", "list assignment index out of range") from None
    except TypeError:
        raise perr("TypeError", "invalid index for deletion") from None
    return NONE


SETSLICE = Entry("slice assignment", _setitem, recv=SHALLOW, args=(DEEP, SHALLOW), mutates=True,
                 why="the new elements keep their own metadata; the new structure comes from the slice and "
                     "the assigned sequence's structure")

DELITEM = Entry("subscript deletion", _delitem, recv=SHALLOW, args=(DEEP,), mutates=True,
                why="deleting changes the structure by the key")


def delitem(it: "Machine", cont: Value, key: Value) -> None:
    invoke(it, DELITEM, cont, [key], {})


def slice_value(parts: list[Value]) -> Value:
    for p in parts:
        if p.v is not None and type(p.v) not in (int, bool):
            raise perr("TypeError", "slice indices must be integers or None", mm(mm(parts[0].m, parts[1].m), parts[2].m))
    m = NEUTRAL
    for p in parts:
        m = mm(m, p.m)
    return Value(slice(parts[0].v, parts[1].v, parts[2].v), m)


def deep_meta_of(it: "Machine", val: Value) -> Any:
    return deep(it, val)


__all__ = ["binop", "compare", "contains", "unary", "truth", "getitem", "setitem", "delitem", "slice_value",
           "set_op", "shallow", "GETITEM"]
