"""Methods of ``list`` and ``tuple``.

Mutators declare ``mutates=True``: the dispatch merges what they read, the receiver's
reference and the control context into the list's structure. Arguments they store declare
``STORED`` and keep their own metadata (plus the control context)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airlock.meta import NEUTRAL

from ..flow import DEEP, SHALLOW, STORED, Entry, elements, mm, retag
from ..values import NONE, ListObj, Value
from .builtins import sort_values
from .objects import perr

if TYPE_CHECKING:
    from ..machine import Machine


def _need(args: list[Value], lo: int, hi: int, name: str, kwargs: dict[str, Value] | None = None) -> None:
    if not lo <= len(args) <= hi:
        raise perr("TypeError", f"{name}() takes {lo}..{hi} arguments ({len(args)} given)")
    if kwargs:
        raise perr("TypeError", f"{name}() takes no keyword arguments")


def l_append(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 1, 1, "append", kwargs)
    items = recv.v.items
    it.budget.coll_len(len(items) + 1, 1)
    items.append(args[0])
    return NONE


def l_extend(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 1, 1, "extend", kwargs)
    new = elements(it, args[0])
    items = recv.v.items
    it.budget.coll_len(len(items) + len(new), len(new))
    pc = it.pc
    items.extend(new if pc is NEUTRAL else [retag(e, pc) for e in new])
    return NONE


def l_insert(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 2, 2, "insert", kwargs)
    i = args[0].v
    if type(i) not in (int, bool):
        raise perr("TypeError", "list indices must be integers")
    items = recv.v.items
    it.budget.coll_len(len(items) + 1, 1)
    items.insert(i, args[1])
    return NONE


def l_pop(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 0, 1, "pop", kwargs)
    items = recv.v.items
    if not items:
        raise perr("IndexError", "pop from empty list")
    i = args[0].v if args else -1
    if type(i) not in (int, bool):
        raise perr("TypeError", "list indices must be integers")
    try:
        return items.pop(i)  # type: ignore[no-any-return]
    except IndexError:
        raise perr("IndexError", "pop index out of range") from None


def l_remove(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 1, 1, "remove", kwargs)
    items = recv.v.items
    it.budget.charge(len(items) >> 3)
    try:
        items.remove(args[0])
    except ValueError:
        raise perr("ValueError", "list.remove(x): x not in list") from None
    return NONE


def l_clear(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 0, 0, "clear", kwargs)
    recv.v.items.clear()
    return NONE


def l_sort(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 0, 0, "sort")
    for k in kwargs:
        if k not in ("key", "reverse"):
            raise perr("TypeError", f"sort() got an unexpected keyword argument '{k}'")
    rev = bool(kwargs["reverse"].v) if "reverse" in kwargs else False
    kf = kwargs.get("key")
    lst: ListObj = recv.v
    lst.items[:] = sort_values(it, list(lst.items), None if kf is None or kf.v is None else kf, rev)
    return NONE


def l_reverse(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 0, 0, "reverse", kwargs)
    recv.v.items.reverse()
    return NONE


def l_copy(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 0, 0, "copy", kwargs)
    items = recv.v.items
    it.budget.coll_len(len(items), len(items))
    return Value(ListObj(list(items)))


def _seq(v: Value) -> list[Value] | tuple[Value, ...]:
    return v.v.items if type(v.v) is ListObj else v.v  # type: ignore[no-any-return]


def s_index(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 1, 3, "index", kwargs)
    seq = _seq(recv)
    it.budget.charge(len(seq) >> 3)
    bounds = [a.v for a in args[1:]]
    if any(type(b) not in (int, bool) for b in bounds):
        raise perr("TypeError", "slice indices must be integers")
    try:
        return Value(seq.index(args[0], *bounds))
    except ValueError:
        raise perr("ValueError", "value is not in the sequence") from None


def s_count(it: "Machine", recv: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
    _need(args, 1, 1, "count", kwargs)
    seq = _seq(recv)
    it.budget.charge(len(seq) >> 3)
    return Value(seq.count(args[0]))


def append_fast(it: "Machine", recv: Value, x: Value) -> Value:
    """``invoke(LIST_METHODS["append"], recv, [x], {})`` specialised for the hottest mutation:
    the same rule, step for step (``R`` = the receiver's shallow read; the element is stored with
    the control context; the structure gains ``R`` and the control context)."""
    b = it.budget
    b.steps += 1
    if b.steps >= b.next_check:
        b.tick()
    lst: ListObj = recv.v
    items = lst.items
    b.coll_len(len(items) + 1, 1)
    sm = lst.meta if lst.hv == it.heap.version else it.heap.refresh(lst)
    R = mm(recv.m, sm)
    pc = it.pc
    items.append(x if pc is NEUTRAL else retag(x, pc))
    grown = mm(sm, mm(R, pc))
    if grown is not sm:
        lst.meta = grown
    if R is NEUTRAL:
        return NONE
    if it.try_depth:
        it.raise_pc(R)
    return Value(None, R)


_GROW = "the length changes by one, decided by the reference and the control context; the new " \
        "element keeps its own metadata"

LIST_METHODS: dict[str, Entry] = {
    "append": Entry("list.append", l_append, recv=SHALLOW, args=(STORED,), mutates=True, why=_GROW),
    "extend": Entry("list.extend", l_extend, recv=SHALLOW, args=(SHALLOW,), mutates=True,
                    why="the new elements keep their own metadata; how many comes from the argument's structure"),
    "insert": Entry("list.insert", l_insert, recv=SHALLOW, args=(DEEP, STORED), mutates=True,
                    why="the index decides the new structure; the element keeps its own metadata"),
    "pop": Entry("list.pop", l_pop, recv=SHALLOW, args=(DEEP,), mutates=True,
                 why="returns one element (its own metadata) chosen by the index and the structure"),
    "remove": Entry("list.remove", l_remove, mutates=True),
    "clear": Entry("list.clear", l_clear, recv=SHALLOW, mutates=True, why="only the structure changes"),
    "sort": Entry("list.sort", l_sort, kw={"key": SHALLOW, "reverse": DEEP}, mutates=True,
                  why="the key function is called, not inspected: its results join through the callbacks"),
    "reverse": Entry("list.reverse", l_reverse, recv=SHALLOW, mutates=True, why="only the order changes"),
    "copy": Entry("list.copy", l_copy, recv=SHALLOW, why="the same elements in the same structure"),
    "index": Entry("list.index", s_index),
    "count": Entry("list.count", s_count),
}

TUPLE_METHODS: dict[str, Entry] = {
    "index": Entry("tuple.index", s_index),
    "count": Entry("tuple.count", s_count),
}
