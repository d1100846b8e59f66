"""The data-flow rules, in one place, with their reasons.

**The invariant.** The metadata a program can observe about a value is an upper bound of what
the value was computed from. Every read through a value merges the reference's metadata ``m``
and, for mutable payloads, the payload's structural metadata (``struct``); elements carry their
own. So a result only has to carry what its operation read.

**Propagation by construction.** Builtins, methods and operators are table entries
(:class:`Entry`) and run through one dispatch, :func:`invoke`. The dispatch — not the
implementation — computes ``R``, the merge of everything the entry declares it reads, merges
``R`` into the result, into the structure of a mutated receiver and into any exception the
implementation raises, plus the results of every callback it made (key functions, ``map``...).
An implementation cannot forget an operand. The default declaration is ``DEEP`` for every operand
(everything reachable from it); a narrower kind is a precision claim, declared next to the
entry with its reason and checked by the noninterference property tests:

* ``SHALLOW`` — the reference and the structure, not the elements' values (``len``, ``append``'s
  receiver, a dict lookup's receiver: its key set is structure).
* ``PASS`` — returned unchanged or ignored, never inspected (``dict.get``'s default).
* ``STORED`` — stored into the receiver as an element (``append``'s argument): it keeps its own
  metadata, plus the control context.
* ``KEY`` — stored as a key: read whole (hashing) and part of the structure.
* ``ELEMENTS`` — the result depends on its structure only, but the operation inspects the
  elements and can fail on them (``dict.update`` with pairs).
* ``CHECKED`` — validated and then kept with its own metadata (a model field's value): it decides
  only whether the operation fails.

What decides whether an operation *fails* is read whole for every operand an entry inspects:
``ELEMENTS`` and ``CHECKED`` operands join the failure metadata (exceptions, and the control
context inside ``try``) though not the result's.

**Control context** (``pc``). A branch, loop, short-circuit or callee chosen by data is a
*region* whose condition joins ``pc`` while it runs. ``pc`` reaches every store, mutation,
return, raise and tool call made in the region. At the region's end (:func:`join`) the names the
region could assign and, when it could mutate existing containers, the heap (:class:`Heap`) are
tainted with ``pc`` — the branch *not* taken would have left them as they were, and that is
information too. Regions that can ``return`` keep ``pc`` raised until the function returns;
``break``/``continue`` until the loop ends; inside a ``try`` nothing lowers ``pc`` and every
operation adds what it read (whether it raises decides whether the rest of the body runs).

**Modes.** In ``strict`` and ``custom`` mode ``pc`` carries conditions' full metadata. In
``standard`` mode it carries only the internal ``untrusted`` bit (:func:`Machine.proj`): explicit
flows are closed for policies, implicit ones are not — but what the planner may see is still
proven through control flow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from airlock.meta import EMPTY, NEUTRAL, UNIVERSAL, Meta

from .errors import ProgRaise, ResourceLimitExceeded
from .stdlib.objects import convert_python_error, perr, type_name
from .values import SCALAR_TYPES, UNTRUSTED, DictObj, ListObj, Mutable, SetObj, Value, intern_meta, mm

if TYPE_CHECKING:
    from .machine import Machine

# -- metadata constants and the memoised merge ----------------------------------------------------

#: Only the provenance bit: what ``standard`` mode's control context carries (values.UNTRUSTED).
#: "Anything": the metadata of a failure whose inputs are unknown (every set, and untrusted).
TOP = intern_meta(Meta(UNIVERSAL, EMPTY, UNIVERSAL, True))


def covers(big: Meta, small: Meta) -> bool:
    """Whether ``big`` is at least as restrictive as ``small`` (merging ``small`` into it is a
    no-op)."""
    return mm(big, small) is big


def retag(v: Value, m: Meta) -> Value:
    """``v`` with ``m`` merged into its reference metadata (the same object when nothing changes)."""
    vm = v.m
    if m is vm or m is NEUTRAL:
        return v
    nm = mm(vm, m)
    return v if nm is vm else Value(v.v, nm)


# -- the heap: taints of containers a region might have mutated ------------------------------------


class Heap:
    """Pending taints of existing mutable objects, applied lazily.

    After a region on condition ``C`` that could mutate containers, every container that existed
    when the region started must carry ``C``: a branch not taken leaves them unchanged, which
    reveals the condition as much as a mutation does. Walking the whole heap at every join would
    cost O(heap) per branch, so a join records ``(serial at region start, C)`` and a container
    picks up the entries older than itself the next time it is read (``refresh``), in O(entries).
    Entries that another one subsumes are dropped, so a loop whose body branches on elements of
    one tool result keeps a single entry."""

    __slots__ = ("version", "entries")

    def __init__(self) -> None:
        self.version = 0
        self.entries: list[tuple[int, Meta]] = []

    def push(self, threshold: int, meta: Meta) -> None:
        es = self.entries
        for i in range(len(es) - 1, max(-1, len(es) - 5), -1):
            t, m = es[i]
            if t >= threshold and covers(m, meta):
                return  # an existing entry already covers these containers with more
            if t <= threshold and covers(meta, m):
                es[i] = (threshold, meta)
                self.version += 1
                return
        es.append((threshold, meta))
        self.version += 1

    def refresh(self, obj: Mutable) -> Meta:
        m = obj.meta
        serial = obj.serial
        for t, em in self.entries:
            if serial < t:
                m = mm(m, em)
        obj.meta = m
        obj.hv = self.version
        return m


def struct(it: "Machine", obj: Mutable) -> Meta:
    """Structural metadata of a mutable object, with pending heap taints applied."""
    heap = it.heap
    return obj.meta if obj.hv == heap.version else heap.refresh(obj)


def shallow(it: "Machine", val: Value) -> Meta:
    """What the reference and the structure reveal (not the elements' values). Immutable objects
    with metadata of their own (a model class: its defaults; an exception: what raised it; a
    regex match) reveal it too."""
    v = val.v
    if type(v) in SCALAR_TYPES:
        return val.m
    if isinstance(v, Mutable):
        return mm(val.m, struct(it, v))
    own = getattr(v, "meta", None)
    return val.m if own is None else mm(val.m, own)


def deep(it: "Machine", val: Value) -> Meta:
    """Everything reachable from ``val``: reference, structures and every element (bounded walk,
    charged to the budget)."""
    v = val.v
    if type(v) in SCALAR_TYPES:
        return val.m
    m = val.m
    stack = [v]
    n = 0
    limit = it.budget.lim.max_walk_nodes
    while stack:
        x = stack.pop()
        if isinstance(x, Mutable):
            m = mm(m, struct(it, x))
            kids: Iterable[Value] | None = x.children()
        elif type(x) is tuple:
            kids = x
        else:
            walk = getattr(x, "walk_children", None)
            if walk is None:
                continue
            m = mm(m, getattr(x, "meta", NEUTRAL))
            kids = walk()
        for k in kids:
            n += 1
            m = mm(m, k.m)
            if type(k.v) not in SCALAR_TYPES:
                stack.append(k.v)
        if n > limit:
            raise ResourceLimitExceeded("value too large to inspect (nested structure exceeds the walk budget)",
                                        limit="max_walk_nodes")
    it.budget.charge(n >> 4)
    return m


def elements(it: "Machine", val: Value) -> list[Value]:
    """The elements a read of ``val`` sees, in order, each carrying the reference and structure
    metadata (iteration, unpacking, builtins that consume iterables)."""
    v = val.v
    t = type(v)
    base = shallow(it, val)
    if t is ListObj:
        src: Iterable[Value] = v.items
    elif t is tuple:
        src = v
    elif t is DictObj or t is SetObj:
        src = v.items  # keys; their metadata is also in the structure
    elif t is str:
        it.budget.coll_len(len(v), len(v))
        return [Value(c, base) for c in v]
    elif t is range:
        it.budget.coll_len(len(v), len(v))
        return [Value(i, base) for i in v]
    else:
        hook = getattr(v, "iter_values", None)
        if hook is None:
            raise perr("TypeError", f"'{type_name(v)}' object is not iterable", base)
        src = hook()
    out = list(src)
    it.budget.charge(1 + (len(out) >> 3))
    if base is NEUTRAL:
        return out
    return [retag(e, base) for e in out]


def element(it: "Machine", container: Value, e: Value, extra: Meta = NEUTRAL) -> Value:
    """An element read out of ``container`` (plus whatever chose it, e.g. the index)."""
    return retag(e, mm(shallow(it, container), extra))


# -- table entries and the one dispatch ------------------------------------------------------------

DEEP = "deep"
SHALLOW = "shallow"
PASS = "pass"
STORED = "stored"
KEY = "key"
ELEMENTS = "elements"
CHECKED = "checked"
KINDS = (DEEP, SHALLOW, PASS, STORED, KEY, ELEMENTS, CHECKED)
_KEPT = (STORED, KEY, CHECKED)  # stored by a mutator: they get the control context

Impl = Callable[..., Value]


@dataclass(frozen=True, slots=True)
class Entry:
    """A builtin, method or operator: its implementation and what it reads.

    ``fn(it, recv, args, kwargs) -> Value`` (``recv`` is None for functions). The kinds say what
    each operand contributes to the result's metadata (see the module docstring); anything not
    declared is ``DEEP``. ``why`` states the reason for every narrower kind."""

    name: str
    fn: Impl
    recv: str = DEEP
    args: tuple[str, ...] = ()
    rest: str = DEEP
    kw: Mapping[str, str] = field(default_factory=dict)
    kw_rest: str = DEEP
    mutates: bool = False
    #: Callback results decide the result (sorted's key) — or are the result's elements (map).
    steering_callbacks: bool = True
    why: str = ""

    #: Whether some operand decides failure beyond the result's read set (computed).
    checks: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        kinds = (self.recv, *self.args, self.rest, *self.kw.values(), self.kw_rest)
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise ValueError(f"entry {self.name}: unknown read kinds {unknown}")
        object.__setattr__(self, "checks", ELEMENTS in kinds or CHECKED in kinds)

    def kind_of(self, i: int) -> str:
        return self.args[i] if i < len(self.args) else self.rest


def _contrib(it: "Machine", kind: str, a: Value) -> Meta:
    if type(a.v) in SCALAR_TYPES:
        return NEUTRAL if kind == CHECKED else a.m  # a scalar's shallow and deep reads are the same
    if kind == SHALLOW or kind == ELEMENTS:
        return shallow(it, a)
    if kind == CHECKED:
        return NEUTRAL
    return deep(it, a)


def failure_meta(it: "Machine", e: Entry, recv: Value | None, args: list[Value], kwargs: dict[str, Value]) -> Meta:
    """What decides whether an entry fails, beyond its result's read set: the whole of its
    ``ELEMENTS`` and ``CHECKED`` operands."""
    m = NEUTRAL
    ops: list[tuple[str, Value]] = [] if recv is None else [(e.recv, recv)]
    ops += [(e.kind_of(i), a) for i, a in enumerate(args)]
    ops += [(e.kw.get(k, e.kw_rest), a) for k, a in kwargs.items()]
    for kind, a in ops:
        if kind == ELEMENTS or kind == CHECKED:
            m = mm(m, deep(it, a))
    return m


def read_meta(it: "Machine", e: Entry, recv: Value | None, args: list[Value], kwargs: dict[str, Value]) -> Meta:
    """``R``: the merge of what the entry declares it reads (``PASS``/``STORED``/``CHECKED``
    operands add nothing here; ``KEY`` reads its operand whole)."""
    m = NEUTRAL
    if recv is not None:
        k = e.recv
        if k != PASS and k != STORED:
            m = _contrib(it, k, recv)
    if args:
        kinds = e.args
        nk = len(kinds)
        for i, a in enumerate(args):
            k = kinds[i] if i < nk else e.rest
            if k == PASS or k == STORED:
                continue
            am = _contrib(it, k, a)
            if am is not m and am is not NEUTRAL:
                m = mm(m, am)
    if kwargs:
        for name, a in kwargs.items():
            k = e.kw.get(name, e.kw_rest)
            if k == PASS or k == STORED:
                continue
            am = _contrib(it, k, a)
            if am is not m and am is not NEUTRAL:
                m = mm(m, am)
    return m


def invoke(it: "Machine", e: Entry, recv: Value | None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    """Run a table entry with the flow rules applied (the only way builtins and methods run)."""
    b = it.budget
    b.steps += 1
    if b.steps >= b.next_check:
        b.tick()
    R = read_meta(it, e, recv, args, kwargs)
    pc = it.pc
    F = failure_meta(it, e, recv, args, kwargs) if e.checks else NEUTRAL
    if pc is not NEUTRAL and e.mutates:
        # What is stored under a branch depends on the branch.
        args = [retag(a, pc) if e.kind_of(i) in _KEPT else a for i, a in enumerate(args)]
        if kwargs:
            kwargs = {k: retag(a, pc) if e.kw.get(k, e.kw_rest) in _KEPT else a for k, a in kwargs.items()}
    saved_acc, saved_reads = it.acc, it.reads
    it.acc, it.reads = NEUTRAL, R
    try:
        result = e.fn(it, recv, args, kwargs)
    except ProgRaise as exc:
        exc.exc.meta = mm(mm(exc.exc.meta, mm(mm(R, F), it.acc)), pc)
        raise
    except Exception as exc:  # a Python error of a safe operation: a program exception
        pe = convert_python_error(exc)
        if pe is None:
            raise
        pe.exc.meta = mm(mm(mm(R, F), it.acc), pc)
        raise pe from None
    else:
        if it.acc is not NEUTRAL and e.steering_callbacks:
            R = mm(R, it.acc)
    finally:
        it.acc, it.reads = saved_acc, saved_reads
    if e.mutates and recv is not None:
        obj = recv.v
        if isinstance(obj, Mutable):
            obj.meta = mm(struct(it, obj), mm(R, pc))
    if it.try_depth and (R is not NEUTRAL or F is not NEUTRAL):
        it.raise_pc(mm(R, F))  # the rest of the ``try`` body runs only because this did not fail
    if R is NEUTRAL:
        return result
    rm = result.m
    if rm is R:
        return result
    nm = mm(rm, R)
    return result if nm is rm else Value(result.v, nm)


def callback(it: "Machine", fn: Value, args: list[Value]) -> Value:
    """Call a program function from inside a builtin (key functions, ``map``, ``re.sub``...).

    The calls are a loop over what the builtin read (``it.reads``): their side effects run under
    it. The result joins the builtin's read set ``it.acc``, which the dispatch merges into the
    builtin's result when the entry's callbacks steer it."""
    saved = it.pc
    c = it.proj(it.reads)
    if c is not NEUTRAL:
        it.pc = mm(saved, c)
    serial = it.serial_mark()
    try:
        r = it.call(fn, args, {})
    finally:
        if c is not NEUTRAL:
            if getattr(fn.v, "may_mutate", True):
                it.heap.push(serial, it.pc)
            if not it.try_depth:
                it.pc = saved
    it.acc = mm(it.acc, deep(it, r))
    return r


# -- regions (branches, loops, short-circuit, try, data-chosen callees) ----------------------------


@dataclass(frozen=True, slots=True)
class Region:
    """What a region may do, computed from the program text (``compile/scope.py``)."""

    writes: tuple[str, ...] = ()          # names it may (re)bind or delete in the current scope
    global_writes: tuple[str, ...] = ()   # names it may bind through ``global``
    mutates: bool = False                 # may mutate existing containers (or run code that may)
    returns: bool = False                 # contains a ``return`` (not in a nested function)
    loop_jumps: bool = False              # contains a break/continue of an enclosing loop
    calls: bool = False                   # may run program functions (which may write globals)


def join(it: "Machine", fr: Any, region: Region, saved: Meta, serial: int) -> None:
    """End of a region entered with control context ``saved``: taint what the other path would
    have left alone, then lower ``pc`` unless the region's jumps keep it raised."""
    pc = it.pc
    if pc is saved:
        return
    if region.writes:
        fr.taint(region.writes, pc)
    if region.global_writes or (region.calls and it.escaping):
        fr.glob.taint(region.global_writes + (it.escaping if region.calls else ()), pc)
        if region.calls and it.escaping_nonlocal:
            f = fr.parent
            while f is not None:
                f.taint(it.escaping_nonlocal, pc)
                f = f.parent
    if region.mutates:
        it.heap.push(serial, pc)
    if not (it.try_depth or region.returns or region.loop_jumps):
        it.pc = saved
