"""The LLM steps around the program: tool filtering (TLLM), planning (PLLM, optionally several
candidates and a selector), and the review of a finished result (RLLM).

None of these sees tool data except the RLLM, whose verdict reaches the planner only through a
reduced grammar (a category from a fixed list) unless ``reduced_grammar_for_rllm_review`` is
off — the same isolation CaMeL gives the QLLM.
"""

from __future__ import annotations

import ast
import asyncio
import json
import re
from typing import Any

from airlock.agent.conversation import ToolDef

from airlock.agent.wire.params import PLLM

from .llms import Llms
from .prompts import template

_BLOCK = re.compile(r"```(?:python|py)[ \t]*\n(.*?)```", re.S)
REVIEW_CATEGORIES = ("ok", "incomplete", "wrong_value", "wrong_tool", "error", "other")


def extract_program(text: str) -> str | None:
    """The last fenced python block of an answer, or None."""
    blocks = _BLOCK.findall(text or "")
    return blocks[-1].strip("\n") if blocks else None


def _parses(program: str | None) -> bool:
    if program is None:
        return False
    try:
        ast.parse(program)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


async def plan(llms: Llms, config: Any, system: str, turns: list[dict[str, str]], thoughts: list[str]) -> tuple[str, str | None]:
    """One planning step: ``(answer text, program or None)``.

    With ``n_pllm_plans > 1`` the candidates are drafted concurrently (cycling through
    ``pllm_candidate_models`` when the deployment lists any) and a selector call picks one among
    those that parse; a single valid candidate needs no selector.
    """
    n = max(1, int(getattr(config.internals, "n_pllm_plans", 1) or 1))
    if n == 1:
        text = await llms.ask(system, turns, role=PLLM)
        return text, extract_program(text)
    models = list(getattr(config.internals, "pllm_candidate_models", None) or []) or [llms.pllm_model]
    texts = await asyncio.gather(*(llms.ask(system, turns, model=models[i % len(models)], role=PLLM) for i in range(n)))
    programs = [extract_program(t) for t in texts]
    valid = [i for i, p in enumerate(programs) if _parses(p)]
    thoughts.append(f"drafted {n} candidate plans, {len(valid)} valid")
    if len(valid) <= 1:
        i = valid[0] if valid else 0
        return texts[i], programs[i]
    listing = "\n\n".join(f"Candidate {k + 1}:\n```python\n{programs[i]}\n```" for k, i in enumerate(valid))
    query = turns[-1]["content"] if turns else ""
    answer = await llms.ask(template("selector"), [{"role": "user", "content": f"{query}\n\n{listing}\n\nWhich candidate is best?"}])
    m = re.search(r"\d+", answer or "")
    k = int(m.group()) - 1 if m else 0
    choice = valid[k] if 0 <= k < len(valid) else valid[0]
    thoughts.append(f"selected candidate {valid.index(choice) + 1}")
    return texts[choice], programs[choice]


async def filter_tools(llms: Llms, config: Any, query: str, tools: list[ToolDef]) -> list[str]:
    """TLLM: the names of the tools the request may need (all of them when the answer is unusable)."""
    tp = config.config.prompt.tllm
    lines = []
    for t in tools:
        line = f"- {t.name}"
        if tp is None or tp.add_tool_description is not False:
            line += f": {t.description}" if t.description else ""
        if tp is None or tp.add_tool_input_schema is not False:
            line += f"\n  input: {json.dumps(t.parameters)[:500]}"
        lines.append(line)
    schema = {"type": "object", "properties": {"tools": {"type": "array", "items": {"type": "string"}}}, "required": ["tools"]}
    system = template("tllm", getattr(tp, "flavor", None), getattr(tp, "version", None))
    content = f"User request:\n{query}\n\nAvailable tools:\n" + "\n".join(lines)
    names = {t.name for t in tools}
    try:
        value = await llms.ask_json(system, [{"role": "user", "content": content}], json_schema=schema)
    except ValueError:
        return [t.name for t in tools]
    chosen = value.get("tools") if isinstance(value, dict) else value
    picked = [n for n in dict.fromkeys(chosen or []) if isinstance(n, str) and n in names]
    return picked or [t.name for t in tools]


async def review(llms: Llms, config: Any, query: str, program: str, value: Any) -> dict[str, Any]:
    """RLLM: ``{"accept", "category", "reason"}``; an unusable answer counts as acceptance."""
    rp = config.config.prompt.rllm
    level = getattr(rp, "debug_info_level", None) or "normal"
    shown = json.dumps(value, ensure_ascii=False, default=str)
    body = f"User request:\n{query}\n\nResult:\n{shown[:8000]}"
    if level != "minimal":
        body += f"\n\nProgram that produced it:\n```python\n{program}\n```"
    schema = {"type": "object", "properties": {
        "accept": {"type": "boolean"}, "category": {"type": "string", "enum": list(REVIEW_CATEGORIES)},
        "reason": {"type": "string"}}, "required": ["accept"]}
    system = template("rllm", getattr(rp, "flavor", None), getattr(rp, "version", None))
    try:
        verdict = await llms.ask_json(system, [{"role": "user", "content": body}], json_schema=schema)
    except ValueError:
        return {"accept": True, "category": "ok", "reason": ""}
    if not isinstance(verdict, dict):
        return {"accept": True, "category": "ok", "reason": ""}
    category = verdict.get("category") if verdict.get("category") in REVIEW_CATEGORIES else "other"
    return {"accept": verdict.get("accept") is not False, "category": category, "reason": str(verdict.get("reason") or "")[:500]}
