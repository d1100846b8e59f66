"""``jsonsafe.loads`` takes orjson's reading when it is the stdlib's: the two paths must agree.

The fast path is only a speed-up: for every text, ``loads`` must give what the stdlib-only path
gives (the same value, of the same types, or the same refusal). Generated JSON covers what the
parsers are known to differ on — integers past 64 bits, ``-0``, floats at the edges, escapes,
lone surrogates, raw control characters, ``NaN``, a BOM, depth, duplicate keys.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airlock import jsonsafe
from airlock.jsonsafe import JsonInputError, dumps_trusted, loads, loads_trusted


def slow_loads(data, **kw):
    """The stdlib path alone (the fast path switched off)."""
    saved = jsonsafe._fast
    jsonsafe._fast = lambda _data: jsonsafe._MISS
    try:
        return loads(data, **kw)
    finally:
        jsonsafe._fast = saved


def outcome(fn, data, **kw):
    try:
        return "ok", fn(data, **kw)
    except JsonInputError as exc:
        return "error", str(exc)


def same(a, b) -> bool:
    """Equal values with equal types at every depth (1 == 1.0 == True would hide a float)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text())
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=5), inner, max_size=4), max_leaves=20)
ODD = ['"\\ud800"', '"\\udc00x"', '"\\ud83d\\ude00"', "NaN", "-Infinity", "[1e400]", "-0", "-0.0", "1E5",
       "9223372036854775807", "9223372036854775808", "-9223372036854775809", "18446744073709551616",
       "123456789012345678901234567890", '{"a":1,"a":2}', '"a\x01b"', '"tab\there"', "\ufeff{}", " [1] ",
       "[1,]", "{'a':1}", "01", "1.", ".5", "[" * 101 + "]" * 101, "[" * 100 + "]" * 100, "[" * 1100 + "]" * 1100,
       '"\\u0000"', '"\\/"', "true false", "", "[\"\ud800\"]"]


@settings(max_examples=400, deadline=None)
@given(value=values, ensure_ascii=st.booleans(), as_bytes=st.booleans())
def test_fast_path_equals_stdlib_on_generated_json(value, ensure_ascii, as_bytes):
    text = json.dumps(value, ensure_ascii=ensure_ascii)
    data = text.encode("utf-8", "surrogatepass") if as_bytes else text
    fast, slow = outcome(loads, data), outcome(slow_loads, data)
    assert fast[0] == slow[0] and (same(fast[1], slow[1]) if fast[0] == "ok" else fast[1] == slow[1]), (text, fast, slow)


@pytest.mark.parametrize("text", ODD)
@pytest.mark.parametrize("as_bytes", [False, True])
@pytest.mark.parametrize("mode", ["reject", "replace"])
def test_fast_path_equals_stdlib_on_known_differences(text, as_bytes, mode):
    data = text.encode("utf-8", "surrogatepass") if as_bytes else text
    fast, slow = outcome(loads, data, surrogates=mode), outcome(slow_loads, data, surrogates=mode)
    assert fast[0] == slow[0], (text, fast, slow)
    assert same(fast[1], slow[1]) if fast[0] == "ok" else fast[1] == slow[1]


def test_big_integers_stay_exact():
    # orjson alone reads -9223372036854775809 as a float: a tool argument would change value.
    for n in (2**63, -(2**63) - 1, 2**64, 10**30):
        assert loads(str(n)) == n and type(loads(str(n))) is int
        assert loads_trusted(str(n).encode()) == n


@settings(max_examples=200, deadline=None)
@given(value=values)
def test_loads_trusted_reads_what_json_dumps_wrote(value):
    text = json.dumps(value, separators=(",", ":"))
    assert same(loads_trusted(text), json.loads(text))


@pytest.mark.parametrize("constant", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("as_bytes", [False, True])
def test_trusted_json_refuses_constants(constant, as_bytes):
    """Session state is written with orjson, which writes NaN as ``null``: reading state and
    worker frames strictly is what keeps a constant from being changed silently on the way."""
    text = json.dumps({"x": [1, constant]})
    with pytest.raises(JsonInputError):
        loads_trusted(text.encode() if as_bytes else text)


@settings(max_examples=300, deadline=None)
@given(value=values | st.dictionaries(st.text(max_size=5), values, max_size=5),
       odd=st.sampled_from(["", chr(0xD800), chr(0xDFFF) + " tail"]))
def test_dumps_trusted_round_trips_exactly(value, odd):
    """Whatever the state holds (big integers, lone surrogates that only the stdlib writes),
    ``loads_trusted(dumps_trusted(v))`` is ``v``, types included."""
    value = [value, odd]
    assert same(loads_trusted(dumps_trusted(value)), json.loads(json.dumps(value)))
