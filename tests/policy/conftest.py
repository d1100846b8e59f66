"""Shared helpers for the policy tests (the reference sdist fixture is in ``tests/conftest.py``)."""

from __future__ import annotations

from airlock.meta import Meta, StrSet, Tagged


def T(value=None, tags=(), producers=(), consumers=("*",)) -> Tagged:
    """A tool argument with metadata."""
    return Tagged(value, Meta(StrSet.of(producers), StrSet.of(consumers), StrSet.of(tags)))
