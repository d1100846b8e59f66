"""The outcome of one policy check, as recorded in ``policy_check_history``.

A ``Decision`` says what happened (``allowed``, ``soft_denied`` or ``hard_denied``) and why: the
rules that fired, each with its description (the ``///`` doc comment), its source text and the
values its condition looked at. Values are captured when the rule fires — metadata sets are
immutable, so holding them is free — and turned into JSON only when ``to_json()`` is called,
which keeps the hot path of ``check_call`` cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from airlock.meta import StrSet

Verdict = Literal["allowed", "soft_denied", "hard_denied"]
DENIAL_HEADLINE = "Tool call {tool} denied by argument checking policies."


@dataclass(slots=True)
class FiredRule:
    """One rule whose condition held (or a synthetic entry for a default/fallback decision).

    ``kind``: ``rule`` (user SQRT/Cedar), ``preset`` (internal preset), ``default``
    (``default_allow`` applied), ``allowlist`` (the tool has allow rules and none matched),
    ``branch`` (``branching_meta_policy``), ``error`` (the condition failed to evaluate).
    """

    kind: str
    effect: Literal["allow", "deny"]
    level: Literal["hard", "soft"]
    tool_pattern: str = ""
    priority: int = 0
    description: str | None = None
    source: str | None = None
    line: int | None = None
    seen: dict[str, Any] = field(default_factory=dict)
    decisive: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "effect": self.effect,
            "level": self.level,
            "tool": self.tool_pattern,
            "priority": self.priority,
            "description": self.description,
            "rule": self.source,
            "line": self.line,
            "seen": {k: jsonable(v) for k, v in self.seen.items()},
            "decisive": self.decisive,
        }

    def summary(self) -> str:
        what = self.source or f"{self.level} {self.effect}"
        text = f"`{what}`" + (f" (line {self.line})" if self.line else "")
        if self.description:
            text += f": {self.description}"
        if self.seen:
            text += "; saw " + ", ".join(f"{k}={_short(jsonable(v))}" for k, v in self.seen.items())
        return text


Authority = Literal["key", "header", "planner", "preset", "guard"]  # guard: a content blocker (airlock.guards)


@dataclass(slots=True)
class Decision:
    """``policy`` names who decided, once a ``PolicyStack`` has combined its layers: the
    ``key``, ``header`` or ``planner`` policy, or ``preset`` when the deciding rule is one of
    Airlock's own (internal presets, ``default_allow``, the ``set_policy`` literal rule).
    ``layers`` lists every layer's own verdict, in authority order."""

    tool: str
    verdict: Verdict
    fired: list[FiredRule] = field(default_factory=list)
    reason: str = ""
    policy: Authority | None = None
    layers: tuple[tuple[Authority, Verdict], ...] = ()

    @property
    def allowed(self) -> bool:
        return self.verdict == "allowed"

    @property
    def denied(self) -> bool:
        return self.verdict != "allowed"

    @property
    def hard(self) -> bool:
        return self.verdict == "hard_denied"

    @property
    def message(self) -> str:
        """Denial text for the caller (empty when allowed): the fixed headline the official
        tests look for, then ``'<tool>' is denied`` and the deciding rules."""
        if self.allowed:
            return ""
        if self.tool == "<branch>":
            return "Control flow violation: " + self.reason
        lines = [DENIAL_HEADLINE.format(tool=self.tool)]
        level = "hard" if self.verdict == "hard_denied" else "soft"
        by = f" by the {self.policy} policy" if self.policy in ("key", "header", "planner") else ""
        lines.append(f"'{self.tool}' is denied ({level}){by}: {self.reason}")
        for r in self.fired:
            if r.effect == "deny" or r.kind == "allowlist":
                if r.decisive:
                    lines.append(f"  - {r.summary()}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        # ``final_verdict`` is the reference's name for the outcome (its denial detail reads
        # "Checking results: {'final_verdict': 'hard_denied', ...}"); it leads so the text a
        # client scrapes starts the same way. ``verdict`` stays for our own history readers.
        out: dict[str, Any] = {
            "final_verdict": self.verdict,
            "tool": self.tool,
            "verdict": self.verdict,
            "allowed": self.allowed,
            "reason": self.reason,
            "policy": self.policy,
            "fired": [r.to_json() for r in self.fired],
            "message": self.message,
        }
        if self.layers:
            out["layers"] = [{"policy": a, "verdict": v} for a, v in self.layers]
        return out

    def decided_by_preset(self) -> bool:
        """Whether the rules that decided are all Airlock's own (presets or ``default_allow``)."""
        seen = False
        for r in self.fired:
            if r.decisive:
                if r.kind != "preset" and r.kind != "default":
                    return False
                seen = True
        return seen


def jsonable(v: Any, depth: int = 0) -> Any:
    """A JSON-safe, size-bounded rendering of a value a rule looked at."""
    if isinstance(v, StrSet):
        return v.to_json()
    if v is None or isinstance(v, (bool, int, float)):
        return v
    if isinstance(v, str):
        return v if len(v) <= 200 else v[:197] + "..."
    if depth > 3:
        return "..."
    if isinstance(v, dict):
        return {str(k): jsonable(x, depth + 1) for k, x in list(v.items())[:20]}
    if isinstance(v, (list, tuple, set, frozenset)):
        items = sorted(v, key=repr) if isinstance(v, (set, frozenset)) else list(v)
        return [jsonable(x, depth + 1) for x in items[:20]]
    return jsonable(repr(v))


def _short(v: Any) -> str:
    import json

    text = json.dumps(v, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."
