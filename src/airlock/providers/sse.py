"""Incremental Server-Sent Events parsing that keeps each event's raw bytes.

Airlock mostly re-emits upstream events unchanged (or with ids rewritten), so an event carries
its exact bytes next to the parsed ``event``/``data`` fields: an untouched event can be
forwarded byte for byte. Follows the WHATWG rules that matter for LLM APIs: ``\\n``, ``\\r\\n``
or ``\\r`` line ends, one optional space after the colon, multi-line ``data`` joined with
``\\n``, comment lines (``: keep-alive``, OpenRouter's ``: OPENROUTER PROCESSING``) ignored,
and blocks without ``data`` not dispatched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, AsyncIterable, AsyncIterator

from airlock.jsonsafe import loads


@dataclass(slots=True)
class SSEEvent:
    event: str | None
    data: str
    id: str | None = None
    raw: bytes = b""  # the event's bytes as received, blank-line terminator included
    _json: Any = field(default=None, repr=False, compare=False)

    @property
    def is_done(self) -> bool:
        """OpenAI's ``data: [DONE]`` end-of-stream sentinel."""
        return self.data == "[DONE]"

    def json(self) -> Any:
        """``data`` parsed as JSON (cached); raises ``ValueError`` if it is not JSON."""
        if self._json is None:
            self._json = loads(self.data, surrogates="replace")
        return self._json

    def encode(self) -> bytes:
        """Bytes for re-emission: the raw bytes, or a canonical rendering when built by hand."""
        if self.raw:
            return self.raw
        head = f"event: {self.event}\n" if self.event else ""
        data = "".join(f"data: {line}\n" for line in self.data.split("\n"))
        return f"{head}{data}\n".encode()


class SSEDecoder:
    """Feed bytes in any chunking, get complete events out."""

    def __init__(self) -> None:
        self._buf = b""
        self._raw: list[bytes] = []
        self._event: str | None = None
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        buf = self._buf + chunk
        lines = buf.splitlines(keepends=True)
        # Keep an unterminated last line, and a trailing "\r" that may be half of "\r\n".
        if lines and (not lines[-1].endswith((b"\n", b"\r")) or lines[-1].endswith(b"\r")):
            self._buf = lines.pop()
        else:
            self._buf = b""
        out: list[SSEEvent] = []
        for line in lines:
            self._line(line, out)
        return out

    def flush(self) -> list[SSEEvent]:
        """End of stream: a final event without its blank line still counts."""
        out: list[SSEEvent] = []
        if self._buf:
            buf, self._buf = self._buf, b""
            self._line(buf, out)
        self._line(b"", out)
        for event in out:
            event.raw = b""  # unterminated on the wire: let encode() render it properly
        return out

    def _line(self, raw: bytes, out: list[SSEEvent]) -> None:
        text = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
        if not text:
            if self._data:
                out.append(SSEEvent(self._event, "\n".join(self._data), self._id, b"".join(self._raw) + raw))
            self._raw, self._event, self._data = [], None, []
            return
        self._raw.append(raw)
        if text.startswith(":"):
            return
        name, _, value = text.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value


async def aiter_sse(chunks: AsyncIterable[bytes]) -> AsyncIterator[SSEEvent]:
    decoder = SSEDecoder()
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            yield event
    for event in decoder.flush():
        yield event
