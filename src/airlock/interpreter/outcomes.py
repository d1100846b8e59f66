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

from .errors import InterpreterError, ResourceLimitExceeded, error_from_json, error_to_json
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

    host_state: dict[str, Any] | None = None

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
    #: State the host's hooks changed during the run (e.g. the content guards' redactor).
    host_state: dict[str, Any] | None = None
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


# -- plain data (what crosses a process boundary) --------------------------------------------------


def outcome_to_json(outcome: Outcome, views: frozenset[str] = frozenset()) -> dict[str, Any]:
    """An outcome as plain JSON. ``views`` asks for the renderings of the final variables that
    need the live run: ``namespace`` (for the client) and ``planner`` (for the planner)."""
    out: dict[str, Any] = {"status": outcome.status, "history": outcome.history, "printed": outcome.printed,
                           "session": outcome.session.to_json() if outcome.session is not None else None,
                           "record": outcome.record.to_json() if outcome.record is not None else None}
    if isinstance(outcome, Suspended):
        out["calls"] = [c.to_json() for c in outcome.calls]
        return out
    if isinstance(outcome, Finished):
        out["value"] = outcome.value
        out["trusted"] = outcome.trusted
    else:
        out["error"] = error_to_json(outcome.error)
    if "namespace" in views:
        out["namespace"] = outcome.namespace
    if "planner" in views:
        out["planner_view"] = outcome.planner_view
    return out


class _Rendered:
    """The final variables' renderings as received (a remote outcome has no live run)."""

    _namespace: dict[str, dict[str, Any]] | None
    _planner: list[dict[str, Any]] | None

    @property
    def namespace(self) -> dict[str, dict[str, Any]]:
        return self._namespace or {}

    @property
    def planner_view(self) -> list[dict[str, Any]]:
        return self._planner or []


class RemoteFinished(_Rendered, Finished):
    def __init__(self, data: dict[str, Any]) -> None:
        Finished.__init__(self, data["value"], data["history"], {}, ExecutionRecord.from_json(data["record"]),
                          SessionMeta.from_json(data["session"]), data.get("printed") or [], None,
                          trusted=bool(data.get("trusted")))
        self._namespace, self._planner = data.get("namespace"), data.get("planner_view")


class RemoteFailed(_Rendered, Failed):
    def __init__(self, data: dict[str, Any]) -> None:
        Failed.__init__(self, error_from_json(data["error"]), data["history"],
                        ExecutionRecord.from_json(data["record"]) if data.get("record") else None, None,
                        SessionMeta.from_json(data["session"]) if data.get("session") is not None else None,
                        data.get("printed") or [], None)
        self._namespace, self._planner = data.get("namespace"), data.get("planner_view")


def outcome_from_json(data: dict[str, Any]) -> Outcome:
    status = data.get("status")
    out: Outcome
    if status == "suspended":
        out = Suspended([PendingCall.from_json(c) for c in data["calls"]], ExecutionRecord.from_json(data["record"]),
                        data["history"], SessionMeta.from_json(data["session"]), data.get("printed") or [])
    elif status == "finished":
        out = RemoteFinished(data)
    else:
        out = RemoteFailed(data)
    out.host_state = data.get("host_state")
    return out
