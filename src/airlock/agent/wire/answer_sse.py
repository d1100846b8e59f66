"""A provider's whole answer (already checked by the guard) → that API's event stream.

Single-LLM mode with a policy must see every tool call whole before the client sees any of
it, so it asks the provider without streaming and streams the checked answer itself. Unlike
``render_sse`` (which renders the dual-LLM engine's neutral ``AgentOutput``), this renders the
provider's own answer item for item: every Chat choice, every Messages block and every
Responses item kind the guard let through, so streaming loses nothing the JSON answer has.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Callable, Iterator

from airlock.agent.wire.stream import pieces, sse_event
from airlock.providers.registry import ApiFormat


def answer_sse(api: ApiFormat, answer: dict[str, Any], *, include_usage: bool) -> Iterator[bytes]:
    """``include_usage`` is Chat Completions' ``stream_options.include_usage`` (the other APIs
    always stream their usage)."""
    if api is ApiFormat.CHAT_COMPLETIONS:
        return _chat(answer, include_usage)
    if api is ApiFormat.MESSAGES:
        return _messages(answer)
    return _responses(answer)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _chat(answer: dict[str, Any], include_usage: bool) -> Iterator[bytes]:
    base = {k: answer.get(k) for k in ("id", "created", "model", "system_fingerprint")}
    base["object"] = "chat.completion.chunk"

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> bytes:
        body: dict[str, Any] = {**base, "choices": [{"index": index, "delta": delta, "logprobs": None,
                                                    "finish_reason": finish}]}
        if include_usage:
            body["usage"] = None
        return sse_event(body)

    for n, choice in enumerate(answer.get("choices") or ()):
        index = choice.get("index", n)
        message = choice.get("message") or {}
        yield chunk(index, {"role": "assistant", "content": "", "refusal": None})
        for field in ("reasoning_content", "reasoning"):
            if isinstance(message.get(field), str) and message[field]:
                yield chunk(index, {field: message[field]})
        for piece in pieces(_text(message.get("content"))):
            yield chunk(index, {"content": piece})
        if message.get("refusal"):
            yield chunk(index, {"refusal": message["refusal"]})
        for j, tc in enumerate(message.get("tool_calls") or ()):
            if tc.get("type", "function") == "function":
                fn = tc.get("function") or {}
                head = {"index": j, "id": tc.get("id"), "type": "function",
                        "function": {"name": fn.get("name"), "arguments": ""}}
                yield chunk(index, {"tool_calls": [head]})
                for piece in pieces(_text(fn.get("arguments"))):
                    yield chunk(index, {"tool_calls": [{"index": j, "function": {"arguments": piece}}]})
            else:  # custom tool calls arrive whole
                yield chunk(index, {"tool_calls": [{"index": j, **tc}]})
        legacy = message.get("function_call")
        if isinstance(legacy, dict):
            yield chunk(index, {"function_call": {"name": legacy.get("name"), "arguments": ""}})
            for piece in pieces(_text(legacy.get("arguments"))):
                yield chunk(index, {"function_call": {"arguments": piece}})
        yield chunk(index, {}, choice.get("finish_reason") or "stop")
    if include_usage:
        yield sse_event({**base, "choices": [], "usage": answer.get("usage")})
    yield sse_event("[DONE]")


_MESSAGES_STREAMED_INPUT = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})


def _messages(answer: dict[str, Any]) -> Iterator[bytes]:
    def ev(kind: str, **data: Any) -> bytes:
        return sse_event({"type": kind, **data}, kind)

    usage = dict(answer.get("usage") or {})
    start = {**answer, "content": [], "stop_reason": None, "stop_sequence": None, "usage": {**usage, "output_tokens": 0}}
    yield ev("message_start", message=start)
    for i, block in enumerate(answer.get("content") or ()):
        kind = block.get("type")
        if kind == "text":
            yield ev("content_block_start", index=i, content_block={"type": "text", "text": ""})
            for piece in pieces(_text(block.get("text"))):
                yield ev("content_block_delta", index=i, delta={"type": "text_delta", "text": piece})
        elif kind == "thinking":
            yield ev("content_block_start", index=i, content_block={"type": "thinking", "thinking": "", "signature": ""})
            for piece in pieces(_text(block.get("thinking"))):
                yield ev("content_block_delta", index=i, delta={"type": "thinking_delta", "thinking": piece})
            yield ev("content_block_delta", index=i, delta={"type": "signature_delta",
                                                           "signature": _text(block.get("signature"))})
        elif kind in _MESSAGES_STREAMED_INPUT:
            yield ev("content_block_start", index=i, content_block={**block, "input": {}})
            args = json.dumps(block.get("input") or {}, ensure_ascii=False, separators=(",", ":"))
            for piece in [""] + pieces(args):
                yield ev("content_block_delta", index=i, delta={"type": "input_json_delta", "partial_json": piece})
        else:  # blocks that carry no deltas (results of server tools, redacted thinking) come whole
            yield ev("content_block_start", index=i, content_block=block)
        yield ev("content_block_stop", index=i)
    delta = {"stop_reason": answer.get("stop_reason"), "stop_sequence": answer.get("stop_sequence")}
    yield ev("message_delta", delta=delta, usage={"output_tokens": usage.get("output_tokens", 0)})
    yield ev("message_stop")


def _responses(answer: dict[str, Any]) -> Iterator[bytes]:
    seq = itertools.count()

    def ev(kind: str, **data: Any) -> bytes:
        return sse_event({"type": kind, "sequence_number": next(seq), **data}, kind)

    snapshot = {**answer, "status": "in_progress", "output": [], "usage": None}
    yield ev("response.created", response=snapshot)
    yield ev("response.in_progress", response=snapshot)
    for i, item in enumerate(answer.get("output") or ()):
        yield from _ITEM_EVENTS.get(item.get("type"), _whole_item)(ev, item, i)
    status = answer.get("status") or "completed"
    yield ev(f"response.{status}" if status in ("completed", "failed", "incomplete") else "response.completed",
             response=answer)


Emit = Callable[..., bytes]


def _whole_item(ev: Emit, item: dict[str, Any], i: int) -> Iterator[bytes]:
    yield ev("response.output_item.added", output_index=i, item={**item, "status": "in_progress"})
    yield ev("response.output_item.done", output_index=i, item=item)


def _message_item(ev: Emit, item: dict[str, Any], i: int) -> Iterator[bytes]:
    yield ev("response.output_item.added", output_index=i, item={**item, "status": "in_progress", "content": []})
    for k, part in enumerate(item.get("content") or ()):
        loc = {"item_id": item.get("id"), "output_index": i, "content_index": k}
        if part.get("type") == "output_text":
            text = _text(part.get("text"))
            yield ev("response.content_part.added", **loc, part={**part, "text": ""})
            for piece in pieces(text):
                yield ev("response.output_text.delta", **loc, delta=piece, logprobs=[])
            yield ev("response.output_text.done", **loc, text=text, logprobs=[])
        elif part.get("type") == "refusal":
            yield ev("response.content_part.added", **loc, part={**part, "refusal": ""})
            yield ev("response.refusal.delta", **loc, delta=_text(part.get("refusal")))
            yield ev("response.refusal.done", **loc, refusal=_text(part.get("refusal")))
        else:
            yield ev("response.content_part.added", **loc, part=part)
        yield ev("response.content_part.done", **loc, part=part)
    yield ev("response.output_item.done", output_index=i, item=item)


def _function_item(ev: Emit, item: dict[str, Any], i: int) -> Iterator[bytes]:
    yield ev("response.output_item.added", output_index=i, item={**item, "status": "in_progress", "arguments": ""})
    loc = {"item_id": item.get("id"), "output_index": i}
    args = _text(item.get("arguments"))
    for piece in pieces(args):
        yield ev("response.function_call_arguments.delta", **loc, delta=piece)
    yield ev("response.function_call_arguments.done", **loc, name=item.get("name"), arguments=args)
    yield ev("response.output_item.done", output_index=i, item=item)


def _custom_item(ev: Emit, item: dict[str, Any], i: int) -> Iterator[bytes]:
    yield ev("response.output_item.added", output_index=i, item={**item, "status": "in_progress", "input": ""})
    loc = {"item_id": item.get("id"), "output_index": i}
    text = _text(item.get("input"))
    for piece in pieces(text):
        yield ev("response.custom_tool_call_input.delta", **loc, delta=piece)
    yield ev("response.custom_tool_call_input.done", **loc, input=text)
    yield ev("response.output_item.done", output_index=i, item=item)


_ITEM_EVENTS: dict[Any, Callable[[Emit, dict[str, Any], int], Iterator[bytes]]] = {
    "message": _message_item, "function_call": _function_item, "custom_tool_call": _custom_item,
}
