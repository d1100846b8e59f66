"""Policy errors people can act on.

Every problem found in a policy — syntax, unknown ``let`` names, type mismatches, regexes RE2
cannot run — becomes an ``ErrorItem`` with a line, a column, the offending source line, a caret
under the column and, for syntax errors, what the parser expected there. ``PolicyError`` carries
all of them at once (the compiler keeps going after the first problem) so a user fixes a policy
in one round trip instead of one error at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class ErrorItem:
    message: str
    line: int | None = None
    column: int | None = None
    source_line: str | None = None
    expected: list[str] = field(default_factory=list)
    source_index: int | None = None  # which text, when a policy is compiled from several

    def format(self) -> str:
        where = ""
        if self.line:
            where = f"line {self.line}, column {self.column}"
            if self.source_index is not None:
                where = f"policy #{self.source_index + 1}, " + where
            where += ": "
        text = where + self.message
        if self.expected:
            text += "\n  expected: " + ", ".join(self.expected)
        if self.source_line is not None and self.column:
            text += f"\n  {self.source_line}\n  {' ' * (self.column - 1)}^"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "line": self.line,
            "column": self.column,
            "source_line": self.source_line,
            "expected": list(self.expected),
            "source_index": self.source_index,
        }


class PolicyError(Exception):
    """A policy that cannot be compiled. ``errors`` lists every problem found, in source order."""

    def __init__(self, errors: list[ErrorItem] | str):
        if isinstance(errors, str):
            errors = [ErrorItem(errors)]
        self.errors: list[ErrorItem] = errors
        super().__init__("\n".join(e.format() for e in errors))

    def to_json(self) -> list[dict[str, Any]]:
        return [e.to_json() for e in self.errors]


def source_line(source: str, line: int | None) -> str | None:
    if not line:
        return None
    lines = source.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else None


def error_at(source: str, span: Any, message: str, expected: list[str] | None = None) -> ErrorItem:
    """An error pointing at ``span`` (anything with ``line``/``column``) in ``source``."""
    line = getattr(span, "line", None) or None
    column = getattr(span, "column", None) or None
    return ErrorItem(message, line, column, source_line(source, line), list(expected or []))
