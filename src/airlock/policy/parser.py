"""SQRT text → ``ast.Program``.

lark (LALR, contextual lexer) builds a parse tree from ``sqrt.lark``; the functions below turn
it into the typed tree of ``ast.py``. Syntax errors become ``PolicyError`` with line, column,
the offending line, a caret and the tokens the parser would have accepted, rendered the way a
person writes them (``';'``, ``a name``) rather than lark's terminal names. Nothing else ever
escapes ``parse``: the fuzz test in tests/policy holds us to that.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, cast

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from . import ast as A
from .errors import ErrorItem, PolicyError, error_at, source_line
from .matchers import parse_datetime, unescape

_GRAMMAR = Path(__file__).with_name("sqrt.lark")
# lark trees are untyped at the leaves: children are tokens or subtrees, decided by the grammar.
Node = Tree[Any]

# How a terminal reads in an error message; keyword terminals print as their own text.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "ATNAME": "@result/@session/@args/@tags...",
    "STRING": 'a string "..."',
    "REGEX": 'a regex r"..."',
    "WILDCARD": 'a wildcard w"..."',
    "DATETIME": 'a datetime d"..."',
    "INT": "an integer",
    "FLOAT": "a number",
    "INF": "inf",
    "$END": "end of input",
}


@lru_cache(maxsize=1)
def _lark() -> Lark:
    lark = Lark(
        _GRAMMAR.read_text(),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
    )
    # The contextual lexer builds one scanner per parser state the first time a text reaches that
    # state (255 states, 12 ms in all): a policy using a construct the warm-up did not would pay
    # for it mid-request. Build them all with the parser, which start-up builds.
    for lexer in (getattr(getattr(lark.parser, "lexer", None), "lexers", None) or {}).values():
        _ = lexer.scanner
    return lark


_OPERATORS = {"'!='", "'&'", "'-'", "'=='", "'^'", "'and'", "'in'", "'intersect'", "'is'", "'like'",
              "'matching'", "'minus'", "'or'", "'overlaps'", "'subset'", "'superset'", "'union'", "'with'",
              "'without'", "'xor'", "'|'"}


def _describe_expected(parser: Lark, names: set[str] | frozenset[str]) -> list[str]:
    words = _expected_words(parser, names)
    ops = words & _OPERATORS
    if len(ops) > 4:  # a wall of operators hides the useful alternatives (';', '}')
        words = (words - ops) | {"an operator (and, or, in, ==, overlaps, |, &, ...)"}
    return sorted(words)


def _expected_words(parser: Lark, names: set[str] | frozenset[str]) -> set[str]:
    words = set()
    for name in names:
        if name in _TERMINAL_WORDS:
            words.add(_TERMINAL_WORDS[name])
            continue
        try:
            term = parser.get_terminal(name)
        except KeyError:
            words.add(name.lower())
            continue
        if term.pattern.type == "str":
            words.add(f"'{term.pattern.value}'")
        else:
            words.add(name.lower())
    return words


def parse(source: str) -> A.Program:
    """Parse SQRT; raise ``PolicyError`` (and nothing else) on any problem."""
    parser = _lark()
    try:
        tree = parser.parse(source)
    except UnexpectedInput as exc:
        raise PolicyError([_syntax_error(parser, source, exc)]) from None
    except LarkError as exc:  # pragma: no cover - lark internal errors
        raise PolicyError(f"cannot parse policy: {exc}") from None
    except RecursionError:
        raise PolicyError("policy is nested too deeply to parse") from None
    builder = _Builder(source)
    try:
        program = builder.program(tree)
    except RecursionError:
        raise PolicyError("policy expression is nested too deeply") from None
    if builder.errors:
        raise PolicyError(builder.errors)
    return program


def _syntax_error(parser: Lark, source: str, exc: UnexpectedInput) -> ErrorItem:
    line: int | None = getattr(exc, "line", None)
    column: int | None = getattr(exc, "column", None)
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        if tok.type == "$END":
            message = "unexpected end of input"
            # point just past the last character so the caret lands where input stopped
            lines = source.splitlines() or [""]
            line, column = len(lines), len(lines[-1]) + 1
        else:
            message = f"unexpected {_token_text(tok)}"
        expected = _describe_expected(parser, exc.accepts or exc.expected)
        if "';'" in expected:
            # The usual cause: a statement above lacks its ';'. Point at where it should go.
            before = source[: tok.start_pos if tok.type != "$END" else len(source)].rstrip()
            if before and (tok.type == "$END" or "\n" in source[len(before) : tok.start_pos]):
                line = before.count("\n") + 1
                column = len(before) - (before.rfind("\n") + 1) + 1
                message = f"missing ';' here ({message.replace('unexpected ', 'found ')} next)"
    elif isinstance(exc, UnexpectedCharacters):
        pos: int = exc.pos_in_stream or 0
        ch = source[pos] if pos < len(source) else ""
        message = f"unexpected character {ch!r}"
        if ch == '"' or source[pos - 1 : pos + 1].endswith('"'):
            message += " (unterminated string?)"
        expected = _describe_expected(parser, exc.allowed or set())
    elif isinstance(exc, UnexpectedEOF):
        lines = source.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
        message = "unexpected end of input"
        expected = _describe_expected(parser, set(exc.expected))
    else:  # pragma: no cover
        message, expected = str(exc), []
    if line is not None and line < 1:
        line, column = 1, 1
    return ErrorItem(f"syntax error: {message}", line, column, source_line(source, line), expected)


def _token_text(tok: Token) -> str:
    if tok.type in ("NAME",):
        return f"name '{tok}'"
    text = str(tok)
    return f"'{text}'" if len(text) <= 40 else f"'{text[:37]}...'"


def _span(node: "Node | Token") -> A.Span:
    if isinstance(node, Token):
        return A.Span(node.line or 0, node.column or 0, node.end_line or 0, node.end_column or 0,
                      node.start_pos or 0, node.end_pos or 0)
    m = node.meta
    if getattr(m, "empty", True):
        return A.NOSPAN
    return A.Span(m.line, m.column, m.end_line, m.end_column, m.start_pos, m.end_pos)


def _quoted(tok: Token, prefix_len: int, regex: bool) -> str:
    return unescape(str(tok)[prefix_len + 1 : -1], keep_unknown=regex)


class _Builder:
    """Walks the lark tree once, producing ``ast`` nodes; collects (rather than raises) the few
    errors that are only visible here (bad numbers, unparsable datetimes)."""

    def __init__(self, source: str):
        self.source = source
        self.errors: list[ErrorItem] = []
        self.doc_lines: dict[int, str] = {}
        for i, text in enumerate(source.splitlines(), 1):
            stripped = text.lstrip()
            if stripped.startswith("///"):
                self.doc_lines[i] = stripped[3:].strip()

    def doc_for(self, span: A.Span) -> str | None:
        lines = []
        ln = span.line - 1
        while ln in self.doc_lines:
            lines.append(self.doc_lines[ln])
            ln -= 1
        return "\n".join(reversed(lines)) if lines else None

    def err(self, node: Any, message: str) -> None:
        self.errors.append(error_at(self.source, _span(node), message))

    # ---- declarations ---------------------------------------------------------------------
    def program(self, tree: Node) -> A.Program:
        lets, tools = [], []
        for child in tree.children:
            if child.data == "let_decl":
                name, expr = child.children
                sp = _span(child)
                lets.append(A.Let(str(name), self.expr(expr), sp, self.doc_for(sp)))
            elif child.data == "tool_decl":
                tools.append(self.tool_decl(child))
            else:
                tools.append(self.tool_short(child))
        return A.Program(tuple(lets), tuple(tools), self.source)

    def tool_id(self, node: Node) -> tuple[str, bool]:
        tok: Any = node.children[0]
        if tok.type == "REGEX":
            return _quoted(tok, 1, True), True
        return _quoted(tok, 0, False), False

    def tool_decl(self, tree: Node) -> A.Tool:
        pattern, is_regex = self.tool_id(tree.children[0])
        priority, checks, blocks = 0, [], []
        m: Any
        for m in tree.children[1:]:
            sp = _span(m)
            doc = self.doc_for(sp)
            if m.data == "priority":
                priority = int(m.children[0])
            elif m.data == "check":
                level_t, effect_t, cond_t = m.children
                level: A.Level = "hard" if str(level_t.children[0]) in ("must", "hard") else "soft"
                cond = None if not cond_t.children else self.expr(cond_t.children[0])
                checks.append(A.Check(level, cast(A.Effect, str(effect_t.children[0])), cond, sp, doc))
            elif m.data == "result_block":
                blocks.append(A.Block("result", self.stmts(m.children), sp, doc))
            elif m.data == "session_block":
                phase = cast(A.Phase, str(m.children[0].children[0]))
                blocks.append(A.Block(phase, self.stmts(m.children[1:]), sp, doc))
            elif m.data == "member_short":
                cond = self.expr(m.children[0])
                phase, rest = self.target(m.children[1:])
                upd = self.update(rest[0])
                blocks.append(A.Block(phase, (A.CondBlock(cond, (upd,), sp, doc),), sp, doc))
        sp = _span(tree)
        return A.Tool(pattern, is_regex, priority, tuple(checks), tuple(blocks), sp, self.doc_for(sp),
                      _span(tree.children[0]))

    def target(self, children: list[Any]) -> tuple[A.Phase, list[Any]]:
        if children and isinstance(children[0], Tree) and children[0].data == "target_spec":
            words = [str(t) for t in children[0].children]
            phase = "result" if words[0] == "result" else (words[1] if len(words) > 1 else "after")
            return cast(A.Phase, phase), children[1:]
        return "result", children

    def tool_short(self, tree: Node) -> A.Tool:
        pattern, is_regex = self.tool_id(tree.children[0])
        rest: list[Any] = tree.children[1:]
        priority = 0
        if rest and isinstance(rest[0], Tree) and rest[0].data == "short_prio":
            priority = int(cast(Any, rest[0].children[0]))
            rest = rest[1:]
        phase, rest = self.target(rest)
        sp = _span(tree)
        doc = self.doc_for(sp)
        upd = self.update(rest[0])
        stmt: A.Stmt = upd
        if len(rest) > 1:
            stmt = A.CondBlock(self.expr(rest[1].children[0]), (upd,), sp, doc)
        block = A.Block(phase, (stmt,), sp, doc)
        return A.Tool(pattern, is_regex, priority, (), (block,), sp, doc, _span(tree.children[0]))

    def stmts(self, children: list[Any]) -> tuple[A.Stmt, ...]:
        out: list[A.Stmt] = []
        for c in children:
            if c.data == "update":
                out.append(self.update(c))
            else:
                sp = _span(c)
                out.append(A.CondBlock(self.expr(c.children[0]), tuple(self.update(u) for u in c.children[1:]),
                                       sp, self.doc_for(sp)))
        return tuple(out)

    def update(self, tree: Node) -> A.Update:
        target, op, expr = tree.children
        sp = _span(tree)
        tgt = self.expr(target)
        if not isinstance(tgt, A.Access):  # a bare name cannot be assigned to
            self.err(target, f"cannot assign to '{self.source[sp.start:_span(target).end]}': "
                             "expected @tags, @result.tags, @session.tags or similar")
            tgt = A.Access("context", "tags", _span(target))
        return A.Update(tgt, str(op.children[0]), self.expr(expr), sp, self.doc_for(sp))

    # ---- expressions ----------------------------------------------------------------------
    def expr(self, node: "Node | Token") -> A.Expr:
        sp = _span(node)
        if isinstance(node, Token):  # pragma: no cover - every token is wrapped by a rule
            return A.StrLit(str(node), sp)
        kind = node.data
        ch: list[Any] = node.children
        if kind == "or_" or kind == "and_":
            return A.BoolOp(cast("Literal['and', 'or']", kind[:-1]), self.expr(ch[0]), self.expr(ch[1]), sp)
        if kind == "not_":
            return A.Not(self.expr(ch[0]), sp)
        if kind in ("in_", "eq", "ne", "overlaps", "subset", "superset"):
            op = {"in_": "in", "eq": "==", "ne": "!="}.get(kind, kind)
            return A.Compare(op, self.expr(ch[0]), self.expr(ch[1]), sp)
        if kind in ("is_empty", "is_universal"):
            return A.Compare(kind, self.expr(ch[0]), None, sp)
        if kind == "matching":
            return A.Compare("matching", self.expr(ch[0]), A.RegexLit(_quoted(ch[1], 1, True), _span(ch[1])), sp)
        if kind == "like":
            return A.Compare("like", self.expr(ch[0]), A.WildLit(_quoted(ch[1], 1, True), _span(ch[1])), sp)
        if kind in ("xor", "minus", "intersect", "union"):
            return A.BinOp(kind, self.expr(ch[0]), self.expr(ch[1]), sp)
        if kind in ("with_", "without"):
            return A.BinOp(kind.rstrip("_"), self.expr(ch[0]), self.expr(ch[1]), sp)
        if kind == "set_lit":
            return A.SetLit(tuple(self.expr(c) for c in ch), sp)
        if kind == "str_lit":
            return A.StrLit(_quoted(ch[0], 0, False), sp)
        if kind == "regex_lit":
            return A.RegexLit(_quoted(ch[0], 1, True), sp)
        if kind == "wild_lit":
            return A.WildLit(_quoted(ch[0], 1, True), sp)
        if kind == "dt_lit":
            return A.DateTimeLit(_quoted(ch[0], 1, False), sp)
        if kind == "number":
            return A.NumLit(self.number(node), sp)
        if kind == "true_lit":
            return A.BoolLit(True, sp)
        if kind == "false_lit":
            return A.BoolLit(False, sp)
        if kind == "access":
            return self.access(node)
        if kind == "aggregation":
            op = str(ch[0].children[0])
            return A.Access("args", str(ch[1]), sp, agg=cast(A.Agg, op))
        if kind.endswith("_dom"):
            return self.domain(node)
        raise PolicyError([error_at(self.source, sp, f"internal: unknown syntax node {kind}")])  # pragma: no cover

    def access(self, node: Node) -> A.Expr:
        sp = _span(node)
        parts = [str(t) for t in node.children]
        head, rest = parts[0], parts[1:]
        if not head.startswith("@"):
            if not rest:
                return A.Name(head, sp)
            if len(rest) > 1:
                self.err(node, f"'{'.'.join(parts)}': an argument has one field (tags, producers, consumers or value)")
            return A.Access("arg", rest[0], sp, arg=head)
        scope = head[1:]
        if scope in ("result", "session"):
            if len(rest) != 1:
                self.err(node, f"'{'.'.join(parts)}': expected {head}.tags, .producers, .consumers or .value")
                return A.Access(cast(A.Scope, scope), "tags", sp)
            return A.Access(cast(A.Scope, scope), rest[0], sp)
        if scope == "args":
            if not rest or len(rest) > 2:
                self.err(node, f"'{'.'.join(parts)}': expected @args.FIELD or @args.FIELD.union/.intersect")
                return A.Access("args", "tags", sp)
            agg = rest[1] if len(rest) == 2 else "union"
            if agg not in ("union", "intersect"):
                self.err(node, f"'{'.'.join(parts)}': aggregation must be .union or .intersect, not .{agg}")
                agg = "union"
            return A.Access("args", rest[0], sp, agg=cast(A.Agg, agg))
        if rest:
            self.err(node, f"'{'.'.join(parts)}': unknown accessor; expected @result, @session, @args or @FIELD")
        return A.Access("context", scope, sp)

    def number(self, node: Node) -> float | int:
        tok: Any = node.children[0]
        text = str(tok)
        if tok.type == "INF":
            return -math.inf if text.startswith("-") else math.inf
        if tok.type == "FLOAT":
            return float(text)
        return int(text)

    def range(self, node: Node, as_epoch: bool = False) -> A.Range:
        lo = hi = None
        op = None
        seen_op = False
        c: Any
        for c in node.children:
            if isinstance(c, Tree) and c.data == "range_op":
                op = str(c.children[0])
                seen_op = True
                continue
            value = self.dt_value(c) if as_epoch else self.number(c)
            if seen_op:
                hi = value
            else:
                lo = value
        if op is None:  # exact value
            return A.Range(lo, lo)
        return A.Range(lo, hi, op.startswith("<"), op.endswith("<"))

    def dt_value(self, node: "Node | Token") -> float:
        if isinstance(node, Tree) and node.data == "number":
            return float(self.number(node))
        text = str(node)
        body = text[2:-1] if text.startswith("d") else text[1:-1]
        try:
            return parse_datetime(unescape(body, keep_unknown=False))
        except ValueError:
            self.err(node, f"invalid datetime {text}: expected ISO 8601 such as d\"2024-01-31T12:00:00Z\"")
            return 0.0

    def domain(self, node: Node) -> A.Domain:
        sp = _span(node)
        kind = node.data[:-4]
        ch: list[Any] = node.children
        if kind == "bool":
            return A.Domain("bool", sp, boolean=str(ch[0].children[0]) == "true")
        if kind in ("int", "float"):
            return A.Domain(cast(A.DomainKind, kind), sp, range=self.range(ch[0]))
        if kind == "dt":
            return A.Domain("datetime", sp, range=self.range(ch[0], as_epoch=True))
        pat = ch[0]
        modes: dict[str, A.StrMode] = {"pat_exact": "exact", "pat_regex": "regex", "pat_like": "like"}
        mode = modes[pat.data]
        text = _quoted(pat.children[0], 0 if mode == "exact" else 1, mode != "exact")
        length = self.range(ch[1].children[0]) if len(ch) > 1 else None
        return A.Domain("str", sp, str_mode=mode, str_text=text, length=length)
