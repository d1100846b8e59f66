"""What a run returns: ``Finished``, ``Suspended`` (calls for the host) or ``Failed``.

Two renderings of the final variables, for two audiences:

* ``namespace`` — for the client, who owns the data: every variable, value and metadata.
* ``planner_view`` — for the planning LLM, which must never read tool data: a value is shown
  only when its metadata proves it was computed from the user's input and the program alone
  (the internal ``untrusted`` bit is clear, through control flow too); otherwise only the name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from airlock.meta import Meta, SessionMeta, Tagged

from .errors import InterpreterError, ResourceLimitExceeded
from .record import ExecutionRecord, PendingCall
from .values import DictObj, ListObj, SetObj, Value, to_json_value

if TYPE_CHECKING:
    from .machine import Machine

_TYPE_NAMES = {str: "str", int: "int", float: "float", bool: "bool", type(None): "None", ListObj: "list",
               DictObj: "dict", SetObj: "set", tuple: "tuple"}


def _visible(vars: Mapping[str, Value]) -> dict[str, Value]:
    from .stdlib.objects import SafeModule

    return {k: v for k, v in vars.items() if not isinstance(v.v, SafeModule) and not k.startswith("_")}


def namespace_snapshot(vars: Mapping[str, Value], machine: "Machine | None" = None,
                       budget: int = 2_000_000) -> dict[str, dict[str, Any]]:
    """Every variable with a JSON rendering of its value and its (deep) metadata."""
    out: dict[str, dict[str, Any]] = {}
    for name, val in _visible(vars).items():
        try:
            m = machine.deep(val) if machine is not None else val.m
            out[name] = {"value": to_json_value(val, budget), "meta": m.to_json()}
        except ResourceLimitExceeded:
            out[name] = {"value": "<too large>", "meta": val.m.to_json()}
    return out


def planner_variables(vars: Mapping[str, Value], machine: "Machine", final_pc: Meta) -> list[dict[str, Any]]:
    """The variables as the planner may see them (see the module docstring)."""
    out = []
    for name, val in _visible(vars).items():
        try:
            m = machine.deep(val).merge(final_pc)
            trusted = not m.untrusted
            entry: dict[str, Any] = {"name": name, "trusted": trusted}
            if trusted:
                entry["type"] = _TYPE_NAMES.get(type(val.v), "object")
                entry["value"] = to_json_value(val, 100_000)
        except ResourceLimitExceeded:
            entry = {"name": name, "trusted": False}
        out.append(entry)
    return out


class _Vars:
    """Lazy renderings of the final variables (only computed when asked for)."""

    _vars: Mapping[str, Value]
    _machine: "Machine | None"
    _ns: dict[str, dict[str, Any]] | None

    @property
    def namespace(self) -> dict[str, dict[str, Any]]:
        if self._ns is None:
            self._ns = namespace_snapshot(self._vars, self._machine)
        return self._ns

    @property
    def planner_view(self) -> list[dict[str, Any]]:
        if self._machine is None:
            return [{"name": n, "trusted": False} for n in _visible(self._vars)]
        return planner_variables(self._vars, self._machine, self._machine.pc)


class Finished(_Vars):
    """The program ran to the end. ``value`` is ``{"value": JSON, "meta": {...}}``."""

    status = "finished"

    def __init__(self, value: dict[str, Any], history: list[dict[str, Any]], vars: Mapping[str, Value],
                 record: ExecutionRecord, session: SessionMeta, printed: list[str], machine: "Machine | None",
                 trusted: bool = False) -> None:
        self.value = value
        self.history = history
        self.record = record
        self.session = session
        self.printed = printed
        #: Whether the final value's metadata proves it came from the user and the program only.
        self.trusted = trusted
        self._vars = vars
        self._machine = machine
        self._ns = None

    @property
    def tagged(self) -> Tagged:
        return Tagged(self.value["value"], Meta.from_json(self.value["meta"]))

    def __repr__(self) -> str:
        return f"Finished(value={self.value!r})"


@dataclass
class Suspended:
    """Calls the host must answer; resume with the returned record once answered."""

    calls: list[PendingCall]
    record: ExecutionRecord
    history: list[dict[str, Any]]
    session: SessionMeta
    printed: list[str] = field(default_factory=list)
    status = "suspended"


class Failed(_Vars):
    """The program stopped: ``error.code``/``message``/``line``/``col`` say why; the planner may
    read only ``error.safe_message`` (see ``errors.py``)."""

    status = "failed"

    def __init__(self, error: InterpreterError, history: list[dict[str, Any]], record: ExecutionRecord | None = None,
                 vars: Mapping[str, Value] | None = None, session: SessionMeta | None = None,
                 printed: list[str] | None = None, machine: "Machine | None" = None) -> None:
        self.error = error
        self.history = history
        self.record = record
        self.session = session
        self.printed = printed or []
        self._vars = vars or {}
        self._machine = machine
        self._ns = None

    def __repr__(self) -> str:
        return f"Failed(error={self.error.to_json()!r})"


Outcome = Finished | Suspended | Failed
