"""Layered resolution: preset < key config < X-Features < X-Policy < X-Config < model/X-Api-Key."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airlock.config import HeaderError, KeyConfigError, ResolvedConfig, parse_model, resolve, validate_key_base


def _resolve(endpoint: str = "chat", **kw: Any) -> ResolvedConfig:
    args = {"key_base": None, "x_features": None, "x_policy": None, "x_config": None, "model": None, "byok_key": None}
    return resolve(endpoint, **{**args, **kw})


KEY = {
    "arch": "dual-llm",
    "features": {"content_classifiers": [{"name": "pii_redaction", "threshold": 0.3}]},
    "policy": {"codes": {"code": "key policy", "language": "cedar"}, "fail_fast": False},
    "config": {"fsm": {"max_n_turns": 7, "max_pllm_steps": 2}, "prompt": {"pllm": {"debug_info_level": "extra"}}},
}


def test_key_overrides_preset():
    r = _resolve(key_base=KEY)
    assert r.fsm.max_n_turns == 7 and r.fsm.max_pllm_steps == 2
    assert r.fsm.disable_rllm is True  # untouched preset value survives the deep merge
    assert r.pllm_prompt.debug_info_level == "extra" and r.pllm_prompt.clarify_ambiguous_queries is True
    assert r.codes.code == "key policy" and r.codes.language == "cedar"
    assert r.policy.fail_fast is False
    assert r.features.content_classifiers[0].threshold == 0.3  # type: ignore[index]


def test_headers_override_key():
    r = _resolve(
        key_base=KEY,
        x_features='{"content_classifiers": [{"name": "toxicity_filter"}]}',
        x_policy='{"codes": {"code": "hdr"}}',
        x_config='{"fsm": {"max_n_turns": 9}}',
    )
    assert r.fsm.max_n_turns == 9
    assert r.fsm.max_pllm_steps == 2  # from the key: only named fields change
    assert [c.name for c in r.features.content_classifiers] == ["toxicity_filter"]  # type: ignore[union-attr]
    # codes is a value object: the header's language default replaces the key's "cedar".
    assert (r.codes.code, r.codes.language) == ("hdr", "sqrt")


def test_lists_replace_not_append():
    r = _resolve(x_config='{"fsm": {"enabled_internal_tools": []}}')
    assert r.fsm.enabled_internal_tools == []
    r = _resolve(key_base={"config": {"fsm": {"force_to_cache": ["a"]}}}, x_config='{"fsm": {"force_to_cache": ["b"]}}')
    assert r.fsm.force_to_cache == ["b"]


def test_branching_meta_policy_replaced_whole():
    key = {"policy": {"presets": {"branching_meta_policy": {"mode": "allow", "tags": ["t"], "producers": ["p"]}}}}
    r = _resolve(key_base=key, x_policy='{"presets": {"branching_meta_policy": {"tags": ["x"]}}}')
    bmp = r.presets.branching_meta_policy
    assert bmp is not None and (bmp.mode, bmp.tags, bmp.producers) == ("deny", frozenset({"x"}), frozenset())
    assert r.presets.default_allow is True


def test_null_in_header_means_not_given():
    r = _resolve(key_base=KEY, x_config='{"fsm": {"disable_rllm": null}}', x_policy='{"fail_fast": null}')
    assert r.fsm.max_n_turns == 7 and r.policy.fail_fast is False and r.fsm.disable_rllm is True


@pytest.mark.parametrize("field", ["max_n_turns", "max_tool_calls_per_step", "detect_tool_error_max_result_length",
                                   "clear_history_every_n_attempts"])
def test_null_is_unlimited_for_the_limits_the_reference_says_so(field):
    """'If null, unlimited turns are allowed' / 'If null, no limit is enforced': an explicit null
    is the value, and it replaces the key's saved limit."""
    key = {**KEY, "config": {"fsm": {field: 3}}}
    assert getattr(_resolve(key_base=key).fsm, field) == 3
    assert getattr(_resolve(key_base=key, x_config=f'{{"fsm": {{"{field}": null}}}}').fsm, field) is None


@pytest.mark.parametrize("field", ["max_pllm_steps", "max_pllm_failed_steps"])
def test_null_is_rejected_for_limits_without_an_unlimited_meaning(field):
    with pytest.raises(HeaderError) as exc:
        _resolve(key_base=KEY, x_config=f'{{"fsm": {{"{field}": null}}}}')
    assert exc.value.header == "X-Config" and exc.value.field == f"fsm.{field}" and "null" in exc.value.message


def test_each_header_independent():
    r = _resolve(x_policy='{"mode": "strict"}')
    assert r.policy.mode == "strict" and r.arch == "dual-llm" and r.fsm.max_n_turns == 5


def test_arch_switch_rebuilds_from_other_preset_but_keeps_key_settings():
    key = {"arch": "single-llm", "policy": {"codes": "tool x"}}
    base = _resolve(key_base=key)
    assert base.arch == "single-llm" and base.fsm.max_n_turns == 50
    assert base.presets.enable_non_executable_memory is False
    switched = _resolve(key_base=key, x_features='{"agent_arch": "dual-llm"}')
    assert switched.arch == "dual-llm" and switched.features.agent_arch == "dual-llm"
    assert switched.fsm.max_n_turns == 5 and switched.presets.enable_non_executable_memory is True
    assert switched.codes.code == "tool x"  # an arch switch cannot shed the key's policy


def test_key_explicit_value_survives_arch_switch_and_header_beats_it():
    key = {"arch": "single-llm", "config": {"fsm": {"max_n_turns": 20}}}
    assert _resolve(key_base=key, x_features='{"agent_arch": "dual-llm"}').fsm.max_n_turns == 20
    r = _resolve(key_base=key, x_features='{"agent_arch": "dual-llm"}', x_config='{"fsm": {"max_n_turns": 2}}')
    assert r.fsm.max_n_turns == 2


def test_arch_sources_in_order():
    assert _resolve(key_base={"arch": "single-llm"}).arch == "single-llm"
    assert _resolve(key_base={"features": {"agent_arch": "single-llm"}}).arch == "single-llm"
    # features.agent_arch in the key is the more specific statement than its top-level arch.
    assert _resolve(key_base={"arch": "dual-llm", "features": {"agent_arch": "single-llm"}}).arch == "single-llm"
    assert _resolve(key_base={"arch": "single-llm"}, x_features='{"content_blockers": []}').arch == "single-llm"
    assert _resolve(x_features='{"agent_arch": "single-llm"}').arch == "single-llm"


def test_langgraph_forces_dual():
    r = _resolve("lang-graph", key_base={"arch": "single-llm"}, x_features='{"agent_arch": "single-llm"}')
    assert r.arch == "dual-llm" and r.features.agent_arch == "dual-llm"
    assert r.presets.enable_non_executable_memory is True


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-5-mini", ("gpt-5-mini", "gpt-5-mini")),
        ("gpt-5-mini,gpt-5-nano", ("gpt-5-mini", "gpt-5-nano")),
        ("  openai/gpt-5-mini ,  openai/gpt-5-nano ", ("openai/gpt-5-mini", "openai/gpt-5-nano")),
        (None, (None, None)),
    ],
)
def test_model_string(model: str | None, expected: tuple[str | None, str | None]):
    assert parse_model(model) == expected
    r = _resolve(model=model)
    assert (r.pllm_model, r.qllm_model) == expected


@pytest.mark.parametrize("model", ["", "  ", "a,", ",b", "a, ", "a,b,c"])
def test_bad_model_string(model: str):
    with pytest.raises(HeaderError) as exc:
        _resolve(model=model)
    assert exc.value.header == "model" and str(exc.value).startswith("model: model: ")


@pytest.mark.parametrize(
    ("kw", "prefix"),
    [
        ({"x_features": '{"agent_arch": "triple-llm"}'}, "X-Features: agent_arch: "),
        ({"x_policy": "{bad"}, "X-Policy: Invalid JSON"),
        ({"x_config": '{"fsm": {"max_n_turns": 0}}'}, "X-Config: fsm.max_n_turns: Input should be greater than or equal to 1"),
        ({"x_config": '{"fsm": {"nope": 1}}'}, "X-Config: fsm.nope: Extra inputs are not permitted"),
        ({"x_config": "[]"}, "X-Config: Header must be a JSON object"),
    ],
)
def test_header_errors_surface(kw: dict[str, str], prefix: str):
    with pytest.raises(HeaderError) as exc:
        _resolve(**kw)
    assert str(exc.value).startswith(prefix)


def test_byok_key_hidden():
    r = _resolve(byok_key=" sk-secret-123 ", model="m")
    assert r.byok_key is not None and r.byok_key.get_secret_value() == "sk-secret-123"
    public = r.to_public_json()
    assert "sk-secret-123" not in json.dumps(public)
    assert "byok_key" not in public and public["byok"] is True
    assert "sk-secret-123" not in repr(r) and "sk-secret-123" not in str(r)
    assert _resolve(byok_key="").byok_key is None
    assert _resolve().to_public_json()["byok"] is False


def test_public_json_round_trip():
    r = _resolve(
        key_base=KEY,
        x_policy='{"presets": {"branching_meta_policy": {"tags": ["b", "a"]}}}',
        model="p,q",
        byok_key="k",
    )
    back = ResolvedConfig.from_public_json(json.loads(json.dumps(r.to_public_json())), byok_key="k")
    assert back == r


def test_resolved_is_frozen():
    r = _resolve()
    with pytest.raises(Exception):
        r.arch = "single-llm"  # type: ignore[misc]
    with pytest.raises(Exception):
        r.fsm.max_n_turns = 99  # type: ignore[misc]


def test_key_base_does_not_leak_between_calls():
    key = {"config": {"fsm": {"force_to_cache": ["a"]}}}
    _resolve(key_base=key, x_config='{"fsm": {"force_to_cache": ["b"]}}')
    assert key == {"config": {"fsm": {"force_to_cache": ["a"]}}}
    assert _resolve().fsm.force_to_cache == []


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ({"arch": "triple-llm"}, "key config arch: agent_arch"),
        ({"config": {"fsm": {"max_n_turns": 0}}}, "key config config: fsm.max_n_turns"),
        ({"policy": {"bogus": 1}}, "key config policy: bogus"),
        ({"extras": {}}, "unknown sections: extras"),
    ],
)
def test_bad_key_base(key: dict[str, Any], fragment: str):
    with pytest.raises(KeyConfigError, match=fragment):
        validate_key_base(key)
    with pytest.raises(KeyConfigError):
        _resolve(key_base=key)


def test_validate_key_base_strips_nulls():
    assert validate_key_base({"config": {"fsm": {"max_n_turns": 3, "disable_rllm": None}}}) == {
        "config": {"fsm": {"max_n_turns": 3}}
    }
    assert validate_key_base(None) == {} and validate_key_base({}) == {}


def test_regex_fields_must_be_re2_patterns():
    import pytest as _pytest

    from airlock.config import HeaderError, resolve

    with _pytest.raises(HeaderError) as err:
        resolve("chat", key_base=None, x_features=None, x_policy=None,
                x_config='{"fsm": {"detect_tool_error_regex_pattern": "(?=error)x"}}', model="m", byok_key=None)
    assert "fsm.detect_tool_error_regex_pattern" in str(err.value) and "RE2" in str(err.value)
