"""What execution isolation costs, and what it buys.

    .venv/bin/python bench/isolation.py

1. p50/p99 of one program run in-process (``InProcessRunner``: a thread, as v1 ran programs) and
   in a worker process (``ProgramPool``), side by side, for a 1-call program (runs until its first
   tool call) and the interpreter benchmark's planner program (its last resume, 5 results replayed).
2. The cost of a new worker: a fork of the warm zygote, and the zygote's own start.
3. Throughput of 20 concurrent CPU-heavy runs: threads (one GIL) against worker processes.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import interpreter as ib  # noqa: E402  (the interpreter benchmark's program and data)

from airlock.interpreter import Limits, RunOptions, ToolSpec  # noqa: E402
from airlock.meta import SessionMeta  # noqa: E402
from airlock.policy import LayerSpec, PolicySpec  # noqa: E402
from airlock.sandbox import InProcessRunner, PoolSettings, ProgramPool, RunRequest  # noqa: E402

POLICY = PolicySpec((LayerSpec("key", ()),)).to_json()
ONE_CALL = 'doc = get_doc(doc_id="D1")\nfinal_return_value = doc'
CPU = "t = 0\nfor i in range(150000):\n    t += i * i % 7\nfinal_return_value = t"


def req(program: str, tools: dict, record=None, wall: float = 30.0) -> RunRequest:
    return RunRequest(program, tools, (), POLICY, record, SessionMeta(),
                      RunOptions(limits=Limits(wall_time_s=wall, max_steps=10**8)), frozenset())


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


async def timed(runner, request: RunRequest, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await runner.run(request, owner="bench")
        out.append((time.perf_counter() - t0) * 1e3)
    return out


async def main() -> None:
    one = req(ONE_CALL, {"get_doc": ToolSpec("get_doc", {"type": "object", "properties": {"doc_id": {}}})})
    planner = req(ib.PROGRAM, ib.TOOLS, ib.full_record())
    local = InProcessRunner()
    pool = ProgramPool(PoolSettings(workers_min=2, workers_max=20, workers_per_key=20))
    t0 = time.perf_counter()
    await pool.start()
    start_ms = (time.perf_counter() - t0) * 1e3

    print(f"{'program run (ms)':<34} {'in-process p50':>15} {'p99':>7} {'worker p50':>11} {'p99':>7} {'added p50':>10}")
    print("-" * 88)
    for name, r, n in (("1-call program", one, 300), ("planner program (5 replays)", planner, 40)):
        await timed(local, r, 5)
        await timed(pool, r, 5)
        a, b = [], []
        for _ in range(4):  # interleaved rounds: the machine's noise hits both sides
            a += await timed(local, r, n // 4)
            b += await timed(pool, r, n // 4)
        print(f"{name:<34} {statistics.median(a):15.2f} {pct(a, .99):7.2f} {statistics.median(b):11.2f} "
              f"{pct(b, .99):7.2f} {statistics.median(b) - statistics.median(a):+10.2f}")

    forks = []
    for _ in range(20):
        t0 = time.perf_counter()
        w = await pool._spawn()
        forks.append((time.perf_counter() - t0) * 1e3)
        await pool._stop(w)
    print()
    print(f"new worker (fork of the warm zygote): p50 {statistics.median(forks):.1f} ms, p99 {pct(forks, .99):.1f} ms")
    print(f"pool start (zygote + {pool.settings.workers_min} workers): {start_ms:.0f} ms")

    cpu = req(CPU, {})
    print()
    print(f"{'20 concurrent CPU-heavy runs':<34} {'wall (s)':>9} {'runs/s':>8}")
    print("-" * 53)
    for name, runner in (("threads, one process (v1)", local), ("worker processes", pool)):
        await runner.run(cpu, owner="bench")
        t0 = time.perf_counter()
        await asyncio.gather(*(runner.run(cpu, owner=f"k{i}") for i in range(20)))
        wall = time.perf_counter() - t0
        print(f"{name:<34} {wall:9.2f} {20 / wall:8.2f}")
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
