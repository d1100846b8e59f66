"""``toxicity_filter``: tags ``toxic``.

Two local signals, the higher wins:

* alt-profanity-check's shipped model (TF-IDF + linear SVM, five sigmoid-calibrated folds),
  evaluated here from its fitted parameters rather than through scikit-learn's
  ``predict_proba``: the model is the same (``tests/guards`` checks equality to 1e-9), but
  sklearn's per-call validation cost 5 ms per request, our whole budget, where a dict lookup per
  word costs ~0.1 ms. Text is scored per sentence (TF-IDF normalisation would otherwise dilute
  one insult in a long tool result) and the text's score is its worst sentence's.
* a curated list of threats and harassment phrased without profanity (``I know where you
  live``, ``kill yourself``), which a profanity model scores low by design.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from airlock.guards.base import Action, Finding
from airlock.guards.errors import GuardUnavailable

_SENTENCES = re.compile(r"[^.!?\n]+[.!?]*|[.!?\n]+")
_WINDOW = 400  # characters; longer sentences are cut so one insult is not diluted

_YOU = r"(?:you|u|ya|your\s+(?:family|kids|children|wife|husband|mother|mom|dad|house|home|car|head|face|throat|life|business))"
_HARM = (r"(?:kill|hurt|murder|stab|shoot|strangle|choke|beat|punch|slap|smash|crush|destroy|end|find|hunt|rape|burn|"
         r"break|ruin|rip|wreck|bury|get)")
_THREATS = [
    (re.compile(p, re.I), score)
    for p, score in (
        (r"\b(?:i|we)\s*(?:will|'ll|’ll|'m\s+going\s+to|’m\s+going\s+to|am\s+going\s+to|'re\s+going\s+to|"
         r"are\s+going\s+to|gonna|shall|want\s+to)\s+" + _HARM + r"\s+" + _YOU, 0.9),
        (r"\b(?:know|found|find(?:\s+out)?)\s+where\s+(?:you|u)\s+live\b", 0.85),
        (r"\b(?:jump|throw\s+yourself)\s+off\s+(?:a|the)\s+(?:bridge|cliff|roof|building)", 0.85),
        (r"\b(?:kill|hang|shoot|end)\s+(?:yo)?urself\b|\bkys\b|\bgo\s+(?:and\s+)?die\b", 0.95),
        (r"\b(?:i\s+)?hope\s+(?:you|u)\s+(?:die|get\s+(?:cancer|hit|killed|raped|hurt))", 0.95),
        (r"\b(?:you|u)\s+(?:should|deserve\s+to|ought\s+to)\s+(?:die|be\s+(?:killed|shot|hanged|beaten))", 0.95),
        (r"\b(?:watch|sleep\s+with\s+one\s+eye\s+open|you(?:'ll|’ll|\s+will)\s+(?:regret|pay\s+for))\b.*\b(?:back|this|that|it)\b", 0.6),
        (r"\b(?:you(?:'re|’re|\s+are)|ur)\s+(?:a\s+)?(?:worthless|pathetic|disgusting|subhuman|vermin|trash|garbage|"
         r"a\s+waste\s+of\s+(?:space|air|oxygen)|waste\s+of\s+(?:space|air|oxygen)|nothing|scum|filth|parasite|freak|loser|"
         r"(?:so\s+)?ugly|vile|despicable|repulsive|a\s+disgrace|the\s+worst\s+(?:human|person))\b", 0.8),
        (r"\bnobody\s+(?:likes|loves|wants|cares\s+about)\s+(?:you|u)\b", 0.75),
        (r"\b(?:shut\s+(?:the\s+hell\s+)?up|get\s+lost|drop\s+dead)\b", 0.6),
        (r"\b(?:those|these|all|you)\s+(?:people|immigrants|foreigners)\s+(?:are|is)\s+(?:animals|vermin|rats|"
         r"cockroaches|parasites|subhuman|a\s+disease)", 0.9),
        (r"\b(?:should\s+(?:all\s+)?be\s+(?:exterminated|wiped\s+out|gassed|deported\s+or\s+killed))", 0.95),
    )
]


@dataclass(frozen=True, slots=True)
class _Model:
    analyzer: Callable[[str], list[str]]
    # word -> (idf, weight of each calibrated fold)
    features: dict[str, tuple[float, tuple[float, ...]]]
    intercepts: tuple[float, ...]
    # sigmoid calibration P = 1 / (1 + exp(a * d + b)) per fold
    calibration: tuple[tuple[float, float], ...]

    def probability(self, text: str) -> float:
        counts: dict[str, int] = {}
        for token in self.analyzer(text):
            if token in self.features:
                counts[token] = counts.get(token, 0) + 1
        folds = len(self.intercepts)
        decision = [0.0] * folds
        norm = 0.0
        for token, count in counts.items():
            idf, weights = self.features[token]
            value = count * idf
            norm += value * value
            for k in range(folds):
                decision[k] += value * weights[k]
        scale = 1.0 / math.sqrt(norm) if norm else 0.0
        total = 0.0
        for k in range(folds):
            a, b = self.calibration[k]
            z = a * (decision[k] * scale + self.intercepts[k]) + b
            total += 1.0 / (1.0 + math.exp(z)) if z < 700 else 0.0
        return total / folds


@lru_cache(maxsize=1)
def _load_model() -> _Model:
    try:
        from profanity_check import profanity_check as shipped
    except ImportError as exc:
        raise GuardUnavailable(
            "toxicity_filter",
            f"toxicity_filter needs alt-profanity-check, which this server does not have ({exc.name or exc}); "
            "install airlock[guards]",
        ) from None
    return _from_sklearn(shipped.vectorizer, shipped.model)


def _from_sklearn(vectorizer: Any, model: Any) -> _Model:
    folds = model.calibrated_classifiers_
    if any(len(f.calibrators) != 1 or f.method != "sigmoid" for f in folds):
        raise GuardUnavailable("toxicity_filter", "toxicity_filter: unexpected alt-profanity-check model layout")
    idf = vectorizer.idf_
    weights = [f.estimator.coef_.ravel() for f in folds]
    features = {
        word: (float(idf[j]), tuple(float(w[j]) for w in weights))
        for word, j in vectorizer.vocabulary_.items()
    }
    return _Model(
        analyzer=vectorizer.build_analyzer(),
        features=features,
        intercepts=tuple(float(f.estimator.intercept_[0]) for f in folds),
        calibration=tuple((float(f.calibrators[0].a_), float(f.calibrators[0].b_)) for f in folds),
    )


def windows(text: str) -> list[str]:
    out: list[str] = []
    for m in _SENTENCES.finditer(text):
        sentence = m.group()
        out.extend(sentence[i : i + _WINDOW] for i in range(0, len(sentence), _WINDOW))
    return [w for w in out if w.strip()]


def threat_score(text: str) -> float:
    return max((score for pattern, score in _THREATS if pattern.search(text)), default=0.0)


@dataclass(frozen=True, slots=True)
class ToxicityGuard:
    model: _Model
    name: str = "toxicity_filter"
    action: Action = "tag"

    def score(self, text: str) -> float:
        best = threat_score(text)
        for window in windows(text):
            if best >= 0.999:
                break
            best = max(best, self.model.probability(window))
        return best

    def findings(self, text: str) -> list[Finding]:
        return [Finding("toxic", self.score(text))]


def load() -> ToxicityGuard:
    return ToxicityGuard(_load_model())
