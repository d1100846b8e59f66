"""An :class:`AgentOutput` → one complete, non-streamed response body of each API.

The bodies follow what OpenAI and Anthropic send (field for field where the official SDK types
require it), so that a client cannot tell Airlock's dual-LLM answer from a provider's. The item
builders here are shared with :mod:`airlock.agent.wire.stream`, and every id is derived from the
one response id, so a stream and a JSON body rendered with the same ``response_id`` describe the
identical answer (the tests rely on that to compare them).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from airlock.agent.conversation import AgentOutput, ToolCallOut
from airlock.providers.registry import ApiFormat

_ID_PREFIX = {ApiFormat.CHAT_COMPLETIONS: "chatcmpl-", ApiFormat.MESSAGES: "msg_", ApiFormat.RESPONSES: "resp_"}


def new_response_id(api: ApiFormat | str) -> str:
    """A fresh id in the API's usual style (``chatcmpl-…``, ``msg_…``, ``resp_…``)."""
    return _ID_PREFIX[ApiFormat(api)] + uuid.uuid4().hex


def arguments_json(call: ToolCallOut) -> str:
    """Tool-call arguments as the JSON string Chat and Responses carry."""
    return json.dumps(call.arguments, ensure_ascii=False, separators=(",", ":"))


def render_json(
    api: ApiFormat | str, output: AgentOutput, *, model: str, response_id: str | None = None
) -> dict[str, Any]:
    """The whole answer as the API's non-streaming response body."""
    api = ApiFormat(api)
    rid = response_id or new_response_id(api)
    if api is ApiFormat.CHAT_COMPLETIONS:
        return chat_completion(output, model, rid)
    if api is ApiFormat.MESSAGES:
        return anthropic_message(output, model, rid, content=anthropic_blocks(output))
    return responses_object(output, model, rid, status=final_status(output), output_items=responses_items(output, rid))


def langgraph_failure(api: ApiFormat | str, body: dict[str, Any]) -> dict[str, Any]:
    """A failed LangGraph run, shaped so the ``sequrity`` runner reports it.

    The runner (``sequrity.control.langgraph``) returns its local state as the graph's result
    for any answer that does not stop for tool calls, so a plain final failure would read as
    success. A failure therefore stops "for tool calls" with none and the failure content: the
    Chat runner raises ``RuntimeError("Graph execution failed at step N: <error>")``, the
    Messages runner its ``RuntimeError`` for a ``tool_use`` stop without ``tool_use`` blocks."""
    api = ApiFormat(api)
    if api is ApiFormat.CHAT_COMPLETIONS:
        body["choices"][0]["finish_reason"] = "tool_calls"
    elif api is ApiFormat.MESSAGES:
        body["stop_reason"] = "tool_use"
    return body


def final_status(output: AgentOutput) -> str:
    """A dual-LLM failure (e.g. a policy denial) is a ``failed`` response, as the reference expects."""
    return "failed" if output.failed else "completed"


# -- Chat Completions --------------------------------------------------------------------------


def chat_finish_reason(output: AgentOutput) -> str:
    return "stop" if output.is_final else "tool_calls"


def chat_usage(output: AgentOutput) -> dict[str, int]:
    u = output.usage
    return {"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens, "total_tokens": u.total_tokens}


def chat_content(output: AgentOutput) -> str | None:
    """Final answers always carry a string; tool-call turns carry ``null`` unless there is text."""
    if output.is_final:
        return output.content or ""
    return output.content or None


def chat_completion(output: AgentOutput, model: str, rid: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": chat_content(output), "refusal": None}
    if output.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": arguments_json(c)}}
            for c in output.tool_calls
        ]
    return {
        "id": rid, "object": "chat.completion", "created": int(time.time()), "model": model,
        "system_fingerprint": None,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": chat_finish_reason(output)}],
        "usage": chat_usage(output),
    }


# -- Anthropic Messages ------------------------------------------------------------------------


def anthropic_stop_reason(output: AgentOutput) -> str:
    return "end_turn" if output.is_final else "tool_use"


def anthropic_usage(output: AgentOutput, output_tokens: int | None = None) -> dict[str, Any]:
    u = output.usage
    return {
        "input_tokens": u.prompt_tokens,
        "output_tokens": u.completion_tokens if output_tokens is None else output_tokens,
        "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
    }


def anthropic_blocks(output: AgentOutput) -> list[dict[str, Any]]:
    """Text (only when non-empty: Anthropic rejects empty text blocks sent back), then tool_use."""
    blocks: list[dict[str, Any]] = [{"type": "text", "text": output.content}] if output.content else []
    blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c in output.tool_calls]
    return blocks


def anthropic_message(output: AgentOutput, model: str, rid: str, *, content: list[dict[str, Any]],
                      stop_reason: str | None = "", usage: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": rid, "type": "message", "role": "assistant", "model": model, "content": content,
        "stop_reason": anthropic_stop_reason(output) if stop_reason == "" else stop_reason,
        "stop_sequence": None,
        "usage": usage or anthropic_usage(output),
    }


# -- OpenAI Responses --------------------------------------------------------------------------


def _suffix(rid: str) -> str:
    return rid.split("_", 1)[1] if "_" in rid else rid


def message_item_id(rid: str) -> str:
    return f"msg_{_suffix(rid)}"


def function_item_id(rid: str, index: int) -> str:
    return f"fc_{_suffix(rid)}_{index}"


def reasoning_item_id(rid: str) -> str:
    return f"rs_{_suffix(rid)}"


def output_text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def responses_message_item(output: AgentOutput, rid: str) -> dict[str, Any] | None:
    """The assistant ``message`` item: always for a final answer, otherwise only if there is text."""
    if not output.content and not output.is_final:
        return None
    return {"id": message_item_id(rid), "type": "message", "status": "completed", "role": "assistant",
            "content": [output_text_part(output.content or "")]}


def responses_function_items(output: AgentOutput, rid: str) -> list[dict[str, Any]]:
    return [
        {"id": function_item_id(rid, i), "type": "function_call", "status": "completed",
         "call_id": c.id, "name": c.name, "arguments": arguments_json(c)}
        for i, c in enumerate(output.tool_calls)
    ]


def responses_reasoning_item(output: AgentOutput, rid: str) -> dict[str, Any]:
    return {"id": reasoning_item_id(rid), "type": "reasoning", "status": "completed",
            "summary": [{"type": "summary_text", "text": t} for t in output.thoughts]}


def responses_items(output: AgentOutput, rid: str) -> list[dict[str, Any]]:
    message = responses_message_item(output, rid)
    return ([message] if message else []) + responses_function_items(output, rid)


def responses_usage(output: AgentOutput) -> dict[str, Any]:
    u = output.usage
    return {
        "input_tokens": u.prompt_tokens, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": u.completion_tokens, "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": u.total_tokens,
    }


def responses_object(output: AgentOutput, model: str, rid: str, *, status: str,
                     output_items: list[dict[str, Any]], created_at: int | None = None) -> dict[str, Any]:
    """The ``response`` object; ``status`` other than ``completed`` gives the in-progress snapshot."""
    done = status in ("completed", "failed")
    return {
        "id": rid, "object": "response", "created_at": created_at or int(time.time()), "status": status,
        "background": False, "error": None, "incomplete_details": None, "instructions": None,
        "max_output_tokens": None, "metadata": {}, "model": model, "output": output_items,
        "parallel_tool_calls": True, "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None}, "store": False, "temperature": None,
        "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [], "top_p": None,
        "truncation": "disabled", "user": None,
        "usage": responses_usage(output) if done else None,
    }
