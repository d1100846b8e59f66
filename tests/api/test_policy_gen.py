"""Policy generation through the official client: the model's SQRT is compiled, bad SQRT is retried."""

from __future__ import annotations

import pytest
from sequrity import SequrityClient

from airlock.policy import compile_policy
from tests.fakes.llm_server import Reply

GOOD = '```sqrt\ntool "send_email" {\n  /// no mail to outsiders\n  hard deny when to.value in str matching r".*@evil\\.com";\n}\n```'
TOOLS = [{"type": "function", "function": {"name": "send_email", "description": "Send an email",
                                            "parameters": {"type": "object", "properties": {"to": {"type": "string"}}}}}]


def test_generates_a_compiling_policy_with_usage(airlock, fake_llm):
    fake_llm.push(Reply(text=GOOD, input_tokens=100, output_tokens=40))
    client = SequrityClient(api_key=airlock.keys["single"], base_url=airlock.url, timeout=30)
    response = client.control.policy.generate(
        {"type": "oai_chat_completion", "model": "gpt-5-mini", "description": "Never email evil.com", "tools": TOOLS},
        llm_api_key="sk-user",
    )
    compile_policy(response.policies)
    assert "send_email" in response.policies
    assert response.usage == {"prompt_tokens": 100, "completion_tokens": 40, "total_tokens": 140}
    prompt = fake_llm.last_request.json["messages"]
    assert "send_email(to)" in prompt[-1]["content"] and "Never email evil.com" in prompt[-1]["content"]


def test_invalid_policy_is_sent_back_with_errors_then_fixed(http, auth, fake_llm):
    fake_llm.push(Reply(text="```sqrt\ntool \"send_email\" { hard deny when ; }\n```", input_tokens=10, output_tokens=5),
                  Reply(text=GOOD, input_tokens=20, output_tokens=7))
    response = http.post("/control/policy-gen/openai/v1/generate", headers={**auth, "X-Api-Key": "sk"},
                         json={"model": "m", "description": "no evil mail", "tools": TOOLS})
    assert response.status_code == 200, response.text
    assert response.json()["usage"]["total_tokens"] == 42
    retry = fake_llm.last_request.json["messages"][-1]["content"]
    assert "does not compile" in retry and "line 1" in retry


def test_gives_up_after_n_retries_with_422(http, auth, fake_llm):
    fake_llm.push(*["not a policy at all {{{"] * 2)
    response = http.post("/control/policy-gen/anthropic/v1/generate", headers={**auth, "X-Api-Key": "sk"},
                         json={"type": "anthropic_messages", "model": "m", "description": "x", "n_retries": 1})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "policy_generation_failed"
    assert len(fake_llm.requests) == 2 and fake_llm.last_request.path.endswith("/messages")


@pytest.mark.parametrize("body, param", [({"description": "x"}, "model"), ({"model": "m", "description": "x", "bogus": 1}, "bogus"),
                                         ({"model": "m", "description": "x", "n_retries": -1}, "n_retries")])
def test_bad_requests_name_the_field(http, auth, body, param):
    response = http.post("/control/policy-gen/v1/generate", headers=auth, json=body)
    assert response.status_code == 400 and response.json()["error"]["param"] == param
