"""The checked-history memo (``api.history``) must be invisible: a body gets the same answer —
the same 400 with the same ``param``, or the same parsed conversation — whether or not an
earlier request of its session passed the checks with a prefix of its messages.

The attack this closes is a client that edits an old message after it was accepted (a type
changed in place, ``1`` for ``true``, a role renamed) hoping the server trusts what it checked
before: the edit must be seen exactly as in a fresh request.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airlock.agent.wire import WireError, parse_conversation
from airlock.api.control import check_body
from airlock.api.errors import ApiError
from airlock.api.history import NOTHING_KNOWN, HistoryMemo
from airlock.providers.registry import ApiFormat as Api
from tests.api.dual_roles import DUAL, Roles, program

CHAT, MESSAGES = Api.CHAT_COMPLETIONS, Api.MESSAGES


def answer(memo: HistoryMemo | None, api: Api, body: dict, key: str = "k", sid: str | None = "s"):
    """What the API layer and the dual-LLM parse make of ``body``, through the memo or fresh."""
    known = memo.recall(key, sid, api, body) if memo is not None else NOTHING_KNOWN
    try:
        check_body(SimpleNamespace(api=api), body, known.count)
    except ApiError as exc:
        return ("400", exc.status, str(exc), exc.param)
    if memo is not None:
        memo.keep(known)
    try:
        conv = parse_conversation(api, body, known if memo is not None else None)
    except WireError as exc:
        return ("wire", str(exc), exc.param)
    return ("ok", [(m.role, m.content, m.tool_calls, m.tool_call_id, m.name, m.is_error) for m in conv.messages])


def chat_turn(i: int) -> list[dict]:
    cid = f"tc-{i}"
    return [{"role": "assistant", "content": None, "tool_calls": [
                {"id": cid, "type": "function", "function": {"name": "fetch", "arguments": json.dumps({"i": i})}}]},
            {"role": "tool", "tool_call_id": cid, "content": f"result {i}"}]


def messages_turn(i: int) -> list[dict]:
    cid = f"tu-{i}"
    return [{"role": "assistant", "content": [{"type": "text", "text": "calling"},
                                              {"type": "tool_use", "id": cid, "name": "fetch", "input": {"i": i}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": cid, "content": f"r{i}",
                                          "is_error": i % 2 == 0}, {"type": "text", "text": "more"}]}]


def body_of(api: Api, messages: list[dict]) -> dict:
    if api is CHAT:
        return {"model": "m", "messages": messages}
    return {"model": "m", "max_tokens": 10, "system": "be brief", "messages": messages}


# Edits of an old message that change its meaning or validity, including ones Python's ``==``
# cannot see (1 == 1.0 == True): each must be judged as in a fresh request.
EDITS = [
    lambda m: {**m, "role": "function"},
    lambda m: {**m, "role": 7},
    lambda m: {**m, "content": 1},
    lambda m: {**m, "content": [{"type": "image_url", "image_url": {"url": "x"}}]},
    lambda m: {**m, "content": [{"type": "tool_result", "tool_use_id": "tu-0", "content": "r", "is_error": 1}]},
    lambda m: {**m, "content": [{"type": "tool_result", "tool_use_id": "tu-0", "content": "r", "is_error": True}]},
    lambda m: {**m, "tool_calls": [{"id": "tc-0", "type": "function", "function": {"name": "fetch", "arguments": "{"}}]},
    lambda m: {**m, "tool_calls": [{"id": 1, "type": "function", "function": {"name": "fetch", "arguments": "{}"}}]},
    lambda m: {**m, "nested": json.loads("[" * 120 + "]" * 120)},
    lambda m: {**m, "content": "\ud800"},
    lambda m: {**m, "content": 2**70},
    lambda m: dict(reversed(list(m.items()))),
]

steps = st.lists(st.one_of(st.tuples(st.just("grow"), st.integers(1, 3)),
                           st.tuples(st.just("edit"), st.integers(0, 40), st.integers(0, len(EDITS) - 1)),
                           st.tuples(st.just("repost"), st.just(0)),
                           st.tuples(st.just("undo"), st.just(0))), min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(api=st.sampled_from([CHAT, MESSAGES]), script=steps)
def test_the_memo_answers_every_body_as_a_fresh_request_would(api, script):
    memo = HistoryMemo(budget_mb=1)
    turn = chat_turn if api is CHAT else messages_turn
    history = [{"role": "user", "content": "start"}]
    previous = list(history)
    n = 0
    for step in script:
        if step[0] == "grow":
            previous = list(history)
            for _ in range(step[1]):
                history += turn(n)
                n += 1
        elif step[0] == "edit":
            previous = list(history)
            i = step[1] % len(history)
            history = history[:i] + [EDITS[step[2]](history[i])] + history[i + 1:]
        elif step[0] == "undo":
            history = list(previous)
        body = body_of(api, json.loads(json.dumps(history)))  # a new body, as every request is
        assert answer(memo, api, body) == answer(None, api, body), step


def test_a_prefix_is_known_only_to_the_key_and_session_that_posted_it():
    memo = HistoryMemo(budget_mb=1)
    first = body_of(CHAT, [{"role": "user", "content": "q"}, *chat_turn(0)])
    memo.keep(memo.recall("k", "s", CHAT, first))
    later = body_of(CHAT, first["messages"] + chat_turn(1))
    assert memo.recall("k", "s", CHAT, later).count == 3
    assert memo.recall("other-key", "s", CHAT, later).count == 0
    assert memo.recall("k", "other-session", CHAT, later).count == 0
    assert memo.recall("k", "s", Api.RESPONSES, {"model": "m", "input": later["messages"]}).count == 0


def test_values_equal_to_python_but_not_to_json_are_not_known():
    memo = HistoryMemo(budget_mb=1)
    for old, new in [(1, 1.0), (1, True), (0, False), ({"a": 1, "b": 2}, {"b": 2, "a": 1})]:
        memo.keep(memo.recall("k", "s", CHAT, {"messages": [{"role": "user", "content": old}, {"role": "user"}]}))
        assert memo.recall("k", "s", CHAT, {"messages": [{"role": "user", "content": new}, {"role": "user"},
                                                         {"role": "user"}]}).count == 0


def test_a_number_that_only_starts_like_the_known_one_is_not_known():
    memo = HistoryMemo(budget_mb=1)
    memo.keep(memo.recall("k", "s", CHAT, {"messages": [1]}))
    assert memo.recall("k", "s", CHAT, {"messages": [12, 3]}).count == 0
    assert memo.recall("k", "s", CHAT, {"messages": [1, 3]}).count == 1


def test_the_memo_holds_at_most_its_budget():
    memo = HistoryMemo(budget_mb=0.05)  # 52 KB: four bytes held per byte of history
    text = "x" * 1000
    for s in range(200):
        memo.keep(memo.recall("k", f"s{s}", CHAT, {"messages": [{"role": "user", "content": text}] * 3}))
    assert memo._weight <= memo.budget and 0 < len(memo) <= 17
    assert HistoryMemo(budget_mb=0).recall("k", "s", CHAT, {"messages": [{"role": "user"}, {}]}) is NOTHING_KNOWN


# -- through a live server and the official SDK ---------------------------------------------------

LOOP = program('prev = "a"\nfor i in range(3):\n    prev = fetch(i=i, after=prev)\nfinal_return_value = prev')
TOOLS = [{"type": "function", "function": {"name": "fetch", "parameters": {
    "type": "object", "properties": {"i": {"type": "integer"}, "after": {"type": "string"}}}}}]


def test_an_old_message_edited_mid_session_is_refused_as_a_fresh_request_is(airlock, fake_llm):
    """A session resumed twice with the memo warm; then the client changes an accepted tool
    result's content to a number, and renames an accepted assistant message's role: both are the
    400 a fresh request gets, naming the edited message; the honest history then still resumes."""
    fake_llm.handler = Roles(pllm=[LOOP])
    client = openai.OpenAI(api_key=airlock.keys["single"], base_url=f"{airlock.url}/control/chat/openai/v1",
                           default_headers={**DUAL, "X-Config": json.dumps({"fsm": {"disable_rllm": True}})},
                           max_retries=0)
    messages: list[dict] = [{"role": "user", "content": "walk"}]
    headers: dict[str, str] = {}
    for step in range(2):
        raw = client.chat.completions.with_raw_response.create(model="fake-model", messages=messages, tools=TOOLS,
                                                                extra_headers=headers)
        headers = {"X-Session-ID": raw.headers["x-session-id"]}
        call = raw.parse().choices[0].message.tool_calls[0]
        messages += [{"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
                     {"role": "tool", "tool_call_id": call.id, "content": f"r{step}"}]
    for i, edited, param in [(2, {**messages[2], "content": 5}, "messages.2.content"),
                             (1, {**messages[1], "role": "function"}, "messages.1.role")]:
        tampered = messages[:i] + [edited] + messages[i + 1:]
        with pytest.raises(openai.BadRequestError) as err:
            client.chat.completions.create(model="fake-model", messages=tampered, tools=TOOLS, extra_headers=headers)
        assert err.value.body["param"] == param, err.value.body
    done = client.chat.completions.create(model="fake-model", messages=messages, tools=TOOLS, extra_headers=headers)
    call = done.choices[0].message.tool_calls[0]
    assert json.loads(call.function.arguments) == {"i": 2, "after": "r1"}
