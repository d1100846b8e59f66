"""What the two blockers share: run a span finder on the text as written and on its decoded
chunks (``decode``). In arguments a finding blocks the call, in results it is redacted (the
``GuardSet`` decides which from ``where``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from airlock.guards.base import Action, Finding, Span
from airlock.guards.decode import decoded_chunks


@dataclass(frozen=True, slots=True)
class PatternBlocker:
    name: str
    tag: str
    find: Callable[[str], list[Span]]
    action: Action = "block"

    def findings(self, text: str) -> list[Finding]:
        spans = self.find(text)
        for start, end, decoded in decoded_chunks(text):
            found = self.find(decoded)
            if found:
                spans.append(Span(start, end, found[0].kind))
        return [Finding(self.tag, 1.0, span) for span in spans]

