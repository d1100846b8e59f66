"""Documented fields that used to be accepted and not acted on, through a live server and the
real SDKs: null FSM limits, Responses ``previous_response_id`` chaining (and its cross-key
attack), and the denial detail's ``final_verdict``."""

from __future__ import annotations

import json

import openai
import pytest

from tests.api.dual_roles import DUAL, Roles, program

BYOK = {**DUAL, "X-Api-Key": "sk-user"}
DONE = program('final_return_value = "done"')


def _oai(airlock, key: str = "single", **headers: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=airlock.keys[key], base_url=f"{airlock.url}/control/chat/openai/v1",
                         default_headers={**BYOK, **headers}, max_retries=0)


def _turns(client, n: int) -> list[tuple[str, dict]]:
    """``n`` user turns, each sent with the session id the previous answer gave (as the
    ``sequrity`` SDK does); ``(session id, answer content)`` of each."""
    messages: list[dict] = []
    out = []
    session = None
    for i in range(n):
        messages.append({"role": "user", "content": f"question {i}"})
        raw = client.chat.completions.with_raw_response.create(
            model="fake-model", messages=messages, extra_headers={"X-Session-ID": session} if session else None)
        session = raw.headers["x-session-id"]
        content = raw.parse().choices[0].message.content
        messages.append({"role": "assistant", "content": content})
        out.append((session, json.loads(content)))
    return out


@pytest.mark.parametrize("x_config, same_session", [(None, False), ({"fsm": {"max_n_turns": None}}, True)])
def test_null_max_n_turns_is_unlimited(airlock, fake_llm, x_config, same_session):
    """A default dual-LLM session ends after 5 turns (the sixth request starts a successor
    session); ``max_n_turns: null`` is documented as unlimited: the sixth turn is the same session."""
    fake_llm.handler = Roles(pllm=[DONE] * 6)
    extra = {"X-Config": json.dumps(x_config)} if x_config else {}
    answers = _turns(_oai(airlock, **extra), 6)
    assert all(a["status"] == "success" for _, a in answers)
    assert len({s for s, _ in answers[:5]}) == 1
    assert (answers[5][0] == answers[0][0]) is same_session


def test_null_for_a_limit_without_unlimited_meaning_is_a_400(http, airlock, fake_llm):
    response = http.post("/control/chat/openai/v1/chat/completions",
                         headers={"Authorization": f"Bearer {airlock.keys['single']}", **BYOK,
                                  "X-Config": '{"fsm": {"max_pllm_steps": null}}'},
                         json={"model": "fake-model", "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 400 and response.json()["error"]["param"] == "X-Config.fsm.max_pllm_steps"
    assert fake_llm.requests == []


def test_previous_response_id_alone_finds_the_session_and_only_for_its_key(airlock, fake_llm):
    roles = Roles(pllm=[DONE, DONE])
    fake_llm.handler = roles
    client = _oai(airlock)
    first = client.responses.with_raw_response.create(model="fake-model", input="first question")
    session = first.headers["x-session-id"]
    r1 = first.parse()
    second = client.responses.with_raw_response.create(model="fake-model", input="second question",
                                                       previous_response_id=r1.id)
    assert second.headers["x-session-id"] == session, "previous_response_id must resume the session"
    # The planner of the second turn was shown the first turn: it is the same conversation.
    assert "first question" in json.dumps(roles.sent["pllm"][1])

    # Another key holding the id (leaked, guessed, logged) must not resume, read or extend it.
    with pytest.raises(openai.NotFoundError) as exc:
        _oai(airlock, key="other").responses.create(model="fake-model", input="continue", previous_response_id=r1.id)
    assert "not found" in str(exc.value).lower()
    assert len(roles.sent["pllm"]) == 2, "the other key's request reached no model"

    with pytest.raises(openai.NotFoundError):  # not an id this server gave: no silent fresh session
        client.responses.create(model="fake-model", input="continue", previous_response_id="resp_not_ours")


def test_denial_detail_uses_the_reference_field_names(airlock, fake_llm):
    fake_llm.handler = Roles(pllm=[program('send_email(to="x@evil.com")\nfinal_return_value = "sent"')])
    client = _oai(airlock, **{"X-Policy": json.dumps({"codes": 'tool "send_email" { hard deny always; }'})})
    answer = client.chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": "mail x"}],
        tools=[{"type": "function", "function": {"name": "send_email", "parameters": {
            "type": "object", "properties": {"to": {"type": "string"}}}}}])
    content = json.loads(answer.choices[0].message.content)
    message = content["error"]["message"]
    assert content["status"] == "failure" and "Tool call send_email denied by argument checking policies." in message
    results = message.split("Checking results: ", 1)[1]
    assert results.startswith('{"final_verdict": "hard_denied"'), results[:80]


@pytest.mark.parametrize("stream", [False, True])
def test_single_llm_previous_response_id_finds_the_session_and_reaches_the_provider_as_its_own(airlock, fake_llm, stream):
    """Single-LLM mode forwards the chain to the provider: the client sees our id (naming the
    session), the provider gets back its own; another key's copy of the id is a 404."""
    client = openai.OpenAI(api_key=airlock.keys["single"], base_url=f"{airlock.url}/control/chat/openai/v1",
                           default_headers={"X-Api-Key": "sk-user"}, max_retries=0)
    if stream:
        with client.responses.with_streaming_response.create(model="fake-model", input="first", stream=True) as raw:
            session = raw.headers["x-session-id"]
            ids = {e.response.id for e in raw.parse() if hasattr(e, "response")}
        (rid,) = ids  # every event names the same response id
    else:
        raw = client.responses.with_raw_response.create(model="fake-model", input="first")
        session, rid = raw.headers["x-session-id"], raw.parse().id
    assert rid.startswith("resp_") and "fake" not in rid
    upstream_id = fake_llm.requests[-1].path and f"resp_fake{len(fake_llm.requests)}"
    second = client.responses.with_raw_response.create(model="fake-model", input="second", previous_response_id=rid)
    assert second.headers["x-session-id"] == session
    assert fake_llm.last_request.json["previous_response_id"].startswith("resp_fake")
    assert fake_llm.last_request.json["previous_response_id"] != rid and upstream_id
    sent = len(fake_llm.requests)
    other = openai.OpenAI(api_key=airlock.keys["other"], base_url=f"{airlock.url}/control/chat/openai/v1",
                          default_headers={"X-Api-Key": "sk-user"}, max_retries=0)
    with pytest.raises(openai.NotFoundError):
        other.responses.create(model="fake-model", input="continue", previous_response_id=rid)
    assert len(fake_llm.requests) == sent


def test_single_llm_responses_stream_never_shows_an_upstream_call_id(airlock, fake_llm):
    """A stream repeats a call's id after the event that minted ours (``output_item.done``,
    ``response.completed``); every repetition must carry our id, or the client answers the
    provider's id and its tool result no longer leads to the session."""
    from tests.fakes.llm_server import Reply, ToolCall

    fake_llm.push(Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"})]))
    client = openai.OpenAI(api_key=airlock.keys["single"], base_url=f"{airlock.url}/control/chat/openai/v1",
                           default_headers={"X-Api-Key": "sk-user"}, max_retries=0)
    tools = [{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}]
    with client.responses.with_streaming_response.create(model="fake-model", input="w", stream=True, tools=tools) as raw:
        text = raw.read().decode()
    assert "call_fake" not in text and "resp_fake" not in text
    assert text.count('"call_id":"tc-') >= 3  # added, done, completed
