"""Cedar policies (``codes.language = "cedar"``) evaluated with cedarpy.

Mapping of one tool call to a Cedar request:

* principal ``Airlock::Agent::"agent"``, action ``Action::"<tool>"``, resource
  ``Airlock::Tool::"<tool>"``; no entities.
* context::

    {
      "tool": "<tool>",
      "args": {"<arg>": {"value": <value>, "producers": [...], "consumers": [...], "tags": [...]}},
      "args_producers": [...],   // union over the arguments      (SQRT @args.producers)
      "args_tags": [...],        // union over the arguments      (SQRT @args.tags)
      "args_consumers": [...],   // intersection over the arguments (SQRT @args.consumers.intersect)
      "session": {"producers": [...], "consumers": [...], "tags": [...]}
    }

  A universal consumers set is ``["*"]``. Cedar has no floats or nulls: floats become their
  decimal text and a ``None`` value leaves ``value`` out (test it with ``has``).

Verdicts follow the same procedure as SQRT (``evaluator.decide``): a ``forbid`` that applies is
a hard deny (``@level("soft")`` makes it soft), a ``permit`` that applies is a hard allow (or
soft), ``@priority("N")`` orders soft rules. When nothing applies and some ``permit`` is scoped
to the action, the call is denied (Cedar's own default-deny); otherwise ``default_allow``
decides. A policy whose evaluation errors is skipped by Cedar; we count an erroring ``forbid``
as applying, so a missing attribute never opens a hole. Presets (``__llm_blocked``,
non-executable memory) apply exactly as with SQRT.

Example — the docs' data-leak policy in both languages::

    // SQRT
    let sensitive = {"internal_use", "confidential"};
    tool "send_email" {
        hard deny when (body.tags overlaps sensitive) and not (to.value in {str like w"*@trustedcorp.com"});
    }

    // Cedar
    @id("no-leak")
    forbid (principal, action == Action::"send_email", resource)
    when { context.args has body && context.args.body.tags.containsAny(["internal_use", "confidential"]) }
    unless { context.args has to && context.args.to has value && context.args.to.value like "*@trustedcorp.com" };

Cedar has no update statements: ``result``/``session`` metadata updates need SQRT.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import cedarpy

from airlock.meta import EMPTY, NEUTRAL, UNIVERSAL, Meta, SessionMeta, StrSet, Tagged

from .compiler import Ctx
from .decision import Decision, FiredRule
from .errors import ErrorItem, PolicyError
from .evaluator import CompiledPolicy, build_sqrt, decide
from .presets import Level, PolicyPresets

_MAX_I64 = 2**63 - 1


class CedarPolicy(CompiledPolicy):
    language = "cedar"

    def __init__(self, text: str, info: dict[str, dict[str, Any]], presets: PolicyPresets, mode: str, fail_fast: bool):
        inner = build_sqrt([""], presets, mode, fail_fast)  # preset rules only
        super().__init__(inner.rules, [], presets, mode, fail_fast)
        self.text = text
        self.info = info
        self._policy_set = cedarpy.PolicySet.from_str(text) if text.strip() else None
        self._forbids = [pid for pid, i in info.items() if i["effect"] == "deny"]
        self._allow_levels: dict[str, Level | None] = {}

    def _allow_level(self, tool: str) -> Level | None:
        if tool not in self._allow_levels:
            levels = [i["level"] for i in self.info.values()
                      if i["effect"] == "allow" and (i["actions"] is None or tool in i["actions"])]
            level: Level | None = ("hard" if "hard" in levels else "soft") if levels else None
            self._allow_levels[tool] = level
        return self._allow_levels[tool]

    def check_call(self, tool: str, args: Mapping[str, Tagged], session: SessionMeta, *,
                   control: Meta = NEUTRAL) -> Decision:
        ctx = Ctx(args, session, control=control)
        fired: list[FiredRule] = []
        for r in self.plan(tool).rules:  # presets
            if r.cond is None or r.cond(ctx):
                fired.append(r.fired(ctx))
        if self._policy_set is not None:
            request = {
                "principal": 'Airlock::Agent::"agent"',
                "action": f"Action::{json.dumps(tool)}",
                "resource": f"Airlock::Tool::{json.dumps(tool)}",
                "context": cedar_context(tool, args, session, control),
            }
            result = cedarpy.is_authorized(request, self._policy_set, [])
            ids = list(result.diagnostics.reasons)
            for err in result.diagnostics.errors:
                for pid in self._forbids:
                    if f"`{pid}`" in err or f"{pid}:" in err or f" {pid} " in f" {err} ":
                        if pid not in ids:
                            ids.append(pid)
            entries = []
            for pid in ids:
                i = self.info.get(pid)
                if i is None:
                    continue
                entries.append(FiredRule("rule", i["effect"], i["level"], tool, i["priority"], i["description"],
                                         i["label"], None, {"context.args": {k: v.value for k, v in args.items()}}))
            entries.sort(key=lambda e: -e.priority)
            fired.extend(entries)
        return decide(tool, fired, self._allow_level(tool), self.presets)


def _cedar_value(v: Any, depth: int = 0) -> Any:
    if depth > 16:
        return str(v)
    if isinstance(v, bool) or isinstance(v, str):
        return v
    if isinstance(v, int):
        return v if -_MAX_I64 - 1 <= v <= _MAX_I64 else str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, dict):
        return {str(k): _cedar_value(x, depth + 1) for k, x in v.items() if x is not None}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [_cedar_value(x, depth + 1) for x in v if x is not None]
    return str(v)


def _set(s: StrSet) -> list[str]:
    return s.to_json()


def cedar_context(tool: str, args: Mapping[str, Tagged], session: SessionMeta,
                  control: Meta = NEUTRAL) -> dict[str, Any]:
    cargs = {}
    for name, t in args.items():
        entry: dict[str, Any] = {"producers": _set(t.meta.producers), "consumers": _set(t.meta.consumers),
                                 "tags": _set(t.meta.tags)}
        if t.value is not None:
            entry["value"] = _cedar_value(t.value)
        cargs[name] = entry
    # the aggregates include the control context, as SQRT's @args.* do (see compiler.Ctx)
    prod, tags, cons = EMPTY, EMPTY, UNIVERSAL
    for m in Ctx(args, session, control=control).operands():
        prod = prod.union(m.producers)
        tags = tags.union(m.tags)
        cons = cons.intersect(m.consumers)
    return {
        "tool": tool,
        "args": cargs,
        "args_producers": _set(prod),
        "args_tags": _set(tags),
        "args_consumers": _set(cons),
        "session": {"producers": _set(session.producers), "consumers": _set(session.consumers),
                    "tags": _set(session.tags)},
    }


def _scope_actions(action: dict[str, Any]) -> set[str] | None:
    op = action.get("op")
    if op == "==":
        return {action["entity"]["id"]}
    if op == "in":
        ents = action.get("entities") or ([action["entity"]] if "entity" in action else [])
        return {e["id"] for e in ents}
    return None  # applies to every action


def build_cedar(sources: list[str], presets: PolicyPresets, mode: str, fail_fast: bool) -> CedarPolicy:
    text = "\n".join(sources)
    info: dict[str, dict[str, Any]] = {}
    if text.strip():
        try:
            parsed = json.loads(cedarpy.policies_to_json_str(text))
        except Exception as exc:
            raise PolicyError([ErrorItem(f"Cedar: {exc}")]) from None
        for pid, pol in parsed.get("staticPolicies", {}).items():
            ann = pol.get("annotations") or {}
            level = ann.get("level", "hard")
            if level not in ("hard", "soft"):
                raise PolicyError([ErrorItem(f"Cedar policy {ann.get('id', pid)}: @level must be \"hard\" or \"soft\"")])
            try:
                priority = int(ann.get("priority", "0"))
            except ValueError:
                raise PolicyError([ErrorItem(f"Cedar policy {ann.get('id', pid)}: @priority must be an integer")]) from None
            effect = "deny" if pol["effect"] == "forbid" else "allow"
            info[pid] = {
                "effect": effect,
                "level": level,
                "priority": priority,
                "actions": _scope_actions(pol.get("action", {})),
                "description": ann.get("description"),
                "label": f"{pol['effect']} {ann.get('id', pid)}",
            }
        if parsed.get("templates"):
            raise PolicyError([ErrorItem("Cedar templates are not supported; write static policies")])
    return CedarPolicy(text, info, presets, mode, fail_fast)
