"""A LangGraph run: the dual-LLM engine with the client's compiled graph in place of a plan.

``GraphRequest`` is the engine's ``_Request`` with five differences, each for a reason:

* **No planner.** The program is the client's ``user_provided_program`` (``airlock.agent.graph``),
  run once; a failure ends the turn (there is no planner to retry with, and running a graph's
  side effects twice is not a retry).
* **Context variables.** Each ``context_vars`` entry is a global of the program before it starts
  (``RunRequest.variables``), carrying the client's producers, consumers and tags plus what every
  value from outside carries (untrusted and, with non-executable memory, ``__non_executable``).
  No call brings it in, so no policy has to allow one and no tool-result option reshapes it.
* **Server nodes.** ``parse_with_ai`` / ``verify_hypothesis`` are nodes the host runs with the
  quarantined LLM (``internal_node_mapping``). They are tools to the interpreter, so the same
  policy check as any node's runs first; ``parse_with_ai(state=...)`` is the node form (the QLLM
  returns the state update), ``parse_with_ai(query=..., output_schema=...)`` the usual one.
* **Only nodes.** The program can call the request's tools and the server nodes, nothing else
  (no ``set_policy``: a graph has no planner to steer).
* **Every tool the graph declares is kept** (no TLLM tool filtering: a filtered node would
  break the graph, and the client chose the tools).
"""

from __future__ import annotations

import json
from typing import Any

from airlock.agent.conversation import ToolDef
from airlock.agent.graph import SERVER_NODES, GraphRequestError, GraphRun, check_program
from airlock.interpreter import Finished, PendingCall, Suspended, Variable, record_result

from . import internal
from .engine import _Request

_ANY = {"description": "any JSON value"}
_SERVER_NODE_PARAMS = {
    "parse_with_ai": {"state": _ANY, "query": _ANY, "output_schema": _ANY},
    "verify_hypothesis": {"hypothesis": _ANY, "evidence": _ANY},
}


class GraphRequest(_Request):
    def __init__(self, *args: Any, graph: GraphRun, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._posted = graph
        self._unfiltered()

    # -- which program, which tools ------------------------------------------------------------
    @property
    def graph(self) -> GraphRun:
        cur = self.state.get("current")
        return GraphRun.from_json(cur["graph"]) if cur and cur.get("graph") else self._posted

    def _unfiltered(self) -> None:
        self.fsm = self.fsm.model_copy(update={"min_num_tools_for_filtering": None})

    def _pin_config(self, cur: dict[str, Any]) -> None:
        super()._pin_config(cur)
        self._unfiltered()
        if cur.get("graph") and cur["graph"]["program"] != self._posted.program:
            raise GraphRequestError("user_provided_program", "user_provided_program differs from the program this "
                                                             "session's run started with; start a new session.")

    def server_nodes(self) -> list[str]:
        declared = {t.name for t in self.conv.tools}
        enabled = set(self.fsm.enabled_internal_tools or ())
        return [n for n in SERVER_NODES if n in enabled and n not in declared]

    def _variables(self) -> dict[str, Variable]:
        return self.graph.variables()

    def _tools(self) -> list[ToolDef]:
        extra = [ToolDef(n, f"Airlock: the internal tool {n}, run on the server as a graph node.",
                          {"type": "object", "properties": _SERVER_NODE_PARAMS[n]}) for n in self.server_nodes()]
        return [*super()._tools(), *extra]

    def _internal_names(self) -> list[str]:
        return []

    async def _plan_step(self) -> Any:
        cur = self.state["current"]
        if cur["steps"]:
            return self._fail_turn(cur["last_error"] or {"code": "graph_failed", "message": "The graph stopped."})
        check_program(self._posted, [t.name for t in self.conv.tools], self.server_nodes())
        cur["steps"] = 1
        cur["graph"] = self._posted.to_json()
        cur["program"] = self._posted.program
        self.thoughts.append("running the client's graph program")
        return None

    # -- calls the host answers ------------------------------------------------------------------
    def _host_answers(self, call: PendingCall) -> bool:
        return call.kind == "tool" and call.tool in self.server_nodes()

    async def _answer_internal(self, outcome: Suspended) -> None:
        call = outcome.calls[0]
        self.thoughts.append(f"server node: {call.tool}")
        result, is_error = await self._server_node(call.tool, call.args_json)
        record = record_result(outcome.record, call.index, result, is_error=is_error)
        self.state["current"]["record"] = record.to_json()

    async def _server_node(self, tool: str, args: dict[str, Any]) -> tuple[Any, bool]:
        if tool == "parse_with_ai" and "state" in args:
            if set(args) != {"state"} or not isinstance(args["state"], dict):
                return "parse_with_ai as a graph node takes one argument, state=<the state dict>", True
            state = args["state"]
            query = ("You run one node of a LangGraph workflow. Read the workflow state below and return a JSON "
                     "object with only the state keys this step updates.\n\nState:\n"
                     + json.dumps(state, ensure_ascii=False, default=str))
            schema = {"type": "object", "properties": {k: _schema_of(v) for k, v in state.items()}}
            return await internal.answer(self.llms, tool, {"query": query, "output_schema": schema}, self.config)
        return await internal.answer(self.llms, tool, args, self.config)

    # -- outcomes ----------------------------------------------------------------------------------
    async def _on_finished(self, outcome: Finished) -> Any:
        self.state["session_meta"] = outcome.session.to_json()
        return self._finish("success", value=outcome.value, outcome=outcome)

    def _step_failed(self, err: dict[str, Any], outcome: Any = None) -> Any:
        return self._fail_turn(err, outcome)


def _schema_of(value: Any) -> dict[str, Any]:
    kinds = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"), (dict, "object"))
    for py, name in kinds:
        if isinstance(value, py):
            return {"type": name}
    return {}
