"""URL detection, shared by ``url_blocker`` and the ``URL`` entity of ``pii_redaction``.

What counts as a URL, from most to least explicit:

* anything with a scheme of two or more letters followed by ``//`` or ``\\\\`` (``https://``,
  ``ftp://``, ``file://``, ``s3://``...), or a single ``/`` (browsers accept ``http:/x``), plus
  the script-capable schemes that need no slashes (``data:``, ``javascript:``, ``vbscript:``);
* protocol-relative ``//host.tld/...`` and ``www.host...``;
* ``host.tld`` or an IPv4 address followed by a port or a path (any alphabetic TLD:
  ``evil.example/x`` counts);
* a bare ``host.tld`` only for a curated list of common TLDs, because many newer TLDs are
  English words or file extensions (``first.name``, ``install.sh``) and prose is full of them.

A single-letter "scheme" is a Windows drive (``C:/x``), left to ``file_blocker``. An address
after ``@`` is an email's domain, left to ``pii_redaction``.
"""

from __future__ import annotations

import re

from airlock.guards.base import Span

# TLDs whose bare domains (no scheme, no path) are URLs: the common gTLDs and the ccTLDs most
# used for sites and phishing. Extensions of common files (.sh, .py, .md, .pl, .rs, .zip, .mov)
# are deliberately absent.
COMMON_TLDS = frozenset(
    """com net org edu gov mil int io co ai app dev info biz me xyz online site top club shop store
    tech cloud page blog news live pro link click ru cn uk de fr jp br in it nl au ca es ch se no
    pl us eu be at dk fi ie nz za mx ar cl kr tw hk sg my id th vn tr ua ir il gr pt cz hu ro tk
    ml ga cf gq ly to gg tv cc ws fm ly su""".split()
)

_HOST = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}"
_PATTERNS = [
    # scheme URLs
    re.compile(r"(?<![a-z0-9+.-])[a-z][a-z0-9+.-]{1,30}:(?://|\\\\|/(?=[^\s/]))[^\s<>\"'`]*", re.I),
    re.compile(r"(?<![a-z0-9])(?:data|javascript|vbscript):[^\s<>\"'`]+", re.I),
    # protocol-relative and www.
    re.compile(r"(?<![\w:/\\])//" + _HOST + r"(?::\d{1,5})?(?:[/?#][^\s<>\"'`]*)?", re.I),
    re.compile(r"(?<![\w@.-])www\d{0,3}\." + _HOST + r"(?::\d{1,5})?(?:[/?#][^\s<>\"'`]*)?", re.I),
    # an IPv4 address with a port or a path (a bare address is left to pii_redaction)
    re.compile(r"(?<![\w@.:/-])(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5}(?:[/?#][^\s<>\"'`]*)?|/[^\s<>\"'`]*)"),
    # host with a port or a path
    re.compile(r"(?<![\w@./-])" + _HOST + r"(?::\d{1,5}(?:[/?#][^\s<>\"'`]*)?|[/?#][^\s<>\"'`]*)", re.I),
]
_BARE = re.compile(r"(?<![\w@./-])(" + _HOST + r")(?![\w@-]|\.[a-z0-9])", re.I)
_TRAILING = ".,;:!?)]}>'\""


def _trim(text: str, start: int, end: int) -> int:
    """Drop sentence punctuation after a URL ("see https://x.org.") unless it balances a bracket."""
    while end > start and text[end - 1] in _TRAILING:
        if text[end - 1] == ")" and text.count("(", start, end) >= text.count(")", start, end):
            break
        end -= 1
    return end


# A URL never contains whitespace and always contains one of these, so the patterns only run
# over such chunks (they start with a lookbehind that whitespace satisfies); this cut the
# blocker's time per KB of prose by ~3x.
_CANDIDATE = re.compile(r"\S*[.:/]\S*")


def find_urls(text: str) -> list[Span]:
    spans: list[Span] = []
    for chunk in _CANDIDATE.finditer(text):
        start, stop = chunk.span()
        for pattern in _PATTERNS:
            for m in pattern.finditer(text, start, stop):
                end = _trim(text, m.start(), m.end())
                if end > m.start():
                    spans.append(Span(m.start(), end, "URL"))
        for m in _BARE.finditer(text, start, stop):
            host = m.group(1).lower()
            if host.rsplit(".", 1)[-1] in COMMON_TLDS and not host.replace(".", "").isdigit():
                spans.append(Span(m.start(), m.end(), "URL"))
    return spans
