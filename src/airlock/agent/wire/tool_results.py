"""Where the tool results sit in a raw request body of each API, for in-place rewriting.

The wire parser (``parse``) reads a body into neutral messages; content guards must instead
rewrite the body that goes upstream, so they need the raw slots: ``holder[key]`` is one tool
result's content (a string, a list of content parts, or for a few Responses item kinds an object).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from airlock.providers.registry import ApiFormat

# Responses input items that carry a tool's output in ``output``.
RESPONSES_OUTPUT_ITEMS = frozenset({
    "function_call_output", "custom_tool_call_output", "local_shell_call_output", "computer_call_output",
    "apply_patch_call_output", "shell_call_output",
})
# The text part type each API uses inside a tool result's content list.
TEXT_PART = {ApiFormat.CHAT_COMPLETIONS: "text", ApiFormat.MESSAGES: "text", ApiFormat.RESPONSES: "input_text"}
TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})


@dataclass(frozen=True, slots=True)
class Slot:
    holder: dict[str, Any]
    key: str


def tool_result_slots(api: ApiFormat, body: dict[str, Any]) -> Iterator[Slot]:
    if api == ApiFormat.CHAT_COMPLETIONS:
        for m in body.get("messages") or ():
            if isinstance(m, dict) and m.get("role") in ("tool", "function") and m.get("content") is not None:
                yield Slot(m, "content")
    elif api == ApiFormat.MESSAGES:
        for m in body.get("messages") or ():
            content = m.get("content") if isinstance(m, dict) else None
            for block in content if isinstance(content, list) else ():
                if isinstance(block, dict) and block.get("type") == "tool_result" and block.get("content") is not None:
                    yield Slot(block, "content")
    else:
        items = body.get("input")
        for item in items if isinstance(items, list) else ():
            if isinstance(item, dict) and item.get("type") in RESPONSES_OUTPUT_ITEMS and item.get("output") is not None:
                yield Slot(item, "output")
