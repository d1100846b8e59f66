"""Server defaults: every resolved field, per endpoint type and arch."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from airlock.config import resolve
from airlock.config.defaults import ARCHES, ENDPOINT_TYPES, NULLABLE, preset
from airlock.config.headers import XConfig, XFeatures, XPolicy

_P = {"flavor": "universal", "version": "latest"}

# Every leaf of the chat/dual-llm resolution. The completeness test below fails when a model gains
# a field that is missing here, so a new field cannot ship without a stated default.
CHAT_DUAL: dict[str, Any] = {
    "features.agent_arch": "dual-llm",
    "features.content_classifiers": [],
    "features.content_blockers": [],
    "policy.mode": "standard",
    "policy.codes.code": "",
    "policy.codes.language": "sqrt",
    "policy.auto_gen": False,
    "policy.fail_fast": True,
    "policy.presets.default_allow": True,
    "policy.presets.default_allow_enforcement_level": "soft",
    "policy.presets.enable_non_executable_memory": True,
    "policy.presets.branching_meta_policy.mode": "deny",
    "policy.presets.branching_meta_policy.producers": [],
    "policy.presets.branching_meta_policy.tags": [],
    "policy.presets.branching_meta_policy.consumers": [],
    "policy.presets.enable_llm_blocked_tag": True,
    "policy.presets.llm_blocked_tag_enforcement_level": "hard",
    "config.fsm.min_num_tools_for_filtering": 10,
    "config.fsm.clear_session_meta": "never",
    "config.fsm.max_n_turns": 5,
    "config.fsm.history_mismatch_policy": "restart_turn",
    "config.fsm.clear_history_every_n_attempts": None,
    "config.fsm.disable_rllm": True,
    "config.fsm.enable_multistep_planning": False,
    "config.fsm.enabled_internal_tools": ["parse_with_ai", "verify_hypothesis"],
    "config.fsm.prune_failed_steps": True,
    "config.fsm.force_to_cache": [],
    "config.fsm.max_pllm_steps": 5,
    "config.fsm.max_pllm_failed_steps": 3,
    "config.fsm.max_tool_calls_per_step": None,
    "config.fsm.reduced_grammar_for_rllm_review": "text",
    "config.fsm.retry_on_policy_violation": False,
    "config.fsm.wrap_tool_result": False,
    "config.fsm.detect_tool_errors": "none",
    "config.fsm.detect_tool_error_regex_pattern": None,
    "config.fsm.detect_tool_error_max_result_length": None,
    "config.fsm.strict_tool_result_parsing": False,
    "config.fsm.tool_result_transform": "none",
    "config.prompt.pllm.flavor": "universal",
    "config.prompt.pllm.version": "latest",
    "config.prompt.pllm.clarify_ambiguous_queries": True,
    "config.prompt.pllm.context_var_visibility": "basic-notext",
    "config.prompt.pllm.query_inline_roles": ["system", "developer"],
    "config.prompt.pllm.query_role_name_overrides": {},
    "config.prompt.pllm.query_include_tool_calls": False,
    "config.prompt.pllm.query_include_tool_args": False,
    "config.prompt.pllm.query_include_tool_results": False,
    "config.prompt.pllm.debug_info_level": "normal",
    "config.prompt.rllm.flavor": "universal",
    "config.prompt.rllm.version": "latest",
    "config.prompt.rllm.debug_info_level": "normal",
    "config.prompt.tllm.flavor": "universal",
    "config.prompt.tllm.version": "latest",
    "config.prompt.tllm.add_tool_description": True,
    "config.prompt.tllm.add_tool_input_schema": True,
    **{f"config.prompt.{llm}.{k}": v for llm in ("grllm", "qllm", "tagllm", "policy_llm", "error_detector_llm") for k, v in _P.items()},
    "config.response_format.strip_response_content": False,
    "config.response_format.stream_thoughts": False,
    "config.response_format.include_program": False,
    "config.response_format.include_policy_check_history": False,
    "config.response_format.include_namespace_snapshot": False,
}


def _leaves(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and key != "query_role_name_overrides":
            out.update(_leaves(value, path + "."))
        else:
            out[path] = value
    return out


def _model_leaves(model: type[BaseModel], prefix: str) -> set[str]:
    """Every leaf field path of a header model (nested models expanded, lists of models not)."""
    out: set[str] = set()
    for name, info in model.model_fields.items():
        inner = [a for a in getattr(info.annotation, "__args__", (info.annotation,)) if isinstance(a, type) and issubclass(a, BaseModel)]
        if inner:
            out |= _model_leaves(inner[0], f"{prefix}{name}.")
        else:
            out.add(f"{prefix}{name}")
    return out


def _resolve(endpoint: str = "chat", **kw: Any):
    args = {"key_base": None, "x_features": None, "x_policy": None, "x_config": None, "model": None, "byok_key": None}
    return resolve(endpoint, **{**args, **kw})


def test_chat_dual_defaults_every_field():
    got = _leaves(_resolve().to_public_json())
    for path, expected in CHAT_DUAL.items():
        assert got[path] == expected, path


def test_expected_table_covers_every_model_field():
    fields = _model_leaves(XFeatures, "features.") | _model_leaves(XPolicy, "policy.") | _model_leaves(XConfig, "config.")
    assert fields == set(CHAT_DUAL)


@pytest.mark.parametrize("endpoint", ENDPOINT_TYPES)
@pytest.mark.parametrize("arch", ARCHES)
def test_every_preset_is_complete_and_valid(endpoint: str, arch: str):
    p = preset(endpoint, arch)  # type: ignore[arg-type]
    XFeatures.model_validate(p["features"])
    XPolicy.model_validate(p["policy"])
    XConfig.model_validate(p["config"])
    for section in ("features", "policy", "config"):
        for path, value in _leaves(p[section], section + ".").items():
            assert value is not None or path in NULLABLE, path
    assert set(_leaves(p["features"], "features.")) | set(_leaves(p["policy"], "policy.")) | set(
        _leaves(p["config"], "config.")
    ) == set(CHAT_DUAL)


def test_presets_are_fresh_copies():
    p = preset("chat", "dual-llm")
    p["config"]["fsm"]["force_to_cache"].append("x")
    assert preset("chat", "dual-llm")["config"]["fsm"]["force_to_cache"] == []


def test_single_llm_differences():
    single = _leaves(_resolve(x_features='{"agent_arch": "single-llm"}').to_public_json())
    diffs = {p for p in CHAT_DUAL if single[p] != CHAT_DUAL[p]}
    assert diffs == {"features.agent_arch", "config.fsm.max_n_turns", "policy.presets.enable_non_executable_memory"}
    assert single["config.fsm.max_n_turns"] == 50
    assert single["policy.presets.enable_non_executable_memory"] is False


def test_code_endpoint_uses_code_flavor():
    assert _resolve("code").pllm_prompt.flavor == "code"
    assert _resolve("chat").pllm_prompt.flavor == "universal"


def test_default_arch_and_langgraph_forced():
    assert _resolve("chat").arch == "dual-llm"
    lg = _resolve("lang-graph", x_features='{"agent_arch": "single-llm"}', key_base={"arch": "single-llm"})
    assert lg.arch == "dual-llm" and lg.features.agent_arch == "dual-llm"
    assert lg.fsm.max_n_turns == 5


def test_internals():
    r = _resolve()
    assert r.internals.n_pllm_plans == 1
    assert r.internals.pllm_context_pruning is True


def test_unknown_endpoint_and_arch_rejected():
    with pytest.raises(ValueError, match="agent"):
        preset("agent", "dual-llm")
    with pytest.raises(ValueError, match="triple"):
        preset("chat", "triple-llm")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        _resolve("agent")
