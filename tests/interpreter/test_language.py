"""The Python subset: each construct computes what CPython computes."""

from __future__ import annotations

import pytest

from airlock.interpreter import run

from .helpers import fail, value

CASES = [
    # assignments, unpacking, augmented assignment
    ("a = 1\nb = a + 2\nfinal_return_value = b * 3", 9),
    ("a, b = 1, 2\na, b = b, a\nfinal_return_value = [a, b]", [2, 1]),
    ("first, *rest = [1, 2, 3, 4]\nfinal_return_value = [first, rest]", [1, [2, 3, 4]]),
    ("*init, last = 'abc'\nfinal_return_value = [init, last]", [["a", "b"], "c"]),
    ("x = y = 5\nx += 1\nfinal_return_value = (x, y)", [6, 5]),
    ("d = {'n': 1}\nd['n'] += 41\nfinal_return_value = d", {"n": 42}),
    ("l = [1]\nl += [2, 3]\nl *= 2\nfinal_return_value = l", [1, 2, 3, 1, 2, 3]),
    ("x: int = 3\nfinal_return_value = x", 3),
    ("final_return_value = [(y := 10), y + 1]", [10, 11]),
    # arithmetic and comparisons
    ("final_return_value = [7 // 2, 7 % 3, -7 // 2, 2 ** 10, 7 / 2, 1 << 4, 255 >> 4, 6 & 3, 6 | 1, 6 ^ 3, ~5]",
     [3, 1, -4, 1024, 3.5, 16, 15, 2, 7, 5, -6]),
    ("final_return_value = [1 < 2 < 3, 1 < 3 < 2, 'a' < 'b', [1, 2] < [1, 3], 2 in [1, 2], 'x' not in 'abc']",
     [True, False, True, True, True, True]),
    ("final_return_value = [None is None, 1 is not None, not 0, -(-3), +2]", [True, True, True, 3, 2]),
    ("final_return_value = [0 or 'x', 1 and 2, '' and 1, None or 0 or 'z']", ["x", 2, "", "z"]),
    ("final_return_value = 'yes' if 3 > 2 else 'no'", "yes"),
    ("final_return_value = 'ab' * 3 + 'c'", "abababc"),
    ("final_return_value = '%s has %d items (%.1f%%)' % ('cart', 3, 42.25)", "cart has 3 items (42.2%)"),
    # control flow
    ("x = 5\nif x > 10:\n    r = 'big'\nelif x > 3:\n    r = 'mid'\nelse:\n    r = 'small'\nfinal_return_value = r", "mid"),
    ("t = 0\nfor i in range(10):\n    if i == 7:\n        break\n    if i % 2:\n        continue\n    t += i\nfinal_return_value = t", 12),
    ("n = 0\nwhile n < 5:\n    n += 2\nelse:\n    n = -n\nfinal_return_value = n", -6),
    ("for i in []:\n    pass\nelse:\n    r = 'empty'\nfinal_return_value = r", "empty"),
    ("for i in range(3):\n    if i == 1:\n        break\nelse:\n    i = 99\nfinal_return_value = i", 1),
    ("out = []\nfor i, (a, b) in enumerate([(1, 2), (3, 4)]):\n    out.append(i + a * b)\nfinal_return_value = out", [2, 13]),
    # comprehensions
    ("final_return_value = [x * x for x in range(6) if x % 2 == 0]", [0, 4, 16]),
    ("final_return_value = {k: v for k, v in [('a', 1), ('b', 2)] if v > 1}", {"b": 2}),
    ("final_return_value = sorted({c for c in 'banana'})", ["a", "b", "n"]),
    ("final_return_value = sum(x for x in range(101))", 5050),
    ("final_return_value = [(i, j) for i in range(3) for j in range(i)]", [[1, 0], [2, 0], [2, 1]]),
    ("x = 'outer'\nys = [x for x in range(2)]\nfinal_return_value = x", "outer"),
    # exceptions
    ("try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    r = 'caught: ' + str(e)\nfinal_return_value = r", "caught: division by zero"),
    ("try:\n    {}['k']\nexcept LookupError:\n    r = 'lookup'\nfinal_return_value = r", "lookup"),
    ("try:\n    raise ValueError('bad')\nexcept (TypeError, ValueError) as e:\n    r = e.args[0]\nfinally:\n    r = r + '!'\nfinal_return_value = r", "bad!"),
    ("r = []\ntry:\n    r.append(1)\nexcept Exception:\n    r.append(2)\nelse:\n    r.append(3)\nfinally:\n    r.append(4)\nfinal_return_value = r", [1, 3, 4]),
    ("def f():\n    try:\n        return 'try'\n    finally:\n        pass\nfinal_return_value = f()", "try"),
    ("class MyErr(ValueError):\n    pass\ntry:\n    raise MyErr('x')\nexcept ValueError as e:\n    r = isinstance(e, MyErr)\nfinal_return_value = r", True),
    ("try:\n    try:\n        raise KeyError('k')\n    except KeyError:\n        raise\nexcept Exception as e:\n    r = type_ok = isinstance(e, KeyError)\nfinal_return_value = r", True),
    ("try:\n    int('x')\nexcept ValueError:\n    r = 'not a number'\nfinal_return_value = r", "not a number"),
    ("try:\n    assert 1 == 2, 'nope'\nexcept AssertionError as e:\n    r = str(e)\nfinal_return_value = r", "nope"),
    # functions
    ("def add(a, b=10, *rest, scale=1, **kw):\n    return (a + b + sum(rest)) * scale + len(kw)\n"
     "final_return_value = [add(1), add(1, 2), add(1, 2, 3, 4), add(a=1, scale=2), add(1, z=1, y=2)]", [11, 3, 10, 22, 13]),
    ("def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\nfinal_return_value = fib(15)", 610),
    ("def outer():\n    x = 1\n    def inner():\n        nonlocal x\n        x += 1\n        return x\n    inner()\n    return inner()\nfinal_return_value = outer()", 3),
    ("count = 0\ndef bump():\n    global count\n    count += 1\nbump()\nbump()\nfinal_return_value = count", 2),
    ("k = 3\nf = lambda x, y=2: x * y + k\nfinal_return_value = [f(1), f(1, 5)]", [5, 8]),
    ("final_return_value = sorted(['bb', 'a', 'ccc'], key=lambda s: -len(s))", ["ccc", "bb", "a"]),
    ("def g(*args):\n    return args\nfinal_return_value = g(*[1, 2], *(3,))", [1, 2, 3]),
    ("def h(**kw):\n    return kw\nfinal_return_value = h(**{'a': 1}, b=2)", {"a": 1, "b": 2}),
    # slicing and indexing
    ("s = 'hello world'\nfinal_return_value = [s[0], s[-1], s[1:4], s[::-1], s[::2], s[:100]]",
     ["h", "d", "ell", "dlrow olleh", "hlowrd", "hello world"]),
    ("l = list(range(10))\nl[2:5] = ['x']\ndel l[0]\nfinal_return_value = l", [1, "x", 5, 6, 7, 8, 9]),
    ("t = (1, 2, 3)\nfinal_return_value = [t[1:], t.index(3), t.count(1), len(t)]", [[2, 3], 2, 1, 3]),
    # str methods
    ("s = '  Hello, World  '\nfinal_return_value = [s.strip(), s.lower().strip(), s.split(','), s.strip().startswith('He'), s.replace('l', 'L').strip()]",
     ["Hello, World", "hello, world", ["  Hello", " World  "], True, "HeLLo, WorLd"]),
    ("final_return_value = ['-'.join(['a', 'b']), 'a,b,,c'.split(',', 2), 'x'.center(5, '*'), '42'.zfill(5), 'abc'.upper().title()]",
     ["a-b", ["a", "b", ",c"], "**x**", "00042", "Abc"]),
    ("final_return_value = ['{} and {}'.format(1, 'b'), '{0}{0}'.format('x'), '{name:>6}'.format(name='ab'), '{:.3f}'.format(3.14159), '{{}}'.format()]",
     ["1 and b", "xx", "    ab", "3.142", "{}"]),
    ("final_return_value = ['a=b=c'.partition('='), 'line1\\nline2'.splitlines(), 'abc'.find('c'), 'AbC'.swapcase(), 'x1'.isalnum()]",
     [["a", "=", "b=c"], ["line1", "line2"], 2, "aBc", True]),
    # f-strings
    ("x = 3.14159\nn = 42\nname = 'ab'\nfinal_return_value = f'{x:.2f}|{n:05d}|{n:x}|{name!r}|{name:^6}|{n:,}|{1/4:.0%}|{x=}'",
     "3.14|00042|2a|'ab'|  ab  |42|25%|x=3.14159"),
    ("w = 8\nfinal_return_value = f'{\"r\":>{w}}|{[1, 2]}|{ {\"k\": None} }'", "       r|[1, 2]|{'k': None}"),
    # list / dict / set methods
    ("l = [3, 1, 2]\nl.append(5)\nl.insert(0, 9)\nl.sort()\nl.reverse()\nl.remove(2)\np = l.pop()\nfinal_return_value = [l, p, l.index(5), l.count(9)]",
     [[9, 5, 3], 1, 1, 1]),
    ("d = {'a': 1}\nd.update({'b': 2}, c=3)\nd.setdefault('a', 100)\nd.setdefault('z', 0)\nv = d.pop('b')\nfinal_return_value = [d, v, d.get('q', 'dflt'), list(d.keys()), list(d.values())[0], list(d.items())[0]]",
     [{"a": 1, "c": 3, "z": 0}, 2, "dflt", ["a", "c", "z"], 1, ["a", 1]]),
    ("s = {1, 2}\ns.add(3)\ns.discard(1)\nt = s | {9}\nfinal_return_value = [sorted(s), sorted(t), sorted(s & {2, 7}), sorted(t - s), s.issubset(t), 2 in s]",
     [[2, 3], [2, 3, 9], [2], [9], True, True]),
    ("final_return_value = [k for k in {'b': 1, 'a': 2}]", ["b", "a"]),
    # builtins
    ("final_return_value = [len('abc'), min(3, 1, 2), max([4, 8, 2]), abs(-2.5), round(2.675, 2), round(3.5), sum([1, 2], 10)]",
     [3, 1, 8, 2.5, 2.67, 4, 13]),
    ("final_return_value = [list(zip('ab', [1, 2])), list(reversed([1, 2, 3])), any([0, 1]), all([]), divmod(7, 2)]",
     [[["a", 1], ["b", 2]], [3, 2, 1], True, True, [3, 1]]),
    ("final_return_value = [int('12'), int(3.9), float('2.5'), str(12), bool(''), bool([0]), list('ab'), tuple([1]), dict(a=1), set([1, 1])]",
     [12, 3, 2.5, "12", False, True, ["a", "b"], [1], {"a": 1}, [1]]),
    ("final_return_value = [isinstance(1, int), isinstance('a', (int, str)), isinstance([], dict), isinstance(True, int)]",
     [True, True, False, True]),
    ("final_return_value = [max(['aa', 'b'], key=len), min([], default=0), list(map(lambda x: x + 1, [1, 2])), list(filter(None, [0, 1, 2]))]",
     ["aa", 0, [2, 3], [1, 2]]),
    ("final_return_value = [chr(65), ord('a'), hex(255), bin(5), repr('x'), format(3.5, '.2f'), pow(2, 5), pow(2, 5, 3)]",
     ["A", 97, "0xff", "0b101", "'x'", "3.50", 32, 2]),
    ("print('hello', 1)\nfinal_return_value = 'done'", "done"),
    # no final value
    ("x = 1", None),
]


@pytest.mark.parametrize("program,expected", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_program_value(program, expected):
    assert value(program) == expected


def test_print_is_captured():
    out = run("print('a', 'b', sep='-')\nprint(3)")
    assert out.printed == ["a-b", "3"]


def test_uncaught_exception_has_type_line_and_col():
    out = fail("x = 1\ny = [1, 2]\nz = y[5]\n")
    assert out.error.code == "program_error"
    assert out.error.line == 3
    assert out.error.col == 0
    assert "IndexError" in out.error.message


def test_raise_custom_message():
    out = fail("def f():\n    raise ValueError('boom here')\nf()")
    assert "ValueError: boom here" in out.error.message
    assert out.error.line == 2


def test_syntax_error_reports_location():
    out = fail("x = (1,\ny = 2\n")
    assert out.error.code == "syntax_error"
    assert out.error.line is not None


def test_return_outside_function_is_syntax_error():
    assert fail("return 1").error.code == "syntax_error"


def test_name_error():
    out = fail("final_return_value = undefined_thing + 1")
    assert "NameError" in out.error.message


def test_unsupported_statements_are_refused():
    for prog in ("with x:\n    pass", "async def f():\n    pass", "def g():\n    yield 1", "@dec\ndef f():\n    pass"):
        assert fail(prog).error.code in ("unsupported_feature", "security_violation")


def test_set_iteration_order_is_insertion_order():
    # Deterministic across processes (hash seeds): replay on another replica must agree.
    assert value("s = set()\nfor w in ['zeta', 'alpha', 'mid', 'alpha']:\n    s.add(w)\nfinal_return_value = [w for w in s]") == [
        "zeta", "alpha", "mid"]


def test_mutation_through_alias_is_visible():
    assert value("a = [1]\nb = a\nb.append(2)\nd = {'l': a}\nd['l'].append(3)\nfinal_return_value = a") == [1, 2, 3]


def test_break_continue_in_nested_loops():
    prog = """
hits = []
for i in range(4):
    for j in range(4):
        if j > i:
            break
        if (i + j) % 2:
            continue
        hits.append((i, j))
final_return_value = hits
"""
    assert value(prog) == [[0, 0], [1, 1], [2, 0], [2, 2], [3, 1], [3, 3]]


def test_parsed_program_is_cached_per_text():
    from airlock.interpreter.compile import compile_program

    prog = "final_return_value = 'cache-probe-7f3a'"
    run(prog)
    before = compile_program.cache_info().hits
    run(prog)
    assert compile_program.cache_info().hits == before + 1


def test_error_column_points_at_the_failing_call():
    out = fail("x = 1\ny = [1, 2] + [int('nope')]\n")
    assert (out.error.line, out.error.col) == (2, 14)
    assert "ValueError" in out.error.message


def test_key_error_message_matches_python():
    out = fail("d = {}\nd.pop('k')")
    assert out.error.message == "KeyError: 'k'"
