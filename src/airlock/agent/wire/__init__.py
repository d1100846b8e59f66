"""The three wire formats ↔ the API-neutral agent types.

``parse_conversation`` reads a Chat Completions, Messages or Responses request body into a
:class:`~airlock.agent.conversation.Conversation`; ``render_json`` and ``render_sse`` turn an
:class:`~airlock.agent.conversation.AgentOutput` back into that API's response body or event
stream. The dual-LLM engine is thereby written once for all three APIs.
"""

from airlock.agent.wire.errors import WireError
from airlock.agent.wire.parse import parse_conversation
from airlock.agent.wire.render import new_response_id, render_json
from airlock.agent.wire.stream import render_sse

__all__ = ["WireError", "new_response_id", "parse_conversation", "render_json", "render_sse"]
