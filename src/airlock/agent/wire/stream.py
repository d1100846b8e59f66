"""An :class:`AgentOutput` → the API's Server-Sent Events, event for event as the provider sends them.

The dual-LLM engine only knows its answer once the program has run (or suspended on a tool
call), so there is nothing to stream incrementally; the value of streaming is that clients
which only speak ``stream=True`` (agent frameworks, chat UIs) work unchanged. The text and the
arguments are still cut into several deltas so that client-side accumulation is exercised the
same way as with a real provider.

Planner progress (``output.thoughts``) is streamed first when ``stream_thoughts`` is set, in
each API's own reasoning channel:

* Messages: a ``thinking`` content block (``thinking_delta``s, then a ``signature_delta`` with an
  empty signature: Airlock's thoughts are not Anthropic-signed, and the SDKs accept ``""``).
* Chat Completions: ``delta.reasoning_content`` chunks. The OpenAI API has no reasoning field
  in chunks; ``reasoning_content`` is the DeepSeek/vLLM/OpenRouter-compatible extension that
  reasoning-aware clients (and ``sequrity``'s chunk type) read, and other clients ignore.
* Responses: a ``reasoning`` output item with one summary part per thought.

Anthropic's ``ping`` events are never emitted: ``sequrity``'s stream event union has no ping.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any, Iterator

from airlock.agent.conversation import AgentOutput
from airlock.agent.wire import render as r
from airlock.jsonsafe import dump_bytes
from airlock.providers.registry import ApiFormat

PIECE = 48  # characters per delta


def sse_event(data: Any, event: str | None = None) -> bytes:
    """One SSE event; ``data`` is JSON-encoded unless it is already a string (``[DONE]``)."""
    payload = data if isinstance(data, str) else dump_bytes(data).decode("utf-8")
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode("utf-8", errors="replace")


def pieces(text: str, size: int = PIECE) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def render_sse(api: ApiFormat | str, output: AgentOutput, *, model: str, stream_thoughts: bool = False,
               include_usage: bool = True, response_id: str | None = None) -> Iterator[bytes]:
    """The whole answer as the API's event stream (bytes of complete events, in order).

    ``include_usage`` only matters for Chat Completions, where OpenAI sends the usage chunk only
    when the request had ``stream_options.include_usage``; pass that flag through. The other two
    APIs always report usage in the stream.
    """
    api = ApiFormat(api)
    rid = response_id or r.new_response_id(api)
    thoughts = list(output.thoughts) if stream_thoughts else []
    if api is ApiFormat.CHAT_COMPLETIONS:
        return _chat(output, model, rid, thoughts, include_usage)
    if api is ApiFormat.MESSAGES:
        return _messages(output, model, rid, thoughts)
    return _responses(output, model, rid, thoughts)


def _chat(output: AgentOutput, model: str, rid: str, thoughts: list[str], include_usage: bool) -> Iterator[bytes]:
    base = {"id": rid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "system_fingerprint": None}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        body = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        if include_usage:
            body["usage"] = None  # as OpenAI: null on every chunk but the last
        return sse_event(body)

    yield chunk({"role": "assistant", "content": "", "refusal": None})
    for n, thought in enumerate(thoughts):
        yield chunk({"content": None, "reasoning_content": thought + ("\n\n" if n < len(thoughts) - 1 else "")})
    for piece in pieces(output.content or ""):
        yield chunk({"content": piece})
    for i, call in enumerate(output.tool_calls):
        head = {"index": i, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        yield chunk({"tool_calls": [head]})
        for piece in pieces(r.arguments_json(call)):
            yield chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
    yield chunk({}, r.chat_finish_reason(output))
    if include_usage:
        yield sse_event({**base, "choices": [], "usage": r.chat_usage(output)})
    yield sse_event("[DONE]")


def _messages(output: AgentOutput, model: str, rid: str, thoughts: list[str]) -> Iterator[bytes]:
    def ev(kind: str, **data: Any) -> bytes:
        return sse_event({"type": kind, **data}, kind)

    start = r.anthropic_message(output, model, rid, content=[], stop_reason=None,
                                usage=r.anthropic_usage(output, output_tokens=0))
    yield ev("message_start", message=start)
    index = itertools.count()
    if thoughts:
        i = next(index)
        yield ev("content_block_start", index=i, content_block={"type": "thinking", "thinking": "", "signature": ""})
        for n, thought in enumerate(thoughts):
            text = thought + ("\n\n" if n < len(thoughts) - 1 else "")
            yield ev("content_block_delta", index=i, delta={"type": "thinking_delta", "thinking": text})
        yield ev("content_block_delta", index=i, delta={"type": "signature_delta", "signature": ""})
        yield ev("content_block_stop", index=i)
    for block in r.anthropic_blocks(output):
        i = next(index)
        if block["type"] == "text":
            yield ev("content_block_start", index=i, content_block={"type": "text", "text": ""})
            for piece in pieces(block["text"]):
                yield ev("content_block_delta", index=i, delta={"type": "text_delta", "text": piece})
        else:
            yield ev("content_block_start", index=i, content_block={**block, "input": {}})
            args = json.dumps(block["input"], ensure_ascii=False, separators=(",", ":"))
            for piece in [""] + pieces(args):  # Anthropic opens every tool_use with an empty delta
                yield ev("content_block_delta", index=i, delta={"type": "input_json_delta", "partial_json": piece})
        yield ev("content_block_stop", index=i)
    delta = {"stop_reason": r.anthropic_stop_reason(output), "stop_sequence": None}
    yield ev("message_delta", delta=delta, usage=r.anthropic_usage(output))
    yield ev("message_stop")


def _responses(output: AgentOutput, model: str, rid: str, thoughts: list[str]) -> Iterator[bytes]:
    seq = itertools.count()
    created = int(time.time())

    def ev(kind: str, **data: Any) -> bytes:
        return sse_event({"type": kind, "sequence_number": next(seq), **data}, kind)

    snapshot = r.responses_object(output, model, rid, status="in_progress", output_items=[], created_at=created)
    yield ev("response.created", response=snapshot)
    yield ev("response.in_progress", response=snapshot)
    items: list[dict[str, Any]] = []
    if thoughts:
        item = r.responses_reasoning_item(output, rid)
        items.append(item)
        yield from _reasoning_events(ev, item, len(items) - 1)
    for item in r.responses_items(output, rid):
        items.append(item)
        out_i = len(items) - 1
        if item["type"] == "message":
            yield from _message_events(ev, item, out_i)
        else:
            yield ev("response.output_item.added", output_index=out_i,
                     item={**item, "status": "in_progress", "arguments": ""})
            loc = {"item_id": item["id"], "output_index": out_i}
            for piece in pieces(item["arguments"]):
                yield ev("response.function_call_arguments.delta", **loc, delta=piece)
            yield ev("response.function_call_arguments.done", **loc, name=item["name"], arguments=item["arguments"])
            yield ev("response.output_item.done", output_index=out_i, item=item)
    status = r.final_status(output)
    final = r.responses_object(output, model, rid, status=status, output_items=items, created_at=created)
    yield ev(f"response.{status}", response=final)


def _message_events(ev, item: dict[str, Any], out_i: int) -> Iterator[bytes]:
    yield ev("response.output_item.added", output_index=out_i, item={**item, "status": "in_progress", "content": []})
    loc = {"item_id": item["id"], "output_index": out_i, "content_index": 0}
    text = item["content"][0]["text"]
    yield ev("response.content_part.added", **loc, part=r.output_text_part(""))
    for piece in pieces(text):
        yield ev("response.output_text.delta", **loc, delta=piece, logprobs=[])
    yield ev("response.output_text.done", **loc, text=text, logprobs=[])
    yield ev("response.content_part.done", **loc, part=item["content"][0])
    yield ev("response.output_item.done", output_index=out_i, item=item)


def _reasoning_events(ev, item: dict[str, Any], out_i: int) -> Iterator[bytes]:
    yield ev("response.output_item.added", output_index=out_i, item={**item, "status": "in_progress", "summary": []})
    for k, part in enumerate(item["summary"]):
        loc = {"item_id": item["id"], "output_index": out_i, "summary_index": k}
        yield ev("response.reasoning_summary_part.added", **loc, part={"type": "summary_text", "text": ""})
        for piece in pieces(part["text"]):
            yield ev("response.reasoning_summary_text.delta", **loc, delta=piece)
        yield ev("response.reasoning_summary_text.done", **loc, text=part["text"])
        yield ev("response.reasoning_summary_part.done", **loc, part=part)
    yield ev("response.output_item.done", output_index=out_i, item=item)
