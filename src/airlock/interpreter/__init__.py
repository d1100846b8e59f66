"""``airlock.interpreter``: the sandboxed, metadata-tracking interpreter of dual-LLM programs.

A planning LLM writes a Python program; :func:`run` executes it node by node (``ast`` +
closures, never ``exec``/``eval``/``compile``), tracking producers, consumers and tags on every
value, asking the :class:`PolicyHook` before every tool call and every branch on data.

Calling a client's tool, or an internal tool the host must answer (the quarantined LLM),
*suspends* the program: :func:`run` returns :class:`Suspended` with the pending calls and an
:class:`ExecutionRecord` — plain JSON. Once answered, :func:`record_result` adds the answer and
:func:`run` resumes by replaying the record, so any replica can resume any program.

Layout: ``run.py`` (entry), ``machine.py`` (run state, calls), ``toolcall.py`` (tool calls and
result metadata), ``flow.py`` (the data-flow rules and the one dispatch), ``budget.py`` (every
limit), ``values.py``, ``record.py``, ``outcomes.py``, ``hooks.py``, ``compile/`` (text to
closures), ``stdlib/`` (the tables: builtins, methods per type, modules). The guarantees are
written in ``docs/security-model.md``.
"""

from __future__ import annotations

from .errors import (
    ControlFlowDenied,
    InterpreterError,
    PolicyDenied,
    ProgramError,
    ProgramSyntaxError,
    ReplayDivergence,
    ResourceLimitExceeded,
    SecurityViolation,
    UnsupportedFeature,
)
from .hooks import AllowAll, Decision, PolicyHook
from .options import FINAL_VAR, Limits, RunOptions
from .outcomes import Failed, Finished, Outcome, Suspended, namespace_snapshot
from .record import ExecutionRecord, PendingCall, record_result, record_tool_result
from .run import Parker, run
from .tools import DEFAULT_ERROR_PATTERN, InternalTool, ToolSpec, codex_transform
from .variables import Variable

__all__ = [
    "PolicyHook", "AllowAll", "Decision", "ToolSpec", "InternalTool", "Limits", "RunOptions", "ExecutionRecord",
    "PendingCall", "Finished", "Suspended", "Failed", "Outcome", "run", "record_result", "record_tool_result",
    "namespace_snapshot", "InterpreterError", "PolicyDenied", "ControlFlowDenied", "ResourceLimitExceeded",
    "SecurityViolation", "ReplayDivergence", "ProgramError", "ProgramSyntaxError", "UnsupportedFeature",
    "DEFAULT_ERROR_PATTERN", "codex_transform", "FINAL_VAR", "Parker", "Variable",
]
