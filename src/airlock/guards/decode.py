"""Undo the encodings an attacker uses to slip a URL or path past a pattern.

Blockers look at the text as written *and* at every whitespace-delimited chunk that carries an
encoding marker, decoded until it stops changing: percent-encoding (``http%3A%2F%2F``, also
double-encoded), HTML entities (``&#x2F;``), JSON/JS escapes (``\\/``, ``\\u002f``, ``\\x2f``),
Unicode compatibility forms (full-width ``ｈｔｔｐ：／／``) and invisible format characters
(zero-width spaces inside ``ht\u200btp``). A finding in a decoded chunk covers the whole chunk,
so redaction never has to map decoded offsets back. Out of scope: base64 and other encodings
that need a guess to undo.
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


def canonical(text: str) -> str:
    """``text`` with the encodings above undone, repeatedly (bounded)."""
    for _ in range(_MAX_ROUNDS):
        before = text
        text = unicodedata.normalize("NFKC", text)
        if not text.isascii():
            text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
        text = html.unescape(text)
        text = unquote(text, errors="replace")
        text = _ESCAPE.sub(_unescape, text)
        if text == before:
            break
    return text


def decoded_chunks(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, decoded)`` for each chunk whose decoding differs from what is written."""
    for match in _CHUNK.finditer(text):
        chunk = match.group()
        if _marked(chunk):
            decoded = canonical(chunk)
            if decoded != chunk:
                yield match.start(), match.end(), decoded
