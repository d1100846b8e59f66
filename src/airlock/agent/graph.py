"""A LangGraph run as the ``sequrity`` client posts it, read and checked before anything runs.

The client (``sequrity.control.langgraph.run``) compiles a ``StateGraph`` into a program — one
call per node, ``<node>(state=state)``, a routing function as a call whose answer picks the
branch — and posts it as ``user_provided_program`` on the ``lang-graph`` routes, with the graph's
nodes as ``tools`` and its initial state as ``context_vars`` (``{"initial_state": {"value",
"meta"}}``). Airlock runs that program in its interpreter instead of asking a planner for one
(``airlock.agent.dual_llm.graph_run``).

Everything a request can get wrong here is a ``GraphRequestError`` (the API answers 400 naming
the field): a program that does not compile, a context variable that is not ``{"value",
"meta"}`` with metadata of string sets, a call to a function that is neither a node the request
declares, an internal tool served as a node, a builtin nor a function the program defines. The
last check is what makes "the program calls only the graph's nodes" a property of the request,
not something discovered half-way through a run that already called some of them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Iterable

from airlock.interpreter import InterpreterError, Variable
from airlock.interpreter.compile import compile_program
from airlock.interpreter.stdlib.tables import BUILTINS
from airlock.meta import Meta

PROGRAM_FIELD = "user_provided_program"
CONTEXT_FIELD = "context_vars"
GRAPH_FIELDS = (PROGRAM_FIELD, CONTEXT_FIELD)

#: Internal tools a program may call as graph nodes (``internal_node_mapping``); the host runs
#: them. ``set_policy`` / ``complete_turn`` steer a planner, and a graph has none.
SERVER_NODES = ("parse_with_ai", "verify_hypothesis")

MAX_CONTEXT_VARS = 32
_META_KEYS = ("producers", "consumers", "tags")


class GraphRequestError(Exception):
    """The request's LangGraph fields cannot be run; ``param`` names the field."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


@dataclass(frozen=True, slots=True)
class ContextVar:
    name: str
    value: Any
    meta: dict[str, list[str]]

    def variable(self) -> Variable:
        """The program variable: the client's metadata, plus what every value from outside
        carries (``airlock.interpreter.variables``)."""
        return Variable(self.value, Meta.from_json(self.meta))


@dataclass(frozen=True, slots=True)
class GraphRun:
    program: str
    context: tuple[ContextVar, ...] = field(default_factory=tuple)

    def variables(self) -> dict[str, Variable]:
        return {v.name: v.variable() for v in self.context}

    def to_json(self) -> dict[str, Any]:
        return {"program": self.program, "context": [{"name": v.name, "value": v.value, "meta": v.meta}
                                                      for v in self.context]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "GraphRun":
        return cls(data["program"], tuple(ContextVar(v["name"], v["value"], v["meta"]) for v in data["context"]))


def parse_graph(endpoint_type: str, body: dict[str, Any]) -> GraphRun | None:
    """The run a request asks for, or ``None`` (no ``user_provided_program``: the planner plans).

    The fields belong to the ``lang-graph`` routes only: elsewhere they are a 400, not ignored
    (ignoring a program the client wants run would answer with a different, planned one)."""
    present = [f for f in GRAPH_FIELDS if body.get(f) is not None]
    if not present:
        return None
    if endpoint_type != "lang-graph":
        raise GraphRequestError(present[0], f"{present[0]} is only served on the lang-graph routes "
                                            f"(/control/lang-graph/...), not on {endpoint_type}.")
    program = body.get(PROGRAM_FIELD)
    if not isinstance(program, str) or not program.strip():
        raise GraphRequestError(PROGRAM_FIELD, f"{PROGRAM_FIELD} must be a non-empty string of Python "
                                               f"(the compiled graph) when {CONTEXT_FIELD} is given.")
    return GraphRun(program, _context_vars(body.get(CONTEXT_FIELD)))


def _context_vars(raw: Any) -> tuple[ContextVar, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise GraphRequestError(CONTEXT_FIELD, f"{CONTEXT_FIELD} must be an object of name → {{\"value\", \"meta\"}}.")
    if len(raw) > MAX_CONTEXT_VARS:
        raise GraphRequestError(CONTEXT_FIELD, f"{CONTEXT_FIELD} has {len(raw)} variables; at most {MAX_CONTEXT_VARS}.")
    out = []
    for name in sorted(raw):
        param = f"{CONTEXT_FIELD}.{name}"
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_") or name in BUILTINS \
                or name in SERVER_NODES:
            raise GraphRequestError(param, f"{name!r} cannot be a context variable: use a Python identifier that "
                                           "does not start with '_' and is not a builtin or tool name.")
        entry = raw[name]
        if not isinstance(entry, dict) or "value" not in entry or set(entry) - {"value", "meta"}:
            raise GraphRequestError(param, f"{param} must be {{\"value\": ..., \"meta\": {{...}}}}.")
        out.append(ContextVar(name, entry["value"], _meta(entry.get("meta"), f"{param}.meta")))
    return tuple(out)


def _meta(raw: Any, param: str) -> dict[str, list[str]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise GraphRequestError(param, f"{param} must be an object with producers, consumers and tags.")
    unknown = sorted(set(raw) - set(_META_KEYS))
    if unknown:
        raise GraphRequestError(f"{param}.{unknown[0]}", f"{param} has unknown field(s) {', '.join(unknown)}; "
                                                         f"expected {', '.join(_META_KEYS)}.")
    out: dict[str, list[str]] = {}
    for key in _META_KEYS:
        if key not in raw or raw[key] is None:
            continue
        items = raw[key]
        if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
            raise GraphRequestError(f"{param}.{key}", f"{param}.{key} must be a list of strings.")
        out[key] = sorted(set(items))
    return out


def check_program(run: GraphRun, nodes: Iterable[str], server_nodes: Iterable[str]) -> None:
    """The program compiles and every function it calls by name is one it may call.

    ``nodes`` are the request's tools (the graph's external nodes and routing functions),
    ``server_nodes`` the internal tools this session serves as nodes."""
    allowed = {*nodes, *server_nodes}
    clash = sorted(allowed & {v.name for v in run.context})
    if clash:
        raise GraphRequestError("tools", f"{clash[0]!r} is both a tool and a context variable; rename one.")
    try:
        compiled = compile_program(run.program)
    except InterpreterError as exc:
        hint = ""
        if "expected an indented block" in str(exc):
            # sequrity 0.4.2 compiles an edge back to an already visited node (a loop) into an
            # empty branch; say so, or the client sees only a syntax error in code it generated.
            hint = (" (a conditional edge back to an earlier node — a loop — compiles to an empty branch in "
                    "sequrity 0.4.2's graph compiler; post a program with a while loop instead)")
        raise GraphRequestError(PROGRAM_FIELD, f"{PROGRAM_FIELD} cannot run: {exc}{hint}") from None
    except RecursionError:
        raise GraphRequestError(PROGRAM_FIELD, f"{PROGRAM_FIELD} is nested too deeply to run.") from None
    known = allowed | set(compiled.facts.bound) | set(BUILTINS) | {v.name for v in run.context}
    for node in ast.walk(compiled.tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id not in known:
            name = node.func.id
            hint = (f" Nodes mapped to internal tools (internal_node_mapping) run on the server when the program "
                    f"calls the internal tool by name ({', '.join(sorted(server_nodes)) or 'none enabled'}).")
            raise GraphRequestError(PROGRAM_FIELD, f"{PROGRAM_FIELD} calls {name}() (line {node.lineno}), which is "
                                                   f"not a node of this graph: the request's tools are "
                                                   f"{', '.join(sorted(nodes)) or 'none'}.{hint}")


def check_graph_config(config: Any, stream: bool) -> None:
    """Settings a graph run cannot act on are a 400 naming them, never silently dropped: they
    steer a planner (review, multi-step, retries) and a graph has none; a stripped or streamed
    answer would hide the failure status the client's runner reads."""
    fsm, fmt = config.fsm, config.response_format
    problems = [
        ("X-Config.fsm.disable_rllm", fsm.disable_rllm is False, "the reviewing LLM checks a planner's result"),
        ("X-Config.fsm.enable_multistep_planning", bool(fsm.enable_multistep_planning), "multi-step planning needs a planner"),
        ("X-Config.fsm.retry_on_policy_violation", bool(fsm.retry_on_policy_violation),
         "a denied node ends the graph; there is no planner to retry with"),
        ("X-Config.response_format.strip_response_content", bool(fmt.strip_response_content),
         "the runner reads the status in the JSON answer"),
        ("stream", stream, "the runner reads one JSON answer per step"),
    ]
    for param, bad, why in problems:
        if bad:
            raise GraphRequestError(param, f"{param} cannot be used with a LangGraph run (user_provided_program): {why}.")
