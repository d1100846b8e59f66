"""Placeholders are consistent within a session, across process boundaries, and never store PII."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from airlock.guards import Redactor
from airlock.guards.redactor import normalise

KINDS = st.sampled_from(["EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS", "URL", "PERSON", "FILE_PATH"])
VALUES = st.text(min_size=3, max_size=40).filter(lambda s: s.strip())


def travel(redactor: Redactor) -> Redactor:
    """Through JSON text, as the session store does between two requests."""
    return Redactor.from_json(json.loads(json.dumps(redactor.to_json())))


@given(st.lists(st.tuples(KINDS, VALUES), min_size=1, max_size=30), st.integers(min_value=0, max_value=30))
@settings(max_examples=200)
def test_same_entity_same_placeholder_distinct_entities_distinct(items, cut):
    redactor = Redactor()
    seen: dict[tuple[str, str], str] = {}
    for i, (kind, value) in enumerate(items):
        if i == cut:
            redactor = travel(redactor)  # a process boundary in the middle of the session
        placeholder = redactor.placeholder(kind, value)
        key = (kind, normalise(kind, value))
        assert seen.setdefault(key, placeholder) == placeholder
        assert placeholder.startswith(f"<{kind}_") and placeholder.endswith(">")
    by_placeholder: dict[str, tuple[str, str]] = {}
    for key, placeholder in seen.items():
        assert by_placeholder.setdefault(placeholder, key) == key  # no two entities share one


@given(st.lists(st.tuples(KINDS, st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789@.", min_size=8, max_size=30)), min_size=1))
def test_state_never_holds_an_entity_in_clear(items):
    redactor = Redactor()
    for kind, value in items:
        redactor.placeholder(kind, value)
    state = json.dumps(redactor.to_json())
    for _, value in items:
        assert value not in state and normalise("EMAIL", value) not in state


def test_formatting_does_not_make_a_new_entity():
    r = Redactor()
    assert r.placeholder("EMAIL", "Jane.Doe@Example.com") == r.placeholder("EMAIL", "jane.doe@example.com ") == "<EMAIL_1>"
    assert r.placeholder("CREDIT_CARD", "4111 1111 1111 1111") == r.placeholder("CREDIT_CARD", "4111-1111-1111-1111")
    assert r.placeholder("IP_ADDRESS", "2001:db8:0:0:0:0:0:1") == r.placeholder("IP_ADDRESS", "2001:db8::1")
    assert r.placeholder("EMAIL", "bob@example.com") == "<EMAIL_2>"


def test_two_sessions_do_not_share_numbering_or_digests():
    a, b = Redactor(), Redactor()
    b.placeholder("EMAIL", "x@example.com")
    assert a.placeholder("EMAIL", "y@example.com") == "<EMAIL_1>"
    assert a.to_json()["seen"].keys().isdisjoint(b.to_json()["seen"].keys())


def test_pepper_changes_the_digests():
    salt = "ab" * 16
    plain, peppered = Redactor(salt=salt), Redactor(salt=salt, pepper=b"server secret")
    plain.placeholder("US_SSN", "536-22-1234")
    peppered.placeholder("US_SSN", "536-22-1234")
    assert plain.to_json()["seen"] != peppered.to_json()["seen"]


@pytest.mark.parametrize("state", [
    {}, {"v": 2, "salt": "ab" * 16, "next": {}, "seen": {}}, {"v": 1, "salt": "zz" * 16, "next": {}, "seen": {}},
    {"v": 1, "salt": "ab" * 16, "next": {"EMAIL": "1"}, "seen": {}}, {"v": 1, "salt": "ab" * 16, "next": {}, "seen": {"d": True}},
    {"v": 1, "salt": "ab" * 8, "next": {}, "seen": {}},
])
def test_malformed_state_is_refused(state):
    with pytest.raises(ValueError):
        Redactor.from_json(state)


def test_surrogates_do_not_crash_the_digest():
    assert Redactor().placeholder("PERSON", "Ana \ud800") == "<PERSON_1>"
