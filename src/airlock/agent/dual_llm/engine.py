"""``DualLLMEngine``: the CaMeL state machine — turns → planning steps → program runs.

One ``run`` call serves one client request and returns either a tool call for the client to
execute or the turn's final answer. Everything needed to continue lives in ``state`` (plain
JSON, mutated in place, persisted by the caller with compare-and-set), so the next request can
land on any replica: the interpreter's ``ExecutionRecord`` is replayed from the start with the
recorded tool and QLLM results (see ``airlock.interpreter``), which makes "resume" a pure
function of the state.

State layout (``STATE_VERSION`` 1)::

    turn          turns started in this session (max_n_turns)
    closed        true once the last allowed turn has answered (the caller closes the session)
    session_meta  SessionMeta JSON carried across programs, attempts and turns
    policies      SQRT sources added by ``set_policy`` (each a restrict-only planner layer)
    auto_policy   X-Policy.auto_gen: {tools: fingerprint of the tool list, code: the generated SQRT}
    cache         force_to_cache results: canonical [tool, args] → {result, is_error}
    seen          fingerprints of the trusted (user/system) messages seen so far (history mismatch)
    turns         finished turns for the planner's context: query, context, program, status,
                  error_code, messages (the PLLM exchange; failed steps pruned per config)
    current       the turn in progress, or null:
        query, context, tools (TLLM selection or null), steps, failed, since_clear,
        messages (PLLM exchange after the query), program, record (ExecutionRecord JSON, partial:
        its earlier events are in the session's event log under the stream ``log``, see event_log),
        base_program/base_record/base_calls (multi-step: the successful steps so far),
        pending {tool_call_id: call index}, histories (policy checks of earlier attempts),
        last_error, suspend_session
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import re2

from airlock import interpreter as interp
from airlock.agent.authority import PolicyConfigError, planner_code_error, policy_spec, session_policy
from airlock.agent.conversation import AgentOutput, Conversation, Message, ToolCallOut, ToolDef
from airlock.agent.wire.params import LlmParams
from airlock.config import ResolvedConfig
from airlock.interpreter import ExecutionRecord, Failed, Finished, Limits, RunOptions, Suspended, ToolSpec, Variable
from airlock.meta import SessionMeta
from airlock.providers import UpstreamClient
from airlock.providers.registry import ApiFormat
from airlock.sandbox import InProcessRunner, PoolBusy, Runner, RunRequest
from airlock.sandbox.request import EarlierEvents
from airlock.sessions.ids import new_tool_call_id

from . import auto_policy, event_log, internal, planner
from .answer import content_json, error_record, planner_feedback, user_error
from .guards import guard_features, scan_result
from .llms import Llms
from .prompts import context_lines, describe_namespace, pllm_system, pllm_user_message

STATE_VERSION = 1
PAST_TURNS_WHEN_PRUNING = 5


def repeats_final(conv: Conversation, state: dict) -> bool:
    """The request re-posts exactly the tool results that produced the last final answer (a
    client retrying after a lost response): it gets that answer again, with no LLM call and no
    tool run twice — even when that answer ended the session."""
    last = state.get("last_final")
    results = conv.trailing_tool_results()
    cur = state.get("current")
    return bool(last and results and not (cur and cur.get("pending"))
                and [r.tool_call_id for r in results] == last["answered"])


#: Reads the session's event log: (stream, n) → the stream's first n entries.
LogReader = Callable[[str, int], Awaitable[list[dict[str, Any]]]]


class EngineBusy(Exception):
    """No program worker was free within the queue deadline (the API answers 503)."""


class DualLLMEngine:
    """``runner`` runs programs (the server's process pool; in-process by default, for tests and
    tools); ``limits`` are the operator's per-run limits."""

    def __init__(self, upstream: UpstreamClient, runner: Runner | None = None, limits: Limits | None = None) -> None:
        self.upstream = upstream
        self.runner: Runner = runner if runner is not None else InProcessRunner()
        self.limits = limits or Limits()

    async def run(self, conv: Conversation, config: Any, state: dict, *, session_id: str, provider: str,
                  api: ApiFormat, api_key: str | None, owner: str | None = None, graph: Any = None,
                  params: LlmParams | None = None, read_log: LogReader | None = None) -> AgentOutput:
        """``graph``: a LangGraph run (``airlock.agent.graph.GraphRun``) served instead of a plan.
        ``read_log``: the session's event log, for a run that must replay a partial record."""
        llms = Llms.for_request(self.upstream, config, conv.model, provider, api, api_key, params)
        if graph is not None:
            from .graph_run import GraphRequest
            req: _Request = GraphRequest(conv, config, state, session_id, llms, graph=graph)
        else:
            req = _Request(conv, config, state, session_id, llms)
        req.runner, req.limits, req.owner, req.read_log = self.runner, self.limits, owner or session_id, read_log
        return await req.serve()


def _fingerprint(m: Message) -> str:
    return hashlib.sha256(f"{m.role}\0{m.name or ''}\0{m.content}".encode()).hexdigest()[:16]


def _init(state: dict) -> None:
    defaults = {"version": STATE_VERSION, "turn": 0, "closed": False, "session_meta": SessionMeta().to_json(),
                "policies": [], "cache": {}, "seen": [], "turns": [], "current": None}
    for key, value in defaults.items():
        state.setdefault(key, value)


class _Request:
    """One request's worth of engine work (short-lived; holds nothing that must survive it)."""

    def __init__(self, conv: Conversation, config: Any, state: dict, session_id: str, llms: Llms) -> None:
        self.conv, self.config, self.state, self.session_id, self.llms = conv, config, state, session_id, llms
        self.fsm = config.fsm
        self.thoughts: list[str] = []
        self.runner: Runner = InProcessRunner()
        self.limits = Limits()
        self.owner = session_id
        self._policy: Any = None
        self.read_log: LogReader | None = None
        self._answered: list[str] = []  # tool-call ids whose results this request recorded
        _init(state)

    # -- entry ---------------------------------------------------------------------------------
    async def serve(self) -> AgentOutput:
        state = self.state
        results = self.conv.trailing_tool_results()
        cur = state["current"]
        last = state.get("last_final")
        if repeats_final(self.conv, state):
            self.thoughts.append("repeating this turn's final answer")  # a client retrying the same POST
            return self._out(last["content"], failed=bool(last.get("failed")))
        if state["closed"]:
            return self._fail_out(content_json("failure", self.config, error={
                "code": "session_closed", "message": "This session has ended (max_n_turns reached); start a new session."}))
        trusted = [_fingerprint(m) for m in self.conv.messages if m.role in ("user", "system")]
        answers_pending = bool(cur and cur.get("pending") and any(r.tool_call_id in cur["pending"] for r in results))
        seen = state["seen"]
        if self.conv.continues and seen:
            trusted = seen + trusted  # the posted items extend the stored history
        mismatch = bool(seen and trusted and trusted[:len(seen)] != seen
                        and not (answers_pending and seen[:len(trusted)] == trusted))
        if mismatch:
            policy = self.fsm.history_mismatch_policy or "restart_turn"
            if policy == "reject":
                return self._fail_out(content_json("failure", self.config, error={
                    "code": "history_mismatch",
                    "message": "The posted message history differs from the history stored for this session."},
                    extra={"message_history_mismatch_detected": True}))
            if policy == "restart_turn":
                self._restart(trusted, seen)
                cur, answers_pending = None, False
        state["seen"] = trusted if len(trusted) >= len(seen) or mismatch else seen
        if answers_pending:
            self._pin_config(cur)
            await self._absorb(results)
            return await self._drive()
        if cur and cur.get("pending") and not self.conv.starts_turn:
            self._pin_config(cur)
            return self._reemit()
        if any(m.role == "user" for m in self.conv.messages):
            if cur is not None:
                self._abandon()
            return await self._start_turn()
        return self._fail_out(content_json("failure", self.config, error={
            "code": "nothing_to_do", "message": "No user message and no result for a pending tool call."}))

    def _pin_config(self, cur: dict) -> None:
        """A turn runs under the config of the request that started it: a program planned and
        partly run under one policy and response format is finished under the same ones, even if
        a follow-up request (a tool result) carries no headers or different ones."""
        if cur.get("config"):
            self.config = ResolvedConfig.from_public_json(cur["config"])
            self.fsm = self.config.fsm

    def _fail_out(self, content: str) -> AgentOutput:
        return self._out(content, failed=True)

    def _out(self, content: str | None = None, tool_calls: list[ToolCallOut] | None = None,
             failed: bool = False) -> AgentOutput:
        return AgentOutput(tool_calls=tool_calls or [], content=content, usage=self.llms.usage,
                           model=self.conv.model, thoughts=self.thoughts, failed=failed)

    # -- turns ---------------------------------------------------------------------------------
    def _restart(self, trusted: list[str], seen: list[str]) -> None:
        """history_mismatch_policy "restart_turn": keep the turns whose messages still agree, drop
        the turn in progress; the session metadata is kept (it must never roll back)."""
        same = 0
        while same < min(len(trusted), len(seen)) and trusted[same] == seen[same]:
            same += 1
        kept_users = 0
        i = 0
        for m in self.conv.messages:
            if m.role in ("user", "system"):
                if i >= same:
                    break
                i += 1
                kept_users += m.role == "user"
        self.state["turns"] = self.state["turns"][:kept_users]
        self.state["turn"] = len(self.state["turns"])
        self.state["current"] = None
        self.thoughts.append("history mismatch: restarting the turn")

    async def _start_turn(self) -> AgentOutput:
        state, fsm = self.state, self.fsm
        if fsm.max_n_turns is not None and state["turn"] >= fsm.max_n_turns:
            state["closed"] = True
            return self._fail_out(content_json("failure", self.config, error={
                "code": "max_turns_exceeded", "message": f"The session allows at most {fsm.max_n_turns} turns."}))
        state["turn"] += 1
        if fsm.clear_session_meta == "every_turn":
            state["session_meta"] = SessionMeta().to_json()
        msgs = self.conv.messages
        last = max(i for i, m in enumerate(msgs) if m.role == "user")
        earlier_queries = {t["query"] for t in state["turns"]}
        context = context_lines([m for m in msgs[:last] if not (m.role == "user" and m.content in earlier_queries)],
                                self.config)
        query = msgs[last].content
        cur = {"query": query, "context": context, "tools": None, "steps": 0, "failed": 0, "since_clear": 0,
               "messages": [], "program": None, "record": None, "base_program": "", "base_record": None,
               "base_calls": 0, "pending": {}, "histories": [], "last_error": None, "suspend_session": None,
               "log": event_log.new_stream(),
               "config": self.config.to_public_json(),
               # A tool result may come back without the tool list (Responses chaining): keep it.
               "tool_defs": [{"name": t.name, "description": t.description, "parameters": t.parameters,
                              "output_schema": t.output_schema} for t in self.conv.tools]}
        state["current"] = cur
        self.thoughts.append(f"turn {state['turn']}")
        tools = self.conv.tools
        threshold = fsm.min_num_tools_for_filtering
        if threshold is not None and len(tools) >= threshold:
            cur["tools"] = await planner.filter_tools(self.llms, self.config, query, tools)
            self.thoughts.append(f"tool filter kept {len(cur['tools'])} of {len(tools)} tools")
        if self.config.policy.auto_gen:
            err = await auto_policy.ensure(self.llms, self.config, state, tools, self._internal_names(), self.thoughts)
            if err is not None:
                return self._fail_turn(err)
            self._policy = None
        return await self._drive()

    def _abandon(self) -> None:
        """A new user message arrived while a program waited for a tool result: that turn ends
        without an answer, but the session metadata its calls produced is kept."""
        cur = self.state["current"]
        if cur.get("suspend_session"):
            self.state["session_meta"] = cur["suspend_session"]
        self._end_turn("interrupted", None)

    def _end_turn(self, status: str, error_code: str | None) -> None:
        state, cur = self.state, self.state["current"]
        messages = cur["messages"]
        if self.fsm.prune_failed_steps is not False:
            messages = [m for m in messages if not m.get("failed")]
        state["turns"].append({"query": cur["query"], "context": cur["context"], "program": cur["program"],
                               "status": status, "error_code": error_code,
                               "messages": [{"role": m["role"], "content": m["content"]} for m in messages]})
        state["current"] = None
        if self.fsm.max_n_turns is not None and state["turn"] >= self.fsm.max_n_turns:
            state["closed"] = True

    def _finish(self, status: str, *, value: dict | None = None, error: dict | None = None,
                outcome: Any = None) -> AgentOutput:
        cur = self.state["current"]
        history = list(cur["histories"]) + (list(outcome.history) if outcome is not None else [])
        namespace = None
        if outcome is not None and self.config.response_format.include_namespace_snapshot:
            namespace = outcome.namespace
        content = content_json(status, self.config, value=value, error=error, program=cur["program"],
                               history=history, namespace=namespace, session_meta=self.state["session_meta"])
        self.thoughts.append(f"turn {self.state['turn']} finished: {status}")
        self.state["last_final"] = {"answered": self._answered, "content": content, "failed": status == "failure"}
        self._end_turn(status, None if error is None else error.get("code"))
        return self._out(content, failed=status == "failure")

    def _fail_turn(self, err: dict, outcome: Any = None) -> AgentOutput:
        retry = bool(self.fsm.retry_on_policy_violation)
        return self._finish("failure", error=user_error(err, retry), outcome=outcome)

    # -- the step/attempt loop -------------------------------------------------------------------
    async def _drive(self) -> AgentOutput:
        while True:
            cur = self.state["current"]
            if cur["program"] is None:
                done = await self._plan_step()
                if done is not None:
                    return done
                continue
            policy = self._compiled_policy()
            if isinstance(policy, dict):
                return self._fail_turn(policy)
            outcome = await self._execute(policy)
            if isinstance(outcome, Suspended) and self._host_answers(outcome.calls[0]):
                await self._answer_internal(outcome)
                continue
            if isinstance(outcome, Suspended):
                out = self._suspend(outcome)
                if out is not None:
                    return out
                continue
            done = await (self._on_finished(outcome) if isinstance(outcome, Finished) else self._on_failed(outcome))
            if done is not None:
                return done

    def _variables(self) -> dict[str, Variable]:
        """Globals the program starts with (a planner's program has none)."""
        return {}

    def _tools(self) -> list[ToolDef]:
        keep = self.state["current"]["tools"]
        tools = self.conv.tools or [ToolDef(**d) for d in self.state["current"].get("tool_defs") or []]
        return [t for t in tools if keep is None or t.name in keep]

    def _internal_names(self) -> list[str]:
        return list(self.fsm.enabled_internal_tools or [])

    def _pllm_turns(self) -> list[dict[str, str]]:
        turns: list[dict[str, str]] = []
        past = self.state["turns"]
        pruning = bool(getattr(self.config.internals, "pllm_context_pruning", True))
        # prune_failed_steps false: the planner sees earlier turns' whole exchange, failed steps and
        # their feedback included (stored by _end_turn), instead of only each turn's program.
        keep_failed = self.fsm.prune_failed_steps is False
        if pruning:
            past = past[-PAST_TURNS_WHEN_PRUNING:]
        for t in past:
            turns.append({"role": "user", "content": pllm_user_message(t["query"], t.get("context") or [])})
            if (pruning and not keep_failed) or not t.get("messages"):
                program = f"```python\n{t['program']}\n```" if t.get("program") else "(no program)"
                turns.append({"role": "assistant", "content": f"{program}\n(turn outcome: {t['status']})"})
            else:
                turns.extend(t["messages"])
                if turns[-1]["role"] == "user":
                    turns.append({"role": "assistant", "content": f"(turn outcome: {t['status']})"})
        cur = self.state["current"]
        turns.append({"role": "user", "content": pllm_user_message(cur["query"], cur["context"])})
        turns.extend({"role": m["role"], "content": m["content"]} for m in cur["messages"])
        return turns

    async def _plan_step(self) -> AgentOutput | None:
        cur, fsm = self.state["current"], self.fsm
        if fsm.max_pllm_steps is not None and cur["steps"] >= fsm.max_pllm_steps:
            err = cur["last_error"] or {"code": "max_pllm_steps_exceeded",
                                        "message": f"Planning stopped after {cur['steps']} steps."}
            return self._fail_turn(err)
        if fsm.clear_session_meta == "every_attempt":
            self.state["session_meta"] = SessionMeta().to_json()
        cur["steps"] += 1
        self.thoughts.append(f"planning step {cur['steps']}")
        system = pllm_system(self.config, self._tools(), self._internal_names())
        text, program = await planner.plan(self.llms, self.config, system, self._pllm_turns(), self.thoughts)
        if program is None:
            cur["messages"].append({"role": "assistant", "content": (text or "")[:4000]})
            return self._step_failed({"code": "no_program", "message": "The planner answered without a python code block."})
        cur["messages"].append({"role": "assistant", "content": f"```python\n{program}\n```"})
        self.thoughts.append(program)
        cur["program"] = cur["base_program"] + program
        cur["record"] = None
        if cur["base_record"] is not None:
            base = cur["base_record"]
            cur["record"] = ExecutionRecord(program=cur["program"], events=base["events"],
                                            session_meta=base["session_meta"],
                                            events_from=base.get("events_from", 0)).to_json()
        return None

    def _compiled_policy(self) -> Any:
        if self._policy is None:
            try:
                self._policy = session_policy(self.config, self.state["policies"], auto_policy.code_of(self.state))
            except PolicyConfigError as exc:
                return {"code": "invalid_policy", "message": f"The session's {exc.authority} policy does not compile: {exc}"}
        return self._policy

    async def _execute(self, policy: Any) -> Any:
        cur, fsm = self.state["current"], self.fsm
        per_step = fsm.max_tool_calls_per_step
        limits = dataclasses.replace(
            self.limits, max_tool_calls=per_step + cur["base_calls"] if per_step is not None else self.limits.max_tool_calls)
        options = RunOptions(
            limits=limits, mode=self.config.policy.mode or "standard", wrap_tool_result=bool(fsm.wrap_tool_result),
            detect_tool_errors=fsm.detect_tool_errors or "none",
            detect_tool_error_regex_pattern=fsm.detect_tool_error_regex_pattern,
            detect_tool_error_max_result_length=fsm.detect_tool_error_max_result_length,
            strict_tool_result_parsing=bool(fsm.strict_tool_result_parsing),
            tool_result_transform=fsm.tool_result_transform or "none",
            non_executable_memory=bool(self.config.presets.enable_non_executable_memory),
            tool_producer=False,
        )
        specs = {t.name: ToolSpec(t.name, dict(t.parameters or {}), t.output_schema, t.description) for t in self._tools()}
        record = ExecutionRecord.from_json(cur["record"]) if cur["record"] else None
        session = SessionMeta.from_json(self.state["session_meta"])
        views = set()
        if self.config.response_format.include_namespace_snapshot or self.config.pllm_prompt.context_var_visibility == "all":
            views.add("namespace")
        if fsm.enable_multistep_planning or self.config.pllm_prompt.debug_info_level == "extra":
            views.add("planner")
        if self.config.response_format.include_policy_check_history:
            views.add("history")  # else only the internal tools' checks come back (what the engine reads)
        request = RunRequest(cur["program"], specs, tuple(self._internal_names()),
                             policy_spec(self.config, self.state["policies"], auto_policy.code_of(self.state)).to_json(),
                             record, session, options,
                             frozenset(views), guard_features(self.config), self.state.get("redactor"),
                             self._variables())
        try:
            outcome = await self.runner.run(request, owner=self.owner, handle=f"{self.owner}/{self.session_id}",
                                            earlier=self._earlier())
        except PoolBusy as exc:
            raise EngineBusy(str(exc)) from None
        if outcome.host_state and "redactor" in outcome.host_state:
            self.state["redactor"] = outcome.host_state["redactor"]
        return outcome

    def _earlier(self) -> EarlierEvents | None:
        stream, read = event_log.stream_of(self.state), self.read_log
        if stream is None or read is None:
            return None
        return lambda n: read(stream, n)

    def _host_answers(self, call: Any) -> bool:
        """Whether the host answers this pending call itself (never the client)."""
        return bool(call.kind == "internal")

    async def _answer_internal(self, outcome: Suspended) -> None:
        """The program asked the quarantined LLM: answer, record the answer, replay."""
        call = outcome.calls[0]
        self.thoughts.append(f"quarantined LLM: {call.tool}")
        result, is_error = await internal.answer(self.llms, call.tool, call.args_json, self.config)
        record = interp.record_result(outcome.record, call.index, result, is_error=is_error)
        self.state["current"]["record"] = record.to_json()

    # -- tool calls out and results in -----------------------------------------------------------
    def _cache_key(self, tool: str, args: Any) -> str | None:
        patterns = self.fsm.force_to_cache or []
        if not any(re2.fullmatch(p, tool) for p in patterns):
            return None
        return json.dumps([tool, args], sort_keys=True, ensure_ascii=False, default=str)

    def _suspend(self, outcome: Suspended) -> AgentOutput | None:
        cur = self.state["current"]
        call = outcome.calls[0]
        key = self._cache_key(call.tool, call.args_json)
        if key is not None and key in self.state["cache"]:
            hit = self.state["cache"][key]
            rec = interp.record_result(outcome.record, call.index, hit["result"], is_error=hit["is_error"],
                                       tags=hit.get("tags") or ())
            cur["record"] = rec.to_json()
            self.thoughts.append(f"cached result for {call.tool}")
            return None
        tool_call_id = new_tool_call_id(self.session_id)
        cur["pending"] = {tool_call_id: call.index}
        cur["record"] = outcome.record.to_json()
        cur["suspend_session"] = outcome.session.to_json()
        self.thoughts.append(f"calling tool {call.tool}")
        return self._out(tool_calls=[ToolCallOut(tool_call_id, call.tool, call.args_json)])

    def _reemit(self) -> AgentOutput:
        """The client came back without the result we wait for: ask again, with the same id."""
        cur = self.state["current"]
        pending = ExecutionRecord.from_json(cur["record"]).pending
        by_index = {p["index"]: p for p in pending}
        calls = [ToolCallOut(tcid, by_index[i]["tool"], by_index[i]["args"]) for tcid, i in cur["pending"].items() if i in by_index]
        return self._out(tool_calls=calls)

    async def _absorb(self, results: list[Message]) -> None:
        cur = self.state["current"]
        by_id = {m.tool_call_id: m for m in results}
        record = ExecutionRecord.from_json(cur["record"])
        tools = {p["index"]: p for p in record.pending}
        for tcid, index in sorted(cur["pending"].items(), key=lambda kv: kv[1]):
            msg = by_id.get(tcid)
            if msg is None:
                break
            call = tools.get(index) or {"tool": msg.name or "", "args": {}}
            raw = msg.content
            is_error = msg.is_error  # the client said so (Messages' tool_result is_error)
            tags: list[str] = []
            features = guard_features(self.config)
            if features is not None:
                raw, tags = await scan_result(features, self.state, raw, self.llms)
            if not is_error and self.fsm.detect_tool_errors == "llm":
                is_error = await internal.detect_error(self.llms, call["tool"], raw, self.config)
            record = interp.record_result(record, index, raw, is_error=is_error, tags=tags)
            key = self._cache_key(call["tool"], call["args"])
            if key is not None:
                self.state["cache"][key] = {"result": raw, "is_error": is_error, "tags": tags}
            del cur["pending"][tcid]
            self._answered.append(tcid)
        cur["record"] = record.to_json()
        self.thoughts.append("resuming the program")

    # -- outcomes --------------------------------------------------------------------------------
    def _collect_policies(self, history: list[dict]) -> None:
        for h in history:
            if h.get("kind") == "tool_call" and h.get("tool") == "set_policy" and h.get("verdict") == "allowed":
                code = (h.get("args") or {}).get("code")
                if isinstance(code, str) and code not in self.state["policies"] and planner_code_error(code) is None:
                    self.state["policies"].append(code)
                    self._policy = None  # the next run sees the new planner layer

    async def _on_finished(self, outcome: Finished) -> AgentOutput | None:
        cur, fsm = self.state["current"], self.fsm
        self.state["session_meta"] = outcome.session.to_json()
        self._collect_policies(outcome.history)
        if fsm.enable_multistep_planning:
            called = any(h.get("tool") == "complete_turn" for h in outcome.history)
            if not called and outcome.value.get("value") is None and (
                    fsm.max_pllm_steps is None or cur["steps"] < fsm.max_pllm_steps):
                await self._next_step(outcome)
                return None
        if not fsm.disable_rllm:
            verdict = await planner.review(self.llms, self.config, cur["query"], cur["program"], outcome.value.get("value"))
            self.thoughts.append(f"review: {'accepted' if verdict['accept'] else 'rejected'}")
            if not verdict["accept"]:
                reduced = fsm.reduced_grammar_for_rllm_review
                err = {"code": "review_rejected", "category": verdict["category"],
                       "reason": None if (reduced is None or reduced) else verdict["reason"],
                       "message": f"The reviewer rejected the result ({verdict['category']})."}
                return self._step_failed(err, outcome)
        return self._finish("success", value=outcome.value, outcome=outcome)

    async def _next_step(self, outcome: Finished) -> None:
        """Multi-step planning: keep this step, tell the planner what it may know, plan the next."""
        cur = self.state["current"]
        cur["histories"].extend(outcome.history)
        cur["base_program"] = cur["program"] + "\n"
        cur["base_record"] = outcome.record.to_json()
        record, earlier = outcome.record, self._earlier()
        if record.events_from and earlier is not None:
            with contextlib.suppress(ValueError):  # a gap in the log: the next step's replay diverges
                record = record.complete(await earlier(record.events_from))
        cur["base_calls"] = sum(1 for e in record.events if e.get("kind") in ("tool", "internal"))
        shown = describe_namespace(outcome, self.config.pllm_prompt.context_var_visibility or "basic-notext")
        report = f"Step {cur['steps']} ran to the end."
        if shown:
            report += "\nVariables now defined:\n" + shown
        report += "\nWrite the next step (it continues after the previous ones), or call complete_turn() if done."
        cur["messages"].append({"role": "user", "content": report})
        cur["program"], cur["record"] = None, None

    async def _on_failed(self, outcome: Failed) -> AgentOutput | None:
        err = error_record(outcome.error)
        if outcome.session is not None:
            self.state["session_meta"] = outcome.session.to_json()
        self._collect_policies(outcome.history)
        self.thoughts.append(f"program stopped: {err['code']}")
        if err["code"] in ("policy_denied", "control_flow_denied"):
            if not self.fsm.retry_on_policy_violation:
                return self._fail_turn(err, outcome)
        elif err["code"] in ("replay_divergence", "internal_error"):
            return self._fail_turn(err, outcome)
        return self._step_failed(err, outcome)

    def _step_failed(self, err: dict, outcome: Any = None) -> AgentOutput | None:
        cur, fsm = self.state["current"], self.fsm
        cur["failed"] += 1
        cur["last_error"] = err
        if outcome is not None:
            cur["histories"].extend(outcome.history)
        if cur["messages"]:
            cur["messages"][-1]["failed"] = True
        if fsm.max_pllm_failed_steps is not None and cur["failed"] >= fsm.max_pllm_failed_steps:
            return self._fail_turn(err, outcome)
        if fsm.max_pllm_steps is not None and cur["steps"] >= fsm.max_pllm_steps:
            return self._fail_turn(err, outcome)
        namespace = outcome if outcome is not None and (self.config.pllm_prompt.debug_info_level == "extra") else None
        offset = cur["base_program"].count("\n")
        feedback = planner_feedback(err, cur["program"] or "", self.config, namespace, offset)
        cur["messages"].append({"role": "user", "content": feedback, "failed": True})
        cur["since_clear"] += 1
        every = fsm.clear_history_every_n_attempts
        if every and not fsm.enable_multistep_planning and cur["since_clear"] >= every:
            cur["messages"] = [m for m in cur["messages"] if not m.get("failed")]
            cur["since_clear"] = 0
        cur["program"], cur["record"] = None, None
        self.thoughts.append(f"retrying after {err['code']}")
        return None
