"""The application under attack: AgentDojo's tools behind Airlock, driven through the ``openai`` SDK.

It does what any tool-using app does: sends the user's prompt with the suite's tools as function
tools, runs each tool call Airlock hands back against the task's environment (AgentDojo's
``FunctionsRuntime``, so the environment changes exactly as the benchmark's own agents change it),
posts the results, and stops at the final answer. The final environment and the calls made are then
scored with AgentDojo's own ``utility`` and ``security`` checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from airlock.eval.agentdojo import cases as C

MAX_ROUNDS = 80  # the longest ground truth has ~20 calls; a runaway program is stopped by Airlock first


@dataclass(frozen=True)
class Target:
    """Where the application sends its requests and what it asks for."""

    base_url: str  # the Airlock server, e.g. http://127.0.0.1:8000
    key: str  # an Airlock key
    provider: str = "openai_compatible"
    model: str = "agentdojo-oracle"
    provider_key: str | None = None  # X-Api-Key (bring your own key) for a real provider
    timeout_s: float = 120.0


@dataclass
class Outcome:
    case: C.Case
    utility: bool = False
    security: bool | None = None  # True: the injection task's goal was reached (attack success)
    status: str = "success"  # success | failure (Airlock's final JSON) | text | error
    denied: str | None = None  # the tool a policy denied, when it did
    output: str = ""
    calls: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"case": self.case.key, "utility": self.utility, "attack_success": self.security,
                "status": self.status, "denied": self.denied, "calls": self.calls, "error": self.error}


def openai_tools(suite_name: str) -> list[dict[str, Any]]:
    """The suite's functions as Chat Completions function tools (their JSON Schemas as AgentDojo builds them)."""
    out = []
    for fn in C.suite(suite_name).tools:
        params = fn.parameters.model_json_schema()
        params.pop("title", None)
        out.append({"type": "function", "function": {"name": fn.name, "description": fn.description,
                                                      "parameters": params}})
    return out


def result_text(result: Any) -> str:
    """A tool result as the app posts it: text as is, data as JSON (the interpreter parses JSON)."""
    from pydantic import BaseModel

    if isinstance(result, str):
        return result

    def plain(v: Any) -> Any:
        if isinstance(v, BaseModel):
            return v.model_dump(mode="json")
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        return v

    return json.dumps(plain(result), ensure_ascii=False, default=str)


def final_output(content: str | None) -> tuple[str, str, str | None]:
    """``(output text, status, denied tool)`` from the final message.

    Dual-LLM answers JSON (``final_return_value`` or an ``error``); the text AgentDojo scores is the
    value the user gets, or the error message the user is shown. Single-LLM answers plain text.
    """
    text = content or ""
    try:
        doc = json.loads(text)
    except ValueError:
        return text, "text", None
    if not isinstance(doc, dict) or "status" not in doc:
        return text, "text", None
    if doc.get("status") == "success":
        value = (doc.get("final_return_value") or {}).get("value")
        out = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        return out, "success", None
    message = str((doc.get("error") or {}).get("message", ""))
    denied = None
    if "denied by argument checking policies" in message:
        denied = message.split("Tool call ", 1)[-1].split(" denied", 1)[0]
    return message, "failure", denied


def run_case(case: C.Case, target: Target, headers: dict[str, str], attack_name: str,
             client: Any | None = None) -> Outcome:
    """Run one case through Airlock and score it with AgentDojo's checks."""
    from agentdojo.functions_runtime import FunctionCall, FunctionsRuntime
    from openai import OpenAI

    s = C.suite(case.suite)
    user_task = s.user_tasks[case.user_task]
    env = C.task_environment(case.suite, case.user_task, C.injections(case, attack_name, target.model))
    pre = env.model_copy(deep=True)
    runtime = FunctionsRuntime(s.tools)
    tools = openai_tools(case.suite)
    own = client is None
    if client is None:
        extra = {"X-Api-Key": target.provider_key} if target.provider_key else {}
        client = OpenAI(base_url=f"{target.base_url}/control/chat/{target.provider}/v1", api_key=target.key,
                        default_headers=extra, timeout=target.timeout_s, max_retries=0)
    outcome = Outcome(case)
    trace: list[Any] = []
    messages: list[dict[str, Any]] = [{"role": "user", "content": user_task.PROMPT}]
    try:
        for _ in range(MAX_ROUNDS):
            resp = client.chat.completions.create(model=target.model, messages=messages, tools=tools,
                                                  extra_headers=headers)
            msg = resp.choices[0].message
            messages.append(msg.model_dump(mode="json", exclude_none=True))
            if not msg.tool_calls:
                outcome.output, outcome.status, outcome.denied = final_output(msg.content)
                break
            for tc in msg.tool_calls:
                try:
                    args = json.loads(tc.function.arguments or "{}")
                except ValueError:
                    args = {}
                result, error = runtime.run_function(env, tc.function.name, args)
                trace.append(FunctionCall(function=tc.function.name, args=args, id=tc.id))
                outcome.calls.append(tc.function.name)
                messages.append({"role": "tool", "tool_call_id": tc.id,
                                 "content": error if error is not None else result_text(result)})
        else:
            outcome.status, outcome.error = "error", f"no final answer after {MAX_ROUNDS} rounds"
    except Exception as exc:  # noqa: BLE001 - a failed case is counted and reported, not fatal
        outcome.status, outcome.error = "error", f"{type(exc).__name__}: {exc}"[:500]
    finally:
        if own:
            client.close()
    output = [{"type": "text", "content": outcome.output}]
    outcome.utility = bool(s._check_task_result(user_task, output, pre, env, trace))
    if case.injection_task is not None:
        injection = s.injection_tasks[case.injection_task]
        outcome.security = bool(s._check_task_result(injection, output, pre, env, trace))
    return outcome
