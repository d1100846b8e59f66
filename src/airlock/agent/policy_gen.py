"""Policy generation: a natural-language description and a tool list in, checked SQRT out.

The model writes a policy; our own compiler is the judge. A policy that does not compile goes
back to the model with the compiler's errors (line, column, what was expected), up to
``n_retries`` more times, so a caller only ever receives SQRT that ``airlock policy check``
accepts. Usage is summed over every attempt.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field

from airlock.agent.dual_llm.prompts import template
from airlock.policy import PolicyError, compile_policy
from airlock.providers import UpstreamClient
from airlock.providers.registry import ApiFormat

REQUEST_TYPES = Literal[
    "oai_chat_completion",
    "openrouter_chat_completion",
    "anthropic_messages",
    "oai_responses",
    "sequrity_azure_chat_completion",
    "sequrity_azure_responses",
]
MAX_RETRIES = 5


def system_prompt(flavor: str | None = None, version: str | None = None) -> str:
    """The policy writer's instructions (``prompts/policy_llm_<flavor>_v<N>.md``, chosen by
    ``X-Config.prompt.policy_llm``). Every SQRT example in it compiles with our parser
    (tests/api/test_policy_gen.py holds it to that), so the model is never taught syntax we reject."""
    return template("policy_llm", flavor, version)



class PolicyGenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: REQUEST_TYPES = "openrouter_chat_completion"
    model: str = Field(min_length=1)
    description: str = Field(min_length=1)
    policy_lang: Literal["sqrt"] = "sqrt"
    n_retries: int = Field(default=3, ge=0, le=MAX_RETRIES)
    internal_tool_names: list[Literal["parse_with_ai", "verify_hypothesis", "set_policy", "complete_turn"]] = []
    tools: list[dict[str, Any]] = []


class PolicyGenFailed(Exception):
    def __init__(self, message: str, errors: list[str]) -> None:
        super().__init__(message)
        self.errors = errors


def _tool_lines(request: PolicyGenRequest) -> str:
    return tool_lines(request.tools, request.internal_tool_names)


def tool_lines(tools: list[dict[str, Any]], internal: list[str]) -> str:
    """One line per tool (name, parameter names, description) for the policy writer."""
    lines = []
    for tool in tools:
        spec = tool.get("function", tool)  # Chat Completions nests the function; Anthropic/Responses do not
        params = spec.get("parameters") or spec.get("input_schema") or {}
        names = ", ".join((params.get("properties") or {}).keys())
        lines.append(f"- {spec.get('name')}({names}): {spec.get('description', '')}".rstrip(": "))
    lines += [f"- {name} (internal tool)" for name in internal]
    return "\n".join(lines) or "- (no tools given)"


def extract_policy(text: str) -> str:
    """The last fenced block (```sqrt or plain ```), else the whole answer."""
    parts = text.split("```")
    if len(parts) >= 3:
        block = parts[-2]
        first_line, _, rest = block.partition("\n")
        return (rest if first_line.strip().lower() in ("sqrt", "") else block).strip()
    return text.strip()


def _usage(api: ApiFormat, answer: dict[str, Any]) -> tuple[int, int]:
    usage = answer.get("usage") or {}
    if api == ApiFormat.MESSAGES:
        return int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
    return int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))


def _text(api: ApiFormat, answer: dict[str, Any]) -> str:
    if api == ApiFormat.MESSAGES:
        return "".join(b.get("text", "") for b in answer.get("content") or () if b.get("type") == "text")
    return ((answer.get("choices") or [{}])[0].get("message") or {}).get("content") or ""


Ask = Callable[[str, list[dict[str, Any]]], Awaitable[str]]


async def write_policy(ask: Ask, system: str, tools: str, description: str, n_retries: int) -> str:
    """The retry loop shared by the policy-gen route and ``X-Policy.auto_gen``: ask, compile with
    our compiler, send the errors back. Returns SQRT that compiles; raises ``PolicyGenFailed``."""
    conversation: list[dict[str, Any]] = [
        {"role": "user", "content": f"Tools:\n{tools}\n\nPolicy wanted:\n{description}"}
    ]
    errors: list[str] = []
    for _attempt in range(n_retries + 1):
        text = await ask(system, conversation)
        policy = extract_policy(text)
        try:
            compile_policy(policy)
        except PolicyError as exc:
            errors = [item.format() for item in exc.errors]
            conversation += [
                {"role": "assistant", "content": text or "(empty answer)"},
                {"role": "user", "content": "That policy does not compile:\n" + "\n".join(errors) + "\nAnswer with the corrected policy."},
            ]
            continue
        return policy
    raise PolicyGenFailed(
        f"The model did not produce a valid SQRT policy in {n_retries + 1} attempts: " + json.dumps(errors[:5]),
        errors,
    )


async def generate_policy(
    upstream: UpstreamClient, provider: str, request: PolicyGenRequest, api_key: str | None
) -> dict[str, Any]:
    api = ApiFormat.MESSAGES if provider == "anthropic" else ApiFormat.CHAT_COMPLETIONS
    used = [0, 0]

    async def ask(system: str, conversation: list[dict[str, Any]]) -> str:
        if api == ApiFormat.MESSAGES:
            body = {"model": request.model, "max_tokens": 4096, "system": system, "messages": conversation}
        else:
            body = {"model": request.model, "messages": [{"role": "system", "content": system}, *conversation]}
        answer = (await upstream.request(provider, api, body, api_key=api_key)).json
        used_in, used_out = _usage(api, answer)
        used[0] += used_in
        used[1] += used_out
        return _text(api, answer)

    policy = await write_policy(ask, system_prompt(), _tool_lines(request), request.description, request.n_retries)
    return {
        "policies": policy,
        "usage": {"prompt_tokens": used[0], "completion_tokens": used[1], "total_tokens": used[0] + used[1]},
    }


__all__ = ["PolicyGenRequest", "PolicyGenFailed", "extract_policy", "generate_policy", "system_prompt", "tool_lines",
           "write_policy"]
