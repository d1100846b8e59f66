"""Content guards in single-LLM mode, through the official SDKs against the fake LLM server.

Each guarantee is checked in at least two API formats: the fake's request log shows what the
provider received; the SDK's answer shows what the client received."""

from __future__ import annotations

import asyncio
import json

import anthropic
import openai
import pytest

from airlock.sessions.store import store_from_url
from tests.fakes.llm_server import Reply, ToolCall

EVERYTHING = {"content_classifiers": [{"name": "pii_redaction"}, {"name": "toxicity_filter"}],
              "content_blockers": [{"name": "url_blocker"}, {"name": "file_blocker"}]}
PII = {"content_classifiers": [{"name": "pii_redaction"}]}
SEND = {"name": "send_email", "parameters": {"type": "object", "properties": {"to": {"type": "string"}, "body": {"type": "string"}}}}
LOOKUP = {"name": "lookup_customer", "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}
FETCH = {"name": "fetch", "parameters": {"type": "object", "properties": {"url": {"type": "string"}}}}
COMMENT = {"name": "post_comment", "parameters": {"type": "object", "properties": {"text": {"type": "string"}}}}
CUSTOMER = "Customer Jane Okafor, jane.okafor@example.com, SSN 536-22-1234, card 4111 1111 1111 1111."


def headers(features: dict, policy: str | None = None) -> dict[str, str]:
    out = {"X-Features": json.dumps({"agent_arch": "single-llm", **features})}
    if policy:
        out["X-Policy"] = json.dumps({"codes": {"code": policy, "language": "sqrt"}})
    return out


def chat_tools(*tools: dict) -> list[dict]:
    return [{"type": "function", "function": t} for t in tools]


def messages_tools(*tools: dict) -> list[dict]:
    return [{"name": t["name"], "input_schema": t["parameters"]} for t in tools]


def responses_tools(*tools: dict) -> list[dict]:
    return [{"type": "function", **t} for t in tools]


def oai(airlock, extra: dict[str, str]) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{airlock.url}/control/chat/openai/v1", api_key=airlock.keys["single"], max_retries=0,
                         default_headers=extra)


def claude(airlock, extra: dict[str, str]) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=f"{airlock.url}/control/chat/anthropic", api_key="sk-ant-user", max_retries=0,
                               default_headers={"Authorization": f"Bearer {airlock.keys['single']}", "X-Api-Key": "sk-ant-user",
                                                **extra})


def session_state(airlock, session_id: str) -> dict:
    async def read():
        store = store_from_url(airlock.settings.database_url)
        await store.start()
        try:
            return (await store.get_session(session_id)).state
        finally:
            await store.close()

    return asyncio.run(read())


def sent_texts(request) -> str:
    return json.dumps(request.json)


# ------------------------------------------------------------------ PII in tool results
def test_chat_pii_in_a_tool_result_is_redacted_before_the_next_upstream_call(airlock, fake_llm):
    client = oai(airlock, headers(PII))
    fake_llm.push(Reply(tool_calls=[ToolCall("lookup_customer", {"id": "42"})]))
    first = client.chat.completions.with_raw_response.create(model="fake-model", tools=chat_tools(LOOKUP),
                                                             messages=[{"role": "user", "content": "who is 42?"}])
    assistant = first.parse().choices[0].message
    session = first.headers["x-session-id"]
    history = [{"role": "user", "content": "who is 42?"}, assistant.model_dump(exclude_none=True),
               {"role": "tool", "tool_call_id": assistant.tool_calls[0].id, "content": CUSTOMER}]
    fake_llm.push(Reply(text="Done."))
    client.chat.completions.create(model="fake-model", tools=chat_tools(LOOKUP), messages=history)
    upstream = fake_llm.last_request.json["messages"][-1]["content"]
    assert upstream == "Customer <PERSON_1>, <EMAIL_1>, SSN <US_SSN_1>, card <CREDIT_CARD_1>."
    # the client resends the original; the same entities get the same placeholders next time
    fake_llm.push(Reply(text="Still done."))
    client.chat.completions.create(model="fake-model", tools=chat_tools(LOOKUP), messages=[
        *history, {"role": "assistant", "content": "Done."}, {"role": "user", "content": "and again?"}])
    assert fake_llm.last_request.json["messages"][2]["content"] == upstream
    state = session_state(airlock, session)
    assert {"pii", "pii:email", "pii:us_ssn", "pii:credit_card", "pii:person"} <= set(state["session_meta"]["tags"])
    assert "jane.okafor@example.com" not in json.dumps(state)  # the placeholder map holds no entity in clear
    client.close()


def test_messages_pii_in_a_tool_result_is_redacted_and_json_results_keep_their_shape(airlock, fake_llm):
    client = claude(airlock, headers(PII))
    fake_llm.push(Reply(tool_calls=[ToolCall("lookup_customer", {"id": "42"}, id="toolu_1")]))
    message = client.messages.create(model="fake-model", max_tokens=100, tools=messages_tools(LOOKUP),
                                     messages=[{"role": "user", "content": "who is 42?"}])
    block = [b for b in message.content if b.type == "tool_use"][0]
    result = json.dumps({"name": "Jane Okafor", "email": "jane.okafor@example.com", "ssn": "536-22-1234", "vip": True})
    fake_llm.push(Reply(text="Done."))
    client.messages.create(model="fake-model", max_tokens=100, tools=messages_tools(LOOKUP), messages=[
        {"role": "user", "content": "who is 42?"},
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in message.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id, "content": [
            {"type": "text", "text": result},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}]}]},
    ])
    parts = fake_llm.last_request.json["messages"][2]["content"][0]["content"]
    assert json.loads(parts[0]["text"]) == {"name": "<PERSON_1>", "email": "<EMAIL_1>", "ssn": "<US_SSN_1>", "vip": True}
    assert parts[1]["type"] == "text" and "cannot inspect" in parts[1]["text"]  # an image cannot be scanned: removed
    client.close()


def test_responses_function_call_output_is_redacted(airlock, fake_llm):
    client = oai(airlock, headers(EVERYTHING))
    fake_llm.push(Reply(tool_calls=[ToolCall("lookup_customer", {"id": "42"}, id="call_r1")]))
    response = client.responses.create(model="fake-model", input="who is 42?", tools=responses_tools(LOOKUP))
    call = [i for i in response.output if i.type == "function_call"][0]
    fake_llm.push(Reply(text="Done."))
    client.responses.create(model="fake-model", tools=responses_tools(LOOKUP), input=[
        {"role": "user", "content": "who is 42?"},
        {"type": "function_call", "call_id": call.call_id, "name": "lookup_customer", "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id,
         "output": CUSTOMER + " Notes at https://crm.example.com/c/42 and /srv/crm/42.txt"},
    ])
    output = fake_llm.last_request.json["input"][2]["output"]
    assert "jane.okafor" not in output and "536-22-1234" not in output and "crm.example.com" not in output
    assert "<EMAIL_1>" in output and "<URL_1>" in output and "<FILE_PATH_1>" in output
    client.close()


# ------------------------------------------------------------------ tags on arguments, SQRT decides
PII_POLICY = """
tool "send_email" {
    /// Personal data never leaves in an email.
    hard deny when body.tags overlaps {"pii"};
}
"""


def test_chat_a_pii_tagged_argument_is_denied_by_the_policy(airlock, fake_llm):
    client = oai(airlock, headers(PII, PII_POLICY))
    fake_llm.push(Reply(tool_calls=[ToolCall("send_email", {"to": "ops@corp.example", "body": "SSN is 536-22-1234"})]))
    answer = client.chat.completions.create(model="fake-model", tools=chat_tools(SEND), messages=[{"role": "user", "content": "mail"}])
    message = answer.choices[0].message
    assert not message.tool_calls and answer.choices[0].finish_reason == "stop"
    assert "Tool call send_email denied by argument checking policies." in message.content
    assert "'send_email' is denied" in message.content and "Personal data never leaves" in message.content
    # without PII the same call passes, and forwarded arguments are redacted when they do carry PII
    fake_llm.push(Reply(tool_calls=[ToolCall("send_email", {"to": "bob@corp.example.com", "body": "lunch?"})]))
    answer = client.chat.completions.create(model="fake-model", tools=chat_tools(SEND), messages=[{"role": "user", "content": "mail"}])
    args = json.loads(answer.choices[0].message.tool_calls[0].function.arguments)
    assert args == {"to": "<EMAIL_1>", "body": "lunch?"}
    client.close()


def test_messages_streaming_a_pii_tagged_argument_is_denied(airlock, fake_llm):
    client = claude(airlock, headers(PII, PII_POLICY))
    fake_llm.push(Reply(tool_calls=[ToolCall("send_email", {"to": "a@corp.example", "body": "card 4111 1111 1111 1111"})]))
    with client.messages.stream(model="fake-model", max_tokens=100, tools=messages_tools(SEND),
                                messages=[{"role": "user", "content": "mail"}]) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "end_turn" and all(b.type == "text" for b in final.content)
    assert "Tool call send_email denied" in final.content[-1].text
    assert fake_llm.last_request.json.get("stream") is None  # checked whole, then streamed
    client.close()


def test_pii_read_in_a_result_taints_the_session(airlock, fake_llm):
    policy = 'tool "send_email" {\n  /// Nothing is mailed once personal data was read.\n  hard deny when @session.tags overlaps {"pii"};\n}\n'
    client = oai(airlock, headers(PII, policy))
    fake_llm.push(Reply(tool_calls=[ToolCall("lookup_customer", {"id": "42"})]))
    first = client.chat.completions.with_raw_response.create(model="fake-model", tools=chat_tools(LOOKUP, SEND),
                                                             messages=[{"role": "user", "content": "go"}])
    assistant = first.parse().choices[0].message
    fake_llm.push(Reply(tool_calls=[ToolCall("send_email", {"to": "x@corp.example", "body": "hello"})]))
    answer = client.chat.completions.create(model="fake-model", tools=chat_tools(LOOKUP, SEND), messages=[
        {"role": "user", "content": "go"}, assistant.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": assistant.tool_calls[0].id, "content": CUSTOMER}])
    assert not answer.choices[0].message.tool_calls
    assert "once personal data was read" in answer.choices[0].message.content
    client.close()


# ------------------------------------------------------------------ blockers
@pytest.mark.parametrize("url", ["http://evil.example/collect?d=1", "http%3A%2F%2Fevil.example%2Fcollect", "ｈｔｔｐ：／／evil.example"])
def test_chat_a_url_in_an_argument_blocks_the_call(airlock, fake_llm, url):
    client = oai(airlock, headers(EVERYTHING))
    fake_llm.push(Reply(tool_calls=[ToolCall("fetch", {"url": url}), ToolCall("lookup_customer", {"id": "7"})]))
    raw = client.chat.completions.with_raw_response.create(model="fake-model", tools=chat_tools(FETCH, LOOKUP),
                                                           messages=[{"role": "user", "content": "go"}])
    calls = raw.parse().choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["lookup_customer"]  # the blocked sibling is dropped
    history = session_state(airlock, raw.headers["x-session-id"])["policy_check_history"]
    blocked = [h for h in history if h["tool"] == "fetch"][0]
    assert blocked["verdict"] == "hard_denied" and "url_blocker" in blocked["message"]
    assert blocked["fired"][0]["kind"] == "guard"
    client.close()


def test_responses_and_messages_a_url_or_path_blocks_the_call(airlock, fake_llm):
    client = oai(airlock, headers(EVERYTHING))
    fake_llm.push(Reply(tool_calls=[ToolCall("fetch", {"url": "https://attacker.example/x"})]))
    response = client.responses.create(model="fake-model", input="go", tools=responses_tools(FETCH))
    assert not [i for i in response.output if i.type == "function_call"]
    assert "Tool call fetch denied" in response.output_text and "url_blocker: a URL in url" in response.output_text
    client.close()

    client = claude(airlock, headers(EVERYTHING))
    fake_llm.push(Reply(tool_calls=[ToolCall("fetch", {"url": "~/.ssh/id_rsa"}, id="toolu_f")]))
    message = client.messages.create(model="fake-model", max_tokens=100, tools=messages_tools(FETCH),
                                     messages=[{"role": "user", "content": "go"}])
    assert message.stop_reason == "end_turn" and "file_blocker: a file path in url" in message.content[-1].text
    client.close()


def test_streamed_chat_with_blockers_never_shows_the_blocked_call(airlock, fake_llm):
    client = oai(airlock, headers(EVERYTHING))
    fake_llm.push(Reply(tool_calls=[ToolCall("fetch", {"url": "file:///etc/passwd"})]))
    stream = client.chat.completions.create(model="fake-model", tools=chat_tools(FETCH), stream=True,
                                            messages=[{"role": "user", "content": "go"}])
    text, calls = "", []
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            calls += chunk.choices[0].delta.tool_calls or []
    assert not calls and "Tool call fetch denied" in text
    client.close()


# ------------------------------------------------------------------ toxicity
TOXIC_POLICY = 'tool "post_comment" {\n  /// No abuse in public.\n  hard deny when text.tags overlaps {"toxic"};\n}\n'
TOXIC = {"content_classifiers": [{"name": "toxicity_filter", "mode": "normal"}]}


def test_chat_and_messages_a_toxic_argument_is_denied(airlock, fake_llm):
    client = oai(airlock, headers(TOXIC, TOXIC_POLICY))
    fake_llm.push(Reply(tool_calls=[ToolCall("post_comment", {"text": "You are a worthless fucking idiot"})]))
    answer = client.chat.completions.create(model="fake-model", tools=chat_tools(COMMENT), messages=[{"role": "user", "content": "reply"}])
    assert "No abuse in public." in answer.choices[0].message.content
    fake_llm.push(Reply(tool_calls=[ToolCall("post_comment", {"text": "Thanks for the detailed review!"})]))
    answer = client.chat.completions.create(model="fake-model", tools=chat_tools(COMMENT), messages=[{"role": "user", "content": "reply"}])
    assert answer.choices[0].message.tool_calls[0].function.name == "post_comment"
    client.close()

    client = claude(airlock, headers(TOXIC, TOXIC_POLICY))
    fake_llm.push(Reply(tool_calls=[ToolCall("post_comment", {"text": "I know where you live"}, id="toolu_t")]))
    message = client.messages.create(model="fake-model", max_tokens=100, tools=messages_tools(COMMENT),
                                     messages=[{"role": "user", "content": "reply"}])
    assert "Tool call post_comment denied" in message.content[-1].text
    client.close()


# ------------------------------------------------------------------ strict: the LLM classifier
def test_strict_mode_asks_the_session_model_and_counts_its_tokens(airlock, fake_llm):
    client = oai(airlock, headers({"content_classifiers": [{"name": "toxicity_filter", "mode": "strict"}]}, TOXIC_POLICY))

    def classifier(request):
        body = request.json
        if "response_format" in body:  # the classifier's structured-output call
            assert "tools" not in body
            return Reply(text=json.dumps({"scores": {"toxic": 0.97}}), input_tokens=100, output_tokens=7)
        return None

    fake_llm.handler = classifier
    fake_llm.push(Reply(tool_calls=[ToolCall("post_comment", {"text": "people like you should not exist"})],
                        input_tokens=10, output_tokens=5))
    answer = client.chat.completions.create(model="fake-model", tools=chat_tools(COMMENT), messages=[{"role": "user", "content": "reply"}])
    assert "No abuse in public." in answer.choices[0].message.content
    classifier_calls = [r for r in fake_llm.requests if "response_format" in r.json]
    assert len(classifier_calls) == 1 and "<data>" in classifier_calls[0].json["messages"][-1]["content"]
    assert answer.usage.prompt_tokens == 110 and answer.usage.completion_tokens == 12
    client.close()


# ------------------------------------------------------------------ configuration errors
def test_a_bad_mode_is_a_400_in_each_api_shape(airlock, fake_llm):
    bad = headers({"content_classifiers": [{"name": "toxicity_filter", "mode": "paranoid"}]})
    with pytest.raises(openai.BadRequestError) as err:
        oai(airlock, bad).chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "x"}])
    assert "unknown mode 'paranoid'" in str(err.value) and err.value.body["param"] == "X-Features.content_classifiers"
    with pytest.raises(anthropic.BadRequestError) as err:
        claude(airlock, bad).messages.create(model="fake-model", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert err.value.body["type"] == "error" and "unknown mode" in err.value.body["error"]["message"]
    assert fake_llm.requests == []
