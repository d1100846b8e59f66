"""Helpers for live dual-LLM tests: answer the fake LLM by role (the prompts' first-line markers)
and record which role each upstream request served."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.llm_server import FakeRequest, Reply

MARKERS = {
    "# Airlock planner (PLLM)": "pllm",
    "# Airlock quarantined reader (QLLM)": "qllm",
    "# Airlock reviewer (RLLM)": "rllm",
    "# Airlock tool filter (TLLM)": "tllm",
    "# Airlock policy writer (policy LLM)": "policy_llm",
}
DUAL = {"X-Features": json.dumps({"agent_arch": "dual-llm"})}


def system_of(req: FakeRequest) -> str:
    body = req.json or {}
    if isinstance(body.get("system"), str):
        return body["system"]
    if isinstance(body.get("instructions"), str):
        return body["instructions"]
    msgs = body.get("messages") or []
    return msgs[0]["content"] if msgs and msgs[0].get("role") == "system" else ""


class Roles:
    """A fake-LLM handler: ``Roles(pllm=[...], qllm=[...])`` answers each role from its queue."""

    def __init__(self, **answers: list[str]) -> None:
        self.answers = {k: list(v) for k, v in answers.items()}
        self.sent: dict[str, list[dict[str, Any]]] = {}

    def __call__(self, req: FakeRequest) -> Reply:
        role = MARKERS.get(system_of(req).split("\n", 1)[0].strip(), "unknown")
        self.sent.setdefault(role, []).append(req.json)
        queue = self.answers.get(role)
        assert queue, f"no scripted answer left for {role}"
        return Reply(text=queue.pop(0), input_tokens=3, output_tokens=2)


def program(code: str) -> str:
    return f"```python\n{code}\n```"
