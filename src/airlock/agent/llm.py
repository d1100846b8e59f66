"""One LLM call in neutral terms (system text + user/assistant turns → text + usage), on any provider.

The dual-LLM agent talks to its planner (PLLM), quarantined model (QLLM) and reviewers through
this function only; it picks the provider's native API and, for structured output, the
provider's JSON-schema mode where one exists (Chat Completions ``response_format``, Responses
``text.format``); Messages has none, so the schema goes in the system text and the caller
validates the answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from airlock.agent.conversation import Usage
from airlock.agent.wire.params import PLLM, LlmParams
from airlock.providers import UpstreamClient
from airlock.providers.registry import ApiFormat, get_provider


@dataclass(slots=True)
class LlmReply:
    text: str
    prompt_tokens: int
    completion_tokens: int


def native_api(provider: str, preferred: ApiFormat) -> ApiFormat:
    """The route's API if the provider serves it, else the provider's first native API."""
    spec = get_provider(provider)
    if spec is None or spec.serves(preferred):
        return preferred
    for api in (ApiFormat.CHAT_COMPLETIONS, ApiFormat.MESSAGES, ApiFormat.RESPONSES):
        if spec.serves(api):
            return api
    return preferred


def build_body(
    api: ApiFormat, model: str, system: str, turns: list[dict[str, str]], json_schema: dict[str, Any] | None,
    max_tokens: int, params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``params``: the client's checked request parameters for this call's role, already named
    as ``api`` names them (``wire.params``); they never name a field set here."""
    if api == ApiFormat.MESSAGES:
        if json_schema is not None:
            system += "\n\nAnswer with one JSON value that validates against this JSON Schema, and nothing else:\n"
            system += json.dumps(json_schema)
        body: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "system": system, "messages": turns}
    elif api == ApiFormat.RESPONSES:
        body = {"model": model, "instructions": system, "input": turns}
        if json_schema is not None:
            body["text"] = {"format": {"type": "json_schema", "name": "output", "schema": json_schema, "strict": False}}
    else:
        body = {"model": model, "messages": [{"role": "system", "content": system}, *turns]}
        if json_schema is not None:
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": "output", "schema": json_schema, "strict": False}}
    body.update(params or {})
    return body


def read_reply(api: ApiFormat, answer: dict[str, Any]) -> LlmReply:
    usage = answer.get("usage") or {}
    if api == ApiFormat.MESSAGES:
        text = "".join(b.get("text", "") for b in answer.get("content") or () if b.get("type") == "text")
        return LlmReply(text, int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)))
    if api == ApiFormat.RESPONSES:
        parts = [
            c.get("text", "")
            for item in answer.get("output") or ()
            if item.get("type") == "message"
            for c in item.get("content") or ()
            if c.get("type") == "output_text"
        ]
        return LlmReply("".join(parts), int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)))
    message = ((answer.get("choices") or [{}])[0].get("message")) or {}
    return LlmReply(message.get("content") or "", int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)))


async def complete(
    upstream: UpstreamClient,
    provider: str,
    api: ApiFormat,
    model: str,
    system: str,
    turns: list[dict[str, str]],
    *,
    api_key: str | None,
    usage: Usage | None = None,
    json_schema: dict[str, Any] | None = None,
    max_tokens: int = 4096,
    params: LlmParams | None = None,
    role: str = PLLM,
) -> LlmReply:
    """Call the model once; adds the tokens to ``usage``. Raises ``UpstreamError`` on failure.
    ``params``/``role``: the client's request parameters and which role this call plays."""
    api = native_api(provider, api)
    extra = params.for_role(role, api) if params is not None else None
    body = build_body(api, model, system, turns, json_schema, max_tokens, extra)
    result = await upstream.request(provider, api, body, api_key=api_key)
    reply = read_reply(api, result.json if isinstance(result.json, dict) else {})
    if usage is not None:
        usage.add(reply.prompt_tokens, reply.completion_tokens)
    return reply
