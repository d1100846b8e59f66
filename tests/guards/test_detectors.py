"""The local detectors, one by one."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from airlock.guards import pii_redaction, toxicity_filter
from airlock.guards.names import find_names

PII = pii_redaction.load()
TOXICITY = toxicity_filter.load()


def kinds(text: str, threshold: float = 0.5) -> dict[str, str]:
    return {f.span.kind: text[f.span.start : f.span.end] for f in PII.findings(text) if f.span and f.score >= threshold}


@given(st.lists(st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "Zs"]), max_size=80), min_size=1, max_size=4))
@settings(max_examples=150, deadline=None)
def test_fast_toxicity_scoring_is_the_shipped_model(texts):
    from profanity_check import predict_prob

    for text, expected in zip(texts, predict_prob(texts)):
        assert TOXICITY.model.probability(text) == pytest.approx(float(expected), abs=1e-9)


def test_one_insult_in_a_long_result_is_not_diluted():
    filler = "The quarterly numbers are in the attached sheet and the meeting is on Tuesday. " * 40
    assert TOXICITY.score(filler) < 0.5
    assert TOXICITY.score(filler + "You are a worthless fucking idiot. " + filler) > 0.9


@pytest.mark.parametrize("text", ["I know where you live.", "Go kill yourself.", "I'm going to hurt your family."])
def test_threats_without_profanity(text):
    assert TOXICITY.score(text) >= 0.8


@pytest.mark.parametrize("text, kind, value", [
    ("mail jane.doe@example.co.uk now", "EMAIL", "jane.doe@example.co.uk"),
    ("call +44 20 7946 0958", "PHONE", "+44 20 7946 0958"),
    ("card 5500 0000 0000 0004", "CREDIT_CARD", "5500 0000 0000 0004"),
    ("card 2221 0000 0000 0009", "CREDIT_CARD", "2221 0000 0000 0009"),
    ("IBAN DE89 3704 0044 0532 0130 00", "IBAN", "DE89 3704 0044 0532 0130 00"),
    ("SSN 536-22-1234", "US_SSN", "536-22-1234"),
    ("from 2001:db8::1 and", "IP_ADDRESS", "2001:db8::1"),
    ("open https://example.org/a?b=1.", "URL", "https://example.org/a?b=1"),
    ("Dear Priya,", "PERSON", "Priya"),
])
def test_each_entity_kind(text, kind, value):
    assert kinds(text).get(kind) == value


@pytest.mark.parametrize("text", [
    "ssn 078-05-1120", "SSN 000-12-3456", "SSN 666-12-3456",  # numbers the SSA never issues
    "card 4111 1111 1111 1112",  # fails Luhn
    "IBAN DE00 3704 0044 0532 0130 00",  # wrong check digits
    "Meeting on 2024-05-17 at 10:30", "Build 20240517.3 passed", "version 1.2.3",
])
def test_invalid_or_lookalike_numbers_are_not_pii(text):
    assert not kinds(text, 0.3)


def test_an_email_is_one_entity_not_a_name_and_a_domain():
    assert kinds("From: Priya.Nair@corp.example.co.uk") == {"EMAIL": "Priya.Nair@corp.example.co.uk"}


@pytest.mark.parametrize("text, names", [
    ("Please call John Smith tomorrow.", ["John Smith"]), ("Mr. Okafor signed it.", ["Okafor"]),
    ("Grace period ends in May. Will you sign?", []), ("Queen Elizabeth Hospital is nearby.", []),
    ("Dear Zorblat,", ["Zorblat"]), ("Meeting with Dr Chen and Prof. Amelia Rossi.", ["Chen", "Amelia Rossi"]),
])
def test_names(text, names):
    assert [text[s.start : s.end] for s, score in find_names(text) if score >= 0.5] == names
