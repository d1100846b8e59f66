"""Warm start (issue #14): the first request after ``airlock serve`` starts vs the ones after it.

For each of ``--starts`` fresh server processes (new database, new key): wait until
``/control/health`` answers 200, open a keep-alive connection (one more health probe on it), then
time the first LLM request and ``--later`` more of the same kind on it. Kinds, each on its own fresh server so each is a true
first request: single-LLM JSON passthrough, streamed passthrough, and a request whose X-Policy
carries SQRT code (the first policy compile). Upstream: the fast fake (bench/_gateway/upstream.py).
Target: first ≤ 2x the median of the later ones.

    .venv/bin/python bench/warm_start.py [--starts 3] [--later 50]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench._gateway.procs import airlock_bin, free_port, start_upstream, wait_http  # noqa: E402

POLICY = json.dumps({"codes": {"language": "sqrt", "code": 'tool "send_email" { hard deny when to.value in {"evil@x.com"}; }'}})
KINDS = {
    "JSON": ({}, False),
    "SSE": ({}, True),
    "JSON + X-Policy": ({"X-Policy": POLICY}, False),
}
BODY = {"model": "fake-model", "messages": [{"role": "user", "content": "Which documents do I need to board?"}]}


def one_start(upstream_url: str, headers: dict[str, str], stream: bool, later: int) -> tuple[float, list[float]]:
    work = Path(tempfile.mkdtemp(prefix="airlock-warm-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_")}
    env.update(AIRLOCK_DATABASE_URL=f"sqlite+aiosqlite:///{work}/a.db", AIRLOCK_OPENAI_BASE_URL=f"{upstream_url}/v1")
    key = subprocess.run([airlock_bin(), "keys", "create", "--name", "w"], env=env, capture_output=True, text=True,
                         check=True).stdout.split()[-1]
    port = free_port()
    proc = subprocess.Popen([airlock_bin(), "serve", "--port", str(port), "--workers", "1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/control/health", 60, proc)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.connect()
        # A readiness probe on the same connection first, as a load balancer sends: it also warms
        # this benchmark's own client (http.client's first response parse imports and compiles).
        conn.request("GET", "/control/health")
        conn.getresponse().read()
        body = json.dumps({**BODY, "stream": True} if stream else BODY)
        hdrs = {"Authorization": f"Bearer {key}", "X-Api-Key": "sk-fake", "Content-Type": "application/json", **headers}
        times = []
        for _ in range(later + 1):
            t0 = time.perf_counter()
            conn.request("POST", "/control/chat/openai/v1/chat/completions", body, hdrs)
            resp = conn.getresponse()
            data = resp.read()
            times.append(time.perf_counter() - t0)
            if resp.status != 200:
                raise RuntimeError(f"{resp.status} {data[:300]!r}")
        conn.close()
        return times[0], times[1:]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--starts", type=int, default=3)
    p.add_argument("--later", type=int, default=50)
    args = p.parse_args()
    upstream, url = start_upstream()
    rows = []
    try:
        for name, (headers, stream) in KINDS.items():
            firsts, laters = [], []
            for _ in range(args.starts):
                first, rest = one_start(url, headers, stream, args.later)
                firsts.append(first)
                laters.append(statistics.median(rest))
            f, l = statistics.median(firsts), statistics.median(laters)
            rows.append((name, f, l, f / l))
    finally:
        upstream.stop()
    print(f"\nFirst request after start vs later ones ({args.starts} starts each, median; later = median of "
          f"the next {args.later} on the same connection)\n")
    print("| request | first ms | later ms | first / later | target ≤ 2x |")
    print("|---|---:|---:|---:|---|")
    for name, f, l, r in rows:
        print(f"| {name} | {f * 1e3:.2f} | {l * 1e3:.2f} | {r:.2f} | {'PASS' if r <= 2 else 'FAIL'} |")


if __name__ == "__main__":
    main()
