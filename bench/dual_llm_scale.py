"""How a dual-LLM session scales with the number of tool calls its program makes.

    .venv/bin/python bench/dual_llm_scale.py [--ks 1,10,50,200] [--sessions 50] [--replay-only]

A real ``airlock serve`` (its own process, embedded SQLite, the worker pool) talks to the
scripted fake LLM of the tests (another process here, answering instantly). The fake plays the
planner: every session's program is a loop that makes K tool calls, each call's argument
depending on the previous result, so no call can be answered before the one before it::

    prev = "start"
    for i in range(K):
        prev = fetch(i=i, after=prev)
    final_return_value = prev

The client (httpx, Chat Completions, the full message history each time, as the official
clients post it) answers every tool call at once. Reported per K: the whole session's time,
the first and the last resume (the request that posts the last tool result, after K-1 earlier
results), and session time per call; then 50 sessions of K=10 at once: throughput and p99 of
the request latency. The first dual-LLM request after start is timed against a later one.

``--replay-only`` sets ``AIRLOCK_WARM_RESUME=false`` on the server: every resume replays the
program from its record (what any replica can do), the baseline the warm path is measured
against. Without it both are run and printed side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from tests.fakes.llm_server import FakeLLM, Reply  # noqa: E402

TOOLS = [{"type": "function", "function": {
    "name": "fetch", "description": "Fetch item i after the given cursor.",
    "parameters": {"type": "object", "properties": {"i": {"type": "integer"}, "after": {"type": "string"}},
                   "required": ["i", "after"]}}}]
FEATURES = json.dumps({"agent_arch": "dual-llm"})
CONFIG = json.dumps({"fsm": {"max_n_turns": 1, "disable_rllm": True, "max_tool_calls_per_step": 100000}})


def program_for(k: int) -> str:
    return f'prev = "start"\nfor i in range({k}):\n    prev = fetch(i=i, after=prev)\nfinal_return_value = prev\n'


def planner_reply(req) -> Reply:
    text = req.last_user_text
    k = int(text.rsplit("K=", 1)[1].split()[0]) if "K=" in text else 1
    return Reply(text=f"```python\n{program_for(k)}```")


def airlock_bin() -> str:
    return str(Path(sys.executable).with_name("airlock"))


class Server:
    def __init__(self, workdir: Path, fake_url: str, warm: bool) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_")}
        db = workdir / f"scale-{'warm' if warm else 'replay'}.db"
        self.env.update(AIRLOCK_DATABASE_URL=f"sqlite+aiosqlite:///{db}", AIRLOCK_OPENAI_BASE_URL=f"{fake_url}/v1",
                        OPENAI_API_KEY="sk-bench", AIRLOCK_WARM_RESUME="true" if warm else "false", AIRLOCK_LOG_LEVEL="warning")
        made = subprocess.run([airlock_bin(), "keys", "create", "--name", "bench", "--arch", "dual-llm"],
                              env=self.env, capture_output=True, text=True, timeout=120)
        if made.returncode:
            raise SystemExit(f"airlock keys create failed: {made.stderr[-800:]}")
        self.key = made.stdout.strip().splitlines()[-1].strip()
        with contextlib.closing(__import__("socket").socket()) as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = open(workdir / f"airlock-{'warm' if warm else 'replay'}.log", "wb")
        self.proc = subprocess.Popen([airlock_bin(), "serve", "--port", str(self.port), "--workers", "1"],
                                     env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"

    async def ready(self, client: httpx.AsyncClient) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{self.url}/control/health")).status_code == 200:
                    return
            await asyncio.sleep(0.05)
        raise SystemExit("airlock did not become ready")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, 15)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)


async def session(client: httpx.AsyncClient, server: Server, k: int) -> list[float]:
    """One session; returns each request's latency in ms (request 0 plans, the others resume)."""
    url = f"{server.url}/control/chat/openai/v1/chat/completions"
    headers = {"Authorization": f"Bearer {server.key}", "X-Features": FEATURES, "X-Config": CONFIG}
    messages: list[dict] = [{"role": "user", "content": f"Walk the cursor K={k} times."}]
    times: list[float] = []
    for _ in range(k + 2):
        t0 = time.perf_counter()
        r = await client.post(url, headers=headers, json={"model": "gpt-5-mini", "messages": messages, "tools": TOOLS})
        times.append((time.perf_counter() - t0) * 1e3)
        if r.status_code != 200:
            raise SystemExit(f"HTTP {r.status_code}: {r.text[:500]}")
        headers["X-Session-ID"] = r.headers["x-session-id"]
        msg = r.json()["choices"][0]["message"]
        calls = msg.get("tool_calls") or []
        if not calls:
            final = json.loads(msg["content"])
            if final.get("status") != "success":
                raise SystemExit(f"session failed: {msg['content'][:500]}")
            return times
        messages.append({"role": "assistant", "content": None, "tool_calls": calls})
        for c in calls:
            args = json.loads(c["function"]["arguments"])
            messages.append({"role": "tool", "tool_call_id": c["id"], "content": f"{args['after']}>{args['i']}"})
    raise SystemExit(f"K={k}: no final answer after {k + 2} requests")


_TICK = os.sysconf("SC_CLK_TCK")


def group_cpu(pgid: int) -> float:
    """CPU seconds used so far by the server's process group (the server, its zygote, its workers)."""
    total = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
                if int(fields[2]) == pgid:
                    total += int(fields[11]) + int(fields[12])
    return total / _TICK


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def measure(server: Server, ks: list[int], n_sessions: int) -> dict:
    out: dict = {}
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        await server.ready(client)
        first = await session(client, server, 1)
        later = [await session(client, server, 1) for _ in range(5)]
        out["first"] = (first[0], statistics.median(t[0] for t in later))
        for k in ks:
            cpu0 = group_cpu(server.proc.pid)
            runs = [await session(client, server, k) for _ in range(3 if k <= 50 else 1)]
            cpu = (group_cpu(server.proc.pid) - cpu0) * 1e3 / sum(len(r) for r in runs)
            best = min(runs, key=sum)
            out[k] = {"session": sum(best), "first_resume": best[1] if len(best) > 1 else 0.0,
                      "last_resume": best[-1], "cpu": cpu}
        t0 = time.perf_counter()
        all_times = await asyncio.gather(*(session(client, server, 10) for _ in range(n_sessions)))
        wall = time.perf_counter() - t0
        flat = [t for ts in all_times for t in ts]
        out["concurrent"] = {"wall": wall, "sessions_s": n_sessions / wall, "p50": statistics.median(flat),
                             "p99": pct(flat, 0.99), "requests": len(flat)}
    return out


def report(results: dict[str, dict], ks: list[int], n_sessions: int) -> None:
    names = list(results)
    print(f"{'K tool calls':<14}" + "".join(f"{n + ' session ms':>22}{'first/last resume':>20}{'CPU ms/req':>12}"
                                           for n in names) + ("    ratio session" if len(names) == 2 else ""))
    print("-" * (14 + 54 * len(names) + (18 if len(names) == 2 else 0)))
    for k in ks:
        row = f"{k:<14}"
        for n in names:
            r = results[n][k]
            row += f"{r['session']:22.1f}{r['first_resume']:9.2f} /{r['last_resume']:8.2f}{r['cpu']:12.2f}"
        if len(names) == 2:
            row += f"{results[names[1]][k]['session'] / results[names[0]][k]['session']:17.2f}x"
        print(row)
    print()
    for n in names:
        r = results[n]
        lo, hi = (10 if 10 in ks else min(ks)), max(ks)
        print(f"{n}: session K={hi} / K={lo} = {r[hi]['session'] / r[lo]['session']:.1f}x "
              f"(calls {hi / lo:.0f}x); last resume at K={hi} / first = "
              f"{r[hi]['last_resume'] / max(r[hi]['first_resume'], 1e-9):.2f}x; "
              f"first request after start {r['first'][0]:.1f} ms vs later {r['first'][1]:.1f} ms "
              f"({r['first'][0] / r['first'][1]:.1f}x)")
        c = r["concurrent"]
        print(f"{'':<{len(n) + 2}}{n_sessions} concurrent sessions of K=10: {c['sessions_s']:.1f} sessions/s, "
              f"request p50 {c['p50']:.1f} ms, p99 {c['p99']:.1f} ms ({c['requests']} requests, {c['wall']:.2f} s)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ks", default="1,10,50,200")
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--replay-only", action="store_true")
    args = ap.parse_args(argv)
    ks = [int(x) for x in args.ks.split(",")]
    modes = [("replay", False)] if args.replay_only else [("replay", False), ("warm", True)]
    with tempfile.TemporaryDirectory(prefix="airlock-scale-") as tmp, FakeLLM(record=False) as fake:
        fake.handler = planner_reply
        results: dict[str, dict] = {}
        for name, warm in modes:
            server = Server(Path(tmp), fake.base_url, warm)
            try:
                results[name] = asyncio.run(measure(server, ks, args.sessions))
            finally:
                server.stop()
        report(results, ks, args.sessions)


if __name__ == "__main__":
    main()
