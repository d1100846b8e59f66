"""Which upstream HTTP client: httpx vs aiohttp, side by side, against the fast fake upstream.

The gateway's upstream call is the largest per-request cost it controls, so the client is picked
by measurement (issue #14). Each client runs in this process on uvloop, keep-alive pool sized
like Airlock's (``upstream_max_connections``), POSTing the same ~1 KB chat body; we record the
process CPU time per request (``time.process_time``: what the gateway pays on its cores) and
the wall-clock throughput, at concurrency 1 and 64, in interleaved rounds.

    .venv/bin/python bench/_gateway/clients.py [--requests 4000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import httpx
import uvloop

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
from bench._gateway.upstream import MODEL  # noqa: E402

BODY = (b'{"model":"' + MODEL.encode() + b'","messages":[{"role":"system","content":"' + b"You are helpful. " * 40
        + b'"},{"role":"user","content":"Which documents do I need?"}]}')
HEADERS = {"content-type": "application/json", "authorization": "Bearer sk-fake"}


async def run_httpx(url: str, n: int, conc: int) -> tuple[float, float]:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200, keepalive_expiry=30)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        async def one() -> None:
            r = await client.post(url, content=BODY, headers=HEADERS)
            assert r.status_code == 200 and r.content
        return await _drive(one, n, conc)


async def run_aiohttp(url: str, n: int, conc: int) -> tuple[float, float]:
    connector = aiohttp.TCPConnector(limit=200, limit_per_host=0, keepalive_timeout=30)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as client:
        async def one() -> None:
            async with client.post(url, data=BODY, headers=HEADERS) as r:
                assert r.status == 200 and await r.read()
        return await _drive(one, n, conc)


async def _drive(one, n: int, conc: int) -> tuple[float, float]:
    for _ in range(conc * 2):  # fill the pool, warm the code paths
        await one()
    left = n

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await one()

    c0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conc)))
    return time.process_time() - c0, time.perf_counter() - t0


CLIENTS = {"httpx": run_httpx, "aiohttp": run_aiohttp}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=4000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--concurrency", default="1,64")
    args = p.parse_args()
    concs = [int(c) for c in args.concurrency.split(",")]
    fake = subprocess.Popen([sys.executable, str(HERE / "upstream.py")], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        port = int(fake.stdout.readline())  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        totals: dict[tuple[str, int], list[float]] = {}
        for rnd in range(args.rounds):
            names = list(CLIENTS) if rnd % 2 == 0 else list(CLIENTS)[::-1]
            for conc in concs:
                for name in names:
                    cpu, wall = uvloop.run(CLIENTS[name](url, args.requests, conc))
                    acc = totals.setdefault((name, conc), [0.0, 0.0, 0.0])
                    acc[0] += cpu; acc[1] += wall; acc[2] += args.requests
        print(f"\nUpstream client, {args.requests} POSTs x {args.rounds} rounds per cell, fake upstream "
              f"(uvloop+httptools) in its own process, {os.cpu_count()} CPUs\n")
        print("| client | concurrency | client CPU ms/req | req/s |")
        print("|---|---:|---:|---:|")
        for (name, conc), (cpu, wall, n) in sorted(totals.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            print(f"| {name} {version(name)} | {conc} | {1e3 * cpu / n:.3f} | {n / wall:.0f} |")
    finally:
        fake.stdin.close()  # type: ignore[union-attr]
        fake.wait(timeout=5)


def version(name: str) -> str:
    return {"httpx": httpx.__version__, "aiohttp": aiohttp.__version__}[name]


if __name__ == "__main__":
    main()
