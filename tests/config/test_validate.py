"""``validate_headers`` against the exact header strings the official sequrity 0.4.2 client sends
(``test/control/test_headers.py`` and ``test_header_overrides.py``), checking what they assert."""

from __future__ import annotations

import json

import pytest
from sequrity.control.types.headers import (
    ConstraintConfig,
    ControlFlowMetaPolicy,
    FeaturesHeader,
    FineGrainedConfigHeader,
    FsmOverrides,
    InternalPolicyPresets,
    PllmPromptOverrides,
    PolicyCode,
    PromptOverrides,
    ResponseFormatOverrides,
    SecurityPolicyHeader,
    TaggerConfig,
)

from airlock.config import resolve, validate_headers


def _features(h: FeaturesHeader | str) -> dict:
    raw = h if isinstance(h, str) else h.dump_for_headers()
    return validate_headers(raw, None, None)["x_features"]


def _policy(h: SecurityPolicyHeader | str) -> dict:
    raw = h if isinstance(h, str) else h.dump_for_headers()
    return validate_headers(None, raw, None)["x_policy"]


def _config(h: FineGrainedConfigHeader | str) -> dict:
    raw = h if isinstance(h, str) else h.dump_for_headers()
    return validate_headers(None, None, raw)["x_config"]


def _valid(result: dict) -> dict:
    assert result["valid"] is True, result["errors"]
    assert result["errors"] == []
    return result["normalized"]


def _invalid(result: dict) -> list[str]:
    assert result["valid"] is False
    assert result["normalized"] is None
    assert result["errors"]
    return result["errors"]


# ---------------------------------------------------------------- X-Features


def test_features_single_and_dual_default():
    assert _valid(_features(FeaturesHeader.single_llm()))["agent_arch"] == "single-llm"
    assert _valid(_features(FeaturesHeader.dual_llm()))["agent_arch"] == "dual-llm"


def test_features_classifiers_and_blockers():
    n = _valid(_features(FeaturesHeader.single_llm(toxicity_filter=True, pii_redaction=True)))
    assert {c["name"] for c in n["content_classifiers"]} == {"toxicity_filter", "pii_redaction"}
    n = _valid(_features(FeaturesHeader.single_llm(url_blocker=True)))
    assert n["content_blockers"][0]["name"] == "url_blocker"
    n = _valid(_features(FeaturesHeader.dual_llm(toxicity_filter=True, healthcare_guardrail=True, url_blocker=True, file_blocker=True)))
    assert len(n["content_classifiers"]) == 2 and len(n["content_blockers"]) == 2
    n = _valid(
        _features(
            FeaturesHeader.single_llm(
                toxicity_filter=True, pii_redaction=True, healthcare_guardrail=True, finance_guardrail=True, url_blocker=True
            )
        )
    )
    assert {c["name"] for c in n["content_classifiers"]} == {
        "toxicity_filter",
        "pii_redaction",
        "healthcare_topic_guardrail",
        "finance_topic_guardrail",
    }


def test_features_custom_thresholds():
    header = FeaturesHeader(
        agent_arch="dual-llm",
        content_classifiers=[
            TaggerConfig(name="toxicity_filter", threshold=0.7, mode="normal"),
            TaggerConfig(name="pii_redaction", threshold=0.6, mode="strict"),
        ],
        content_blockers=[ConstraintConfig(name="url_blocker")],
    )
    n = _valid(_features(header))
    assert n["content_classifiers"][1] == {"name": "pii_redaction", "threshold": 0.6, "mode": "strict"}


def test_features_invalid():
    assert _invalid(_features('{"agent_arch": "triple-llm"}'))[0].startswith("X-Features: agent_arch: ")
    assert any("unknown_field" in e for e in _invalid(_features('{"agent_arch": "single-llm", "unknown_field": 123}')))
    assert any("Invalid JSON" in e for e in _invalid(_features("not valid json{{{")))


# ---------------------------------------------------------------- X-Policy


def test_policy_defaults_and_codes():
    assert _valid(_policy(SecurityPolicyHeader.single_llm()))["mode"] == "standard"
    assert _valid(_policy(SecurityPolicyHeader.dual_llm()))["mode"] == "standard"
    n = _valid(_policy(SecurityPolicyHeader.single_llm(codes='tool "test" { must allow always; }')))
    assert n["codes"] == {"code": 'tool "test" { must allow always; }', "language": "sqrt"}
    assert _valid(_policy(SecurityPolicyHeader.dual_llm(auto_gen=True)))["auto_gen"] is True


def test_policy_branching():
    header = SecurityPolicyHeader.dual_llm(branching_meta_policy_mode="allow", branching_meta_policy_tags={"tag1", "tag2"})
    bmp = _valid(_policy(header))["presets"]["branching_meta_policy"]
    assert bmp["mode"] == "allow" and bmp["tags"] == ["tag1", "tag2"]


@pytest.mark.parametrize("mode", ["standard", "strict", "custom"])
def test_policy_modes(mode):
    header = SecurityPolicyHeader.dual_llm(
        mode=mode, codes="", auto_gen=False, fail_fast=True, default_allow=True, enable_non_executable_memory=True
    )
    assert _valid(_policy(header))["mode"] == mode


def test_policy_all_entries_set():
    header = SecurityPolicyHeader(
        mode="standard",
        codes=PolicyCode(),
        auto_gen=False,
        fail_fast=True,
        presets=InternalPolicyPresets(
            default_allow=True,
            enable_non_executable_memory=True,
            branching_meta_policy=ControlFlowMetaPolicy(
                mode="deny",
                producers={"test_producer"},
                tags={"__non_executable", "__tool/parse_with_ai"},
                consumers={"test_consumer"},
            ),
            enable_llm_blocked_tag=False,
            llm_blocked_tag_enforcement_level="hard",
        ),
    )
    n = _valid(_policy(header))
    assert n["presets"]["enable_llm_blocked_tag"] is False
    assert n["presets"]["branching_meta_policy"]["consumers"] == ["test_consumer"]


def test_policy_invalid():
    assert _invalid(_policy('{"mode": "ultra-strict"}'))
    assert _invalid(_policy('{"mode": "standard", "bogus": true}'))
    assert any("Invalid JSON" in e for e in _invalid(_policy("{bad json")))


# ---------------------------------------------------------------- X-Config


def test_config_defaults():
    _valid(_config(FineGrainedConfigHeader.single_llm()))
    n = _valid(_config(FineGrainedConfigHeader.dual_llm()))
    assert n["fsm"]["max_n_turns"] == 5 and n["fsm"]["disable_rllm"] is True


def test_config_single_fields():
    assert _valid(_config(FineGrainedConfigHeader.dual_llm(max_pllm_steps=8)))["fsm"]["max_pllm_steps"] == 8
    assert _valid(_config(FineGrainedConfigHeader.dual_llm(max_pllm_failed_steps=3)))["fsm"]["max_pllm_failed_steps"] == 3
    assert _valid(_config(FineGrainedConfigHeader.dual_llm(disable_rllm=True)))["fsm"]["disable_rllm"] is True
    n = _valid(_config(FineGrainedConfigHeader.dual_llm(include_program=True, include_policy_check_history=True)))
    assert n["response_format"]["include_program"] is True
    assert n["response_format"]["include_policy_check_history"] is True


def test_config_all_entries_set():
    header = FineGrainedConfigHeader(
        fsm=FsmOverrides(
            max_pllm_steps=3,
            max_pllm_failed_steps=2,
            clear_history_every_n_attempts=2,
            retry_on_policy_violation=True,
            force_to_cache=["my_tool_.*"],
            min_num_tools_for_filtering=5,
            clear_session_meta="every_attempt",
            disable_rllm=False,
            reduced_grammar_for_rllm_review=True,
            max_n_turns=3,
            enable_multistep_planning=True,
            prune_failed_steps=True,
            enabled_internal_tools=["parse_with_ai", "verify_hypothesis"],
            max_tool_calls_per_step=100,
        ),
        prompt=PromptOverrides(
            pllm=PllmPromptOverrides(debug_info_level="extra", clarify_ambiguous_queries=True, context_var_visibility="basic-notext"),
        ),
        response_format=ResponseFormatOverrides(
            strip_response_content=False, include_program=True, include_policy_check_history=True, include_namespace_snapshot=True
        ),
    )
    n = _valid(_config(header))
    assert n == json.loads(header.dump_for_headers())  # nothing lost, nothing invented


def test_config_invalid():
    assert _invalid(_config('{"fsm": {"max_n_turns": 5}, "nonexistent": true}'))
    assert any("Invalid JSON" in e for e in _invalid(_config("}{not json")))


# ---------------------------------------------------------------- combined


def test_all_three_valid():
    body = validate_headers(
        FeaturesHeader.dual_llm(toxicity_filter=True).dump_for_headers(),
        SecurityPolicyHeader.dual_llm(mode="standard").dump_for_headers(),
        FineGrainedConfigHeader.dual_llm(max_n_turns=10).dump_for_headers(),
    )
    assert all(body[k]["valid"] is True for k in ("x_features", "x_policy", "x_config"))


def test_no_headers():
    assert validate_headers(None, None, None) == {"x_features": None, "x_policy": None, "x_config": None}


def test_partial_valid_partial_invalid():
    body = validate_headers(FeaturesHeader.single_llm().dump_for_headers(), "{invalid json!", None)
    assert body["x_features"]["valid"] is True
    assert body["x_policy"]["valid"] is False
    assert body["x_config"] is None


def test_body_is_json_serialisable():
    body = validate_headers(SecurityPolicyHeader.dual_llm().dump_for_headers(), "[]", "{")
    json.dumps(body)


# ---------------------------------------------------------------- dump_for_headers(overrides=...)


def test_overrides_of_known_fields_are_applied():
    """``test_header_overrides.py`` style overrides of existing fields validate and take effect."""
    r = resolve(
        "chat",
        key_base=None,
        x_features=FeaturesHeader.single_llm().dump_for_headers(overrides={"agent_arch": "dual-llm"}),
        x_policy=SecurityPolicyHeader.dual_llm().dump_for_headers(overrides={"presets": {"default_allow": False}, "mode": "strict"}),
        x_config=FineGrainedConfigHeader.dual_llm(pllm_debug_info_level="minimal").dump_for_headers(
            overrides={"fsm": {"max_n_turns": 20}, "prompt": {"pllm": {"debug_info_level": "extra"}}}
        ),
        model="m",
        byok_key=None,
    )
    assert r.arch == "dual-llm" and r.policy.mode == "strict" and r.presets.default_allow is False
    assert r.fsm.max_n_turns == 20 and r.pllm_prompt.debug_info_level == "extra"


def test_overrides_of_unknown_fields_are_rejected():
    """We forbid unknown fields server-side too: a typo must not silently become a no-op."""
    raw = FineGrainedConfigHeader.single_llm().dump_for_headers(overrides={"fsm": {"custom_setting": "enabled"}})
    assert _invalid(_config(raw)) == ["X-Config: fsm.custom_setting: Extra inputs are not permitted"]
    raw = SecurityPolicyHeader.single_llm().dump_for_headers(overrides={"presets": {"custom_preset": {"level": "high"}}})
    assert _invalid(_policy(raw)) == ["X-Policy: presets.custom_preset: Extra inputs are not permitted"]
