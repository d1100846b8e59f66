"""Gateway benchmark (issues #2, #14): Airlock vs the Portkey gateway vs the LiteLLM proxy.

Every server runs in its own process group on 127.0.0.1, all pointed at one fast fake upstream
(``bench/_gateway/upstream.py``: uvloop + httptools, each answer in one write):

* ``direct``      — the fake upstream itself (the baseline "added" latency is measured against);
* ``airlock``     — ``airlock serve --workers N`` (default: one per core), single-LLM passthrough
  ``POST /control/chat/openai/v1/chat/completions`` with a minted key and BYOK ``X-Api-Key``;
* ``airlock-1w``  — the same with ``--workers 1`` (per-process cost, comparable to Node's one thread);
* ``portkey``     — the Portkey AI gateway (npm ``@portkey-ai/gateway``, Node), patched to stream on
  Node 20 by ``bench/_gateway/portkey.py`` (installed into bench/.portkey on first use);
* ``litellm``     — the LiteLLM proxy from its own venv (bench/.venv-litellm, created on first use).

The load comes from a separate process, wrk (``bench/_gateway/wrk.py``), one thread, keep-alive
connections, for Chat Completions JSON and SSE (``stream: true``) at each concurrency. Rounds are
interleaved: every round runs every (concurrency, kind, system) cell, system order alternating,
so the noise of a small machine falls on all alike. Reported per system and kind: p50/p99 at
concurrency 1 and "added" p50 (system − direct), throughput at each concurrency, throughput at
the highest concurrency as a share of the system's best, server CPU per request (the system's own
process group, from /proc) at concurrency 1 and 64, RSS after the load, errors; then the ratios
Airlock / Portkey and Airlock / LiteLLM, and the issue-14 targets with PASS/FAIL.

    .venv/bin/python bench/gateway.py            # full: c = 1,8,64,256, 3 rounds x 3 s per cell
    .venv/bin/python bench/gateway.py --quick    # c = 1,64, 1 round x 2 s (a smoke run, ~2 min)
    options: --rounds R --seconds S --concurrency 1,8,64,256 --skip-litellm --skip-portkey
             --airlock-workers N --keep-logs
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench._gateway import litellm, portkey, wrk  # noqa: E402
from bench._gateway.procs import airlock_bin, free_port, start_upstream, wait_http  # noqa: E402
from bench._gateway.upstream import MODEL  # noqa: E402

UPSTREAM_KEY = "sk-fake-upstream"
SYSTEM_PROMPT = ("You are a helpful assistant for a travel agency. Answer briefly, cite the booking "
                 "reference when one is given, and never invent prices. ") * 4
USER_TEXT = "Which documents do I need to board a flight from Zurich to London next Tuesday? Booking ref ZRH-4471."
KINDS = ("json", "sse")


def chat_body(stream: bool) -> bytes:
    body: dict = {"model": MODEL, "messages": [{"role": "system", "content": SYSTEM_PROMPT},
                                               {"role": "user", "content": USER_TEXT}]}
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


# ---------------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _group_stats(pgid: int) -> tuple[float, int]:
    """(CPU seconds so far, RSS bytes now) of every process in group ``pgid``."""
    cpu, rss = 0, 0
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            if int(fields[2]) == pgid:  # pgrp
                cpu += int(fields[11]) + int(fields[12])  # utime + stime
                rss += int(fields[21]) * page
    return cpu / _TICK, rss


@dataclass
class System:
    name: str
    url: str
    headers: dict[str, str]
    proc: subprocess.Popen | None = None
    log: Path | None = None
    # (kind, concurrency) -> one wrk result per round, and the server CPU seconds of each
    runs: dict[tuple[str, int], list[wrk.WrkResult]] = field(default_factory=dict)
    cpu: dict[tuple[str, int], float] = field(default_factory=dict)
    rss: int = 0

    @property
    def pgid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def script(self, kind: str) -> str:
        return wrk.lua_script(chat_body(kind == "sse"), {"Content-Type": "application/json", **self.headers})

    def tail(self) -> str:
        with contextlib.suppress(OSError, TypeError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-15:])  # type: ignore[union-attr]
        return ""


class Servers:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[subprocess.Popen] = []

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen, Path]:
        log = self.workdir / f"{name}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(argv, env=env, cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc, log

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)  # its own group: reaches its workers too
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)


def start_airlock(servers: Servers, upstream: str, workers: int, name: str) -> System:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_")}
    env.update(AIRLOCK_DATABASE_URL=f"sqlite+aiosqlite:///{servers.workdir}/{name}.db",
               AIRLOCK_OPENAI_BASE_URL=f"{upstream}/v1", AIRLOCK_LOG_LEVEL="warning")
    made = subprocess.run([airlock_bin(), "keys", "create", "--name", "bench", "--arch", "single-llm"], env=env,
                          cwd=servers.workdir, capture_output=True, text=True, timeout=60)
    if made.returncode != 0:
        raise RuntimeError(f"airlock keys create failed: {made.stderr.strip()[-500:]}")
    key = made.stdout.strip().splitlines()[-1]
    port = free_port()
    proc, log = servers.spawn(name, [airlock_bin(), "serve", "--host", "127.0.0.1", "--port", str(port),
                                     "--workers", str(workers)], env)
    s = System(name, f"http://127.0.0.1:{port}/control/chat/openai/v1/chat/completions",
               {"Authorization": f"Bearer {key}", "X-Api-Key": UPSTREAM_KEY}, proc, log)
    wait_http(f"http://127.0.0.1:{port}/control/health", 90, proc)
    return s


def start_portkey(servers: Servers, upstream: str) -> System:
    portkey.ensure_portkey()
    port = free_port()
    proc, log = servers.spawn("portkey", portkey.command(port))
    s = System("portkey", f"http://127.0.0.1:{port}/v1/chat/completions",
               portkey.headers(f"{upstream}/v1", UPSTREAM_KEY), proc, log)
    _wait_port(port, proc, 60)
    return s


def start_litellm(servers: Servers, upstream: str) -> System:
    port = free_port()
    argv, env, master = litellm.prepare(servers.workdir, f"{upstream}/v1", MODEL, UPSTREAM_KEY, port)
    proc, log = servers.spawn("litellm", argv, env)
    return System("litellm", f"http://127.0.0.1:{port}/v1/chat/completions", {"Authorization": f"Bearer {master}"},
                  proc, log)


def _wait_port(port: int, proc: subprocess.Popen, timeout_s: float) -> None:
    import socket

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"port {port} not open within {timeout_s:.0f} s")


def check(s: System) -> None:
    """One JSON and one streamed answer must be right before anything is timed."""
    for stream in (False, True):
        req = urllib.request.Request(s.url, data=chat_body(stream), method="POST",
                                     headers={"Content-Type": "application/json", **s.headers})
        with urllib.request.urlopen(req, timeout=30) as resp:
            data = resp.read()
            status = resp.status
        ok = b"[DONE]" in data and b"passport" in data if stream else \
            json.loads(data)["choices"][0]["message"]["content"].startswith("echo:")
        if status != 200 or not ok:
            raise RuntimeError(f"{s.name}: unexpected {'streamed ' if stream else ''}answer {status}: {data[:300]!r}")


# ---------------------------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------------------------


def measure(systems: list[System], args: argparse.Namespace) -> None:
    print(f"[warm-up] {args.seconds} s per system and kind at concurrency 8", flush=True)
    for s in systems:
        for kind in KINDS:
            wrk.run(s.url, s.script(kind), connections=8, seconds=args.seconds)
    t0 = time.perf_counter()
    cells = len(args.concurrency) * len(KINDS) * len(systems)
    print(f"[measure] {args.rounds} rounds x {cells} cells x {args.seconds} s "
          f"(~{args.rounds * cells * (args.seconds + 0.3) / 60:.1f} min)", flush=True)
    for rnd in range(args.rounds):
        for conc in args.concurrency:
            for kind in KINDS:
                for s in (systems if rnd % 2 == 0 else systems[::-1]):
                    c0, _ = _group_stats(s.pgid) if s.pgid else (0.0, 0)
                    result = wrk.run(s.url, s.script(kind), connections=conc, seconds=args.seconds)
                    c1, rss = _group_stats(s.pgid) if s.pgid else (0.0, 0)
                    s.runs.setdefault((kind, conc), []).append(result)
                    s.cpu[(kind, conc)] = s.cpu.get((kind, conc), 0.0) + c1 - c0
                    s.rss = max(s.rss, rss)
        print(f"[measure] round {rnd + 1}/{args.rounds} done ({time.perf_counter() - t0:.0f} s)", flush=True)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def rps(s: System, kind: str, conc: int) -> float:
    runs = s.runs[(kind, conc)]
    return sum(r.requests for r in runs) / sum(r.seconds for r in runs)


def p(s: System, kind: str, conc: int, q: str) -> float:
    return statistics.median(getattr(r, q) for r in s.runs[(kind, conc)])


def cpu_ms(s: System, kind: str, conc: int) -> float:
    n = sum(r.requests for r in s.runs[(kind, conc)])
    return 1e3 * s.cpu[(kind, conc)] / n if n else float("nan")


def errors(s: System, kind: str) -> int:
    return sum(r.errors for (k, _), runs in s.runs.items() if k == kind for r in runs)


def ratio(a: float, b: float, fmt: str = "{:.2f}") -> str:
    """``a / b`` for the tables; a rival that completed nothing in a cell (LiteLLM's SSE at
    c = 256 on some runs) has no ratio, rather than ending the run with a ZeroDivisionError."""
    return fmt.format(a / b) if b > 0 else "—"


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w)  # noqa: E731
                                           for i, (c, w) in enumerate(zip(cells, widths))) + " |"
    sep = "|" + "|".join(("-" * (w + 1) + ":") if i else ("-" * (w + 2)) for i, w in enumerate(widths)) + "|"
    return [line(head), sep, *(line(r) for r in rows)]


def report(systems: list[System], args: argparse.Namespace, notes: list[str]) -> str:
    concs, lo, hi = args.concurrency, args.concurrency[0], args.concurrency[-1]
    mid = 64 if 64 in concs else concs[len(concs) // 2]
    direct = systems[0]
    out: list[str] = []
    for kind in KINDS:
        d50 = p(direct, kind, lo, "p50")
        head = ["system", f"p50 ms @{lo}", f"added p50 ms", f"p99 ms @{lo}", *[f"req/s @{c}" for c in concs],
                f"@{hi} / best", f"CPU ms/req @{lo}", f"CPU ms/req @{mid}", "RSS MiB", "errors"]
        rows = []
        for s in systems:
            best = max(rps(s, kind, c) for c in concs)
            rows.append([s.name, f"{p(s, kind, lo, 'p50') * 1e3:.2f}",
                         "—" if s is direct else f"{(p(s, kind, lo, 'p50') - d50) * 1e3:.2f}",
                         f"{p(s, kind, lo, 'p99') * 1e3:.2f}", *[f"{rps(s, kind, c):.0f}" for c in concs],
                         ratio(rps(s, kind, hi), best, "{:.0%}"), f"{cpu_ms(s, kind, lo):.2f}", f"{cpu_ms(s, kind, mid):.2f}",
                         f"{s.rss / 2**20:.0f}", str(errors(s, kind))])
        title = "Chat Completions JSON" if kind == "json" else "Chat Completions SSE (stream: true, time to last byte)"
        out += [f"{title} — single-LLM passthrough", "", *table(head, rows), ""]

    by = {s.name: s for s in systems}
    air = by.get("airlock")
    rivals = [by[n] for n in ("portkey", "litellm") if n in by]
    if air is not None and rivals:
        head = ["Airlock / rival", "kind", "added p50 (lower is better)", *[f"req/s @{c}" for c in concs], f"CPU/req @{mid}"]
        rows = []
        for r in rivals:
            for kind in KINDS:
                d50 = p(direct, kind, lo, "p50")
                a_add, r_add = p(air, kind, lo, "p50") - d50, p(r, kind, lo, "p50") - d50
                rows.append([f"vs {r.name}", kind, ratio(a_add, r_add),
                             *[ratio(rps(air, kind, c), rps(r, kind, c)) for c in concs],
                             ratio(cpu_ms(air, kind, mid), cpu_ms(r, kind, mid))])
        out += ["Ratios (Airlock ÷ rival; throughput > 1 and latency/CPU < 1 favour Airlock)", "", *table(head, rows), ""]

    if air is not None:
        out.append("Targets (issue #14)")
        pk = by.get("portkey")
        for kind in KINDS:
            d50 = p(direct, kind, lo, "p50")
            a_add = p(air, kind, lo, "p50") - d50
            if pk is not None:
                k_add = p(pk, kind, lo, "p50") - d50
                out.append(f"- {kind}: added p50 {a_add * 1e3:.2f} ms vs Portkey {k_add * 1e3:.2f} ms: "
                           f"{'PASS' if a_add <= k_add else 'FAIL'} (≤ Portkey's)")
                if mid in concs:
                    out.append(f"- {kind}: req/s @{mid} {rps(air, kind, mid):.0f} vs Portkey {rps(pk, kind, mid):.0f}: "
                               f"{'PASS' if rps(air, kind, mid) >= rps(pk, kind, mid) else 'FAIL'} (≥ Portkey's)")
            best = max(rps(air, kind, c) for c in concs)
            out.append(f"- {kind}: req/s @{hi} {rps(air, kind, hi):.0f} = {ratio(rps(air, kind, hi), best, '{:.0%}')} of best "
                       f"{best:.0f}: {'PASS' if rps(air, kind, hi) >= 0.9 * best else 'FAIL'} (≥ 90%)")
            worst = max(cpu_ms(air, kind, c) for c in concs)
            out.append(f"- {kind}: server CPU per request {cpu_ms(air, kind, lo):.2f} ms @{lo}, "
                       f"{cpu_ms(air, kind, mid):.2f} ms @{mid}, worst {worst:.2f}: "
                       f"{'PASS' if worst <= 1.0 else 'FAIL'} (≤ 1 ms)")
        out.append("")
    out += notes
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="c = 1,64, one round of 2 s per cell")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3; quick 1)")
    ap.add_argument("--seconds", type=int, default=None, help="whole seconds per wrk run (default 3; quick 2)")
    ap.add_argument("--concurrency", default=None, help="comma-separated (default 1,8,64,256; quick 1,64)")
    ap.add_argument("--airlock-workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--skip-portkey", action="store_true")
    ap.add_argument("--skip-litellm", action="store_true")
    ap.add_argument("--keep-logs", action="store_true")
    args = ap.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.seconds = args.seconds or (2 if args.quick else 3)
    args.concurrency = sorted(int(c) for c in (args.concurrency or ("1,64" if args.quick else "1,8,64,256")).split(","))
    return args


def run(args: argparse.Namespace, servers: Servers) -> str:
    notes: list[str] = []
    upstream, url = start_upstream()
    try:
        systems = [System("direct", f"{url}/v1/chat/completions", {"Authorization": f"Bearer {UPSTREAM_KEY}"},
                          upstream.proc)]
        lite = None
        if not args.skip_litellm:  # slow to boot: start it first, let the others come up meanwhile
            try:
                lite = start_litellm(servers, url)
            except Exception as exc:  # noqa: BLE001 — report and go on without it
                notes.append(f"LiteLLM skipped: {exc}")
        starters = [("airlock", lambda: start_airlock(servers, url, args.airlock_workers, "airlock"))]
        if args.airlock_workers != 1:
            starters.append(("airlock-1w", lambda: start_airlock(servers, url, 1, "airlock-1w")))
        if not args.skip_portkey:
            starters.append(("portkey", lambda: start_portkey(servers, url)))
        for name, start in starters:
            try:
                systems.append(start())
            except Exception as exc:  # noqa: BLE001
                notes.append(f"{name} skipped: {exc}")
        if lite is not None:
            try:
                wait_http(lite.url.replace("/v1/chat/completions", "/health/liveliness"), 240, lite.proc)
                systems.append(lite)
            except Exception as exc:  # noqa: BLE001
                notes.append(f"LiteLLM skipped: {exc}\n{lite.tail()}")
        for s in list(systems):
            try:
                check(s)
            except Exception as exc:  # noqa: BLE001
                if s.name == "direct":
                    raise
                notes.append(f"{s.name} skipped: {exc}")
                systems.remove(s)
        print("[setup] measuring: " + ", ".join(s.name for s in systems), flush=True)
        for n in notes:
            print(n, flush=True)
        measure(systems, args)
    finally:
        upstream.stop()
    notes.append(
        f"setup: {os.cpu_count()} CPUs shared by the servers, the fake upstream and wrk (1 thread); "
        f"Python {sys.version.split()[0]}, Node {_node_version()}, Portkey {portkey.VERSION}"
        + (f", LiteLLM {litellm.version()}" if any(s.name == "litellm" for s in systems) else "")
        + f"; airlock --workers {args.airlock_workers}; {args.rounds} rounds x {args.seconds} s per cell; "
          f"request {len(chat_body(False))} B. CPU = the system's own process group (for direct: the fake).")
    return report(systems, args, notes)


def _node_version() -> str:
    with contextlib.suppress(Exception):
        return subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    return "?"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if wrk.wrk_path() is None:
        print("error: wrk is needed as the load generator (Debian/Ubuntu: apt-get install wrk)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="airlock-gateway-bench-"))
    servers = Servers(workdir)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        print("\n" + run(args, servers))
        return 0
    except KeyboardInterrupt:
        return 130
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        servers.stop_all()
        if args.keep_logs:
            print(f"logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
