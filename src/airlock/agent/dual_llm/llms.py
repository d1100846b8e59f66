"""The engine's handle on its models: one object per request that knows the provider, the key,
which model plays which role, and sums usage over every call.

Roles: the planner (PLLM) and the plan selector and reviewers use the PLLM model; everything
that reads untrusted data (QLLM: ``parse_with_ai``, ``verify_hypothesis``, the tool-error
detector) uses the QLLM model. Keeping that split in one place makes it auditable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from airlock.agent import llm as llm_mod
from airlock.agent.conversation import Usage
from airlock.agent.wire.params import AUX, LlmParams
from airlock.jsonsafe import JsonInputError, loads
from airlock.providers import UpstreamClient
from airlock.providers.registry import ApiFormat

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n?(.*?)\n?```\s*$", re.S)


@dataclass
class Llms:
    upstream: UpstreamClient
    provider: str
    api: ApiFormat
    api_key: str | None
    pllm_model: str
    qllm_model: str
    usage: Usage = field(default_factory=Usage)
    params: LlmParams | None = None  # the client's request parameters, per role (wire.params)

    @classmethod
    def for_request(cls, upstream: UpstreamClient, config: Any, conv_model: str, provider: str, api: ApiFormat,
                    api_key: str | None, params: LlmParams | None = None) -> "Llms":
        parts = [p.strip() for p in (conv_model or "").split(",") if p.strip()]
        pllm = config.pllm_model or (parts[0] if parts else "")
        qllm = config.qllm_model or (parts[-1] if parts else pllm)
        return cls(upstream, provider, api, api_key, pllm, qllm, params=params)

    async def ask(self, system: str, turns: list[dict[str, str]], *, model: str | None = None,
                  json_schema: dict[str, Any] | None = None, role: str = AUX) -> str:
        """``role``: PLLM (the planning call), QLLM (reads untrusted data) or AUX (helper calls)."""
        reply = await llm_mod.complete(self.upstream, self.provider, self.api, model or self.pllm_model, system, turns,
                                       api_key=self.api_key, usage=self.usage, json_schema=json_schema,
                                       params=self.params, role=role)
        return reply.text

    async def ask_json(self, system: str, turns: list[dict[str, str]], *, model: str | None = None,
                       json_schema: dict[str, Any] | None = None, role: str = AUX) -> Any:
        """The answer parsed as JSON (code fences tolerated); raises ``ValueError`` if it is not."""
        return parse_json(await self.ask(system, turns, model=model, json_schema=json_schema, role=role))


def parse_json(text: str) -> Any:
    """An LLM's JSON answer (fences and surrounding prose tolerated). Raises ``ValueError`` for
    anything else — including nesting deeper than ``jsonsafe.MAX_DEPTH``, which the callers
    treat as an invalid answer (retry, then a failure answer), never as a crash."""
    m = _FENCE.match(text or "")
    body = m.group(1) if m else (text or "")
    try:
        return loads(body, surrogates="replace")
    except JsonInputError as exc:
        if "nested deeper" in exc.reason:
            raise
        start = min((i for i in (body.find("{"), body.find("[")) if i >= 0), default=-1)
        if start < 0:
            raise
        return loads(body[start:body.rfind("}" if body[start] == "{" else "]") + 1], surrogates="replace")
