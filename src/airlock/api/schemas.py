"""Request bodies of the three APIs, validated just enough to fail fast with a precise 400.

Only the fields Airlock reads are typed; everything else is kept (``extra="allow"``) and
forwarded untouched, so new provider parameters work without a release. The same models give
the OpenAPI document its request schemas.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from airlock.api.routing import Api


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ChatMessage(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: Any = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None


class ChatCompletionRequest(_Open):
    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool | None = None
    tools: list[dict[str, Any]] | None = None


class AnthropicMessage(_Open):
    role: Literal["user", "assistant"]
    content: str | list[dict[str, Any]]


class MessagesRequest(_Open):
    model: str = Field(min_length=1)
    messages: list[AnthropicMessage] = Field(min_length=1)
    max_tokens: int = Field(ge=1)
    system: str | list[dict[str, Any]] | None = None
    stream: bool | None = None
    tools: list[dict[str, Any]] | None = None


class ResponsesRequest(_Open):
    model: str = Field(min_length=1)
    input: str | list[dict[str, Any]]
    instructions: str | None = None
    stream: bool | None = None
    tools: list[dict[str, Any]] | None = None


class ValidateHeadersRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    x_features: str | None = None
    x_policy: str | None = None
    x_config: str | None = None


REQUEST_MODELS: dict[Api, type[BaseModel]] = {
    Api.CHAT_COMPLETIONS: ChatCompletionRequest,
    Api.MESSAGES: MessagesRequest,
    Api.RESPONSES: ResponsesRequest,
}


def describe_validation_error(exc: ValidationError) -> tuple[str, str]:
    """The first problem as ``(param, message)``, e.g. ``("messages.0.role", "Input should be ...")``."""
    first = exc.errors(include_url=False)[0]
    param = ".".join(str(part) for part in first["loc"]) or "body"
    return param, f"{param}: {first['msg']}"
