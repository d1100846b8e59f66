"""The lang-graph protocol on the wire, attacked and malformed, over raw HTTP against a live Airlock.

Every bad request must be a 400 in the called API's error shape naming the field — never a 500,
never a run; a program can call only the graph's nodes; what Airlock answers itself (context
variables, server nodes) never reaches the client as a tool call.
"""

from __future__ import annotations

import json

import pytest

from tests.fakes.llm_server import Reply

CHAT = "/control/lang-graph/openai/v1/chat/completions"
MESSAGES = "/control/lang-graph/anthropic/v1/messages"
NODE = {"type": "object", "properties": {"state": {"type": "object"}}, "required": ["state"]}


def chat_tools(*names):
    return [{"type": "function", "function": {"name": n, "description": n, "parameters": NODE}} for n in names]


def body(program, tools=("step",), context=None, api="chat", **extra):
    out = {"model": "gpt-5-mini", "messages": [{"role": "user", "content": "Execute the graph."}],
           "user_provided_program": program, **extra}
    if context is not ...:
        out["context_vars"] = context if context is not None else {
            "initial_state": {"value": {"n": 1}, "meta": {"producers": [], "consumers": ["*"], "tags": []}}}
    if api == "chat":
        out["tools"] = chat_tools(*tools)
    else:
        out["max_tokens"] = 1024
        out["tools"] = [{"name": n, "description": n, "input_schema": NODE} for n in tools]
    return out


@pytest.fixture
def hdrs(airlock):
    return {"Authorization": f"Bearer {airlock.keys['single']}", "X-Api-Key": "sk-user"}


def post(http, hdrs, payload, path=CHAT, **headers):
    return http.post(path, json=payload, headers={**hdrs, **headers})


def assert_400(resp, param_start, api="chat"):
    assert resp.status_code == 400, resp.text
    err = resp.json()
    if api == "chat":
        assert set(err) == {"error"} and err["error"]["param"].startswith(param_start), err
        return err["error"]["message"]
    assert err["type"] == "error" and err["error"]["type"] == "invalid_request_error", err
    return err["error"]["message"]


GOOD = "state = initial_state\nr = step(state=state)\nfinal_return_value = r"


@pytest.mark.parametrize("program, why", [
    ("state = initial_state\nif state:\n", "invalid syntax"),
    ("x = (1,\n", "invalid syntax"),
    ("import os\nfinal_return_value = os.environ", "import"),
    ("final_return_value = initial_state.__class__", "_"),
    (12, "non-empty string"),
    ("   ", "non-empty string"),
    (["state = 1"], "non-empty string"),
])
def test_a_malformed_program_is_a_400(http, hdrs, fake_llm, program, why):
    message = assert_400(post(http, hdrs, body(program)), "user_provided_program")
    assert why in message


@pytest.mark.parametrize("context, param", [
    ("not an object", "context_vars"),
    ({"initial_state": {"n": 1}}, "context_vars.initial_state"),
    ({"initial_state": {"value": 1, "meta": {}, "extra": 2}}, "context_vars.initial_state"),
    ({"initial_state": {"value": 1, "meta": {"tags": "secret"}}}, "context_vars.initial_state.meta.tags"),
    ({"initial_state": {"value": 1, "meta": {"tags": [1]}}}, "context_vars.initial_state.meta.tags"),
    ({"initial_state": {"value": 1, "meta": {"owner": ["x"]}}}, "context_vars.initial_state.meta.owner"),
    ({"initial_state": {"value": 1, "meta": []}}, "context_vars.initial_state.meta"),
    ({"__class__": {"value": 1}}, "context_vars.__class__"),
    ({"len": {"value": 1}}, "context_vars.len"),
    ({"1x": {"value": 1}}, "context_vars.1x"),
])
def test_malformed_context_vars_are_a_400(http, hdrs, fake_llm, context, param):
    assert_400(post(http, hdrs, body(GOOD, context=context)), param)


def test_a_call_to_a_function_that_is_not_a_node_is_a_400_before_any_node_runs(http, hdrs, fake_llm):
    program = "state = initial_state\nstep(state=state)\nfinal_return_value = send_money(to='x', amount=1)"
    message = assert_400(post(http, hdrs, body(program)), "user_provided_program")
    assert "send_money()" in message and "line 3" in message and "step" in message


@pytest.mark.parametrize("call", ["set_policy(code='tool \"step\" { hard deny always; }')", "complete_turn()"])
def test_planner_tools_are_not_nodes(http, hdrs, fake_llm, call):
    message = assert_400(post(http, hdrs, body(f"{call}\nfinal_return_value = 1")), "user_provided_program")
    assert call.split("(")[0] in message


def test_a_non_node_reached_indirectly_still_cannot_run(http, hdrs, fake_llm):
    """Not called by name: the interpreter has no such function, the graph fails (not a 500, not success)."""
    program = "state = initial_state\nf = [send_money][0]\nfinal_return_value = f(to='x')"
    resp = post(http, hdrs, body(program))
    assert resp.status_code == 200
    choice = resp.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and not choice["message"].get("tool_calls")
    content = json.loads(choice["message"]["content"])
    assert content["status"] == "failure" and "NameError" in content["error"]["message"]
    assert "line 2" in content["error"]["message"]  # the client's line numbers, not the loader-shifted ones


def test_a_program_failure_on_messages_stops_for_tool_use_without_blocks(http, hdrs, fake_llm):
    resp = post(http, hdrs, body("final_return_value = initial_state['missing']", api="messages"), path=MESSAGES)
    data = resp.json()
    assert resp.status_code == 200 and data["stop_reason"] == "tool_use"
    assert [b["type"] for b in data["content"]] == ["text"]
    assert json.loads(data["content"][0]["text"])["status"] == "failure"


def test_messages_errors_use_the_anthropic_shape(http, hdrs, fake_llm):
    assert_400(post(http, hdrs, body(5, api="messages"), path=MESSAGES), "", api="messages")


@pytest.mark.parametrize("path", ["/control/chat/openai/v1/chat/completions", "/control/code/v1/chat/completions"])
def test_graph_fields_elsewhere_are_a_400_not_ignored(http, hdrs, fake_llm, path):
    message = assert_400(post(http, hdrs, body(GOOD), path=path), "user_provided_program")
    assert "lang-graph" in message
    assert fake_llm.requests == []  # no planner improvised a program instead


@pytest.mark.parametrize("extra, headers, param", [
    ({"stream": True}, {}, "stream"),
    ({}, {"X-Config": json.dumps({"fsm": {"disable_rllm": False}})}, "X-Config.fsm.disable_rllm"),
    ({}, {"X-Config": json.dumps({"fsm": {"enable_multistep_planning": True}})}, "X-Config.fsm.enable_multistep_planning"),
    ({}, {"X-Config": json.dumps({"fsm": {"retry_on_policy_violation": True}})}, "X-Config.fsm.retry_on_policy_violation"),
    ({}, {"X-Config": json.dumps({"response_format": {"strip_response_content": True}})},
     "X-Config.response_format.strip_response_content"),
])
def test_settings_a_graph_cannot_act_on_are_a_400(http, hdrs, fake_llm, extra, headers, param):
    assert_400(post(http, hdrs, body(GOOD, **extra), **headers), param)


def test_a_tool_named_like_a_context_variable_is_a_400(http, hdrs, fake_llm):
    assert_400(post(http, hdrs, body(GOOD, tools=("step", "initial_state"))), "tools")


def test_the_loader_never_reaches_the_client_and_the_program_may_not_change_mid_run(http, hdrs, fake_llm):
    first = post(http, hdrs, body(GOOD))
    assert first.status_code == 200, first.text
    (call,) = first.json()["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == "step"
    assert json.loads(call["function"]["arguments"]) == {"state": {"n": 1}}
    session = first.headers["X-Session-ID"]
    history = [{"role": "user", "content": "Execute the graph."}, first.json()["choices"][0]["message"],
               {"role": "tool", "tool_call_id": call["id"], "content": json.dumps({"n": 2})}]
    changed = {**body(GOOD.replace("r = step", "r = step(state=state)\nr = step")), "messages": history}
    assert_400(post(http, hdrs, changed, **{"X-Session-ID": session}), "user_provided_program")
    done = post(http, hdrs, {**body(GOOD), "messages": history}, **{"X-Session-ID": session})
    choice = done.json()["choices"][0]
    assert choice["finish_reason"] == "stop", choice
    assert json.loads(choice["message"]["content"])["final_return_value"]["value"] == {"n": 2}


def test_parse_with_ai_runs_on_the_server_as_a_node(http, hdrs, fake_llm):
    """``internal_node_mapping``: the QLLM answers the node; the client never sees the call."""
    fake_llm.push(Reply(text=json.dumps({"summary": "two items"})))
    program = ("state = initial_state\nupdate = parse_with_ai(state=state)\nfor k, v in update.items():\n"
               "    state[k] = v\nfinal_return_value = state")
    context = {"initial_state": {"value": {"text": "apples, pears", "summary": ""}, "meta": {}}}
    resp = post(http, hdrs, body(program, context=context))
    choice = resp.json()["choices"][0]
    assert choice["finish_reason"] == "stop", choice
    value = json.loads(choice["message"]["content"])["final_return_value"]["value"]
    assert value == {"text": "apples, pears", "summary": "two items"}
    (asked,) = fake_llm.requests
    assert "apples, pears" in json.dumps(asked.json)  # the reader saw the state


def test_a_server_node_obeys_the_session_policy(http, hdrs, fake_llm):
    program = "state = initial_state\nfinal_return_value = parse_with_ai(state=state)"
    context = {"initial_state": {"value": {"text": "x"}, "meta": {"tags": ["secret"]}}}
    policy = json.dumps({"codes": {"code": 'tool "parse_with_ai" { hard deny when state.tags overlaps {"secret"}; }'}})
    resp = post(http, hdrs, body(program, context=context), **{"X-Policy": policy})
    content = json.loads(resp.json()["choices"][0]["message"]["content"])
    assert content["status"] == "failure" and "parse_with_ai denied" in content["error"]["message"]
    assert fake_llm.requests == []


@pytest.mark.parametrize("path", ["/control/lang-graph/v1/chat/completions",
                                  "/control/lang-graph/openrouter/v1/chat/completions",
                                  "/control/lang-graph/sequrity_azure/v1/chat/completions"])
def test_every_chat_route_runs_the_graph(http, hdrs, fake_llm, path):
    resp = post(http, hdrs, body(GOOD), path=path)
    assert resp.status_code == 200, resp.text
    (call,) = resp.json()["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == "step" and fake_llm.requests == []


def test_llm_blocked_state_cannot_reach_a_server_node(http, hdrs, fake_llm):
    """The ``enable_llm_blocked_tag`` preset (on by default) holds for parse_with_ai as a node."""
    program = "state = initial_state\nfinal_return_value = parse_with_ai(state=state)"
    context = {"initial_state": {"value": {"text": "x"}, "meta": {"tags": ["__llm_blocked"]}}}
    content = json.loads(post(http, hdrs, body(program, context=context)).json()["choices"][0]["message"]["content"])
    assert content["status"] == "failure" and "parse_with_ai denied" in content["error"]["message"]
    assert fake_llm.requests == []


def test_a_disabled_internal_tool_is_not_a_server_node(http, hdrs, fake_llm):
    program = "state = initial_state\nfinal_return_value = parse_with_ai(state=state)"
    config = json.dumps({"fsm": {"enabled_internal_tools": []}})
    message = assert_400(post(http, hdrs, body(program), **{"X-Config": config}), "user_provided_program")
    assert "parse_with_ai()" in message


def _done(resp):
    choice = resp.json()["choices"][0]
    return choice, (json.loads(choice["message"]["content"]) if choice["message"].get("content") else None)


def test_a_default_deny_policy_needs_to_allow_only_the_graphs_nodes(http, hdrs, fake_llm):
    """Context variables are the program's globals, not a call: a policy that allows exactly the
    graph's nodes runs the graph (a pseudo loader call would have been denied)."""
    policy = {"presets": {"default_allow": False}, "codes": {"code": 'tool "step" { hard allow always; }', "language": "sqrt"}}
    resp = post(http, hdrs, body(GOOD), **{"X-Policy": json.dumps(policy)})
    choice, _ = _done(resp)
    assert resp.status_code == 200 and choice["message"].get("tool_calls"), resp.text
    (call,) = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "step" and json.loads(call["function"]["arguments"]) == {"state": {"n": 1}}


@pytest.mark.parametrize("fsm", [{"wrap_tool_result": True}, {"detect_tool_errors": "regex"},
                                 {"tool_result_transform": "codex"}, {"strict_tool_result_parsing": True}])
def test_tool_result_options_do_not_reshape_the_initial_state(http, hdrs, fake_llm, fsm):
    """The initial state is not a tool result: options that wrap, parse or error-check results
    leave it as the client sent it (its text reads like an error here, on purpose)."""
    context = {"initial_state": {"value": {"log": "Error: traceback (most recent call last)", "n": 1}, "meta": {}}}
    program = "final_return_value = {'n': initial_state['n'], 'log': initial_state['log']}"
    resp = post(http, hdrs, body(program, context=context), **{"X-Config": json.dumps({"fsm": fsm})})
    assert resp.status_code == 200, resp.text
    choice, content = _done(resp)
    assert content["status"] == "success", content
    assert content["final_return_value"]["value"] == {"n": 1, "log": "Error: traceback (most recent call last)"}
