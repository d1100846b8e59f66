"""A provider's whole (non-streamed) answer read back into an ``AgentOutput``.

Single-LLM mode with a policy must see a tool call whole before the client does, so it asks
the provider without streaming, checks the calls, and streams the checked answer to the client
with ``render_sse`` — the same renderer dual-LLM uses.
"""

from __future__ import annotations

import json
from typing import Any

from airlock.agent.conversation import AgentOutput, ToolCallOut, Usage
from airlock.providers.registry import ApiFormat


def _arguments(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {"arguments": raw}
    return value if isinstance(value, dict) else {"arguments": value}


def tool_calls_in(api: ApiFormat, answer: dict[str, Any]) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], ToolCallOut]]]:
    """The list holding the answer's tool calls (to filter in place) and each call's block with
    its neutral reading (id, name, arguments as a dict)."""
    if api == ApiFormat.CHAT_COMPLETIONS:
        message = ((answer.get("choices") or [{}])[0]).get("message") or {}
        holder = message.get("tool_calls") or []
        calls = [(c, ToolCallOut(c.get("id", ""), (c.get("function") or {}).get("name", ""),
                                 _arguments((c.get("function") or {}).get("arguments")))) for c in holder]
    elif api == ApiFormat.MESSAGES:
        holder = answer.get("content") or []
        calls = [(b, ToolCallOut(b.get("id", ""), b.get("name", ""), _arguments(b.get("input"))))
                 for b in holder if b.get("type") == "tool_use"]
    else:
        holder = answer.get("output") or []
        calls = [(i, ToolCallOut(i.get("call_id", ""), i.get("name", ""), _arguments(i.get("arguments"))))
                 for i in holder if i.get("type") == "function_call"]
    return holder, calls


def answer_to_output(api: ApiFormat, answer: dict[str, Any]) -> AgentOutput:
    usage = answer.get("usage") or {}
    calls = [call for _, call in tool_calls_in(api, answer)[1]]
    if api == ApiFormat.CHAT_COMPLETIONS:
        message = ((answer.get("choices") or [{}])[0]).get("message") or {}
        texts = [message.get("content") or ""]
        tokens = Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)), 1)
    elif api == ApiFormat.MESSAGES:
        texts = [b.get("text", "") for b in answer.get("content") or () if b.get("type") == "text"]
        tokens = Usage(int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)), 1)
    else:
        texts = [c.get("text", "") for item in answer.get("output") or () if item.get("type") == "message"
                 for c in item.get("content") or () if c.get("type") == "output_text"]
        tokens = Usage(int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)), 1)
    text = "".join(texts)
    return AgentOutput(tool_calls=calls, content=text or None, usage=tokens, model=answer.get("model", ""))
