"""Decision procedure (each clause of evaluator's docstring), value checks and updates."""

from __future__ import annotations

import json
import time

import pytest

from airlock.meta import Meta, SessionMeta, StrSet, Tagged
from airlock.policy import PolicyError, compile_policy

from .conftest import T


def verdict(src, tool="t", presets=None, fail_fast=True, session=None, **args):
    policy = compile_policy(src, presets=presets, fail_fast=fail_fast)
    return policy.check_call(tool, {k: v if isinstance(v, Tagged) else T(v) for k, v in args.items()},
                             session or SessionMeta()).verdict


# ---- decision procedure ------------------------------------------------------------------


def test_hard_deny_beats_hard_allow_and_soft_allow():
    src = 'tool "t" { should allow always; must allow always; must deny when x.value == 1; }'
    assert verdict(src, x=1) == "hard_denied"
    assert verdict(src, x=2) == "allowed"


def test_hard_allow_beats_soft_deny_regardless_of_priority():
    src = 'tool "t" { priority 1; must allow when x.value == 1; } tool "t" { priority 9; should deny always; }'
    assert verdict(src, x=1) == "allowed"
    assert verdict(src, x=2) == "soft_denied"


def test_soft_rules_highest_priority_decides():
    src = 'tool "t" { priority 5; should allow when x.value == 1; } tool r"t.*" { should deny always; }'
    assert verdict(src, x=1) == "allowed"  # priority 5 allow overrides priority 0 deny
    assert verdict(src, x=2) == "soft_denied"


def test_soft_deny_beats_soft_allow_at_same_priority():
    assert verdict('tool "t" { should allow always; should deny when x.value == 1; }', x=1) == "soft_denied"


def test_allow_rules_make_the_tool_allow_listed():
    src = 'tool "t" { hard allow when x.value == 1; }'
    assert verdict(src, x=2, presets={"default_allow": True}) == "hard_denied"
    assert verdict('tool "t" { soft allow when x.value == 1; }', x=2) == "soft_denied"


def test_default_allow_and_its_level():
    assert verdict('tool "other" { must deny always; }', x=1) == "allowed"
    assert verdict("", presets={"default_allow": False}) == "soft_denied"
    assert verdict("", presets={"default_allow": False, "default_allow_enforcement_level": "hard"}) == "hard_denied"
    # deny-only rules that do not fire leave the default in charge
    assert verdict('tool "t" { must deny when x.value == 1; }', x=2, presets={"default_allow": False}) == "soft_denied"


def test_fail_fast_stops_at_first_hard_deny_without_changing_the_verdict():
    src = 'tool "t" { must deny always; must deny when x.value == 1; should deny always; }'
    fast = compile_policy(src, fail_fast=True).check_call("t", {"x": T(1)}, SessionMeta())
    slow = compile_policy(src, fail_fast=False).check_call("t", {"x": T(1)}, SessionMeta())
    assert fast.verdict == slow.verdict == "hard_denied"
    assert len(fast.fired) == 1 and len(slow.fired) == 3


def test_condition_error_fails_closed(monkeypatch):
    policy = compile_policy('tool "t" { must deny when x.value in {int 1..5}; must allow when y.value in {int 1..5}; }')
    rules = policy.plan("t").rules

    def boom(ctx):
        raise RuntimeError("bad")

    for r in rules:
        monkeypatch.setattr(r, "cond", boom)
    d = policy.check_call("t", {}, SessionMeta())
    assert d.hard and d.fired[0].kind == "error"


def test_regex_tool_ids_match_whole_names():
    src = 'tool r"send_to_.*" { must deny always; }'
    assert verdict(src, tool="send_to_x") == "hard_denied"
    assert verdict(src, tool="resend_to_x") == "allowed"


def test_decision_record_is_json_and_names_rules():
    src = '/// no spam\ntool "send_email" { must deny when to.value in {"spam@evil.com"}; }'
    d = compile_policy(src).check_call("send_email", {"to": T("spam@evil.com")}, SessionMeta())
    data = json.loads(json.dumps(d.to_json()))
    assert data["verdict"] == "hard_denied"
    fired = data["fired"][0]
    assert fired["description"] == "no spam" and fired["seen"] == {"to.value": "spam@evil.com"}
    assert fired["line"] == 2 and "must deny" in fired["rule"]
    assert d.message.splitlines()[0] == "Tool call send_email denied by argument checking policies."
    assert "'send_email' is denied" in d.message and "no spam" in d.message
    allowed = compile_policy(src).check_call("send_email", {"to": T("a@b.c")}, SessionMeta())
    assert allowed.message == "" and allowed.to_json()["fired"][0]["kind"] == "default"


# ---- value checks ------------------------------------------------------------------------


@pytest.mark.parametrize("domain,value,expected", [
    ("int 1..10", 10, True), ("int 1..<10", 10, False), ("int 0<..10", 0, False), ("int 10..", 99, True),
    ("int ..50", 51, False), ("int 42", 42, True), ("int 1..10", 5.5, False), ("int 1..10", True, False),
    ("float 0.0..1.0", 0.5, True), ("float ..<3.14", 3.14, False), ("float 0.0..1.0", "0.5", False),
    ("bool true", True, True), ("bool true", 1, False), ("bool false", False, True),
    ('str "hello"', "hello", True), ('str "hello"', "hello!", False),
    ('str matching r"^[a-z]+@example\\.com$"', "bob@example.com", True),
    ('str matching r"^[a-z]+@example\\.com$"', "bob@exampleXcom", False),
    ('str like w"*.txt"', "a/b.txt", True), ('str like w"*.txt"', "a.txt.exe", False),
    ('str like w"?.md"', "a.md", True), ('str matching r".*" length 1..3', "abcd", False),
    ('str matching r".*" length 1..3', "abc", True),
    ('datetime d"2023-09-01T00:00:00Z"..d"2023-10-01T00:00:00Z"', "2023-09-15T12:00:00Z", True),
    ('datetime d"2023-09-01T00:00:00Z"..d"2023-10-01T00:00:00Z"', "2023-10-02T00:00:00+00:00", False),
    ('datetime d"2023-09-01T00:00:00Z"..<d"2023-10-01T00:00:00Z"', "2023-10-01T00:00:00Z", False),
    ("datetime 0", 0, True), ('datetime d"2024-01-01T00:00:00Z"..', "not a date", False),
    ('"a", "b"', "b", True), ('"a", "b"', "c", False), ('1, 2', 2, True), ('1, 2', "2", False),
    ('r"ab+"', "abbb", True), ('w"*@corp.com"', "x@corp.com", True), ('"*"', "anything", True),
])
def test_value_in_domains(domain, value, expected):
    src = f'tool "t" {{ must deny when x.value in {{{domain}}}; }}'
    assert (verdict(src, x=value) == "hard_denied") is expected


def test_value_equality_and_list_values():
    assert verdict('tool "t" { must deny when x.value == "a"; }', x="a") == "hard_denied"
    assert verdict('tool "t" { must deny when x.value == 1; }', x=True) == "allowed"  # true is not 1
    assert verdict('tool "t" { must deny when x.value != "a"; }', x="b") == "hard_denied"
    src = 'tool "t" { must deny when x.value in {"a", "b"}; }'
    assert verdict(src, x=["a", "b"]) == "hard_denied"
    assert verdict(src, x=["a", "c"]) == "allowed"
    assert verdict('tool "t" { must deny when x.value overlaps {"b"}; }', x=["a", "b"]) == "hard_denied"
    assert verdict('tool "t" { must deny when q.value matching r".*DELETE.*"; }', q="x DELETE y") == "hard_denied"


def test_missing_argument_reads_as_no_value_and_empty_meta():
    src = 'tool "t" { must deny when x.tags overlaps {"a"} or x.value == "a"; }'
    assert verdict(src) == "allowed"


def test_set_predicates_and_operators():
    args = {"d": T(tags=["a", "b"])}
    cases = {
        'd.tags overlaps {"b", "z"}': True, 'd.tags subset of {"a", "b", "c"}': True,
        'd.tags superset of {"a"}': True, 'd.tags == {"b", "a"}': True, 'd.tags is empty': False,
        'd.consumers is universal': True, '(d.tags | {"c"}) == {"a", "b", "c"}': True,
        '(d.tags union {"c"}) == {"a", "b", "c"}': True, '(d.tags & {"a"}) == {"a"}': True,
        '(d.tags intersect {"a"}) == {"a"}': True, '(d.tags - {"a"}) == {"b"}': True,
        '(d.tags minus {"a"}) == {"b"}': True, '(d.tags ^ {"b", "c"}) == {"a", "c"}': True,
        '(d.tags xor {"b", "c"}) == {"a", "c"}': True, '(d.tags with "c" without "a") == {"b", "c"}': True,
        # precedence: union binds tighter than intersect, which binds tighter than minus, then xor
        '({"a"} | {"b"} & {"b"}) == {"b"}': True, '({"a", "b"} - {"b"} & {"b"}) == {"a"}': True,
        '({"a"} ^ {"a"} - {"a"}) == {"a"}': True,
        'd.tags subset of {str like w"?"}': True, 'd.tags overlaps {r"x.*"}': False,
        '"a" in d.tags': True, 'not "a" in d.tags': False, '"a" in d.tags and "z" in d.tags': False,
        '"a" in d.tags or "z" in d.tags': True, 'union of tags from args == {"a", "b"}': True,
        '@args.tags.intersect == {"a", "b"}': True, '@args.consumers.intersect is universal': True,
        '@session.tags is empty': True, '@result.tags == {"a", "b"}': True,  # prospective result meta
    }
    policy_src = "\n".join(f'tool "t{i}" {{ must deny when {c}; }}' for i, c in enumerate(cases))
    policy = compile_policy(policy_src)
    for i, (cond, expected) in enumerate(cases.items()):
        got = policy.check_call(f"t{i}", args, SessionMeta()).hard
        assert got is expected, cond


def test_catastrophic_regex_runs_in_linear_time():
    policy = compile_policy('tool "t" { must deny when x.value in {str matching r"(a+)+$"}; }')
    attack = "a" * 50_000 + "!"
    start = time.perf_counter()
    assert policy.check_call("t", {"x": T(attack)}, SessionMeta()).allowed
    assert time.perf_counter() - start < 2.0  # backtracking engines take effectively forever


@pytest.mark.parametrize("pattern", [r"(?=a)b", r"(a)\1", r"a{2,1}", r"(?<!x)y"])
def test_patterns_re2_cannot_run_are_compile_errors(pattern):
    with pytest.raises(PolicyError) as exc:
        compile_policy(f'tool "t" {{ must deny when x.value in {{r"{pattern}"}}; }}')
    assert "RE2" in str(exc.value) and exc.value.errors[0].line == 1
    with pytest.raises(PolicyError):
        compile_policy(f'tool r"{pattern}" {{ must deny always; }}')


# ---- metadata updates --------------------------------------------------------------------


def test_result_block_updates_in_order_with_conditions_and_context_sugar():
    src = '''
    tool "p" {
        result {
            @result.tags = @result.tags | {"processed"};
            @producers = @producers with "p";
            when @result.tags overlaps {"sensitive"} { @consumers = @consumers & {"internal"}; }
            @tags ^= {"processed", "x"};
        }
    }'''
    policy = compile_policy(src, presets={"enable_non_executable_memory": False})
    meta = policy.apply_result("p", {}, T("v", tags=["sensitive"]), SessionMeta())
    assert meta.tags.to_json() == ["sensitive", "x"]
    assert meta.producers.to_json() == ["p"] and meta.consumers.to_json() == ["internal"]
    plain = policy.apply_result("p", {}, T("v"), SessionMeta())
    assert plain.consumers.universal


def test_session_before_and_after_blocks():
    src = '''
    tool "login" {
        session before { @session.tags = @session.tags | {"auth:pending"}; }
        session after {
            when @result.tags overlaps {"auth:success"} { @tags |= {"authenticated"}; }
            @tags = @tags - {"auth:pending"};
        }
    }
    tool "login" -> session @producers |= {"audit"};
    tool "login" -> session before @consumers &= {"me"};'''
    policy = compile_policy(src)
    s = SessionMeta()
    policy.update_session("login", "before", {}, s)
    assert s.tags.to_json() == ["auth:pending"] and s.consumers.to_json() == ["me"]
    policy.update_session("login", "after", {}, s, T("ok", tags=["auth:success"]))
    assert s.tags.to_json() == ["authenticated"] and s.producers.to_json() == ["audit"]


def test_non_executable_preset_is_added_before_policy_updates():
    on = compile_policy('tool "t" -> @tags -= {"__non_executable"};')
    assert on.apply_result("t", {}, T(1), SessionMeta()).tags.is_empty()
    assert compile_policy("").apply_result("t", {}, T(1), SessionMeta()).tags.to_json() == ["__non_executable"]
    off = compile_policy("", presets={"enable_non_executable_memory": False})
    assert off.apply_result("t", {}, T(1), SessionMeta()).tags.is_empty()


def test_shorthand_targets_and_priorities():
    src = '''
    tool "t" [1] -> @tags |= {"low"};
    tool "t" [9] -> result @tags = {"high"};
    tool "t" -> @tags |= {"flag"} when @result.tags overlaps {"important"};'''
    policy = compile_policy(src, presets={"enable_non_executable_memory": False})
    # priority 9 runs first, then 1, then 0
    assert policy.apply_result("t", {}, T(1, tags=["important"]), SessionMeta()).tags.to_json() == ["high", "low"]


def test_let_is_resolved_where_used():
    src = '''
    let Mark = @tags | {"m"};
    tool "t" { result { @tags = Mark; } session after { @tags = Mark; } }'''
    policy = compile_policy(src, presets={"enable_non_executable_memory": False})
    s = SessionMeta(tags=StrSet.of(["s"]))
    assert policy.apply_result("t", {}, T(1, tags=["r"]), s).tags.to_json() == ["m", "r"]
    policy.update_session("t", "after", {}, s, T(1))
    assert s.tags.to_json() == ["m", "s"]


def test_check_branch_modes():
    presets = {"branching_meta_policy": {"mode": "allow", "producers": ["user"], "tags": []}}
    custom = compile_policy("", presets=presets, mode="custom")
    assert custom.check_branch(Meta(producers=StrSet.of(["user"]))).allowed
    assert custom.check_branch(Meta(producers=StrSet.of(["web"]))).hard
    assert custom.check_branch(Meta(tags=StrSet.of(["x"]))).hard
    assert compile_policy("", presets=presets, mode="standard").check_branch(Meta(tags=StrSet.of(["x"]))).allowed
    assert custom.propagates_control_flow and compile_policy("", mode="strict").propagates_control_flow
    assert not compile_policy("").propagates_control_flow


def test_compile_cache_returns_same_object():
    assert compile_policy('tool "t" { must deny always; }') is compile_policy('tool "t" { must deny always; }')
    assert compile_policy("", presets={"default_allow": False}) is not compile_policy("")


def test_multiple_sources_share_lets_and_report_their_index():
    p = compile_policy(['let S = {"a"};', 'tool "t" { must deny when x.tags overlaps S; }'])
    assert p.check_call("t", {"x": T(tags=["a"])}, SessionMeta()).hard
    with pytest.raises(PolicyError) as exc:
        compile_policy(['let S = {"a"};', 'tool "t" { must deny when x.tags overlaps Q; }'])
    assert exc.value.errors[0].source_index == 1


def test_bad_presets_and_modes_are_policy_errors():
    for kwargs in [{"presets": {"nope": 1}}, {"presets": {"default_allow": "yes"}}, {"mode": "lenient"},
                   {"presets": {"branching_meta_policy": {"mode": "maybe"}}}, {"language": "rego"}]:
        with pytest.raises(PolicyError):
            compile_policy("", **kwargs)
