"""Content guards: classifiers that tag, PII redaction, URL and file-path blockers.

A pure library (no HTTP, no agent code): ``airlock.agent`` calls it on tool-call arguments and
tool results, ``airlock.api`` maps its errors to 400s. Public interface::

    guards = GuardSet.from_features(x_features)          # GuardConfigError / GuardUnavailable
    redactor = Redactor.from_json(state.get("redactor"))  # session-consistent placeholders
    scan = guards.scan_value(arguments, "argument", redactor)
    scan.tags, scan.value, scan.blocks                     # tags for SQRT, redacted copy, blocks
    state["redactor"] = redactor.to_json()

Tags: ``toxic``, ``healthcare``, ``finance``, ``pii`` plus one of ``pii:email``, ``pii:phone``,
``pii:credit_card``, ``pii:iban``, ``pii:us_ssn``, ``pii:ip_address``, ``pii:url``,
``pii:person``; blockers add ``url`` / ``file_path``. Modes and thresholds: ``modes``.
"""

from airlock.guards.base import Finding, Guard, Span, Where
from airlock.guards.errors import GuardConfigError, GuardError, GuardUnavailable
from airlock.guards.guardset import BLOCKERS, CLASSIFIERS, Block, GuardSet, Scan, scannable
from airlock.guards.llm_classifier import AskJson
from airlock.guards.modes import MODES, Mode
from airlock.guards.pii_redaction import TAGS as PII_TAGS
from airlock.guards.redactor import Redactor

TAGS = ("toxic", "healthcare", "finance", "pii", *PII_TAGS, "url", "file_path")

__all__ = [
    "AskJson", "BLOCKERS", "Block", "CLASSIFIERS", "Finding", "Guard", "GuardConfigError", "GuardError", "GuardSet",
    "GuardUnavailable", "MODES", "Mode", "PII_TAGS", "Redactor", "Scan", "Span", "TAGS", "Where", "scannable",
]
