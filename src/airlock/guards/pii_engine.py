"""Presidio's analyzer, assembled to run offline and inside our latency budget.

Measured with Presidio 2.2 on a blank spaCy pipeline (``bench/guards.py`` numbers in the README):
Presidio's own ``PhoneRecognizer`` runs ``phonenumbers.PhoneNumberMatcher`` once per region and
costs ~57 ms per KB of number-dense text, and its ``UrlRecognizer`` ~2-3 ms per KB of plain
prose and also fires on the domain of every email address. So we keep Presidio's validated
recognizers (email, credit card with Luhn, IBAN with mod-97, US SSN with its invalid-number
rules, IP) and its context enhancer, and plug in our own phone (one candidate regex, then
``phonenumbers`` validation per candidate), URL (``urls``, shared with ``url_blocker``) and
person (``names``) recognizers.

Offline and fast: no spaCy pipeline at all. Presidio's ``SpacyNlpEngine.load`` would try to
*download* a model; a blank pipeline has no lemmas, and tokenising with it was ~30% of the
analyzer's time. ``RegexEngine`` gives the enhancer what it reads (tokens, offsets, lower-cased
tokens as lemmas, spaCy's English stop-word list). ``tldextract`` (the email validator) is
built with no suffix-list URLs, so it uses the snapshot bundled in the package.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache
from typing import Any, Callable, Iterable, Iterator, cast

from airlock.guards.errors import GuardUnavailable
from airlock.guards.names import find_names
from airlock.guards.urls import find_urls

# Presidio entity -> our placeholder kind (the tag is "pii:" + kind.lower()).
ENTITY_KINDS = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
    "URL": "URL",
    "PERSON": "PERSON",
}
PHONE_REGIONS = ("US", "GB", "DE", "FR", "IN", "AU", "BR", "ES", "IT", "NL")
_PHONE_CANDIDATE = re.compile(r"(?<![\w+.-])(?:\+|00)?\d[\d ().-]{5,20}\d(?![\w-])|(?<![\w+.-])\(\d{2,5}\)[\d .-]{5,16}\d(?![\w-])")
# Dates, SSN-shaped numbers, dotted quads and times are not phone numbers even where some
# region's numbering plan would accept the digits.
_NOT_PHONE = re.compile(r"\d{4}-\d{2}-\d{2}|^\d{3}[ .-]\d{2}[ .-]\d{4}$|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\d{1,2}:\d{2}")
PHONE_CUES = frozenset("phone tel telephone cell cellphone mobile mob call fax whatsapp sms text dial reach ph".split())
_WORDS_BEFORE = re.compile(r"((?:[A-Za-z]+[^A-Za-z]+){1,3})$")
# Findings of these kinds win over a PHONE reading of the same digits.
_OVER_PHONE = frozenset({"CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS"})
# Validated recognizers whose Presidio score undersells them (an address that parses as IP).
_SCORE_FLOOR = {"IP_ADDRESS": 0.85}


_TOKENS = re.compile(r"\w+|[^\w\s]")
_DIGIT = re.compile(r"\d")


class Analyzer:
    """A loaded Presidio analyzer; ``analyze`` returns ``(start, end, kind, score)``."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    def analyze(self, text: str) -> list[tuple[int, int, str, float]]:
        digit = _DIGIT.search(text) is not None
        entities = [e for e, needs in _NEEDS.items() if needs(text, digit)]
        if not entities:
            return []
        results = self._engine.analyze(text=text, language="en", entities=entities)
        found = [(r.start, r.end, ENTITY_KINDS[r.entity_type], max(float(r.score), _SCORE_FLOOR.get(ENTITY_KINDS[r.entity_type], 0.0)))
                 for r in results]
        return _arbitrate(found)


def _arbitrate(found: list[tuple[int, int, str, float]]) -> list[tuple[int, int, str, float]]:
    """One reading per piece of text: a phone reading yields to a card/IBAN/SSN/IP reading of the
    same digits, and an entity inside a longer one of another kind (the name in
    ``priya.nair@...``, the mailbox in ``https://user:pass@host``) is part of that one, except an
    IP address inside a URL, which is still an address."""
    out = []
    for item in found:
        start, end, kind, _ = item
        shadowed = False
        for o_start, o_end, o_kind, _ in found:
            if o_kind == kind:
                continue
            overlaps = o_start < end and start < o_end
            inside = o_start <= start and end <= o_end and (o_end - o_start) > (end - start)
            if (kind == "PHONE" and o_kind in _OVER_PHONE and overlaps) or (inside and not (kind == "IP_ADDRESS" and o_kind == "URL")):
                shadowed = True
                break
        if not shadowed:
            out.append(item)
    return out


# Cheap preconditions (text, has a digit) that skip recognizers which cannot match.
_NEEDS: dict[str, Callable[[str, bool], bool]] = {
    "EMAIL_ADDRESS": lambda t, d: "@" in t,
    "PHONE_NUMBER": lambda t, d: d,
    "CREDIT_CARD": lambda t, d: d,
    "IBAN_CODE": lambda t, d: d,
    "US_SSN": lambda t, d: d,
    "IP_ADDRESS": lambda t, d: d or "::" in t,
    "URL": lambda t, d: "." in t or ":" in t,
    "PERSON": lambda t, d: not t.islower(),
}


@lru_cache(maxsize=1)
def load_analyzer() -> Analyzer:
    """Build once per process; raises ``GuardUnavailable`` when Presidio or spaCy is missing."""
    try:
        import phonenumbers
        import tldextract
        from presidio_analyzer import (
            AnalysisExplanation,
            AnalyzerEngine,
            EntityRecognizer,
            Pattern,
            RecognizerRegistry,
            RecognizerResult,
        )
        from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
        from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
        from spacy.lang.en.stop_words import STOP_WORDS
        from presidio_analyzer.predefined_recognizers import (
            CreditCardRecognizer,
            EmailRecognizer,
            IbanRecognizer,
            IpRecognizer,
            UsSsnRecognizer,
        )
    except ImportError as exc:
        raise GuardUnavailable(
            "pii_redaction",
            f"pii_redaction needs Presidio and spaCy, which this server does not have ({exc.name or exc}); "
            "install airlock[guards]",
        ) from None

    extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class FastContext(LemmaContextAwareEnhancer):
        """Presidio's enhancer scans every token of the text for every result (O(tokens x
        results), 75% of the analyzer's time on number-dense text); a binary search finds the
        same token: the first one that ends after ``start``."""

        @staticmethod
        def _find_index_of_match_token(word: str, start: int, tokens: Any, tokens_indices: list[int]) -> int:
            i = max(bisect.bisect_right(tokens_indices, start) - 1, 0)
            if i < len(tokens_indices) and start >= tokens_indices[i] + len(tokens[i]):
                i += 1
            if i >= len(tokens_indices):
                raise ValueError(f"Did not find word {word!r} in the list of tokens")
            return i

    # spaCy's English stop words, minus the ones that are our context cues ("call me at ...").
    stop_words = frozenset(STOP_WORDS) - {"call", "name", "number", "phone", "ssn"}

    class RegexEngine(NlpEngine):
        """The NLP artifacts Presidio's context enhancer needs (tokens, offsets, lemmas) from one
        regex pass. A blank spaCy pipeline gives the same artifacts (its lemmas are empty, so
        they must be filled from the tokens anyway) at ~30% of the analyzer's time."""

        def load(self) -> None:
            pass

        def is_loaded(self) -> bool:
            return True

        def process_text(self, text: str, language: str) -> Any:
            matches = list(_TOKENS.finditer(text))
            return NlpArtifacts(
                # Presidio types ``tokens`` as a spaCy Doc; the enhancer only takes its length and
                # items' lengths (FastContext), which a list of strings provides.
                entities=[], tokens=cast(Any, [m.group() for m in matches]), tokens_indices=[m.start() for m in matches],
                lemmas=[m.group().lower() for m in matches], nlp_engine=self, language=language, scores=[],
            )

        def process_batch(self, texts: Iterable[str], language: str, batch_size: int = 1, n_process: int = 1,
                          **kwargs: Any) -> Iterator[tuple[str, Any]]:
            for text in texts:
                yield text, self.process_text(text, language)

        def is_stopword(self, word: str, language: str) -> bool:
            return word in stop_words

        def is_punct(self, word: str, language: str) -> bool:
            return not any(ch.isalnum() for ch in word)

        def get_supported_entities(self) -> list[str]:
            return []

        def get_supported_languages(self) -> list[str]:
            return ["en"]

    class OfflineEmail(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return bool(extract(pattern_text.rsplit("@", 1)[-1]).suffix)

    class Recognizer(EntityRecognizer):
        """Base of our own recognizers: results in Presidio's shape, context handled by Presidio."""

        def load(self) -> None:
            pass

        def result(self, start: int, end: int, score: float) -> Any:
            name: str = getattr(self, "name")  # untyped attribute of Presidio's base class
            return RecognizerResult(
                self.supported_entities[0], start, end, score,
                analysis_explanation=AnalysisExplanation(name, score),
                recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: name,
                                      RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id},
            )

    class Phone(Recognizer):
        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            out = []
            for m in _PHONE_CANDIDATE.finditer(text):
                candidate = m.group()
                digits = sum(ch.isdigit() for ch in candidate)
                if not 7 <= digits <= 15 or _NOT_PHONE.search(candidate.strip()):
                    continue
                score = _phone_score(phonenumbers, candidate)
                before = _WORDS_BEFORE.search(text, max(0, m.start() - 30), m.start())
                if score >= 0.3 and before and PHONE_CUES.intersection(re.findall(r"[a-z]+", before.group(1).lower())):
                    score = max(score + 0.15, 0.6)
                if score:
                    out.append(self.result(m.start(), m.end(), score))
            return out

    class Url(Recognizer):
        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            return [self.result(s.start, s.end, 0.8) for s in find_urls(text)]

    class Person(Recognizer):
        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            return [self.result(s.start, s.end, score) for s, score in find_names(text)]

    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in (
        OfflineEmail(),
        # Presidio's card pattern predates Mastercard's 2221-2720 range; same base score, same Luhn check.
        CreditCardRecognizer(patterns=[*CreditCardRecognizer.PATTERNS, Pattern(
            "Mastercard 2-series", r"\b2(?:2[2-9]\d|[3-6]\d{2}|7[01]\d|720)[- ]?\d{4}[- ]?\d{4}[- ]?\d{4}\b", 0.3)]),
        IbanRecognizer(),
        UsSsnRecognizer(),
        IpRecognizer(),
        # Its cue words are checked by Phone itself: spaCy lists "call" as a stop word, which
        # Presidio's context matching skips.
        Phone(supported_entities=["PHONE_NUMBER"], name="AirlockPhone"),
        Url(supported_entities=["URL"], name="AirlockUrl"),
        Person(supported_entities=["PERSON"], name="AirlockPerson"),
    ):
        registry.add_recognizer(recognizer)
    nlp_engine = RegexEngine()
    # Context words lift a weak match (a bare 9-digit SSN, digits-only phone) to 0.6: over the
    # "normal" threshold, under "low sensitivity".
    enhancer = FastContext(context_similarity_factor=0.35, min_score_with_context_similarity=0.6)
    engine = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"],
                            context_aware_enhancer=enhancer)
    return Analyzer(engine)


def _phone_score(phonenumbers: Any, candidate: str) -> float:
    """0.7 for a number valid as written internationally (``+``/``00``) or in the US, with phone
    formatting; 0.45 for bare digits, or for a number valid only in another region's national
    format (``020 7946 0958``); 0.3 for a merely possible number. A cue word ("phone", "call",
    "fax"...) in the three words before adds 0.15, and at least reaches 0.6."""
    stripped = candidate.strip()
    international = stripped.startswith(("+", "00"))
    formatted = international or stripped.startswith("(") or any(ch in stripped for ch in " .-")
    groups = [g for g in re.split(r"\D+", stripped) if g]
    if not international and len(groups) > 1 and (max(map(len, groups)) > 6 or len(groups[-1]) < 2):
        return 0.0  # "20240517.3", "2023-11-05-1": numbers with separators, not written like a phone
    possible = False
    for region in ((None,) if stripped.startswith("+") else PHONE_REGIONS):
        try:
            number = phonenumbers.parse(stripped, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return 0.7 if formatted and (international or region == "US") else 0.45
        possible = possible or phonenumbers.is_possible_number(number)
    return 0.3 if possible else 0.0
