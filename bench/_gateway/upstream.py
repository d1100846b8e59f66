"""A fast fake OpenAI upstream for gateway benchmarks: uvloop + httptools, one write per answer.

Why not ``tests/fakes/llm_server.py``: that fake is built for scripted conversations and records
every request; on this 2-core machine it costs more CPU per request than the gateways being
measured, so it would set the ceiling. This one answers ``POST .../chat/completions`` with a
fixed chat completion (JSON), or with five SSE chunks and ``[DONE]`` when the body asks for
``"stream": true`` — the answer bytes are built once at start-up.

Each answer leaves in ONE ``transport.write`` (status line, headers and body together). A
server that writes headers and body separately meets Nagle's algorithm on one side and delayed
ACKs on the other: every keep-alive request then stalls ~40 ms and throughput caps near
500 req/s, which measures the fake, not the gateway. ``TCP_NODELAY`` is set as well.

    python bench/_gateway/upstream.py [--port 0]      # prints the port, serves until stdin closes
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time

import httptools
import uvloop

MODEL = "fake-model"


def _json_answer() -> bytes:
    return json.dumps({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": int(time.time()), "model": MODEL,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "echo: Bring your passport and booking ZRH-4471."}}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 12, "total_tokens": 132},
    }, separators=(",", ":")).encode()


def _sse_answer() -> bytes:
    words = ["echo:", " Bring", " your", " passport", "."]
    events = []
    for i, word in enumerate(words):
        delta = {"role": "assistant", "content": word} if i == 0 else {"content": word}
        chunk = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0, "model": MODEL,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": "stop" if i == len(words) - 1 else None}]}
        events.append(f"data: {json.dumps(chunk, separators=(',', ':'))}\n\n")
    events.append("data: [DONE]\n\n")
    return "".join(events).encode()


def _response(body: bytes, content_type: str) -> bytes:
    head = (f"HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
            "connection: keep-alive\r\n\r\n")
    return head.encode() + body


JSON_RESPONSE = _response(_json_answer(), "application/json")
SSE_RESPONSE = _response(_sse_answer(), "text/event-stream")
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"


class _Conn(asyncio.Protocol):
    __slots__ = ("transport", "parser", "url", "body")

    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()  # type: ignore[attr-defined]

    # httptools callbacks
    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        body = b"".join(self.body)
        url, self.url, self.body = self.url, b"", []
        if not url.split(b"?", 1)[0].endswith(b"/chat/completions"):
            self.transport.write(NOT_FOUND)  # type: ignore[attr-defined]
            return
        # A cheap test, on purpose: json.loads of every body would cost more than some gateways.
        stream = b'"stream":true' in body.replace(b" ", b"")
        self.transport.write(SSE_RESPONSE if stream else JSON_RESPONSE)  # type: ignore[attr-defined]


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Conn, "127.0.0.1", port, backlog=4096, reuse_address=True)
    print(server.sockets[0].getsockname()[1], flush=True)
    # Runs until the parent closes our stdin (or kills us).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    uvloop.run(serve(p.parse_args().port))


if __name__ == "__main__":
    main()
