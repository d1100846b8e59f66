"""Algebraic laws of metadata sets and of metadata propagation, checked with hypothesis."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from airlock.meta import NEUTRAL, UNIVERSAL, Meta, SessionMeta, StrSet, Tagged
from airlock.policy import compile_policy
from airlock.policy.compiler import set_equal, set_xor

finite = st.frozensets(st.sampled_from("abcde"), max_size=5).map(StrSet)
any_set = finite | st.just(UNIVERSAL)
metas = st.builds(Meta, any_set, any_set, any_set)


@given(any_set, any_set, any_set)
def test_union_and_intersection_laws(a, b, c):
    assert set_equal(a.union(b), b.union(a)) and set_equal(a.intersect(b), b.intersect(a))
    assert set_equal(a.union(b).union(c), a.union(b.union(c)))
    assert set_equal(a.intersect(b).intersect(c), a.intersect(b.intersect(c)))
    assert set_equal(a.union(a.intersect(b)), a) and set_equal(a.intersect(a.union(b)), a)  # absorption
    assert set_equal(a.intersect(b.union(c)), a.intersect(b).union(a.intersect(c)))  # distributive
    assert set_equal(a.intersect(UNIVERSAL), a) and a.union(UNIVERSAL).universal


@given(finite, finite, finite)
def test_difference_and_xor_laws_on_finite_sets(a, b, c):
    assert a.minus(b).intersect(b).is_empty()
    assert set_equal(set_xor(a, b), a.minus(b).union(b.minus(a)))
    assert set_equal(set_xor(set_xor(a, b), c), set_xor(a, set_xor(b, c)))
    assert set_xor(a, a).is_empty()
    assert set_equal(a.minus(b.union(c)), a.minus(b).intersect(a.minus(c)))  # De Morgan


@given(any_set, any_set)
def test_predicates_agree_with_algebra(a, b):
    assert a.overlaps(b) == (not a.intersect(b).is_empty())
    assert a.is_subset(b) == set_equal(a.intersect(b), a)
    assert a.is_subset(a.union(b))


@given(metas, metas, metas)
def test_merge_is_a_commutative_idempotent_monoid(x, y, z):
    assert x.merge(y) == y.merge(x) or (x.merge(y).to_json() == y.merge(x).to_json())
    assert x.merge(y).merge(z).to_json() == x.merge(y.merge(z)).to_json()
    assert x.merge(x).to_json() == x.to_json()
    assert x.merge(NEUTRAL).to_json() == x.to_json() == NEUTRAL.merge(x).to_json()


@given(st.lists(metas, min_size=1, max_size=4))
def test_result_meta_and_args_aggregates_follow_propagation_rules(arg_metas):
    """The engine's @args aggregates and initial result meta obey union/intersection laws."""
    args = {f"a{i}": Tagged(i, m) for i, m in enumerate(arg_metas)}
    merged = Meta.merge_all(arg_metas)
    policy = compile_policy('''
        tool "t" {
            must deny when not (@args.producers == @result.producers and @args.tags == @result.tags
                                and @args.consumers.intersect == @result.consumers);
        }''')
    assert policy.check_call("t", args, SessionMeta()).allowed
    for m in arg_metas:  # every input's producers/tags flow into the result; consumers only shrink
        assert m.producers.is_subset(merged.producers) and m.tags.is_subset(merged.tags)
        assert merged.consumers.is_subset(m.consumers)
