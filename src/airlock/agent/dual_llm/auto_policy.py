"""``X-Policy.auto_gen``: the session's policy generated from the request's tools.

The reference: "whether to auto-generate policies based on tool metadata and natural language
descriptions". The tools' names, parameters and descriptions — trusted input, like the user's
query, never tool *results* — go to the policy writer (``prompt.policy_llm``, the PLLM's model)
through the same loop as ``/policy-gen``: what it writes is compiled by our SQRT compiler and
sent back with the errors until it compiles. A policy that still does not compile fails the
turn closed (``policy_generation_failed``) before any program runs: a session that asked for a
generated policy never runs without one.

The policy is stored in the session state with the fingerprint of the tool list it was written
for, so it is generated once per tool set (not per request or per replica), and it is applied
as an additional restrict-only layer (``agent.authority.policy_spec``): it can deny what the
key's and header's own code allow, never allow what they deny.
"""

from __future__ import annotations

import hashlib
from typing import Any

from airlock.agent.authority import planner_code_error
from airlock.agent.conversation import ToolDef
from airlock.agent.wire.params import AUX

from .llms import Llms

N_RETRIES = 2
DESCRIPTION = (
    "Protect the user of an agent that has exactly these tools. From each tool's name, parameters and "
    "description, infer which calls could leak private data, act on the user's behalf in ways that are hard "
    "to undo, or be steered by untrusted data, and write deny rules for those risks."
)


def code_of(state: dict[str, Any]) -> str | None:
    """The session's generated policy, if one was generated."""
    auto = state.get("auto_policy")
    return auto.get("code") if isinstance(auto, dict) else None


def _fingerprint(lines: str) -> str:
    return hashlib.sha256(lines.encode()).hexdigest()[:16]


async def ensure(llms: Llms, config: Any, state: dict[str, Any], tools: list[ToolDef], internal: list[str],
                 thoughts: list[str]) -> dict[str, str] | None:
    """Generate the policy for this tool list unless the session has it; ``None`` on success,
    else the error the turn fails with."""
    from airlock.agent.policy_gen import PolicyGenFailed, system_prompt, tool_lines, write_policy

    lines = tool_lines([{"name": t.name, "description": t.description, "parameters": t.parameters} for t in tools],
                       internal)
    fingerprint = _fingerprint(lines)
    auto = state.get("auto_policy")
    if isinstance(auto, dict) and auto.get("tools") == fingerprint:
        return None
    prompt = config.config.prompt.policy_llm if config.config.prompt is not None else None

    async def ask(system: str, conversation: list[dict[str, Any]]) -> str:
        return await llms.ask(system, conversation, role=AUX)

    try:
        code = await write_policy(ask, system_prompt(getattr(prompt, "flavor", None), getattr(prompt, "version", None)),
                                  lines, DESCRIPTION, N_RETRIES)
    except PolicyGenFailed as exc:
        return {"code": "policy_generation_failed",
                "message": f"X-Policy.auto_gen: the session's policy could not be generated, so nothing ran. {exc}"}
    problem = planner_code_error(code)
    if problem is not None:  # compiles alone but not as a restrict-only layer
        return {"code": "policy_generation_failed",
                "message": f"X-Policy.auto_gen: the generated policy cannot be applied ({problem}), so nothing ran."}
    state["auto_policy"] = {"tools": fingerprint, "code": code}
    thoughts.append("generated the session's policy from its tools (X-Policy.auto_gen)")
    return None
