"""``finance_topic_guardrail``: tags ``finance`` ("content that may require professional
financial advice"): investing, banking, credit and loans, taxes, budgeting, payments.
Lexicon: ``data/finance_terms.txt``; engine: ``topic_lexicon``."""

from __future__ import annotations

from airlock.guards.topic_lexicon import TopicGuard, load_lexicon


def load() -> TopicGuard:
    return TopicGuard("finance_topic_guardrail", "finance", load_lexicon("finance_terms.txt"))
