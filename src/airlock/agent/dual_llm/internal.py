"""Internal tools (``parse_with_ai``, ``verify_hypothesis``, ``set_policy``, ``complete_turn``).

QLLM calls are network I/O, so the LLM-backed tools are *host* tools: the interpreter suspends at
the call like at a client's tool (``Suspended`` with a ``kind="internal"`` call), the engine
asks the QLLM asynchronously and records the answer at the call's index, and the program
resumes. The answer is then part of the plain-JSON record, so every replica replays the same
QLLM output — one replay per QLLM call, the same price as a client tool call.

The QLLM reads untrusted data and has no tools; what it returns is validated against the
requested JSON Schema (retrying with the complaint) before the program sees it.
"""

from __future__ import annotations

import json
from typing import Any

from airlock.agent.authority import planner_code_error
from airlock.agent.wire.params import QLLM
from airlock.interpreter import InternalTool
from airlock.sandbox import internal as sandbox_internal

from .llms import Llms, parse_json
from .prompts import template
from .schema import validate

LLM_TOOLS = ("parse_with_ai", "verify_hypothesis")
QLLM_TRIES = 3


def internal_tools(enabled: list[str]) -> dict[str, InternalTool]:
    """The enabled internal tools as the interpreter sees them (``airlock.sandbox.internal``)."""
    return sandbox_internal.internal_tools(enabled)


async def answer(llms: Llms, tool: str, args: dict[str, Any], config: Any) -> tuple[Any, bool]:
    """Perform an LLM-backed internal call: ``(result, is_error)`` as recorded in the event."""
    qp = getattr(config.config.prompt, "qllm", None)
    system = template("qllm", getattr(qp, "flavor", None), getattr(qp, "version", None))
    if tool == "parse_with_ai":
        return await _structured(llms, system, str(args.get("query", "")), args.get("output_schema"))
    evidence = json.dumps(args.get("evidence"), ensure_ascii=False, default=str)
    query = (f"Hypothesis: {args.get('hypothesis')}\n\nEvidence:\n{evidence}\n\n"
             "Does the evidence support the hypothesis?")
    schema = {"type": "object", "properties": {"verified": {"type": "boolean"}}, "required": ["verified"]}
    value, is_error = await _structured(llms, system, query, schema)
    return (value.get("verified") if not is_error else value), is_error


async def _structured(llms: Llms, system: str, query: str, schema: Any) -> tuple[Any, bool]:
    schema = schema if isinstance(schema, dict) else {}
    wire_schema = schema if schema.get("type") == "object" else None  # providers want an object at the top
    turns = [{"role": "user", "content": f"{query}\n\nAnswer with JSON matching this JSON Schema:\n{json.dumps(schema)}"}]
    problem = "no answer"
    for _ in range(QLLM_TRIES):
        text = await llms.ask(system, turns, model=llms.qllm_model, json_schema=wire_schema, role=QLLM)
        try:
            value = parse_json(text)
        except ValueError as exc:
            problem = f"the answer is not valid JSON ({exc})"
        else:
            errors = validate(value, schema)
            if not errors:
                return value, False
            problem = "the answer does not match the schema: " + "; ".join(errors)
        turns = [*turns, {"role": "assistant", "content": text},
                 {"role": "user", "content": f"Invalid: {problem}. Answer again with JSON only."}]
    return f"parse_with_ai: the quarantined LLM gave no valid answer after {QLLM_TRIES} tries ({problem})", True


async def detect_error(llms: Llms, tool: str, text: str, config: Any) -> bool:
    """``detect_tool_errors: "llm"``: ask the QLLM whether a tool's output reports a failure."""
    ep = getattr(config.config.prompt, "error_detector_llm", None)
    system = template("error_detector", getattr(ep, "flavor", None), getattr(ep, "version", None))
    limit = config.fsm.detect_tool_error_max_result_length
    if limit:
        text = text[:limit]
    schema = {"type": "object", "properties": {"is_error": {"type": "boolean"}}, "required": ["is_error"]}
    try:
        value = await llms.ask_json(system, [{"role": "user", "content": f"Tool: {tool}\nOutput:\n{text}"}],
                                    model=llms.qllm_model, json_schema=schema, role=QLLM)
    except ValueError:
        return False
    return bool(isinstance(value, dict) and value.get("is_error") is True)

