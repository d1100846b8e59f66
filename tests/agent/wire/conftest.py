"""A replay server: answers every POST with bytes the test prepared, and records what was posted.

Serving the rendered bytes over real HTTP lets the official SDKs' own streaming parsers judge
them; recording the posted body lets a round-trip test see exactly what a client sends next.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.live_server import serve_in_thread


@dataclass
class Replay:
    port: int = 0
    body: bytes = b"{}"
    content_type: str = "application/json"
    posted: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer_json(self, payload: dict[str, Any]) -> None:
        self.body, self.content_type = json.dumps(payload).encode(), "application/json"

    def answer_sse(self, events) -> None:
        self.body, self.content_type = b"".join(events), "text/event-stream"


@pytest.fixture(scope="session")
def replay_server():
    replay = Replay()

    async def any_post(request: Request) -> Response:
        replay.posted.append(json.loads(await request.body()))
        return Response(replay.body, media_type=replay.content_type)

    app = Starlette(routes=[Route("/{path:path}", any_post, methods=["POST"])])
    server, thread, replay.port = serve_in_thread(app, name="wire-replay")
    yield replay
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def replay(replay_server: Replay) -> Replay:
    replay_server.posted.clear()
    return replay_server
