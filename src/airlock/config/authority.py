"""How a request's headers combine with a key whose saved policy is *locked*.

Without a lock the headers override the key (deep merge, ``codes`` replaced whole). Under a lock
nothing a client sends may weaken what the operator saved:

* ``X-Policy.codes`` is not a replacement but an additional, restrict-only policy
  (``ResolvedConfig.header_codes``, run as the ``header`` layer of the policy stack);
* every ``X-Policy.presets`` field and ``X-Policy.mode`` take the *stricter* of the key's value
  and the header's (``STRICTER`` below), so a header can tighten them and never loosen them;
* ``X-Config.fsm.clear_session_meta`` likewise: clearing session metadata more often would drop
  restrictions the key's policy put there, so the rarer clearing wins;
* ``X-Features.agent_arch`` may not switch a dual-LLM key to single-LLM: single-LLM mode has
  no data-flow metadata, so the key's tag- and producer-based rules would never fire. Switching
  a single-LLM key to dual-LLM only adds protection and is allowed.

``fail_fast`` and ``auto_gen`` change how a verdict is recorded, not what it is, and keep
header precedence.
"""

from __future__ import annotations

from typing import Any, Callable

_LEVEL = {"soft": 0, "hard": 1}
_MODE = {"standard": 0, "strict": 1, "custom": 2}
_CLEARING = {"never": 0, "every_turn": 1, "every_attempt": 2}


def _stricter_level(a: str, b: str) -> str:
    return a if _LEVEL[a] >= _LEVEL[b] else b


def stricter_mode(a: str, b: str) -> str:
    return a if _MODE[a] >= _MODE[b] else b


def rarer_clearing(a: str, b: str) -> str:
    return a if _CLEARING[a] <= _CLEARING[b] else b


def stricter_branching(key: dict[str, Any], header: dict[str, Any]) -> dict[str, Any]:
    """One ``branching_meta_policy`` that denies every branch either one denies.

    deny + deny: deny the union of the lists. allow + allow: allow only the intersection.
    allow A + deny D: every named member must be in A and not in D, i.e. allow ``A - D``.
    """
    fields = ("producers", "tags", "consumers")
    k_mode, h_mode = key.get("mode", "deny"), header.get("mode", "deny")
    k = {f: set(key.get(f) or ()) for f in fields}
    h = {f: set(header.get(f) or ()) for f in fields}
    if k_mode == h_mode == "deny":
        return {"mode": "deny", **{f: sorted(k[f] | h[f]) for f in fields}}
    if k_mode == h_mode == "allow":
        return {"mode": "allow", **{f: sorted(k[f] & h[f]) for f in fields}}
    allow, deny = (k, h) if k_mode == "allow" else (h, k)
    return {"mode": "allow", **{f: sorted(allow[f] - deny[f]) for f in fields}}


# preset field -> how the key's and the header's values combine under a lock
STRICTER: dict[str, Callable[[Any, Any], Any]] = {
    "default_allow": lambda k, h: k and h,
    "default_allow_enforcement_level": _stricter_level,
    "enable_non_executable_memory": lambda k, h: k or h,
    "enable_llm_blocked_tag": lambda k, h: k or h,
    "llm_blocked_tag_enforcement_level": _stricter_level,
    "branching_meta_policy": stricter_branching,
}


def stricter_presets(key: dict[str, Any], header: dict[str, Any]) -> dict[str, Any]:
    """``key`` (fully defaulted presets) tightened field by field by ``header`` (partial)."""
    out = dict(key)
    for name, value in header.items():
        if value is None:
            continue
        out[name] = STRICTER[name](key[name], value) if key.get(name) is not None else value
    return out
