"""What a LangGraph run through Airlock costs per node, against the same graph run directly.

    .venv/bin/python bench/langgraph_runs.py [--nodes 1,5,20,50] [--runs 5]

A linear ``StateGraph`` of N nodes (each appends to a string in the state) runs through the
real ``sequrity`` runner (``client.control.langgraph.run``, Chat Completions) against a live
Airlock on loopback (uvicorn in a thread of this process, embedded SQLite, the worker pool);
no model is called (the graph is the program). Every node is one HTTP round trip carrying the
whole history, one resume of the program and one session write. Printed per N: the median
run time direct and through Airlock, and Airlock's time per node.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TypedDict

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from langgraph.graph import END, START, StateGraph  # noqa: E402
from sequrity import SequrityClient  # noqa: E402
from sequrity.control import FeaturesHeader, FineGrainedConfigHeader, FsmOverrides  # noqa: E402

from tests.fakes.llm_server import FakeLLM  # noqa: E402
from tests.live_server import LiveAirlock, upstream_settings  # noqa: E402


class S(TypedDict):
    log: str


def graph_of(n: int) -> tuple[StateGraph, dict]:
    g = StateGraph(S)
    funcs = {}
    for i in range(n):
        def node(state: S, i: int = i) -> dict:
            return {"log": state["log"] + f"{i},"}
        node.__name__ = f"node_{i}"
        funcs[node.__name__] = node
        g.add_node(node.__name__, node)
    names = list(funcs)
    g.add_edge(START, names[0])
    for a, b in zip(names, names[1:]):
        g.add_edge(a, b)
    g.add_edge(names[-1], END)
    return g, funcs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", default="1,5,20,50")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with FakeLLM() as fake, tempfile.TemporaryDirectory() as tmp:
        live = LiveAirlock(upstream_settings(fake.base_url, f"sqlite+aiosqlite:///{tmp}/a.db"))
        live.add_keys({"bench": {"arch": "dual-llm"}})
        live.start()
        client = SequrityClient(api_key=live.keys["bench"], base_url=live.url, timeout=60)
        config = FineGrainedConfigHeader(fsm=FsmOverrides(max_n_turns=100, disable_rllm=True))
        print(f"{'nodes':>5} {'direct ms':>10} {'airlock ms':>11} {'ms/node':>8}")
        for n in [int(x) for x in args.nodes.split(",")]:
            graph, funcs = graph_of(n)
            compiled = graph.compile()
            direct, through = [], []
            for _ in range(args.runs + 1):  # the first run warms up
                t = time.perf_counter()
                want = compiled.invoke({"log": ""})
                direct.append(time.perf_counter() - t)
                t = time.perf_counter()
                got = client.control.langgraph.run(graph=graph, initial_state={"log": ""}, model="gpt-5-mini",
                                                   llm_api_key="sk-bench", provider="openai", node_functions=funcs,
                                                   features=FeaturesHeader.dual_llm(), fine_grained_config=config,
                                                   max_exec_steps=n + 2)
                through.append(time.perf_counter() - t)
                assert got == want, (got, want)
            d, a = statistics.median(direct[1:]) * 1e3, statistics.median(through[1:]) * 1e3
            print(f"{n:>5} {d:>10.2f} {a:>11.1f} {a / n:>8.2f}")
        live.stop()


if __name__ == "__main__":
    main()
