"""Methods of ``dict`` and ``set``. Their key sets are structure (keys' metadata joins it on
insertion, ``values.DictObj.put``/``SetObj.add``), so lookups read the receiver ``SHALLOW``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..flow import DEEP, ELEMENTS, KEY, PASS, SHALLOW, STORED, Entry, elements
from ..values import NONE, DictObj, ListObj, SetObj, Value
from .builtins import dict_from
from .objects import EXC, ExcObj, ProgRaise, perr, type_name
from .operators import set_op

if TYPE_CHECKING:
    from ..machine import Machine


def _need(args: list[Value], lo: int, hi: int, name: str) -> None:
    if not lo <= len(args) <= hi:
        raise perr("TypeError", f"{name}() takes {lo}..{hi} arguments ({len(args)} given)")


def _hashable(key: Value) -> None:
    try:
        hash(key)
    except TypeError:
        raise perr("TypeError", f"unhashable type: '{type_name(key.v)}'") from None


def d_get(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 1, 2, "get")
    key = args[0]
    _hashable(key)
    e = recv.v.items.get(key)
    if e is None:
        return args[1] if len(args) > 1 else NONE
    return e  # type: ignore[no-any-return]


def d_keys(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 0, 0, "keys")
    items = recv.v.items
    it.budget.coll_len(len(items), len(items))
    return Value(ListObj(list(items)))


def d_values(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 0, 0, "values")
    items = recv.v.items
    it.budget.coll_len(len(items), len(items))
    return Value(ListObj(list(items.values())))


def d_items(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 0, 0, "items")
    items = recv.v.items
    it.budget.coll_len(len(items), 2 * len(items))
    return Value(ListObj([Value((k, e)) for k, e in items.items()]))


def d_pop(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 1, 2, "pop")
    key = args[0]
    _hashable(key)
    d = recv.v.items
    if key in d:
        return d.pop(key)  # type: ignore[no-any-return]
    if len(args) > 1:
        return args[1]
    raise ProgRaise(ExcObj(EXC["KeyError"], [key]))


def d_popitem(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 0, 0, "popitem")
    d = recv.v.items
    if not d:
        raise perr("KeyError", "popitem(): dictionary is empty")
    k, e = d.popitem()
    return Value((k, e))


def d_setdefault(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 1, 2, "setdefault")
    key = args[0]
    _hashable(key)
    obj: DictObj = recv.v
    if key in obj.items:
        return obj.items[key]
    dflt = args[1] if len(args) > 1 else NONE
    it.budget.coll_len(len(obj.items) + 1, 1)
    obj.put(key, dflt)
    return dflt


def d_update(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 0, 1, "update")
    obj: DictObj = recv.v
    new = dict_from(it, args[0]) if args else {}
    for k, e in new.items():
        obj.put(it.stored(k), it.stored(e))
    for name, e in kwargs.items():
        obj.put(Value(name), e)
    it.budget.coll_len(len(obj.items), len(new) + len(kwargs))
    return NONE


def d_copy(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 0, 0, "copy")
    items = recv.v.items
    it.budget.coll_len(len(items), len(items))
    return Value(DictObj(dict(items)))


def d_clear(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 0, 0, "clear")
    recv.v.items.clear()
    return NONE


_LOOKUP = "a lookup reveals the key set (structure, keys included), the key asked for and the one value found"

DICT_METHODS: dict[str, Entry] = {
    "get": Entry("dict.get", d_get, recv=SHALLOW, args=(DEEP, PASS),
                 why=_LOOKUP + "; the default is returned unchanged"),
    "keys": Entry("dict.keys", d_keys, recv=SHALLOW, why="the keys (their metadata is in the structure)"),
    "values": Entry("dict.values", d_values, recv=SHALLOW, why="the values, each with its own metadata, in the "
                    "structure's order"),
    "items": Entry("dict.items", d_items, recv=SHALLOW, why="keys and values as stored"),
    "pop": Entry("dict.pop", d_pop, recv=SHALLOW, args=(DEEP, PASS), mutates=True,
                 why=_LOOKUP + "; the default is returned unchanged"),
    "popitem": Entry("dict.popitem", d_popitem, recv=SHALLOW, mutates=True, why="the last item, by structure"),
    "setdefault": Entry("dict.setdefault", d_setdefault, recv=SHALLOW, args=(KEY, STORED), mutates=True,
                        why=_LOOKUP + "; a new key joins the structure, the default is stored"),
    "update": Entry("dict.update", d_update, recv=SHALLOW, args=(ELEMENTS,), kw_rest=STORED, mutates=True,
                    why="keys join the structure as they are inserted, values keep their own metadata; pairs "
                        "are inspected (and can fail)"),
    "copy": Entry("dict.copy", d_copy, recv=SHALLOW, why="the same items in the same structure"),
    "clear": Entry("dict.clear", d_clear, recv=SHALLOW, mutates=True, why="only the structure changes"),
}


# -- sets -----------------------------------------------------------------------------------------


def _as_set(it: "Machine", v: Value) -> SetObj:
    if type(v.v) is SetObj:
        return v.v  # type: ignore[no-any-return]
    try:
        return SetObj(elements(it, v))
    except TypeError:
        raise perr("TypeError", "unhashable element") from None


def s_add(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 1, 1, "add")
    _hashable(args[0])
    s: SetObj = recv.v
    it.budget.coll_len(len(s.items) + 1, 1)
    s.add(args[0])
    return NONE


def s_remove(name: str) -> "Impl":
    def fn(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
        _need(args, 1, 1, name)
        _hashable(args[0])
        s: SetObj = recv.v
        if args[0] in s.items:
            del s.items[args[0]]
        elif name == "remove":
            raise ProgRaise(ExcObj(EXC["KeyError"], [args[0]]))
        return NONE

    return fn


def s_pop(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 0, 0, "pop")
    s: SetObj = recv.v
    if not s.items:
        raise perr("KeyError", "pop from an empty set")
    k = next(iter(s.items))
    del s.items[k]
    return k


def s_clear(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 0, 0, "clear")
    recv.v.items.clear()
    return NONE


def s_copy(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 0, 0, "copy")
    s = SetObj()
    s.items = dict(recv.v.items)
    s.meta = recv.v.meta
    return Value(s)


_OPS = {"union": "|", "intersection": "&", "difference": "-", "symmetric_difference": "^",
        "update": "|", "intersection_update": "&", "difference_update": "-", "symmetric_difference_update": "^"}


def s_algebra(name: str) -> "Impl":
    op = _OPS[name]

    def fn(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
        if kwargs:
            raise perr("TypeError", f"{name}() takes no keyword arguments")
        s: SetObj = recv.v
        r = s
        for a in args:
            r = set_op(it, op, r, _as_set(it, a))
        if name.endswith("update"):
            s.items = r.items if r is not s else s.items
            return NONE
        return Value(r if r is not s else SetObj(s.items))

    return fn


def s_compare(name: str) -> "Impl":
    def fn(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
        _need(args, 1, 1, name)
        s: SetObj = recv.v
        o = _as_set(it, args[0])
        if name == "issubset":
            return Value(s <= o)
        if name == "issuperset":
            return Value(s >= o)
        return Value(not any(k in o.items for k in s.items))

    return fn


from typing import Callable  # noqa: E402

Impl = Callable[["Machine", Value, list[Value], dict[str, Value]], Value]

_SET_WHY = "membership reveals the receiver's key set (its structure); other iterables are read whole"

SET_METHODS: dict[str, Entry] = {
    "add": Entry("set.add", s_add, recv=SHALLOW, args=(KEY,), mutates=True, why="the new key joins the structure"),
    "remove": Entry("set.remove", s_remove("remove"), recv=SHALLOW, mutates=True, why=_SET_WHY),
    "discard": Entry("set.discard", s_remove("discard"), recv=SHALLOW, mutates=True, why=_SET_WHY),
    "pop": Entry("set.pop", s_pop, recv=SHALLOW, mutates=True, why="the first key, by structure"),
    "clear": Entry("set.clear", s_clear, recv=SHALLOW, mutates=True, why="only the structure changes"),
    "copy": Entry("set.copy", s_copy, recv=SHALLOW, why="the same keys"),
    **{n: Entry(f"set.{n}", s_algebra(n), recv=SHALLOW, mutates=n.endswith("update"), why=_SET_WHY)
       for n in _OPS},
    **{n: Entry(f"set.{n}", s_compare(n), recv=SHALLOW, why=_SET_WHY)
       for n in ("issubset", "issuperset", "isdisjoint")},
}
