"""Config → the session's policy: the one place both agents get their policy from.

The single-LLM guard and the dual-LLM engine call ``session_policy(config, planner)``; worker
processes can rebuild the same policy from ``policy_spec(config, planner).to_json()``.

Layers (``airlock.policy.PolicySpec``), in authority order:

1. base — ``config.policy.codes`` with the resolved presets and mode. It is the key's code, or
   the header's when the key's policy is not locked and the header replaced it
   (``config.codes_authority``);
2. ``header`` — under a locked key, the header's code (``config.header_codes``), restrict-only;
3. ``header`` — the policy ``X-Policy.auto_gen`` generated from the request's tools, restrict-only;
4. ``planner`` — one per ``set_policy`` code accepted so far, restrict-only in every mode.
"""

from __future__ import annotations

from typing import Any, Sequence

from airlock.policy import LayerError, LayerSpec, PolicyError, PolicyPresets, PolicySpec, PolicyStack, build_policy, compile_policy
from airlock.policy.authority import ADDITIONAL_PRESETS


class PolicyConfigError(Exception):
    """A layer's policy does not compile. ``authority`` says whose: ``header`` (the client's, a
    400 naming X-Policy), ``key`` (the operator's saved policy) or ``planner``."""

    def __init__(self, authority: str, message: str) -> None:
        super().__init__(message)
        self.authority = authority


def policy_spec(config: Any, planner: Sequence[str] = (), generated: str | None = None) -> PolicySpec:
    """``generated``: the session's ``X-Policy.auto_gen`` policy (``dual_llm.auto_policy``), an
    additional ``header`` layer — the header asked for it — so, like any additional layer, it
    can only add restrictions to the key's and the header's own code."""
    codes = config.codes
    base = LayerSpec(config.codes_authority, (codes.code,) if codes.code.strip() else (), codes.language,
                     PolicyPresets.from_value(config.presets), config.policy.mode, bool(config.policy.fail_fast))
    spec = PolicySpec((base,))
    header = config.header_codes
    if header is not None and header.code.strip():
        spec = spec.with_layer(LayerSpec("header", (header.code,), header.language, ADDITIONAL_PRESETS,
                                         fail_fast=bool(config.policy.fail_fast)))
    if generated is not None:
        spec = spec.with_layer(LayerSpec("header", (generated,), "sqrt", ADDITIONAL_PRESETS,
                                         fail_fast=bool(config.policy.fail_fast)))
    for code in planner:
        spec = spec.with_layer(LayerSpec("planner", (code,)))
    return spec


def default_policy_specs() -> list[PolicySpec]:
    """The policy stacks of dual-LLM sessions under the default config, one per mode: what the
    server and its program workers build before the first run (a worker compiling the dual-LLM preset stack
    inside the first session's first run cost it 2.5 ms, ``bench/dual_llm_scale.py``)."""
    import json

    from airlock.config.resolver import resolve
    from airlock.policy.presets import MODES

    # No X-Policy at all is a stack of its own (its mode is unset, not "standard"): the first
    # session without the header compiled it inside its resolve (0.7 ms).
    return [policy_spec(resolve("chat", key_base={"arch": "dual-llm"}, x_features=None,
                                x_policy=json.dumps({"mode": mode}) if mode else None, x_config=None, model=None,
                                byok_key=None))
            for mode in (None, *MODES)]


def session_policy(config: Any, planner: Sequence[str] = (), generated: str | None = None) -> PolicyStack:
    """The compiled (cached) stack for a resolved config plus the planner's policies."""
    try:
        return build_policy(policy_spec(config, planner, generated))
    except LayerError as exc:
        raise PolicyConfigError(exc.authority, str(exc)) from None
    except PolicyError as exc:  # a malformed spec: the config itself is inconsistent
        raise PolicyConfigError(config.codes_authority, str(exc)) from None


def planner_code_error(code: Any) -> str | None:
    """Why ``set_policy`` code cannot become a planner layer (``None`` when it can)."""
    if not isinstance(code, str) or not code.strip():
        return "set_policy needs SQRT code as a non-empty string"
    try:
        compile_policy(code, presets=ADDITIONAL_PRESETS)
    except PolicyError as exc:
        return f"invalid SQRT policy: {exc}"
    return None


__all__ = ["PolicyConfigError", "default_policy_specs", "planner_code_error", "policy_spec", "session_policy"]
