"""Class definitions: ``class X(BaseModel)`` models and ``class E(Exception)`` exceptions.

A model class's metadata is everything its body evaluated — field defaults, ``Field`` arguments,
``Literal[...]`` values, annotations — and the control context it was defined under: its schema
and its instances reveal them.
"""

from __future__ import annotations

import ast
from typing import Any, Callable

from airlock.meta import NEUTRAL, Meta

from ..errors import SecurityViolation, UnsupportedFeature
from ..flow import deep, mm
from ..stdlib.models import BASE_MODEL, FieldInfo, ModelClass, spec_from_value, spec_subscript
from ..stdlib.objects import ExcType, TypingMarker
from ..values import Value
from .frame import Frame


class ClassCompiler:
    def expr(self, node: ast.expr) -> Callable[[Frame], Value]:
        raise NotImplementedError

    def target(self, t: ast.expr) -> Callable[[Frame, Value], None]:
        raise NotImplementedError

    def s_ClassDef(self, node: ast.ClassDef) -> Callable[[Frame], None]:
        line, col = node.lineno, node.col_offset
        if node.decorator_list or node.keywords or len(node.bases) != 1:
            raise UnsupportedFeature("only 'class X(BaseModel)' and 'class X(Exception)' classes are supported",
                                     line=line, col=col)
        base = self.expr(node.bases[0])
        name = node.name
        doc = ast.get_docstring(node)
        fields: list[tuple[str, ast.expr, Callable[[Frame], Value] | None]] = []
        for s in node.body:
            if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name):
                if s.target.id.startswith("model_"):
                    raise SecurityViolation(f"field name '{s.target.id}' is reserved", line=s.lineno, col=s.col_offset)
                fields.append((s.target.id, s.annotation, self.expr(s.value) if s.value is not None else None))
            elif isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)):
                continue
            elif isinstance(s, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "model_config" for t in s.targets):
                raise SecurityViolation("model_config is not allowed", line=s.lineno, col=s.col_offset)
            else:
                raise UnsupportedFeature("model classes may only contain annotated fields", line=s.lineno,
                                         col=s.col_offset)
        store = self.target(ast.Name(id=name, ctx=ast.Store()))

        def st(fr: Frame) -> None:
            bv = base(fr)
            b = bv.v
            if isinstance(b, ExcType):
                if fields:
                    raise UnsupportedFeature("exception classes may not declare fields", line=line, col=col)
                store(fr, Value(ExcType(name, b), bv.m))
                return
            if b is BASE_MODEL or isinstance(b, ModelClass):
                it = fr.it
                meta = mm(bv.m, it.pc)
                fl = []
                for fname, annot, dflt in fields:
                    spec, am = self.annotation(fr, annot)
                    meta = mm(meta, am)
                    info = FieldInfo()
                    if dflt is not None:
                        dv = dflt(fr)
                        if isinstance(dv.v, FieldInfo):
                            info = dv.v
                            meta = mm(mm(meta, info.meta), dv.m)
                        else:
                            info = FieldInfo(default=dv)
                            meta = mm(meta, deep(it, dv))
                    fl.append((fname, spec, info))
                store(fr, Value(ModelClass(name, fl, doc, b if isinstance(b, ModelClass) else None, meta)))
                return
            raise UnsupportedFeature("classes must derive from BaseModel or an exception", line=line, col=col)

        return st

    def annotation(self, fr: Frame, node: ast.expr) -> tuple[Any, Meta]:
        """The type spec an annotation denotes, and the metadata of what it evaluated."""
        if isinstance(node, ast.Constant):
            if node.value is None:
                return ("none",), NEUTRAL
            if isinstance(node.value, str):
                try:
                    return self.annotation(fr, ast.parse(node.value, mode="eval").body)
                except SyntaxError:
                    return ("any",), NEUTRAL
            return ("any",), NEUTRAL
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            (a, am), (b, bm) = self.annotation(fr, node.left), self.annotation(fr, node.right)
            return ("union", [a, b]), mm(am, bm)
        if isinstance(node, ast.Subscript):
            bv = self.expr(node.value)(fr)
            base = bv.v
            m = bv.m
            sl = node.slice
            elts = sl.elts if isinstance(sl, ast.Tuple) else [sl]
            if isinstance(base, TypingMarker) and base.name == "Literal":
                raw = []
                for e in elts:
                    ev = self.expr(e)(fr)
                    m = mm(m, ev.m)
                    raw.append(ev.v)
                return spec_subscript(base, [], raw), m
            params = []
            for e in elts:
                p, pm = self.annotation(fr, e)
                params.append(p)
                m = mm(m, pm)
            return spec_subscript(base, params, []), m
        v = self.expr(node)(fr)
        return spec_from_value(v.v), v.m
