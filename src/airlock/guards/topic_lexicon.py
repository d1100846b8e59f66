"""A weighted-phrase topic scorer: the shared engine of the two topic guardrails.

Why a curated lexicon and not a trained model: it ships as reviewable text, needs no heavy
dependency (the topic guardrails work on a base install), runs in well under a millisecond per
KB, and its mistakes can be fixed by editing one line. Its limits are measured, not assumed:
``bench/guards.py`` reports precision and recall on a tuning set and on a held-out set written
after the lexicons were frozen.

Scoring: the text is cut into windows of ~60 words (so a long tool result is judged by its
most on-topic passage, not diluted by the rest); in each window phrases are matched longest
first (a negative phrase such as ``river bank`` consumes ``bank``); a phrase counts once, its
repeats add half; the window scores ``1 - exp(-sum)``. One strong term (weight 1.4) scores
0.75, one medium term (0.7) 0.5, a weak one (0.4) 0.33.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from airlock.guards.base import Action, Finding

_TOKEN = re.compile(r"[a-z0-9]+(?:[''’.()-][a-z0-9]+)*\)?")
_WINDOW = 60
_MAX_PHRASE = 5


@dataclass(frozen=True, slots=True)
class Lexicon:
    phrases: dict[tuple[str, ...], float]
    # first word -> length of the longest phrase it starts: most words start none and are
    # skipped with one dict lookup (this halved the guardrails' time per KB)
    starts: dict[str, int]

    @classmethod
    def parse(cls, text: str) -> "Lexicon":
        phrases: dict[tuple[str, ...], float] = {}
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            weight, _, phrase = line.partition("\t")
            words = tuple(_TOKEN.findall(phrase.lower()))
            if not words or len(words) > _MAX_PHRASE:
                raise ValueError(f"lexicon line {number}: bad phrase {phrase!r}")
            phrases[words] = float(weight)
        starts: dict[str, int] = {}
        for words in phrases:
            starts[words[0]] = max(starts.get(words[0], 0), len(words))
        return cls(phrases, starts)

    def score(self, text: str) -> float:
        tokens = _TOKEN.findall(text.lower())
        best = 0.0
        for start in range(0, max(len(tokens), 1), _WINDOW // 2):
            best = max(best, self._window(tokens[start : start + _WINDOW]))
            if start + _WINDOW >= len(tokens):
                break
        return best

    def _window(self, tokens: list[str]) -> float:
        seen: dict[tuple[str, ...], int] = {}
        i = 0
        while i < len(tokens):
            longest = self.starts.get(tokens[i], 0)
            for n in range(min(longest, len(tokens) - i), 0, -1):
                key = tuple(tokens[i : i + n])
                if key in self.phrases:
                    seen[key] = seen.get(key, 0) + 1
                    i += n
                    break
            else:
                i += 1
        total = sum(self.phrases[k] * (1 + 0.5 * min(c - 1, 2)) for k, c in seen.items())
        return 1.0 - math.exp(-total) if total > 0 else 0.0


@lru_cache(maxsize=None)
def load_lexicon(filename: str) -> Lexicon:
    return Lexicon.parse(resources.files("airlock.guards").joinpath("data").joinpath(filename).read_text(encoding="utf-8"))


@dataclass(frozen=True, slots=True)
class TopicGuard:
    name: str
    tag: str
    lexicon: Lexicon
    action: Action = "tag"

    def findings(self, text: str) -> list[Finding]:
        return [Finding(self.tag, self.lexicon.score(text))]
