"""What the program text says before it runs: the security scan, and what each region may do.

A region's :class:`~airlock.interpreter.flow.Region` is an over-approximation of its effects,
needed for the branch *not* taken: the names it could bind, whether it could mutate existing
containers (any store into a subscript or attribute, any augmented assignment, any call of a
method that mutates, of a program function or with a function argument), and whether it holds
jumps that make the rest of a function or loop depend on it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ..errors import ResourceLimitExceeded, SecurityViolation, UnsupportedFeature
from ..flow import Region

#: Methods that change their receiver (in any type's table) or call back into the program.
MUTATING_METHODS = frozenset({
    "append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "update", "setdefault",
    "popitem", "add", "discard", "intersection_update", "difference_update", "symmetric_difference_update",
    "sub", "subn",
})
#: Builtins that run a function argument (their calls can mutate through it).
CALLBACK_BUILTINS = frozenset({"sorted", "min", "max", "map", "filter"})


@dataclass
class ProgramFacts:
    """Program-wide facts: names bound anywhere (so a call by name may be a program function),
    function names, and names written through ``global``/``nonlocal``."""

    bound: set[str] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)
    global_names: set[str] = field(default_factory=set)
    nonlocal_names: set[str] = field(default_factory=set)


def program_facts(tree: ast.AST) -> ProgramFacts:
    f = ProgramFacts()
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            f.bound.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.ClassDef)):
            f.bound.add(n.name)
            if isinstance(n, ast.FunctionDef):
                f.functions.add(n.name)
        elif isinstance(n, ast.arg):
            f.bound.add(n.arg)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            for a in n.names:
                f.bound.add((a.asname or a.name).split(".")[0])
        elif isinstance(n, ast.ExceptHandler) and n.name:
            f.bound.add(n.name)
        elif isinstance(n, ast.Global):
            f.global_names.update(n.names)
        elif isinstance(n, ast.Nonlocal):
            f.nonlocal_names.update(n.names)
        elif isinstance(n, ast.Assign) and isinstance(n.value, ast.Lambda):
            for t in n.targets:
                if isinstance(t, ast.Name):
                    f.functions.add(t.id)
    return f


def _target_names(t: ast.AST, out: set[str]) -> None:
    if isinstance(t, ast.Name):
        out.add(t.id)
    elif isinstance(t, (ast.Tuple, ast.List)):
        for e in t.elts:
            _target_names(e, out)
    elif isinstance(t, ast.Starred):
        _target_names(t.value, out)


def _calls_program(n: ast.Call, facts: ProgramFacts) -> bool:
    """Whether a call may run program code (a program function, or a builtin given a function)."""
    fn = n.func
    if isinstance(fn, ast.Name):
        if fn.id in facts.bound:
            return True
        if fn.id not in CALLBACK_BUILTINS:
            return False
    elif isinstance(fn, ast.Attribute):
        if fn.attr in MUTATING_METHODS:
            return True
    else:
        return True
    for a in list(n.args) + [k.value for k in n.keywords]:
        if isinstance(a, ast.Lambda) or (isinstance(a, ast.Name) and a.id in facts.functions):
            return True
        if isinstance(a, ast.Starred) or a is None:
            return True
    return any(k.arg is None for k in n.keywords)


def region_of(nodes: list[ast.AST], facts: ProgramFacts, globals_: set[str] | frozenset[str] = frozenset(),
              in_loop_body: bool = False) -> Region:
    """The effects of a region made of ``nodes`` (statements or expressions) in one scope.

    ``in_loop_body``: the nodes are a loop's body, so their own break/continue do not jump out."""
    writes: set[str] = set()
    mutates = returns = jumps = calls = False
    stack: list[tuple[ast.AST, bool]] = [(n, in_loop_body) for n in nodes]
    while stack:
        n, inner_loop = stack.pop()
        if isinstance(n, (ast.FunctionDef, ast.ClassDef)):
            writes.add(n.name)
            for d in getattr(n, "decorator_list", []):
                stack.append((d, inner_loop))
            if isinstance(n, ast.FunctionDef):
                for d in n.args.defaults + [d for d in n.args.kw_defaults if d is not None]:
                    stack.append((d, inner_loop))
            else:
                stack.extend((s, inner_loop) for s in n.body)
            continue
        if isinstance(n, ast.Lambda):
            continue
        if isinstance(n, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            # Comprehension variables live in their own scope; effects of the parts still count.
            for g in n.generators:
                stack.append((g.iter, inner_loop))
                stack.extend((c, inner_loop) for c in g.ifs)
            for part in ("elt", "key", "value"):
                x = getattr(n, part, None)
                if x is not None:
                    stack.append((x, inner_loop))
            continue
        if isinstance(n, ast.Assign):
            for t in n.targets:
                _target_names(t, writes)
        elif isinstance(n, (ast.AugAssign, ast.AnnAssign)):
            _target_names(n.target, writes)
            if isinstance(n, ast.AugAssign):
                mutates = True  # ``l += [x]`` and ``d |= e`` change the container in place
        elif isinstance(n, ast.For):
            _target_names(n.target, writes)
        elif isinstance(n, ast.NamedExpr):
            _target_names(n.target, writes)
        elif isinstance(n, ast.Delete):
            for t in n.targets:
                _target_names(t, writes)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            writes.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            for a in n.names:
                writes.add((a.asname or a.name).split(".")[0])
        elif isinstance(n, ast.Return):
            returns = True
        elif isinstance(n, (ast.Break, ast.Continue)) and not inner_loop:
            jumps = True
        elif isinstance(n, ast.Call):
            if _calls_program(n, facts):
                mutates = calls = True
        elif isinstance(n, (ast.Subscript, ast.Attribute)) and isinstance(n.ctx, (ast.Store, ast.Del)):
            mutates = True
        child_loop = inner_loop or isinstance(n, (ast.For, ast.While))
        for c in ast.iter_child_nodes(n):
            # A loop's own body (and else) keep their jumps inside the loop.
            inside = child_loop and isinstance(n, (ast.For, ast.While)) and c in getattr(n, "body", [])
            stack.append((c, inner_loop or inside))
    gw = tuple(sorted(writes & set(globals_)))
    return Region(tuple(sorted(writes - set(globals_))), gw, mutates, returns, jumps, calls)


def may_mutate(nodes: list[ast.AST], facts: ProgramFacts) -> bool:
    return region_of(nodes, facts).mutates


# -- the security scan ------------------------------------------------------------------------------


def security_scan(tree: ast.AST, allowed_imports: frozenset[str], max_depth: int = 100) -> None:
    """Refuse, before running anything, constructs that could reach Python internals."""
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        n, depth = stack.pop()
        line = getattr(n, "lineno", None)
        col = getattr(n, "col_offset", None)
        if depth > max_depth:
            raise ResourceLimitExceeded("program nested too deeply", limit="max_nesting", line=line, col=col)
        if isinstance(n, ast.Attribute) and n.attr.startswith("_"):
            raise SecurityViolation(f"access to attribute '{n.attr}' is not allowed", line=line, col=col)
        if isinstance(n, ast.Name) and n.id.startswith("__"):
            raise SecurityViolation(f"use of name '{n.id}' is not allowed", line=line, col=col)
        if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name.startswith("__"):
            raise SecurityViolation(f"definition of '{n.name}' is not allowed", line=line, col=col)
        if isinstance(n, ast.arg) and n.arg.startswith("__"):
            raise SecurityViolation(f"parameter name '{n.arg}' is not allowed", line=line, col=col)
        if isinstance(n, ast.keyword) and n.arg is not None and n.arg.startswith("__"):
            raise SecurityViolation(f"keyword '{n.arg}' is not allowed", line=line, col=col)
        if isinstance(n, ast.Import):
            for a in n.names:
                if a.name not in allowed_imports:
                    raise SecurityViolation(f"import of module '{a.name}' is not allowed", line=line, col=col)
        if isinstance(n, ast.ImportFrom):
            if n.level or n.module not in allowed_imports:
                raise SecurityViolation(f"import from module '{n.module}' is not allowed", line=line, col=col)
            for a in n.names:
                if a.name == "*" or a.name.startswith("_"):
                    raise SecurityViolation(f"import of '{a.name}' is not allowed", line=line, col=col)
        if isinstance(n, (ast.Yield, ast.YieldFrom, ast.Await, ast.AsyncFunctionDef, ast.AsyncFor, ast.AsyncWith)):
            raise UnsupportedFeature(f"{type(n).__name__} is not supported", line=line, col=col)
        if isinstance(n, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            for sub in ast.walk(n):
                if isinstance(sub, ast.NamedExpr):
                    raise UnsupportedFeature("assignment expressions inside comprehensions are not supported",
                                             line=getattr(sub, "lineno", line), col=getattr(sub, "col_offset", col))
        for c in ast.iter_child_nodes(n):
            stack.append((c, depth + 1))
