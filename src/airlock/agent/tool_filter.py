"""``min_num_tools_for_filtering`` in single-LLM mode: a tool-filter LLM call (TLLM) through the
session's own provider, as in dual-LLM, keeps only the tools the user's request may need.

Only tools the client defines and runs (functions and custom tools) are filtered; provider-run
tools (web search, code execution...) have no schema to judge and stay. A tool the request's
``tool_choice`` names always stays. The choice is made once per turn and kept in the session
state, so the tool results of that turn are not followed by another TLLM call; its tokens are
added to the answer's usage (``add_usage``).
"""

from __future__ import annotations

from typing import Any

from airlock.agent.conversation import ToolDef, Usage
from airlock.providers.registry import ApiFormat


def _named_tools(api: ApiFormat, tools: list[Any]) -> list[tuple[int, ToolDef]]:
    out: list[tuple[int, ToolDef]] = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            continue
        kind = tool.get("type")
        if api is ApiFormat.CHAT_COMPLETIONS and kind in (None, "function", "custom"):
            spec = tool.get("function" if kind != "custom" else "custom")
            spec = spec if isinstance(spec, dict) else {}
            schema = spec.get("parameters")
        elif api is ApiFormat.MESSAGES and kind in (None, "custom"):
            spec, schema = tool, tool.get("input_schema")
        elif api is ApiFormat.RESPONSES and kind in ("function", "custom"):
            spec, schema = tool, tool.get("parameters")
        else:
            continue
        name = spec.get("name")
        if isinstance(name, str) and name:
            description = spec.get("description")
            out.append((i, ToolDef(name, description if isinstance(description, str) else "",
                                   schema if isinstance(schema, dict) else {"type": "object", "properties": {}})))
    return out


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def user_query(api: ApiFormat, body: dict[str, Any]) -> str:
    """The text of the newest user message."""
    if api is ApiFormat.RESPONSES and isinstance(body.get("input"), str):
        return str(body["input"])
    items = body.get("input") if api is ApiFormat.RESPONSES else body.get("messages")
    for m in reversed(items if isinstance(items, list) else []):
        if isinstance(m, dict) and m.get("role") == "user" and m.get("type", "message") == "message":
            text = _text(m.get("content"))
            if text:
                return text
    return ""


def _chosen(body: dict[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    if not isinstance(choice, dict):
        return None
    fn = choice.get("function")
    name = fn.get("name") if isinstance(fn, dict) else choice.get("name")
    return name if isinstance(name, str) else None


async def filter_tools(upstream: Any, call: Any) -> Usage | None:
    """Filter ``call.body["tools"]`` in place when there are enough of them; returns the TLLM's
    usage when a TLLM call was made."""
    body, state = call.body, call.session.state
    threshold = call.config.fsm.min_num_tools_for_filtering
    tools = body.get("tools")
    if threshold is None or not isinstance(tools, list):
        return None
    named = _named_tools(call.api, tools)
    if len(named) < threshold:
        return None
    usage = None
    kept = state.get("tool_filter")
    if not (isinstance(kept, dict) and kept.get("turn") == state.get("turns")):
        from airlock.agent.dual_llm.llms import Llms  # loaded only when filtering is needed
        from airlock.agent.dual_llm.planner import filter_tools as tllm

        llms = Llms.for_request(upstream, call.config, body.get("model") or "", call.provider, call.api, call.byok_key)
        keep = await tllm(llms, call.config, user_query(call.api, body), [t for _, t in named])
        kept = {"turn": state.get("turns"), "keep": keep}
        state["tool_filter"] = kept
        usage = llms.usage
    keep_names = set(kept["keep"]) | {n for n in [_chosen(body)] if n}
    dropped = {i for i, t in named if t.name not in keep_names}
    body["tools"] = [t for i, t in enumerate(tools) if i not in dropped]
    return usage


def add_usage(api: ApiFormat, answer: dict[str, Any], usage: Usage | None) -> None:
    """Add an extra LLM call's tokens to a whole answer's (or a streamed event's) usage."""
    if usage is None or not usage.calls:
        return
    if api is ApiFormat.CHAT_COMPLETIONS:
        u = answer.get("usage")
        if isinstance(u, dict):
            u["prompt_tokens"] = int(u.get("prompt_tokens") or 0) + usage.prompt_tokens
            u["completion_tokens"] = int(u.get("completion_tokens") or 0) + usage.completion_tokens
            u["total_tokens"] = int(u.get("total_tokens") or 0) + usage.total_tokens
        return
    holder = answer.get("response") if isinstance(answer.get("response"), dict) else answer  # Responses events
    if isinstance(answer.get("message"), dict):  # Messages: message_start
        holder = answer["message"]
    u = holder.get("usage")
    if not isinstance(u, dict):
        return
    if answer.get("type") == "message_delta":
        u["output_tokens"] = int(u.get("output_tokens") or 0) + usage.completion_tokens
        return
    u["input_tokens"] = int(u.get("input_tokens") or 0) + usage.prompt_tokens
    if answer.get("type") != "message_start":
        u["output_tokens"] = int(u.get("output_tokens") or 0) + usage.completion_tokens
    if "total_tokens" in u:
        u["total_tokens"] = int(u.get("total_tokens") or 0) + usage.total_tokens
