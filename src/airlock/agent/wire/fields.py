"""Small typed readers for request JSON, each raising :class:`WireError` with a dotted ``param``.

Shared by the three per-API parsers so that every API reports bad shapes the same way.
"""

from __future__ import annotations

from typing import Any

from airlock.agent.conversation import Message
from airlock.agent.wire.errors import WireError
from airlock.jsonsafe import JsonInputError, loads



def as_dict(value: Any, param: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WireError(param, f"expected an object, got {kind_of(value)}")
    return value


def as_list(value: Any, param: str, *, non_empty: bool = False) -> list[Any]:
    if not isinstance(value, list):
        raise WireError(param, f"expected an array, got {kind_of(value)}")
    if non_empty and not value:
        raise WireError(param, "must not be empty")
    return value


def as_str(value: Any, param: str) -> str:
    if not isinstance(value, str) or not value:
        raise WireError(param, f"expected a non-empty string, got {kind_of(value)}")
    return value


def kind_of(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), type(value).__name__)


def parse_arguments(raw: Any, param: str) -> dict[str, Any]:
    """Tool-call arguments: a JSON-object string (an empty string means ``{}``); a dict is accepted."""
    if isinstance(raw, dict):
        return raw
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    if not isinstance(raw, str):
        raise WireError(param, f"expected a JSON string, got {kind_of(raw)}")
    try:
        value = loads(raw)
    except JsonInputError as exc:
        raise WireError(f"{param}.{exc.path}" if exc.path else param, f"is {exc.reason}" if exc.reason.startswith("not ")
                        else exc.reason) from None
    if not isinstance(value, dict):
        raise WireError(param, f"must encode a JSON object, got {kind_of(value)}")
    return value


def text_of(content: Any, param: str, text_types: frozenset[str], skip: frozenset[str] = frozenset()) -> str:
    """Text of a ``content`` that is a string, null, or a list of typed parts.

    Parts in ``skip`` (our own regenerated history, e.g. reasoning) are dropped; any other
    non-text part (an image, a file, audio) is a 400 naming it: in dual-LLM mode the planner
    and the reader see only text, and answering a question about an image nobody looked at
    would be a silent drop."""
    if content is None or isinstance(content, str):
        return content or ""
    pieces: list[str] = []
    for j, part in enumerate(as_list(content, param)):
        part = as_dict(part, f"{param}.{j}")
        kind = part.get("type")
        if not isinstance(kind, str):
            raise WireError(f"{param}.{j}.type", "expected a string")
        if kind in text_types:
            text = part.get("text")
            if not isinstance(text, str):
                raise WireError(f"{param}.{j}.text", f"expected a string, got {kind_of(text)}")
            pieces.append(text)
        elif kind not in skip:
            raise WireError(f"{param}.{j}.type", unreadable_part(kind))
    return "".join(pieces)


def unreadable_part(kind: str) -> str:
    return (f"{kind!r} content cannot apply in dual-LLM mode: the planner and the quarantined reader read "
            "text only; send text, or use single-llm mode")


def schema_of(value: Any, param: str) -> dict[str, Any]:
    if value is None:
        return {"type": "object", "properties": {}}
    return as_dict(value, param)


def description_of(value: Any, param: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WireError(param, f"expected a string, got {kind_of(value)}")
    return value


def name_tool_results(messages: list[Message], start: int = 0) -> None:
    """Give each tool result the name of the latest call before it with its id (Chat and
    Responses results lack it).

    Messages before ``start`` are an earlier request's parse, shared through ``api.history`` and
    named then: only later ones are named here. The earlier calls are read (once) only when a new
    result answers none of the new calls, so a resume of a K-call history reads its new messages,
    not all 2K+1 of them (a forward pass was 0.1-0.25 ms of each K=200 resume)."""
    names: dict[str, str] = {}
    earlier: dict[str, str] | None = None
    for i in range(start, len(messages)):
        message = messages[i]
        for call in message.tool_calls:
            names[call["id"]] = call["name"]
        call_id = message.tool_call_id
        if message.role != "tool" or message.name is not None or call_id is None:
            continue
        name = names.get(call_id)
        if name is None:
            if earlier is None:
                earlier = {call["id"]: call["name"] for m in messages[:start] for call in m.tool_calls}
            name = earlier.get(call_id)
        if name is not None:
            message.name = name


def resume_parse(known: tuple[list[Message], list[int]] | None, out: list[Message], cuts: list[int] | None) -> int:
    """Start a history parse after its known items (``api.history``): their messages join
    ``out``, their cut points ``cuts``; returns the index of the first item still to read."""
    if not known:
        return 0
    out.extend(known[0])
    if cuts is not None:
        cuts.extend(known[1])
    return len(known[1])


def tool_message(call_id: str, content: str, *, is_error: bool = False) -> Message:
    return Message(role="tool", content=content, tool_call_id=call_id, is_error=is_error)
