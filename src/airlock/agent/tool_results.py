"""Tool results a single-LLM request posts back, read leniently in every API's shapes.

The single-LLM proxy forwards histories it does not fully model (it is a proxy), so it cannot
use the dual-LLM parser, which refuses what the planner cannot use: an unmodelled item there
would make the guard skip its ``session after`` updates — fail open. This reader only looks for
result slots (``tool`` messages and the legacy ``function`` role; ``tool_result`` blocks; the
``*_output`` items of every client-run Responses call) and takes their text however it is
shaped.

A result may wrap itself with metadata (``{"value", "meta": {producers, consumers, tags},
"is_sequrity_var": true, "combine_meta"}``). The wrapper is Airlock's, not the model's: the
provider is sent only the value (``unwrap``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator, Literal

from airlock.agent.wire.items import RESPONSES_RESULT_OF
from airlock.jsonsafe import JsonInputError, loads
from airlock.meta import Meta, StrSet
from airlock.providers.registry import ApiFormat

COMBINE = ("merge", "replace", "ignore")
_RESULT_KINDS = frozenset(RESPONSES_RESULT_OF.values())


class WrapperError(ValueError):
    """A result marked ``is_sequrity_var`` whose wrapper is malformed (the client's 400)."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param


@dataclass(slots=True)
class PostedResult:
    call_id: str  # the provider's id (after restore_upstream_ids), or "function_call:<name>"
    holder: dict[str, Any]
    key: str
    param: str  # where it is in the body, for error messages

    @property
    def text(self) -> str:
        return _text_of(self.holder.get(self.key))


@dataclass(slots=True)
class Wrapped:
    value: Any
    meta: Meta
    combine: Literal["merge", "replace", "ignore"]


def legacy_call_id(name: str) -> str:
    """Legacy Chat ``function_call``s carry no id: their result is matched by the function name."""
    return f"function_call:{name}"


def posted_results(api: ApiFormat, body: dict[str, Any]) -> Iterator[PostedResult]:
    if api is ApiFormat.CHAT_COMPLETIONS:
        for i, m in enumerate(body.get("messages") or ()):
            if isinstance(m, dict) and m.get("role") == "tool" and isinstance(m.get("tool_call_id"), str):
                yield PostedResult(m["tool_call_id"], m, "content", f"messages.{i}.content")
            elif isinstance(m, dict) and m.get("role") == "function" and isinstance(m.get("name"), str):
                yield PostedResult(legacy_call_id(m["name"]), m, "content", f"messages.{i}.content")
    elif api is ApiFormat.MESSAGES:
        for i, m in enumerate(body.get("messages") or ()):
            content = m.get("content") if isinstance(m, dict) else None
            for j, block in enumerate(content if isinstance(content, list) else ()):
                if isinstance(block, dict) and block.get("type") == "tool_result" and isinstance(block.get("tool_use_id"), str):
                    yield PostedResult(block["tool_use_id"], block, "content", f"messages.{i}.content.{j}.content")
    else:
        items = body.get("input")
        for i, item in enumerate(items if isinstance(items, list) else ()):
            if isinstance(item, dict) and item.get("type") in _RESULT_KINDS:
                call_id = item.get("call_id") or item.get("id")
                if isinstance(call_id, str):
                    yield PostedResult(call_id, item, "output", f"input.{i}.output")


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    if content is None:
        return ""
    return json.dumps(content, ensure_ascii=False)


def read_wrapper(result: PostedResult) -> Wrapped | None:
    """The metadata wrapper of a result, or ``None`` when the result is plain."""
    text = result.text
    if "is_sequrity_var" not in text:
        return None
    try:
        data = loads(text)
    except JsonInputError:
        return None
    if not isinstance(data, dict) or data.get("is_sequrity_var") is not True:
        return None
    if "value" not in data:
        raise WrapperError(result.param, "a metadata wrapper needs a 'value'")
    meta = data.get("meta")
    if not isinstance(meta, dict) or set(meta) - {"producers", "consumers", "tags"}:
        raise WrapperError(result.param, "a metadata wrapper's 'meta' must be an object of producers, consumers and tags")
    sets = {}
    for name in ("producers", "consumers", "tags"):
        items = meta.get(name, ["*"] if name == "consumers" else [])
        if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
            raise WrapperError(result.param, f"meta.{name} must be a list of strings")
        sets[name] = StrSet.of(items)
    combine = data.get("combine_meta", "merge")
    if combine not in COMBINE:
        raise WrapperError(result.param, f"combine_meta must be one of {', '.join(COMBINE)}, not {combine!r}")
    return Wrapped(data["value"], Meta(sets["producers"], sets["consumers"], sets["tags"]), combine)


def unwrap(result: PostedResult, wrapped: Wrapped) -> None:
    """Send the provider only the value."""
    value = wrapped.value
    result.holder[result.key] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


__all__ = ["PostedResult", "Wrapped", "WrapperError", "legacy_call_id", "posted_results", "read_wrapper", "unwrap"]
