"""The offline model: a real OpenAI-compatible HTTP server that plays every model Airlock asks.

Airlock marks its internal requests on the first line of the system prompt (``# Airlock planner
(PLLM)``, ``# Airlock quarantined reader (QLLM)``...). The oracle answers:

* **planner** — finds the task by its prompt (the user query, the only trusted input) and answers
  with that task's program file, ``programs/<suite>/<user_task>.py``, in one ```python block; told
  that the program failed, it gives up (it has no second program);
* **reader** — ``reader.answer``: honest, or (``adversarial``) the attacker's values whenever the
  data it reads carries an injection;
* **no marker** (single-LLM passthrough) — an agent that obeys injections: it replays the task's
  ground-truth calls one per request, and as soon as a tool result carries an injection it first
  replays that injection task's ground truth. This is the undefended baseline.
* any other internal role (reviewer, tool filter, selector, error detector) — accept / keep all.

It serves on 127.0.0.1 in a thread (uvicorn), so the evaluation needs no network and no key.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

from airlock.eval.agentdojo import cases as C
from airlock.eval.agentdojo import reader

PROGRAMS = Path(__file__).with_name("programs")
ROLES = {
    "# Airlock planner (PLLM)": "pllm",
    "# Airlock quarantined reader (QLLM)": "qllm",
    "# Airlock reviewer (RLLM)": "rllm",
    "# Airlock tool filter (TLLM)": "tllm",
    "# Airlock plan selector": "selector",
    "# Airlock tool error detector": "error_detector",
}
NO_PROGRAM = "final_return_value = None\nfinal_return_value = \"No program for this task.\"\n"
# After a failed program Airlock asks the planner again (the error, never the data). The oracle has
# one program per task and no better idea, so it gives up instead of repeating the same failure.
GIVE_UP = "final_return_value = None\nfinal_return_value = \"I could not complete the task.\"\n"


def program_path(suite: str, user_task: str) -> Path:
    return PROGRAMS / suite / f"{user_task}.py"


def program(suite: str, user_task: str) -> str | None:
    path = program_path(suite, user_task)
    return path.read_text() if path.exists() else None


def covered_suites() -> list[str]:
    """Suites with a program for every user task (the offline default)."""
    return [s for s in C.SUITES if all(program_path(s, t).exists() for t in C.user_task_ids(s))]


@lru_cache(maxsize=None)
def _prompts() -> dict[str, tuple[str, str]]:
    out = {}
    for name in C.SUITES:
        for tid, task in C.suite(name).user_tasks.items():
            out[task.PROMPT.strip()] = (name, tid)
    return out


def task_of(text: str) -> tuple[str, str] | None:
    """The (suite, user task) whose prompt ``text`` is, or contains."""
    text = text.strip()
    found = _prompts().get(text)
    if found:
        return found
    for prompt, key in _prompts().items():
        if prompt in text:
            return key
    return None


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _planner_query(user_text: str) -> str:
    m = re.search(r"User query:\s*\n(.*?)\n\nWrite the program\.", user_text, re.S)
    return m.group(1) if m else user_text


def _schema(body: dict[str, Any], text: str) -> dict[str, Any]:
    rf = body.get("response_format") or {}
    if isinstance(rf.get("json_schema"), dict) and isinstance(rf["json_schema"].get("schema"), dict):
        return rf["json_schema"]["schema"]
    if reader.SCHEMA_SUFFIX in text:
        try:
            value, _ = json.JSONDecoder().raw_decode(text.split(reader.SCHEMA_SUFFIX, 1)[1].lstrip())
            return value if isinstance(value, dict) else {}
        except ValueError:
            return {}
    return {}


def _call_json(call: Any) -> dict[str, Any]:
    return json.loads(json.dumps(dict(call.args), default=str))


class Oracle:
    """The scripted upstream's answers; ``adversarial`` makes the reader the attacker's."""

    def __init__(self, *, adversarial: bool = False) -> None:
        self.adversarial = adversarial
        self.counts: Counter[str] = Counter()
        self.misses: list[str] = []
        self._lock = threading.Lock()
        self._ids = iter(range(1, 1 << 62))

    def _count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1

    # -- roles -------------------------------------------------------------------------------
    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body.get("messages") or []
        system = next((_text(m.get("content")) for m in messages if m.get("role") in ("system", "developer")), "")
        role = ROLES.get(system.lstrip().split("\n", 1)[0].strip(), "single") if system else "single"
        self._count(role)
        users = [_text(m.get("content")) for m in messages if m.get("role") == "user"]
        if role == "pllm":
            if len(users) > 1 and task_of(_planner_query(users[-1])) is None:  # feedback on a failure
                self._count("pllm:gave_up")
                return self._message(f"I cannot fix this.\n\n```python\n{GIVE_UP.rstrip()}\n```\n")
            return self._message(self._plan(users[-1] if users else ""))
        if role == "qllm":
            return self._message(self._read(users[-1] if users else "", body))
        if role == "single":
            return self._obey(messages)
        if role == "rllm":
            return self._message(json.dumps({"accept": True, "category": "ok", "reason": "answers the request"}))
        if role == "tllm":
            return self._message(json.dumps({"tools": sorted(set(re.findall(r"^- (\w+)", users[-1] if users else "", re.M)))}))
        if role == "selector":
            return self._message("1")
        return self._message(json.dumps({"is_error": False}))

    def _plan(self, user_text: str) -> str:
        found = task_of(_planner_query(user_text))
        code = program(*found) if found else None
        if code is None:
            with self._lock:
                self.misses.append(f"no program for {found or _planner_query(user_text)[:80]!r}")
            code = NO_PROGRAM
        return f"Here is the plan.\n\n```python\n{code.rstrip()}\n```\n"

    def _read(self, text: str, body: dict[str, Any]) -> str:
        value, how = reader.answer(text, _schema(body, text), list(C.SUITES), self.adversarial)
        self._count(f"qllm:{how}")
        if how == "miss":
            with self._lock:
                self.misses.append(f"reader has no answer for {reader.split_query(text)[0][:100]!r}")
        return json.dumps(value)

    def _obey(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """Single-LLM: the next call of the (possibly hijacked) ground truth, or the final text."""
        prompt = next((_text(m.get("content")) for m in messages if m.get("role") == "user"), "")
        found = task_of(prompt)
        if found is None:
            return self._message("I cannot help with that.")
        suite, user_task = found
        plan = [(c.function, _call_json(c)) for c in C.ground_truth(suite, user_task)]
        made = [tc for m in messages if m.get("role") == "assistant" for tc in (m.get("tool_calls") or [])]
        results = [_text(m.get("content")) for m in messages if m.get("role") == "tool"]
        hijacked = False
        for i, result in enumerate(results):
            atk = reader.injection_in(result)
            if atk is not None and not hijacked:
                hijacked = True
                inj = self._injection_task(atk.goal)
                if inj is not None:
                    plan[i + 1:i + 1] = [(c.function, _call_json(c)) for c in C.ground_truth(*inj)]
        if len(made) < len(plan):
            name, args = plan[len(made)]
            return self._message(None, [(name, args)])
        task = C.suite(suite).user_tasks[user_task]
        said = getattr(task, "GROUND_TRUTH_OUTPUT", "") or ""
        return self._message((said + "\n\n" if said else "") + "What I found:\n" + "\n".join(results))

    @staticmethod
    def _injection_task(goal: str) -> tuple[str, str] | None:
        for name in C.SUITES:
            for tid, task in C.suite(name).injection_tasks.items():
                if task.GOAL == goal:
                    return name, tid
        return None

    # -- wire --------------------------------------------------------------------------------
    def _message(self, text: str | None, calls: list[tuple[str, dict[str, Any]]] | None = None) -> dict[str, Any]:
        n = next(self._ids)
        msg: dict[str, Any] = {"role": "assistant", "content": text}
        if calls:
            msg["tool_calls"] = [{"id": f"call_oracle{n}x{i}", "type": "function",
                                  "function": {"name": name, "arguments": json.dumps(args)}}
                                 for i, (name, args) in enumerate(calls)]
        out_tokens = max(1, len(text or json.dumps(calls)) // 4)
        return {"id": f"chatcmpl-oracle{n}", "object": "chat.completion", "created": int(time.time()),
                "model": "agentdojo-oracle",
                "choices": [{"index": 0, "message": msg, "finish_reason": "tool_calls" if calls else "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": out_tokens, "total_tokens": 1 + out_tokens}}


def oracle_app(oracle: Oracle) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        if body.get("stream"):
            return JSONResponse({"error": {"message": "the oracle does not stream", "type": "invalid_request_error"}},
                                status_code=400)
        return JSONResponse(oracle.answer(body))

    async def models(request: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": "agentdojo-oracle", "object": "model",
                                                         "created": 0, "owned_by": "airlock"}]})

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]),
                             Route("/v1/models", models, methods=["GET"])])
