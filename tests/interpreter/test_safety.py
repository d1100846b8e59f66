"""Sandbox: escape attempts are refused and every resource limit stops the program cleanly."""

from __future__ import annotations

import time

import pytest

from airlock.interpreter import Failed, Finished, Limits, RunOptions, run

from .helpers import fail, value

REFUSED = {"security_violation", "program_error", "unsupported_feature", "resource_limit_exceeded"}

ESCAPES = [
    # format-string attribute walks
    "x = 1\nfinal_return_value = '{0.__class__}'.format(x)",
    "final_return_value = '{0.__class__.__mro__}'.format('')",
    "final_return_value = '{x.real}'.format(x=1)",
    "final_return_value = '{0[0]}'.format(['a'])",
    "final_return_value = '{a.__globals__}'.format_map({'a': 1})",
    "x = 1\nfinal_return_value = f'{x.__class__}'",
    "final_return_value = f'{(lambda: 0).__globals__}'",
    # dunder chains
    "final_return_value = ().__class__.__bases__[0].__subclasses__()",
    "final_return_value = [].__class__",
    "def f():\n    pass\nfinal_return_value = f.__globals__",
    "final_return_value = __builtins__",
    "final_return_value = __import__('os')",
    "x = __name__",
    "final_return_value = (1).__class__.__base__",
    "class X(BaseModel):\n    a: int\nfinal_return_value = X.__dict__",
    # dangerous builtins are simply absent
    "final_return_value = getattr(1, 'real')",
    "setattr(1, 'x', 2)",
    "final_return_value = vars()",
    "final_return_value = globals()",
    "final_return_value = locals()",
    "final_return_value = open('/etc/passwd').read()",
    "final_return_value = eval('1+1')",
    "exec('x = 1')",
    "final_return_value = compile('1', 'f', 'eval')",
    "final_return_value = type(1)",
    "final_return_value = type('X', (), {})",
    "final_return_value = dir(1)",
    "final_return_value = id(1)",
    "final_return_value = object()",
    "final_return_value = breakpoint()",
    "final_return_value = input()",
    "final_return_value = help",
    "final_return_value = memoryview(b'')",
    "final_return_value = super()",
    # generators and frames
    "g = (x for x in [1])\nfinal_return_value = g.gi_frame",
    "g = (x for x in [1])\nfinal_return_value = g.gi_frame.f_back",
    "def f():\n    yield 1",
    "final_return_value = (lambda: 1).__code__",
    # str.format_map and other unlisted methods
    "final_return_value = '{a}'.format_map({'a': 1})",
    "final_return_value = 'abc'.encode()",
    "final_return_value = 'x'.maketrans('a', 'b')",
    # pydantic internals
    "from pydantic import BaseModel\nclass M(BaseModel):\n    a: int\nfinal_return_value = M.model_config",
    "from pydantic import BaseModel\nclass M(BaseModel):\n    a: int\nfinal_return_value = M(a=1).model_fields",
    "from pydantic import BaseModel\nclass M(BaseModel):\n    a: int\nfinal_return_value = M.__pydantic_validator__",
    "from pydantic import BaseModel\nclass M(BaseModel):\n    a: int\n    model_config = {'extra': 'allow'}",
    "from pydantic import BaseModel\nclass M(BaseModel):\n    def method(self):\n        return 1",
    "from pydantic import BaseModel\nfinal_return_value = BaseModel.model_validate",
    "from pydantic import BaseModel\nclass M(BaseModel):\n    a: int\nfinal_return_value = M(a=1).model_dump.__self__",
    # imports
    "import os",
    "import sys",
    "import subprocess",
    "import importlib",
    "from os import system",
    "from json import _default_decoder",
    "import json.decoder",
    "from . import x",
    "from typing import *",
    "from datetime import sys",
    # module internals
    "import json\nfinal_return_value = json.codecs",
    "import re\nfinal_return_value = re.sys",
    "import datetime\nfinal_return_value = datetime.sys",
    # classes other than models / exceptions
    "class X:\n    pass",
    "class X(object):\n    pass",
    "class X(dict):\n    pass",
    # datetime object internals
    "from datetime import datetime\nd = datetime(2024, 1, 1)\nfinal_return_value = d.fromtimestamp.__self__",
    # tool values
    "final_return_value = print.__self__",
    # try to catch security errors and continue
    "try:\n    x = ().__class__\nexcept Exception:\n    x = 'escaped'\nfinal_return_value = x",
]


@pytest.mark.parametrize("program", ESCAPES, ids=[f"escape{i}" for i in range(len(ESCAPES))])
def test_escape_attempt_is_refused(program):
    out = run(program, internal_tools={})
    assert isinstance(out, Failed), f"not refused: {out!r}"
    assert out.error.code in REFUSED
    assert "<class 'object'>" not in out.error.message
    assert "__globals__" not in str(getattr(out, "namespace", ""))


def test_security_errors_cannot_be_caught():
    out = fail("try:\n    x = [].__class__\nexcept Exception:\n    x = 1\nfinal_return_value = x")
    assert out.error.code == "security_violation"
    out = fail("x = 1\ntry:\n    y = '{0.__class__}'.format(x)\nexcept Exception:\n    y = 'caught'\nfinal_return_value = y")
    assert out.error.code == "security_violation"


def test_errors_do_not_leak_host_objects():
    out = fail("final_return_value = [].nope")
    assert "AttributeError" in out.error.message
    assert "0x" not in out.error.message  # no host repr with addresses


def test_safe_names_that_shadow_forbidden_builtins_are_fine():
    assert value("type = 'email'\nid = 3\nfinal_return_value = f'{type}-{id}'") == "email-3"


BOMBS = [
    ("final_return_value = 'a' * 10**10", "max_str_len"),
    ("final_return_value = [0] * 10**9", "max_collection_len"),
    ("x = [1]\nfor i in range(100):\n    x = x + x", "max_collection_len"),
    ("x = [0]\nfor i in range(200):\n    x = [x, x]\nfinal_return_value = str(x)", "max_walk_nodes|max_str_len"),
    ("x = [0]\nfor i in range(200):\n    x = [x, x]\nfinal_return_value = x", "max_walk_nodes"),
    ("final_return_value = 10**10**10", "max_int_bits"),
    ("final_return_value = 2 ** 100000", "max_int_bits"),
    ("final_return_value = 1 << 10**9", "max_int_bits"),
    ("x = 3\nfor i in range(30):\n    x = x * x", "max_int_bits"),
    ("s = 'ab'\nfor i in range(40):\n    s = s + s", "max_str_len"),
    ("final_return_value = 'x'.ljust(10**10)", "max_str_len"),
    ("final_return_value = f'{1:>10000000000}'", "max_str_len"),
    ("final_return_value = '{:>9999999999}'.format(1)", "max_str_len"),
    ("final_return_value = '%9999999999d' % 1", "max_str_len"),
    ("final_return_value = ('a' * 1000000).replace('a', 'bbbbbbbbbb')", "max_str_len"),
    ("final_return_value = ','.join(['abc' * 1000] * 10000)", "max_str_len"),
    ("final_return_value = list(range(10**12))", "max_collection_len"),
    ("final_return_value = sum(range(10**12))", "max_steps|max_collection_len"),
    ("t = 0\nfor x in range(10**12):\n    t += x", "max_loop_iterations"),
    ("final_return_value = [i for i in range(10**12)]", "max_loop_iterations"),
    ("while True:\n    pass", "max_loop_iterations"),
    ("def f(n):\n    return f(n + 1)\nf(0)", "max_recursion"),
    ("f = lambda n: f(n + 1)\nf(0)", "max_recursion"),
    ("d = {}\nfor i in range(10**7):\n    d[i] = i", "max_loop_iterations"),
]


@pytest.mark.parametrize("program,limit", BOMBS, ids=[f"bomb{i}" for i in range(len(BOMBS))])
def test_resource_bombs_are_stopped(program, limit):
    t0 = time.monotonic()
    out = run(program)
    assert isinstance(out, Failed), out
    assert out.error.code == "resource_limit_exceeded", out.error.to_json()
    assert out.error.detail.get("limit") in limit.split("|")
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("limits,program,limit", [
    (Limits(max_steps=500), "x = 0\nfor i in range(1000):\n    x += 1", "max_steps"),
    (Limits(max_loop_iterations=10), "for i in range(11):\n    pass", "max_loop_iterations"),
    (Limits(max_loop_iterations=10), "i = 0\nwhile i < 11:\n    i += 1", "max_loop_iterations"),
    (Limits(max_recursion=5), "def f(n):\n    return 0 if n == 0 else f(n - 1)\nf(6)", "max_recursion"),
    (Limits(max_str_len=10), "s = 'abcdef' + 'ghijkl'", "max_str_len"),
    (Limits(max_collection_len=5), "l = []\nfor i in range(6):\n    l.append(i)", "max_collection_len"),
    (Limits(max_collection_len=5), "d = {i: i for i in range(6)}", "max_collection_len"),
    (Limits(wall_time_s=0.2, max_steps=10**9, max_loop_iterations=10**9), "while True:\n    pass", "wall_time_s"),
    (Limits(max_int_bits=64), "x = 2 ** 65", "max_int_bits"),
    (Limits(max_print_chars=10), "print('a' * 20)", "max_print_chars"),
])
def test_each_limit(limits, program, limit):
    out = run(program, options=RunOptions(limits=limits))
    assert isinstance(out, Failed)
    assert out.error.code == "resource_limit_exceeded"
    assert out.error.detail["limit"] == limit
    assert out.error.line is not None


def test_limits_allow_programs_just_under_them():
    opts = RunOptions(limits=Limits(max_loop_iterations=10, max_recursion=5, max_str_len=12, max_collection_len=5))
    prog = ("for i in range(10):\n    pass\ndef f(n):\n    return 0 if n == 0 else f(n - 1)\nf(4)\n"
            "s = 'abcdef' + 'ghijkl'\nl = [1, 2, 3, 4, 5]")
    assert isinstance(run(prog, options=opts), Finished)


def test_tool_call_limit():
    out = run("for i in range(5):\n    f(x=str(i))", tools={"f": {"parameters": {"type": "object", "properties": {"x": {}}}}},
              internal_tools={}, options=RunOptions(limits=Limits(max_tool_calls=0)))
    assert out.error.detail["limit"] == "max_tool_calls"


def test_deeply_nested_expression_is_refused_not_crashing():
    prog = "x = " + "(" * 90 + "1" + ")" * 90 + "\nfinal_return_value = x"
    assert value(prog) == 1
    deep = "x = " + "+".join(["1"] * 5000)
    out = run(deep)
    assert isinstance(out, Failed)
    assert out.error.code in ("resource_limit_exceeded", "syntax_error")


def test_regex_uses_re2_linear_time():
    t0 = time.monotonic()
    out = run("import re\nfinal_return_value = re.match(r'(a+)+$', 'a' * 50000 + 'b')")
    assert isinstance(out, Finished)
    assert out.value["value"] is None
    assert time.monotonic() - t0 < 2


def test_regex_backreferences_are_refused_as_program_errors():
    out = run("import re\ntry:\n    re.search(r'(a)\\1', 'aa')\n    r = 'ran'\nexcept re.error:\n    r = 'refused'\nfinal_return_value = r")
    assert out.value["value"] == "refused"


def test_huge_regex_is_refused():
    out = run("import re\nfinal_return_value = re.compile('((a{100}){100}){100}')")
    assert isinstance(out, Failed)
