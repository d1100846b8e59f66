"""Bearer-token authentication against the key store.

A short in-process cache keeps the store off the hot path; it holds only key hashes (never
secrets) and expires entries after ``ttl`` seconds so a revocation takes effect everywhere
within that time, on every replica.
"""

from __future__ import annotations

import time

from starlette.requests import Request

from airlock.api.errors import ApiError
from airlock.keys import hash_key
from airlock.sessions.records import KeyRecord
from airlock.sessions.store import Store


class Authenticator:
    def __init__(self, store: Store, ttl: float = 5.0, max_entries: int = 10_000) -> None:
        self.store = store
        self.ttl = ttl
        self.max_entries = max_entries
        self._cache: dict[str, tuple[float, KeyRecord | None]] = {}

    async def authenticate(self, request: Request) -> KeyRecord:
        header = request.headers.get("authorization")
        if not header:
            raise ApiError(401, "Missing Authorization header: send 'Authorization: Bearer <airlock key>'.")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "Authorization header must be 'Bearer <airlock key>'.")
        record = await self._lookup(hash_key(token))
        if record is None or not record.active:
            raise ApiError(401, "Invalid or revoked Airlock API key.")
        return record

    async def _lookup(self, key_hash: str) -> KeyRecord | None:
        now = time.monotonic()
        cached = self._cache.get(key_hash)
        if cached and cached[0] > now:
            return cached[1]
        record = await self.store.key_by_hash(key_hash)
        if len(self._cache) >= self.max_entries:
            self._cache.clear()
        self._cache[key_hash] = (now + self.ttl, record)
        return record

    def forget(self) -> None:
        self._cache.clear()
