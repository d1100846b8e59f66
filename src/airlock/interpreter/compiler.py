"""Compile a program's AST into a tree of Python closures, once per program text.

Each expression node becomes ``ev(frame) -> Value``; each statement node becomes
``st(frame) -> signal`` where the signal is ``None`` (fall through) or one of ``BREAK``,
``CONTINUE``, ``RETURN``. This is still node-by-node interpretation — nothing is ever
compiled to bytecode or passed to ``exec``/``eval`` — but dispatch on node type happens once,
at compile time, instead of on every execution.

The closures hold no run state: everything mutable lives in the :class:`Frame` and its
``it`` (the :class:`~airlock.interpreter.machine.Machine`), so compiled programs are cached and
shared between runs and threads.
"""

from __future__ import annotations

import ast
import sys
import warnings
from functools import lru_cache
from typing import Any, Callable

from airlock.meta import NEUTRAL

from .errors import (
    InterpreterError,
    ProgRaise,
    ProgramSyntaxError,
    ResourceLimitExceeded,
    SecurityViolation,
    UnsupportedFeature,
)
from .runtime import (
    BASE_MODEL,
    BUILTINS,
    CONVERTIBLE,
    EXC,
    MODULES,
    ExcObj,
    ExcType,
    FieldInfo,
    ModelClass,
    TypingMarker,
    binop,
    chk_coll,
    chk_str,
    compare,
    convert_field,
    delitem,
    from_python_exc,
    get_attr,
    getitem,
    iter_values,
    method_impl,
    perr,
    safe_format,
    set_attr,
    setitem,
    spec_from_value,
    spec_subscript,
    store_elem,
    to_str,
    truthy,
    unary,
)
from .values import NONE, SCALARS, SetV, Value, deep_meta, mm

BREAK = 1
CONTINUE = 2
RETURN = 3

ALLOWED_IMPORTS = {"json", "re", "datetime", "typing", "pydantic", "math"}

_BINOPS = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
    ast.Pow: "**", ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^",
}
_CMPOPS = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
}
_UNOPS = {ast.Not: "not", ast.USub: "-", ast.UAdd: "+", ast.Invert: "~"}


class Frame:
    """A scope: ``vars`` maps names to Values; ``parent`` is the lexically enclosing frame."""

    __slots__ = ("vars", "parent", "it", "glob", "ret")

    def __init__(self, vars: dict, parent: "Frame | None", it: Any, glob: "Frame | None" = None) -> None:
        self.vars = vars
        self.parent = parent
        self.it = it
        self.glob = glob if glob is not None else self
        self.ret: Value = NONE


def lookup(fr: Frame, name: str) -> Value:
    f = fr.parent
    while f is not None:
        v = f.vars.get(name)
        if v is not None:
            return v
        f = f.parent
    it = fr.it
    v = it.tools.get(name)
    if v is not None:
        return v
    v = BUILTIN_VALUES.get(name)
    if v is not None:
        return v
    raise perr("NameError", f"name '{name}' is not defined")


BUILTIN_VALUES = {k: Value(v) for k, v in BUILTINS.items()}
BUILTIN_VALUES["BaseModel"] = Value(BASE_MODEL)
BUILTIN_VALUES["Field"] = Value(MODULES["pydantic"].attrs["Field"])


class UserFunction:
    """A ``def`` or ``lambda`` of the program."""

    __slots__ = ("name", "params", "defaults", "kwonly", "kwdefaults", "vararg", "kwarg", "body", "env", "is_lambda")

    def __init__(self, name, params, defaults, kwonly, kwdefaults, vararg, kwarg, body, env, is_lambda):
        self.name = name
        self.params = params
        self.defaults = defaults
        self.kwonly = kwonly
        self.kwdefaults = kwdefaults
        self.vararg = vararg
        self.kwarg = kwarg
        self.body = body
        self.env = env
        self.is_lambda = is_lambda

    def __repr__(self) -> str:
        return f"<function {self.name}>"


# ------------------------------------------------------------------------------------------------
# Static helpers
# ------------------------------------------------------------------------------------------------


def _target_names(t: ast.AST, out: set[str]) -> None:
    if isinstance(t, ast.Name):
        out.add(t.id)
    elif isinstance(t, (ast.Tuple, ast.List)):
        for e in t.elts:
            _target_names(e, out)
    elif isinstance(t, ast.Starred):
        _target_names(t.value, out)
    elif isinstance(t, (ast.Subscript, ast.Attribute)):
        base = t.value
        while isinstance(base, (ast.Subscript, ast.Attribute)):
            base = base.value
        if isinstance(base, ast.Name):
            out.add(base.id)


def mutated_names(stmts: list[ast.stmt]) -> tuple[str, ...]:
    """Names a block may (re)bind or mutate, not looking into nested function bodies."""
    out: set[str] = set()
    stack: list[ast.AST] = list(stmts)
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.FunctionDef, ast.ClassDef)):
            out.add(n.name)
            continue
        if isinstance(n, ast.Lambda):
            continue
        if isinstance(n, ast.Assign):
            for t in n.targets:
                _target_names(t, out)
        elif isinstance(n, (ast.AugAssign, ast.AnnAssign)):
            _target_names(n.target, out)
        elif isinstance(n, (ast.For, ast.comprehension)):
            _target_names(n.target, out)
        elif isinstance(n, ast.NamedExpr):
            _target_names(n.target, out)
        elif isinstance(n, ast.Delete):
            for t in n.targets:
                _target_names(t, out)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            out.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            for a in n.names:
                out.add((a.asname or a.name).split(".")[0])
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute):
            _target_names(n.func, out)
        stack.extend(ast.iter_child_nodes(n))
    return tuple(sorted(out))


def has_jump(stmts: list[ast.stmt]) -> bool:
    stack: list[ast.AST] = list(stmts)
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.FunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(n, (ast.Return, ast.Break, ast.Continue, ast.Raise)):
            return True
        stack.extend(ast.iter_child_nodes(n))
    return False


def taint(fr: Frame, names: tuple[str, ...], m) -> None:
    """Merge ``m`` into the current bindings of ``names`` (implicit flows of a branch/loop)."""
    d = fr.vars
    for n in names:
        v = d.get(n)
        if v is not None:
            nm = mm(v.m, m)
            if nm is not v.m:
                t = type(v.v)
                if t is list or t is dict or t is SetV:
                    v.m = nm  # fresh mutable containers: update every alias
                else:
                    d[n] = Value(v.v, nm)


def security_scan(tree: ast.AST, max_depth: int = 100) -> None:
    """Refuse, before running anything, constructs that could reach Python internals."""
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        n, depth = stack.pop()
        if depth > max_depth:
            raise ResourceLimitExceeded(
                "program nested too deeply", limit="max_nesting", line=getattr(n, "lineno", None),
                col=getattr(n, "col_offset", None),
            )
        line = getattr(n, "lineno", None)
        col = getattr(n, "col_offset", None)
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
                if a.name not in ALLOWED_IMPORTS:
                    raise SecurityViolation(f"import of module '{a.name}' is not allowed", line=line, col=col)
        if isinstance(n, ast.ImportFrom):
            if n.level or n.module not in ALLOWED_IMPORTS:
                raise SecurityViolation(f"import from module '{n.module}' is not allowed", line=line, col=col)
            for a in n.names:
                if a.name == "*" or a.name.startswith("_"):
                    raise SecurityViolation(f"import of '{a.name}' is not allowed", line=line, col=col)
        if isinstance(n, (ast.Yield, ast.YieldFrom, ast.Await, ast.AsyncFunctionDef, ast.AsyncFor, ast.AsyncWith)):
            raise UnsupportedFeature(f"{type(n).__name__} is not supported", line=line, col=col)
        for c in ast.iter_child_nodes(n):
            stack.append((c, depth + 1))


# ------------------------------------------------------------------------------------------------
# The compiler
# ------------------------------------------------------------------------------------------------


class Program:
    __slots__ = ("text", "body", "tree")

    def __init__(self, text: str, body: Callable, tree: ast.Module) -> None:
        self.text = text
        self.body = body
        self.tree = tree


@lru_cache(maxsize=256)
def compile_program(text: str) -> Program:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings about model output are not ours to log
            tree = ast.parse(text, mode="exec")
    except SyntaxError as e:
        raise ProgramSyntaxError(f"invalid syntax: {e.msg}", line=e.lineno, col=e.offset) from None
    except (RecursionError, MemoryError, ValueError) as e:
        raise ProgramSyntaxError(f"program could not be parsed: {type(e).__name__}") from None
    security_scan(tree)
    c = Compiler()
    body = c.block(tree.body, top=True)
    return Program(text, body, tree)


class Scope:
    __slots__ = ("globals", "nonlocals", "is_function")

    def __init__(self, is_function: bool) -> None:
        self.globals: set[str] = set()
        self.nonlocals: set[str] = set()
        self.is_function = is_function


class Compiler:
    def __init__(self) -> None:
        self.scopes = [Scope(False)]

    # -- blocks and statements -------------------------------------------------------------------
    def block(self, stmts: list[ast.stmt], top: bool = False) -> Callable:
        """A block: runs statements in order, counting steps and locating errors."""
        if not stmts:
            return _empty_block
        fns = tuple(self.stmt(s) for s in stmts)
        locs = tuple((s.lineno, s.col_offset) for s in stmts)
        n = len(fns)

        def run_block(fr: Frame):
            it = fr.it
            i = 0
            try:
                while i < n:
                    it.steps += 1
                    if it.steps >= it.next_check:
                        it.periodic(*locs[i])
                    r = fns[i](fr)
                    if r is not None:
                        return r
                    i += 1
                return None
            except ProgRaise as e:
                if e.exc.line is None:
                    e.exc.line, e.exc.col = locs[i]
                raise
            except InterpreterError as e:
                e.at(*locs[i])
                raise
            except CONVERTIBLE as e:
                pe = from_python_exc(e)
                pe.exc.meta = it.ctx
                pe.exc.line, pe.exc.col = locs[i]
                raise pe from None

        return run_block

    def stmt(self, node: ast.stmt) -> Callable:
        meth = getattr(self, "s_" + type(node).__name__, None)
        if meth is None:
            raise UnsupportedFeature(
                f"statement '{type(node).__name__}' is not supported", line=node.lineno, col=node.col_offset
            )
        return meth(node)

    def s_Pass(self, node):
        return _empty_block

    def s_Expr(self, node):
        ev = self.expr(node.value)

        def st(fr):
            ev(fr)

        return st

    def s_Break(self, node):
        return lambda fr: BREAK

    def s_Continue(self, node):
        return lambda fr: CONTINUE

    def s_Return(self, node):
        if not self.scopes[-1].is_function:
            raise ProgramSyntaxError("'return' outside function", line=node.lineno, col=node.col_offset)
        ev = self.expr(node.value) if node.value is not None else None

        def st(fr):
            fr.ret = store_elem(fr.it, ev(fr) if ev is not None else NONE)
            return RETURN

        return st

    def s_Global(self, node):
        self.scopes[-1].globals.update(node.names)
        return _empty_block

    def s_Nonlocal(self, node):
        self.scopes[-1].nonlocals.update(node.names)
        return _empty_block

    def s_Assign(self, node):
        ev = self.expr(node.value)
        targets = [self.target(t) for t in node.targets]
        if len(targets) == 1:
            tgt = targets[0]

            def st(fr):
                tgt(fr, ev(fr))

            return st

        def st_multi(fr):
            v = ev(fr)
            for t in targets:
                t(fr, v)

        return st_multi

    def s_AnnAssign(self, node):
        if node.value is None:
            return _empty_block
        ev = self.expr(node.value)
        tgt = self.target(node.target)

        def st(fr):
            tgt(fr, ev(fr))

        return st

    def s_AugAssign(self, node):
        op = _BINOPS[type(node.op)]
        ev = self.expr(node.value)
        t = node.target
        if isinstance(t, ast.Name):
            load = self.expr(ast.Name(id=t.id, ctx=ast.Load()))
            store = self.target(t)

            def st(fr):
                it = fr.it
                store(fr, _aug(it, op, load(fr), ev(fr)))

            return st
        if isinstance(t, ast.Subscript):
            obj = self.expr(t.value)
            key = self.expr(t.slice)

            def st_sub(fr):
                it = fr.it
                o = obj(fr)
                k = key(fr)
                setitem(it, o, k, _aug(it, op, getitem(it, o, k), ev(fr)))

            return st_sub
        if isinstance(t, ast.Attribute):
            obj = self.expr(t.value)
            name = t.attr

            def st_attr(fr):
                it = fr.it
                o = obj(fr)
                set_attr(it, o, name, _aug(it, op, get_attr(it, o, name), ev(fr)))

            return st_attr
        raise UnsupportedFeature("unsupported augmented assignment target", line=node.lineno, col=node.col_offset)

    def s_Delete(self, node):
        fns = []
        for t in node.targets:
            if isinstance(t, ast.Name):
                name = t.id

                def d_name(fr, name=name):
                    if name in fr.vars:
                        del fr.vars[name]
                    else:
                        raise perr("NameError", f"name '{name}' is not defined")

                fns.append(d_name)
            elif isinstance(t, ast.Subscript):
                obj = self.expr(t.value)
                key = self.expr(t.slice)
                fns.append(lambda fr, obj=obj, key=key: delitem(fr.it, obj(fr), key(fr)))
            else:
                raise UnsupportedFeature("unsupported del target", line=node.lineno, col=node.col_offset)

        def st(fr):
            for f in fns:
                f(fr)

        return st

    def s_If(self, node):
        test = self.expr(node.test)
        body = self.block(node.body)
        orelse = self.block(node.orelse)
        names = mutated_names(node.body + node.orelse)
        jump = has_jump(node.body + node.orelse)
        line, col = node.lineno, node.col_offset

        def st(fr):
            it = fr.it
            c = test(fr)
            cm = c.m
            saved = it.ctx
            if cm is NEUTRAL and saved is NEUTRAL:
                it.branch(NEUTRAL, line, col)
                return body(fr) if truthy(c.v) else orelse(fr)
            eff = mm(saved, cm)
            it.branch(eff, line, col)
            it.ctx = eff
            try:
                r = body(fr) if truthy(c.v) else orelse(fr)
            finally:
                it.ctx = saved
            if cm is not NEUTRAL:
                if names:
                    taint(fr, names, cm)
                if jump:
                    it.ctx = eff
            return r

        return st

    def s_For(self, node):
        src = self.expr(node.iter)
        tgt = self.target(node.target)
        body = self.block(node.body)
        orelse = self.block(node.orelse) if node.orelse else None
        names = mutated_names(node.body) + tuple(sorted(_names_of(node.target)))
        line, col = node.lineno, node.col_offset

        def st(fr):
            it = fr.it
            itv = src(fr)
            saved = it.ctx
            im = itv.m
            if im is not NEUTRAL or saved is not NEUTRAL:
                eff = mm(saved, im)
                it.branch(eff, line, col)
                it.ctx = eff
            limit = it.lim.max_loop_iterations
            n = 0
            r = None
            broke = False
            try:
                for x in iter_values(it, itv):
                    n += 1
                    if n > limit:
                        it.loop_limit(line, col)
                    it.steps += 1
                    if it.steps >= it.next_check:
                        it.periodic(line, col)
                    tgt(fr, x)
                    r = body(fr)
                    if r is not None:
                        if r == BREAK:
                            broke = True
                            r = None
                            break
                        if r == CONTINUE:
                            r = None
                            continue
                        return r
                if not broke and orelse is not None:
                    r = orelse(fr)
            finally:
                after = it.ctx
                it.ctx = saved
            if after is not saved and names:
                taint(fr, names, after)
            return r

        return st

    def s_While(self, node):
        test = self.expr(node.test)
        body = self.block(node.body)
        orelse = self.block(node.orelse) if node.orelse else None
        names = mutated_names(node.body)
        line, col = node.lineno, node.col_offset

        def st(fr):
            it = fr.it
            saved = it.ctx
            limit = it.lim.max_loop_iterations
            n = 0
            r = None
            try:
                while True:
                    c = test(fr)
                    if c.m is not NEUTRAL or it.ctx is not NEUTRAL:
                        eff = mm(it.ctx, c.m)
                        it.branch(eff, line, col)
                        it.ctx = eff
                    if not truthy(c.v):
                        if orelse is not None:
                            r = orelse(fr)
                        break
                    n += 1
                    if n > limit:
                        it.loop_limit(line, col)
                    it.steps += 1
                    if it.steps >= it.next_check:
                        it.periodic(line, col)
                    r = body(fr)
                    if r is not None:
                        if r == BREAK:
                            r = None
                            break
                        if r == CONTINUE:
                            r = None
                            continue
                        return r
            finally:
                after = it.ctx
                it.ctx = saved
            if after is not saved and names:
                taint(fr, names, after)
            return r

        return st

    def s_Raise(self, node):
        exc = self.expr(node.exc) if node.exc is not None else None

        def st(fr):
            it = fr.it
            if exc is None:
                if not it.handling:
                    raise perr("RuntimeError", "No active exception to reraise")
                raise ProgRaise(it.handling[-1])
            v = exc(fr)
            x = v.v
            if isinstance(x, ExcType):
                obj = ExcObj(x, [], v.m)
            elif isinstance(x, ExcObj):
                obj = x
            else:
                raise perr("TypeError", "exceptions must derive from BaseException")
            obj.meta = mm(mm(obj.meta, v.m), it.ctx)
            raise ProgRaise(obj)

        return st

    def s_Assert(self, node):
        test = self.expr(node.test)
        msg = self.expr(node.msg) if node.msg is not None else None
        line, col = node.lineno, node.col_offset

        def st(fr):
            it = fr.it
            c = test(fr)
            it.branch(mm(it.ctx, c.m), line, col)
            if not truthy(c.v):
                args = [msg(fr)] if msg is not None else []
                raise ProgRaise(ExcObj(EXC["AssertionError"], args, mm(c.m, it.ctx)))

        return st

    def s_Try(self, node):
        body = self.block(node.body)
        handlers = []
        for h in node.handlers:
            htype = self.expr(h.type) if h.type is not None else None
            handlers.append((htype, h.name, self.block(h.body)))
        orelse = self.block(node.orelse) if node.orelse else None
        final = self.block(node.finalbody) if node.finalbody else None
        names = mutated_names(node.body + [s for h in node.handlers for s in h.body])

        def matches(fr, htype, exc: ExcObj) -> bool:
            if htype is None:
                return True
            t = htype(fr).v
            types = [e.v for e in t] if type(t) is tuple else [t]
            for ty in types:
                if isinstance(ty, ExcType):
                    if exc.type.is_sub(ty):
                        return True
                else:
                    raise perr("TypeError", "catching classes that do not inherit from BaseException is not allowed")
            return False

        def run_try(fr):
            it = fr.it
            saved = it.ctx
            caught = None
            try:
                r = body(fr)
            except ProgRaise as e:
                exc = e.exc
                for htype, hname, hbody in handlers:
                    if matches(fr, htype, exc):
                        break
                else:
                    raise
                caught = mm(exc.meta, it.ctx)
                it.ctx = mm(saved, caught)
                if hname:
                    fr.vars[hname] = Value(exc, caught)
                it.handling.append(exc)
                try:
                    r = hbody(fr)
                finally:
                    it.handling.pop()
                    it.ctx = saved
            else:
                it.ctx = saved
                if orelse is not None:
                    r = orelse(fr)
            if caught is not None and names:
                taint(fr, names, caught)
            return r

        if final is None:
            return run_try

        def st(fr):
            try:
                r = run_try(fr)
            except ProgRaise:
                r2 = final(fr)
                if r2 is not None:
                    return r2
                raise
            except CONVERTIBLE as e:  # pragma: no cover - converted at statement level
                pe = from_python_exc(e)
                r2 = final(fr)
                if r2 is not None:
                    return r2
                raise pe from None
            r2 = final(fr)
            return r2 if r2 is not None else r

        return st

    def s_FunctionDef(self, node):
        if node.decorator_list:
            raise UnsupportedFeature("decorators are not supported", line=node.lineno, col=node.col_offset)
        make = self._function(node, node.name, node.args, node.body, is_lambda=False)
        store = self.target(ast.Name(id=node.name, ctx=ast.Store()))

        def st(fr):
            store(fr, make(fr))

        return st

    def _function(self, node, name, args: ast.arguments, body, is_lambda: bool):
        if args.posonlyargs:
            params = [a.arg for a in args.posonlyargs + args.args]
        else:
            params = [a.arg for a in args.args]
        defaults = [self.expr(d) for d in args.defaults]
        kwonly = [a.arg for a in args.kwonlyargs]
        kwdefaults = [self.expr(d) if d is not None else None for d in args.kw_defaults]
        vararg = args.vararg.arg if args.vararg else None
        kwarg = args.kwarg.arg if args.kwarg else None
        self.scopes.append(Scope(True))
        try:
            if is_lambda:
                ev = self.expr(body)

                def fbody(fr):
                    fr.ret = store_elem(fr.it, ev(fr))
                    return RETURN

            else:
                fbody = self.block(body)
        finally:
            self.scopes.pop()

        def make(fr):
            return Value(
                UserFunction(
                    name,
                    params,
                    [d(fr) for d in defaults],
                    kwonly,
                    [d(fr) if d is not None else None for d in kwdefaults],
                    vararg,
                    kwarg,
                    fbody,
                    fr,
                    is_lambda,
                )
            )

        return make

    def s_ClassDef(self, node):
        line, col = node.lineno, node.col_offset
        if node.decorator_list or node.keywords or len(node.bases) != 1:
            raise UnsupportedFeature(
                "only 'class X(BaseModel)' and 'class X(Exception)' classes are supported", line=line, col=col
            )
        base = self.expr(node.bases[0])
        name = node.name
        doc = ast.get_docstring(node)
        fields = []
        for s in node.body:
            if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name):
                if s.target.id.startswith("model_"):
                    raise SecurityViolation(
                        f"field name '{s.target.id}' is reserved", line=s.lineno, col=s.col_offset
                    )
                fields.append((s.target.id, s.annotation, self.expr(s.value) if s.value is not None else None))
            elif isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)):
                continue
            elif isinstance(s, ast.Assign) and all(isinstance(t, ast.Name) for t in s.targets) and any(
                isinstance(t, ast.Name) and t.id == "model_config" for t in s.targets
            ):
                raise SecurityViolation("model_config is not allowed", line=s.lineno, col=s.col_offset)
            else:
                raise UnsupportedFeature(
                    "model classes may only contain annotated fields", line=s.lineno, col=s.col_offset
                )
        ann = self.annotation
        store = self.target(ast.Name(id=name, ctx=ast.Store()))

        def st(fr):
            b = base(fr).v
            if isinstance(b, ExcType):
                if fields:
                    raise UnsupportedFeature("exception classes may not declare fields", line=line, col=col)
                store(fr, Value(ExcType(name, b)))
                return
            if b is BASE_MODEL or isinstance(b, ModelClass):
                fl = []
                for fname, annot, dflt in fields:
                    spec = ann(fr, annot)
                    info = FieldInfo()
                    if dflt is not None:
                        dv = dflt(fr)
                        if isinstance(dv.v, FieldInfo):
                            info = dv.v
                        else:
                            info = FieldInfo(default=dv)
                    fl.append((fname, spec, info))
                store(fr, Value(ModelClass(name, fl, doc, b if isinstance(b, ModelClass) else None)))
                return
            raise UnsupportedFeature("classes must derive from BaseModel or an exception", line=line, col=col)

        return st

    def annotation(self, fr: Frame, node: ast.expr):
        if isinstance(node, ast.Constant):
            if node.value is None:
                return ("none",)
            if isinstance(node.value, str):
                try:
                    return self.annotation(fr, ast.parse(node.value, mode="eval").body)
                except SyntaxError:
                    return ("any",)
            return ("any",)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return ("union", [self.annotation(fr, node.left), self.annotation(fr, node.right)])
        if isinstance(node, ast.Subscript):
            base = self.expr(node.value)(fr).v
            sl = node.slice
            elts = sl.elts if isinstance(sl, ast.Tuple) else [sl]
            raw = []
            if isinstance(base, TypingMarker) and base.name == "Literal":
                raw = [self.expr(e)(fr).v for e in elts]
                return spec_subscript(base, [], raw)
            params = [self.annotation(fr, e) for e in elts]
            return spec_subscript(base, params, raw)
        return spec_from_value(self.expr(node)(fr).v)

    def s_Import(self, node):
        binds = []
        for a in node.names:
            binds.append((self.target(ast.Name(id=a.asname or a.name, ctx=ast.Store())), MODULES[a.name]))

        def st(fr):
            for store, mod in binds:
                store(fr, Value(mod))

        return st

    def s_ImportFrom(self, node):
        mod = MODULES[node.module]
        binds = []
        for a in node.names:
            if a.name not in mod.attrs:
                raise SecurityViolation(
                    f"cannot import name '{a.name}' from '{node.module}'", line=node.lineno, col=node.col_offset
                )
            x = mod.attrs[a.name]
            binds.append((self.target(ast.Name(id=a.asname or a.name, ctx=ast.Store())), x if isinstance(x, Value) else Value(x)))

        def st(fr):
            for store, v in binds:
                store(fr, v)

        return st

    # -- assignment targets ------------------------------------------------------------------------
    def target(self, t: ast.expr) -> Callable:
        if isinstance(t, ast.Name):
            name = t.id
            scope = self.scopes[-1]
            if name in scope.globals:

                def store_g(fr, v):
                    fr.glob.vars[name] = store_elem(fr.it, v)

                return store_g
            if name in scope.nonlocals:

                def store_nl(fr, v):
                    f = fr.parent
                    while f is not None and name not in f.vars:
                        f = f.parent
                    (f or fr).vars[name] = store_elem(fr.it, v)

                return store_nl

            def store(fr, v):
                it = fr.it
                c = it.ctx
                if c is not NEUTRAL:
                    nm = mm(v.m, c)
                    if nm is not v.m:
                        v = Value(v.v, nm)
                fr.vars[name] = v

            return store
        if isinstance(t, (ast.Tuple, ast.List)):
            subs = []
            star = -1
            for i, e in enumerate(t.elts):
                if isinstance(e, ast.Starred):
                    star = i
                    subs.append(self.target(e.value))
                else:
                    subs.append(self.target(e))
            n = len(subs)

            def store_seq(fr, v):
                it = fr.it
                items = list(iter_values(it, v))
                if star < 0:
                    if len(items) != n:
                        raise perr(
                            "ValueError",
                            f"too many values to unpack (expected {n})" if len(items) > n
                            else f"not enough values to unpack (expected {n}, got {len(items)})",
                        )
                    for s, x in zip(subs, items):
                        s(fr, x)
                    return
                if len(items) < n - 1:
                    raise perr("ValueError", f"not enough values to unpack (expected at least {n - 1})")
                after = n - star - 1
                for i in range(star):
                    subs[i](fr, items[i])
                subs[star](fr, Value(items[star : len(items) - after], v.m))
                for j in range(after):
                    subs[star + 1 + j](fr, items[len(items) - after + j])

            return store_seq
        if isinstance(t, ast.Subscript):
            obj = self.expr(t.value)
            key = self.expr(t.slice)
            return lambda fr, v: setitem(fr.it, obj(fr), key(fr), v)
        if isinstance(t, ast.Attribute):
            obj = self.expr(t.value)
            name = t.attr
            return lambda fr, v: set_attr(fr.it, obj(fr), name, v)
        if isinstance(t, ast.Starred):
            raise UnsupportedFeature("starred assignment target must be inside a tuple or list")
        raise UnsupportedFeature(f"cannot assign to {type(t).__name__}", line=t.lineno, col=t.col_offset)

    # -- expressions --------------------------------------------------------------------------------
    def expr(self, node: ast.expr) -> Callable:
        meth = getattr(self, "e_" + type(node).__name__, None)
        if meth is None:
            raise UnsupportedFeature(
                f"expression '{type(node).__name__}' is not supported",
                line=getattr(node, "lineno", None),
                col=getattr(node, "col_offset", None),
            )
        return meth(node)

    def e_Constant(self, node):
        x = node.value
        if not isinstance(x, (str, int, float, bool, type(None), type(Ellipsis))) or isinstance(x, complex):
            raise UnsupportedFeature(f"constant of type {type(x).__name__} is not supported", line=node.lineno, col=node.col_offset)
        v = Value(x)
        return lambda fr: v

    def e_Name(self, node):
        name = node.id

        def load(fr):
            v = fr.vars.get(name)
            if v is not None:
                return v
            return lookup(fr, name)

        return load

    def e_BinOp(self, node):
        op = _BINOPS[type(node.op)]
        left = self.expr(node.left)
        right = self.expr(node.right)
        if op == "+":

            def add(fr):
                a = left(fr)
                b = right(fr)
                av = a.v
                bv = b.v
                ta = type(av)
                if ta is type(bv):
                    if ta is int:
                        r = av + bv
                        if -(1 << 62) < r < (1 << 62):
                            return Value(r, mm(a.m, b.m))
                    elif ta is str:
                        if len(av) + len(bv) <= fr.it.lim.max_str_len:
                            return Value(av + bv, mm(a.m, b.m))
                    elif ta is float:
                        return Value(av + bv, mm(a.m, b.m))
                return binop(fr.it, "+", a, b)

            return add

        def ev(fr):
            return binop(fr.it, op, left(fr), right(fr))

        return ev

    def e_UnaryOp(self, node):
        op = _UNOPS[type(node.op)]
        operand = self.expr(node.operand)
        return lambda fr: unary(fr.it, op, operand(fr))

    def e_BoolOp(self, node):
        vals = [self.expr(v) for v in node.values]
        is_and = isinstance(node.op, ast.And)
        line, col = node.lineno, node.col_offset

        def ev(fr):
            it = fr.it
            m = NEUTRAL
            saved = it.ctx
            try:
                for i, f in enumerate(vals):
                    v = f(fr)
                    if i == len(vals) - 1:
                        break
                    if v.m is not NEUTRAL:
                        m = mm(m, v.m)
                        eff = mm(saved, m)
                        it.branch(eff, line, col)
                        it.ctx = eff
                    t = truthy(v.v)
                    if (not t) if is_and else t:
                        break
            finally:
                it.ctx = saved
            if m is NEUTRAL:
                return v
            nm = mm(v.m, m)
            return v if nm is v.m else Value(v.v, nm)

        return ev

    def e_Compare(self, node):
        first = self.expr(node.left)
        ops = [_CMPOPS[type(o)] for o in node.ops]
        rest = [self.expr(c) for c in node.comparators]
        if len(ops) == 1:
            op = ops[0]
            r0 = rest[0]
            if op in ("==", "!=", "<", "<=", ">", ">="):
                import operator as _op

                pyop = {"==": _op.eq, "!=": _op.ne, "<": _op.lt, "<=": _op.le, ">": _op.gt, ">=": _op.ge}[op]

                def cmp1(fr):
                    a = first(fr)
                    b = r0(fr)
                    av = a.v
                    bv = b.v
                    ta = type(av)
                    if (ta is str or ta is int or ta is float) and type(bv) is ta:
                        return Value(pyop(av, bv), mm(a.m, b.m))
                    return compare(fr.it, op, a, b)

                return cmp1
            return lambda fr: compare(fr.it, op, first(fr), r0(fr))

        def ev(fr):
            it = fr.it
            a = first(fr)
            m = NEUTRAL
            res = None
            for op, f in zip(ops, rest):
                b = f(fr)
                res = compare(it, op, a, b)
                m = mm(m, res.m)
                if not res.v:
                    return Value(False, m)
                a = b
            return Value(True, m)

        return ev

    def e_IfExp(self, node):
        test = self.expr(node.test)
        body = self.expr(node.body)
        orelse = self.expr(node.orelse)
        line, col = node.lineno, node.col_offset

        def ev(fr):
            it = fr.it
            c = test(fr)
            cm = c.m
            if cm is NEUTRAL:
                it.branch(it.ctx, line, col)
                return body(fr) if truthy(c.v) else orelse(fr)
            saved = it.ctx
            eff = mm(saved, cm)
            it.branch(eff, line, col)
            it.ctx = eff
            try:
                v = body(fr) if truthy(c.v) else orelse(fr)
            finally:
                it.ctx = saved
            return Value(v.v, mm(v.m, cm))

        return ev

    def e_Attribute(self, node):
        obj = self.expr(node.value)
        name = node.attr
        return lambda fr: get_attr(fr.it, obj(fr), name)

    def e_Subscript(self, node):
        obj = self.expr(node.value)
        key = self.expr(node.slice)

        def ev(fr):
            c = obj(fr)
            k = key(fr)
            d = c.v
            if type(d) is dict:
                e = d.get(k)
                if e is not None:
                    em = e.m
                    cm = c.m
                    km = k.m
                    if (cm is em or cm is NEUTRAL) and (km is NEUTRAL or km is em):
                        return e
            return getitem(fr.it, c, k)

        return ev

    def e_Slice(self, node):
        lo = self.expr(node.lower) if node.lower else None
        hi = self.expr(node.upper) if node.upper else None
        st = self.expr(node.step) if node.step else None

        def ev(fr):
            parts = [f(fr) if f is not None else NONE for f in (lo, hi, st)]
            for p in parts:
                if p.v is not None and type(p.v) not in (int, bool):
                    raise perr("TypeError", "slice indices must be integers or None")
            m = NEUTRAL
            for p in parts:
                m = mm(m, p.m)
            return Value(slice(parts[0].v, parts[1].v, parts[2].v), m)

        return ev

    def _elts(self, elts):
        fns = []
        for e in elts:
            if isinstance(e, ast.Starred):
                fns.append((True, self.expr(e.value)))
            else:
                fns.append((False, self.expr(e)))
        simple = all(not s for s, _ in fns)
        plain = tuple(f for _, f in fns)

        def build(fr) -> list[Value]:
            if simple:
                return [f(fr) for f in plain]
            out: list[Value] = []
            for star, f in fns:
                if star:
                    out.extend(iter_values(fr.it, f(fr)))
                else:
                    out.append(f(fr))
            chk_coll(fr.it, len(out))
            return out

        return build

    def e_List(self, node):
        build = self._elts(node.elts)
        return lambda fr: Value(build(fr))

    def e_Tuple(self, node):
        build = self._elts(node.elts)
        return lambda fr: Value(tuple(build(fr)))

    def e_Set(self, node):
        build = self._elts(node.elts)

        def ev(fr):
            items = build(fr)
            try:
                return Value(SetV(items))
            except TypeError as e:
                raise perr("TypeError", str(e)) from None

        return ev

    def e_Dict(self, node):
        pairs = []
        for k, v in zip(node.keys, node.values):
            pairs.append((self.expr(k) if k is not None else None, self.expr(v)))

        def ev(fr):
            d: dict = {}
            for k, v in pairs:
                if k is None:
                    src = v(fr)
                    if type(src.v) is not dict:
                        raise perr("TypeError", "'**' argument must be a mapping")
                    for kk, vv in src.v.items():
                        d.pop(kk, None)
                        d[kk] = vv
                else:
                    kv = k(fr)
                    try:
                        d.pop(kv, None)
                    except TypeError:
                        raise perr("TypeError", f"unhashable type: '{type(kv.v).__name__}'") from None
                    d[kv] = v(fr)
            chk_coll(fr.it, len(d))
            return Value(d)

        return ev

    def e_JoinedStr(self, node):
        pieces = []
        for p in node.values:
            if isinstance(p, ast.Constant):
                pieces.append((True, p.value, None, None))
            elif isinstance(p, ast.FormattedValue):
                spec = self.expr(p.format_spec) if p.format_spec is not None else None
                pieces.append((False, self.expr(p.value), p.conversion, spec))
            else:
                raise UnsupportedFeature("unsupported f-string part")
        pieces_t = tuple(pieces)

        def ev(fr):
            it = fr.it
            out = []
            m = NEUTRAL
            total = 0
            for const, x, conv, spec in pieces_t:
                if const:
                    out.append(x)
                    total += len(x)
                    continue
                val = x(fr)
                if conv != -1:
                    val = convert_field(it, val, conv)
                v = val.v
                if spec is None and type(v) is str:
                    s = v
                    m = mm(m, val.m)
                elif spec is None and type(v) in SCALARS:
                    s = str(v)
                    m = mm(m, val.m)
                elif spec is None:
                    s, sm = to_str(it, val)
                    m = mm(m, sm)
                else:
                    sv = spec(fr)
                    s = safe_format(it, val, sv.v)
                    m = mm(mm(m, deep_meta(val, it.lim.max_walk_nodes)), sv.m)
                out.append(s)
                total += len(s)
                if total > it.lim.max_str_len:
                    chk_str(it, total)
            return Value("".join(out), m)

        return ev

    def e_FormattedValue(self, node):  # only reached for nested specs
        return self.e_JoinedStr(ast.JoinedStr(values=[node]))

    def e_Lambda(self, node):
        return self._function(node, "<lambda>", node.args, node.body, is_lambda=True)

    def e_NamedExpr(self, node):
        ev = self.expr(node.value)
        store = self.target(node.target)

        def f(fr):
            v = ev(fr)
            store(fr, v)
            return v

        return f

    def e_Starred(self, node):
        raise UnsupportedFeature("starred expression is not allowed here", line=node.lineno, col=node.col_offset)

    def e_Call(self, node):
        line, col = node.lineno, node.col_offset
        args = []
        simple = True
        for a in node.args:
            if isinstance(a, ast.Starred):
                args.append((True, self.expr(a.value)))
                simple = False
            else:
                args.append((False, self.expr(a)))
        kws = []
        for k in node.keywords:
            kws.append((k.arg, self.expr(k.value)))
            if k.arg is None:
                simple = False
        plain_args = tuple(f for _, f in args)
        plain_kws = tuple(kws)

        def build(fr):
            if simple:
                return [f(fr) for f in plain_args], {k: f(fr) for k, f in plain_kws}
            pos: list[Value] = []
            for star, f in args:
                if star:
                    pos.extend(iter_values(fr.it, f(fr)))
                else:
                    pos.append(f(fr))
            kw: dict[str, Value] = {}
            for k, f in kws:
                if k is None:
                    src = f(fr)
                    if type(src.v) is not dict:
                        raise perr("TypeError", "argument after ** must be a mapping")
                    for kk, vv in src.v.items():
                        if type(kk.v) is not str:
                            raise perr("TypeError", "keywords must be strings")
                        if kk.v.startswith("__"):
                            raise SecurityViolation(f"keyword '{kk.v}' is not allowed")
                        kw[kk.v] = vv
                else:
                    kw[k] = f(fr)
            return pos, kw

        if isinstance(node.func, ast.Attribute):
            obj = self.expr(node.func.value)
            name = node.func.attr

            def call_method(fr):
                it = fr.it
                o = obj(fr)
                a, k = build(fr)
                try:
                    impl = method_impl(o, name)
                    if impl is not None:
                        return impl(it, a, k)
                    return it.call(get_attr(it, o, name), a, k)
                except (InterpreterError, ProgRaise, *CONVERTIBLE) as e:
                    raise _at_call(e, it, line, col) from None

            return call_method
        func = self.expr(node.func)

        def call(fr):
            it = fr.it
            f = func(fr)
            a, k = build(fr)
            try:
                return it.call(f, a, k)
            except (InterpreterError, ProgRaise, *CONVERTIBLE) as e:
                raise _at_call(e, it, line, col) from None

        return call

    # -- comprehensions ---------------------------------------------------------------------------
    def _comprehension(self, node, kind: str):
        gens = []
        for g in node.generators:
            if g.is_async:
                raise UnsupportedFeature("async comprehensions are not supported")
            gens.append((self.expr(g.iter), self.target(g.target), [self.expr(c) for c in g.ifs]))
        if kind == "dict":
            kf = self.expr(node.key)
            vf = self.expr(node.value)
        else:
            ef = self.expr(node.elt)
        line, col = node.lineno, node.col_offset
        ngen = len(gens)

        def ev(fr):
            it = fr.it
            child = Frame({}, fr, it, fr.glob)
            out_list: list[Value] = []
            out_dict: dict = {}
            saved = it.ctx
            limit = it.lim.max_loop_iterations
            maxc = it.lim.max_collection_len
            struct = [NEUTRAL]
            count = [0]

            def loop(i: int, path):
                src, tgt, ifs = gens[i]
                sv = src(child if i else fr)
                if sv.m is not NEUTRAL:
                    struct[0] = mm(struct[0], sv.m)
                    path = mm(path, sv.m)
                    it.branch(mm(saved, path), line, col)
                n = 0
                for x in iter_values(it, sv):
                    n += 1
                    if n > limit:
                        it.loop_limit(line, col)
                    it.steps += 1
                    if it.steps >= it.next_check:
                        it.periodic(line, col)
                    it.ctx = mm(saved, path) if path is not NEUTRAL else saved
                    tgt(child, x)
                    p = path
                    ok = True
                    for cond in ifs:
                        c = cond(child)
                        if c.m is not NEUTRAL:
                            p = mm(p, c.m)
                            struct[0] = mm(struct[0], c.m)
                            it.branch(mm(saved, p), line, col)
                            it.ctx = mm(saved, p)
                        if not truthy(c.v):
                            ok = False
                            break
                    if not ok:
                        continue
                    if i + 1 < ngen:
                        loop(i + 1, p)
                        continue
                    if kind == "dict":
                        k = kf(child)
                        v = vf(child)
                        if p is not NEUTRAL:
                            k = Value(k.v, mm(k.m, p))
                            v = Value(v.v, mm(v.m, p))
                        try:
                            out_dict.pop(k, None)
                        except TypeError:
                            raise perr("TypeError", f"unhashable type: '{type(k.v).__name__}'") from None
                        out_dict[k] = v
                        if len(out_dict) > maxc:
                            chk_coll(it, len(out_dict))
                    else:
                        e = ef(child)
                        if p is not NEUTRAL:
                            e = Value(e.v, mm(e.m, p))
                        out_list.append(e)
                        count[0] += 1
                        if count[0] > maxc:
                            chk_coll(it, count[0])

            try:
                loop(0, NEUTRAL)
            finally:
                it.ctx = saved
            if kind == "dict":
                return Value(out_dict, struct[0])
            if kind == "set":
                try:
                    return Value(SetV(out_list), struct[0])
                except TypeError as e:
                    raise perr("TypeError", str(e)) from None
            return Value(out_list, struct[0])

        return ev

    def e_ListComp(self, node):
        return self._comprehension(node, "list")

    def e_GeneratorExp(self, node):
        return self._comprehension(node, "list")

    def e_SetComp(self, node):
        return self._comprehension(node, "set")

    def e_DictComp(self, node):
        return self._comprehension(node, "dict")


def _names_of(t: ast.AST) -> set[str]:
    out: set[str] = set()
    _target_names(t, out)
    return out


def _at_call(e: BaseException, it: Any, line: int, col: int) -> BaseException:
    """The error a failed call raises, located at the call: our errors get the position if they
    have none, a program exception keeps the innermost position, a Python error is converted."""
    if isinstance(e, InterpreterError):
        e.at(line, col)
        return e
    if isinstance(e, ProgRaise):
        if e.exc.line is None:
            e.exc.line, e.exc.col = line, col
        return e
    return _located(e, it, line, col)


def _located(e: BaseException, it: Any, line: int, col: int) -> ProgRaise:
    pe = from_python_exc(e)
    pe.exc.meta = it.ctx
    pe.exc.line, pe.exc.col = line, col
    return pe


def _empty_block(fr):
    return None


def _aug(it, op: str, a: Value, b: Value) -> Value:
    av = a.v
    if op == "+" and type(av) is list:
        items = list(iter_values(it, b))
        chk_coll(it, len(av) + len(items))
        av.extend(store_elem(it, e) for e in items)
        if b.m is not NEUTRAL:
            a.m = mm(a.m, b.m)
        return a
    if op == "|" and type(av) is dict and type(b.v) is dict:
        av.update(b.v)
        chk_coll(it, len(av))
        return a
    return binop(it, op, a, b)


def ensure_recursion_headroom(needed: int = 6000) -> None:
    if sys.getrecursionlimit() < needed:
        sys.setrecursionlimit(needed)


# Interpreting nested programs needs more Python frames than the default limit of 1000; raise
# it once at import (never lowered), not in the middle of someone else's code.
ensure_recursion_headroom()
