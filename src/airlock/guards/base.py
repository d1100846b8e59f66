"""The one interface every guard implements, and the values it returns.

A guard reads text and reports ``Finding``s: a tag with a score in ``[0, 1]`` and, for detectors
of things that can be cut out (PII entities, URLs, paths), the ``Span`` it covers. What happens
to a finding (tag, redact, block) is decided by the ``GuardSet`` from the guard's ``action`` and
the request's threshold, so guards stay pure scoring functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Action = Literal["tag", "redact", "block"]
Where = Literal["argument", "result"]


@dataclass(frozen=True, slots=True)
class Span:
    """``text[start:end]`` is an entity of ``kind`` (the placeholder's name: ``EMAIL``, ``URL``...)."""

    start: int
    end: int
    kind: str


@dataclass(frozen=True, slots=True)
class Finding:
    tag: str
    score: float
    span: Span | None = None


class Guard(Protocol):
    """A local detector. ``findings`` must be synchronous, deterministic and offline."""

    @property
    def name(self) -> str: ...

    @property
    def action(self) -> Action: ...

    def findings(self, text: str) -> list[Finding]: ...
