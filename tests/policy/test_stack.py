"""Policy layers: the key's policy decides, header and planner policies only restrict.

The attacks first (a header `soft allow always`, a planner erasing tags, a header granting a
capability tag), then the property: whatever sequence of header and `set_policy` policies an
attacker supplies, no call the key's policy alone denies is allowed, and no metadata the key's
policy set is lost.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airlock.meta import NEUTRAL, UNIVERSAL, Meta, SessionMeta, StrSet, Tagged
from airlock.policy import ADDITIONAL_PRESETS, LayerError, LayerSpec, PolicyError, PolicyPresets, PolicySpec, build_policy
from airlock.policy.restrict import key_view, restricted_view
from tests.reference_policies import REFUND_POLICY

KEY_PRESETS = PolicyPresets(enable_non_executable_memory=False)


def stack(key: str, *extra: tuple[str, str], presets: PolicyPresets = KEY_PRESETS, mode: str = "standard"):
    layers = [LayerSpec("key", (key,), presets=presets, mode=mode)]  # type: ignore[arg-type]
    layers += [LayerSpec(authority, (code,)) for authority, code in extra]  # type: ignore[arg-type]
    return build_policy(PolicySpec(tuple(layers)))


def tags(*names: str) -> Meta:
    return Meta(tags=StrSet.of(names))


def test_header_allow_always_cannot_pass_what_the_key_denies():
    key = 'tool "send_email" { hard deny when to.value in {str matching r".*@evil\\.com"}; }'
    p = stack(key, ("header", 'tool "send_email" { hard allow always; soft allow always; }'))
    d = p.check_call("send_email", {"to": Tagged("boss@evil.com")}, SessionMeta())
    assert d.verdict == "hard_denied" and d.policy == "key"
    assert d.to_json()["policy"] == "key" and d.to_json()["layers"] == [
        {"policy": "key", "verdict": "hard_denied"}, {"policy": "header", "verdict": "allowed"}]
    assert "'send_email' is denied (hard) by the key policy" in d.message


def test_planner_cannot_erase_tags_the_key_added():
    key = 'tool "read_secret" -> @tags |= {"confidential"};\ntool "read_secret" -> session after @tags |= {"saw"};'
    planner = 'tool "read_secret" { result { @tags = {}; @producers = {}; } session after { @tags = {}; } }'
    p = stack(key, ("planner", planner))
    session = SessionMeta()
    meta = p.apply_result("read_secret", {}, Tagged("s3cret"), session)
    p.update_session("read_secret", "after", {}, session, Tagged("s3cret", meta))
    assert "confidential" in meta.tags and "saw" in session.tags


def test_header_cannot_grant_a_capability_tag_the_key_checks_for():
    # The docs' refund policy allows the refund only on the fourth attempt; a header that just
    # adds "final_attempt" must not unlock it on the first.
    p = stack(REFUND_POLICY, ("header", 'tool "issue_refund" { session before { @tags |= {"final_attempt"}; } }'))
    session = SessionMeta()
    verdicts = [p.before_call("issue_refund", {}, session).verdict for _ in range(4)]
    assert verdicts == ["hard_denied", "hard_denied", "hard_denied", "allowed"]
    assert "~final_attempt" in session.tags  # the header's addition is kept, as a restriction mark


def test_additional_restrictions_are_enforced_by_their_own_rules():
    planner_tag = 'tool "read_inbox" -> @tags |= {"untrusted"};'
    planner_rule = 'tool "send_email" { hard deny when body.tags overlaps {"untrusted"}; }'
    p = stack("", ("planner", planner_tag), ("planner", planner_rule))
    meta = p.apply_result("read_inbox", {}, Tagged("mail"), SessionMeta())
    assert meta.tags.items == {"~untrusted"} and restricted_view(meta).tags.items == {"untrusted"}
    d = p.check_call("send_email", {"body": Tagged("mail", meta)}, SessionMeta())
    assert d.verdict == "hard_denied" and d.policy == "planner"
    assert p.check_call("send_email", {"body": Tagged("hi")}, SessionMeta()).allowed


def test_consumer_restrictions_accumulate_and_only_shrink():
    header = 'tool "read" { result { @consumers = {"alice", "bob"}; } }\n' \
             'tool "send" { hard deny when not ("bob" in data.consumers); }'
    planner = 'tool "read" { result { @consumers = {"alice", "*"}; } }'  # tries to widen: ignored
    p = stack('tool "read" -> @consumers = {"alice", "bob", "carol"};', ("header", header), ("planner", planner))
    meta = p.apply_result("read", {}, Tagged("x"), SessionMeta())
    assert key_view(meta).consumers.items == {"alice", "bob", "carol"}
    assert restricted_view(meta).consumers.items == {"alice", "bob"}
    assert p.check_call("send", {"data": Tagged("x", meta)}, SessionMeta()).allowed
    narrower = stack("", ("header", 'tool "t" { result { @consumers = {"alice"}; } }\n'
                      'tool "send" { hard deny when not ("bob" in data.consumers); }'))
    derived = narrower.apply_result("t", {"x": Tagged("x", meta)}, Tagged("y", meta), SessionMeta())
    assert restricted_view(derived).consumers.items == {"alice"}  # ∩ of both restrictions
    assert narrower.check_call("send", {"data": Tagged("y", derived)}, SessionMeta()).verdict == "hard_denied"


def test_the_check_history_names_who_decided():
    p = stack('tool "a" { soft allow always; }\ntool "b" { hard deny always; }',
              ("header", 'tool "c" { soft deny always; }'), ("planner", 'tool "d" { hard deny always; }'))
    who = {t: p.check_call(t, {}, SessionMeta()).to_json()["policy"] for t in "abcde"}
    assert who == {"a": "key", "b": "key", "c": "header", "d": "planner", "e": "preset"}
    strict = stack("", presets=PolicyPresets(default_allow=False))
    d = strict.check_call("anything", {}, SessionMeta())
    assert d.verdict == "soft_denied" and d.policy == "preset"


def test_no_code_with_default_allow_false_denies_every_call_and_enforces_something():
    p = build_policy(PolicySpec((LayerSpec("key", (), presets=PolicyPresets(default_allow=False,
                                                                               default_allow_enforcement_level="hard")),)))
    assert not p.enforces_nothing
    assert all(p.check_call(t, {}, SessionMeta()).verdict == "hard_denied" for t in ("a", "send_email"))
    assert build_policy(PolicySpec((LayerSpec("key", (), presets=PolicyPresets()),))).enforces_nothing
    assert not stack("", ("header", 'tool "x" { hard deny always; }')).enforces_nothing


def test_set_policy_code_must_be_a_planner_literal():
    p = stack("")
    assert p.check_call("set_policy", {"code": Tagged("tool ...")}, SessionMeta()).allowed
    from_data = p.check_call("set_policy", {"code": Tagged("tool ...", Meta(producers=StrSet.of(["web"])))}, SessionMeta())
    under_tainted_branch = p.check_call("set_policy", {"code": Tagged("tool ...")}, SessionMeta(), control=tags("x"))
    for d in (from_data, under_tainted_branch):
        assert d.verdict == "hard_denied" and d.policy == "preset" and "'set_policy' is denied" in d.message


def test_control_context_is_one_more_operand_of_args_aggregates():
    p = stack('tool "delete_all" { hard deny when @args.tags overlaps {"untrusted"}; }\n'
              'tool "both" { hard deny when not (@args.tags.intersect is empty); }\n'
              'tool "mark" -> @tags |= @args.tags;')
    assert p.check_call("delete_all", {}, SessionMeta()).allowed
    assert p.check_call("delete_all", {}, SessionMeta(), control=tags("untrusted")).verdict == "hard_denied"
    # NEUTRAL (top level) is no operand: the intersection over the arguments is unchanged
    args = {"a": Tagged(1, tags("t")), "b": Tagged(2, tags("t"))}
    assert p.check_call("both", args, SessionMeta()).verdict == "hard_denied"
    assert p.check_call("both", args, SessionMeta(), control=tags("u")).allowed  # control shares no tag
    assert p.apply_result("mark", {}, Tagged(None), SessionMeta(), control=tags("c")).tags.items == {"c"}


def test_policy_spec_round_trips_through_json_and_builds_once():
    spec = PolicySpec((LayerSpec("key", ('tool "x" { hard deny always; }',), "sqrt",
                                 PolicyPresets(default_allow=False), "strict", False),
                       LayerSpec("header", ('tool "y" { soft deny always; }',)), LayerSpec("planner", ("",))))
    again = PolicySpec.from_json(json.loads(json.dumps(spec.to_json())))
    assert again == spec and hash(again) == hash(spec)
    assert build_policy(again) is build_policy(spec)
    assert [a for a, _ in build_policy(spec).layers] == ["key", "header"]  # a blank layer restricts nothing
    assert LayerSpec("planner").presets == ADDITIONAL_PRESETS


@pytest.mark.parametrize("bad", [
    {"layers": []}, {"layers": [{"authority": "planner"}]}, {"layers": [{"authority": "root"}]},
    {"layers": [{"authority": "key"}, {"authority": "key"}]}, {"layers": [{"authority": "key", "mode": "lax"}]},
    {"layers": [{"authority": "key", "sources": "x"}]}, {"layers": [{"authority": "key", "extra": 1}]}, [],
])
def test_malformed_specs_are_policy_errors(bad):
    with pytest.raises(PolicyError):
        PolicySpec.from_json(bad)


def test_a_layer_that_does_not_compile_names_its_authority():
    with pytest.raises(LayerError) as err:
        stack("", ("header", 'tool "x" { hard deny when ; }'))
    assert err.value.authority == "header" and "line 1" in str(err.value)


# ---- the property ---------------------------------------------------------------------------

TOOLS = ("send", "read", "pay")
NAMES = ("secret", "final", "pii", "ok")
READERS = ("alice", "bob")


def _set(draw_names: list[str]) -> str:
    return "{" + ", ".join(f'"{n}"' for n in draw_names) + "}"


name_sets = st.lists(st.sampled_from(NAMES), max_size=2, unique=True)
atoms = st.one_of(
    st.builds(lambda n: f'"{n}" in @session.tags', st.sampled_from(NAMES)),
    st.builds(lambda s: f"@session.tags overlaps {_set(s)}", name_sets),
    st.just("@session.tags is empty"),
    st.builds(lambda n: f'x.tags overlaps {{"{n}"}}', st.sampled_from(NAMES)),
    st.builds(lambda n: f'"{n}" in @args.tags', st.sampled_from(NAMES)),
    st.builds(lambda s: f"@args.tags.intersect == {_set(s)}", name_sets),
    st.builds(lambda n: f'"{n}" in @args.producers', st.sampled_from(NAMES)),
    st.builds(lambda r: f'"{r}" in x.consumers', st.sampled_from(READERS)),
    st.just("x.consumers is universal"),
    st.builds(lambda r: f'"{r}" in @session.consumers', st.sampled_from(READERS)),
    st.builds(lambda s: f"@result.tags subset of {_set(s)}", name_sets),
)
conditions = st.recursive(atoms, lambda inner: st.one_of(
    st.builds(lambda c: f"not ({c})", inner),
    st.builds(lambda a, b, op: f"({a}) {op} ({b})", inner, inner, st.sampled_from(["and", "or"]))), max_leaves=3)
checks = st.builds(lambda lvl, eff, cond: f"{lvl} {eff} {'always' if cond is None else 'when ' + cond};",
                   st.sampled_from(["hard", "soft"]), st.sampled_from(["allow", "deny"]), st.none() | conditions)
set_values = st.one_of(name_sets.map(_set), st.just("{}"), st.just('{"*"}'),
                       st.lists(st.sampled_from(READERS), max_size=2, unique=True).map(_set))
updates = st.builds(lambda f, op, v: f"@{f} {op} {v};", st.sampled_from(["tags", "producers", "consumers"]),
                    st.sampled_from(["=", "|=", "-=", "&="]), set_values)
statements = st.one_of(updates, st.builds(lambda c, u: f"when {c} {{ {u} }}", conditions, updates))
blocks = st.builds(lambda kind, stmts: f"{kind} {{ {' '.join(stmts)} }}",
                   st.sampled_from(["result", "session before", "session after"]), st.lists(statements, min_size=1, max_size=2))
tool_decls = st.builds(lambda t, prio, members: f'tool "{t}" {{ priority {prio}; {" ".join(members)} }}',
                       st.sampled_from(TOOLS), st.integers(0, 2), st.lists(checks | blocks, min_size=1, max_size=3))
policies = st.lists(tool_decls, max_size=3).map("\n".join)
metas = st.builds(lambda t, p, c: Meta(StrSet.of(p), UNIVERSAL if c is None else StrSet.of(c), StrSet.of(t)),
                  name_sets, name_sets, st.none() | st.lists(st.sampled_from(READERS), max_size=2, unique=True))
steps = st.one_of(
    st.tuples(st.just("layer"), st.sampled_from(["header", "planner"]), policies),
    st.tuples(st.just("call"), st.sampled_from(TOOLS), st.dictionaries(st.sampled_from(["x", "y"]), metas, max_size=2),
              metas, st.booleans()),
)

SEVERITY = {"allowed": 0, "soft_denied": 1, "hard_denied": 2}


def _assert_restricts(full: Meta, alone: Meta) -> None:
    assert key_view(full) == alone  # the key's own metadata, exactly
    assert alone.tags.is_subset(full.tags) and alone.producers.is_subset(full.producers)
    view = restricted_view(full)
    assert alone.tags.is_subset(view.tags) and alone.producers.is_subset(view.producers)
    assert view.consumers.is_subset(alone.consumers)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies, st.lists(steps, max_size=8), st.sampled_from(["standard", "strict"]))
def test_no_sequence_of_header_and_planner_policies_weakens_the_key(key_code, script, mode):
    try:
        key_alone = stack(key_code, presets=KEY_PRESETS, mode=mode)
    except PolicyError:
        return  # a generated key policy that does not type-check is not a policy
    spec = PolicySpec((LayerSpec("key", (key_code,), presets=KEY_PRESETS, mode=mode),))  # type: ignore[arg-type]
    full_session, alone_session = SessionMeta(), SessionMeta()
    results: list[Meta] = []
    for step in script:
        if step[0] == "layer":
            try:
                build_policy(spec.with_layer(LayerSpec(step[1], (step[2],))))
            except PolicyError:
                continue  # an attacker's policy that does not compile is rejected, not added
            spec = spec.with_layer(LayerSpec(step[1], (step[2],)))
            continue
        full = build_policy(spec)
        _, tool, arg_metas, control, reuse = step
        args = {k: Tagged("v", results[-1] if reuse and results else m) for k, m in arg_metas.items()}
        alone_args = {k: Tagged(t.value, key_view(t.meta)) for k, t in args.items()}
        d_full = full.before_call(tool, args, full_session, control=control)
        d_alone = key_alone.before_call(tool, alone_args, alone_session, control=control)
        _assert_restricts(full_session.as_meta(), alone_session.as_meta())
        assert SEVERITY[d_full.verdict] >= SEVERITY[d_alone.verdict], (d_full.to_json(), d_alone.to_json())
        if not d_full.allowed:
            continue  # the call did not run; the key-alone reference does not run it either
        start = Meta.merge_all([*(t.meta for t in args.values()), control])
        r_full = full.apply_result(tool, args, Tagged("r", start), full_session, control=control)
        r_alone = key_alone.apply_result(tool, alone_args, Tagged("r", key_view(start)), alone_session, control=control)
        _assert_restricts(r_full, r_alone)
        full.update_session(tool, "after", args, full_session, Tagged("r", r_full), control=control)
        key_alone.update_session(tool, "after", alone_args, alone_session, Tagged("r", r_alone), control=control)
        _assert_restricts(full_session.as_meta(), alone_session.as_meta())
        results.append(r_full)


@settings(max_examples=3, deadline=None)
@given(st.lists(policies, min_size=40, max_size=40))
def test_the_generated_policies_compile_often_enough(codes):
    """Guard the property above against a generator that only produces type errors."""
    compiled = 0
    for code in codes:
        try:
            stack(code)
            compiled += 1
        except PolicyError:
            pass
    assert compiled >= 20


def test_the_provenance_bit_survives_views_updates_and_marks():
    """``untrusted`` is the interpreter's proof for planner isolation: no layer may lose it."""
    p = stack('tool "t" -> @tags = {};', ("planner", 'tool "t" -> @tags |= {"x"};'))
    meta = p.apply_result("t", {"a": Tagged(1, Meta(tags=StrSet.of(["~y"]), untrusted=True))},
                          Tagged("v", Meta(untrusted=True)), SessionMeta())
    assert meta.untrusted and {"~x"} <= meta.tags.items
    assert key_view(meta).untrusted and restricted_view(meta).untrusted
    assert stack('tool "t" -> @tags = {};').apply_result("t", {}, Tagged("v", Meta(untrusted=True)), SessionMeta()).untrusted
