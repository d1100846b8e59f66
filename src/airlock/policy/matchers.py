"""Value matching: RE2 regexes, wildcards, type domains and datetimes.

Every pattern in a policy runs on RE2 (linear time, no backtracking), because policies check
attacker-controlled strings: a tool argument written by a prompt injection must not be able to
stall the gateway with a catastrophic-backtracking input. Patterns RE2 cannot take (look-around,
back-references) are rejected when the policy is compiled, never at call time.

Matching is *whole-string*: ``r".*@corp\\.com"`` must match the entire value, and ``w"*.txt"``
is anchored the same way. An unanchored search would let ``a@corp.com.evil.org`` through an
allow-list, so anchoring is the safe default; write ``.*`` explicitly for a substring match.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any, Callable

import re2

from .ast import Domain, Range

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would otherwise print every rejected pattern to stderr


class PatternError(ValueError):
    """A regex RE2 cannot compile (message says why)."""


def unescape(body: str, keep_unknown: bool) -> str:
    """Undo the escapes of a quoted literal: ``\\"`` and ``\\\\`` always; ``\\n``/``\\t`` in plain
    strings. Other escapes are kept verbatim so regexes keep ``\\.``/``\\d`` either way."""
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in '"\\':
                out.append(nxt)
            elif not keep_unknown and nxt in "nt":
                out.append("\n" if nxt == "n" else "\t")
            else:
                out.append(ch + nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def compile_regex(pattern: str) -> Any:
    try:
        return re2.compile(pattern, _OPTIONS)
    except Exception as exc:  # re2 raises its own error type with bytes messages
        detail = exc.args[0] if exc.args else exc
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise PatternError(f"RE2 cannot compile regex {pattern!r}: {detail}") from None


def wildcard_to_regex(pattern: str) -> str:
    """``*`` matches any run of characters (newlines included), ``?`` exactly one."""
    parts = []
    for ch in pattern:
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re2.escape(ch))
    return "(?s)" + "".join(parts)


def regex_matcher(pattern: str) -> Callable[[Any], bool]:
    rx = compile_regex(pattern)
    fullmatch = rx.fullmatch
    return lambda v: isinstance(v, str) and fullmatch(v) is not None


def wildcard_matcher(pattern: str) -> Callable[[Any], bool]:
    return regex_matcher(wildcard_to_regex(pattern))


# ---- datetimes ---------------------------------------------------------------------------


def parse_datetime(text: str) -> float:
    """ISO 8601 text → epoch seconds; a naive time is taken as UTC. Raises ValueError."""
    dt = datetime.fromisoformat(text.strip())
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def to_epoch(value: Any) -> float | None:
    """A tool argument as epoch seconds: ISO text, a number, or a datetime; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    if isinstance(value, str):
        try:
            return parse_datetime(value)
        except ValueError:
            return None
    return None


# ---- ranges and domains ------------------------------------------------------------------


def range_check(r: Range) -> Callable[[float], bool]:
    lo, hi, lo_open, hi_open = r.lo, r.hi, r.lo_open, r.hi_open
    if lo is None:
        lo = -math.inf
    if hi is None:
        hi = math.inf

    def check(x: float) -> bool:
        if x != x:  # NaN is in no range
            return False
        if lo_open:
            if not x > lo:
                return False
        elif not x >= lo:
            return False
        return x < hi if hi_open else x <= hi

    return check


def _bounds(r: Range | None) -> Range:
    """Numeric domains always carry a range (the parser builds one); an absent one is unbounded."""
    return r if r is not None else Range(None, None)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def domain_matcher(d: Domain) -> Callable[[Any], bool]:
    """A predicate telling whether a tool-argument value lies in the domain."""
    if d.kind == "bool":
        want = d.boolean
        return lambda v: isinstance(v, bool) and v is want
    if d.kind == "int":
        inr = range_check(_bounds(d.range))
        return lambda v: _is_number(v) and (isinstance(v, int) or float(v).is_integer()) and inr(v)
    if d.kind == "float":
        inr = range_check(_bounds(d.range))
        return lambda v: _is_number(v) and inr(float(v))
    if d.kind == "datetime":
        inr = range_check(_bounds(d.range))

        def dt_match(v: Any) -> bool:
            t = to_epoch(v)
            return t is not None and inr(t)

        return dt_match
    # str
    text = d.str_text or ""
    base: Callable[[Any], bool]
    if d.str_mode == "exact":
        base = lambda v: v == text  # noqa: E731
    elif d.str_mode == "regex":
        base = regex_matcher(text)
    else:
        base = wildcard_matcher(text)
    if d.length is None:
        return lambda v: isinstance(v, str) and base(v)
    inlen = range_check(d.length)
    return lambda v: isinstance(v, str) and inlen(len(v)) and base(v)


def describe_domain(d: Domain) -> str:
    if d.kind == "bool":
        return f"bool {str(d.boolean).lower()}"
    if d.kind == "str":
        text = {"exact": f'"{d.str_text}"', "regex": f'matching r"{d.str_text}"', "like": f'like w"{d.str_text}"'}[d.str_mode or "exact"]
        return f"str {text}" + (" length " + describe_range(d.length) if d.length else "")
    return f"{d.kind} {describe_range(_bounds(d.range))}"


def describe_range(r: Range) -> str:
    if r.lo is not None and r.lo == r.hi and not (r.lo_open or r.hi_open):
        return f"{r.lo}"
    op = ("<" if r.lo_open else "") + ".." + ("<" if r.hi_open else "")
    return f"{'' if r.lo is None else r.lo}{op}{'' if r.hi is None else r.hi}"
