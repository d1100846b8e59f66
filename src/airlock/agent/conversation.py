"""The API-neutral view of a request and of an agent's answer.

``agent/wire/`` turns a Chat Completions, Messages or Responses body into a ``Conversation``
and turns an ``AgentOutput`` back into that API's JSON or SSE. The dual-LLM engine only ever
sees these types, so it is written once for all three APIs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(slots=True)
class ToolDef:
    """A client tool: name, description, JSON Schema of its parameters (and of its output, if known)."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    output_schema: dict[str, Any] | None = None


@dataclass(slots=True)
class Message:
    """One history entry. ``role``: system | user | assistant | tool.

    ``tool_calls`` (assistant) hold ``{"id", "name", "arguments": dict}``; a ``tool`` message
    carries ``tool_call_id`` and the raw result text in ``content``.
    """

    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None  # original role name (e.g. "developer") or the tool's name
    is_error: bool = False  # a tool result the client marked as an error (Messages' is_error)


@dataclass(slots=True)
class Conversation:
    messages: list[Message]
    tools: list[ToolDef]
    model: str
    stream: bool = False
    continues: bool = False  # Responses' previous_response_id: the input extends the stored history

    @property
    def starts_turn(self) -> bool:
        """The newest message is the user's: a new turn (otherwise tool results continue one)."""
        return bool(self.messages) and self.messages[-1].role == "user"

    def trailing_tool_results(self) -> list[Message]:
        """The tool results posted after the last assistant message (what resumes a program)."""
        out: list[Message] = []
        for message in reversed(self.messages):
            if message.role != "tool":
                break
            out.append(message)
        return list(reversed(out))


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0  # LLM calls made

    def add(self, prompt: int, completion: int) -> None:
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        self.calls += 1

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(slots=True)
class ToolCallOut:
    id: str  # already in the tc-<session>-<call> form
    name: str
    arguments: dict[str, Any]


@dataclass(slots=True)
class AgentOutput:
    """What the agent answers: tool calls for the client to run, or the final content."""

    tool_calls: list[ToolCallOut] = field(default_factory=list)
    content: str | None = None
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    thoughts: list[str] = field(default_factory=list)  # planning progress, for stream_thoughts
    failed: bool = False  # the final content reports a failure (Responses answers status "failed")

    @property
    def is_final(self) -> bool:
        return not self.tool_calls
