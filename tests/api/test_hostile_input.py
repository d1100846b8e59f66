"""No HTTP 500 from input: deep JSON and lone surrogates, from clients, headers, providers and LLMs.

Each was a 500 (issue 10): a 100k-deep JSON body, a deeply nested QLLM answer, a lone
surrogate (``\\ud800``) in a message, in single- and dual-LLM mode. Client input must get a
clear 400 in the caller's API shape; provider and LLM output a 502 or a failure answer, or a
U+FFFD in place of the unencodable character. The official SDKs cannot even send a lone
surrogate (they fail to encode it), so those attacks are raw HTTP, as an attacker's would be.
"""

from __future__ import annotations

import json

import anthropic
import httpx
import openai
import pytest

from tests.agent.dual_llm.conftest import Script, program
from tests.fakes.llm_server import Reply
from tests.live_server import LiveAirlock, upstream_settings

ROUTES = {
    "chat": ("/control/chat/openai/v1/chat/completions", {"messages": [{"role": "user", "content": "CONTENT"}]}),
    "messages": ("/control/chat/anthropic/v1/messages", {"max_tokens": 10, "messages": [{"role": "user", "content": "CONTENT"}]}),
    "responses": ("/control/chat/openai/v1/responses", {"input": [{"role": "user", "content": "CONTENT"}]}),
}
ARCH = {"single": {}, "dual": {"X-Features": json.dumps({"agent_arch": "dual-llm"})}}


def _error(api: str, r: httpx.Response) -> dict:
    body = r.json()
    if api == "messages":
        assert body["type"] == "error"
    return body["error"]


@pytest.fixture(scope="module")
def roomy(fake_llm_server, tmp_path_factory):
    """A server with the default 10 MiB body limit, so a 100k-deep body is not simply too large."""
    db = tmp_path_factory.mktemp("roomy") / "airlock.db"
    live = LiveAirlock(upstream_settings(fake_llm_server.base_url, f"sqlite+aiosqlite:///{db}", allowed_models="*",
                                         openai_api_key="sk-srv", anthropic_api_key="sk-ant-srv",
                                         openrouter_api_key="sk-or-srv"))
    live.add_keys({"k": {"arch": "single-llm"}})
    live.start()
    yield live
    live.stop()


@pytest.mark.parametrize("api", ROUTES)
@pytest.mark.parametrize("arch", ARCH)
def test_a_100k_deep_body_is_a_400_in_the_callers_shape(api, arch, roomy, fake_llm):
    path, body = ROUTES[api]
    raw = json.dumps({"model": "fake-model", **body}).replace('"CONTENT"', "[" * 100_000 + "]" * 100_000)
    r = httpx.post(roomy.url + path, content=raw, timeout=30, headers={
        "Authorization": f"Bearer {roomy.keys['k']}", "Content-Type": "application/json", **ARCH[arch]})
    assert r.status_code == 400, r.text
    err = _error(api, r)
    assert "nested deeper than 100 levels" in err["message"] and err["type"] == "invalid_request_error"
    assert fake_llm.requests == []


def test_a_deep_body_through_the_openai_sdk(airlock, fake_llm):
    deep: list = []
    for _ in range(150):
        deep = [deep]
    client = openai.OpenAI(base_url=f"{airlock.url}/control/chat/openai/v1", api_key=airlock.keys["single"], max_retries=0)
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "x"}],
                                       extra_body={"metadata": {"x": deep}})
    assert "nested deeper than 100 levels" in str(err.value)


@pytest.mark.parametrize("api", ROUTES)
@pytest.mark.parametrize("arch", ARCH)
def test_a_lone_surrogate_in_a_message_is_a_400_naming_where(api, arch, http, auth, fake_llm):
    path, body = ROUTES[api]
    raw = json.dumps({"model": "fake-model", **body}).replace('"CONTENT"', '"hello \\ud800 world"')
    r = http.post(path, content=raw, headers={**auth, "Content-Type": "application/json", **ARCH[arch]})
    assert r.status_code == 400, r.text
    err = _error(api, r)
    assert "lone UTF-16 surrogate" in err["message"] and "content" in err["message"]
    if api != "messages":  # Anthropic's error shape has no param
        assert err["param"].endswith("content")
    assert fake_llm.requests == []


@pytest.mark.parametrize("header, value", [
    ("X-Policy", '{"codes": {"code": "tool \\"x\\" { hard deny when to.value == \\"\\ud800\\"; }"}}'),
    ("X-Config", '{"fsm": ' * 200 + "{}" + "}" * 200),
    ("X-Features", "[" * 5000 + "]" * 5000),
])
def test_hostile_header_json_is_a_400_naming_the_header(header, value, http, auth, fake_llm):
    r = http.post(ROUTES["chat"][0], headers={**auth, header: value},
                  json={"model": "fake-model", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"].startswith(f"{header}: ") and fake_llm.requests == []
    v = http.post("/control/v1/validate-headers", json={header.lower().replace("-", "_"): value})
    assert v.status_code == 200 and v.json()[header.lower().replace("-", "_")]["valid"] is False


def test_a_surrogate_in_validate_headers_input_is_a_400(http):
    r = http.post("/control/v1/validate-headers", content=b'{"x_policy": "\\udc00"}',
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "x_policy" in r.json()["error"]["param"]


def test_a_provider_answer_too_deep_to_read_is_a_502(http, auth, fake_llm):
    fake_llm.push(Reply(body="[" * 100_000 + "]" * 100_000, headers={"content-type": "application/json"}))
    r = http.post(ROUTES["messages"][0], headers=auth,
                  json={"model": "fake-model", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 502 and r.json()["type"] == "error" and "nested deeper" in r.json()["error"]["message"]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_lone_surrogate_from_the_provider_reaches_the_client_as_u_fffd(stream, airlock, fake_llm):
    answer = {"id": "c", "object": "chat.completion", "created": 1, "model": "fake-model", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "half \ud83d emoji"}, "finish_reason": "stop"}]}
    body = json.dumps(answer)  # ensure_ascii: the surrogate travels as the escape \ud83d
    fake_llm.push(Reply(body=body, headers={"content-type": "application/json"}))
    policy = {"X-Policy": json.dumps({"codes": {"code": 'tool "x" { hard deny always; }'}})}  # guarded: whole answers
    client = openai.OpenAI(base_url=f"{airlock.url}/control/chat/openai/v1", api_key=airlock.keys["single"],
                           max_retries=0, default_headers=policy)
    kw = dict(model="fake-model", messages=[{"role": "user", "content": "x"}])
    if stream:
        text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(stream=True, **kw) if c.choices)
    else:
        text = client.chat.completions.create(**kw).choices[0].message.content
    assert text == "half \ufffd emoji"


def test_a_lone_surrogate_in_a_streamed_provider_event_is_relayed_safely(airlock, fake_llm):
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "fake-model",
             "choices": [{"index": 0, "delta": {"content": "a\udfffb"}, "finish_reason": None}]}
    tool = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "fake-model",
            "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                                               "function": {"name": "f", "arguments": "{}"}}]},
                         "finish_reason": None}]}
    sse = "".join(f"data: {json.dumps(e)}\n\n" for e in (chunk, tool)) + "data: [DONE]\n\n"
    fake_llm.push(Reply(body=sse, headers={"content-type": "text/event-stream"}))
    client = openai.OpenAI(base_url=f"{airlock.url}/control/chat/openai/v1", api_key=airlock.keys["single"], max_retries=0)
    chunks = list(client.chat.completions.create(model="fake-model", stream=True, messages=[{"role": "user", "content": "x"}]))
    assert chunks[0].choices[0].delta.content == "a\udfffb"  # relayed as the escape, byte-safe
    assert chunks[1].choices[0].delta.tool_calls[0].id.startswith("tc-")


# ---- dual-LLM: LLM answers and tool data ---------------------------------------------------------

DUAL = {"X-Features": json.dumps({"agent_arch": "dual-llm"}),
        "X-Config": json.dumps({"fsm": {"max_pllm_failed_steps": 1}})}
PARSE = program('''
doc = read_doc(name="a")
final_return_value = parse_with_ai(query="Extract the total: " + doc,
                                   output_schema={"type": "object", "properties": {"total": {"type": "integer"}}})
''')


def _dual_client(airlock) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{airlock.url}/control/chat/openai/v1", api_key=airlock.keys["single"],
                         max_retries=0, default_headers=DUAL)


def _run(client: openai.OpenAI, tool_result: str) -> dict:
    tools = [{"type": "function", "function": {"name": "read_doc", "parameters": {
        "type": "object", "properties": {"name": {"type": "string"}}}}}]
    messages: list = [{"role": "user", "content": "total of doc a"}]
    first = client.chat.completions.create(model="fake-model", tools=tools, messages=messages)
    call = first.choices[0].message.tool_calls[0]
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": tool_result}]
    final = client.chat.completions.create(model="fake-model", tools=tools, messages=messages)
    return json.loads(final.choices[0].message.content)


def test_a_deeply_nested_qllm_answer_is_a_failure_answer(airlock, fake_llm):
    script = Script()
    script.add("pllm", PARSE)
    script.add("qllm", *(["[" * 5000 + "]" * 5000] * 3))
    fake_llm.handler = script
    final = _run(_dual_client(airlock), "total: 3")
    assert final["status"] == "failure" and "parse_with_ai" in json.dumps(final)
    assert len(script.sent["qllm"]) == 3  # each deep answer was an invalid answer, retried


def test_a_qllm_answer_with_a_lone_surrogate_escape_is_repaired(airlock, fake_llm):
    script = Script()
    script.add("pllm", program('doc = read_doc(name="a")\nfinal_return_value = parse_with_ai(query=doc, '
                               'output_schema={"type": "object", "properties": {"name": {"type": "string"}}})'))
    script.add("qllm", '{"name": "Jo\\ud800e"}')
    fake_llm.handler = script
    final = _run(_dual_client(airlock), "name: Joe")
    assert final["status"] == "success" and final["final_return_value"]["value"] == {"name": "Jo\ufffde"}


@pytest.mark.parametrize("result", [
    json.dumps({"total": "\\ud800"}).replace("\\\\", "\\"),  # a tool result whose JSON decodes to a lone surrogate
    "[" * 50_000 + "]" * 50_000,
], ids=["surrogate-json", "deep-json"])
def test_hostile_tool_data_in_dual_mode_is_no_500(result, fake_llm, roomy):
    script = Script()
    script.add("pllm", program('doc = read_doc(name="a")\nfinal_return_value = doc'))
    fake_llm.handler = script
    client = openai.OpenAI(base_url=f"{roomy.url}/control/chat/openai/v1", api_key=roomy.keys["k"],
                           max_retries=0, default_headers=DUAL)
    final = _run(client, result)
    assert final["status"] in ("success", "failure")


def test_anthropic_sdk_gets_a_400_in_its_shape_for_a_deep_body(airlock, fake_llm):
    deep: dict = {}
    for _ in range(200):
        deep = {"d": deep}
    client = anthropic.Anthropic(base_url=f"{airlock.url}/control/chat/anthropic", api_key="sk-ant-user", max_retries=0,
                                 default_headers={"Authorization": f"Bearer {airlock.keys['single']}"})
    with pytest.raises(anthropic.BadRequestError) as err:
        client.messages.create(model="fake-model", max_tokens=5, messages=[{"role": "user", "content": "x"}],
                               metadata={"user_id": "u"}, extra_body={"context": deep})
    assert err.value.body["type"] == "error" and "nested deeper" in err.value.body["error"]["message"]
