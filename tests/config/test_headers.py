"""Header models and parsing: strictness, ranges, nesting, error messages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airlock.config.parse import HeaderError, parse_header

# A path into each header that reaches every nested object (list items need their required name).
NESTED: list[tuple[str, dict[str, Any], str]] = [
    ("X-Features", {}, ""),
    ("X-Features", {"content_classifiers": [{"name": "pii_redaction"}]}, "content_classifiers[0]."),
    ("X-Features", {"content_blockers": [{"name": "url_blocker"}]}, "content_blockers[0]."),
    ("X-Policy", {}, ""),
    ("X-Policy", {"codes": {}}, "codes."),
    ("X-Policy", {"presets": {}}, "presets."),
    ("X-Policy", {"presets": {"branching_meta_policy": {}}}, "presets.branching_meta_policy."),
    ("X-Config", {}, ""),
    ("X-Config", {"fsm": {}}, "fsm."),
    ("X-Config", {"prompt": {}}, "prompt."),
    ("X-Config", {"response_format": {}}, "response_format."),
    *[
        ("X-Config", {"prompt": {llm: {}}}, f"prompt.{llm}.")
        for llm in ("pllm", "rllm", "grllm", "qllm", "tllm", "tagllm", "policy_llm", "error_detector_llm")
    ],
]


def _insert_bogus(data: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Add ``bogus: 1`` at the object that ``prefix`` names inside ``data``."""
    target: Any = data
    for part in [p for p in prefix.replace("[0]", ".0").split(".") if p]:
        target = target[int(part)] if part.isdigit() else target[part]
    target["bogus"] = 1
    return data


@pytest.mark.parametrize(("header", "data", "prefix"), NESTED)
def test_unknown_field_rejected_at_every_level(header: str, data: dict[str, Any], prefix: str):
    parse_header(header, json.dumps(data))  # the path itself is valid
    with pytest.raises(HeaderError) as exc:
        parse_header(header, json.dumps(_insert_bogus(data, prefix)))
    assert exc.value.header == header
    assert exc.value.field == f"{prefix}bogus"
    assert str(exc.value) == f"{header}: {prefix}bogus: Extra inputs are not permitted"


@pytest.mark.parametrize(
    ("header", "raw", "field", "fragment"),
    [
        ("X-Config", '{"fsm": {"max_n_turns": 0}}', "fsm.max_n_turns", "greater than or equal to 1"),
        ("X-Config", '{"fsm": {"min_num_tools_for_filtering": 1}}', "fsm.min_num_tools_for_filtering", "greater than or equal to 2"),
        ("X-Config", '{"fsm": {"max_pllm_steps": 0}}', "fsm.max_pllm_steps", "greater than or equal to 1"),
        ("X-Config", '{"fsm": {"max_pllm_failed_steps": -1}}', "fsm.max_pllm_failed_steps", "greater than or equal to 1"),
        ("X-Config", '{"fsm": {"max_tool_calls_per_step": 0}}', "fsm.max_tool_calls_per_step", "greater than or equal to 1"),
        ("X-Config", '{"fsm": {"clear_history_every_n_attempts": 0}}', "fsm.clear_history_every_n_attempts", "greater than or equal to 1"),
        ("X-Config", '{"fsm": {"max_n_turns": "5"}}', "fsm.max_n_turns", "valid integer"),
        ("X-Config", '{"fsm": {"max_n_turns": 2.5}}', "fsm.max_n_turns", "valid integer"),
        ("X-Config", '{"fsm": {"disable_rllm": 1}}', "fsm.disable_rllm", "valid boolean"),
        ("X-Config", '{"fsm": {"disable_rllm": "true"}}', "fsm.disable_rllm", "valid boolean"),
        ("X-Config", '{"fsm": {"clear_session_meta": "sometimes"}}', "fsm.clear_session_meta", "'never'"),
        ("X-Config", '{"fsm": {"history_mismatch_policy": "ignore"}}', "fsm.history_mismatch_policy", "'reject'"),
        ("X-Config", '{"fsm": {"enabled_internal_tools": ["rm_rf"]}}', "fsm.enabled_internal_tools[0]", "'parse_with_ai'"),
        ("X-Config", '{"fsm": {"force_to_cache": ["("]}}', "fsm.force_to_cache[0]", "invalid regular expression"),
        ("X-Config", '{"fsm": {"detect_tool_error_regex_pattern": "[a"}}', "fsm.detect_tool_error_regex_pattern", "invalid regular expression"),
        ("X-Config", '{"fsm": {"detect_tool_errors": "ai"}}', "fsm.detect_tool_errors", "'regex'"),
        ("X-Config", '{"fsm": {"tool_result_transform": "zip"}}', "fsm.tool_result_transform", "'codex'"),
        ("X-Config", '{"fsm": {"reduced_grammar_for_rllm_review": "json"}}', "fsm.reduced_grammar_for_rllm_review", "'text'"),
        ("X-Config", '{"prompt": {"pllm": {"debug_info_level": "max"}}}', "prompt.pllm.debug_info_level", "'minimal'"),
        ("X-Config", '{"prompt": {"pllm": {"context_var_visibility": "some"}}}', "prompt.pllm.context_var_visibility", "'basic-notext'"),
        ("X-Config", '{"prompt": {"pllm": {"query_inline_roles": ["user"]}}}', "prompt.pllm.query_inline_roles[0]", "'assistant'"),
        ("X-Config", '{"prompt": {"pllm": {"query_role_name_overrides": {"a": 1}}}}', "prompt.pllm.query_role_name_overrides.a", "valid string"),
        ("X-Config", '{"prompt": {"rllm": {"debug_info_level": "max"}}}', "prompt.rllm.debug_info_level", "'minimal'"),
        ("X-Config", '{"prompt": {"tllm": {"add_tool_description": "yes"}}}', "prompt.tllm.add_tool_description", "valid boolean"),
        ("X-Config", '{"response_format": {"include_program": 0}}', "response_format.include_program", "valid boolean"),
        ("X-Config", '{"fsm": []}', "fsm", "valid dictionary"),
        ("X-Features", '{"agent_arch": "triple-llm"}', "agent_arch", "'single-llm' or 'dual-llm'"),
        ("X-Features", '{"content_classifiers": [{"name": "pii_redaction", "threshold": 1.5}]}', "content_classifiers[0].threshold", "less than or equal to 1"),
        ("X-Features", '{"content_classifiers": [{"name": "pii_redaction", "threshold": -0.1}]}', "content_classifiers[0].threshold", "greater than or equal to 0"),
        ("X-Features", '{"content_classifiers": [{"name": "pii_redaction", "threshold": NaN}]}', "content_classifiers[0].threshold", "finite"),
        ("X-Features", '{"content_classifiers": [{"threshold": 0.4}]}', "content_classifiers[0].name", "Field required"),
        ("X-Features", '{"content_classifiers": [{"name": "astrology"}]}', "content_classifiers[0].name", "'pii_redaction'"),
        ("X-Features", '{"content_blockers": [{"name": "ip_blocker"}]}', "content_blockers[0].name", "'url_blocker' or 'file_blocker'"),
        ("X-Features", '{"content_blockers": {"name": "url_blocker"}}', "content_blockers", "valid list"),
        ("X-Policy", '{"mode": "ultra-strict"}', "mode", "'standard', 'strict' or 'custom'"),
        ("X-Policy", '{"codes": {"language": "rego"}}', "codes.language", "'sqrt' or 'cedar'"),
        ("X-Policy", '{"codes": 5}', "codes", "PolicyCode"),
        ("X-Policy", '{"fail_fast": "no"}', "fail_fast", "valid boolean"),
        ("X-Policy", '{"presets": {"default_allow_enforcement_level": "medium"}}', "presets.default_allow_enforcement_level", "'hard' or 'soft'"),
        ("X-Policy", '{"presets": {"branching_meta_policy": {"mode": "maybe"}}}', "presets.branching_meta_policy.mode", "'allow' or 'deny'"),
        ("X-Policy", '{"presets": {"branching_meta_policy": {"tags": [1]}}}', "presets.branching_meta_policy.tags[0]", "valid string"),
    ],
)
def test_bad_values_name_header_and_field(header: str, raw: str, field: str, fragment: str):
    with pytest.raises(HeaderError) as exc:
        parse_header(header, raw)
    err = exc.value
    assert (err.header, err.field) == (header, field)
    assert fragment in err.message
    assert str(err).startswith(f"{header}: {field}: ")


def test_max_n_turns_message_exact():
    with pytest.raises(HeaderError) as exc:
        parse_header("X-Config", '{"fsm": {"max_n_turns": 0}}')
    assert str(exc.value) == "X-Config: fsm.max_n_turns: Input should be greater than or equal to 1"


@pytest.mark.parametrize("raw", ["not json{{{", "{bad", "}{", '{"a": '])
def test_invalid_json(raw: str):
    with pytest.raises(HeaderError) as exc:
        parse_header("X-Policy", raw)
    assert exc.value.field == ""
    assert str(exc.value).startswith("X-Policy: Invalid JSON")


@pytest.mark.parametrize(("raw", "kind"), [("[1]", "array"), ('"s"', "string"), ("3", "number"), ("null", "null"), ("true", "boolean")])
def test_non_object_json(raw: str, kind: str):
    with pytest.raises(HeaderError) as exc:
        parse_header("X-Features", raw)
    assert str(exc.value) == f"X-Features: Header must be a JSON object, got {kind}"


def test_all_errors_collected():
    with pytest.raises(HeaderError) as exc:
        parse_header("X-Config", '{"fsm": {"max_n_turns": 0, "bogus": 1}, "nonexistent": true}')
    assert len(exc.value.errors) == 3
    assert all(e.startswith("X-Config: ") for e in exc.value.errors)


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_absent_header_is_none(raw: str | None):
    assert parse_header("X-Config", raw) is None


def test_codes_string_is_sqrt_code():
    p = parse_header("X-Policy", '{"codes": "tool \\"x\\" { must allow always; }"}')
    assert p.codes.code == 'tool "x" { must allow always; }'  # type: ignore[union-attr]
    assert p.codes.language == "sqrt"  # type: ignore[union-attr]


def test_value_objects_fill_their_own_defaults():
    f = parse_header("X-Features", '{"content_classifiers": [{"name": "toxicity_filter"}]}')
    assert f.content_classifiers[0].threshold == 0.5 and f.content_classifiers[0].mode is None  # type: ignore[union-attr]
    p = parse_header("X-Policy", '{"codes": {"language": "cedar"}, "presets": {"branching_meta_policy": {"tags": ["b", "a", "b"]}}}')
    assert p.codes.code == ""  # type: ignore[union-attr]
    bmp = p.presets.branching_meta_policy  # type: ignore[union-attr]
    assert bmp.mode == "deny" and bmp.tags == frozenset({"a", "b"})
    assert p.model_dump(mode="json")["presets"]["branching_meta_policy"]["tags"] == ["a", "b"]


def test_accepted_variants():
    c = parse_header(
        "X-Config",
        json.dumps(
            {
                "fsm": {"reduced_grammar_for_rllm_review": True, "force_to_cache": ["my_tool_.*"], "history_mismatch_policy": "continue"},
                "prompt": {"pllm": {"query_role_name_overrides": {"assistant": "developer"}}},
                "response_format": {"stream_thoughts": True},
            }
        ),
    )
    assert c.fsm.reduced_grammar_for_rllm_review is True  # type: ignore[union-attr]
    assert parse_header("X-Features", '{"content_classifiers": [{"name": "pii_redaction", "threshold": 1}]}') is not None
    # null means "not given", as in the reference's documented example bodies.
    assert parse_header("X-Config", '{"fsm": {"max_n_turns": null}}').fsm.max_n_turns is None  # type: ignore[union-attr]


def test_models_are_frozen():
    f = parse_header("X-Features", '{"agent_arch": "dual-llm"}')
    with pytest.raises(Exception):
        f.agent_arch = "single-llm"  # type: ignore[union-attr, misc]
