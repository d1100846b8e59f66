"""Bad input and upstream failures: each a precise status, in the called API's error shape."""

from __future__ import annotations

import json

import pytest

from tests.fakes.llm_server import Reply

CHAT = "/control/chat/openai/v1/chat/completions"
MESSAGES = "/control/chat/anthropic/v1/messages"
RESPONSES = "/control/chat/openai/v1/responses"
GOOD = {
    CHAT: {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]},
    MESSAGES: {"model": "fake-model", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]},
    RESPONSES: {"model": "fake-model", "input": "hi"},
}


def openai_error(response, status):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def anthropic_error(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error" and set(body["error"]) == {"type", "message"}
    return body["error"]


def error_of(path, response, status):
    return (anthropic_error if path == MESSAGES else openai_error)(response, status)


@pytest.mark.parametrize("path", [CHAT, MESSAGES, RESPONSES])
def test_missing_or_bad_key_is_401(http, airlock, path):
    assert "Authorization" in error_of(path, http.post(path, json=GOOD[path]), 401)["message"]
    bad = {"Authorization": "Bearer alk_not-a-key"}
    assert "Invalid" in error_of(path, http.post(path, json=GOOD[path], headers=bad), 401)["message"]
    revoked = {"Authorization": f"Bearer {airlock.keys['revoked']}"}
    assert "revoked" in error_of(path, http.post(path, json=GOOD[path], headers=revoked), 401)["message"]


@pytest.mark.parametrize("path", [CHAT, MESSAGES, RESPONSES])
def test_malformed_json_is_400(http, auth, path, fake_llm):
    response = http.post(path, content=b'{"model": "fake-model", "messages": [', headers={**auth, "Content-Type": "application/json"})
    assert "not valid JSON" in error_of(path, response, 400)["message"]
    response = http.post(path, content=b"[1, 2]", headers={**auth, "Content-Type": "application/json"})
    assert "must be a JSON object" in error_of(path, response, 400)["message"]
    assert fake_llm.requests == []  # nothing was forwarded


@pytest.mark.parametrize(
    "path, body, param",
    [
        (CHAT, {"messages": [{"role": "user", "content": "x"}]}, "model"),
        (CHAT, {"model": "fake-model"}, "messages"),
        (CHAT, {"model": "fake-model", "messages": [{"role": "wizard", "content": "x"}]}, "messages.0.role"),
        (CHAT, {"model": "fake-model", "messages": []}, "messages"),
        (MESSAGES, {"model": "fake-model", "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
        (MESSAGES, {"model": "fake-model", "max_tokens": 9, "messages": [{"role": "system", "content": "x"}]}, "messages.0.role"),
        (RESPONSES, {"model": "fake-model"}, "input"),
        (RESPONSES, {"model": 7, "input": "x"}, "model"),
    ],
)
def test_invalid_body_names_the_field(http, auth, path, body, param, fake_llm):
    error = error_of(path, http.post(path, json=body, headers=auth), 400)
    assert error["message"].startswith(param), error
    if path != MESSAGES:
        assert error["param"] == param
    assert fake_llm.requests == []


@pytest.mark.parametrize("path", [CHAT, MESSAGES])
def test_invalid_header_json_names_header_and_field(http, auth, path):
    bad_json = http.post(path, json=GOOD[path], headers={**auth, "X-Config": "{not json"})
    assert "X-Config" in error_of(path, bad_json, 400)["message"]
    unknown = http.post(path, json=GOOD[path], headers={**auth, "X-Features": json.dumps({"agent_arch": "single-llm", "turbo": True})})
    message = error_of(path, unknown, 400)["message"]
    assert "X-Features" in message and "turbo" in message
    wrong_type = http.post(path, json=GOOD[path], headers={**auth, "X-Config": json.dumps({"fsm": {"max_n_turns": "many"}})})
    message = error_of(path, wrong_type, 400)["message"]
    assert "X-Config" in message and "fsm.max_n_turns" in message


def test_oversized_body_is_413(http, auth, fake_llm):
    huge = {"model": "fake-model", "messages": [{"role": "user", "content": "x" * (70 * 1024)}]}
    error = openai_error(http.post(CHAT, json=huge, headers=auth), 413)
    assert "limit" in error["message"]
    anthropic_error(http.post(MESSAGES, json={**GOOD[MESSAGES], "system": "y" * (70 * 1024)}, headers=auth), 413)
    assert fake_llm.requests == []


def test_model_outside_allow_list_needs_byok(http, auth, fake_llm):
    body = {**GOOD[CHAT], "model": "some-expensive-model"}
    error = openai_error(http.post(CHAT, json=body, headers=auth), 400)
    assert error["code"] == "model_not_allowed" and "X-Api-Key" in error["message"]
    ok = http.post(CHAT, json=body, headers={**auth, "X-Api-Key": "sk-user-own"})
    assert ok.status_code == 200
    assert fake_llm.last_request.headers["authorization"] == "Bearer sk-user-own"
    assert fake_llm.last_request.json["model"] == "some-expensive-model"


@pytest.mark.parametrize("path", [CHAT, MESSAGES, RESPONSES])
def test_unknown_session_is_404(http, auth, path, fake_llm):
    headers = {**auth, "X-Session-ID": "11111111-2222-4333-8444-555555555555"}
    assert "not found" in error_of(path, http.post(path, json=GOOD[path], headers=headers), 404)["message"]
    malformed = {**auth, "X-Session-ID": "not-a-uuid"}
    assert "X-Session-ID" in error_of(path, http.post(path, json=GOOD[path], headers=malformed), 400)["message"]
    assert fake_llm.requests == []


def test_session_of_another_key_is_404(http, auth, airlock, fake_llm):
    first = http.post(CHAT, json=GOOD[CHAT], headers=auth)
    session = first.headers["X-Session-ID"]
    other = {"Authorization": f"Bearer {airlock.keys['other']}", "X-Session-ID": session}
    openai_error(http.post(CHAT, json=GOOD[CHAT], headers=other), 404)


@pytest.mark.parametrize("path", [CHAT, MESSAGES, RESPONSES])
def test_upstream_5xx_is_502_after_retries(http, auth, path, fake_llm):
    fake_llm.push(*[Reply.fail(500, "boom") for _ in range(3)])
    error = error_of(path, http.post(path, json=GOOD[path], headers=auth), 502)
    assert "500" in error["message"] or "boom" in error["message"]
    assert len(fake_llm.requests) == 3  # first try + 2 retries


@pytest.mark.parametrize("path", [CHAT, MESSAGES])
def test_upstream_5xx_then_success_is_retried(http, auth, path, fake_llm):
    fake_llm.push(Reply.fail(503, "busy"), Reply(text="recovered"))
    response = http.post(path, json=GOOD[path], headers=auth)
    assert response.status_code == 200 and "recovered" in response.text


@pytest.mark.parametrize("path", [CHAT, MESSAGES, RESPONSES])
def test_upstream_timeout_is_504(http, auth, path, fake_llm):
    fake_llm.push(*[Reply(text="late", delay=2.0) for _ in range(3)])
    error = error_of(path, http.post(path, json=GOOD[path], headers=auth), 504)
    assert "timed out" in error["message"].lower() or "timeout" in error["message"].lower()


def test_upstream_4xx_passes_through_with_status(http, auth, fake_llm):
    fake_llm.push(Reply.fail(400, "context too long"))
    error = openai_error(http.post(CHAT, json=GOOD[CHAT], headers=auth), 400)
    assert "context too long" in error["message"]
    fake_llm.push(Reply.fail(429, "slow down"), Reply.fail(429, "slow down"), Reply.fail(429, "slow down"))
    anthropic_error(http.post(MESSAGES, json=GOOD[MESSAGES], headers=auth), 429)


def test_server_keys_never_leak_into_errors(http, auth, fake_llm):
    fake_llm.push(Reply.fail(401, "Incorrect API key provided: sk-server-openai-secret"))
    response = http.post(CHAT, json=GOOD[CHAT], headers=auth)
    assert response.status_code == 401
    assert "sk-server-openai-secret" not in response.text


def test_unexpected_failure_is_a_clean_500_without_details(airlock, http, auth, monkeypatch):
    # A dependency failing in a way nobody planned for (here: the key store raising) must not leak.
    from airlock.api import auth as auth_module

    async def broken(self, key_hash):
        raise RuntimeError("db password is hunter2")

    monkeypatch.setattr(auth_module.Authenticator, "_lookup", broken)
    response = http.post(MESSAGES, json=GOOD[MESSAGES], headers={"Authorization": "Bearer alk_unseen"})
    assert response.status_code == 500
    assert response.json() == {"type": "error", "error": {"type": "api_error", "message": "Internal server error."}}
    assert "hunter2" not in response.text
