"""The ``replay`` provider: an OpenAI-compatible server that answers from a recording.

Each internal LLM request of Airlock starts its system prompt with a role line (``# Airlock
planner (PLLM)``...); the replay server answers each role with its recorded text. It runs on
127.0.0.1 in a thread, so the demo needs no network and no provider key.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

RECORDING = Path(__file__).with_name("recording.json")


def load_answers(path: Path = RECORDING) -> dict[str, str]:
    return {a["role"]: a["text"] for a in json.loads(path.read_text())["answers"]}


def replay_app(answers: dict[str, str]) -> Starlette:
    async def chat(request: Request) -> JSONResponse:
        body: dict[str, Any] = await request.json()
        system = next((m.get("content") or "" for m in body.get("messages", []) if m.get("role") == "system"), "")
        role = system.splitlines()[0] if system else ""
        text = answers.get(role)
        if text is None:
            return JSONResponse({"error": {"message": f"nothing recorded for {role!r}", "type": "invalid_request_error"}},
                                status_code=400)
        prompt_tokens = sum(len(str(m.get("content") or "")) for m in body.get("messages", [])) // 4
        return JSONResponse({
            "id": f"chatcmpl-replay-{time.monotonic_ns()}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "replay"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(text) // 4,
                      "total_tokens": prompt_tokens + len(text) // 4},
        })

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
