"""Every item of a provider's whole answer, classified: content, a tool call, or not understood.

This is the single-LLM guard's reader, and it is deliberately exhaustive: each API's tables
below list every item kind Airlock understands, and anything else is ``UNKNOWN`` — which the
guard denies rather than forwards. A call is read in the three APIs' every shape:

* Chat Completions, in **every** choice (``n > 1``): ``tool_calls[]`` of type ``function`` and
  ``custom``, and the legacy ``function_call``;
* Messages: ``tool_use`` (the client runs it), ``server_tool_use`` and ``mcp_tool_use`` (the
  provider runs it; their ``*_tool_result`` blocks go with them);
* Responses: ``function_call``, ``custom_tool_call``, ``local_shell_call``, ``shell_call``,
  ``apply_patch_call``, ``computer_call`` (client-run) and the hosted ``web_search_call``,
  ``file_search_call``, ``code_interpreter_call``, ``image_generation_call``, ``mcp_call``,
  ``mcp_approval_request``.

Hosted tools have no name of their own; policies see them as ``web_search``, ``file_search``,
``code_interpreter``, ``image_generation``, ``local_shell``, ``shell``, ``apply_patch`` and
``computer``, with the item's ``action`` (or ``operation``) fields as arguments.

Arguments given as a JSON string must decode to an object with unique keys: parsers disagree
on duplicate keys, and a call checked on one reading must not run on another. The guard puts
the canonical encoding of what it checked back into the item (``Call.canonical``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from airlock.jsonsafe import JsonInputError, loads
from airlock.providers.registry import ApiFormat


@dataclass(slots=True)
class Call:
    name: str
    arguments: dict[str, Any]
    id: str | None  # the provider's id (what the client answers with), None for legacy function_call
    client_runs: bool  # the client executes it (its id is rewritten, its result comes back)
    canonical: Callable[[], None] = field(default=lambda: None)  # write the checked arguments back


@dataclass(slots=True)
class Item:
    """One item: ``call`` for a tool call, ``problem`` when it cannot be checked, else content."""

    kind: str
    block: dict[str, Any]
    remove: Callable[[], None]
    call: Call | None = None
    problem: str | None = None
    result_of: str | None = None  # a server tool's result block: the id of the call it belongs to


@dataclass(slots=True)
class Unit:
    """Where items live and where the guard writes its explanation: a Chat choice, or the whole
    Messages/Responses answer."""

    api: ApiFormat
    body: dict[str, Any]
    items: list[Item]


class _Unreadable(Exception):
    pass


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise _Unreadable(f"{what} is not a non-empty string")
    return value


def _object_from_json(raw: Any, what: str) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    if not isinstance(raw, str):
        raise _Unreadable(f"{what} is neither a JSON string nor an object")
    try:
        value = loads(raw, surrogates="replace", unique_keys=True)
    except JsonInputError as exc:
        raise _Unreadable(f"{what} {exc.reason}" if not exc.reason.startswith("not ") else f"{what} are {exc.reason}") from None
    if not isinstance(value, dict):
        raise _Unreadable(f"{what} do not encode a JSON object")
    return value


def _canonical_into(holder: dict[str, Any], key: str, args: dict[str, Any]) -> Callable[[], None]:
    def write() -> None:
        holder[key] = json.dumps(args, ensure_ascii=False, separators=(",", ":"))
    return write


def _fields(block: dict[str, Any], key: str) -> dict[str, Any]:
    value = block.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Unreadable(f"'{key}' is not an object")
    return value


# ---- Chat Completions ------------------------------------------------------------------------


def _chat_function(entry: dict[str, Any]) -> Call:
    fn = entry.get("function")
    if not isinstance(fn, dict):
        raise _Unreadable("'function' is not an object")
    args = _object_from_json(fn.get("arguments"), "arguments")
    return Call(_str(fn.get("name"), "the function name"), args, entry.get("id"), True,
                _canonical_into(fn, "arguments", args) if isinstance(fn.get("arguments"), str) else lambda: None)


def _chat_custom(entry: dict[str, Any]) -> Call:
    custom = entry.get("custom")
    if not isinstance(custom, dict):
        raise _Unreadable("'custom' is not an object")
    text = custom.get("input", "")
    if not isinstance(text, str):
        raise _Unreadable("the custom tool input is not a string")
    return Call(_str(custom.get("name"), "the custom tool name"), {"input": text}, entry.get("id"), True)


CHAT_TOOL_CALLS: dict[str, Callable[[dict[str, Any]], Call]] = {"function": _chat_function, "custom": _chat_custom}


def _chat_units(answer: dict[str, Any]) -> list[Unit]:
    units: list[Unit] = []
    for choice in answer.get("choices") or ():
        if not isinstance(choice, dict) or not isinstance(choice.get("message"), dict):
            continue
        message = choice["message"]
        items: list[Item] = []
        calls = message.get("tool_calls")
        if isinstance(calls, list):
            for entry in list(calls):
                kind = entry.get("type", "function") if isinstance(entry, dict) else None
                items.append(_read(f"tool_calls[{kind}]", entry, _remover(calls, entry),
                                   CHAT_TOOL_CALLS.get(kind) if isinstance(kind, str) else None))
        elif calls is not None:
            items.append(Item("tool_calls", {"tool_calls": calls}, lambda m=message: m.pop("tool_calls", None),
                              problem="'tool_calls' is not a list"))
        legacy = message.get("function_call")
        if legacy is not None:
            items.append(_read("function_call", legacy if isinstance(legacy, dict) else {"value": legacy},
                               lambda m=message: m.pop("function_call", None), _chat_legacy))
        units.append(Unit(ApiFormat.CHAT_COMPLETIONS, choice, items))
    return units


def _chat_legacy(fn: dict[str, Any]) -> Call:
    args = _object_from_json(fn.get("arguments"), "arguments")
    return Call(_str(fn.get("name"), "the function name"), args, None, True,
                _canonical_into(fn, "arguments", args) if isinstance(fn.get("arguments"), str) else lambda: None)


# ---- Messages --------------------------------------------------------------------------------

MESSAGES_CONTENT = frozenset({"text", "thinking", "redacted_thinking"})
MESSAGES_SERVER_RESULTS = frozenset({
    "web_search_tool_result", "web_fetch_tool_result", "code_execution_tool_result",
    "bash_code_execution_tool_result", "text_editor_code_execution_tool_result", "mcp_tool_result",
    "tool_search_tool_result",
})


def _messages_call(client_runs: bool) -> Callable[[dict[str, Any]], Call]:
    def read(block: dict[str, Any]) -> Call:
        args = block.get("input", {})
        if not isinstance(args, dict):
            raise _Unreadable("'input' is not an object")
        return Call(_str(block.get("name"), "the tool name"), args, block.get("id"), client_runs)
    return read


MESSAGES_CALLS: dict[str, Callable[[dict[str, Any]], Call]] = {
    "tool_use": _messages_call(True), "server_tool_use": _messages_call(False), "mcp_tool_use": _messages_call(False),
}


def _messages_units(answer: dict[str, Any]) -> list[Unit]:
    blocks = answer.get("content")
    items: list[Item] = []
    for block in list(blocks) if isinstance(blocks, list) else ():
        kind = block.get("type") if isinstance(block, dict) else None
        remove = _remover(blocks, block)
        if kind in MESSAGES_CONTENT:
            items.append(Item(kind, block, remove))
        elif kind in MESSAGES_SERVER_RESULTS:
            items.append(Item(kind, block, remove, result_of=block.get("tool_use_id")))
        else:
            items.append(_read(str(kind), block, remove, MESSAGES_CALLS.get(kind) if isinstance(kind, str) else None))
    return [Unit(ApiFormat.MESSAGES, answer, items)]


# ---- Responses -------------------------------------------------------------------------------

RESPONSES_CONTENT = frozenset({"message", "reasoning", "mcp_list_tools"})


def _responses_named(client_runs: bool, json_args: bool) -> Callable[[dict[str, Any]], Call]:
    def read(item: dict[str, Any]) -> Call:
        if json_args:
            args = _object_from_json(item.get("arguments"), "arguments")
            canonical = _canonical_into(item, "arguments", args) if isinstance(item.get("arguments"), str) else (lambda: None)
        else:
            text = item.get("input", "")
            if not isinstance(text, str):
                raise _Unreadable("the custom tool input is not a string")
            args, canonical = {"input": text}, (lambda: None)
        return Call(_str(item.get("name"), "the tool name"), args, item.get("call_id") or item.get("id"),
                    client_runs, canonical)
    return read


def _responses_hosted(name: str, key: str | None, client_runs: bool) -> Callable[[dict[str, Any]], Call]:
    def read(item: dict[str, Any]) -> Call:
        if key is None:
            args = {k: v for k, v in item.items() if k not in ("type", "id", "status", "call_id", "result")}
        else:
            args = _fields(item, key)
        return Call(name, args, item.get("call_id") or item.get("id"), client_runs)
    return read


RESPONSES_CALLS: dict[str, Callable[[dict[str, Any]], Call]] = {
    "function_call": _responses_named(True, True),
    "custom_tool_call": _responses_named(True, False),
    "local_shell_call": _responses_hosted("local_shell", "action", True),
    "shell_call": _responses_hosted("shell", "action", True),
    "apply_patch_call": _responses_hosted("apply_patch", "operation", True),
    "computer_call": _responses_hosted("computer", "action", True),
    "web_search_call": _responses_hosted("web_search", "action", False),
    "file_search_call": _responses_hosted("file_search", None, False),
    "code_interpreter_call": _responses_hosted("code_interpreter", None, False),
    "image_generation_call": _responses_hosted("image_generation", None, False),
    "mcp_call": _responses_named(False, True),
    "mcp_approval_request": _responses_named(False, True),
}
# Client-run Responses calls and the input item that carries each one's result back.
RESPONSES_RESULT_OF: dict[str, str] = {
    "function_call": "function_call_output", "custom_tool_call": "custom_tool_call_output",
    "local_shell_call": "local_shell_call_output", "shell_call": "shell_call_output",
    "apply_patch_call": "apply_patch_call_output", "computer_call": "computer_call_output",
}


def _responses_units(answer: dict[str, Any]) -> list[Unit]:
    output = answer.get("output")
    items: list[Item] = []
    for item in list(output) if isinstance(output, list) else ():
        kind = item.get("type") if isinstance(item, dict) else None
        remove = _remover(output, item)
        if kind in RESPONSES_CONTENT:
            items.append(Item(kind, item, remove))
        else:
            items.append(_read(str(kind), item, remove, RESPONSES_CALLS.get(kind) if isinstance(kind, str) else None))
    return [Unit(ApiFormat.RESPONSES, answer, items)]


# ---- shared ----------------------------------------------------------------------------------


def _remover(holder: list[Any], obj: Any) -> Callable[[], None]:
    def remove() -> None:
        for i, x in enumerate(holder):
            if x is obj:
                del holder[i]
                return
    return remove


def _read(kind: str, block: Any, remove: Callable[[], None], reader: Callable[[dict[str, Any]], Call] | None) -> Item:
    if not isinstance(block, dict):
        return Item(kind, {"value": block}, remove, problem="the item is not an object")
    if reader is None:
        return Item(kind, block, remove, problem=f"Airlock does not understand output items of type {kind!r}")
    try:
        return Item(kind, block, remove, call=reader(block))
    except _Unreadable as exc:
        return Item(kind, block, remove, problem=f"its {exc}")


_UNITS: dict[ApiFormat, Callable[[dict[str, Any]], list[Unit]]] = {
    ApiFormat.CHAT_COMPLETIONS: _chat_units, ApiFormat.MESSAGES: _messages_units, ApiFormat.RESPONSES: _responses_units,
}


def answer_units(api: ApiFormat, answer: dict[str, Any]) -> list[Unit]:
    """Every unit of a whole answer with its items in order (reading never changes ``answer``)."""
    return _UNITS[ApiFormat(api)](answer)


__all__ = ["CHAT_TOOL_CALLS", "Call", "Item", "MESSAGES_CALLS", "RESPONSES_CALLS", "RESPONSES_RESULT_OF", "Unit",
           "answer_units"]
