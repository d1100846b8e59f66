"""Internal policy presets (``X-Policy.presets``) and security modes (``X-Policy.mode``).

Presets are policies the server adds on its own:

* ``default_allow`` / ``default_allow_enforcement_level`` — the verdict when no rule of a tool
  fires and the tool has no allow rules (see the decision procedure in ``evaluator``). With
  ``default_allow=false`` the call is denied at the given level.
* ``enable_non_executable_memory`` — every tool result starts tagged ``__non_executable`` (data
  a tool returned is data, never instructions). The tag is added *before* the policy's
  ``result { }`` updates, so a policy can see it and, deliberately, remove it.
* ``enable_llm_blocked_tag`` / ``llm_blocked_tag_enforcement_level`` — ``parse_with_ai`` (the
  quarantined LLM) is denied when any argument carries ``__llm_blocked``. Implemented as a SQRT
  rule compiled by our own compiler (``llm_blocked_sqrt``), at priority 0 so a user's
  higher-priority soft allow can override the soft variant, never the hard one.
* ``branching_meta_policy`` — which metadata may decide a branch of the plan (``check_branch``).

Modes: ``standard`` checks tool calls only; ``strict`` additionally asks the interpreter to
propagate control-flow dependencies (values assigned under a branch carry the condition's
metadata, CaMeL's STRICT mode); ``custom`` does the same *and* enforces
``branching_meta_policy`` — the docs note that policy only takes effect in custom mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from airlock.meta import NON_EXECUTABLE_TAG, Meta, StrSet

from .decision import Decision, FiredRule
from .errors import PolicyError

LLM_BLOCKED_TAG = "__llm_blocked"
QLLM_TOOL = "parse_with_ai"
MODES = ("standard", "strict", "custom")
Level = Literal["hard", "soft"]


@dataclass(frozen=True, slots=True)
class BranchingMetaPolicy:
    mode: Literal["allow", "deny"] = "deny"
    producers: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    consumers: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class PolicyPresets:
    """Frozen (hashable) so compiled policies can be cached per (text, presets)."""

    default_allow: bool = True
    default_allow_enforcement_level: Level = "soft"
    enable_non_executable_memory: bool = True
    enable_llm_blocked_tag: bool = True
    llm_blocked_tag_enforcement_level: Level = "hard"
    branching_meta_policy: BranchingMetaPolicy = field(default_factory=BranchingMetaPolicy)

    @classmethod
    def from_value(cls, value: "PolicyPresets | dict[str, Any] | None") -> "PolicyPresets":
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if hasattr(value, "model_dump"):  # a pydantic model from the config layer
            value = value.model_dump()
        if not isinstance(value, dict):
            raise PolicyError(f"presets must be an object, not {type(value).__name__}")
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(value) - known)
        if unknown:
            raise PolicyError(f"unknown preset field(s): {', '.join(unknown)}")
        kwargs: dict[str, Any] = {}
        for key, v in value.items():
            if v is None:
                continue
            if key == "branching_meta_policy":
                kwargs[key] = _branching(v)
            elif key.endswith("_level"):
                if v not in ("hard", "soft"):
                    raise PolicyError(f"presets.{key} must be 'hard' or 'soft', not {v!r}")
                kwargs[key] = v
            else:
                if not isinstance(v, bool):
                    raise PolicyError(f"presets.{key} must be true or false, not {v!r}")
                kwargs[key] = v
        return cls(**kwargs)


def _branching(v: Any) -> BranchingMetaPolicy:
    if isinstance(v, BranchingMetaPolicy):
        return v
    if hasattr(v, "model_dump"):
        v = v.model_dump()
    if not isinstance(v, dict):
        raise PolicyError("presets.branching_meta_policy must be an object")
    unknown = sorted(set(v) - {"mode", "producers", "tags", "consumers"})
    if unknown:
        raise PolicyError(f"unknown branching_meta_policy field(s): {', '.join(unknown)}")
    mode = v.get("mode") or "deny"
    if mode not in ("allow", "deny"):
        raise PolicyError(f"branching_meta_policy.mode must be 'allow' or 'deny', not {mode!r}")
    sets = {}
    for key in ("producers", "tags", "consumers"):
        items = v.get(key) or ()
        if isinstance(items, str) or not all(isinstance(x, str) for x in items):
            raise PolicyError(f"branching_meta_policy.{key} must be a list of strings")
        sets[key] = frozenset(items)
    return BranchingMetaPolicy("allow" if mode == "allow" else "deny", **sets)


def llm_blocked_sqrt(presets: PolicyPresets) -> str:
    """The ``enable_llm_blocked_tag`` preset written in SQRT (empty when disabled)."""
    if not presets.enable_llm_blocked_tag:
        return ""
    return (
        f"/// preset enable_llm_blocked_tag: {QLLM_TOOL} may not read data tagged {LLM_BLOCKED_TAG}\n"
        f'tool "{QLLM_TOOL}" {{ {presets.llm_blocked_tag_enforcement_level} deny when '
        f'"{LLM_BLOCKED_TAG}" in @args.tags; }}\n'
    )


def with_non_executable(meta: Meta) -> Meta:
    return Meta(meta.producers, meta.consumers, meta.tags.union(StrSet(frozenset((NON_EXECUTABLE_TAG,)))), meta.untrusted)


def check_branch(mode: str, policy: BranchingMetaPolicy, condition: Meta) -> Decision:
    """May a branch whose condition carries ``condition`` metadata be taken?

    Only ``custom`` mode enforces ``branching_meta_policy``. Each field is compared by its
    *named* members: a universal consumers set (``"*"``, the default) names nobody, so it never
    matches a consumer list. ``deny`` mode: denied when any field shares a member with its list.
    ``allow`` mode: every named member of every field must be on its list.
    """
    if mode != "custom":
        return Decision("<branch>", "allowed", [], f"branching_meta_policy is not enforced in {mode} mode")
    offending: dict[str, list[str]] = {}
    for key in ("producers", "tags", "consumers"):
        named = getattr(condition, key).items
        listed = getattr(policy, key)
        bad = named & listed if policy.mode == "deny" else named - listed
        if bad:
            offending[key] = sorted(bad)
    if not offending:
        return Decision("<branch>", "allowed", [], "branch condition satisfies branching_meta_policy")
    detail = "; ".join(f"{k} {v}" for k, v in offending.items())
    verb = "on the deny list" if policy.mode == "deny" else "not on the allow list"
    reason = f"the branch condition depends on data whose {detail} {'is' if len(offending) == 1 else 'are'} {verb} of branching_meta_policy"
    fired = FiredRule("branch", "deny", "hard", description=f"branching_meta_policy (mode {policy.mode})",
                      seen={k: getattr(condition, k) for k in ("producers", "tags", "consumers")})
    return Decision("<branch>", "hard_denied", [fired], reason)
