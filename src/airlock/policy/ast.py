"""Typed syntax tree for SQRT.

The parser produces these frozen dataclasses; the compiler consumes them. Keeping the tree
independent of lark means the compiler, the tests and any future formatter never see parse
trees, and every node carries a ``Span`` so errors found after parsing (unknown names, type
mismatches, regexes RE2 rejects) still point at the exact line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

Phase = Literal["result", "before", "after"]
Level = Literal["hard", "soft"]
Effect = Literal["allow", "deny"]
Scope = Literal["arg", "result", "session", "context", "args"]
Agg = Literal["union", "intersect"]
DomainKind = Literal["bool", "int", "float", "str", "datetime"]
StrMode = Literal["exact", "regex", "like"]


@dataclass(frozen=True, slots=True)
class Span:
    line: int
    column: int
    end_line: int
    end_column: int
    start: int  # character offsets into the source, for quoting the rule text
    end: int


NOSPAN = Span(0, 0, 0, 0, 0, 0)


# ---- expressions -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StrLit:
    value: str
    span: Span = NOSPAN


@dataclass(frozen=True, slots=True)
class RegexLit:
    pattern: str
    span: Span = NOSPAN


@dataclass(frozen=True, slots=True)
class WildLit:
    pattern: str
    span: Span = NOSPAN


@dataclass(frozen=True, slots=True)
class DateTimeLit:
    text: str
    span: Span = NOSPAN


@dataclass(frozen=True, slots=True)
class NumLit:
    value: float | int
    span: Span = NOSPAN


@dataclass(frozen=True, slots=True)
class BoolLit:
    value: bool
    span: Span = NOSPAN


@dataclass(frozen=True, slots=True)
class Range:
    """``lo op hi`` with either bound optional; ``lo_open``/``hi_open`` mark exclusive ends."""

    lo: float | int | None
    hi: float | int | None
    lo_open: bool = False
    hi_open: bool = False


@dataclass(frozen=True, slots=True)
class Domain:
    """A type domain: ``bool true``, ``int 1..10``, ``float ..<1.0``, ``str like w"*.txt" length
    1..20``, ``datetime d"2024-01-01T00:00:00Z"..``. ``kind`` selects which fields apply."""

    kind: DomainKind
    span: Span = NOSPAN
    boolean: bool | None = None
    range: Range | None = None  # int/float values; datetime bounds as epoch seconds
    str_mode: StrMode | None = None
    str_text: str | None = None
    length: Range | None = None


@dataclass(frozen=True, slots=True)
class SetLit:
    elements: tuple["Expr", ...]
    span: Span = NOSPAN


@dataclass(frozen=True, slots=True)
class Name:
    """A bare identifier: a ``let`` reference (resolved by the compiler)."""

    name: str
    span: Span = NOSPAN


@dataclass(frozen=True, slots=True)
class Access:
    """``arg.field``, ``@result.field``, ``@session.field``, ``@field``, ``@args.field[.agg]``.

    ``scope`` is ``"arg"`` (then ``arg`` holds the argument name), ``"result"``, ``"session"``,
    ``"context"`` (bare ``@field``) or ``"args"``; ``field`` is ``tags``/``producers``/
    ``consumers``/``value``; ``agg`` is ``union``/``intersect`` for ``args``.
    """

    scope: Scope
    field: str
    span: Span = NOSPAN
    arg: str | None = None
    agg: Agg = "union"

    def label(self) -> str:
        if self.scope == "arg":
            return f"{self.arg}.{self.field}"
        if self.scope == "context":
            return f"@{self.field}"
        if self.scope == "args":
            return f"@args.{self.field}.{self.agg}"
        return f"@{self.scope}.{self.field}"


@dataclass(frozen=True, slots=True)
class BinOp:
    """Set algebra: ``union``, ``intersect``, ``minus``, ``xor``, ``with``, ``without``."""

    op: str
    left: "Expr"
    right: "Expr"
    span: Span = NOSPAN


@dataclass(frozen=True, slots=True)
class Compare:
    """``in``, ``==``, ``!=``, ``overlaps``, ``subset``, ``superset``, ``is_empty``,
    ``is_universal``, ``matching``, ``like`` (the last two are Airlock extensions on values)."""

    op: str
    left: "Expr"
    right: "Expr | None"
    span: Span = NOSPAN


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: Literal["and", "or"]
    left: "Expr"
    right: "Expr"
    span: Span = NOSPAN


@dataclass(frozen=True, slots=True)
class Not:
    operand: "Expr"
    span: Span = NOSPAN


Expr = Union[StrLit, RegexLit, WildLit, DateTimeLit, NumLit, BoolLit, Domain, SetLit, Name, Access, BinOp, Compare, BoolOp, Not]


# ---- statements --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Update:
    """``target op expr`` where op is ``=``, ``|=``, ``&=``, ``-=`` or ``^=``."""

    target: Access
    op: str
    expr: Expr
    span: Span = NOSPAN
    doc: str | None = None


@dataclass(frozen=True, slots=True)
class CondBlock:
    cond: Expr
    updates: tuple[Update, ...]
    span: Span = NOSPAN
    doc: str | None = None


Stmt = Union[Update, CondBlock]


@dataclass(frozen=True, slots=True)
class Block:
    """``result { }``, ``session before { }`` or ``session after { }``."""

    phase: Phase
    stmts: tuple[Stmt, ...]
    span: Span = NOSPAN
    doc: str | None = None


@dataclass(frozen=True, slots=True)
class Check:
    level: Level
    effect: Effect
    cond: Expr | None  # None means ``always``
    span: Span = NOSPAN
    doc: str | None = None


@dataclass(frozen=True, slots=True)
class Tool:
    """A tool declaration (block or shorthand form: a shorthand is a Tool with one Block)."""

    pattern: str
    is_regex: bool
    priority: int
    checks: tuple[Check, ...]
    blocks: tuple[Block, ...]
    span: Span = NOSPAN
    doc: str | None = None
    id_span: Span = NOSPAN


@dataclass(frozen=True, slots=True)
class Let:
    name: str
    expr: Expr
    span: Span = NOSPAN
    doc: str | None = None


@dataclass(frozen=True, slots=True)
class Program:
    lets: tuple[Let, ...] = ()
    tools: tuple[Tool, ...] = ()
    source: str = field(default="", repr=False)
