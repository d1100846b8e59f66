"""The internal tools as the interpreter sees them, by name (a worker rebuilds them from names).

``parse_with_ai`` and ``verify_hypothesis`` are *host* tools — the interpreter suspends and the
engine asks the quarantined LLM. ``set_policy`` (its code is checked here; the engine adds it as
a restrict-only planner layer) and ``complete_turn`` run inside the interpreter.
"""

from __future__ import annotations

from typing import Any

from airlock.interpreter import InternalTool


def _set_policy(code: str) -> Any:
    from airlock.agent.authority import planner_code_error

    problem = planner_code_error(code)
    if problem is not None:
        raise ValueError(problem)
    return None


def _complete_turn() -> Any:
    return None


TOOLS: dict[str, InternalTool] = {
    "parse_with_ai": InternalTool("parse_with_ai", None, ["query", "output_schema"], ["query", "output_schema"], host=True),
    "verify_hypothesis": InternalTool("verify_hypothesis", None, ["hypothesis", "evidence"], ["hypothesis"], host=True),
    "set_policy": InternalTool("set_policy", _set_policy, ["code"], ["code"]),
    "complete_turn": InternalTool("complete_turn", _complete_turn, [], []),
}


def internal_tools(enabled: list[str] | tuple[str, ...]) -> dict[str, InternalTool]:
    return {name: TOOLS[name] for name in enabled if name in TOOLS}
