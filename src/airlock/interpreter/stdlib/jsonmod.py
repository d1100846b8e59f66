"""``json`` as programs see it. ``dumps`` reads its argument whole; ``loads`` builds a value whose
every node carries the text's metadata. Nesting depth is bounded before Python's parser could
exhaust the stack."""

from __future__ import annotations

import json as _json
from typing import TYPE_CHECKING, Any

from ..errors import ResourceLimitExceeded
from ..flow import Entry
from ..values import Value, to_json_value, wrap_json
from .objects import perr

if TYPE_CHECKING:
    from ..machine import Machine

MAX_JSON_DEPTH = 200


def json_depth(text: str) -> int:
    """Maximum bracket nesting of JSON text (strings skipped), in one pass."""
    depth = best = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > best:
                best = depth
        elif ch in "]}":
            depth -= 1
    return best


def dumps(it: "Machine", val: Value, kwargs: dict[str, Value]) -> Value:
    for k in kwargs:
        if k not in ("indent", "ensure_ascii", "sort_keys", "separators", "default"):
            raise perr("TypeError", f"dumps() got an unexpected keyword argument '{k}'")
    indent = kwargs.get("indent")
    ind: Any = indent.v if indent is not None else None
    if ind is not None and not ((type(ind) is int and 0 <= ind <= 16) or (type(ind) is str and len(ind) <= 16)):
        raise perr("ValueError", "indent must be a small integer")
    ensure_ascii = bool(kwargs["ensure_ascii"].v) if "ensure_ascii" in kwargs else True
    sort_keys = bool(kwargs["sort_keys"].v) if "sort_keys" in kwargs else False
    seps = kwargs.get("separators")
    sep: Any = None
    if seps is not None and seps.v is not None:
        if type(seps.v) is not tuple or len(seps.v) != 2 or any(type(e.v) is not str or len(e.v) > 8 for e in seps.v):
            raise perr("TypeError", "separators must be a pair of short strings")
        sep = (seps.v[0].v, seps.v[1].v)
    plain = to_json_value(val, it.budget.lim.max_walk_nodes)
    try:
        s = _json.dumps(plain, indent=ind, ensure_ascii=ensure_ascii, sort_keys=sort_keys, separators=sep, default=str)
    except TypeError as e:
        raise perr("TypeError", str(e)) from None
    it.budget.str_len(len(s), s.isascii())
    return Value(s)


def loads(it: "Machine", src: Value) -> Value:
    s = src.v
    if type(s) is not str:
        raise perr("TypeError", "the JSON object must be str")
    it.budget.charge(1 + (len(s) >> 6))
    if json_depth(s) > MAX_JSON_DEPTH:
        raise perr("JSONDecodeError", "JSON nested too deeply")
    try:
        obj = _json.loads(s)
    except _json.JSONDecodeError as e:
        raise perr("JSONDecodeError", str(e)) from None
    except RecursionError:
        raise perr("JSONDecodeError", "JSON nested too deeply") from None
    n = _count(obj)
    if n > it.budget.lim.max_collection_len * 4:
        raise ResourceLimitExceeded("JSON value too large", limit="max_collection_len")
    it.budget.coll_len(0, n)
    return wrap_json(obj, src.m)


def _count(obj: Any) -> int:
    n = 0
    stack = [obj]
    while stack:
        x = stack.pop()
        n += 1
        if type(x) is dict:
            stack.extend(x.values())
            n += len(x)
        elif type(x) is list:
            stack.extend(x)
    return n


def _dumps(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    if len(args) != 1:
        raise perr("TypeError", "dumps() takes one positional argument")
    return dumps(it, args[0], kwargs)


def _loads(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
    if len(args) != 1 or kwargs:
        raise perr("TypeError", "loads() takes one argument")
    return loads(it, args[0])


FUNCTIONS = {"dumps": Entry("json.dumps", _dumps), "loads": Entry("json.loads", _loads)}
