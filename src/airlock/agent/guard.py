"""Policies on the tool calls a single LLM emits: checked before the client sees them.

Single-LLM mode has no interpreter, so arguments carry no data-flow metadata; what the policy
can see is each argument's value and the session metadata (``@session.*``), which persists in
the session state between requests. A denied call (hard or soft) is removed from the answer;
if none is left, the answer becomes a plain assistant message explaining the denial, so a
denied call never reaches the client and the client's loop ends cleanly.
"""

from __future__ import annotations

from typing import Any

from airlock.agent.wire.answer import tool_calls_in
from airlock.meta import SessionMeta, Tagged
from airlock.policy import CompiledPolicy, PolicyError, compile_policy
from airlock.providers.registry import ApiFormat


class PolicyConfigError(Exception):
    """The request's policy does not compile (a 400 naming X-Policy)."""


def session_policy(config: Any) -> CompiledPolicy | None:
    """The compiled policy of a resolved config, or None when it has no code (nothing to check)."""
    codes = config.codes
    if not codes.code.strip():
        return None
    try:
        return compile_policy(
            codes.code,
            language=codes.language,
            presets=config.presets.model_dump(),
            fail_fast=config.policy.fail_fast,
            mode=config.policy.mode,
        )
    except PolicyError as exc:
        raise PolicyConfigError(str(exc)) from None


def enforce(
    api: ApiFormat, answer: dict[str, Any], policy: CompiledPolicy, session: SessionMeta
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Check every tool call in ``answer``; remove denied ones in place.

    Returns the decisions and the allowed calls by upstream id (``{"name", "args"}``), whose
    ``session after`` updates run when the client posts their results (``after_results``).
    """
    holder, calls = tool_calls_in(api, answer)
    history: list[dict[str, Any]] = []
    denied: list[tuple[dict[str, Any], str]] = []
    allowed: dict[str, dict[str, Any]] = {}
    for block, call in calls:
        decision = policy.before_call(call.name, {k: Tagged(v) for k, v in call.arguments.items()}, session)
        history.append({"tool": call.name, **decision.to_json()})
        if decision.verdict != "allowed":
            denied.append((block, decision.message))
        else:
            allowed[call.id] = {"name": call.name, "args": call.arguments}
    if not denied:
        return history, allowed
    for block, _ in denied:
        holder.remove(block)
    if len(denied) == len(calls):
        _replace_with_text(api, answer, "\n".join(message for _, message in denied))
    return history, allowed


def after_results(
    api: ApiFormat, body: dict[str, Any], pending: dict[str, dict[str, Any]], policy: CompiledPolicy, session: SessionMeta
) -> None:
    """Run ``session after`` updates for the pending calls whose results the request posts."""
    from airlock.agent.wire import WireError, parse_conversation

    try:
        results = parse_conversation(api, body).trailing_tool_results()
    except WireError:
        return  # a history the wire parser does not model (it is forwarded as is); nothing to update
    for message in results:
        call = pending.pop(message.tool_call_id or "", None)
        if call is not None:
            args = {k: Tagged(v) for k, v in call["args"].items()}
            policy.update_session(call["name"], "after", args, session, Tagged(message.content))


def _replace_with_text(api: ApiFormat, answer: dict[str, Any], text: str) -> None:
    if api == ApiFormat.CHAT_COMPLETIONS:
        choice = answer["choices"][0]
        choice["message"].pop("tool_calls", None)
        choice["message"]["content"] = text
        choice["finish_reason"] = "stop"
    elif api == ApiFormat.MESSAGES:
        answer["content"] = [b for b in answer.get("content") or [] if b.get("type") == "text"] + [{"type": "text", "text": text}]
        answer["stop_reason"] = "end_turn"
    else:
        answer.setdefault("output", []).append({
            "type": "message", "id": "msg_policy_denial", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        })
