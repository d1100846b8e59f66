"""``airlock policy check FILE`` and ``airlock policy test POLICY CASES`` (no LLM needed).

``check_main(path_or_dash)`` compiles a policy (``-`` reads stdin; ``*.cedar`` files are Cedar)
and prints every error with line, column, the line itself and a caret. Exit codes: 0 valid,
1 invalid, 2 unreadable.

``run_policy_tests(policy_path, cases_path)`` replays tool calls against a policy. The cases
file is JSON::

    {
      "language": "sqrt",                 // optional; default from the policy file extension
      "mode": "standard",                 // optional X-Policy mode
      "fail_fast": true,                  // optional
      "presets": {"default_allow": true}, // optional X-Policy presets
      "cases": [
        {
          "name": "confidential document to an outside address is blocked",
          "session": {"tags": ["..."]},   // optional starting session metadata
          "steps": [
            {"tool": "get_internal_document",
             "args": {"doc_id": "DOC1"},                  // a bare value: no metadata
             "result": "secret text",                     // optional: run result/session after
             "expect": "allowed"},
            {"tool": "send_email",
             "args": {"to": {"value": "x@gmail.com", "meta": {"tags": ["pii"]}},
                      "body": {"from_step": 0}},          // the result (value+meta) of step 0
             "expect": "hard_denied"},
            {"branch": {"tags": ["RACE"]}, "expect": "hard_denied"}
          ]
        }
      ]
    }

An argument is a bare JSON value, ``{"value": v, "meta": {"producers", "consumers", "tags"}}``
or ``{"from_step": i}``. A step runs ``session before`` updates, the check, and — when allowed
and ``result`` is given (bare or ``{"value", "meta"}``) — result updates and ``session after``.
Optional step checks: ``expect`` (``allowed``/``soft_denied``/``hard_denied``, or ``denied`` for
either denial), ``expect_result_meta`` and ``expect_session`` (each field compared as a set;
only the fields given are checked). Exit codes: 0 all passed, 1 a case failed, 2 bad input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from airlock.meta import Meta, SessionMeta, StrSet, Tagged

from .errors import PolicyError
from .evaluator import compile_policy, initial_result_meta


def _read(path_or_dash: str) -> str:
    if path_or_dash == "-":
        return sys.stdin.read()
    return Path(path_or_dash).read_text(encoding="utf-8")


def _language_for(path: str, given: str | None = None) -> str:
    return given or ("cedar" if path.endswith(".cedar") else "sqrt")


def check_main(path_or_dash: str, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    name = "<stdin>" if path_or_dash == "-" else path_or_dash
    try:
        text = _read(path_or_dash)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {name}: {exc}", file=err)
        return 2
    try:
        policy = compile_policy(text, language=_language_for(path_or_dash))
    except PolicyError as exc:
        for e in exc.errors:
            print(f"{name}:{e.format()}" if e.line else f"{name}: {e.format()}", file=err)
        n = len(exc.errors)
        print(f"{name}: {n} error{'s' if n != 1 else ''}", file=err)
        return 1
    user_rules = sum(1 for r in policy.rules if r.kind == "rule")
    print(f"{name}: OK ({policy.language}, {user_rules} check rule(s), {len(policy.updaters)} update block(s))", file=out)
    return 0


# ---- policy tests ------------------------------------------------------------------------


def _meta(data: Any) -> Meta:
    if data is None:
        return Meta()
    if not isinstance(data, dict):
        raise ValueError(f"metadata must be an object, got {data!r}")
    return Meta.from_json(data)


def _tagged(spec: Any, results: list[Tagged | None]) -> Tagged:
    if isinstance(spec, dict) and "from_step" in spec:
        i = spec["from_step"]
        if not isinstance(i, int) or not 0 <= i < len(results) or results[i] is None:
            raise ValueError(f"from_step {i!r} does not name an earlier step with a result")
        found = results[i]
        assert found is not None
        return found
    if isinstance(spec, dict) and "value" in spec and set(spec) <= {"value", "meta"}:
        return Tagged(spec["value"], _meta(spec.get("meta")))
    return Tagged(spec)


def _sets_match(expected: dict[str, Any], actual: Any) -> list[str]:
    problems = []
    for key, want in expected.items():
        got: StrSet = getattr(actual, key)
        if got.to_json() != StrSet.of(want).to_json():
            problems.append(f"{key}: expected {sorted(want)}, got {got.to_json()}")
    return problems


def run_cases(policy_text: str, spec: dict[str, Any], language: str, out: TextIO) -> int:
    policy = compile_policy(policy_text, language=spec.get("language", language), presets=spec.get("presets"),
                            fail_fast=spec.get("fail_fast", True), mode=spec.get("mode", "standard"))
    failures = 0
    cases = spec.get("cases")
    if not isinstance(cases, list):
        raise ValueError('the cases file needs a "cases" list')
    for n, case in enumerate(cases, 1):
        name = case.get("name", f"case {n}")
        session = SessionMeta.from_json(case.get("session"))
        results: list[Tagged | None] = []
        problems: list[str] = []
        for k, step in enumerate(case.get("steps", [])):
            if "branch" in step:
                decision = policy.check_branch(_meta(step["branch"]))
                results.append(None)
            else:
                tool = step["tool"]
                args = {a: _tagged(v, results) for a, v in (step.get("args") or {}).items()}
                decision = policy.before_call(tool, args, session)
                result = None
                if decision.allowed and "result" in step:
                    raw = _tagged(step["result"], results)
                    start = initial_result_meta(args).merge(raw.meta)
                    meta = policy.apply_result(tool, args, Tagged(raw.value, start), session)
                    result = Tagged(raw.value, meta)
                    policy.update_session(tool, "after", args, session, result)
                    if "expect_result_meta" in step:
                        problems += [f"step {k} result {p}" for p in _sets_match(step["expect_result_meta"], meta)]
                results.append(result)
            want = step.get("expect")
            if want is not None:
                ok = decision.denied if want == "denied" else decision.verdict == want
                if not ok:
                    problems.append(f"step {k} ({step.get('tool', 'branch')}): expected {want}, got {decision.verdict}"
                                    + (f"\n      {decision.message}" if decision.denied else ""))
            if "expect_session" in step:
                problems += [f"step {k} session {p}" for p in _sets_match(step["expect_session"], session)]
        if problems:
            failures += 1
            print(f"FAIL {name}", file=out)
            for p in problems:
                print(f"    {p}", file=out)
        else:
            print(f"ok   {name}", file=out)
    print(f"{len(cases) - failures} passed, {failures} failed", file=out)
    return 1 if failures else 0


def run_policy_tests(policy_path: str, cases_path: str, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        text = _read(policy_path)
        spec = json.loads(Path(cases_path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=out)
        return 2
    try:
        return run_cases(text, spec, _language_for(policy_path), out)
    except PolicyError as exc:
        print(f"{policy_path}: policy does not compile:\n{exc}", file=out)
        return 2
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        print(f"error in {cases_path}: {exc}", file=out)
        return 2
