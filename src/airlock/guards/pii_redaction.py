"""``pii_redaction``: tags ``pii`` and ``pii:<kind>`` and replaces each entity with a typed
placeholder. Kinds (placeholder / tag): ``EMAIL`` / ``pii:email``, ``PHONE`` / ``pii:phone``,
``CREDIT_CARD`` / ``pii:credit_card``, ``IBAN`` / ``pii:iban``, ``US_SSN`` / ``pii:us_ssn``,
``IP_ADDRESS`` / ``pii:ip_address``, ``URL`` / ``pii:url``, ``PERSON`` / ``pii:person``.
Detection: ``pii_engine`` (Presidio, offline)."""

from __future__ import annotations

from dataclasses import dataclass, field

from airlock.guards.base import Action, Finding, Span
from airlock.guards.pii_engine import ENTITY_KINDS, Analyzer, load_analyzer

TAGS = tuple(f"pii:{kind.lower()}" for kind in ENTITY_KINDS.values())


@dataclass(frozen=True, slots=True)
class PiiGuard:
    analyzer: Analyzer = field(default_factory=load_analyzer)
    name: str = "pii_redaction"
    action: Action = "redact"

    def findings(self, text: str) -> list[Finding]:
        return [
            Finding(f"pii:{kind.lower()}", score, Span(start, end, kind))
            for start, end, kind, score in self.analyzer.analyze(text)
        ]


def load() -> PiiGuard:
    return PiiGuard()
