"""Person names without an NER model: gazetteers plus the cues people write around names.

PyPI serves no spaCy model package, and every maintained NER model we could ship fetches its
weights from a hub at first use, so names are found offline by rules over shipped word lists
(``data/given_names.txt``, ``surnames.txt``, ``ambiguous_names.txt``, written for Airlock):

* a title (``Mr``, ``Dr``, ``Prof``...) before capitalised words: 0.9;
* a known given name followed by more capitalised words (``Maria Garcia``): 0.85; an initial or
  an ambiguous given name before a known surname (``J. Smith``, ``Grace Kim``): 0.8; an unknown
  capitalised word before a known surname: 0.6;
* a known given name alone: 0.35, or 0.7 after a cue (``Dear``, ``Hi``, ``thanks``, ``name is``,
  ``contact``, ``patient``...); an unknown capitalised word only after a strong cue
  (``Dear``, ``my name is``, ``signed``): 0.55;
* a word that is also a common word or place (``Grace``, ``May``, ``Will``, ``Paris``) never
  counts alone without a strong cue.

What this misses, by construction: names written in lower case, names in non-Latin scripts, and
rare names with no surname from the list and no cue. Measured recall and precision are in
``bench/guards.py`` (``pii`` rows, entity ``PERSON``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from airlock.guards.base import Span

TITLES = frozenset("mr mrs ms miss mx dr prof sir madam dame mister doctor professor".split())
PARTICLES = frozenset("de van von der den da di del della la le al el bin ibn dos das du".split())
CUES = frozenset(
    "dear hi hello hey thanks thank regards sincerely cheers best name named called signed contact patient "
    "customer client employee user manager colleague ask tell cc attn attention met meet spoke by from with "
    "and or to birthday congratulations welcome".split()
)
STRONG_CUES = ("dear", "hi", "hello", "hey", "thanks", "name is", "named", "called", "signed", "sincerely", "regards", "attn")
FOLLOWING_CUES = frozenset("and or said says wrote writes asked told replied".split())
# A capitalised run ending in one of these is a place or an organisation ("Queen Elizabeth Hospital").
INSTITUTIONS = frozenset(
    "Hospital Clinic University College School Academy Institute Foundation Street St Avenue Ave Road Rd "
    "Boulevard Lane Park Bridge Center Centre Hall Square Station Airport Hotel Church Museum Library Bank "
    "Inc Ltd LLC Corp Corporation Company Co Group Holdings Partners Labs River Lake Mountain County City "
    "Island Beach Tunnel Line Tower Building Stadium Arena Theatre Theater Court".split()
)

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
# Between two words of one name: a space, or ". " after an initial or a title ("J. R. Smith", "Dr. Lee").
_GAP = re.compile(r"[ \t]|\.[ \t]")
_BEFORE = re.compile(r"([^\W\d_]+(?:\s+[^\W\d_]+){0,2})[\s,:;]*$")


@dataclass(frozen=True, slots=True)
class _Lexicon:
    given: frozenset[str]
    surnames: frozenset[str]
    ambiguous: frozenset[str]


def _words(name: str) -> frozenset[str]:
    text = resources.files("airlock.guards").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    return frozenset(w for line in text.splitlines() if not line.startswith("#") for w in line.split())


@lru_cache(maxsize=1)
def lexicon() -> _Lexicon:
    ambiguous = _words("ambiguous_names.txt")
    return _Lexicon(_words("given_names.txt") - ambiguous, _words("surnames.txt"), ambiguous)


def _capitalised(word: str) -> bool:
    return word[0].isupper() and (len(word) == 1 or not word.isupper() or len(word) <= 12)


def _key(word: str) -> str:
    base = word[:-2] if word.endswith(("'s", "’s")) else word
    return base if not base.isupper() else base.title()


def _groups(text: str) -> list[list[re.Match[str]]]:
    """Runs of capitalised words (and name particles) joined only by a name-internal gap."""
    groups: list[list[re.Match[str]]] = []
    current: list[re.Match[str]] = []
    for m in _WORD.finditer(text):
        word = m.group()
        joinable = _capitalised(word) or (bool(current) and word in PARTICLES)
        if current and joinable:
            prev = current[-1]
            gap = text[prev.end() : m.start()]
            initial = len(prev.group()) == 1 or prev.group().lower() in TITLES
            if _GAP.fullmatch(gap) and (gap[0] != "." or initial):
                current.append(m)
                continue
        if current:
            groups.append(current)
        current = [m] if _capitalised(word) else []
    if current:
        groups.append(current)
    return groups


def _cue(text: str, start: int) -> tuple[bool, bool]:
    """(any cue, strong cue) in the up-to-three words before ``start``."""
    m = _BEFORE.search(text, max(0, start - 40), start)
    if m is None:
        return False, False
    before = " ".join(m.group(1).lower().split())
    words = before.split()
    strong = any(before.endswith(c) for c in STRONG_CUES)
    return strong or any(w in CUES for w in words[-2:]), strong


def _following_cue(text: str, end: int) -> bool:
    after = text[end : end + 12].split()
    return bool(after) and after[0].lower().strip(",.;:") in FOLLOWING_CUES


def _score(words: list[str], text: str, start: int, end: int) -> float:
    lex = lexicon()
    keys = [_key(w) for w in words if w not in PARTICLES]
    if any(k in INSTITUTIONS for k in keys[1:]):
        return 0.0
    first, last = keys[0], keys[-1]
    cue, strong = _cue(text, start)
    cue = cue or _following_cue(text, end)
    if len(keys) >= 2:
        if first in lex.given:
            return 0.85
        if last in lex.surnames and (first in lex.ambiguous or len(first) == 1):
            return 0.8
        if last in lex.surnames or first in lex.surnames:
            return 0.6
        if first in lex.ambiguous:
            return 0.65 if cue else 0.4
        return 0.55 if strong else 0.0
    if first in lex.given:
        return 0.7 if cue else 0.35
    if first in lex.surnames and cue:
        return 0.5
    return 0.55 if strong else 0.0


def find_names(text: str) -> list[tuple[Span, float]]:
    found: list[tuple[Span, float]] = []
    lex = lexicon()
    for group in _groups(text):
        words = [m.group() for m in group]
        i = 0
        while i < len(words):
            word = words[i]
            if word.lower() in TITLES and i + 1 < len(words):
                rest = group[i + 1 : i + 4]
                found.append((_span(text, rest), 0.9))
                i += 1 + len(rest)
                continue
            if word.lower() in CUES:  # "Dear Zorblat": the cue opens the name, it is not part of it
                i += 1
                continue
            key = _key(word)
            after_cue = i > 0 and words[i - 1].lower() in CUES
            if key in lex.given or key in lex.ambiguous or key in lex.surnames or after_cue or len(words) == 1 or i == len(words) - 2:
                run = group[i : i + 3]
                score = _score([m.group() for m in run], text, run[0].start(), run[-1].end())
                if score > 0:
                    found.append((_span(text, run), score))
                    i += len(run)
                    continue
            i += 1
    return found


def _span(text: str, run: list[re.Match[str]]) -> Span:
    end = run[-1].end()
    if text[end - 2 : end] in ("'s", "’s"):
        end -= 2
    return Span(run[0].start(), end, "PERSON")
