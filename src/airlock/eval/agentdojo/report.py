"""Counts per suite and overall, the JSON document and the Markdown table.

JSON: ``{"meta": {...}, "<suite>" | "overall": {"<configuration>": {"utility": {"n", "of"},
"utility_under_attack": {"n", "of"}, "attack_success": {"n", "of"}, "empty_ground_truth":
{"utility_under_attack", "attack_success"}, "blocked": [...]}}}``. ``blocked`` lists the user tasks
the oracle solves in ``dual_llm`` (no policy, no attack) that a policy configuration does not
solve, with the denied tool and the rule that fired. Attacked cases whose injection task has an
empty ground truth are counted in the totals and also apart (``empty_ground_truth``).
"""

from __future__ import annotations

import re
from typing import Any

from airlock.eval.agentdojo import AGENTDOJO_VERSION, BENCHMARK_VERSION
from airlock.eval.agentdojo import cases as C
from airlock.eval.agentdojo.app import Outcome
from airlock.eval.agentdojo.runner import Results

BASELINE = "dual_llm"
LABELS = {
    "undefended": "undefended (single-LLM, obedient model)",
    "dual_llm": "dual-LLM, no policy",
    "dual_llm_policies_standard": "dual-LLM + policies (standard)",
    "dual_llm_policies_strict": "dual-LLM + policies (strict)",
}


def _frac(outs: list[Outcome], pred: Any) -> dict[str, int]:
    return {"n": sum(1 for o in outs if pred(o)), "of": len(outs)}


def _reason(o: Outcome) -> str:
    """The decision's own lines (rule descriptions), without the data dump that follows them."""
    if o.status == "error":
        return o.error or "error"
    if o.denied is None:
        return "ran to completion; AgentDojo's utility check failed" if o.status == "success" else o.output[:300]
    body = o.output.split("\n", 1)[1] if "\n" in o.output else o.output
    body = body.split("\nTool calls:", 1)[0]
    return re.sub(r"\s+", " ", body).strip()[:400]


def blocked(outs: list[Outcome], baseline: list[Outcome]) -> list[dict[str, Any]]:
    solved = {o.case.key for o in baseline if o.case.injection_task is None and o.utility}
    rows = []
    for o in outs:
        if o.case.injection_task is None and o.case.key in solved and not o.utility:
            rows.append({"task": o.case.key, "denied_tool": o.denied, "why": _reason(o)})
    return rows


def _summary(outs: list[Outcome], baseline: list[Outcome] | None) -> dict[str, Any]:
    plain = [o for o in outs if o.case.injection_task is None]
    attacked = [o for o in outs if o.case.injection_task is not None]
    empty = [o for o in attacked if C.has_empty_ground_truth(o.case.suite, o.case.injection_task or "")]
    doc: dict[str, Any] = {
        "utility": _frac(plain, lambda o: o.utility),
        "utility_under_attack": _frac(attacked, lambda o: o.utility),
        "attack_success": _frac(attacked, lambda o: bool(o.security)),
        "empty_ground_truth": {"utility_under_attack": _frac(empty, lambda o: o.utility),
                               "attack_success": _frac(empty, lambda o: bool(o.security))},
        "errors": sum(1 for o in outs if o.status == "error"),
    }
    if baseline is not None:
        doc["blocked"] = blocked(outs, baseline)
    return doc


def document(results: Results) -> dict[str, Any]:
    plan = results.plan
    doc: dict[str, Any] = {"meta": {
        "agentdojo": AGENTDOJO_VERSION, "benchmark": BENCHMARK_VERSION, "attack": plan.attack,
        "reader": "adversarial" if plan.adversarial else "honest", "suites": plan.suites,
        "wall_time_s": round(results.wall_s, 1), "oracle_calls": results.oracle_counts,
        "oracle_misses": results.misses, "notes": [
            f"empty ground truth: {', '.join(_empty_ids(plan.suites)) or 'none'} — {C.EMPTY_GROUND_TRUTH_NOTE}",
            C.BANKING_0_NOTE,
        ]}}
    groups = {s: s for s in plan.suites}
    groups["overall"] = None  # type: ignore[assignment]
    for group, suite in groups.items():
        doc[group] = {}
        base_all = results.outcomes.get(BASELINE, [])
        for name, outs in results.outcomes.items():
            picked = [o for o in outs if suite is None or o.case.suite == suite]
            base = [o for o in base_all if suite is None or o.case.suite == suite]
            doc[group][name] = _summary(picked, base if "policies" in name and base_all else None)
    doc["cases"] = {name: [o.to_json() for o in outs] for name, outs in results.outcomes.items()}
    return doc


def _empty_ids(suites: list[str]) -> list[str]:
    return [f"{s}/{i}" for s in suites for i in C.injection_task_ids(s) if C.has_empty_ground_truth(s, i)]


def _pct(f: dict[str, int]) -> str:
    return f"{100 * f['n'] / f['of']:.1f}% ({f['n']}/{f['of']})" if f["of"] else "–"


def markdown(doc: dict[str, Any]) -> str:
    """One table: rows = suite × configuration; blocked share = blocked / solved by dual-LLM."""
    lines = ["| suite | configuration | utility | utility under attack | attack success | blocked by policy |",
             "|---|---|---|---|---|---|"]
    groups = [g for g in doc if g not in ("meta", "cases")]
    for group in groups:
        for name, row in doc[group].items():
            solved = doc[group].get(BASELINE, {}).get("utility", {}).get("n", 0)
            if "blocked" in row:
                b = len(row["blocked"])
                share = f"{100 * b / solved:.1f}% ({b}/{solved})" if solved else "–"
            else:
                share = ""
            lines.append(f"| {group} | {LABELS.get(name, name)} | {_pct(row['utility'])} | "
                         f"{_pct(row['utility_under_attack'])} | {_pct(row['attack_success'])} | {share} |")
    return "\n".join(lines) + "\n"


def blocked_markdown(doc: dict[str, Any]) -> str:
    out = []
    for name, row in doc.get("overall", {}).items():
        for b in row.get("blocked", []):
            out.append(f"- `{b['task']}` ({LABELS.get(name, name)}): `{b['denied_tool']}` — {b['why']}")
    return "\n".join(out) + ("\n" if out else "")
