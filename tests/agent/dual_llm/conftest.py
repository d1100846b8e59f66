"""Drive ``DualLLMEngine`` against the real fake LLM server, routing by the prompts' role markers.

``Script`` answers each role (PLLM, QLLM, RLLM, TLLM, selector, error detector) from its own
queue (strings or functions of the request) and records what every role was sent, so tests can
assert what the planner saw — and, above all, what it did not see.

``Client`` plays the application: it posts the conversation, runs the tools the engine asks
for, posts the results, and between every request it round-trips ``state`` through
``json.dumps``/``json.loads``, as if the next request landed on another replica.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Callable

import pytest

from airlock.agent.conversation import Conversation, Message, ToolDef
from airlock.agent.dual_llm import DualLLMEngine
from airlock.config import resolve
from airlock.providers import ApiFormat, UpstreamClient
from tests.fakes.llm_server import FakeLLM, FakeRequest, Reply, fake_llm, fake_llm_server  # noqa: F401
from tests.providers.conftest import make_settings

MARKERS = {
    "# Airlock planner (PLLM)": "pllm",
    "# Airlock quarantined reader (QLLM)": "qllm",
    "# Airlock reviewer (RLLM)": "rllm",
    "# Airlock tool filter (TLLM)": "tllm",
    "# Airlock plan selector": "selector",
    "# Airlock tool error detector": "detector",
}
MODEL = "planner-m,reader-m"


def system_of(req: FakeRequest) -> str:
    body = req.json or {}
    if "system" in body:
        return body["system"] if isinstance(body["system"], str) else ""
    if "instructions" in body:
        return body["instructions"] or ""
    msgs = body.get("messages") or []
    return msgs[0]["content"] if msgs and msgs[0].get("role") == "system" else ""


def turns_of(req: FakeRequest) -> list[dict]:
    body = req.json or {}
    msgs = body.get("messages") or body.get("input") or []
    return [m for m in msgs if m.get("role") != "system"]


class Script:
    def __init__(self) -> None:
        self.queues: dict[str, list[Any]] = {role: [] for role in MARKERS.values()}
        self.sent: dict[str, list[FakeRequest]] = {role: [] for role in MARKERS.values()}

    def add(self, role: str, *answers: Any) -> "Script":
        self.queues[role].extend(answers)
        return self

    def __call__(self, req: FakeRequest) -> Reply:
        first = system_of(req).split("\n", 1)[0].strip()
        role = MARKERS.get(first)
        assert role is not None, f"unexpected system prompt: {first!r}"
        self.sent[role].append(req)
        queue = self.queues[role]
        assert queue, f"no scripted answer left for {role}"
        answer = queue.pop(0)
        if callable(answer):
            answer = answer(req)
        return Reply(text=answer, input_tokens=11, output_tokens=7)

    def pllm_text(self, i: int = -1) -> str:
        """Everything the i-th PLLM request contained (system + turns) as one string."""
        req = self.sent["pllm"][i]
        return json.dumps(req.json, ensure_ascii=False)


def program(code: str) -> str:
    return f"Here is the plan.\n```python\n{code.strip()}\n```\n"


def make_config(*, policy: dict | None = None, config: dict | None = None, endpoint: str = "chat", model: str = MODEL):
    return resolve(endpoint, key_base=None, x_features=json.dumps({"agent_arch": "dual-llm"}),
                   x_policy=json.dumps(policy) if policy else None, x_config=json.dumps(config) if config else None,
                   model=model, byok_key=None)


def tool(name: str, *params: str, description: str = "") -> ToolDef:
    props = {p: {"type": "string", "description": f"the {p}"} for p in params}
    return ToolDef(name, description or f"Tool {name}.", {"type": "object", "properties": props, "required": list(params)})


class Client:
    """The application side of the protocol (see module docstring)."""

    def __init__(self, upstream: UpstreamClient, config: Any, tools: list[ToolDef],
                 impl: dict[str, Callable[..., str]] | None = None, api_key: str | None = None) -> None:
        self.engine = DualLLMEngine(upstream)
        self.config = config
        self.tools = tools
        self.impl = impl or {}
        self.api_key = api_key
        self.session_id = str(uuid.uuid4())
        self.state: dict = {}
        self.messages: list[Message] = []
        self.executed: list[tuple[str, dict]] = []
        self.outputs: list[Any] = []

    async def post(self) -> Any:
        state = json.loads(json.dumps(self.state))  # another replica
        conv = Conversation(messages=list(self.messages), tools=self.tools, model=MODEL)
        out = await self.engine.run(conv, self.config, state, session_id=self.session_id, provider="openai",
                                    api=ApiFormat.CHAT_COMPLETIONS, api_key=self.api_key)
        self.state = json.loads(json.dumps(state))
        self.outputs.append(out)
        return out

    async def say(self, text: str, max_rounds: int = 10) -> Any:
        """Send a user message and run tools until the final answer."""
        self.messages.append(Message("user", text))
        out = await self.post()
        rounds = 0
        while not out.is_final:
            rounds += 1
            assert rounds <= max_rounds, "too many tool rounds"
            self.messages.append(Message("assistant", "", tool_calls=[
                {"id": c.id, "name": c.name, "arguments": c.arguments} for c in out.tool_calls]))
            for c in out.tool_calls:
                self.executed.append((c.name, c.arguments))
                result = self.impl[c.name](**c.arguments)
                self.messages.append(Message("tool", result, tool_call_id=c.id, name=c.name))
            out = await self.post()
        self.messages.append(Message("assistant", out.content or ""))
        return out


@pytest.fixture
async def upstream(fake_llm: FakeLLM):  # noqa: F811
    async with UpstreamClient(make_settings(fake_llm)) as client:
        yield client


@pytest.fixture
def script(fake_llm: FakeLLM) -> Script:  # noqa: F811
    s = Script()
    fake_llm.handler = s
    return s
