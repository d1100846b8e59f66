"""Typed placeholders (``<EMAIL_1>``) that stay consistent within a session.

The same entity always gets the same placeholder and different entities different ones, so a
model reading redacted tool results can still tell "the same customer" from "another
customer". The state is plain JSON because it lives in the session record and must survive a
request landing on another replica.

The state never holds an entity in clear: it maps an HMAC of ``kind + normalised value`` to the
placeholder number. The HMAC key is a random per-session salt kept in the state, optionally
prefixed with a server secret (``pepper``) so that a database dump alone cannot confirm a
guessed value (a per-session salt alone still allows guessing low-entropy values such as SSNs).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from typing import Any, Mapping

STATE_VERSION = 1
# Past this many remembered entities a session keeps numbering new ones but stops remembering
# them (bounded session state beats perfect consistency on a pathological session).
MAX_REMEMBERED = 10_000


def normalise(kind: str, value: str) -> str:
    """The identity of an entity: formatting differences do not make a new placeholder."""
    text = value.strip()
    if kind in ("EMAIL", "PERSON"):
        return " ".join(text.casefold().split())
    if kind in ("PHONE", "CREDIT_CARD", "IBAN", "US_SSN"):
        return "".join(ch for ch in text if ch.isalnum()).upper()
    if kind == "IP_ADDRESS":
        try:
            return ipaddress.ip_address(text).compressed
        except ValueError:
            return text.lower()
    return text


class Redactor:
    """Hands out placeholders; ``to_json()``/``from_json()`` carry it between requests."""

    def __init__(self, *, salt: str | None = None, pepper: bytes = b"") -> None:
        self._salt = salt or secrets.token_hex(16)
        self._key = pepper + bytes.fromhex(self._salt)
        self._next: dict[str, int] = {}
        self._seen: dict[str, int] = {}

    def placeholder(self, kind: str, value: str) -> str:
        digest = self._digest(kind, value)
        number = self._seen.get(digest)
        if number is None:
            number = self._next.get(kind, 0) + 1
            self._next[kind] = number
            if len(self._seen) < MAX_REMEMBERED:
                self._seen[digest] = number
        return f"<{kind}_{number}>"

    def _digest(self, kind: str, value: str) -> str:
        message = f"{kind}\x00{normalise(kind, value)}".encode("utf-8", "surrogatepass")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def to_json(self) -> dict[str, Any]:
        return {"v": STATE_VERSION, "salt": self._salt, "next": dict(self._next), "seen": dict(self._seen)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None, *, pepper: bytes = b"") -> "Redactor":
        """A redactor continuing ``data`` (``None``: a fresh one). Malformed state is a ``ValueError``."""
        if data is None:
            return cls(pepper=pepper)
        salt = data.get("salt")
        next_, seen = data.get("next", {}), data.get("seen", {})
        if (
            data.get("v") != STATE_VERSION
            or not isinstance(salt, str)
            or len(salt) != 32
            or any(c not in "0123456789abcdef" for c in salt)
            or not _int_map(next_)
            or not _int_map(seen)
        ):
            raise ValueError("malformed redactor state")
        redactor = cls(salt=salt, pepper=pepper)
        redactor._next = dict(next_)
        redactor._seen = dict(seen)
        return redactor


def _int_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v > 0 for k, v in value.items()
    )
