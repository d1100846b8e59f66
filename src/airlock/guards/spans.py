"""Replacing detected spans with placeholders, one pass, overlaps resolved."""

from __future__ import annotations

from airlock.guards.base import Span
from airlock.guards.redactor import Redactor


def resolve_overlaps(spans: list[Span]) -> list[Span]:
    """Non-overlapping spans in text order; where spans overlap the longest wins.

    Longest-first means an email is one ``<EMAIL_1>``, not a ``<URL_1>`` for its domain plus a
    leftover local part that would leak the mailbox name.
    """
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (-(s.end - s.start), s.start)):
        if span.end > span.start and all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)


def replace_spans(text: str, spans: list[Span], redactor: Redactor) -> str:
    if not spans:
        return text
    out: list[str] = []
    at = 0
    for span in resolve_overlaps(spans):
        out.append(text[at : span.start])
        out.append(redactor.placeholder(span.kind, text[span.start : span.end]))
        at = span.end
    out.append(text[at:])
    return "".join(out)
