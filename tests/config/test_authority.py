"""Resolution under a locked key policy: headers add, never loosen (config.authority)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airlock.config import HeaderError, ResolvedConfig, resolve
from airlock.config.authority import STRICTER, stricter_branching
from airlock.config.headers import PolicyPresets

KEY = {"arch": "single-llm", "policy": {"codes": {"code": 'tool "k" { hard deny always; }'}, "mode": "strict",
                                        "presets": {"default_allow": False}},
       "config": {"fsm": {"clear_session_meta": "never"}}}


def _resolve(key: dict | None = KEY, locked: bool = True, endpoint: str = "chat", **headers: Any) -> ResolvedConfig:
    args = {"x_features": None, "x_policy": None, "x_config": None, "model": None, "byok_key": None}
    args.update({k: json.dumps(v) for k, v in headers.items()})
    return resolve(endpoint, key_base=key, policy_locked=locked, **args)


def test_header_code_is_an_additional_policy_under_a_lock():
    r = _resolve(x_policy={"codes": {"code": 'tool "h" { hard deny always; }'}})
    assert r.codes.code == 'tool "k" { hard deny always; }' and r.codes_authority == "key"
    assert r.header_codes is not None and r.header_codes.code == 'tool "h" { hard deny always; }'
    assert r.policy_locked
    blank = _resolve(x_policy={"codes": {"code": "   "}})
    assert blank.header_codes is None and blank.codes.code.startswith('tool "k"')


def test_without_a_lock_the_header_replaces_the_key_code_as_before():
    r = _resolve(locked=False, x_policy={"codes": {"code": "tool h"}, "presets": {"default_allow": True}, "mode": "standard"})
    assert (r.codes.code, r.codes_authority, r.header_codes) == ("tool h", "header", None)
    assert r.presets.default_allow is True and r.policy.mode == "standard"
    assert _resolve(locked=False).codes_authority == "key"


def test_presets_mode_and_clearing_take_the_stricter_value():
    loose = _resolve(x_policy={"mode": "standard", "presets": {
        "default_allow": True, "default_allow_enforcement_level": "soft", "enable_non_executable_memory": False,
        "enable_llm_blocked_tag": False, "llm_blocked_tag_enforcement_level": "soft"}},
        x_config={"fsm": {"clear_session_meta": "every_attempt"}})
    assert loose.policy.mode == "strict" and loose.presets.default_allow is False
    assert loose.presets.enable_llm_blocked_tag is True and loose.presets.llm_blocked_tag_enforcement_level == "hard"
    assert loose.fsm.clear_session_meta == "never"
    tight = _resolve(key={"arch": "dual-llm", "policy": {"presets": {"enable_non_executable_memory": False}}},
                     x_policy={"mode": "custom", "presets": {"default_allow_enforcement_level": "hard",
                                                             "enable_non_executable_memory": True}},
                     x_config={"fsm": {"clear_session_meta": "never"}})
    assert tight.policy.mode == "custom" and tight.presets.default_allow_enforcement_level == "hard"
    assert tight.presets.enable_non_executable_memory is True and tight.fsm.clear_session_meta == "never"


def test_every_preset_field_has_a_stricter_rule():
    assert set(STRICTER) == set(PolicyPresets.model_fields)


@pytest.mark.parametrize("key, header, expected", [
    ({"mode": "deny", "tags": ["a"]}, {"mode": "deny", "tags": ["b"]}, {"mode": "deny", "tags": ["a", "b"]}),
    ({"mode": "allow", "tags": ["a", "b"]}, {"mode": "allow", "tags": ["b", "c"]}, {"mode": "allow", "tags": ["b"]}),
    ({"mode": "allow", "tags": ["a", "b"]}, {"mode": "deny", "tags": ["b"]}, {"mode": "allow", "tags": ["a"]}),
    ({"mode": "deny", "tags": ["b"]}, {"mode": "allow", "tags": ["a", "b"]}, {"mode": "allow", "tags": ["a"]}),
])
def test_branching_policies_combine_to_deny_what_either_denies(key, header, expected):
    out = stricter_branching(key, header)
    assert out["mode"] == expected["mode"] and out["tags"] == expected["tags"]
    from airlock.meta import Meta, StrSet
    from airlock.policy.presets import BranchingMetaPolicy, check_branch

    def policy(d):
        return BranchingMetaPolicy(d["mode"], tags=frozenset(d.get("tags", ())))

    for names in ([], ["a"], ["b"], ["c"], ["a", "b"], ["a", "c"]):
        meta = Meta(tags=StrSet.of(names))
        either_denies = any(check_branch("custom", policy(p), meta).denied for p in (key, header))
        assert check_branch("custom", policy(out), meta).denied == either_denies, names


def test_a_dual_llm_key_cannot_be_switched_to_single_llm_under_a_lock():
    dual = {"arch": "dual-llm", "policy": {"codes": {"code": "tool x"}}}
    with pytest.raises(HeaderError) as err:
        _resolve(key=dual, x_features={"agent_arch": "single-llm"})
    assert (err.value.header, err.value.field) == ("X-Features", "agent_arch")
    assert _resolve(key=dual, locked=False, x_features={"agent_arch": "single-llm"}).arch == "single-llm"
    assert _resolve(key=KEY, x_features={"agent_arch": "dual-llm"}).arch == "dual-llm"  # more protection is fine
    # a key without an arch runs the endpoint default (dual-llm): it cannot be switched either
    with pytest.raises(HeaderError):
        _resolve(key={"policy": {"codes": {"code": "tool x"}}}, x_features={"agent_arch": "single-llm"})


def test_the_lock_survives_the_turn_pinning_round_trip():
    r = _resolve(x_policy={"codes": {"code": "tool h"}})
    again = ResolvedConfig.from_public_json(json.loads(json.dumps(r.to_public_json())))
    assert again == r and again.header_codes is not None and again.policy_locked
