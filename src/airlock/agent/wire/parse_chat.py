"""Chat Completions ``messages`` and ``tools`` → neutral messages and tool definitions.

Developer messages become ``system`` messages named ``developer``; the deprecated ``function`` role
is refused (its results carry no call id to resume a program with).
"""

from __future__ import annotations

from typing import Any

from airlock.agent.conversation import Message, ToolDef
from airlock.agent.wire.errors import WireError
from airlock.agent.wire.fields import (
    as_dict, as_list, as_str, description_of, parse_arguments, resume_parse, schema_of, text_of, tool_message,
)

_CHAT_TEXT = frozenset({"text"})
_CHAT_SKIP = frozenset({"refusal"})  # an assistant refusal part: our own earlier answer


def chat_messages(body: dict[str, Any], known: tuple[list[Message], list[int]] | None = None,
                  cuts: list[int] | None = None) -> list[Message]:
    """The common shapes are checked inline and the dotted ``param`` is built only for an error
    (the field helpers raise it): a K-call history is 2K messages, re-posted at every resume, and
    building ~6 names per message was a third of parsing one (K=200: 1.0 ms).

    ``known``: the parse of the leading items, from an earlier request (``api.history``); only
    the items after them are read. ``cuts`` receives, after each item, the messages so far."""
    out: list[Message] = []
    start = resume_parse(known, out, cuts)
    raw = as_list(body.get("messages"), "messages", non_empty=True)
    for i in range(start, len(raw)):
        m = raw[i]
        if type(m) is not dict:
            as_dict(m, f"messages.{i}")
        role, content = m.get("role"), m.get("content")
        if content is None or type(content) is str:
            content = content or ""
        else:
            content = text_of(content, f"messages.{i}.content", _CHAT_TEXT)
        if role == "tool":
            call_id = m.get("tool_call_id")
            if type(call_id) is not str or not call_id:
                as_str(call_id, f"messages.{i}.tool_call_id")
            out.append(tool_message(call_id, content))
        elif role == "assistant":
            raw_calls = m.get("tool_calls")
            raw_calls = [] if raw_calls is None else as_list(raw_calls, f"messages.{i}.tool_calls")
            calls = [_chat_tool_call(c, i, j) for j, c in enumerate(raw_calls)]
            out.append(Message(role="assistant", content=content, tool_calls=calls))
        elif role == "user":
            out.append(Message(role="user", content=content))
        elif role in ("system", "developer"):
            out.append(Message(role="system", content=content, name="developer" if role == "developer" else None))
        elif role == "function":
            raise WireError(f"messages.{i}.role", "the deprecated 'function' role is not supported; use 'tool' messages")
        else:
            raise WireError(f"messages.{i}.role", f"unknown role {role!r}")
        if cuts is not None:
            cuts.append(len(out))
    return out


def _chat_tool_call(call: Any, i: int, j: int) -> dict[str, Any]:
    function = call.get("function") if type(call) is dict else None
    name = function.get("name") if type(function) is dict else None
    call_id = call["id"] if type(call) is dict and "id" in call else None
    if (type(call) is not dict or call.get("type", "function") != "function" or type(function) is not dict
            or type(call_id) is not str or not call_id or type(name) is not str or not name):
        return _checked_tool_call(call, f"messages.{i}.tool_calls.{j}")
    return {"id": call_id, "name": name,
            "arguments": parse_arguments(function.get("arguments"), f"messages.{i}.tool_calls.{j}.function.arguments")}


def _checked_tool_call(raw: Any, param: str) -> dict[str, Any]:
    """The slow path: the same checks, one helper each, so a bad call gets its precise error."""
    call = as_dict(raw, param)
    kind = call.get("type", "function")
    if kind != "function":
        raise WireError(f"{param}.type", f"only 'function' tool calls are supported, got {kind!r}")
    function = as_dict(call.get("function"), f"{param}.function")
    return {
        "id": as_str(call.get("id"), f"{param}.id"),
        "name": as_str(function.get("name"), f"{param}.function.name"),
        "arguments": parse_arguments(function.get("arguments"), f"{param}.function.arguments"),
    }


def chat_tools(tools: Any) -> list[ToolDef]:
    out: list[ToolDef] = []
    for i, raw in enumerate(as_list(tools, "tools") if tools is not None else []):
        tool = as_dict(raw, f"tools.{i}")
        if tool.get("type", "function") != "function":
            raise WireError(f"tools.{i}.type", f"only 'function' tools are supported, got {tool.get('type')!r}")
        fn = as_dict(tool.get("function"), f"tools.{i}.function")
        out.append(ToolDef(
            name=as_str(fn.get("name"), f"tools.{i}.function.name"),
            description=description_of(fn.get("description"), f"tools.{i}.function.description"),
            parameters=schema_of(fn.get("parameters"), f"tools.{i}.function.parameters"),
        ))
    return out
