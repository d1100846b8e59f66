"""Errors of the interpreter, in two families under one root each.

* :class:`InterpreterError` and its subclasses are *fatal*: the program cannot catch them
  (policy denials, resource limits, sandbox violations, replay divergence, and program
  exceptions once they reach the top uncaught)::

      InterpreterError
        ProgramSyntaxError      the text does not parse
        UnsupportedFeature      valid Python outside the subset
        SecurityViolation       an attempt to reach Python internals
        ResourceLimitExceeded   a limit was hit (``limit`` names which)
        PolicyDenied            a tool call was denied
        ControlFlowDenied       a branch was denied (``branching_meta_policy``)
        ReplayDivergence        re-execution did not reproduce the record
        ProgramError            a program exception nobody caught

* :class:`ProgRaise` carries a *program-level* exception (``ValueError``...) that the program's
  own ``try/except`` may catch.

Every fatal error has two texts. ``message`` is for the client, who owns the data: it may quote
runtime values. ``safe_message`` is the only text the planner may read (planner isolation): it is
built from the error's kind and the program's own text, never from a runtime value, unless the
metadata of everything the failing operation read proves it came from the user or the program
(``trusted``).
"""

from __future__ import annotations

from typing import Any


class InterpreterError(Exception):
    code = "runtime_error"
    #: Kinds whose message is built from the program text alone.
    static = False

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        col: int | None = None,
        code: str | None = None,
        detail: dict[str, Any] | None = None,
        safe: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col
        if code is not None:
            self.code = code
        self.detail = dict(detail or {})
        self._safe = safe

    @property
    def safe_message(self) -> str:
        if self._safe is not None:
            return self._safe
        return self.message if self.static else self.code.replace("_", " ")

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
    static = True


class UnsupportedFeature(InterpreterError):
    code = "unsupported_feature"
    static = True


class SecurityViolation(InterpreterError):
    """The program tried to reach something outside the sandbox. Raised by the static scan
    (its message quotes the program) or at run time, where the message may quote data (a format
    string or a keyword that came from a tool) and the planner gets a generic text instead."""

    code = "security_violation"

    def __init__(self, message: str, *, static: bool = True, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.static = static
        if not static and self._safe is None:
            self._safe = "security violation: the program used data as a format string or keyword in a forbidden way"


class ResourceLimitExceeded(InterpreterError):
    code = "resource_limit_exceeded"

    def __init__(self, message: str, *, limit: str = "", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.limit = limit
        if limit:
            self.detail.setdefault("limit", limit)
        if self._safe is None:
            # The client's message may state data-dependent sizes; the planner learns the limit.
            self._safe = f"resource limit exceeded: {limit or 'a limit'}"


class PolicyDenied(InterpreterError):
    """A tool call was denied by the policy hook."""

    code = "policy_denied"

    def __init__(self, message: str, *, tool: str = "", decision: Any = None, verdict: str = "",
                 decision_json: dict[str, Any] | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.tool = tool
        self.decision = decision
        self.verdict = verdict
        #: The decision as plain data (what crosses a process boundary).
        self.decision_json = decision_json if decision_json is not None else _as_json(decision)
        if self._safe is None:
            self._safe = f"the call to {tool} was denied by the security policy ({verdict})"


class ControlFlowDenied(InterpreterError):
    """A branch on a condition was denied by the policy hook (``check_branch``)."""

    code = "control_flow_denied"

    def __init__(self, message: str, *, decision: Any = None, decision_json: dict[str, Any] | None = None,
                 **kw: Any):
        super().__init__(message, **kw)
        self.decision = decision
        self.decision_json = decision_json if decision_json is not None else _as_json(decision)
        if self._safe is None:
            self._safe = "the program branched on data the policy forbids decisions on"


class ReplayDivergence(InterpreterError):
    """Re-executing the program did not reproduce the recorded tool calls."""

    code = "replay_divergence"


class ProgramError(InterpreterError):
    """An exception raised in the program and not caught by it."""

    code = "program_error"


def _as_json(decision: Any) -> dict[str, Any]:
    fn = getattr(decision, "to_json", None)
    if fn is not None:
        out = fn()
        return out if isinstance(out, dict) else {"value": out}
    return dict(decision) if isinstance(decision, dict) else {}


_CLASSES: dict[str, type[InterpreterError]] = {}


def error_to_json(e: InterpreterError) -> dict[str, Any]:
    """Everything of an error as plain data (``error_from_json`` rebuilds it)."""
    out: dict[str, Any] = {"code": e.code, "message": e.message, "safe": e.safe_message, "line": e.line,
                           "col": e.col, "detail": e.detail}
    for attr in ("limit", "tool", "verdict", "decision_json"):
        if hasattr(e, attr):
            out[attr] = getattr(e, attr)
    return out


def error_from_json(data: dict[str, Any]) -> InterpreterError:
    if not _CLASSES:
        known: tuple[type[InterpreterError], ...] = (ProgramSyntaxError, UnsupportedFeature, SecurityViolation,
                                                     ResourceLimitExceeded, PolicyDenied, ControlFlowDenied,
                                                     ReplayDivergence, ProgramError)
        for k in known:
            _CLASSES[k.code] = k
    code = str(data.get("code") or "runtime_error")
    cls: type[InterpreterError] = _CLASSES.get(code, InterpreterError)
    kw: dict[str, Any] = {"line": data.get("line"), "col": data.get("col"), "detail": data.get("detail") or {},
                          "safe": data.get("safe")}
    if cls is ResourceLimitExceeded:
        kw["limit"] = data.get("limit") or ""
    elif cls is PolicyDenied:
        kw.update(tool=data.get("tool") or "", verdict=data.get("verdict") or "",
                  decision_json=data.get("decision_json") or {})
    elif cls is ControlFlowDenied:
        kw["decision_json"] = data.get("decision_json") or {}
    elif cls is SecurityViolation:
        kw["static"] = False
    err = cls(str(data.get("message") or ""), **kw)
    if cls is InterpreterError:
        err.code = code
    return err


class ProgRaise(Exception):
    """A program-level exception in flight (catchable by the program's ``try``)."""

    def __init__(self, exc: Any) -> None:  # exc: stdlib.exceptions.ExcObj
        super().__init__(exc)
        self.exc = exc


class Suspend(BaseException):
    """Unwinds the interpreter when the host must answer a call (a client tool or a QLLM call).

    A ``BaseException`` so that no program ``except`` clause and no library ``except Exception``
    between the call and ``run`` can swallow it."""

    def __init__(self, calls: list[Any]) -> None:
        super().__init__()
        self.calls = calls
