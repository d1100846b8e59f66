"""The client side of a scenario: send the query, run the requested tools, post the results,
until the final answer — once per client library (sequrity Chat Completions / Messages /
Responses, plain ``openai``, plain ``anthropic``).

Each driver returns a :class:`Run`: the tool calls the client was asked to make (with their
arguments), the final content parsed as JSON, the session ids seen, and the raw responses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

import anthropic
import openai
from sequrity import SequrityClient

from tests.agent.scenarios.catalog import DUAL_MODEL, Case, run_tool, to_anthropic, to_responses

USER_LLM_KEY = "sk-user-byok"
MAX_ROUNDS = 8


@dataclass
class Run:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    call_ids: list[str] = field(default_factory=list)
    final: dict[str, Any] | None = None
    final_text: str = ""
    finish_reason: str | None = None
    sessions: list[str | None] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)
    messages: list[Any] = field(default_factory=list)

    @property
    def tool_names(self) -> list[str]:
        return [name for name, _ in self.calls]

    @property
    def status(self) -> str | None:
        return (self.final or {}).get("status")

    @property
    def error_message(self) -> str:
        return ((self.final or {}).get("error") or {}).get("message", "")


def _final(run: Run, text: str, reason: str | None) -> Run:
    run.final_text, run.finish_reason = text or "", reason
    try:
        run.final = json.loads(text)
    except (TypeError, ValueError):
        run.final = None
    return run


Tools = dict[str, Callable[..., str]] | None


def _chat_round(run: Run, resp: Any, session: str | None, overrides: Tools) -> bool:
    """Record one Chat Completions answer; run its tool calls. True when it was the final answer."""
    run.responses.append(resp)
    run.sessions.append(session)
    choice = resp.choices[0]
    run.messages.append(choice.message.model_dump(mode="json", exclude_none=True))
    if choice.finish_reason != "tool_calls":
        _final(run, choice.message.content, choice.finish_reason)
        return True
    for tc in choice.message.tool_calls:
        args = json.loads(tc.function.arguments)
        run.calls.append((tc.function.name, args))
        run.call_ids.append(tc.id)
        run.messages.append({"role": "tool", "tool_call_id": tc.id, "content": run_tool(tc.function.name, args, overrides)})
    return False


def sequrity_chat(client: SequrityClient, case: Case, *, messages: list[dict] | None = None,
                  headers_every_time: bool = True, overrides: Tools = None, **kw: Any) -> Run:
    """Chat Completions through ``client.control.chat.create``."""
    run = Run(messages=messages if messages is not None else [{"role": "user", "content": case.query}])
    kw.setdefault("model", DUAL_MODEL)
    kw.setdefault("provider", "openrouter")
    first = True
    for _ in range(MAX_ROUNDS):
        extra = {}
        if first or headers_every_time:
            extra = dict(features=case.features, security_policy=case.policy, fine_grained_config=case.config)
        resp = client.control.chat.create(messages=run.messages, tools=case.tools, **extra, **kw)
        first = False
        if _chat_round(run, resp, resp.session_id, overrides):
            return run
    raise AssertionError(f"no final answer after {MAX_ROUNDS} rounds: {run.messages[-1]}")


def _block_dump(block: Any) -> dict:
    return block.model_dump(mode="json", exclude_none=True) if hasattr(block, "model_dump") else dict(block)


def sequrity_messages(client: SequrityClient, case: Case, *, messages: list[dict] | None = None,
                      overrides: Tools = None, **kw: Any) -> Run:
    """Anthropic Messages through ``client.control.messages.create``."""
    run = Run(messages=messages if messages is not None else [{"role": "user", "content": case.query}])
    kw.setdefault("model", DUAL_MODEL)
    kw.setdefault("provider", "anthropic")
    kw.setdefault("llm_api_key", USER_LLM_KEY)
    for _ in range(MAX_ROUNDS):
        resp = client.control.messages.create(messages=run.messages, max_tokens=1024, tools=to_anthropic(case.tools),
                                              features=case.features, security_policy=case.policy,
                                              fine_grained_config=case.config, **kw)
        run.responses.append(resp)
        run.sessions.append(resp.session_id)
        run.messages.append({"role": "assistant", "content": [_block_dump(b) for b in resp.content]})
        uses = [b for b in resp.content if b.type == "tool_use"]
        if resp.stop_reason != "tool_use":
            return _final(run, "".join(b.text for b in resp.content if b.type == "text"), resp.stop_reason)
        results = []
        for b in uses:
            run.calls.append((b.name, dict(b.input)))
            run.call_ids.append(b.id)
            results.append({"type": "tool_result", "tool_use_id": b.id, "content": run_tool(b.name, dict(b.input), overrides)})
        run.messages.append({"role": "user", "content": results})
    raise AssertionError(f"no final answer after {MAX_ROUNDS} rounds")


def sequrity_responses(client: SequrityClient, case: Case, *, overrides: Tools = None, **kw: Any) -> Run:
    """OpenAI Responses through ``client.control.responses.create``, chained by ``previous_response_id``."""
    run = Run()
    kw.setdefault("model", DUAL_MODEL)
    kw.setdefault("provider", "openai")
    kw.setdefault("llm_api_key", USER_LLM_KEY)
    items: list[dict] = [{"role": "user", "content": case.query}]
    previous = None
    for _ in range(MAX_ROUNDS):
        extra = {"previous_response_id": previous} if previous else {}
        resp = client.control.responses.create(input=items, tools=to_responses(case.tools), features=case.features,
                                               security_policy=case.policy, fine_grained_config=case.config,
                                               **extra, **kw)
        run.responses.append(resp)
        run.sessions.append(resp.session_id)
        previous = resp.id
        calls = [o for o in resp.output if getattr(o, "type", None) == "function_call"]
        if not calls:
            return _final(run, resp.output_text, resp.status)
        items = []
        for c in calls:
            args = json.loads(c.arguments)
            run.calls.append((c.name, args))
            run.call_ids.append(c.call_id)
            items.append({"type": "function_call_output", "call_id": c.call_id, "output": run_tool(c.name, args, overrides)})
    raise AssertionError(f"no final answer after {MAX_ROUNDS} rounds")


def openai_chat(client: openai.OpenAI, case: Case, *, overrides: Tools = None, model: str = DUAL_MODEL) -> Run:
    """Chat Completions with the plain ``openai`` SDK (Sequrity headers as ``extra_headers``)."""
    run = Run(messages=[{"role": "user", "content": case.query}])
    for _ in range(MAX_ROUNDS):
        raw = client.chat.completions.with_raw_response.create(model=model, messages=run.messages, tools=case.tools,
                                                               extra_headers=case.headers())
        resp = raw.parse()
        if _chat_round(run, resp, raw.headers.get("x-session-id"), overrides):
            return run
    raise AssertionError(f"no final answer after {MAX_ROUNDS} rounds")


def anthropic_messages(client: anthropic.Anthropic, case: Case, *, overrides: Tools = None,
                       model: str = DUAL_MODEL) -> Run:
    """Messages with the plain ``anthropic`` SDK (Sequrity headers as ``extra_headers``)."""
    run = Run(messages=[{"role": "user", "content": case.query}])
    for _ in range(MAX_ROUNDS):
        raw = client.messages.with_raw_response.create(model=model, max_tokens=1024, messages=run.messages,
                                                       tools=to_anthropic(case.tools), extra_headers=case.headers())
        resp = raw.parse()
        run.responses.append(resp)
        run.sessions.append(raw.headers.get("x-session-id"))
        run.messages.append({"role": "assistant", "content": [_block_dump(b) for b in resp.content]})
        if resp.stop_reason != "tool_use":
            return _final(run, "".join(b.text for b in resp.content if b.type == "text"), resp.stop_reason)
        results = []
        for b in resp.content:
            if b.type == "tool_use":
                run.calls.append((b.name, dict(b.input)))
                run.call_ids.append(b.id)
                results.append({"type": "tool_result", "tool_use_id": b.id,
                                "content": run_tool(b.name, dict(b.input), overrides)})
        run.messages.append({"role": "user", "content": results})
    raise AssertionError(f"no final answer after {MAX_ROUNDS} rounds")
