"""Built-in presets: the server defaults every request starts from (step 1 of resolution).

A preset is a plain dict shaped like the three headers (``features``/``policy``/``config``) so
that it layers with the same deep-merge as key configs and headers. It is assembled from
``_COMMON`` + the arch's differences + the endpoint type's differences, and it fills every
field except those in ``NULLABLE`` (where ``None`` is itself the default, e.g. "no limit").

Where the two architectures differ (see ``_ARCH``):

* ``fsm.max_n_turns``: single-llm 50 (the reference client's single-llm helper), dual-llm 5.
* ``presets.enable_non_executable_memory``: single-llm ``false`` (no program, no memory to
  protect; the reference lists it as unsupported there), dual-llm ``true``.

Every other default is shared; dual-llm-only settings are simply unused by single-llm.
Where endpoint types differ (see ``_ENDPOINT``): ``code`` uses the ``code`` PLLM prompt flavor
(reference release 0.4.2). ``lang-graph`` always runs dual-llm (``FORCED_ARCH``).
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from .headers import AgentArch
from .merge import deep_merge

EndpointType: TypeAlias = Literal["chat", "code", "lang-graph"]
ENDPOINT_TYPES: tuple[str, ...] = ("chat", "code", "lang-graph")
ARCHES: tuple[str, ...] = ("single-llm", "dual-llm")

# Secure by design: without a key config or X-Features every endpoint runs the CaMeL design.
DEFAULT_ARCH: dict[str, AgentArch] = {"chat": "dual-llm", "code": "dual-llm", "lang-graph": "dual-llm"}
# The reference: LangGraph runs dual-llm even when X-Features asks for single-llm.
FORCED_ARCH: dict[str, AgentArch] = {"lang-graph": "dual-llm"}

_PROMPT = {"flavor": "universal", "version": "latest"}

_COMMON: dict[str, Any] = {
    "features": {"content_classifiers": [], "content_blockers": []},
    "policy": {
        "mode": "standard",
        "codes": {"code": "", "language": "sqrt"},
        "auto_gen": False,
        "fail_fast": True,
        "presets": {
            "default_allow": True,
            "default_allow_enforcement_level": "soft",
            "enable_non_executable_memory": True,
            "branching_meta_policy": {"mode": "deny", "producers": [], "tags": [], "consumers": []},
            "enable_llm_blocked_tag": True,
            "llm_blocked_tag_enforcement_level": "hard",
        },
    },
    "config": {
        "fsm": {
            "min_num_tools_for_filtering": 10,
            "clear_session_meta": "never",
            "max_n_turns": 5,
            # Repairs the stored history to the last consistent point instead of failing
            # clients that re-send a slightly different transcript.
            "history_mismatch_policy": "restart_turn",
            "clear_history_every_n_attempts": None,
            "disable_rllm": True,
            "enable_multistep_planning": False,
            "enabled_internal_tools": ["parse_with_ai", "verify_hypothesis"],
            "prune_failed_steps": True,
            "force_to_cache": [],
            # The reference gives no number; bounded so a failing planner cannot loop forever.
            "max_pllm_steps": 5,
            "max_pllm_failed_steps": 3,
            "max_tool_calls_per_step": None,
            "reduced_grammar_for_rllm_review": "text",
            "retry_on_policy_violation": False,
            "wrap_tool_result": False,
            "detect_tool_errors": "none",
            "detect_tool_error_regex_pattern": None,
            "detect_tool_error_max_result_length": None,
            "strict_tool_result_parsing": False,
            "tool_result_transform": "none",
        },
        "prompt": {
            "pllm": {
                **_PROMPT,
                "clarify_ambiguous_queries": True,
                # Untrusted text must not reach the planner: show variable types, never text.
                "context_var_visibility": "basic-notext",
                # System/developer messages are trusted instructions; tool/assistant are not.
                "query_inline_roles": ["system", "developer"],
                "query_role_name_overrides": {},
                "query_include_tool_calls": False,
                "query_include_tool_args": False,
                "query_include_tool_results": False,
                "debug_info_level": "normal",
            },
            "rllm": {**_PROMPT, "debug_info_level": "normal"},
            "grllm": dict(_PROMPT),
            "qllm": dict(_PROMPT),
            "tllm": {**_PROMPT, "add_tool_description": True, "add_tool_input_schema": True},
            "tagllm": dict(_PROMPT),
            "policy_llm": dict(_PROMPT),
            "error_detector_llm": dict(_PROMPT),
        },
        "response_format": {
            "strip_response_content": False,
            "stream_thoughts": False,
            "include_program": False,
            "include_policy_check_history": False,
            "include_namespace_snapshot": False,
        },
    },
}

_ARCH: dict[str, dict[str, Any]] = {
    "single-llm": {
        "policy": {"presets": {"enable_non_executable_memory": False}},
        "config": {"fsm": {"max_n_turns": 50}},
    },
    "dual-llm": {},
}

_ENDPOINT: dict[str, dict[str, Any]] = {
    "chat": {},
    "code": {"config": {"prompt": {"pllm": {"flavor": "code"}}}},
    "lang-graph": {},
}

# Resolved fields whose default is ``None`` on purpose (``None`` = no limit / not used).
NULLABLE: frozenset[str] = frozenset(
    {
        "features.content_classifiers[].mode",
        "config.fsm.clear_history_every_n_attempts",
        "config.fsm.max_tool_calls_per_step",
        "config.fsm.detect_tool_error_regex_pattern",
        "config.fsm.detect_tool_error_max_result_length",
    }
)


class ServerInternals(BaseModel):
    """Server-side knobs with no header field in the reference; fixed per deployment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_pllm_plans: int = Field(1, ge=1)  # programs drafted per planning attempt
    pllm_context_pruning: bool = True  # drop stale context from the planner prompt


def effective_arch(endpoint_type: str, requested: AgentArch | None) -> AgentArch:
    """The arch a request runs with: forced per endpoint, else requested, else the default."""
    return FORCED_ARCH.get(endpoint_type) or requested or DEFAULT_ARCH[endpoint_type]


def preset(endpoint_type: str, arch: AgentArch) -> dict[str, Any]:
    """A fresh copy of the preset dict ``{"features", "policy", "config"}`` for the pair.

    Merged once per pair and copied by structure: three ``copy.deepcopy`` calls per resolve
    were 0.24 ms of each new request shape's ~0.4 ms (its memo, the id checks)."""
    if endpoint_type not in ENDPOINT_TYPES:
        raise ValueError(f"unknown endpoint type {endpoint_type!r}; expected one of {', '.join(ENDPOINT_TYPES)}")
    if arch not in ARCHES:
        raise ValueError(f"unknown agent arch {arch!r}; expected one of {', '.join(ARCHES)}")
    return _plain_copy(_merged_preset(endpoint_type, arch))


@lru_cache(maxsize=None)
def _merged_preset(endpoint_type: str, arch: AgentArch) -> dict[str, Any]:
    """Never handed out: ``preset`` returns copies, which the resolver merges into."""
    out = copy.deepcopy(_COMMON)
    deep_merge(out, copy.deepcopy(_ARCH[arch]))
    deep_merge(out, copy.deepcopy(_ENDPOINT[endpoint_type]))
    out["features"]["agent_arch"] = arch
    return out


def _plain_copy(value: Any) -> Any:
    """A copy of JSON-shaped data (dicts and lists copied, everything else immutable and shared)."""
    if isinstance(value, dict):
        return {k: _plain_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_copy(v) for v in value]
    return value
