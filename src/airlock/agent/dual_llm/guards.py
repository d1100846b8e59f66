"""Content guards in dual-LLM mode.

* **Tool results** are scanned on the host when the client posts them, before they are recorded:
  the redacted value is what the program — and so the quarantined LLM — ever sees, and the tags
  found are recorded with the result and join its metadata on every replay. Strict entries ask
  the session's QLLM (structured output, no tools).
* **Tool-call arguments** are scanned inside the interpreter, before the policy check, by the
  worker (``sandbox.execute.ArgumentGuards``): tags join the argument's metadata, blockers deny
  the call, redaction applies to what the client receives. A worker cannot await an LLM, so
  arguments get the local detectors only (strict entries keep their low thresholds).

The redactor's state lives in the session (``state["redactor"]``), so placeholders are
consistent across the session; it stores keyed hashes of entities, never the entities.
"""

from __future__ import annotations

from typing import Any

from airlock.guards import GuardSet, Redactor, Scan, scannable

from .llms import Llms

GUARD_FIELDS = ("content_classifiers", "content_blockers")


def guard_features(config: Any) -> dict[str, Any] | None:
    """The request's guard settings as plain data, or None when it asks for none."""
    features = config.features.model_dump(mode="json", include=set(GUARD_FIELDS))
    return features if any(features.get(k) for k in GUARD_FIELDS) else None


async def scan_result(features: dict[str, Any], state: dict[str, Any], raw: Any, llms: Llms) -> tuple[Any, list[str]]:
    """A tool result as the program may see it (redacted), and the tags found in it."""
    guards = GuardSet.from_features(features)
    redactor = Redactor.from_json(state.get("redactor"))

    async def ask_json(system: str, user: str, schema: dict[str, Any]) -> Any:
        return await llms.ask_json(system, [{"role": "user", "content": user}], model=llms.qllm_model,
                                   json_schema=schema)

    value = scannable(raw) if isinstance(raw, str) else raw
    scan: Scan = await guards.scan_value_async(value, "result", redactor, ask_json if guards.needs_llm else None)
    state["redactor"] = redactor.to_json()
    if not scan.redacted:
        return raw, sorted(scan.tags)
    if isinstance(raw, str):
        return scan.text_after, sorted(scan.tags)
    return scan.value, sorted(scan.tags)
