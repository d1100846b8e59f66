"""Noninterference over generated programs of the subset.

``strict``: programs with branches, loops, ``try``, functions with early returns, containers
mutated under conditions, short-circuits; the low views (untagged sink and mark events, in
order) of two runs with different secrets must be equal. ``standard``: straight-line programs
(explicit flows only: expressions, containers, comprehensions, calls, selections inside
expressions); whatever differs must carry the secret.
"""

from __future__ import annotations

import os

import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .noninterference import leaks, observe

INPUTS = [("src", "s"), ("src", "t"), ("pub", "p"), ("pub", "q"), ("pub", "l")]
HEADER = "S = src(name='s')\nT = src(name='t')\nP = pub(name='p')\nQ = pub(name='q')\nL = pub(name='l')\n" \
         "D = {'a': Q, 'b': 2}\nacc = []\nbox = {'n': 0}\n"

STR_ATOMS = ["S", "P", "'x'", "'ab'", "str(T)", "str(Q)"]
INT_ATOMS = ["T", "Q", "1", "0", "len(S)", "len(L)", "box['n']"]


@st.composite
def int_expr(draw, depth=2):
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(INT_ATOMS))
    kind = draw(st.sampled_from(["add", "mul", "len", "ifexp", "sum", "index", "min", "count", "andor", "get"]))
    a = draw(int_expr(depth - 1))
    b = draw(int_expr(depth - 1))
    s = draw(str_expr(depth - 1))
    if kind == "add":
        return f"({a} + {b})"
    if kind == "mul":
        return f"({a} * {b} % 7)"
    if kind == "len":
        return f"len({s})"
    if kind == "ifexp":
        return f"({a} if {s} == 'x' else {b})"
    if kind == "sum":
        return f"sum([{a}, {b}])"
    if kind == "index":
        return f"[{a}, {b}, 3][{a} % 3]"
    if kind == "min":
        return f"min([{a}, {b}], key=lambda z: -z)"
    if kind == "count":
        return f"len([c for c in {s} if c == 'a'])"
    if kind == "andor":
        return f"({a} and {b})"
    return f"D.get({s}, {a})"


@st.composite
def str_expr(draw, depth=2):
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(STR_ATOMS))
    kind = draw(st.sampled_from(["cat", "upper", "fmt", "join", "slice", "repl", "split0", "ifexp", "or"]))
    a = draw(str_expr(depth - 1))
    b = draw(str_expr(depth - 1))
    n = draw(int_expr(depth - 1))
    if kind == "cat":
        return f"({a} + {b})"
    if kind == "upper":
        return f"{a}.upper()"
    if kind == "fmt":
        return f"f'{{{a}}}-{{{n}}}'"
    if kind == "join":
        return f"'-'.join([{a}, {b}])"
    if kind == "slice":
        return f"{a}[:{n} % 4]"
    if kind == "repl":
        return f"{a}.replace('a', {b})"
    if kind == "split0":
        return f"({a} + ',z').split(',')[0]"
    if kind == "ifexp":
        return f"({a} if len({b}) > 1 else 'k')"
    return f"({a} or {b})"


@st.composite
def straight_line(draw):
    """Explicit flows only: no statement-level control flow."""
    lines = []
    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["str", "int", "list", "dict", "append", "func", "comp"]))
        if kind == "str":
            lines.append(f"v{i} = {draw(str_expr())}")
        elif kind == "int":
            lines.append(f"v{i} = {draw(int_expr())}")
        elif kind == "list":
            lines.append(f"v{i} = [{draw(str_expr())}, {draw(int_expr())}]")
        elif kind == "dict":
            lines.append(f"v{i} = {{{draw(str_expr())}: {draw(int_expr())}, 'k': 'const'}}")
        elif kind == "append":
            lines.append(f"acc.append({draw(str_expr())})\nv{i} = len(acc)")
        elif kind == "func":
            lines.append(f"def f{i}(a, b='d'):\n    return a + b\nv{i} = f{i}({draw(str_expr())})")
        else:
            lines.append(f"v{i} = [c.upper() for c in {draw(str_expr())} if c != 'a']")
        lines.append(f"sink(v=v{i})")
    lines.append("sink(v=acc)")
    return HEADER + "\n".join(lines) + "\n"


def _indent(block: str) -> str:
    return "\n".join("    " + ln for ln in block.splitlines())


@st.composite
def stmt(draw, depth=2, in_loop=False, in_func=False):
    kinds = ["assign", "sink", "append", "box"]
    if depth > 0:
        kinds += ["if", "for", "try", "while"]
    if in_loop:
        kinds += ["break", "continue"]
    if in_func:
        kinds += ["return"]
    kind = draw(st.sampled_from(kinds))
    var = draw(st.sampled_from(["a", "b", "c"]))
    if kind == "assign":
        e = draw(st.one_of(str_expr(1), int_expr(1)))
        return f"{var} = {e}"
    if kind == "sink":
        return f"sink(v={draw(st.sampled_from(['a', 'b', 'c', 'acc', 'box']))})"
    if kind == "append":
        return f"acc.append({draw(int_expr(1))})"
    if kind == "box":
        return f"box['n'] = {draw(int_expr(1))}"
    if kind == "break":
        return "break"
    if kind == "continue":
        return "continue"
    if kind == "return":
        return f"return {draw(int_expr(1))}"
    body = draw(block(depth - 1, in_loop or kind in ("for", "while"), in_func))
    if kind == "if":
        cond = draw(st.sampled_from([f"{draw(int_expr(1))} > 2", f"'a' in {draw(str_expr(1))}",
                                     f"{draw(str_expr(1))}"]))
        other = draw(block(depth - 1, in_loop, in_func))
        return f"if {cond}:\n    mark(p='then')\n{_indent(body)}\nelse:\n    mark(p='else')\n{_indent(other)}"
    if kind == "for":
        src = draw(st.sampled_from(["S", "L", "P", "range(T % 4)", "[x for x in L if x > T]"]))
        return f"for it_ in {src}:\n    mark(p='loop')\n{_indent(body)}"
    if kind == "while":
        return (f"w_ = 0\nwhile w_ < {draw(int_expr(1))} % 3:\n    w_ += 1\n    mark(p='while')\n"
                f"{_indent(body)}")
    handler = draw(block(depth - 1, in_loop, in_func))
    risky = draw(st.sampled_from(["int(S)", "D[S]", "[1, 2][T]", "1 // (T - 2)", "S.index('a')"]))
    return (f"try:\n    a = {risky}\n    mark(p='tried')\n{_indent(body)}\nexcept Exception as e:\n"
            f"    mark(p='caught')\n    c = str(e)\n{_indent(handler)}")


@st.composite
def block(draw, depth=2, in_loop=False, in_func=False):
    return "\n".join(draw(st.lists(stmt(depth, in_loop, in_func), min_size=1, max_size=3)))


@st.composite
def strict_program(draw):
    parts = [HEADER, "a = 'a0'\nb = 0\nc = ''"]
    if draw(st.booleans()):
        fbody = draw(block(1, False, True))
        parts.append(f"def g(x):\n    mark(p='g')\n{_indent(fbody)}\n    return 7\nb = g(T)")
    parts.append(draw(block(2)))
    parts.append("sink(v=a)\nsink(v=b)\nsink(v=c)\nsink(v=acc)\nsink(v=box)\nfinal_return_value = [a, b, c]")
    return "\n".join(parts) + "\n"


#: ``AIRLOCK_FUZZ_SCALE=20`` runs twenty times as many generated programs (a long fuzzing run).
SCALE = int(os.environ.get("AIRLOCK_FUZZ_SCALE", "1"))
SECRETS = st.tuples(st.text(alphabet="ab1,x", max_size=4), st.integers(-2, 5))
PUBLIC = st.tuples(st.text(alphabet="ab", max_size=3), st.integers(0, 3), st.lists(st.integers(0, 4), max_size=3))


def _inputs(secret, public):
    s, t = secret
    p, q, lst = public
    values = {"s": s, "t": t, "p": p, "q": q, "l": lst}
    return [(tool, name, values[name]) for tool, name in INPUTS]


@settings(max_examples=150 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(program=straight_line(), s1=SECRETS, s2=SECRETS, public=PUBLIC)
def test_standard_mode_closes_explicit_flows(program, s1, s2, public):
    a = observe(program, _inputs(s1, public), "standard")
    b = observe(program, _inputs(s2, public), "standard")
    problems = leaks(a, b, implicit=False)
    assert not problems, f"{problems}\n--- program ---\n{program}"


@settings(max_examples=250 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(program=strict_program(), s1=SECRETS, s2=SECRETS, public=PUBLIC)
def test_strict_mode_closes_implicit_flows(program, s1, s2, public):
    a = observe(program, _inputs(s1, public), "strict")
    b = observe(program, _inputs(s2, public), "strict")
    problems = leaks(a, b, implicit=True)
    assert not problems, f"{problems}\n--- program ---\n{program}"


_UNBOUND_LOCAL = """S = src(name='s')
T = src(name='t')
P = pub(name='p')
Q = pub(name='q')
L = pub(name='l')
a = 'a0'
def g(x):
    for it_ in S:
        a = S
    sink(v=a)
    return 7
b = g(T)
sink(v=b)
final_return_value = b
"""


@pytest.mark.parametrize("program", [_UNBOUND_LOCAL, _UNBOUND_LOCAL.replace("    for it_ in S:\n        a = S",
                                                                          "    if S:\n        a = 1")])
def test_an_outer_name_read_where_a_secret_decided_the_local_carries_the_secret(program):
    """Found by the generator: a function's local bound only inside a loop over a secret; when
    the loop did not run, the read found the module's untagged ``a`` — a sink that appears only
    for one secret."""
    a = observe(program, _inputs(("", 0), ("", 0, [])), "strict")
    b = observe(program, _inputs(("1", 0), ("", 0, [])), "strict")
    assert not leaks(a, b, implicit=True)
