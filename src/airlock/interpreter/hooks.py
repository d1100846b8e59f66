"""The interpreter's seam to the policy engine: :class:`PolicyHook` and what its answers mean."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Protocol, runtime_checkable

from airlock.meta import NEUTRAL, Meta, SessionMeta, Tagged

ALLOWED = "allowed"
SOFT = "soft_denied"
HARD = "hard_denied"


@runtime_checkable
class PolicyHook(Protocol):
    """What the interpreter asks the policy engine (implemented by ``airlock.policy``).

    ``control`` (keyword, optional for implementations) is the control context a call is made
    under: in ``strict`` mode the metadata of the conditions that led to it — what a policy needs
    to judge a call that takes no arguments at all."""

    def check_call(self, tool: str, args: Mapping[str, Tagged], session: SessionMeta) -> Any:
        """Decision for a tool call: ``.verdict`` in allowed/soft_denied/hard_denied."""

    def apply_result(self, tool: str, args: Mapping[str, Tagged], result: Tagged, session: SessionMeta) -> Meta:
        """Metadata of a tool result after the policy's ``result { ... }`` updates."""

    def update_session(self, tool: str, phase: str, args: Mapping[str, Tagged], session: SessionMeta,
                       result: Tagged | None = None) -> None:
        """Apply ``session before|after { ... }`` updates to ``session`` in place."""

    def check_branch(self, condition: Meta) -> Any:
        """Decision for branching on a value with this metadata."""


@dataclass(frozen=True)
class Decision:
    verdict: str = ALLOWED
    message: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"final_verdict": self.verdict, "message": self.message, **self.detail}


class AllowAll:
    """A policy hook that allows every call and branch and leaves metadata alone."""

    _ALLOW = Decision(ALLOWED)

    def check_call(self, tool: str, args: Mapping[str, Tagged], session: SessionMeta,
                   control: Meta = NEUTRAL) -> Decision:
        return self._ALLOW

    def apply_result(self, tool: str, args: Mapping[str, Tagged], result: Tagged, session: SessionMeta,
                     control: Meta = NEUTRAL) -> Meta:
        return result.meta

    def update_session(self, tool: str, phase: str, args: Mapping[str, Tagged], session: SessionMeta,
                       result: Tagged | None = None, control: Meta = NEUTRAL) -> None:
        return None

    def check_branch(self, condition: Meta) -> Decision:
        return self._ALLOW


_ACCEPTS: dict[tuple[type, str], bool] = {}


def accepts_control(hook: Any, method: str) -> bool:
    """Whether ``hook.method`` takes the ``control`` keyword (older hooks do not)."""
    key = (type(hook), method)
    got = _ACCEPTS.get(key)
    if got is None:
        fn = getattr(hook, method, None)
        try:
            params = inspect.signature(fn).parameters if fn is not None else {}
        except (TypeError, ValueError):
            params = {}
        got = "control" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
        _ACCEPTS[key] = got
    return got


def verdict_of(decision: Any) -> str:
    """A decision's verdict, normalised. Anything not recognised is a hard denial (fail closed)."""
    if decision is None or decision is True:
        return ALLOWED
    if decision is False:
        return HARD
    v = getattr(decision, "verdict", None)
    if v is None and isinstance(decision, Mapping):
        v = decision.get("verdict") or decision.get("final_verdict")
    v = getattr(v, "value", v)  # enums
    v = str(v or ALLOWED)
    if v in ("allow", "allowed", "soft_allowed", "hard_allowed"):
        return ALLOWED
    if v in ("soft_denied", "soft_deny"):
        return SOFT
    return HARD


def decision_json(decision: Any) -> Any:
    fn = getattr(decision, "to_json", None)
    if fn is not None:
        return fn()
    if isinstance(decision, Mapping):
        return dict(decision)
    return {"final_verdict": verdict_of(decision)}


def decision_message(decision: Any) -> str:
    msg = getattr(decision, "message", None)
    if msg is None and isinstance(decision, Mapping):
        msg = decision.get("message")
    return str(msg or "")


Phase = Literal["before", "after"]


class ArgumentGuard(Protocol):
    """Content guards on a tool call's arguments, before the policy sees them (``airlock.guards``
    behind a sandbox adapter): the tags found join the argument's metadata, the value is what goes
    on (redacted), and any block denies the call."""

    def scan_argument(self, tool: str, name: str, value: Any) -> tuple[frozenset[str], Any, list[str]]:
        """``(tags, value to send, block descriptions)``."""
