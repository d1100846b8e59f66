"""Real ``langgraph`` StateGraphs through a live Airlock with the real ``sequrity`` runner.

Each graph is run twice: directly (``graph.compile().invoke``) and through
``client.control.langgraph.run``, where Airlock runs the client's compiled program and sends
every node back as a tool call. The final states must be equal — and since each node computes
from the ``state`` argument Airlock sends it, equality means Airlock passed every node the state
LangGraph itself would have. Nodes log what they were called with, so the tests also see which
nodes ran on the client and in what order.
"""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from sequrity import SequrityClient
from sequrity.control import FeaturesHeader, FineGrainedConfigHeader, FsmOverrides, SecurityPolicyHeader
from sequrity.control.resources.langgraph._executor import LangGraphExecutor
from sequrity.control.resources.langgraph._runner import _run_chat_completions_loop
from sequrity.control.types.dual_llm_response import MetaData, ValueWithMeta

PROVIDERS = ["openai", "openrouter", "sequrity_azure", "anthropic"]  # Chat ×3, Messages


class Mail(TypedDict):
    query: str
    result: str


class Sql(TypedDict):
    query: str
    tables: str
    sql_query: str
    result: str
    needs_validation: bool
    trail: Annotated[list, operator.add]


class Counter(TypedDict):
    n: int
    log: str


@pytest.fixture
def calls():
    return []


@pytest.fixture
def client(airlock):
    return SequrityClient(api_key=airlock.keys["single"], base_url=airlock.url, timeout=30)


def run(client, graph, state, nodes, provider="openai", policy=None, meta=None, **kw):
    return client.control.langgraph.run(
        graph=graph, initial_state=dict(state), model="gpt-5-mini", llm_api_key="sk-user", provider=provider,
        node_functions=nodes, features=FeaturesHeader.dual_llm(),
        security_policy=SecurityPolicyHeader.dual_llm(codes=policy) if policy else SecurityPolicyHeader.dual_llm(),
        fine_grained_config=FineGrainedConfigHeader(fsm=FsmOverrides(max_n_turns=10, disable_rllm=True)),
        initial_state_meta=meta, max_exec_steps=30, **kw)


def mail_graph(calls):
    def read_file(state: Mail) -> dict:
        """Read the document."""
        calls.append(("read_file", dict(state)))
        return {"result": f"contents for {state['query']!r}"}

    def send_email(state: Mail) -> dict:
        """Send the result by e-mail."""
        calls.append(("send_email", dict(state)))
        return {"result": f"sent: {state['result']}"}

    nodes = {"read_file": read_file, "send_email": send_email}
    return chain(Mail, nodes), nodes


def chain(state_type, nodes):
    """A linear graph START → each node in order → END."""
    g = StateGraph(state_type)
    for name, fn in nodes.items():
        g.add_node(name, fn)
    names = [START, *nodes, END]
    for a, b in zip(names, names[1:]):
        g.add_edge(a, b)
    return g


def sql_graph(calls):
    def list_tables(state: Sql) -> dict:
        calls.append(("list_tables", dict(state)))
        return {"tables": "users, orders", "trail": ["list_tables"]}

    def generate_query(state: Sql) -> dict:
        calls.append(("generate_query", dict(state)))
        sql = f"SELECT * FROM {state['tables'].split(',')[0]} WHERE note = '{state['query']}'"
        return {"sql_query": sql, "needs_validation": len(sql) > 50, "trail": ["generate_query"]}

    def validate_query(state: Sql) -> dict:
        calls.append(("validate_query", dict(state)))
        return {"sql_query": state["sql_query"] + " LIMIT 100", "needs_validation": False, "trail": ["validate_query"]}

    def execute_query(state: Sql) -> dict:
        calls.append(("execute_query", dict(state)))
        return {"result": f"ran {state['sql_query']}", "trail": ["execute_query"]}

    def route_validation(state: Sql) -> str:
        calls.append(("route_validation", dict(state)))
        return "validate_query" if state["needs_validation"] else "execute_query"

    g = StateGraph(Sql)
    for f in (list_tables, generate_query, validate_query, execute_query):
        g.add_node(f.__name__, f)
    g.add_edge(START, "list_tables")
    g.add_edge("list_tables", "generate_query")
    g.add_conditional_edges("generate_query", route_validation,
                            {"validate_query": "validate_query", "execute_query": "execute_query"})
    g.add_edge("validate_query", "execute_query")
    g.add_edge("execute_query", END)
    nodes = {f.__name__: f for f in (list_tables, generate_query, validate_query, execute_query, route_validation)}
    return g, nodes


def sql_state(query: str) -> dict:
    return {"query": query, "tables": "", "sql_query": "", "result": "", "needs_validation": False, "trail": []}


def names(calls):
    return [n for n, _ in calls]


# -- same final state as LangGraph -----------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_linear_graph_reaches_langgraphs_final_state(client, fake_llm, calls, provider):
    graph, nodes = mail_graph(calls)
    state = {"query": "Q3 report", "result": ""}
    direct = graph.compile().invoke(dict(state))
    calls.clear()
    assert run(client, graph, state, nodes, provider) == direct == {"query": "Q3 report", "result": "sent: contents for 'Q3 report'"}
    assert names(calls) == ["read_file", "send_email"]
    assert calls[1][1]["result"] == "contents for 'Q3 report'"  # Airlock passed the updated state on
    assert fake_llm.requests == []  # the graph is the program: no model was asked anything


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("query, route", [("x", "execute_query"), ("a long enough note to need a check", "validate_query")])
def test_conditional_routing_takes_langgraphs_branch(client, fake_llm, calls, provider, query, route):
    graph, nodes = sql_graph(calls)
    direct = graph.compile().invoke(sql_state(query))
    calls.clear()
    through = run(client, graph, sql_state(query), nodes, provider)
    assert through == direct
    expected = ["list_tables", "generate_query", "route_validation"] + (["validate_query"] if route == "validate_query" else []) + ["execute_query"]
    assert names(calls) == expected
    assert through["trail"] == [n for n in expected if n != "route_validation"]


def counter_graph(calls):
    def inc(state: Counter) -> dict:
        calls.append(("inc", dict(state)))
        return {"n": state["n"] + 1, "log": state["log"] + "i"}

    def route(state: Counter) -> str:
        calls.append(("route", dict(state)))
        return "inc" if state["n"] < 3 else "done"

    def done(state: Counter) -> dict:
        calls.append(("done", dict(state)))
        return {"log": state["log"] + "d"}

    g = StateGraph(Counter)
    g.add_node("inc", inc)
    g.add_node("done", done)
    g.add_edge(START, "inc")
    g.add_conditional_edges("inc", route, {"inc": "inc", "done": "done"})
    g.add_edge("done", END)
    return g, {"inc": inc, "done": done, "route": route}


# The same graph as a loop: what a loop-aware compiler would emit (sequrity 0.4.2's does not, see below).
LOOP_PROGRAM = """state = initial_state
next_node = "inc"
while next_node == "inc":
    for key, value in inc(state=state).items():
        state[key] = value
    next_node = route(state=state)
for key, value in done(state=state).items():
    state[key] = value
final_return_value = state
"""


def test_loop_reaches_langgraphs_final_state(client, airlock, fake_llm, calls):
    graph, nodes = counter_graph(calls)
    direct = graph.compile().invoke({"n": 0, "log": ""})
    calls.clear()
    executor = LangGraphExecutor(graph=graph, node_functions=nodes)
    executor.generated_code = LOOP_PROGRAM
    transport = client.control._transport
    from sequrity.control._constants import build_sequrity_headers

    def headers(session_id=None):
        return build_sequrity_headers(api_key=airlock.keys["single"], llm_api_key="sk-user", session_id=session_id,
                                      features=FeaturesHeader.dual_llm().dump_for_headers(mode="json_str"))

    state = {"n": 0, "log": ""}
    final = _run_chat_completions_loop(
        transport, executor, url=f"{airlock.url}/control/lang-graph/openai/v1/chat/completions", model="gpt-5-mini",
        tools=executor.build_tool_definitions(), current_state=dict(state),
        messages=[{"role": "user", "content": "Execute the graph."}],
        context_vars={"initial_state": ValueWithMeta(value=state, meta=MetaData(producers=set(), consumers={"*"}, tags=set()))},
        max_exec_steps=20, timeout=30, build_headers=headers, session_id=None)
    assert final == direct == {"n": 3, "log": "iiid"}
    assert names(calls) == ["inc", "route", "inc", "route", "inc", "route", "done"]


def test_a_loop_the_client_cannot_compile_is_a_400_not_a_success(client, fake_llm, calls):
    """sequrity 0.4.2 compiles an edge back to a visited node into an empty ``elif`` block."""
    from sequrity._exceptions import SequrityAPIError

    graph, nodes = counter_graph(calls)
    with pytest.raises(SequrityAPIError) as info:
        run(client, graph, {"n": 0, "log": ""}, nodes)
    assert info.value.status_code == 400
    assert "user_provided_program" in str(info.value) and "loop" in str(info.value)
    assert calls == []


# -- policies on nodes -------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_denied_node_stops_the_graph_with_the_documented_error(client, fake_llm, calls, provider):
    graph, nodes = mail_graph(calls)
    with pytest.raises(RuntimeError) as info:
        run(client, graph, {"query": "Q3", "result": ""}, nodes, provider, policy='tool "send_email" { hard deny always; }')
    if provider == "openai":  # the Chat runner puts the error in its message
        assert "Graph execution failed" in str(info.value)
        assert "Tool call send_email denied by argument checking policies." in str(info.value)
    else:
        assert "stop_reason was 'tool_use'" in str(info.value)
    assert names(calls) == ["read_file"]  # send_email never reached the client


def test_initial_state_tags_reach_node_arguments(client, fake_llm, calls):
    """A tag on the initial state is on every node's ``state`` argument — also after a node's
    result was merged into the state — so a policy on that argument sees it."""
    graph, nodes = mail_graph(calls)
    policy = 'tool "send_email" { hard deny when state.tags overlaps {"confidential"}; }'
    secret = MetaData(producers={"hr"}, consumers={"*"}, tags={"confidential"})
    with pytest.raises(RuntimeError, match="send_email denied"):
        run(client, graph, {"query": "salaries", "result": ""}, nodes, policy=policy, meta=secret)
    assert names(calls) == ["read_file"]
    calls.clear()
    plain = run(client, graph, {"query": "menu", "result": ""}, nodes, policy=policy)
    assert plain["result"] == "sent: contents for 'menu'" and names(calls) == ["read_file", "send_email"]


def test_a_policy_on_the_first_node_sees_the_initial_state_tags(client, fake_llm, calls):
    graph, nodes = mail_graph(calls)
    policy = 'tool "read_file" { hard deny when state.tags overlaps {"pii"}; }'
    with pytest.raises(RuntimeError, match="read_file denied"):
        run(client, graph, {"query": "q", "result": ""}, nodes, policy=policy,
            meta=MetaData(producers=set(), consumers={"*"}, tags={"pii"}))
    assert calls == []


class Doc(TypedDict):
    text: str
    summary: str
    result: str


def test_a_node_mapped_to_parse_with_ai_runs_on_the_server(client, fake_llm, calls):
    """``internal_node_mapping``: the program calls the node's function by its name, so a node
    whose function is named ``parse_with_ai`` is served by the quarantined LLM; the next node gets
    the state with the reader's update. (The runner's returned state holds only what the nodes it
    ran itself returned: it never sees a server node's update.)"""
    from tests.fakes.llm_server import Reply

    def parse_with_ai(state: Doc) -> dict:
        calls.append(("local parse_with_ai", dict(state)))
        return {"summary": "local"}

    def send_email(state: Doc) -> dict:
        calls.append(("send_email", dict(state)))
        return {"result": f"sent {state['summary']}"}

    g = chain(Doc, {"summarize": parse_with_ai, "send_email": send_email})
    fake_llm.push(Reply(text='{"summary": "two fruits"}'))
    final = run(client, g, {"text": "apples and pears", "summary": "", "result": ""},
                {"summarize": parse_with_ai, "send_email": send_email}, internal_node_mapping={"summarize": "parse_with_ai"})
    assert names(calls) == ["send_email"]  # the local function never ran
    assert calls[0][1]["summary"] == "two fruits"
    assert final["result"] == "sent two fruits"
    (asked,) = fake_llm.requests
    assert "apples and pears" in str(asked.json)


def test_a_graph_that_raises_raises_through_airlock_too(client, fake_llm, calls):
    """A node answering something that is not a state update breaks the graph directly and through
    Airlock alike; the runner must not return its initial state as a success."""
    def bad(state: Mail) -> dict:
        calls.append(("bad", dict(state)))
        return ["not", "an", "update"]  # type: ignore[return-value]

    def after(state: Mail) -> dict:
        calls.append(("after", dict(state)))
        return {"result": "unreachable"}

    g = chain(Mail, {"bad": bad, "after": after})
    with pytest.raises(Exception):
        g.compile().invoke({"query": "q", "result": ""})
    calls.clear()
    with pytest.raises(RuntimeError, match="Graph execution failed"):
        run(client, g, {"query": "q", "result": ""}, {"bad": bad, "after": after})
    assert names(calls) == ["bad"]
