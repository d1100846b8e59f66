"""The ``sequrity`` client itself (its line-based SSE reader and response types) reads our renderings."""

from __future__ import annotations

import json

import pytest
from sequrity import SequrityClient

from airlock.agent.wire import render_json, render_sse
from airlock.providers.registry import ApiFormat as Api

from tests.agent.wire.samples import FINAL_TEXT, ID1, LONG_ARGS, THOUGHTS, final, tool_calls

USER = [{"role": "user", "content": "weather?"}]


@pytest.fixture
def control(replay):
    return SequrityClient(api_key="k", base_url=replay.url).control


@pytest.mark.parametrize("thoughts", [False, True])
def test_chat(replay, control, thoughts):
    replay.answer_sse(render_sse(Api.CHAT_COMPLETIONS, tool_calls(thoughts=list(THOUGHTS)), model="m", stream_thoughts=thoughts))
    chunks = list(control.chat.create(messages=USER, model="m", stream=True, llm_api_key="x", provider="openai"))
    args = "".join(tc.function.arguments or "" for c in chunks for ch in c.choices for tc in ch.delta.tool_calls or ())
    reasoning = "".join(ch.delta.reasoning_content or "" for c in chunks for ch in c.choices)
    assert args.startswith(json.dumps(LONG_ARGS, ensure_ascii=False, separators=(",", ":")))
    assert reasoning == ("\n\n".join(THOUGHTS) if thoughts else "")
    assert chunks[-1].usage.total_tokens == 110
    replay.answer_json(render_json(Api.CHAT_COMPLETIONS, final(), model="m"))
    done = control.chat.create(messages=USER, model="m", llm_api_key="x", provider="openai")
    assert done.choices[0].message.content == FINAL_TEXT


@pytest.mark.parametrize("thoughts", [False, True])
def test_messages(replay, control, thoughts):
    replay.answer_sse(render_sse(Api.MESSAGES, tool_calls(thoughts=list(THOUGHTS)), model="m", stream_thoughts=thoughts))
    events = list(control.messages.create(messages=USER, model="m", max_tokens=10, stream=True, llm_api_key="x"))
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    starts = [e.content_block.type for e in events if e.type == "content_block_start"]
    assert starts == (["thinking"] if thoughts else []) + ["tool_use", "tool_use"]
    replay.answer_json(render_json(Api.MESSAGES, tool_calls(), model="m"))
    done = control.messages.create(messages=USER, model="m", max_tokens=10, llm_api_key="x")
    assert done.content[0].id == ID1 and done.stop_reason == "tool_use"


@pytest.mark.parametrize("thoughts", [False, True])
def test_responses(replay, control, thoughts):
    replay.answer_sse(render_sse(Api.RESPONSES, final(thoughts=list(THOUGHTS)), model="m", stream_thoughts=thoughts))
    events = list(control.responses.create(model="m", input="weather?", stream=True, llm_api_key="x"))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    summary = [e.text for e in events if e.type == "response.reasoning_summary_text.done"]
    assert text == FINAL_TEXT and summary == (THOUGHTS if thoughts else []) and events[-1].type == "response.completed"
    replay.answer_json(render_json(Api.RESPONSES, tool_calls(), model="m"))
    done = control.responses.create(model="m", input="weather?", llm_api_key="x")
    assert done.output[0].call_id == ID1
