"""Runtime values of the interpreter: a Python value plus its data-flow metadata.

Every value a program touches is a :class:`Value`. Containers hold ``Value`` elements, so each
element keeps its own metadata; the container's own ``m`` is its *structural* metadata (who
decided its shape: the tool that returned it, the branch under which it was mutated...).
Reading an element merges the element's metadata with the container's and the key's.

``Value`` delegates hashing and equality to the wrapped Python value, so Python dicts keyed by
``Value`` behave like the program's dicts (``d[Value("a")]`` finds the key stored as
``Value("a", some_meta)``) while the stored key keeps its own metadata.

Sets are :class:`SetV`, an insertion-ordered set: iteration order must not depend on the
process's hash seed, or replay on another replica could diverge.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any, Iterable

from airlock.meta import NEUTRAL, Meta

from .errors import ResourceLimitExceeded

__all__ = [
    "Value",
    "SetV",
    "mm",
    "intern_meta",
    "deep_meta",
    "to_json_value",
    "wrap_json",
    "NONE",
]


class Value:
    """A program value: ``v`` is the Python payload, ``m`` its metadata."""

    __slots__ = ("v", "m")

    def __init__(self, v: Any, m: Meta = NEUTRAL) -> None:
        self.v = v
        self.m = m

    def __hash__(self) -> int:
        return hash(self.v)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Value):
            return self.v == other.v
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, Value):
            return self.v != other.v
        return NotImplemented

    def __lt__(self, other: "Value") -> bool:
        return self.v < other.v

    def __le__(self, other: "Value") -> bool:
        return self.v <= other.v

    def __gt__(self, other: "Value") -> bool:
        return self.v > other.v

    def __ge__(self, other: "Value") -> bool:
        return self.v >= other.v

    def __repr__(self) -> str:
        return repr(self.v)

    def __str__(self) -> str:
        return str(self.v)


NONE = Value(None)


class SetV:
    """An insertion-ordered set of ``Value`` (deterministic iteration across processes)."""

    __slots__ = ("d",)

    def __init__(self, items: Iterable[Value] = ()) -> None:
        self.d: dict[Value, None] = dict.fromkeys(items)

    def __len__(self) -> int:
        return len(self.d)

    def __iter__(self):
        return iter(self.d)

    def __contains__(self, item: object) -> bool:
        return item in self.d

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SetV):
            return self.d.keys() == other.d.keys()
        return NotImplemented

    def __le__(self, other: "SetV") -> bool:
        return self.d.keys() <= other.d.keys()

    def __lt__(self, other: "SetV") -> bool:
        return self.d.keys() < other.d.keys()

    def __ge__(self, other: "SetV") -> bool:
        return self.d.keys() >= other.d.keys()

    def __gt__(self, other: "SetV") -> bool:
        return self.d.keys() > other.d.keys()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if not self.d:
            return "set()"
        return "{" + ", ".join(repr(k) for k in self.d) + "}"

    def copy(self) -> "SetV":
        s = SetV()
        s.d = dict(self.d)
        return s


# -- metadata helpers ----------------------------------------------------------------------------

_INTERN: dict[Meta, Meta] = {NEUTRAL: NEUTRAL}
_MERGE: dict[tuple[int, int], tuple[Meta, Meta, Meta]] = {}
_CACHE_MAX = 50_000


def intern_meta(m: Meta) -> Meta:
    """The canonical instance of ``m`` (so identity checks are cheap fast paths)."""
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
    key = (id(a), id(b))
    hit = _MERGE.get(key)
    if hit is not None and hit[0] is a and hit[1] is b:
        return hit[2]
    res = intern_meta(a.merge(b))
    if len(_MERGE) > _CACHE_MAX:
        _MERGE.clear()
    _MERGE[key] = (a, b, res)
    return res


SCALARS = (type(None), bool, int, float, str)
_SCALAR_SET = frozenset(SCALARS)


def children(v: Any):
    """The ``Value`` children of a payload (for walks), or ``None`` for leaves."""
    t = type(v)
    if t is list or t is tuple:
        return v
    if t is dict:
        out = []
        for k, x in v.items():
            out.append(k)
            out.append(x)
        return out
    if t is SetV:
        return v.d
    kids = getattr(v, "walk_children", None)
    if kids is not None:
        return kids()
    return None


def deep_meta(val: Value, budget: int = 1_000_000) -> Meta:
    """Merge of a value's metadata with that of everything inside it (bounded walk)."""
    v = val.v
    if type(v) in _SCALAR_SET:
        return val.m
    m = val.m
    stack = [v]
    n = 0
    while stack:
        kids = children(stack.pop())
        if kids is None:
            continue
        for k in kids:
            n += 1
            if n > budget:
                raise ResourceLimitExceeded(
                    "value too large to inspect (nested structure exceeds the walk budget)",
                    limit="max_walk_nodes",
                )
            m = mm(m, k.m)
            if type(k.v) not in _SCALAR_SET:
                stack.append(k.v)
    return m


def measure(val: Value, budget: int, max_len: int) -> tuple[Meta, int]:
    """Deep metadata and a rough size (characters of scalars) of a value, bounded."""
    v = val.v
    if type(v) is str:
        return val.m, len(v)
    if type(v) in _SCALAR_SET:
        return val.m, 8
    m = val.m
    size = 2
    stack = [v]
    n = 0
    while stack:
        kids = children(stack.pop())
        if kids is None:
            size += 16
            continue
        for k in kids:
            n += 1
            if n > budget:
                raise ResourceLimitExceeded(
                    "value too large (nested structure exceeds the walk budget)", limit="max_walk_nodes"
                )
            m = mm(m, k.m)
            kv = k.v
            tk = type(kv)
            if tk is str:
                size += len(kv) + 4
            elif tk in _SCALAR_SET:
                size += 8
            else:
                size += 4
                stack.append(kv)
        if size > max_len:
            raise ResourceLimitExceeded(
                f"string would exceed max_str_len ({max_len})", limit="max_str_len"
            )
    return m, size


def to_json_value(val: Value, budget: int = 1_000_000) -> Any:
    """A JSON-able plain rendering of a value (for tool arguments, final answers, snapshots)."""
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
        if t is list or t is tuple:
            return [conv(e, depth + 1) for e in v]
        if t is dict:
            return {_json_key(k.v): conv(e, depth + 1) for k, e in v.items()}
        if t is SetV:
            return [conv(e, depth + 1) for e in v.d]
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


def wrap_json(obj: Any, meta: Meta) -> Value:
    """Wrap plain JSON-like data as a ``Value`` tree where every node carries ``meta``."""
    t = type(obj)
    if t is dict:
        return Value({Value(_hashable(k), meta): wrap_json(x, meta) for k, x in obj.items()}, meta)
    if t is list or t is tuple:
        return Value([wrap_json(x, meta) for x in obj], meta)
    if t in _SCALAR_SET:
        return Value(obj, meta)
    if isinstance(obj, (set, frozenset)):
        return Value(SetV(Value(_hashable(x), meta) for x in sorted(obj, key=repr)), meta)
    if isinstance(obj, Value):
        return obj
    return Value(str(obj), meta)


def _hashable(k: Any) -> Any:
    if type(k) in _SCALAR_SET:
        return k
    return str(k)
