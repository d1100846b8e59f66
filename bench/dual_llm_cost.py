"""LLM cost of dual-LLM vs single-LLM mode on the reference scenarios (same task, same policy).

    .venv/bin/python bench/dual_llm_cost.py [--pad BYTES]

A live Airlock runs on loopback with every provider pointed at the scripted fake LLM of the
scenario tests (``tests/agent/scenarios/planner.py``). Each scenario is driven end to end by the
``sequrity`` client (Chat Completions, OpenRouter route) twice:

* **dual-LLM** — the fake plays the planner (one program per turn) and the quarantined reader;
* **single-LLM** — the same key, ``X-Features: single-llm`` and the same X-Policy; the fake plays
  an ordinary tool-calling model that makes the same tool calls one per request, reading every
  tool result from the history it is sent.

The outcome column shows where the modes differ in what they *allow*, not only in cost: a
single-LLM guard sees the model's arguments without provenance, so it lets the confidential
document go to gmail.com (ex1-untrusted) and cannot prove the summary's inputs are verified
(ex3-verified is denied by the allow-list).

Prompt tokens are the fake's estimate, ``len(prompt text) // 4`` where the prompt text is the
system text, every message and the tool definitions (also what Airlock's ``usage`` reports).
The tool data of the docs is tiny (one line per tool); ``--pad`` appends that many bytes of
filler to every tool result to show how each mode scales with real documents (the planner never
reads tool data, so dual-LLM's planning cost does not grow with it; the reader's does).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from sequrity import SequrityClient  # noqa: E402
from sequrity.control import FeaturesHeader  # noqa: E402

from tests.agent.scenarios import driver  # noqa: E402
from tests.agent.scenarios.catalog import CASES, DUAL_MODEL, REFUND_QUERY, TOOL_IMPLS  # noqa: E402
from tests.agent.scenarios.planner import ScriptedLLM  # noqa: E402
from tests.fakes.llm_server import FakeLLM  # noqa: E402
from tests.live_server import LiveAirlock, upstream_settings  # noqa: E402

SCENARIOS = ["tutorial-trusted", "ex1-untrusted", "ex2-refund", "ex3-verified", "ex4-deidentified",
             "ex5-branch-allowed", "ex5-llm-allowed", "injection"]
FILLER = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. "


def padded_tools(pad: int) -> dict:
    """Tool implementations whose results carry ``pad`` more bytes (JSON results stay JSON)."""
    if not pad:
        return {}
    filler = (FILLER * (pad // len(FILLER) + 1))[:pad]

    def padded(fn):
        def tool(**kw):
            out = fn(**kw)
            try:
                value = json.loads(out)
            except ValueError:
                return out + "\n" + filler
            return json.dumps({**value, "notes": filler}) if isinstance(value, dict) else out
        return tool

    return {name: padded(fn) for name, fn in TOOL_IMPLS.items()}


def run_case(live: LiveAirlock, llm: ScriptedLLM, cid: str, mode: str, pad: int) -> dict:
    case = copy.copy(CASES[cid])
    if mode == "single":
        case.features = FeaturesHeader.single_llm()
    llm.calls.clear()
    overrides = padded_tools(pad)
    turns = 4 if cid == "ex2-refund" else 1
    requests = 0
    with SequrityClient(api_key=live.keys["dual"], base_url=live.url, timeout=60) as client:
        messages = [{"role": "user", "content": case.query}]
        for turn in range(turns):
            run = driver.sequrity_chat(client, case, messages=messages, overrides=overrides,
                                       llm_api_key=driver.USER_LLM_KEY)
            requests += len(run.responses)
            if turn + 1 < turns:
                messages.append({"role": "user", "content": REFUND_QUERY})
    roles = llm.by_role()
    if run.final is not None:  # dual-LLM: the content JSON says
        outcome = "denied" if run.status == "failure" else "done"
    else:  # single-LLM: a denied call is replaced by the denial text
        outcome = "denied" if "denied by argument checking policies" in run.final_text else "done"
    return {"turns": turns, "requests": requests, "calls": llm.count(), "prompt": llm.prompt_tokens(),
            "roles": roles, "outcome": outcome, "tools": len(run.tool_names)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pad", type=int, nargs="*", default=[0, 4000],
                    help="bytes of filler appended to every tool result (one table per value)")
    args = ap.parse_args()
    with FakeLLM(record=False) as fake, tempfile.TemporaryDirectory() as tmp:
        live = LiveAirlock(upstream_settings(fake.base_url, f"sqlite+aiosqlite:///{tmp}/a.db",
                                             allowed_models=f"fake-model,{DUAL_MODEL}", upstream_timeout_s=30.0))
        live.add_keys({"dual": {"arch": "dual-llm"}})
        live.start()
        llm = ScriptedLLM()
        fake.handler = llm
        try:
            for pad in args.pad:
                print(f"\n## tool results as documented{'' if not pad else f' + {pad} bytes of filler each'}\n")
                head = ("| scenario | turns | outcome dual / single | dual calls (PLLM+QLLM) | dual prompt tok | "
                        "single calls | single prompt tok | dual/single tokens |")
                print(head)
                print("|" + "---|" * 8)
                tot = {"d": 0, "s": 0, "dc": 0, "sc": 0}
                for cid in SCENARIOS:
                    d = run_case(live, llm, cid, "dual", pad)
                    s = run_case(live, llm, cid, "single", pad)
                    p, q = d["roles"].get("pllm", {}).get("calls", 0), d["roles"].get("qllm", {}).get("calls", 0)
                    print(f"| {cid} | {d['turns']} | {d['outcome']} / {s['outcome']} | {d['calls']} ({p}+{q}) | {d['prompt']} | {s['calls']} | "
                          f"{s['prompt']} | {d['prompt'] / max(1, s['prompt']):.2f}x |")
                    tot["d"] += d["prompt"]
                    tot["s"] += s["prompt"]
                    tot["dc"] += d["calls"]
                    tot["sc"] += s["calls"]
                print(f"| **total** | | | {tot['dc']} | {tot['d']} | {tot['sc']} | {tot['s']} | "
                      f"**{tot['d'] / max(1, tot['s']):.2f}x** |")
        finally:
            live.stop()


if __name__ == "__main__":
    main()
