"""Noninterference: whatever differs between two runs with different secrets carries the secret.

For every table entry (``entry_forms.py``) and for generated programs. ``standard`` mode must
close explicit flows (runs that took the same control path); ``strict`` mode every flow.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airlock.interpreter.stdlib import builtins, datetimes, models, operators, tables
from airlock.interpreter.stdlib.objects import BuiltinFn

from .entry_forms import CONVERT, FORMS, NO_DATA, PRELUDE, STRATEGIES
from .noninterference import leaks, observe

_SLOT = re.compile(r"<(\w+)>")


def all_entry_names() -> set[str]:
    names = set()
    for table in tables.METHODS.values():
        names.update(e.name for e in table.values())
    for mod in tables.MODULES.values():
        names.update(v.v.entry.name for v in mod.attrs.values() if isinstance(v.v, BuiltinFn))
    names.update(v.v.entry.name for v in tables.BUILTINS.values() if isinstance(v.v, BuiltinFn))
    for table in (operators.ARITH, operators.COMPARE, operators.UNARY):
        names.update(e.name for e in table.values())
    for e in (operators.SEQ_CONCAT, operators.SEQ_REPEAT, operators.IS, operators.IS_NOT, operators.CONTAINS, operators.SETSLICE,
              operators.CONTAINS_HASHED, operators.GETITEM, operators.SETITEM, operators.DELITEM,
              models.INSTANTIATE, datetimes.CONSTRUCT, tables.SET_FIELD):
        names.add(e.name)
    for table in datetimes.CLASS_METHODS.values():
        names.update(e.name for e in table.values())
    names.update(e.name for e in builtins.RESULT_CTORS.values())
    return names


def test_every_entry_has_a_form():
    """A table entry without a noninterference test does not exist."""
    covered = {name for name, _, _ in FORMS} | NO_DATA
    missing = sorted(all_entry_names() - covered)
    assert not missing, f"entries without a noninterference form: {missing}"
    unknown = sorted(covered - all_entry_names())
    assert not unknown, f"forms for entries that do not exist: {unknown}"


def build(prelude: str, expr: str, kinds: list[str], secret: int) -> tuple[str, list[tuple[str, str]]]:
    """The program for one form with operand ``secret`` secret; returns it and its inputs."""
    lines = [PRELUDE]
    inputs = []
    names = []
    for i, kind in enumerate(kinds):
        tool = "src" if i == secret else "pub"
        lines.append(f"x{i} = {tool}(name='x{i}')")
        conv = CONVERT.get(kind)
        lines.append(f"X{i} = {conv.format(f'x{i}')}" if conv else f"X{i} = x{i}")
        inputs.append((tool, f"x{i}"))
        names.append(f"X{i}")
    counter = iter(range(len(kinds)))
    fill = lambda text: _SLOT.sub(lambda m: names[next(counter)], text)  # noqa: E731
    prelude_text = fill(prelude)
    body = fill(expr[1:] if expr.startswith("!") else expr)
    lines.append(prelude_text)
    lines.append("r = None")
    lines.append("try:")
    if expr.startswith("!"):
        lines.extend("    " + ln for ln in body.splitlines())
    else:
        lines.append(f"    r = {body}")
    lines.append("    mark(p='ok')")
    lines.append("except Exception as e:")
    lines.append("    mark(p='raised')")
    lines.append("    r = 'raised: ' + str(e)")
    lines.append(OBSERVE)
    lines.extend(f"show(X{i})" for i in range(len(kinds)))  # mutated operands are observed too
    return "\n".join(lines), inputs


OBSERVE = """
def show(v):
    sink(v=v)
    if isinstance(v, (list, tuple, set)):
        mark(p='elements')
        for x in v:
            sink(v=x)
    elif isinstance(v, dict):
        mark(p='items')
        for k in v:
            sink(v=k)
            sink(v=v[k])
show(r)
"""


def cases():
    out = []
    for name, prelude, expr in FORMS:
        kinds = _SLOT.findall(prelude) + _SLOT.findall(expr)
        for secret in range(len(kinds)):
            out.append(pytest.param(prelude, expr, kinds, secret, id=f"{name}|{expr[:40]}|s{secret}"))
    return out


@pytest.mark.parametrize("prelude,expr,kinds,secret", cases())
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_entry_noninterference(prelude, expr, kinds, secret, data):
    program, inputs = build(prelude, expr, kinds, secret)
    public = {f"x{i}": data.draw(STRATEGIES[k], label=f"x{i}") for i, k in enumerate(kinds) if i != secret}
    s1 = data.draw(STRATEGIES[kinds[secret]], label="secret 1")
    s2 = data.draw(STRATEGIES[kinds[secret]], label="secret 2")
    for mode, implicit in (("standard", False), ("strict", True)):
        runs = []
        for s in (s1, s2):
            values = {**public, f"x{secret}": s}
            runs.append(observe(program, [(t, n, values[n]) for t, n in inputs], mode))
        problems = leaks(runs[0], runs[1], implicit)
        assert not problems, f"{mode}: {problems}\n--- program ---\n{program}"
