"""Anthropic Messages ``system``, ``messages`` and ``tools`` → neutral messages and tool definitions.

A user message holding ``tool_result`` blocks becomes one ``tool`` message per block, in order, and
any text around them becomes user messages; thinking blocks are dropped (the planner regenerates
its own thoughts) and so are images and documents.
"""

from __future__ import annotations

from typing import Any

from airlock.agent.conversation import Message, ToolDef
from airlock.agent.wire.errors import WireError
from airlock.agent.wire.fields import (
    as_dict, as_list, as_str, description_of, kind_of, parse_arguments, resume_parse, schema_of, text_of,
    tool_message, unreadable_part,
)

_ANTHROPIC_TEXT = frozenset({"text"})
# Thinking in the history is the planner's own, regenerated each step; media cannot be read (400).
_ANTHROPIC_SKIP = frozenset({"thinking", "redacted_thinking"})
_ANTHROPIC_MEDIA = frozenset({"image", "document", "search_result"})


def anthropic_messages(body: dict[str, Any], known: tuple[list[Message], list[int]] | None = None,
                       cuts: list[int] | None = None) -> list[Message]:
    """``known`` and ``cuts`` as for ``chat_messages``; both count the ``messages`` items' own
    messages only (the system prompt is its own field, read every time)."""
    out: list[Message] = []
    system = body.get("system")
    if system is not None:
        text = text_of(system, "system", _ANTHROPIC_TEXT)
        if text:
            out.append(Message(role="system", content=text))
    base = len(out)
    start = resume_parse(known, out, cuts)
    items = as_list(body.get("messages"), "messages", non_empty=True)
    for i in range(start, len(items)):
        param = f"messages.{i}"
        m = as_dict(items[i], param)
        role = m.get("role")
        if role not in ("user", "assistant"):
            raise WireError(f"{param}.role", f"expected 'user' or 'assistant', got {role!r}")
        content = m.get("content")
        if isinstance(content, str):
            out.append(Message(role=role, content=content))
        elif role == "assistant":
            out.append(_anthropic_assistant(as_list(content, f"{param}.content"), f"{param}.content"))
        else:
            out.extend(_anthropic_user(as_list(content, f"{param}.content"), f"{param}.content"))
        if cuts is not None:
            cuts.append(len(out) - base)
    return out


def _block(raw: Any, param: str) -> tuple[dict[str, Any], str]:
    block = as_dict(raw, param)
    kind = block.get("type")
    if not isinstance(kind, str):
        raise WireError(f"{param}.type", "expected a string")
    return block, kind


def _block_text(block: dict[str, Any], param: str) -> str:
    text = block.get("text")
    if not isinstance(text, str):
        raise WireError(f"{param}.text", f"expected a string, got {kind_of(text)}")
    return text


def _anthropic_assistant(blocks: list[Any], param: str) -> Message:
    message = Message(role="assistant")
    for j, raw in enumerate(blocks):
        block, kind = _block(raw, f"{param}.{j}")
        if kind == "text":
            message.content += _block_text(block, f"{param}.{j}")
        elif kind == "tool_use":
            message.tool_calls.append({
                "id": as_str(block.get("id"), f"{param}.{j}.id"),
                "name": as_str(block.get("name"), f"{param}.{j}.name"),
                "arguments": parse_arguments(block.get("input"), f"{param}.{j}.input"),
            })
        elif kind in _ANTHROPIC_MEDIA:
            raise WireError(f"{param}.{j}.type", unreadable_part(kind))
        elif kind not in _ANTHROPIC_SKIP:
            raise WireError(f"{param}.{j}.type", f"unsupported assistant content block {kind!r}")
    return message


def _anthropic_user(blocks: list[Any], param: str) -> list[Message]:
    """Tool results become ``tool`` messages in block order; text between them becomes user messages."""
    out: list[Message] = []
    text: list[str] = []
    saw_text = False
    for j, raw in enumerate(blocks):
        block, kind = _block(raw, f"{param}.{j}")
        if kind == "text":
            text.append(_block_text(block, f"{param}.{j}"))
            saw_text = True
        elif kind == "tool_result":
            if saw_text:
                out.append(Message(role="user", content="".join(text)))
                text, saw_text = [], False
            is_error = block.get("is_error")
            if is_error is not None and not isinstance(is_error, bool):
                raise WireError(f"{param}.{j}.is_error", f"expected a boolean, got {kind_of(is_error)}")
            result = text_of(block.get("content"), f"{param}.{j}.content", _ANTHROPIC_TEXT)
            out.append(tool_message(as_str(block.get("tool_use_id"), f"{param}.{j}.tool_use_id"), result,
                                     is_error=bool(is_error)))
        elif kind in _ANTHROPIC_MEDIA:
            raise WireError(f"{param}.{j}.type", unreadable_part(kind))
        elif kind not in _ANTHROPIC_SKIP:
            raise WireError(f"{param}.{j}.type", f"unsupported user content block {kind!r}")
    if saw_text or not out:  # an empty content list still marks a user turn
        out.append(Message(role="user", content="".join(text)))
    return out


def anthropic_tools(tools: Any) -> list[ToolDef]:
    out: list[ToolDef] = []
    for i, raw in enumerate(as_list(tools, "tools") if tools is not None else []):
        tool = as_dict(raw, f"tools.{i}")
        if tool.get("type") not in (None, "custom"):
            raise WireError(f"tools.{i}.type", f"server tools are not supported, got {tool.get('type')!r}")
        out.append(ToolDef(
            name=as_str(tool.get("name"), f"tools.{i}.name"),
            description=description_of(tool.get("description"), f"tools.{i}.description"),
            parameters=schema_of(tool.get("input_schema"), f"tools.{i}.input_schema"),
        ))
    return out
