"""Undo the encodings an attacker uses to slip a URL or path past a pattern.

Blockers look at the text as written *and* at every whitespace-delimited chunk that carries an
encoding marker, decoded until it stops changing: percent-encoding (``http%3A%2F%2F``, also
double-encoded), HTML entities (``&#x2F;``), JSON/JS escapes (``\\/``, ``\\u002f``, ``\\x2f``),
Unicode compatibility forms (full-width ``ｈｔｔｐ：／／``) and invisible format characters
(zero-width spaces inside ``ht\u200btp``). A finding in a decoded chunk covers the whole chunk,
so redaction never has to map decoded offsets back. Every round's form is checked, not only
the last: decoding can also destroy a path (``C:\\x00``, a folder named ``x00``, percent-encoded,
decodes on to ``C:`` and a NUL), so the form before the over-decoding must be seen too (found
by ``tests/guards/test_blockers.py``'s generated encodings). Out of scope: base64 and other
encodings that need a guess to undo.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Iterator
from urllib.parse import unquote

_CHUNK = re.compile(r"\S+")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})|\\(/)")
_MAX_ROUNDS = 5


def _marked(chunk: str) -> bool:
    return "%" in chunk or "&" in chunk or "\\" in chunk or not chunk.isascii()


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1) or match.group(2)
    return chr(int(code, 16)) if code else "/"


def _nfkc(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return text if text.isascii() else "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def _unquote(text: str) -> str:
    return unquote(text, errors="replace")


def _unescape_all(text: str) -> str:
    return _ESCAPE.sub(_unescape, text)


_STEPS = (_nfkc, html.unescape, _unquote, _unescape_all)


def decodings(text: str) -> list[str]:
    """The forms of ``text`` as the encodings above are undone, one per decoding step that
    changed it, in rounds until none does (bounded); the last is the fixed point."""
    forms: list[str] = []
    for _ in range(_MAX_ROUNDS):
        before = text
        for step in _STEPS:
            decoded = step(text)
            if decoded != text:
                forms.append(decoded)
                text = decoded
        if text == before:
            break
    return forms


def decoded_chunks(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, decoded)`` for each decoded form of each chunk that carries an encoding."""
    for match in _CHUNK.finditer(text):
        chunk = match.group()
        if _marked(chunk):
            for decoded in decodings(chunk):
                yield match.start(), match.end(), decoded
