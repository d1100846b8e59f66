"""Runtime values: a Python payload plus its data-flow metadata, and the mutable containers.

Every value a program touches is a :class:`Value` ``(v, m)``. ``m`` is the metadata of the
*reference*: who decided that this variable, element or result is this payload.

Mutable containers (:class:`ListObj`, :class:`DictObj`, :class:`SetObj`, and model instances)
carry their own *structural* metadata ``meta``: who decided their length, their key set and their
order. It lives on the container, not on the references to it, so a mutation made through one
alias is seen through every other (in the v1 interpreter it sat on the reference, and a list
appended to under a secret branch through ``alias = d["x"]`` kept a clean length through ``d``).
Keys of dicts and sets are part of the structure: inserting a key merges the key's metadata into
``meta`` (membership tests, ``len`` and set algebra read it).

The information reachable through a value is bounded by ``m``, the structure of its payload, and
its elements' own values — which is why every read through a value merges ``m`` and the
structure (``flow.py``).

``Value`` delegates hashing and equality to its payload, so Python dicts keyed by ``Value``
behave like the program's dicts while the stored key keeps its own metadata. Sets are
insertion-ordered (a dict): iteration order must not depend on the process's hash seed, or a
replay on another replica could diverge.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import math
from typing import Any, Callable, Iterable, Iterator

from airlock.meta import NEUTRAL, Meta

from .errors import ResourceLimitExceeded

__all__ = ["Value", "Mutable", "ListObj", "DictObj", "SetObj", "NONE", "SCALARS", "wrap_json", "to_json_value",
           "new_serial", "mm", "intern_meta", "keys_meta"]

SCALARS = (type(None), bool, int, float, str)
SCALAR_TYPES = frozenset(SCALARS)

_serials = itertools.count(1)
new_serial: Callable[[], int] = _serials.__next__

# -- the memoised merge (metadata is immutable, so identity is a cheap fast path) -------------------

_INTERN: dict[Meta, Meta] = {NEUTRAL: NEUTRAL}
_MERGE: dict[tuple[int, int], tuple[Meta, Meta, Meta]] = {}
_CACHE_MAX = 50_000


def intern_meta(m: Meta) -> Meta:
    """The canonical instance of ``m``."""
    if m is NEUTRAL:
        return m
    got = _INTERN.get(m)
    if got is None:
        if len(_INTERN) > _CACHE_MAX:
            _INTERN.clear()
            _INTERN[NEUTRAL] = NEUTRAL
        _INTERN[m] = m
        return m
    return got


def mm(a: Meta, b: Meta) -> Meta:
    """Merge two metadata values, memoised on identity."""
    if a is b or b is NEUTRAL:
        return a
    if a is NEUTRAL:
        return b
    if b is UNTRUSTED and a.untrusted:
        return a  # standard mode's whole control context, already there
    key = (id(a), id(b))
    hit = _MERGE.get(key)
    if hit is not None and hit[0] is a and hit[1] is b:
        return hit[2]
    res = intern_meta(a.merge(b))
    if len(_MERGE) > _CACHE_MAX:
        _MERGE.clear()
    _MERGE[key] = (a, b, res)
    return res


UNTRUSTED = intern_meta(Meta(untrusted=True))


def keys_meta(meta: Meta, keys: Iterable[Value]) -> Meta:
    """A dict's or set's structure includes its keys: membership reveals them."""
    for k in keys:
        if k.m is not meta:
            meta = mm(meta, k.m)
    return meta


class Value:
    """A program value: ``v`` is the Python payload, ``m`` its (reference) metadata."""

    __slots__ = ("v", "m")

    def __init__(self, v: Any, m: Meta = NEUTRAL) -> None:
        self.v = v
        self.m = m

    def __hash__(self) -> int:
        return hash(self.v)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Value):
            return bool(self.v == other.v)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, Value):
            return bool(self.v != other.v)
        return NotImplemented

    def __lt__(self, other: "Value") -> bool:
        return bool(self.v < other.v)

    def __le__(self, other: "Value") -> bool:
        return bool(self.v <= other.v)

    def __gt__(self, other: "Value") -> bool:
        return bool(self.v > other.v)

    def __ge__(self, other: "Value") -> bool:
        return bool(self.v >= other.v)

    def __repr__(self) -> str:
        return repr(self.v)

    def __str__(self) -> str:
        return str(self.v)


NONE = Value(None)


class Mutable:
    """Base of the program's mutable objects: structural metadata, allocation serial, and the
    heap version up to which pending heap taints were applied (``flow.Heap``)."""

    __slots__ = ("meta", "serial", "hv")

    def __init__(self, meta: Meta) -> None:
        self.meta = meta
        self.serial = new_serial()
        self.hv = 0

    def children(self) -> Iterable[Value]:
        raise NotImplementedError


class ListObj(Mutable):
    __slots__ = ("items",)

    def __init__(self, items: list[Value] | None = None, meta: Meta = NEUTRAL) -> None:
        super().__init__(meta)
        self.items: list[Value] = items if items is not None else []

    def children(self) -> Iterable[Value]:
        return self.items

    def __len__(self) -> int:
        return len(self.items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ListObj) and self.items == other.items

    def __lt__(self, other: "ListObj") -> bool:
        return self.items < other.items

    def __le__(self, other: "ListObj") -> bool:
        return self.items <= other.items

    def __gt__(self, other: "ListObj") -> bool:
        return self.items > other.items

    def __ge__(self, other: "ListObj") -> bool:
        return self.items >= other.items

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self.items)


class DictObj(Mutable):
    __slots__ = ("items",)

    def __init__(self, items: dict[Value, Value] | None = None, meta: Meta = NEUTRAL) -> None:
        items = items if items is not None else {}
        super().__init__(keys_meta(meta, items))
        self.items: dict[Value, Value] = items

    def put(self, key: Value, value: Value) -> None:
        """Insert or replace (the stored key keeps the newest key's metadata); the key joins the
        structure."""
        items = self.items
        items.pop(key, None)
        items[key] = value
        if key.m is not self.meta:
            self.meta = mm(self.meta, key.m)

    def children(self) -> Iterable[Value]:
        for k, v in self.items.items():
            yield k
            yield v

    def __len__(self) -> int:
        return len(self.items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DictObj) and self.items == other.items

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: {v!r}" for k, v in self.items.items()) + "}"


class SetObj(Mutable):
    """An insertion-ordered set of ``Value`` (deterministic iteration across processes)."""

    __slots__ = ("items",)

    def __init__(self, items: Iterable[Value] = (), meta: Meta = NEUTRAL) -> None:
        d: dict[Value, None] = dict.fromkeys(items)
        super().__init__(keys_meta(meta, d))
        self.items: dict[Value, None] = d

    def add(self, key: Value) -> None:
        if key not in self.items:
            self.items[key] = None
        if key.m is not self.meta:
            self.meta = mm(self.meta, key.m)

    def children(self) -> Iterable[Value]:
        return self.items

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Value]:
        return iter(self.items)

    def __contains__(self, item: object) -> bool:
        return item in self.items

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SetObj) and self.items.keys() == other.items.keys()

    def __le__(self, other: "SetObj") -> bool:
        return self.items.keys() <= other.items.keys()

    def __lt__(self, other: "SetObj") -> bool:
        return self.items.keys() < other.items.keys()

    def __ge__(self, other: "SetObj") -> bool:
        return self.items.keys() >= other.items.keys()

    def __gt__(self, other: "SetObj") -> bool:
        return self.items.keys() > other.items.keys()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if not self.items:
            return "set()"
        return "{" + ", ".join(repr(k) for k in self.items) + "}"


# -- JSON ---------------------------------------------------------------------------------------


def _new_dict(items: dict[Value, Value], meta: Meta) -> DictObj:
    """A DictObj whose keys all carry ``meta`` (so the structure already covers them)."""
    d = DictObj.__new__(DictObj)
    d.meta, d.serial, d.hv, d.items = meta, new_serial(), 0, items
    return d


def _new_list(items: list[Value], meta: Meta) -> ListObj:
    lst = ListObj.__new__(ListObj)
    lst.meta, lst.serial, lst.hv, lst.items = meta, new_serial(), 0, items
    return lst


def wrap_json(obj: Any, meta: Meta) -> Value:
    """Wrap plain JSON-like data as a value tree where every node and structure carries ``meta``
    (a tool result: all of it came from the same call)."""
    t = type(obj)
    if t in SCALAR_TYPES:
        return Value(obj, meta)
    if t is dict:
        return Value(_new_dict({Value(k if type(k) in SCALAR_TYPES else str(k), meta): wrap_json(x, meta)
                                for k, x in obj.items()}, meta), meta)
    if t is list or t is tuple:
        return Value(_new_list([wrap_json(x, meta) for x in obj], meta), meta)
    if isinstance(obj, (set, frozenset)):
        return Value(SetObj((Value(_hashable(x), meta) for x in sorted(obj, key=repr)), meta), meta)
    if isinstance(obj, Value):
        return obj
    return Value(str(obj), meta)


def _hashable(k: Any) -> Any:
    if type(k) in SCALAR_TYPES:
        return k
    return str(k)


def to_json_value(val: Value, budget: int = 1_000_000) -> Any:
    """A JSON-able plain rendering of a value (tool arguments, final answers, snapshots)."""
    counter = [0]

    def conv(x: Value, depth: int) -> Any:
        counter[0] += 1
        if counter[0] > budget:
            raise ResourceLimitExceeded("value too large to serialise", limit="max_walk_nodes")
        if depth > 200:
            raise ResourceLimitExceeded("value nested too deeply to serialise", limit="max_walk_nodes")
        v = x.v
        t = type(v)
        if t is str or t is int or t is bool or v is None:
            return v
        if t is float:
            return v if math.isfinite(v) else repr(v)
        if t is ListObj:
            return [conv(e, depth + 1) for e in v.items]
        if t is tuple:
            return [conv(e, depth + 1) for e in v]
        if t is DictObj:
            return {_json_key(k.v): conv(e, depth + 1) for k, e in v.items.items()}
        if t is SetObj:
            return [conv(e, depth + 1) for e in v.items]
        if isinstance(v, (_dt.datetime, _dt.date, _dt.time)):
            return v.isoformat()
        if isinstance(v, _dt.timedelta):
            return v.total_seconds()
        hook = getattr(v, "to_json_value", None)
        if hook is not None:
            return hook(lambda e: conv(e, depth + 1))
        return repr(v)

    return conv(val, 0)


def _json_key(k: Any) -> str:
    if type(k) is str:
        return k
    if k is True:
        return "true"
    if k is False:
        return "false"
    if k is None:
        return "null"
    if type(k) in (int, float):
        return repr(k)
    if type(k) is tuple:
        return repr(tuple(e.v if isinstance(e, Value) else e for e in k))
    return str(k)
