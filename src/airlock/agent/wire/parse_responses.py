"""OpenAI Responses ``instructions``, ``input`` and ``tools`` → neutral messages and tool definitions.

Responses lists each function call as its own item; consecutive calls (and the assistant text
before them) are grouped into one assistant message, as Chat and Messages do natively.
"""

from __future__ import annotations

from typing import Any

from airlock.agent.conversation import Message, ToolDef
from airlock.agent.wire.errors import WireError
from airlock.agent.wire.fields import (
    as_dict, as_list, as_str, description_of, kind_of, parse_arguments, schema_of, text_of, tool_message,
)

_RESPONSES_TEXT = frozenset({"input_text", "output_text", "text"})
_RESPONSES_SKIP = frozenset({"reasoning"})


def responses_input(body: dict[str, Any]) -> list[Message]:
    out: list[Message] = []
    instructions = body.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise WireError("instructions", f"expected a string, got {kind_of(instructions)}")
        if instructions:
            out.append(Message(role="system", content=instructions))
    items = body.get("input")
    if isinstance(items, str):
        out.append(Message(role="user", content=items))
        return out
    for i, raw in enumerate(as_list(items, "input", non_empty=True)):
        param = f"input.{i}"
        item = as_dict(raw, param)
        kind = item.get("type", "message")
        if kind == "message":
            out.append(_responses_message(item, param))
        elif kind == "function_call":
            call = {
                "id": as_str(item.get("call_id"), f"{param}.call_id"),
                "name": as_str(item.get("name"), f"{param}.name"),
                "arguments": parse_arguments(item.get("arguments"), f"{param}.arguments"),
            }
            # Responses lists each call as its own item; the neutral form groups a turn's calls
            # (and the text before them) into one assistant message.
            if out and out[-1].role == "assistant":
                out[-1].tool_calls.append(call)
            else:
                out.append(Message(role="assistant", tool_calls=[call]))
        elif kind == "function_call_output":
            output = item.get("output")
            text = text_of(output, f"{param}.output", _RESPONSES_TEXT)
            out.append(tool_message(as_str(item.get("call_id"), f"{param}.call_id"), text))
        elif kind == "item_reference":
            raise WireError(f"{param}.type", "item references are not supported: Airlock does not store responses; "
                                             "send the full items")
        elif kind not in _RESPONSES_SKIP:
            raise WireError(f"{param}.type", f"unsupported input item type {kind!r}")
    return out


def _responses_message(item: dict[str, Any], param: str) -> Message:
    role = item.get("role")
    skip = frozenset({"refusal"}) if role == "assistant" else frozenset()  # our own earlier answer
    text = text_of(item.get("content"), f"{param}.content", _RESPONSES_TEXT, skip)
    if role in ("system", "developer"):
        return Message(role="system", content=text, name="developer" if role == "developer" else None)
    if role in ("user", "assistant"):
        return Message(role=role, content=text)
    raise WireError(f"{param}.role", f"unknown role {role!r}")


def responses_tools(tools: Any) -> list[ToolDef]:
    out: list[ToolDef] = []
    for i, raw in enumerate(as_list(tools, "tools") if tools is not None else []):
        tool = as_dict(raw, f"tools.{i}")
        if tool.get("type") != "function":
            raise WireError(f"tools.{i}.type", f"only 'function' tools are supported, got {tool.get('type')!r}")
        out.append(ToolDef(
            name=as_str(tool.get("name"), f"tools.{i}.name"),
            description=description_of(tool.get("description"), f"tools.{i}.description"),
            parameters=schema_of(tool.get("parameters"), f"tools.{i}.parameters"),
        ))
    return out
