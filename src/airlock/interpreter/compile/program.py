"""Compile a program's AST into a tree of Python closures, once per program text.

Each expression becomes ``ev(frame) -> Value``; each statement ``st(frame) -> signal`` where the
signal is ``None`` (fall through), ``BREAK``, ``CONTINUE`` or ``RETURN``. This is still
node-by-node interpretation — nothing is compiled to bytecode or passed to ``exec``/``eval`` —
but dispatch on node type happens once, at compile time. Closures hold no run state (that lives
in the :class:`Frame` and its machine ``it``), so compiled programs are cached and shared.
"""

from __future__ import annotations

import ast
import warnings
from functools import lru_cache
from typing import Any, Callable

from airlock.meta import NEUTRAL

from ..errors import InterpreterError, ProgRaise, ProgramSyntaxError, UnsupportedFeature
from ..flow import TOP, Region, covers, elements, join, mm, retag, shallow
from ..stdlib.objects import EXC, ExcObj, ExcType, convert_python_error, perr
from ..stdlib.operators import delitem, truth
from ..stdlib.tables import ALLOWED_IMPORTS, MODULES
from ..values import NONE, Value
from .classes import ClassCompiler
from .expressions import ExpressionCompiler, unpack
from .frame import Frame, UserFunction
from .scope import ProgramFacts, program_facts, region_of, security_scan

BREAK = 1
CONTINUE = 2
RETURN = 3

Stmt = Callable[[Frame], Any]


class Program:
    __slots__ = ("text", "body", "tree", "facts")

    def __init__(self, text: str, body: Stmt, tree: ast.Module, facts: ProgramFacts) -> None:
        self.text = text
        self.body = body
        self.tree = tree
        self.facts = facts


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
    security_scan(tree, ALLOWED_IMPORTS)
    facts = program_facts(tree)
    c = Compiler(facts)
    body = c.block(tree.body)
    return Program(text, body, tree, facts)


class Scope:
    __slots__ = ("globals", "nonlocals", "is_function")

    def __init__(self, is_function: bool) -> None:
        self.globals: set[str] = set()
        self.nonlocals: set[str] = set()
        self.is_function = is_function


def _empty(fr: Frame) -> None:
    return None


class Compiler(ExpressionCompiler, ClassCompiler):
    def __init__(self, facts: ProgramFacts) -> None:
        self.facts = facts
        self.scopes = [Scope(False)]

    def region(self, nodes: list[Any], in_loop_body: bool = False) -> Region:
        return region_of(nodes, self.facts, self.scopes[-1].globals, in_loop_body)

    # -- blocks ---------------------------------------------------------------------------------
    def block(self, stmts: list[ast.stmt]) -> Stmt:
        """Statements in order, each charged one step and located for errors."""
        if not stmts:
            return _empty
        fns = tuple(self.stmt(s) for s in stmts)
        locs = tuple((s.lineno, s.col_offset) for s in stmts)
        n = len(fns)

        def run_block(fr: Frame) -> Any:
            it = fr.it
            b = it.budget
            i = 0
            try:
                while i < n:
                    b.steps += 1
                    if b.steps >= b.next_check:
                        b.tick()
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
            except Exception as e:  # a Python error outside a table entry: we do not know what it read
                pe = convert_python_error(e)
                if pe is None:
                    raise
                pe.exc.meta = mm(TOP, it.pc)
                pe.exc.line, pe.exc.col = locs[i]
                raise pe from None

        return run_block

    def stmt(self, node: ast.stmt) -> Stmt:
        meth = getattr(self, "s_" + type(node).__name__, None)
        if meth is None:
            raise UnsupportedFeature(f"statement '{type(node).__name__}' is not supported",
                                     line=node.lineno, col=node.col_offset)
        return meth(node)  # type: ignore[no-any-return]

    # -- simple statements ------------------------------------------------------------------------
    def s_Pass(self, node: ast.Pass) -> Stmt:
        return _empty

    def s_Expr(self, node: ast.Expr) -> Stmt:
        ev = self.expr(node.value)

        def st(fr: Frame) -> None:
            ev(fr)

        return st

    def s_Break(self, node: ast.Break) -> Stmt:
        return lambda fr: BREAK

    def s_Continue(self, node: ast.Continue) -> Stmt:
        return lambda fr: CONTINUE

    def s_Return(self, node: ast.Return) -> Stmt:
        if not self.scopes[-1].is_function:
            raise ProgramSyntaxError("'return' outside function", line=node.lineno, col=node.col_offset)
        ev = self.expr(node.value) if node.value is not None else None

        def st(fr: Frame) -> int:
            v = ev(fr) if ev is not None else NONE
            fr.ret = retag(v, fr.it.pc)
            return RETURN

        return st

    def s_Global(self, node: ast.Global) -> Stmt:
        if not self.scopes[-1].is_function:
            return _empty
        self.scopes[-1].globals.update(node.names)
        return _empty

    def s_Nonlocal(self, node: ast.Nonlocal) -> Stmt:
        self.scopes[-1].nonlocals.update(node.names)
        return _empty

    def s_Assign(self, node: ast.Assign) -> Stmt:
        ev = self.expr(node.value)
        targets = [self.target(t) for t in node.targets]
        if len(targets) == 1:
            tgt = targets[0]

            def st(fr: Frame) -> None:
                tgt(fr, ev(fr))

            return st

        def st_multi(fr: Frame) -> None:
            v = ev(fr)
            for t in targets:
                t(fr, v)

        return st_multi

    def s_AnnAssign(self, node: ast.AnnAssign) -> Stmt:
        if node.value is None:
            return _empty
        ev = self.expr(node.value)
        tgt = self.target(node.target)

        def st(fr: Frame) -> None:
            tgt(fr, ev(fr))

        return st

    def s_AugAssign(self, node: ast.AugAssign) -> Stmt:
        return self.augassign(node)

    def s_Delete(self, node: ast.Delete) -> Stmt:
        fns: list[Callable[[Frame], None]] = []
        for t in node.targets:
            if isinstance(t, ast.Name):
                name = t.id

                def d_name(fr: Frame, name: str = name) -> None:
                    if name in fr.vars:
                        del fr.vars[name]
                    else:
                        g = fr.existence(name)
                        raise perr("NameError", f"name '{name}' is not defined",
                                   mm(g, fr.it.pc) if g is not None else fr.it.pc)

                fns.append(d_name)
            elif isinstance(t, ast.Subscript):
                obj = self.expr(t.value)
                key = self.expr(t.slice)
                def d_item(fr: Frame, obj: Any = obj, key: Any = key) -> None:
                    delitem(fr.it, obj(fr), key(fr))

                fns.append(d_item)
            else:
                raise UnsupportedFeature("unsupported del target", line=node.lineno, col=node.col_offset)

        def st(fr: Frame) -> None:
            for f in fns:
                f(fr)

        return st

    def s_Import(self, node: ast.Import) -> Stmt:
        binds = [(self.target(ast.Name(id=a.asname or a.name, ctx=ast.Store())), Value(MODULES[a.name]))
                 for a in node.names]

        def st(fr: Frame) -> None:
            for store, mod in binds:
                store(fr, mod)

        return st

    def s_ImportFrom(self, node: ast.ImportFrom) -> Stmt:
        from ..errors import SecurityViolation

        mod = MODULES[node.module or ""]
        binds = []
        for a in node.names:
            if a.name not in mod.attrs:
                raise SecurityViolation(f"cannot import name '{a.name}' from '{node.module}'",
                                        line=node.lineno, col=node.col_offset)
            binds.append((self.target(ast.Name(id=a.asname or a.name, ctx=ast.Store())), mod.attrs[a.name]))

        def st(fr: Frame) -> None:
            for store, v in binds:
                store(fr, v)

        return st

    # -- control flow -----------------------------------------------------------------------------
    def s_If(self, node: ast.If) -> Stmt:
        test = self.expr(node.test)
        body = self.block(node.body)
        orelse = self.block(node.orelse)
        region = self.region(node.body + node.orelse)
        line, col = node.lineno, node.col_offset

        def st(fr: Frame) -> Any:
            it = fr.it
            ok, cm = truth(it, test(fr))
            pc = it.pc
            it.check_branch(mm(pc, cm), line, col)
            c = it.proj(cm)
            if c is NEUTRAL or covers(pc, c):
                return body(fr) if ok else orelse(fr)
            serial = it.serial_mark()
            it.pc = mm(pc, c)
            try:
                return body(fr) if ok else orelse(fr)
            finally:
                join(it, fr, region, pc, serial)

        return st

    def s_For(self, node: ast.For) -> Stmt:
        src = self.expr(node.iter)
        tgt = self.target(node.target)
        body = self.block(node.body)
        orelse = self.block(node.orelse) if node.orelse else None
        region = self.region([node])
        line, col = node.lineno, node.col_offset

        def st(fr: Frame) -> Any:
            it = fr.it
            b = it.budget
            itv = src(fr)
            saved = it.pc
            serial = it.serial_mark()
            s = shallow(it, itv)
            it.check_branch(mm(saved, s), line, col)
            c = it.proj(s)
            if c is not NEUTRAL and not covers(saved, c):
                it.pc = mm(saved, c)
            n = 0
            r = None
            try:
                for x in iterate(it, itv, s):
                    n += 1
                    b.iteration(n)
                    tgt(fr, x)
                    r = body(fr)
                    if r is not None:
                        if r == BREAK:
                            r = None
                            break
                        if r == CONTINUE:
                            r = None
                            continue
                        return r
                else:
                    if orelse is not None:
                        r = orelse(fr)
                return r
            finally:
                if it.pc is not saved:
                    join(it, fr, region, saved, serial)

        return st

    def s_While(self, node: ast.While) -> Stmt:
        test = self.expr(node.test)
        body = self.block(node.body)
        orelse = self.block(node.orelse) if node.orelse else None
        region = self.region([node])
        line, col = node.lineno, node.col_offset

        def st(fr: Frame) -> Any:
            it = fr.it
            b = it.budget
            saved = it.pc
            serial = it.serial_mark()
            n = 0
            r = None
            try:
                while True:
                    ok, cm = truth(it, test(fr))
                    pc = it.pc
                    it.check_branch(mm(pc, cm), line, col)
                    c = it.proj(cm)
                    if c is not NEUTRAL and not covers(pc, c):
                        it.pc = mm(pc, c)  # every later iteration depends on this test
                    if not ok:
                        if orelse is not None:
                            r = orelse(fr)
                        return r
                    n += 1
                    b.iteration(n)
                    r = body(fr)
                    if r is not None:
                        if r == BREAK:
                            return None
                        if r == CONTINUE:
                            r = None
                            continue
                        return r
            finally:
                if it.pc is not saved:
                    join(it, fr, region, saved, serial)

        return st

    def s_Raise(self, node: ast.Raise) -> Stmt:
        exc = self.expr(node.exc) if node.exc is not None else None

        def st(fr: Frame) -> None:
            it = fr.it
            if exc is None:
                if not it.handling:
                    raise perr("RuntimeError", "No active exception to reraise", it.pc)
                raise ProgRaise(it.handling[-1])
            v = exc(fr)
            x = v.v
            if isinstance(x, ExcType):
                obj = ExcObj(x, [], NEUTRAL)
            elif isinstance(x, ExcObj):
                obj = x
            else:
                raise perr("TypeError", "exceptions must derive from BaseException", mm(v.m, it.pc))
            obj.meta = mm(mm(obj.meta, v.m), it.pc)
            raise ProgRaise(obj)

        return st

    def s_Assert(self, node: ast.Assert) -> Stmt:
        test = self.expr(node.test)
        msg = self.expr(node.msg) if node.msg is not None else None
        line, col = node.lineno, node.col_offset

        def st(fr: Frame) -> None:
            it = fr.it
            ok, cm = truth(it, test(fr))
            it.check_branch(mm(it.pc, cm), line, col)
            if it.try_depth:
                it.raise_pc(cm)
            if not ok:
                args = [msg(fr)] if msg is not None else []
                raise ProgRaise(ExcObj(EXC["AssertionError"], args, mm(cm, it.pc)))

        return st

    def s_Try(self, node: ast.Try) -> Stmt:
        body = self.block(node.body)
        handlers = []
        for h in node.handlers:
            htype = self.expr(h.type) if h.type is not None else None
            handlers.append((htype, h.name, self.block(h.body)))
        orelse = self.block(node.orelse) if node.orelse else None
        final = self.block(node.finalbody) if node.finalbody else None
        region = self.region(node.body + [h for h in node.handlers] + node.orelse + node.finalbody)

        def matches(fr: Frame, htype: Any, exc: ExcObj) -> bool:
            if htype is None:
                return True
            t = htype(fr).v
            types = [e.v for e in t] if type(t) is tuple else [t]
            for ty in types:
                if not isinstance(ty, ExcType):
                    raise perr("TypeError", "catching classes that do not inherit from BaseException is not allowed",
                               fr.it.pc)
                if exc.type.is_sub(ty):
                    return True
            return False

        def run_try(fr: Frame) -> Any:
            it = fr.it
            saved = it.pc
            serial = it.serial_mark()
            try:
                it.try_depth += 1
                try:
                    r = body(fr)
                finally:
                    it.try_depth -= 1
            except ProgRaise as e:
                exc = e.exc
                # Which handler runs, and whether any does, depends on the exception.
                it.pc = mm(it.pc, it.proj(exc_meta(exc)))
                for htype, hname, hbody in handlers:
                    if matches(fr, htype, exc):
                        break
                else:
                    join(it, fr, region, saved, serial)
                    raise
                if hname:
                    fr.vars[hname] = Value(exc, mm(exc.meta, it.pc))
                it.handling.append(exc)
                try:
                    r = hbody(fr)
                finally:
                    it.handling.pop()
                    if hname:
                        fr.vars.pop(hname, None)  # Python 3 scoping: the name ends with the handler
            else:
                if orelse is not None:
                    r = orelse(fr)
            if it.pc is not saved:
                join(it, fr, region, saved, serial)
            return r

        if final is None:
            return run_try

        def st(fr: Frame) -> Any:
            try:
                r = run_try(fr)
            except ProgRaise:
                r2 = final(fr)
                if r2 is not None:
                    return r2
                raise
            r2 = final(fr)
            return r2 if r2 is not None else r

        return st

    # -- definitions ----------------------------------------------------------------------------
    def s_FunctionDef(self, node: ast.FunctionDef) -> Stmt:
        if node.decorator_list:
            raise UnsupportedFeature("decorators are not supported", line=node.lineno, col=node.col_offset)
        make = self.function(node.name, node.args, node.body, is_lambda=False)
        store = self.target(ast.Name(id=node.name, ctx=ast.Store()))

        def st(fr: Frame) -> None:
            store(fr, make(fr))

        return st

    def function(self, name: str, args: ast.arguments, body: Any, is_lambda: bool) -> Callable[[Frame], Value]:
        params = [a.arg for a in args.posonlyargs + args.args]
        defaults = [self.expr(d) for d in args.defaults]
        kwonly = [a.arg for a in args.kwonlyargs]
        kwdefaults = [self.expr(d) if d is not None else None for d in args.kw_defaults]
        vararg = args.vararg.arg if args.vararg else None
        kwarg = args.kwarg.arg if args.kwarg else None
        self.scopes.append(Scope(True))
        fbody: Stmt
        try:
            if is_lambda:
                ev = self.expr(body)

                def lambda_body(fr: Frame) -> int:
                    fr.ret = retag(ev(fr), fr.it.pc)
                    return RETURN

                fbody = lambda_body
                mutates = self.region([body]).mutates
            else:
                fbody = self.block(body)
                mutates = self.region(body).mutates
        finally:
            self.scopes.pop()

        def make(fr: Frame) -> Value:
            return Value(UserFunction(name, params, [d(fr) for d in defaults], kwonly,
                                      [d(fr) if d is not None else None for d in kwdefaults],
                                      vararg, kwarg, fbody, fr, is_lambda, mutates))

        return make


def exc_meta(exc: ExcObj) -> Any:
    """Everything an exception reveals: what raised it and its arguments."""
    m = exc.meta
    for a in exc.args:
        m = mm(m, a.m)
    return m


def iterate(it: Any, itv: Value, base: Any) -> Any:
    """The values a ``for`` loop sees: ranges lazily (a huge range stops at the iteration limit,
    not at the collection limit), everything else materialised once."""
    v = itv.v
    if type(v) is range:
        return (Value(i, base) for i in v)
    return elements(it, itv)


__all__ = ["compile_program", "Program", "Frame", "UserFunction", "BREAK", "CONTINUE", "RETURN", "unpack"]
