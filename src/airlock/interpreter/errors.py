"""Errors raised by the interpreter.

Two families:

* :class:`InterpreterError` and subclasses are *fatal*: the program cannot catch them
  (policy denials, resource limits, sandbox violations, replay divergence, and uncaught
  program exceptions once they reach the top). They carry ``code``, ``message``, ``line``
  and ``col`` and serialise with :meth:`InterpreterError.to_json`.
* :class:`ProgRaise` carries a *program-level* exception (``ValueError``, ``KeyError``...) that
  the program's own ``try/except`` may catch. Uncaught, it becomes a :class:`ProgramError`.
"""

from __future__ import annotations

from typing import Any


class InterpreterError(Exception):
    code = "runtime_error"

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        col: int | None = None,
        code: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col
        if code is not None:
            self.code = code
        self.detail = dict(detail or {})

    def at(self, line: int | None, col: int | None) -> "InterpreterError":
        if self.line is None and line is not None:
            self.line = line
            self.col = col
        return self

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.full_message()}
        if self.line is not None:
            out["line"] = self.line
            out["col"] = self.col
        if self.detail:
            out["detail"] = self.detail
        return out

    def full_message(self) -> str:
        if self.line is not None:
            return f"{self.message} (line {self.line}, col {self.col})"
        return self.message

    def __str__(self) -> str:
        return self.full_message()


class ProgramSyntaxError(InterpreterError):
    code = "syntax_error"


class UnsupportedFeature(InterpreterError):
    code = "unsupported_feature"


class SecurityViolation(InterpreterError):
    """The program tried to reach something outside the sandbox."""

    code = "security_violation"


class ResourceLimitExceeded(InterpreterError):
    code = "resource_limit_exceeded"

    def __init__(self, message: str, *, limit: str = "", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.limit = limit
        if limit:
            self.detail.setdefault("limit", limit)


class PolicyDenied(InterpreterError):
    """A tool call was denied by the policy hook."""

    code = "policy_denied"

    def __init__(self, message: str, *, tool: str = "", decision: Any = None, verdict: str = "", **kw: Any):
        super().__init__(message, **kw)
        self.tool = tool
        self.decision = decision
        self.verdict = verdict


class ControlFlowDenied(InterpreterError):
    """A branch on a condition was denied by the policy hook (``check_branch``)."""

    code = "control_flow_denied"

    def __init__(self, message: str, *, decision: Any = None, **kw: Any):
        super().__init__(message, **kw)
        self.decision = decision


class ReplayDivergence(InterpreterError):
    """Re-executing the program did not reproduce the recorded tool calls."""

    code = "replay_divergence"


class ProgramError(InterpreterError):
    """An exception raised in the program and not caught by it."""

    code = "program_error"


class ProgRaise(Exception):
    """A program-level exception in flight (catchable by the program's ``try``)."""

    def __init__(self, exc: Any) -> None:  # exc: runtime.ExcObj
        super().__init__(exc)
        self.exc = exc


class Suspend(BaseException):
    """Raised to unwind the interpreter when an external tool call must be answered."""

    def __init__(self, calls: list[Any]) -> None:
        super().__init__()
        self.calls = calls
