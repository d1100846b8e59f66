"""Compiling expressions and assignment targets.

Fast paths (``int + int``, a dict lookup, a scalar comparison) compute exactly what the table
entry they stand for would: for scalars the ``DEEP`` read is the value's own metadata. Everything
else goes through the entries (``stdlib/operators.py``) and so through ``flow.invoke``.
"""

from __future__ import annotations

import ast
import operator as _op
from typing import TYPE_CHECKING, Any, Callable

from airlock.meta import NEUTRAL

from ..errors import InterpreterError, ProgRaise, SecurityViolation, UnsupportedFeature
from ..flow import covers, deep, elements, invoke, join, mm, retag, shallow, struct
from ..stdlib.lists import LIST_METHODS, append_fast
from ..stdlib.dicts import DICT_METHODS, SET_METHODS
from ..stdlib.objects import BoundMethod, convert_python_error, perr, type_name
from ..stdlib.operators import binop, compare, getitem, setitem, slice_value, truth, unary
from ..stdlib.tables import BUILTINS, get_attr, method_entry, set_attr
from ..stdlib.text import convert_field, render, safe_format
from ..values import NONE, SCALAR_TYPES, DictObj, ListObj, SetObj, Value
from .frame import Frame

if TYPE_CHECKING:
    from ..flow import Region

Expr = Callable[[Frame], Value]
Target = Callable[[Frame, Value], None]

_BINOPS: dict[type, str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**",
    ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^",
}
_CMPOPS: dict[type, str] = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.In: "in",
    ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
}
_UNOPS: dict[type, str] = {ast.Not: "not", ast.USub: "-", ast.UAdd: "+", ast.Invert: "~"}
_PYCMP = {"==": _op.eq, "!=": _op.ne, "<": _op.lt, "<=": _op.le, ">": _op.gt, ">=": _op.ge}
_SMALL = 1 << 62


def lookup(fr: Frame, name: str) -> Value:
    # A scope the name is missing from, where a region decided whether it is bound (a loop over
    # a tool result that assigns it, zero times or more), makes the outer binding found instead
    # depend on that region: the value carries its condition (hypothesis found the outer value
    # read untagged in strict mode after a function's loop over a secret did not run).
    gate = fr.exist.get(name) if fr.exist is not None else None
    f = fr.parent
    while f is not None:
        v = f.vars.get(name)
        if v is not None:
            if f.exist is not None and name in f.exist and fr.it.try_depth:
                fr.it.raise_pc(f.exist[name])
            return v if gate is None else Value(v.v, mm(v.m, gate))
        if f.exist is not None and name in f.exist:
            gate = f.exist[name] if gate is None else mm(gate, f.exist[name])
        f = f.parent
    it = fr.it
    v = it.tools.get(name)
    if v is None:
        v = BUILTINS.get(name)
    g = fr.existence(name)
    if v is not None:
        if g is not None and it.try_depth:
            it.raise_pc(g)
        return v if gate is None else Value(v.v, mm(v.m, gate))
    raise perr("NameError", f"name '{name}' is not defined", it.pc if g is None else mm(g, it.pc))


def unpack(it: Any, v: Value, n: int, star: int) -> list[Value]:
    """The values ``a, *b, c = v`` binds (``star`` is the starred position or -1)."""
    items = elements(it, v)
    if star < 0:
        if len(items) != n:
            raise perr("ValueError", f"too many values to unpack (expected {n})" if len(items) > n
                       else f"not enough values to unpack (expected {n}, got {len(items)})", mm(shallow(it, v), it.pc))
        return items
    if len(items) < n - 1:
        raise perr("ValueError", f"not enough values to unpack (expected at least {n - 1})", mm(shallow(it, v), it.pc))
    after = n - star - 1
    rest = Value(ListObj(items[star:len(items) - after]), shallow(it, v))
    return items[:star] + [rest] + items[len(items) - after:]


def _located(e: BaseException, it: Any, line: int, col: int) -> BaseException:
    """The error a failed call raises, located at the call."""
    if isinstance(e, InterpreterError):
        e.at(line, col)
        return e
    if isinstance(e, ProgRaise):
        if e.exc.line is None:
            e.exc.line, e.exc.col = line, col
        return e
    pe = convert_python_error(e)
    if pe is None:
        return e
    from ..flow import TOP

    pe.exc.meta = mm(TOP, it.pc)
    pe.exc.line, pe.exc.col = line, col
    return pe


class ExpressionCompiler:
    scopes: list[Any]

    def region(self, nodes: list[Any], in_loop_body: bool = False) -> "Region":
        raise NotImplementedError

    def function(self, name: str, args: ast.arguments, body: Any, is_lambda: bool) -> Callable[[Frame], Value]:
        raise NotImplementedError

    # -- targets ------------------------------------------------------------------------------------
    def target(self, t: ast.expr) -> Target:
        if isinstance(t, ast.Name):
            return self.name_store(t.id)
        if isinstance(t, (ast.Tuple, ast.List)):
            subs: list[Target] = []
            star = -1
            for i, e in enumerate(t.elts):
                if isinstance(e, ast.Starred):
                    if star >= 0:
                        raise UnsupportedFeature("multiple starred expressions in assignment", line=t.lineno,
                                                 col=t.col_offset)
                    star = i
                    subs.append(self.target(e.value))
                else:
                    subs.append(self.target(e))
            n = len(subs)

            def store_seq(fr: Frame, v: Value) -> None:
                for s, x in zip(subs, unpack(fr.it, v, n, star)):
                    s(fr, x)

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
            raise UnsupportedFeature("starred assignment target must be inside a tuple or list",
                                     line=t.lineno, col=t.col_offset)
        raise UnsupportedFeature(f"cannot assign to {type(t).__name__}", line=t.lineno, col=t.col_offset)

    def name_store(self, name: str) -> Target:
        scope = self.scopes[-1]
        if name in scope.globals:

            def store_g(fr: Frame, v: Value) -> None:
                pc = fr.it.pc
                fr.glob.vars[name] = v if pc is NEUTRAL else retag(v, pc)

            return store_g
        if name in scope.nonlocals:

            def store_nl(fr: Frame, v: Value) -> None:
                f = fr.parent
                while f is not None and name not in f.vars:
                    f = f.parent
                pc = fr.it.pc
                (f or fr).vars[name] = v if pc is NEUTRAL else retag(v, pc)

            return store_nl

        def store(fr: Frame, v: Value) -> None:
            pc = fr.it.pc
            fr.vars[name] = v if pc is NEUTRAL else retag(v, pc)

        return store

    def augassign(self, node: ast.AugAssign) -> Callable[[Frame], None]:
        op = _BINOPS[type(node.op)]
        ev = self.expr(node.value)
        t = node.target
        if isinstance(t, ast.Name):
            load = self.expr(ast.Name(id=t.id, ctx=ast.Load()))
            store = self.target(t)

            def st(fr: Frame) -> None:
                store(fr, inplace(fr.it, op, load(fr), ev(fr)))

            return st
        if isinstance(t, ast.Subscript):
            obj = self.expr(t.value)
            key = self.expr(t.slice)

            def st_sub(fr: Frame) -> None:
                it = fr.it
                o = obj(fr)
                k = key(fr)
                setitem(it, o, k, inplace(it, op, getitem(it, o, k), ev(fr)))

            return st_sub
        if isinstance(t, ast.Attribute):
            objx = self.expr(t.value)
            name = t.attr

            def st_attr(fr: Frame) -> None:
                it = fr.it
                o = objx(fr)
                set_attr(it, o, name, inplace(it, op, get_attr(it, o, name), ev(fr)))

            return st_attr
        raise UnsupportedFeature("unsupported augmented assignment target", line=node.lineno, col=node.col_offset)

    # -- expressions --------------------------------------------------------------------------------
    def expr(self, node: ast.expr) -> Expr:
        meth = getattr(self, "e_" + type(node).__name__, None)
        if meth is None:
            raise UnsupportedFeature(f"expression '{type(node).__name__}' is not supported",
                                     line=getattr(node, "lineno", None), col=getattr(node, "col_offset", None))
        return meth(node)  # type: ignore[no-any-return]

    def e_Constant(self, node: ast.Constant) -> Expr:
        x = node.value
        if not isinstance(x, (str, int, float, bool, type(None), type(Ellipsis))) or isinstance(x, complex):
            raise UnsupportedFeature(f"constant of type {type(x).__name__} is not supported",
                                     line=node.lineno, col=node.col_offset)
        v = Value(x)
        return lambda fr: v

    def e_Name(self, node: ast.Name) -> Expr:
        name = node.id

        def load(fr: Frame) -> Value:
            v = fr.vars.get(name)
            if v is not None:
                if fr.exist is not None and fr.it.try_depth and name in fr.exist:
                    fr.it.raise_pc(fr.exist[name])  # it could have been unbound: see Frame.exist
                return v
            return lookup(fr, name)

        return load

    def e_BinOp(self, node: ast.BinOp) -> Expr:
        op = _BINOPS[type(node.op)]
        left = self.expr(node.left)
        right = self.expr(node.right)
        if op == "+":

            def add(fr: Frame) -> Value:
                a = left(fr)
                b = right(fr)
                av = a.v
                ta = type(av)
                if ta is type(b.v):
                    if ta is int:
                        r = av + b.v
                        if -_SMALL < r < _SMALL:
                            return Value(r, mm(a.m, b.m))
                    elif ta is float:
                        return Value(av + b.v, mm(a.m, b.m))
                return binop(fr.it, "+", a, b)

            return add

        def ev(fr: Frame) -> Value:
            return binop(fr.it, op, left(fr), right(fr))

        return ev

    def e_UnaryOp(self, node: ast.UnaryOp) -> Expr:
        op = _UNOPS[type(node.op)]
        operand = self.expr(node.operand)
        if op == "not":

            def not_(fr: Frame) -> Value:
                ok, m = truth(fr.it, operand(fr))
                return Value(not ok, m)

            return not_
        return lambda fr: unary(fr.it, op, operand(fr))

    def e_BoolOp(self, node: ast.BoolOp) -> Expr:
        vals = [self.expr(v) for v in node.values]
        is_and = isinstance(node.op, ast.And)
        region = self.region(list(node.values[1:]))
        line, col = node.lineno, node.col_offset
        last = len(vals) - 1

        def ev(fr: Frame) -> Value:
            it = fr.it
            saved = it.pc
            serial = it.serial_mark()
            m = NEUTRAL
            try:
                for i, f in enumerate(vals):
                    v = f(fr)
                    if i == last:
                        break
                    ok, tm = truth(it, v)
                    if tm is not NEUTRAL:
                        m = mm(m, tm)
                        it.check_branch(mm(it.pc, tm), line, col)
                        c = it.proj(tm)
                        if c is not NEUTRAL and not covers(it.pc, c):
                            it.pc = mm(it.pc, c)  # the next operands run only if this one decides so
                    if (not ok) if is_and else ok:
                        break
            finally:
                if it.pc is not saved:
                    join(it, fr, region, saved, serial)
            # Which operand is the result is decided by the ones tested: an explicit selection.
            return v if m is NEUTRAL else retag(v, m)

        return ev

    def e_Compare(self, node: ast.Compare) -> Expr:
        first = self.expr(node.left)
        ops = [_CMPOPS[type(o)] for o in node.ops]
        rest = [self.expr(c) for c in node.comparators]
        if len(ops) == 1:
            op = ops[0]
            r0 = rest[0]
            pyop = _PYCMP.get(op)
            if pyop is not None:

                def cmp1(fr: Frame) -> Value:
                    a = first(fr)
                    b = r0(fr)
                    ta = type(a.v)
                    if (ta is str or ta is int or ta is float) and type(b.v) is ta:
                        return Value(pyop(a.v, b.v), mm(a.m, b.m))
                    return compare(fr.it, op, a, b)

                return cmp1
            if op in ("in", "not in"):
                negate = op == "not in"

                def member(fr: Frame) -> Value:
                    a = first(fr)
                    b = r0(fr)
                    c = b.v
                    tc = type(c)
                    if (tc is DictObj or tc is SetObj) and type(a.v) in SCALAR_TYPES:
                        # CONTAINS_HASHED's rule, inlined: the item and the container's shallow read.
                        it = fr.it
                        sm = c.meta if c.hv == it.heap.version else it.heap.refresh(c)
                        m = mm(mm(a.m, b.m), sm)
                        if m is not NEUTRAL and it.try_depth:
                            it.raise_pc(m)
                        return Value((a in c.items) != negate, m)
                    return compare(fr.it, op, a, b)

                return member
            return lambda fr: compare(fr.it, op, first(fr), r0(fr))

        def ev(fr: Frame) -> Value:
            it = fr.it
            a = first(fr)
            m = NEUTRAL
            for op, f in zip(ops, rest):
                b = f(fr)
                res = compare(it, op, a, b)
                m = mm(m, res.m)
                if not res.v:
                    return Value(False, m)
                a = b
            return Value(True, m)

        return ev

    def e_IfExp(self, node: ast.IfExp) -> Expr:
        test = self.expr(node.test)
        body = self.expr(node.body)
        orelse = self.expr(node.orelse)
        region = self.region([node.body, node.orelse])
        line, col = node.lineno, node.col_offset

        def ev(fr: Frame) -> Value:
            it = fr.it
            ok, cm = truth(it, test(fr))
            pc = it.pc
            it.check_branch(mm(pc, cm), line, col)
            if cm is NEUTRAL:
                return body(fr) if ok else orelse(fr)
            c = it.proj(cm)
            if c is NEUTRAL or covers(pc, c):
                v = body(fr) if ok else orelse(fr)
            else:
                serial = it.serial_mark()
                it.pc = mm(pc, c)
                try:
                    v = body(fr) if ok else orelse(fr)
                finally:
                    join(it, fr, region, pc, serial)
            return retag(v, cm)  # the condition selected the value

        return ev

    def e_Attribute(self, node: ast.Attribute) -> Expr:
        obj = self.expr(node.value)
        name = node.attr

        def ev(fr: Frame) -> Value:
            it = fr.it
            o = obj(fr)
            try:
                r = get_attr(it, o, name)
            except ProgRaise as e:
                e.exc.meta = mm(e.exc.meta, it.pc)
                raise
            if it.try_depth:
                it.raise_pc(shallow(it, o))
            return r

        return ev

    def e_Subscript(self, node: ast.Subscript) -> Expr:
        obj = self.expr(node.value)
        key = self.expr(node.slice)

        def ev(fr: Frame) -> Value:
            c = obj(fr)
            k = key(fr)
            d = c.v
            if type(d) is DictObj and type(k.v) in SCALAR_TYPES:
                # GETITEM's rule, inlined: element + container shallow + key.
                e = d.items.get(k)
                if e is not None:
                    it = fr.it
                    m = c.m
                    sm = d.meta if d.hv == it.heap.version else it.heap.refresh(d)
                    if sm is not m and sm is not NEUTRAL:
                        m = mm(m, sm)
                    km = k.m
                    if km is not m and km is not NEUTRAL:
                        m = mm(m, km)
                    if m is NEUTRAL:
                        return e
                    if it.try_depth:
                        it.raise_pc(m)
                    em = e.m
                    if em is m:
                        return e
                    nm = mm(em, m)
                    return e if nm is em else Value(e.v, nm)
            return getitem(fr.it, c, k)

        return ev

    def e_Slice(self, node: ast.Slice) -> Expr:
        parts = [self.expr(p) if p is not None else None for p in (node.lower, node.upper, node.step)]
        return lambda fr: slice_value([p(fr) if p is not None else NONE for p in parts])

    def _elts(self, elts: list[ast.expr]) -> Callable[[Frame], list[Value]]:
        fns = [(isinstance(e, ast.Starred), self.expr(e.value if isinstance(e, ast.Starred) else e)) for e in elts]
        simple = not any(s for s, _ in fns)
        plain = tuple(f for _, f in fns)

        def build(fr: Frame) -> list[Value]:
            if simple:
                out = [f(fr) for f in plain]
                fr.it.budget.coll_len(len(out), len(out))
                return out
            out = []
            for star, f in fns:
                if star:
                    out.extend(elements(fr.it, f(fr)))
                else:
                    out.append(f(fr))
            fr.it.budget.coll_len(len(out), len(out))
            return out

        return build

    def e_List(self, node: ast.List) -> Expr:
        build = self._elts(node.elts)
        return lambda fr: Value(ListObj(build(fr)))

    def e_Tuple(self, node: ast.Tuple) -> Expr:
        build = self._elts(node.elts)
        return lambda fr: Value(tuple(build(fr)))

    def e_Set(self, node: ast.Set) -> Expr:
        build = self._elts(node.elts)

        def ev(fr: Frame) -> Value:
            items = build(fr)
            try:
                return Value(SetObj(items))
            except TypeError:
                raise perr("TypeError", "unhashable type in set display", fr.it.pc) from None

        return ev

    def e_Dict(self, node: ast.Dict) -> Expr:
        pairs = [(self.expr(k) if k is not None else None, self.expr(v)) for k, v in zip(node.keys, node.values)]

        def ev(fr: Frame) -> Value:
            it = fr.it
            out = DictObj()
            for k, v in pairs:
                if k is None:
                    src = v(fr)
                    if type(src.v) is not DictObj:
                        raise perr("TypeError", "'**' argument must be a mapping", mm(src.m, it.pc))
                    base = shallow(it, src)
                    for kk, vv in src.v.items.items():
                        out.put(retag(kk, base), retag(vv, base))
                else:
                    kv = k(fr)
                    try:
                        out.put(kv, v(fr))
                    except TypeError:
                        raise perr("TypeError", f"unhashable type: '{type_name(kv.v)}'", mm(kv.m, it.pc)) from None
            it.budget.coll_len(len(out.items), len(out.items))
            return Value(out)

        return ev

    def e_JoinedStr(self, node: ast.JoinedStr) -> Expr:
        pieces: list[tuple[bool, Any, int, Expr | None]] = []
        for p in node.values:
            if isinstance(p, ast.Constant):
                pieces.append((True, p.value, -1, None))
            elif isinstance(p, ast.FormattedValue):
                spec: Any = None
                fs = p.format_spec
                if fs is not None:
                    if isinstance(fs, ast.JoinedStr) and all(isinstance(q, ast.Constant) for q in fs.values):
                        spec = "".join(str(q.value) for q in fs.values if isinstance(q, ast.Constant))
                    else:
                        spec = self.expr(fs)
                pieces.append((False, self.expr(p.value), p.conversion, spec))
            else:
                raise UnsupportedFeature("unsupported f-string part")
        pieces_t = tuple(pieces)

        def ev(fr: Frame) -> Value:
            it = fr.it
            b = it.budget
            limit = b.lim.max_str_len
            out = []
            m = NEUTRAL
            total = 0
            for const, x, conv, spec in pieces_t:
                if const:
                    s = x
                else:
                    val = x(fr)
                    if conv != -1:
                        val = convert_field(it, val, conv)
                    t = type(val.v)
                    if spec is None and t is str:
                        s = val.v
                        m = mm(m, val.m)
                    elif spec is None and t in SCALAR_TYPES:
                        s = str(val.v)
                        m = mm(m, val.m)
                    else:
                        if spec is None:
                            s = render(it, val, False)
                        elif isinstance(spec, str):
                            s = safe_format(it, val, spec)  # a constant spec: no closure
                        else:
                            sv = spec(fr)
                            s = safe_format(it, val, sv.v)
                            m = mm(m, sv.m)
                        m = mm(m, val.m if t in SCALAR_TYPES else deep(it, val))
                total += len(s)
                if total > limit:
                    b.str_len(total)
                out.append(s)
            r = "".join(out)
            b.str_len(len(r), r.isascii())
            return Value(r, m)

        return ev

    def e_FormattedValue(self, node: ast.FormattedValue) -> Expr:  # only reached for nested specs
        return self.e_JoinedStr(ast.JoinedStr(values=[node]))

    def e_Lambda(self, node: ast.Lambda) -> Expr:
        make = self.function("<lambda>", node.args, node.body, is_lambda=True)
        return make

    def e_NamedExpr(self, node: ast.NamedExpr) -> Expr:
        ev = self.expr(node.value)
        store = self.target(node.target)

        def f(fr: Frame) -> Value:
            v = ev(fr)
            store(fr, v)
            return v

        return f

    def e_Starred(self, node: ast.Starred) -> Expr:
        raise UnsupportedFeature("starred expression is not allowed here", line=node.lineno, col=node.col_offset)

    # -- calls ------------------------------------------------------------------------------------
    def e_Call(self, node: ast.Call) -> Expr:
        line, col = node.lineno, node.col_offset
        args = [(isinstance(a, ast.Starred), self.expr(a.value if isinstance(a, ast.Starred) else a)) for a in node.args]
        kws = [(k.arg, self.expr(k.value)) for k in node.keywords]
        simple = not any(s for s, _ in args) and all(k is not None for k, _ in kws)
        plain_args = tuple(f for _, f in args)
        plain_kws = tuple(kws)

        def build(fr: Frame) -> tuple[list[Value], dict[str, Value], Any]:
            """Positional and keyword arguments, and the metadata of keyword *names* taken from
            data (``**d``): which parameter gets which value is then decided by data, so the
            call is treated like a call of a data-chosen callee."""
            if simple:
                return [f(fr) for f in plain_args], {k: f(fr) for k, f in plain_kws}, NEUTRAL  # type: ignore[misc]
            it = fr.it
            names = NEUTRAL
            pos: list[Value] = []
            for star, f in args:
                if star:
                    pos.extend(elements(it, f(fr)))
                else:
                    pos.append(f(fr))
            kw: dict[str, Value] = {}
            for k, f in kws:
                if k is None:
                    src = f(fr)
                    if type(src.v) is not DictObj:
                        raise perr("TypeError", "argument after ** must be a mapping", mm(src.m, it.pc))
                    base = shallow(it, src)
                    for kk, vv in src.v.items.items():
                        # The keyword's name came from data: the argument carries it.
                        km = mm(mm(kk.m, base), it.pc)
                        if type(kk.v) is not str:
                            raise perr("TypeError", "keywords must be strings", km)
                        if kk.v.startswith("__"):
                            raise SecurityViolation(f"keyword '{kk.v}' is not allowed", static=False)
                        if kk.v in kw:
                            raise perr("TypeError", f"got multiple values for keyword argument '{kk.v}'", km)
                        kw[kk.v] = retag(vv, km)
                        names = mm(names, km)
                else:
                    if k in kw:
                        raise perr("TypeError", f"got multiple values for keyword argument '{k}'", it.pc)
                    kw[k] = f(fr)
            return pos, kw, names

        if isinstance(node.func, ast.Attribute):
            obj = self.expr(node.func.value)
            name = node.func.attr
            if name.startswith("_"):
                raise SecurityViolation(f"access to attribute '{name}' is not allowed", line=line, col=col)
            hot = {"append": LIST_METHODS["append"], "get": DICT_METHODS["get"], "add": SET_METHODS["add"]}.get(name)
            hot_type = _HOT_TYPES.get(name)
            is_append = name == "append"

            def call_method(fr: Frame) -> Value:
                it = fr.it
                o = obj(fr)
                a, k, names = build(fr)
                try:
                    pv = o.v
                    if names is not NEUTRAL:
                        e = method_entry(pv, name)
                        fv = Value(BoundMethod(o, e), o.m) if e is not None else get_attr(it, o, name)
                        return it.call(retag(fv, names), a, k)
                    if is_append and type(pv) is ListObj and len(a) == 1 and not k:
                        return append_fast(it, o, a[0])
                    e = hot if hot is not None and type(pv) is hot_type else method_entry(pv, name)
                    if e is not None:
                        return invoke(it, e, o, a, k)
                    return it.call(get_attr(it, o, name), a, k)
                except (InterpreterError, ProgRaise, Exception) as ex:
                    raise _located(ex, it, line, col) from None

            return call_method
        func = self.expr(node.func)

        def call(fr: Frame) -> Value:
            it = fr.it
            f = func(fr)
            a, k, names = build(fr)
            try:
                return it.call(f if names is NEUTRAL else retag(f, names), a, k)
            except (InterpreterError, ProgRaise, Exception) as ex:
                raise _located(ex, it, line, col) from None

        return call

    # -- comprehensions ---------------------------------------------------------------------------
    def _comprehension(self, node: Any, kind: str) -> Expr:
        from .program import iterate

        gens = []
        for g in node.generators:
            if g.is_async:
                raise UnsupportedFeature("async comprehensions are not supported")
            gens.append((self.expr(g.iter), self.target(g.target), [self.expr(c) for c in g.ifs]))
        if kind == "dict":
            kf = self.expr(node.key)
            vf = self.expr(node.value)
            parts = [node.key, node.value]
        else:
            ef = self.expr(node.elt)
            parts = [node.elt]
        region = self.region(parts + [c for g in node.generators for c in g.ifs] + [g.iter for g in node.generators])
        line, col = node.lineno, node.col_offset
        ngen = len(gens)

        def ev(fr: Frame) -> Value:
            it = fr.it
            b = it.budget
            child = Frame({}, fr, it, fr.glob)
            out_list: list[Value] = []
            out_dict = DictObj()
            saved = it.pc
            serial = it.serial_mark()
            maxc = b.lim.max_collection_len
            # Which elements the result holds: the iterables' structure and the filters (explicit).
            selection = [NEUTRAL]
            count = [0]

            def branch(m: Any) -> None:
                selection[0] = mm(selection[0], m)
                it.check_branch(mm(it.pc, m), line, col)
                c = it.proj(m)
                if c is not NEUTRAL and not covers(it.pc, c):
                    it.pc = mm(it.pc, c)

            def loop(i: int) -> None:
                src, tgt, ifs = gens[i]
                sv = src(child if i else fr)
                s = shallow(it, sv)
                branch(s)
                n = 0
                for x in iterate(it, sv, s):
                    n += 1
                    b.iteration(n)
                    tgt(child, x)
                    ok = True
                    for cond in ifs:
                        okc, cm = truth(it, cond(child))
                        if cm is not NEUTRAL:
                            branch(cm)
                        if not okc:
                            ok = False
                            break
                    if not ok:
                        continue
                    if i + 1 < ngen:
                        loop(i + 1)
                        continue
                    count[0] += 1
                    if count[0] > maxc:
                        b.coll_len(count[0])
                    b.alloc(160)
                    if kind == "dict":
                        k = kf(child)
                        try:
                            out_dict.put(k, vf(child))
                        except TypeError:
                            raise perr("TypeError", f"unhashable type: '{type_name(k.v)}'", mm(k.m, it.pc)) from None
                    else:
                        out_list.append(ef(child))

            try:
                loop(0)
            finally:
                if it.pc is not saved:
                    join(it, fr, region, saved, serial)
            sel = selection[0]
            if kind == "dict":
                out_dict.meta = mm(out_dict.meta, sel)
                return Value(out_dict)
            if kind == "set":
                try:
                    return Value(SetObj(out_list, sel))
                except TypeError:
                    raise perr("TypeError", "unhashable type in set comprehension", it.pc) from None
            return Value(ListObj(out_list, sel))

        return ev

    def e_ListComp(self, node: ast.ListComp) -> Expr:
        return self._comprehension(node, "list")

    def e_GeneratorExp(self, node: ast.GeneratorExp) -> Expr:
        return self._comprehension(node, "list")

    def e_SetComp(self, node: ast.SetComp) -> Expr:
        return self._comprehension(node, "set")

    def e_DictComp(self, node: ast.DictComp) -> Expr:
        return self._comprehension(node, "dict")


_HOT_TYPES = {"append": ListObj, "get": DictObj, "add": SetObj}

_INPLACE = {"+": "extend", "|": "update"}


def inplace(it: Any, op: str, a: Value, b: Value) -> Value:
    """``a op= b``: lists, dicts and sets change in place (every alias sees it), as in Python."""
    t = type(a.v)
    if op == "+" and (t is int or t is float) and type(b.v) is t:
        r = a.v + b.v  # ARITH["+"]'s rule for scalars, inlined: the merge of both
        if t is float or -_SMALL < r < _SMALL:
            return Value(r, mm(a.m, b.m))
    if op == "+" and t is ListObj:
        invoke(it, LIST_METHODS["extend"], a, [b], {})
        return a
    if op == "|" and t is DictObj and type(b.v) is DictObj:
        invoke(it, DICT_METHODS["update"], a, [b], {})
        return a
    if t is SetObj and type(b.v) is SetObj and op in ("|", "&", "-", "^"):
        name = {"|": "update", "&": "intersection_update", "-": "difference_update",
                "^": "symmetric_difference_update"}[op]
        invoke(it, SET_METHODS[name], a, [b], {})
        return a
    return binop(it, op, a, b)
