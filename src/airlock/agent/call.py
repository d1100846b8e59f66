"""What an agent needs to serve one request, gathered by the API layer, and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Iterable

from airlock.api.routing import Route
from airlock.providers.registry import ApiFormat as Api
from airlock.sessions.records import KeyRecord, SessionRecord


@dataclass(slots=True)
class Call:
    route: Route
    key: KeyRecord
    config: Any  # airlock.config.resolver.ResolvedConfig
    body: dict[str, Any]
    session: SessionRecord
    byok_key: str | None = None
    graph: Any = None  # airlock.agent.graph.GraphRun: a LangGraph run's program and context
    #: The config's compiled policy stack when the API layer already has it (memoised per
    #: request shape, ``api.resolution``); ``None``: the agent builds it.
    policy: Any = None
    #: ``api.history.Known``: the leading history items an earlier request of this session
    #: already passed the checks with (and their parse, for the dual-LLM agent to reuse).
    history: Any = None

    @property
    def api(self) -> Api:
        return self.route.api

    @property
    def provider(self) -> str:
        return self.route.effective_provider

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))


@dataclass(slots=True)
class JsonReply:
    body: dict[str, Any]
    session_id: str
    status: int = 200


@dataclass(slots=True)
class StreamReply:
    """An SSE stream whose first chunk is already in hand, so failures before it were still HTTP errors."""

    first: bytes
    rest: AsyncIterator[bytes]
    session_id: str
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_chunks(cls, chunks: Iterable[bytes], session_id: str) -> "StreamReply":
        """A stream of already rendered events (an answer that is complete before streaming starts)."""
        iterator = iter(chunks)

        async def rest() -> AsyncIterator[bytes]:
            for chunk in iterator:
                yield chunk

        return cls(next(iterator, b""), rest(), session_id)
