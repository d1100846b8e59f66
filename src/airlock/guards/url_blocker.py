"""``url_blocker``: "Block URL access in tool calls" (what counts as a URL: ``urls``)."""

from __future__ import annotations

from airlock.guards.pattern_blocker import PatternBlocker
from airlock.guards.urls import find_urls

GUARD = PatternBlocker("url_blocker", "url", find_urls)
