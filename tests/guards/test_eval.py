"""Quality floors on the shipped evaluation sets (the numbers ``bench/guards.py`` prints).

Floors sit a little under the measured values so that a detector change that loses quality
fails here; the issue's target (structured PII recall >= 0.95) is held exactly."""

from __future__ import annotations

import pytest

from tests.guards.evaluation import BLOCKER_SETS, STRUCTURED, TEXT_SETS, Counts, guard, load_pii, load_tsv, pii_counts, text_counts


def test_every_classifier_has_at_least_200_labelled_examples_with_hard_negatives():
    for name, (tuning, heldout) in TEXT_SETS.items():
        rows = load_tsv(tuning) + load_tsv(heldout)
        assert len(rows) >= 200 and sum(r.label for r in rows) >= 100 and sum(r.hard for r in rows) >= 50, name
    rows = load_pii()
    assert len(rows) >= 200 and sum(not r["entities"] for r in rows) >= 60


def test_structured_pii_recall_at_normal_is_at_least_095():
    counts = pii_counts(load_pii(), 0.5)
    total = Counts()
    for kind in STRUCTURED:
        total.tp += counts[kind].tp
        total.fn += counts[kind].fn
        total.fp += counts[kind].fp
        assert counts[kind].recall >= 0.9, kind
    assert total.recall >= 0.95 and total.precision >= 0.95


def test_names_floor():
    person = pii_counts(load_pii(), 0.5)["PERSON"]
    assert person.recall >= 0.9 and person.precision >= 0.9


@pytest.mark.parametrize("name, split, precision, recall", [
    ("toxicity_filter", 0, 0.9, 0.9), ("toxicity_filter", 1, 0.85, 0.7),
    ("healthcare_topic_guardrail", 0, 0.9, 0.95), ("healthcare_topic_guardrail", 1, 0.8, 0.6),
    ("finance_topic_guardrail", 0, 0.9, 0.95), ("finance_topic_guardrail", 1, 0.9, 0.9),
])
def test_classifier_floors_at_normal(name, split, precision, recall):
    c = text_counts(guard(name), load_tsv(TEXT_SETS[name][split]), 0.5)
    assert c.precision >= precision and c.recall >= recall, (c.precision, c.recall)


@pytest.mark.parametrize("name", sorted(BLOCKER_SETS))
def test_blockers_catch_every_labelled_form(name):
    c = text_counts(guard(name), load_tsv(BLOCKER_SETS[name]), 0.0)
    assert c.recall == 1.0 and c.precision >= 0.95
