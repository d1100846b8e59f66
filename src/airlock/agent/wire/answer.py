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


def answer_to_output(api: ApiFormat, answer: dict[str, Any]) -> AgentOutput:
    usage = answer.get("usage") or {}
    texts: list[str] = []
    calls: list[ToolCallOut] = []
    if api == ApiFormat.CHAT_COMPLETIONS:
        message = ((answer.get("choices") or [{}])[0]).get("message") or {}
        texts.append(message.get("content") or "")
        for call in message.get("tool_calls") or ():
            fn = call.get("function") or {}
            calls.append(ToolCallOut(call.get("id", ""), fn.get("name", ""), _arguments(fn.get("arguments"))))
        tokens = Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)), 1)
    elif api == ApiFormat.MESSAGES:
        for block in answer.get("content") or ():
            if block.get("type") == "text":
                texts.append(block.get("text", ""))
            elif block.get("type") == "tool_use":
                calls.append(ToolCallOut(block.get("id", ""), block.get("name", ""), _arguments(block.get("input"))))
        tokens = Usage(int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)), 1)
    else:
        for item in answer.get("output") or ():
            if item.get("type") == "message":
                texts += [c.get("text", "") for c in item.get("content") or () if c.get("type") == "output_text"]
            elif item.get("type") == "function_call":
                calls.append(ToolCallOut(item.get("call_id", ""), item.get("name", ""), _arguments(item.get("arguments"))))
        tokens = Usage(int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)), 1)
    text = "".join(texts)
    return AgentOutput(tool_calls=calls, content=text or None, usage=tokens, model=answer.get("model", ""))
