"""The single-LLM guard: the session's policy on every tool call a provider's answer holds.

Fail closed. Every item of every choice is read by ``wire.items``; a tool call is checked
against the policy stack and a denied one is removed; an item the guard cannot check (an
unknown kind, arguments that are not one JSON object) is removed as well. Either way the
client gets an explanation in its place and the check lands in the policy check history; if a
Chat choice or a Messages answer is left without calls, its finish reason becomes a stop, so
the client's loop ends cleanly.

Metadata without an interpreter. The single LLM read everything in its context, so everything
it emits may derive from any of it: the **context** metadata — the merge of the metadata of
every tool result the session has seen (including results wrapped with metadata, after the
policy's ``result {}`` updates) — is each argument's metadata and the control context of each
call. ``@session.*`` persists across requests in the session state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airlock.agent.tool_results import (
    WrapperError, legacy_call_id, posted_results, read_wrapper, unwrap,
)
from airlock.agent.wire.items import Call, Item, Unit, answer_units
from airlock.meta import Meta, SessionMeta, Tagged
from airlock.policy import Decision, FiredRule, PolicyStack, initial_result_meta
from airlock.providers.registry import ApiFormat

__all__ = ["Checked", "WrapperError", "absorb_results", "enforce"]


@dataclass(slots=True)
class Checked:
    history: list[dict[str, Any]] = field(default_factory=list)
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)  # client-run calls allowed, by provider id
    context: Meta = Meta()


def _tagged(arguments: dict[str, Any], context: Meta) -> dict[str, Tagged]:
    return {k: Tagged(v, context) for k, v in arguments.items()}


def enforce(api: ApiFormat, answer: dict[str, Any], policy: PolicyStack, session: SessionMeta, context: Meta) -> Checked:
    """Check every item of ``answer`` and remove what is denied, in place."""
    out = Checked(context=context)
    for unit in answer_units(api, answer):
        denials: list[str] = []
        denied_ids: set[str] = set()
        server_calls: list[tuple[Call, Item]] = []
        for item in unit.items:
            if item.problem is not None:
                decision = _withheld(item)
            elif item.call is not None:
                call = item.call
                decision = policy.before_call(call.name, _tagged(call.arguments, out.context), session, control=out.context)
            else:
                continue
            out.history.append({"tool": decision.tool, **decision.to_json()})
            if decision.allowed and item.call is not None:
                item.call.canonical()  # the client gets exactly the arguments that were checked
                if item.call.client_runs:
                    key = item.call.id or legacy_call_id(item.call.name)
                    out.pending[key] = {"name": item.call.name, "args": item.call.arguments}
                else:
                    server_calls.append((item.call, item))
                continue
            item.remove()
            denials.append(decision.message)
            if item.call is not None and item.call.id:
                denied_ids.add(item.call.id)
        for item in unit.items:
            if item.result_of is not None and item.result_of in denied_ids:
                item.remove()  # a denied server tool's result goes with it
        out.context = _server_results(policy, session, out.context, server_calls, unit)
        if denials:
            _explain(unit, "\n\n".join(denials))
    return out


def _withheld(item: Item) -> Decision:
    tool = item.call.name if item.call is not None else item.kind
    rule = FiredRule("preset", "deny", "hard", tool, description="fail closed: the guard forwards only what it can check")
    return Decision(tool, "hard_denied", [rule], f"output item {item.kind!r} was withheld: {item.problem}", policy="preset")


def _server_results(policy: PolicyStack, session: SessionMeta, context: Meta, calls: list[tuple[Call, Item]],
                    unit: Unit) -> Meta:
    """A tool the provider ran has its result in the answer already, and the model read it: it
    updates the session and the context like a result the client posts."""
    for call, item in calls:
        value: Any = next((i.block for i in unit.items if i.result_of == call.id), item.block)
        args = _tagged(call.arguments, context)
        meta = policy.apply_result(call.name, args, Tagged(value, initial_result_meta(args, control=context)),
                                   session, control=context)
        policy.update_session(call.name, "after", args, session, Tagged(value, meta), control=context)
        context = context.merge(meta)
    return context


def absorb_results(api: ApiFormat, body: dict[str, Any], pending: dict[str, dict[str, Any]], policy: PolicyStack,
                   session: SessionMeta, context: Meta) -> Meta:
    """Posted results: unwrap metadata wrappers (always — the provider gets values only) and,
    for calls the guard let through, apply ``result {}`` and ``session after`` updates and add
    the result's metadata to the context. Raises ``WrapperError`` for a malformed wrapper."""
    for result in list(posted_results(api, body)):
        wrapped = read_wrapper(result)
        if wrapped is not None:
            unwrap(result, wrapped)
        call = pending.pop(result.call_id, None)
        if call is None:
            continue
        args = _tagged(call["args"], context)
        value = result.text if wrapped is None else wrapped.value
        start = initial_result_meta(args, None if wrapped is None else wrapped.meta,
                                    "merge" if wrapped is None else wrapped.combine, control=context)
        meta = policy.apply_result(call["name"], args, Tagged(value, start), session, control=context)
        policy.update_session(call["name"], "after", args, session, Tagged(value, meta), control=context)
        context = context.merge(meta)
    return context


def _explain(unit: Unit, text: str) -> None:
    body = unit.body
    if unit.api is ApiFormat.CHAT_COMPLETIONS:
        message = body["message"]
        if message.get("tool_calls") == []:
            message.pop("tool_calls")
        content = message.get("content")
        message["content"] = f"{content}\n\n{text}" if isinstance(content, str) and content else text
        if not message.get("tool_calls") and not message.get("function_call"):
            body["finish_reason"] = "stop"
    elif unit.api is ApiFormat.MESSAGES:
        blocks = body.setdefault("content", [])
        blocks.append({"type": "text", "text": text})
        if body.get("stop_reason") == "tool_use" and not any(b.get("type") == "tool_use" for b in blocks):
            body["stop_reason"] = "end_turn"
    else:
        body.setdefault("output", []).append({
            "type": "message", "id": f"msg_policy_denial_{len(body['output'])}", "status": "completed",
            "role": "assistant", "content": [{"type": "output_text", "text": text, "annotations": []}],
        })
