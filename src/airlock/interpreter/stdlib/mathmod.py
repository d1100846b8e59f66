"""``math`` as programs see it: pure functions of numbers (default ``DEEP`` declarations)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable

from ..flow import Entry
from ..values import Value
from .objects import perr, type_name

if TYPE_CHECKING:
    from ..machine import Machine


def _fn(name: str, f: Callable[..., Any]) -> Entry:
    def fn(it: "Machine", recv: None, args: list[Value], kwargs: dict[str, Value]) -> Value:
        if kwargs and name != "isclose":
            raise perr("TypeError", f"math.{name}() takes no keyword arguments")
        pa = [a.v for a in args]
        for x in pa + [a.v for a in kwargs.values()]:
            if type(x) not in (int, float, bool):
                raise perr("TypeError", f"must be real number, not {type_name(x)}")
        r = f(*pa, **{k: a.v for k, a in kwargs.items()})
        if type(r) is int:
            it.budget.int_bits(r.bit_length())
        return Value(r)

    return Entry(f"math.{name}", fn)


FUNCTIONS = {n: _fn(n, getattr(math, n)) for n in (
    "floor", "ceil", "sqrt", "isclose", "log", "log10", "log2", "exp", "fabs", "trunc", "isnan", "isinf",
    "isfinite", "sin", "cos", "tan", "atan2", "hypot", "radians", "degrees")}
CONSTANTS = {"pi": math.pi, "e": math.e, "inf": math.inf, "nan": math.nan, "tau": math.tau}
