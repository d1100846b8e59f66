"""A client that leaves mid-stream: Airlock stops relaying and closes the upstream answer at once.

Why it matters: an abandoned stream that keeps reading from the provider keeps paying for
tokens nobody reads, and holds a pooled connection. The upstream here is a raw socket server
that streams an endless SSE answer slowly and records when its connection is closed.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx

from tests.live_server import LiveAirlock, upstream_settings


class EndlessSSE:
    """Answers every request with SSE events every 20 ms, forever; notes closed connections."""

    def __init__(self) -> None:
        self.closed_at: list[float] = []
        self.requests = 0
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.port = 0

        async def serve() -> None:
            self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()
            await self.stopped.wait()
            self.server.close()

        self.stopped = asyncio.Event()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(serve(),), daemon=True)
        self.thread.start()
        ready.wait(5)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
        await reader.readexactly(length)
        self.requests += 1
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        try:
            for i in range(10_000):
                chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "fake-model",
                         "choices": [{"index": 0, "delta": {"content": f"w{i} "}, "finish_reason": None}]}
                event = f"data: {json.dumps(chunk)}\n\n".encode()
                writer.write(b"%x\r\n%s\r\n" % (len(event), event))
                await writer.drain()
                if reader.at_eof():
                    break
                await asyncio.sleep(0.02)
        except (ConnectionError, OSError):
            pass
        self.closed_at.append(time.monotonic())
        writer.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.stopped.set)
        self.thread.join(timeout=5)


def test_client_gone_mid_stream_closes_the_upstream(tmp_path):
    upstream = EndlessSSE()
    live = LiveAirlock(upstream_settings(f"http://127.0.0.1:{upstream.port}", f"sqlite+aiosqlite:///{tmp_path}/a.db",
                                         allowed_models="*"))
    live.add_keys({"k": {"arch": "single-llm"}})
    live.start()
    try:
        body = {"model": "fake-model", "stream": True, "messages": [{"role": "user", "content": "go on forever"}]}
        with httpx.Client(timeout=10) as client:
            with client.stream("POST", f"{live.url}/control/chat/openai/v1/chat/completions", json=body,
                               headers={"Authorization": f"Bearer {live.keys['k']}", "X-Api-Key": "sk-byok"}) as resp:
                assert resp.status_code == 200
                got = b""
                for chunk in resp.iter_bytes():
                    got += chunk
                    if got.count(b"data:") >= 3:
                        break
            left = time.monotonic()  # the response (and its connection) is closed here
        deadline = left + 3
        while not upstream.closed_at and time.monotonic() < deadline:
            time.sleep(0.02)
        assert upstream.closed_at, "the upstream stream was still being read 3 s after the client left"
        assert upstream.closed_at[0] - left < 1.0
        # The server is fine afterwards.
        assert httpx.get(f"{live.url}/control/health", timeout=5).status_code == 200
    finally:
        live.stop()
        upstream.stop()
