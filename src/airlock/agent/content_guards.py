"""Content guards in single-LLM mode (``airlock.guards`` applied to one request).

* **Tool results** the client posts are scanned before the body goes upstream: PII, URLs and
  paths are replaced by session-consistent placeholders in place, and the tags found join the
  session metadata (``@session.tags``), so a policy can deny e.g. mail once PII was read.
  Content parts a guard cannot read (images, files) are replaced by a note: fail closed.
* **Tool calls** the model emits are scanned before the policy check: a blocker finding denies
  the call exactly like a hard policy denial (same message, same ``policy_check_history``
  entry); classifier tags join each argument's tags (``arg.tags`` in SQRT); redaction applies
  to the arguments forwarded to the client (the policy sees the original values).

``GuardedPolicy`` wraps the request's compiled policy (or none) so ``agent.guard.enforce`` runs
the guards and the policy in one pass, per call, in the same order for every API and for
streamed answers (which single-LLM checks whole before streaming).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from airlock.agent import llm as llm_mod
from airlock.agent.conversation import Usage
from airlock.agent.dual_llm.llms import parse_json
from airlock.agent.wire.items import answer_units
from airlock.agent.wire.tool_results import TEXT_PART, TEXT_PART_TYPES, tool_result_slots
from airlock.guards import GuardSet, Redactor, Scan, scannable
from airlock.meta import NEUTRAL, Meta, SessionMeta, StrSet, Tagged
from airlock.policy.decision import Decision, FiredRule
from airlock.providers import UpstreamClient
from airlock.providers.registry import ApiFormat

UNREADABLE = "[content removed by Airlock: content guards cannot inspect this part of the tool result]"


def _canonical(name: str, args: dict[str, Any]) -> str:
    return json.dumps([name, args], sort_keys=True, ensure_ascii=False, default=str)


@dataclass
class ContentGuards:
    guards: GuardSet
    redactor: Redactor
    ask_json: Any = None  # async (system, user, schema) -> dict, for strict entries
    usage: Usage = field(default_factory=Usage)
    # per emitted call (name + arguments): the scan of each argument
    scans: dict[str, dict[str, Scan]] = field(default_factory=dict)

    @classmethod
    def for_call(cls, call: Any, upstream: UpstreamClient) -> "ContentGuards | None":
        """The request's guards, or ``None`` when it asked for none. ``GuardError``s were already
        turned into 400s by the API layer; building again is cheap (detectors are cached)."""
        guards = GuardSet.from_features(call.config.features)
        if not guards:
            return None
        state = call.session.state
        this = cls(guards, Redactor.from_json(state.get("redactor")))
        if guards.needs_llm:
            this.ask_json = _asker(upstream, call, this.usage)
        return this

    def wrap(self, policy: Any) -> "GuardedPolicy":
        return GuardedPolicy(self, policy)

    # ------------------------------------------------------------------ tool results
    async def before_upstream(self, api: ApiFormat, body: dict[str, Any], state: dict[str, Any]) -> None:
        """Redact the tool results in ``body`` in place; their tags join the session metadata."""
        tags: set[str] = set()
        for slot in tool_result_slots(api, body):
            content = slot.holder[slot.key]
            if isinstance(content, str):
                scan = await self._scan(scannable(content), "result")
                slot.holder[slot.key] = scan.text_after if scan.redacted else content
            elif isinstance(content, list):
                texts = [p.get("text") if isinstance(p, dict) and p.get("type") in TEXT_PART_TYPES else None for p in content]
                scan = await self._scan([t for t in texts if isinstance(t, str)], "result")
                redacted = iter(scan.value)
                slot.holder[slot.key] = [
                    {**part, "text": next(redacted)} if isinstance(text, str) else {"type": TEXT_PART[api], "text": UNREADABLE}
                    for part, text in zip(content, texts)
                ]
            else:
                slot.holder[slot.key] = UNREADABLE
                continue
            tags |= scan.tags
        if tags:
            meta = SessionMeta.from_json(state.get("session_meta"))
            meta.tags = meta.tags.union(StrSet.of(tags))
            state["session_meta"] = meta.to_json()
        state["redactor"] = self.redactor.to_json()

    # ------------------------------------------------------------------ tool calls
    async def before_enforce(self, api: ApiFormat, answer: dict[str, Any]) -> None:
        """Scan every emitted call's arguments (the LLM classifier is async, the policy check is not)."""
        for call in _calls(api, answer):
            key = _canonical(call.name, call.arguments)
            if key not in self.scans:
                self.scans[key] = {k: await self._scan(v, "argument", k) for k, v in call.arguments.items()}

    def after_enforce(self, api: ApiFormat, answer: dict[str, Any], state: dict[str, Any]) -> None:
        """Forward redacted arguments; persist placeholders; count the classifier's tokens."""
        pending = state.get("pending_calls") or {}
        for call in _calls(api, answer):
            scans = self.scans.get(_canonical(call.name, call.arguments))
            if not scans or not any(s.redacted for s in scans.values()):
                continue
            for k in list(call.arguments):
                call.arguments[k] = scans[k].value
            call.canonical()  # the client gets the redacted arguments
            if call.id in pending:
                pending[call.id]["args"] = dict(call.arguments)  # the session never keeps the entity in clear
        state["redactor"] = self.redactor.to_json()
        if self.usage.calls:
            _add_usage(api, answer, self.usage)

    async def _scan(self, value: Any, where: Any, path: str = "") -> Scan:
        if self.guards.needs_llm:
            return await self.guards.scan_value_async(value, where, self.redactor, self.ask_json, path)
        return self.guards.scan_value(value, where, self.redactor, path)


def _calls(api: ApiFormat, answer: dict[str, Any]) -> list[Any]:
    return [item.call for unit in answer_units(api, answer) for item in unit.items if item.call is not None]


@dataclass
class GuardedPolicy:
    """The request's policy stack with the guards in front of every call check: a blocker's
    finding is a hard denial; classifier tags join the arguments' tags the policy sees. The
    rest of the stack's interface passes through."""

    content: ContentGuards
    policy: Any  # airlock.policy.PolicyStack

    @property
    def enforces_nothing(self) -> bool:
        return False  # guards are on: every answer is checked

    def before_call(self, name: str, args: dict[str, Tagged], session: SessionMeta, *, control: Meta = NEUTRAL) -> Decision:
        values = {k: t.value for k, t in args.items()}
        scans = self.content.scans.get(_canonical(name, values))
        if scans is None:
            if self.content.guards.needs_llm:
                return _deny(name, ["content guards: the call was not scanned"], "content guards could not scan the call")
            scans = {k: self.content.guards.scan_value(v, "argument", self.content.redactor, k) for k, v in values.items()}
            self.content.scans[_canonical(name, values)] = scans
        blocks = [b for s in scans.values() for b in s.blocks]
        if blocks:
            return _deny(name, [b.describe() for b in blocks], "a content blocker found " +
                         ", ".join(sorted({"a URL" if b.tag == "url" else "a file path" for b in blocks})) + " in the arguments")
        tagged = {k: Tagged(t.value, t.meta.merge(Meta(tags=StrSet.of(scans[k].tags)))) for k, t in args.items()}
        return self.policy.before_call(name, tagged, session, control=control)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.policy, name)


def _deny(tool: str, details: list[str], reason: str) -> Decision:
    fired = [FiredRule(kind="guard", effect="deny", level="hard", tool_pattern=tool, description=d) for d in details]
    return Decision(tool, "hard_denied", fired, reason=reason, policy="guard")


def _add_usage(api: ApiFormat, answer: dict[str, Any], usage: Usage) -> None:
    """The classifier's tokens join the answer's usage (usage is summed over every LLM call)."""
    total = answer.setdefault("usage", {})
    if api == ApiFormat.CHAT_COMPLETIONS:
        names = ("prompt_tokens", "completion_tokens")
    else:
        names = ("input_tokens", "output_tokens")
    total[names[0]] = int(total.get(names[0], 0)) + usage.prompt_tokens
    total[names[1]] = int(total.get(names[1], 0)) + usage.completion_tokens
    if "total_tokens" in total or api != ApiFormat.MESSAGES:
        total["total_tokens"] = int(total.get(names[0], 0)) + int(total.get(names[1], 0))


def _asker(upstream: UpstreamClient, call: Any, usage: Usage) -> Any:
    """``ask_json`` for the LLM classifier: the session's QLLM on the request's provider, structured
    output, no tools, the caller's own provider key when it sent one."""
    model = call.config.qllm_model or call.config.pllm_model or call.body.get("model")

    async def ask_json(system: str, user: str, schema: dict[str, Any]) -> Any:
        reply = await llm_mod.complete(upstream, call.provider, call.api, model, system, [{"role": "user", "content": user}],
                                       api_key=call.byok_key, usage=usage, json_schema=schema, max_tokens=1024)
        return parse_json(reply.text)

    return ask_json
