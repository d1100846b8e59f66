"""Agent outputs the render tests share, and a helper to split rendered SSE into (event, data)."""

from __future__ import annotations

import json
from typing import Any, Iterable

from airlock.agent.conversation import AgentOutput, ToolCallOut, Usage
from airlock.providers.sse import SSEDecoder

SESSION = "11111111-1111-4111-8111-111111111111"
ID1 = f"tc-{SESSION}-22222222-2222-4222-8222-222222222222"
ID2 = f"tc-{SESSION}-33333333-3333-4333-8333-333333333333"

FINAL_TEXT = json.dumps({"status": "success", "final_return_value": {"value": "It is sunny in Paris — 21°C.",
                                                                     "meta": {"tags": [], "producers": ["get_weather"]}}})
LONG_ARGS = {"city": "Paris", "units": "metric", "note": "ünïcødé ✓ and a \"quote\"", "days": [1, 2, 3],
             "nested": {"deep": {"deeper": True, "none": None}}}
THOUGHTS = ["Planning: call get_weather for each city.", "Program ready; running it."]


def final(**kw: Any) -> AgentOutput:
    return AgentOutput(content=FINAL_TEXT, usage=Usage(prompt_tokens=120, completion_tokens=45, calls=2), **kw)


def tool_calls(**kw: Any) -> AgentOutput:
    return AgentOutput(
        tool_calls=[ToolCallOut(ID1, "get_weather", LONG_ARGS), ToolCallOut(ID2, "get_time", {})],
        usage=Usage(prompt_tokens=80, completion_tokens=30, calls=1), **kw)


def text_and_tool_call(**kw: Any) -> AgentOutput:
    return AgentOutput(content="Let me check.", tool_calls=[ToolCallOut(ID1, "get_weather", {"city": "Paris"})],
                       usage=Usage(7, 3, 1), **kw)


def empty_final(**kw: Any) -> AgentOutput:
    return AgentOutput(content=None, usage=Usage(1, 1, 1), **kw)


OUTPUTS = {"final": final, "tool_calls": tool_calls, "text_and_tool_call": text_and_tool_call, "empty_final": empty_final}


def events(chunks: Iterable[bytes]) -> list[tuple[str | None, Any]]:
    """Rendered SSE → ``[(event name, parsed data or "[DONE]")]``, re-chunked byte by byte."""
    decoder = SSEDecoder()
    out = []
    for byte in b"".join(chunks):
        out.extend(decoder.feed(bytes([byte])))
    assert decoder.flush() == []  # every event was terminated by a blank line
    return [(e.event, e.data if e.is_done else e.json()) for e in out]
