"""What leaves the engine: the final content JSON, and the feedback the planner gets on failure.

Two audiences, two trust levels. The *client* owns the session and gets everything it asks for
(``response_format``): the value with its metadata, the program, the policy checks, the
namespace. The *planner* must not read tool data, so its feedback is built from trusted parts
only: error codes, line numbers, the program's own source, policy rule text — never the
values a rule saw, and never an exception message unless the interpreter proves the message
was computed from trusted inputs only (``safe_message``).
"""

from __future__ import annotations

import json
from typing import Any

from .prompts import describe_namespace

def content_json(status: str, config: Any, *, value: dict | None = None, error: dict | None = None,
                 program: str | None = None, history: list | None = None, namespace: dict | None = None,
                 session_meta: dict | None = None, extra: dict | None = None) -> str:
    """The dual-LLM ``content``: ``{"status", "final_return_value" | "error", ...}`` per the flags.

    ``strip_response_content`` turns a success into the bare value as text and a failure into
    the error message.
    """
    rf = config.response_format
    if rf.strip_response_content:
        if status == "success":
            v = (value or {}).get("value")
            return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
        return (error or {}).get("message", "")
    body: dict[str, Any] = {"status": status}
    if status == "success":
        body["final_return_value"] = value or {"value": None, "meta": {"producers": [], "consumers": ["*"], "tags": []}}
    else:
        body["error"] = error or {"code": "unknown", "message": ""}
    if rf.include_program and program is not None:
        body["program"] = program
    if rf.include_policy_check_history:
        body["policy_check_history"] = history or []
        if session_meta is not None:
            meta = {k: session_meta.get(k, []) for k in ("producers", "consumers", "tags")}
            body["session_meta"] = {"value": None, "meta": meta}
    if rf.include_namespace_snapshot and namespace is not None:
        body["namespace_snapshot"] = namespace
    if extra:
        body.update(extra)
    return json.dumps(body, ensure_ascii=False, default=str)


def user_error(err: dict[str, Any], retry_allowed: bool) -> dict[str, str]:
    """The ``error`` object the client sees for a program that stopped."""
    code = err.get("code", "error")
    message = err.get("message", "")
    if code == "policy_denied":
        message = err.get("denial", message)
    elif code == "control_flow_denied":
        message = ("Control flow violation: " + message +
                   ("" if retry_allowed else
                    " The program violated control flow policies and cannot continue as retries on policy "
                    "violations are disabled."))
    return {"code": code, "message": message}


def error_record(exc: Any) -> dict[str, Any]:
    """A plain-JSON description of an interpreter error (what the state and the answer keep)."""
    out = exc.to_json()
    out["bare"] = exc.message
    out["safe"] = exc.safe_message
    if exc.code == "policy_denied":
        decision = getattr(exc, "decision", None)
        out["tool"] = getattr(exc, "tool", "")
        out["verdict"] = getattr(exc, "verdict", "")
        detail = getattr(decision, "message", "") or ""
        headline = detail.splitlines()[0] if detail else ""
        if headline and exc.message.startswith(headline):
            detail = detail[len(headline):].lstrip("\n")  # said once, at the top
        # The headline, then the decision's own lines ('<tool>' is denied ... and the rules).
        denial = exc.message if detail and detail in exc.message else (exc.message + ("\n" + detail if detail else ""))
        # The docs' refund example looks for this exact phrase.
        out["denial"] = denial + f"\n'{out['tool']}' is denied by argument checking policies."
        out["rules"] = [
            {"rule": r.source, "description": r.description}
            for r in getattr(decision, "fired", []) or []
            if getattr(r, "effect", "") == "deny" or getattr(r, "kind", "") == "allowlist"
        ]
    return out


def planner_feedback(err: dict[str, Any], program: str, config: Any, namespace: Any,
                     line_offset: int = 0) -> str:
    """Tell the PLLM why its program failed, from trusted parts only (see module docstring)."""
    pp = config.pllm_prompt
    level = pp.debug_info_level or "normal"
    visibility = pp.context_var_visibility or "basic-notext"
    code = err.get("code", "error")
    if code == "policy_denied":
        text = f"The tool call `{err.get('tool')}` was denied by the security policy ({err.get('verdict')})."
        rules = [r.get("rule") or "" for r in err.get("rules") or [] if r.get("rule")]
        if rules and level != "minimal":
            text += " Rules that decided:\n" + "\n".join(f"  {r}" for r in rules[:5])
        text += "\nWrite a program that fulfils the request without violating the policy, if possible."
    elif code == "control_flow_denied":
        text = ("The program branched (if/while/for/comprehension filter) on data the policy forbids "
                "decisions on. Avoid making control flow depend on that data.")
    elif code == "no_program":
        text = "Your answer had no ```python code block. Answer with exactly one python code block."
    elif code == "review_rejected":
        text = "A reviewer judged that the result does not answer the request"
        text += f" (category: {err.get('category', 'other')})."
        if err.get("reason"):
            text += f" Reason: {err['reason']}"
    else:
        # Only the interpreter's planner-safe text: error kind, and the message only when its
        # inputs are proven trusted (see interpreter/errors.py).
        text = f"The program failed with {code}: {err.get('safe') or code}"
    line = err.get("line")
    if line and level != "minimal" and code not in ("no_program", "review_rejected"):
        lines = program.splitlines()
        rel = line - line_offset
        if rel >= 1 and line <= len(lines):
            text += f"\nAt line {rel}: {lines[line - 1].strip()}"
        elif rel < 1:
            text += "\n(in an earlier step)"
    if level == "extra" and namespace is not None:
        shown = describe_namespace(namespace, visibility)
        if shown:
            text += "\nVariables at the failure:\n" + shown
    return text + "\nWrite the corrected program."
