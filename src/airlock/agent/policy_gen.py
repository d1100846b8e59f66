"""Policy generation: a natural-language description and a tool list in, checked SQRT out.

The model writes a policy; our own compiler is the judge. A policy that does not compile goes
back to the model with the compiler's errors (line, column, what was expected), up to
``n_retries`` more times, so a caller only ever receives SQRT that ``airlock policy check``
accepts. Usage is summed over every attempt.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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

SYSTEM_PROMPT = """You write security policies in SQRT, the policy language of a tool-calling agent gateway.
Answer with exactly one fenced block: ```sqrt ... ```. No prose outside it.

SQRT essentials:
- `let NAME = {"a", "b"};` binds a set. Comments: `// line`, `/* block */`; `/// doc` before a rule describes it.
- A tool block: `tool "name" { ... }` (or `tool r"regex" { ... }`), optionally `tool "name" 10 { ... }` for a priority.
- Check rules inside a tool block: `hard deny when <predicate>;`, `soft allow always;`, `must deny when ...;`
  (`must`/`hard` are hard, `should`/`soft` are soft).
- Predicates: `arg.value in {"x", "y"}`, `arg.value in str matching r"^[a-z]+$"`, `arg.value in int 1..10`,
  `arg.tags overlaps {"pii"}`, `@session.tags overlaps {"untrusted"}`, `not`, `and`, `or`, `is empty`, `subset of`.
- Result updates: `result { @tags |= {"pii"}; }`; session updates: `session after { @tags |= {"sent_email"}; }`.
Only name tools that appear in the tool list. Prefer deny rules for the risks the description names.
"""


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
    lines = []
    for tool in request.tools:
        spec = tool.get("function", tool)  # Chat Completions nests the function; Anthropic/Responses do not
        params = spec.get("parameters") or spec.get("input_schema") or {}
        names = ", ".join((params.get("properties") or {}).keys())
        lines.append(f"- {spec.get('name')}({names}): {spec.get('description', '')}".rstrip(": "))
    lines += [f"- {name} (internal tool)" for name in request.internal_tool_names]
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


async def generate_policy(
    upstream: UpstreamClient, provider: str, request: PolicyGenRequest, api_key: str | None
) -> dict[str, Any]:
    api = ApiFormat.MESSAGES if provider == "anthropic" else ApiFormat.CHAT_COMPLETIONS
    conversation: list[dict[str, Any]] = [
        {"role": "user", "content": f"Tools:\n{_tool_lines(request)}\n\nPolicy wanted:\n{request.description}"}
    ]
    prompt_tokens = completion_tokens = 0
    errors: list[str] = []
    for _attempt in range(request.n_retries + 1):
        if api == ApiFormat.MESSAGES:
            body = {"model": request.model, "max_tokens": 4096, "system": SYSTEM_PROMPT, "messages": conversation}
        else:
            body = {"model": request.model, "messages": [{"role": "system", "content": SYSTEM_PROMPT}, *conversation]}
        answer = (await upstream.request(provider, api, body, api_key=api_key)).json
        used_in, used_out = _usage(api, answer)
        prompt_tokens += used_in
        completion_tokens += used_out
        text = _text(api, answer)
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
        return {
            "policies": policy,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }
    raise PolicyGenFailed(
        f"The model did not produce a valid SQRT policy in {request.n_retries + 1} attempts: " + json.dumps(errors[:5]),
        errors,
    )


__all__ = ["PolicyGenRequest", "PolicyGenFailed", "generate_policy", "extract_policy"]
