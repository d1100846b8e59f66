"""Airlock API keys: minted once, shown once, stored only as a SHA-256 digest.

Keys are 256-bit random tokens, so a fast hash is enough (there is nothing to brute-force the
way there is with passwords) and lets every request authenticate with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timezone
from typing import Any

from airlock.sessions.records import KeyRecord

KEY_PREFIX = "alk_"


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def has_saved_policy(base_config: dict[str, Any] | None) -> bool:
    """Whether a key config saves a policy (code, presets or mode) for the operator to lock."""
    section = (base_config or {}).get("policy")
    return isinstance(section, dict) and any(v is not None for v in section.values())


def mint_key(name: str, base_config: dict[str, Any] | None = None, *,
             policy_locked: bool | None = None) -> tuple[str, KeyRecord]:
    """A new secret and the record to store for it (the secret itself is never stored).

    ``policy_locked`` defaults to "locked when the config saves a policy": an operator who
    writes a policy for a key means it to hold, so overriding has to be asked for."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    record = KeyRecord(
        id=str(uuid.uuid4()),
        name=name,
        prefix=secret[:10],
        key_hash=hash_key(secret),
        base_config=base_config or {},
        created_at=datetime.now(timezone.utc),
        policy_locked=has_saved_policy(base_config) if policy_locked is None else policy_locked,
    )
    return secret, record
