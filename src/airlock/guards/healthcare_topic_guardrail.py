"""``healthcare_topic_guardrail``: tags ``healthcare`` ("content that may require professional
medical advice"): symptoms, diagnoses, treatments, medication and dosing, care settings.
Lexicon: ``data/healthcare_terms.txt``; engine: ``topic_lexicon``."""

from __future__ import annotations

from airlock.guards.topic_lexicon import TopicGuard, load_lexicon


def load() -> TopicGuard:
    return TopicGuard("healthcare_topic_guardrail", "healthcare", load_lexicon("healthcare_terms.txt"))
