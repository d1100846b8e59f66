"""Request bodies of the three APIs → one :class:`Conversation`.

The dual-LLM engine reasons about "the user's query, the tool calls made so far and their
results", never about API shapes; this is where the three shapes meet. Parsing is strict about
what the engine depends on (roles, tool-call ids, JSON arguments) and about what it cannot
use: a non-text content part (image, file, audio) is a 400 naming it, since nothing in dual-LLM
mode reads it; reasoning/thinking history is dropped, because thoughts are ours to regenerate.
The body's other fields are checked by ``params.llm_params`` (the per-API allow list).

Every problem raises :class:`WireError` with a dotted ``param`` (``messages.1.tool_calls.0``).
"""

from __future__ import annotations

from typing import Any

from airlock.agent.conversation import Conversation
from airlock.agent.wire.errors import WireError
from airlock.agent.wire.fields import name_tool_results
from airlock.agent.wire.parse_chat import chat_messages, chat_tools
from airlock.agent.wire.parse_messages import anthropic_messages, anthropic_tools
from airlock.agent.wire.parse_responses import responses_input, responses_tools
from airlock.providers.registry import ApiFormat

__all__ = ["parse_conversation"]


def parse_conversation(api: ApiFormat | str, body: dict[str, Any], history: Any = None) -> Conversation:
    """Read ``body`` (already a JSON object) as a request of ``api``.

    ``history`` (``api.history.Known``): the parse of the history's leading items from an
    earlier request of the session is reused, and this one's is attached for the next. The
    messages are shared between those requests, so nothing downstream may change them (the one
    change here, naming tool results, gives a shared message the name it already has)."""
    if not isinstance(body, dict):
        raise WireError("body", "expected a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise WireError("model", "expected a non-empty string")
    api = ApiFormat(api)
    known = history.earlier_parse() if history is not None else None
    cuts: list[int] = []
    if api is ApiFormat.CHAT_COMPLETIONS:
        messages, tools = chat_messages(body, known, cuts), chat_tools(body.get("tools"))
    elif api is ApiFormat.MESSAGES:
        messages, tools = anthropic_messages(body, known, cuts), anthropic_tools(body.get("tools"))
    else:
        messages, tools = responses_input(body), responses_tools(body.get("tools"))
    # The messages of known items are the earlier parse's, named then (history messages come last).
    fresh = cuts[-1] - len(known[0]) if known and cuts else len(messages)
    name_tool_results(messages, len(messages) - fresh)
    if history is not None and cuts:
        history.attach(messages[len(messages) - cuts[-1]:], cuts)
    # Responses clients chain with previous_response_id and post only the new items.
    continues = ApiFormat(api) is ApiFormat.RESPONSES and bool(body.get("previous_response_id"))
    return Conversation(messages=messages, tools=tools, model=model, stream=bool(body.get("stream")), continues=continues)
