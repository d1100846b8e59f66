"""Gateway overhead benchmark (issue #2): Airlock vs. LiteLLM proxy vs. the upstream called directly.

Every server runs in its own process on 127.0.0.1, all pointed at one scripted fake LLM
(``tests/fakes/llm_server.py``, default echo reply):

* ``direct``  — the fake upstream itself, ``POST /v1/chat/completions`` (the baseline);
* ``airlock`` — ``airlock serve``, single-LLM passthrough
  ``POST /control/chat/openai/v1/chat/completions`` with a freshly minted key and BYOK ``X-Api-Key``;
* ``litellm`` — ``litellm --config`` proxy with one ``openai/fake-model`` whose ``api_base`` is
  the fake's ``/v1``. LiteLLM lives in its own venv (``bench/.venv-litellm``, created on demand),
  never in the project's.

Measured from this process over keep-alive HTTP/1.1 connections parsed with httptools (a client
that costs ~0.1 ms a request; httpx costs ~1 ms here, more than the overhead being measured):

* latency: sequential requests (concurrency 1), p50/p99 per system, "added" = gateway − direct;
* streaming (``stream: true``): time to the last byte, sequential, same statistics;
* throughput: a fixed number of requests pushed at a fixed concurrency (8 and 32 by default);
* CPU: each server's own process-group CPU time per request (from /proc), and its load under
  the throughput runs, to tell a CPU-bound gateway from one that waits (locks, pools).

Systems are interleaved: each measurement is split into rounds and every round runs every system
(order alternating ABC/CBA), so noise on a small machine hits all of them alike. Each system is
warmed up first. Target (issue #2): Airlock adds < 2 ms at p50 and at most a third of LiteLLM's
added latency.

    .venv/bin/python bench/gateway.py [--requests 1000] [--concurrency 8,32] [--skip-litellm]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httptools
import httpx

REPO = Path(__file__).resolve().parent.parent
LITELLM_VENV = REPO / "bench" / ".venv-litellm"
MODEL = "fake-model"
UPSTREAM_KEY = "sk-fake-upstream"

# A modest, realistic-ish request: a system prompt and one user turn (~1 KB of JSON).
SYSTEM_PROMPT = ("You are a helpful assistant for a travel agency. Answer briefly, cite the booking "
                 "reference when one is given, and never invent prices. ") * 4
USER_TEXT = "Which documents do I need to board a flight from Zurich to London next Tuesday? Booking ref ZRH-4471."


def chat_body(stream: bool) -> bytes:
    body = {"model": MODEL, "messages": [{"role": "system", "content": SYSTEM_PROMPT},
                                         {"role": "user", "content": USER_TEXT}]}
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


# ---------------------------------------------------------------------------------------------
# Child processes
# ---------------------------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec (Linux only)
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, n: int = 15) -> str:
        with contextlib.suppress(OSError):
            lines = self.log.read_text(errors="replace").splitlines()
            return "\n".join("    " + line for line in lines[-n:]) or "    (its log is empty)"
        return "    (no log)"

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        # Each child leads its own process group (start_new_session), so this reaches its workers too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)


class Children:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.items: list[Child] = []

    def spawn(self, name: str, argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
              stdout_pipe: bool = False) -> Child:
        log = self.workdir / f"{name}.log"
        out = subprocess.PIPE if stdout_pipe else open(log, "wb")
        err = open(log, "ab") if stdout_pipe else subprocess.STDOUT
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.PIPE, stdout=out, stderr=err,
                                start_new_session=True, preexec_fn=_die_with_parent)
        child = Child(name, proc, log)
        self.items.append(child)
        return child

    def stop_all(self) -> None:
        for child in reversed(self.items):
            with contextlib.suppress(Exception):
                child.stop()


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def group_cpu(pgid: int | None) -> float:
    """CPU seconds (user + system, all threads) used so far by the processes of group ``pgid``."""
    if pgid is None:
        return 0.0
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            if int(fields[2]) == pgid:  # field 5 (pgrp), counted after the ") "
                total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICK


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FAKE_MAIN = r"""
import sys, time
from tests.fakes.llm_server import FakeLLM
fake = FakeLLM(record=False).start()
print(fake.port, flush=True)
sys.stdin.read()          # runs until the benchmark closes our stdin (or kills us)
fake.stop()
"""


def start_fake(children: Children) -> tuple[Child, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = children.spawn("fake-llm", [sys.executable, "-c", FAKE_MAIN], env=env, cwd=REPO, stdout_pipe=True)
    line = child.proc.stdout.readline().decode().strip()
    if not line.isdigit():
        raise RuntimeError(f"fake LLM did not start:\n{child.tail()}")
    return child, f"http://127.0.0.1:{int(line)}"


def airlock_bin() -> str:
    local = Path(sys.executable).parent / "airlock"
    if local.exists():
        return str(local)
    found = shutil.which("airlock") or str(REPO / ".venv" / "bin" / "airlock")
    return found


def start_airlock(children: Children, workdir: Path, fake_url: str) -> tuple[Child, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_")}
    env.update(AIRLOCK_DATABASE_URL=f"sqlite+aiosqlite:///{workdir}/bench.db",
               AIRLOCK_OPENAI_BASE_URL=f"{fake_url}/v1")
    created = subprocess.run([airlock_bin(), "keys", "create", "--name", "bench"], env=env, cwd=workdir,
                             capture_output=True, text=True, timeout=60)
    if created.returncode != 0 or not created.stdout.strip():
        raise RuntimeError(f"airlock keys create failed ({created.returncode}): {created.stderr.strip()[-800:]}")
    key = created.stdout.strip().splitlines()[-1].strip()
    port = free_port()
    child = children.spawn("airlock", [airlock_bin(), "serve", "--host", "127.0.0.1", "--port", str(port)],
                           env=env, cwd=workdir)
    return child, f"http://127.0.0.1:{port}", key


def ensure_litellm() -> Path:
    """The ``litellm`` executable of bench/.venv-litellm, creating the venv on first use."""
    exe = LITELLM_VENV / "bin" / "litellm"
    if exe.exists():
        return exe
    print(f"[setup] installing litellm[proxy] into {LITELLM_VENV} (first run only, ~1 min)...", flush=True)
    base_python = getattr(sys, "_base_executable", None) or sys.executable
    subprocess.run([base_python, "-m", "venv", str(LITELLM_VENV)], check=True, capture_output=True, timeout=300)
    pip = [str(LITELLM_VENV / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    done = subprocess.run([*pip, "litellm[proxy]"], capture_output=True, text=True, timeout=900)
    if done.returncode != 0 or not exe.exists():
        raise RuntimeError(f"pip install 'litellm[proxy]' failed: {(done.stderr or done.stdout).strip()[-800:]}")
    return exe


def start_litellm(children: Children, workdir: Path, fake_url: str) -> tuple[Child, str, str]:
    exe = ensure_litellm()
    master = "sk-" + secrets.token_hex(32)  # LiteLLM refuses to start without a (strong) master key
    cfg = workdir / "litellm.yaml"
    cfg.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        f"      model: openai/{MODEL}\n"
        f"      api_base: {fake_url}/v1\n"
        f"      api_key: {UPSTREAM_KEY}\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "general_settings:\n"
        "  disable_spend_logs: true\n"
    )
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LITELLM_", "DATABASE_URL", "REDIS_", "OPENAI_", "ANTHROPIC_"))}
    env.update(LITELLM_LOG="ERROR", LITELLM_MASTER_KEY=master, LITELLM_LOCAL_MODEL_COST_MAP="True",
               DISABLE_ADMIN_UI="True", LITELLM_TELEMETRY="False", NO_DOCS="True")
    port = free_port()
    child = children.spawn("litellm", [str(exe), "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port),
                                       "--num_workers", "1"], env=env, cwd=workdir)
    return child, f"http://127.0.0.1:{port}", master


async def wait_ready(client: httpx.AsyncClient, child: Child, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited with {child.proc.returncode}:\n{child.tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if (await client.get(url, timeout=2)).status_code == 200:
                return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{child.name} not ready after {timeout:.0f} s:\n{child.tail()}")


# ---------------------------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------------------------


class Conn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection with httptools' C parser: a load generator that costs
    ~0.1 ms per request, so the numbers are the servers' and not the client's (httpx spends
    ~1.3 ms per request on this kind of machine, more than the overhead being measured)."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future | None = None
        self.body: list[bytes] = []
        self.first_byte = 0.0
        self.closed = False

    # asyncio.Protocol
    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def connection_lost(self, exc) -> None:
        self.closed = True
        self._fail(exc or ConnectionError("connection closed by server"))

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.body = []
        self.first_byte = 0.0

    def on_body(self, chunk: bytes) -> None:
        if not self.first_byte:
            self.first_byte = time.perf_counter()
        self.body.append(chunk)

    def on_message_complete(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((self.parser.get_status_code(), b"".join(self.body)))
        if not self.parser.should_keep_alive() and self.transport is not None:
            self.transport.close()
            self.closed = True

    def _fail(self, exc: BaseException) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    async def send(self, raw: bytes, timeout: float = 60.0) -> tuple[int, bytes]:
        loop = asyncio.get_running_loop()
        self.waiter = waiter = loop.create_future()
        self.transport.write(raw)
        timer = loop.call_later(timeout, self._fail, TimeoutError(f"no answer within {timeout:.0f} s"))
        try:
            return await waiter
        finally:
            timer.cancel()


@dataclass
class System:
    name: str
    url: str  # full chat-completions URL
    headers: dict[str, str]
    lat: list[float] = field(default_factory=list)  # seconds, sequential, non-streaming
    ttlb: list[float] = field(default_factory=list)  # seconds, sequential, streaming: last byte
    ttfb: list[float] = field(default_factory=list)  # seconds, sequential, streaming: first body byte
    tput: dict[int, list[tuple[int, float]]] = field(default_factory=dict)  # conc -> [(n, elapsed)]
    pgid: int | None = None  # the server's process group, for CPU accounting
    cpu_lat: float = 0.0  # server CPU seconds during the sequential latency runs
    cpu_tput: dict[int, float] = field(default_factory=dict)  # conc -> server CPU seconds
    errors: int = 0
    last_error: str = ""
    pool: list[Conn] = field(default_factory=list)
    raw: dict[bool, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        u = urlsplit(self.url)
        self.host, self.port = u.hostname, u.port
        for stream in (False, True):
            body = chat_body(stream)
            head = [f"POST {u.path} HTTP/1.1", f"Host: {u.netloc}", "Content-Type: application/json",
                    f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in self.headers.items())]
            self.raw[stream] = ("\r\n".join(head) + "\r\n\r\n").encode() + body

    async def conn(self, i: int) -> Conn:
        while len(self.pool) <= i:
            self.pool.append(None)  # type: ignore[arg-type]
        c = self.pool[i]
        if c is None or c.closed:
            _, c = await asyncio.get_running_loop().create_connection(Conn, self.host, self.port)
            c.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.pool[i] = c
        return c

    def close(self) -> None:
        for c in self.pool:
            if c is not None and c.transport is not None:
                c.transport.close()


async def one(s: System, stream: bool = False, slot: int = 0) -> float:
    """One request on connection ``slot``; seconds to the last byte (streams also log first byte)."""
    c = await s.conn(slot)
    t0 = time.perf_counter()
    try:
        status, data = await c.send(s.raw[stream])
    except (OSError, TimeoutError, httptools.HttpParserError) as exc:
        s.errors += 1
        s.last_error = repr(exc)
        if c.transport is not None:
            c.transport.close()
        c.closed = True
        return time.perf_counter() - t0
    dt = time.perf_counter() - t0
    if status != 200 or (stream and b"[DONE]" not in data):
        s.errors += 1
        s.last_error = f"{status} {data[:200]!r}"
    if stream and c.first_byte:
        s.ttfb.append(c.first_byte - t0)
    return dt


async def burst(s: System, n: int, conc: int) -> float:
    """``n`` requests by ``conc`` workers, each on its own keep-alive connection; wall-clock seconds."""
    left = n
    for i in range(conc):
        await s.conn(i)

    async def worker(slot: int) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await one(s, False, slot)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(conc)))
    return time.perf_counter() - t0


def pct(samples: list[float], q: float) -> float:
    xs = sorted(samples)
    if not xs:
        return float("nan")
    k = max(0, min(len(xs) - 1, int(round(q / 100 * len(xs) + 0.5)) - 1))  # nearest rank
    return xs[k]


def order(systems: list[System], rnd: int) -> list[System]:
    return systems if rnd % 2 == 0 else systems[::-1]


async def check(s: System) -> None:
    status, data = await (await s.conn(0)).send(s.raw[False])
    text = ""
    with contextlib.suppress(Exception):
        text = json.loads(data)["choices"][0]["message"]["content"]
    if status != 200 or not text.startswith("echo:"):
        raise RuntimeError(f"{s.name}: unexpected answer {status}: {data[:300]!r}")


async def measure(systems: list[System], args: argparse.Namespace) -> None:
    print(f"[warm-up] {args.warmup} sequential (+ as many streamed) and {max(args.concurrency) * 4} concurrent "
          "requests per system", flush=True)
    for s in systems:
        for _ in range(args.warmup):
            await one(s)
            if args.stream:
                await one(s, True)
        await burst(s, max(args.concurrency) * 4, max(args.concurrency))
        s.errors, s.ttfb = 0, []

    gc.collect()
    gc.freeze()
    rounds = args.rounds
    per = max(1, args.requests // rounds)
    t0 = time.perf_counter()
    print(f"[latency] {per * rounds} sequential requests per system, {rounds} interleaved rounds", flush=True)
    for rnd in range(rounds):
        for s in order(systems, rnd):
            c0 = group_cpu(s.pgid)
            for _ in range(per):
                s.lat.append(await one(s))
            s.cpu_lat += group_cpu(s.pgid) - c0
    if args.stream:
        print(f"[stream]  {per * rounds} sequential streamed requests per system", flush=True)
        for rnd in range(rounds):
            for s in order(systems, rnd):
                for _ in range(per):
                    s.ttlb.append(await one(s, True))
    for conc in args.concurrency:
        trounds = args.tput_rounds
        tper = max(conc, args.requests // trounds)
        print(f"[throughput] concurrency {conc}: {tper * trounds} requests per system, {trounds} rounds", flush=True)
        for rnd in range(trounds):
            for s in order(systems, rnd):
                c0 = group_cpu(s.pgid)
                s.tput.setdefault(conc, []).append((tper, await burst(s, tper, conc)))
                s.cpu_tput[conc] = s.cpu_tput.get(conc, 0.0) + group_cpu(s.pgid) - c0
    print(f"[done] measured in {time.perf_counter() - t0:.1f} s", flush=True)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def report(systems: list[System], args: argparse.Namespace, notes: list[str]) -> str:
    ms = lambda x: f"{x * 1e3:.2f}"  # noqa: E731
    direct = systems[0]
    d50, d99 = pct(direct.lat, 50), pct(direct.lat, 99)
    concs = args.concurrency
    head = ["system", "p50 ms", "p99 ms", "added p50", "added p99", *[f"req/s @{c}" for c in concs], "errors"]
    rows, rows2 = [], []
    for s in systems:
        p50, p99 = pct(s.lat, 50), pct(s.lat, 99)
        added = ["—", "—"] if s is direct else [ms(p50 - d50), ms(p99 - d99)]
        rps = [f"{sum(n for n, _ in s.tput[c]) / sum(t for _, t in s.tput[c]):.0f}" for c in concs]
        rows.append([s.name, ms(p50), ms(p99), *added, *rps, str(s.errors)])
        # /proc counts in clock ticks (10 ms): too short a window says nothing.
        cpu = [f"{100 * s.cpu_tput[c] / sum(t for _, t in s.tput[c]):.0f}%" if sum(t for _, t in s.tput[c]) >= 1
               else "—" for c in concs]
        rows2.append([s.name, f"{1e3 * s.cpu_lat / len(s.lat):.2f}" if sum(s.lat) >= 1 else "—", *cpu])
    out = ["Non-streaming chat completions (latency: sequential; added = system − direct)", "", *table(head, rows),
           "", "Server process CPU (the system's own process group; direct = the fake upstream)", "",
           *table(["system", "CPU ms/req (sequential)", *[f"CPU @{c} (100% = 1 core)" for c in concs]], rows2)]

    if args.stream:
        t50, t99 = pct(direct.ttlb, 50), pct(direct.ttlb, 99)
        rows = []
        for s in systems:
            p50, p99 = pct(s.ttlb, 50), pct(s.ttlb, 99)
            added = ["—", "—"] if s is direct else [ms(p50 - t50), ms(p99 - t99)]
            rows.append([s.name, ms(p50), ms(p99), *added, ms(pct(s.ttfb, 50))])
        out += ["", "Streaming chat completions, time to last byte (sequential)", "",
                *table(["system", "p50 ms", "p99 ms", "added p50", "added p99", "first byte p50"], rows)]

    by = {s.name: s for s in systems}
    air = by.get("airlock")
    out.append("")
    if air is not None:
        a50, a99 = pct(air.lat, 50) - d50, pct(air.lat, 99) - d99
        verdict = [f"Airlock added p50 {a50 * 1e3:.2f} ms: {'PASS' if a50 < 0.002 else 'FAIL'} (target < 2 ms)"]
        lite = by.get("litellm")
        if lite is not None:
            l50, l99 = pct(lite.lat, 50) - d50, pct(lite.lat, 99) - d99
            r50, r99 = a50 / l50 if l50 > 0 else float("nan"), a99 / l99 if l99 > 0 else float("nan")
            verdict.append(f"Airlock-added / LiteLLM-added: p50 {r50:.3f}, p99 {r99:.3f}: "
                           f"{'PASS' if r50 <= 1 / 3 else 'FAIL'} (target ≤ 0.333 at p50)")
            if args.stream:
                t50 = pct(direct.ttlb, 50)
                sa, sl = pct(air.ttlb, 50) - t50, pct(lite.ttlb, 50) - t50
                if sl > 0:
                    verdict.append(f"streaming (TTLB) Airlock-added / LiteLLM-added at p50: {sa / sl:.3f}")
        out += verdict
    out += notes
    return "\n".join(out)


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    fmt = lambda cells: "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w)  # noqa: E731
                                          for i, (c, w) in enumerate(zip(cells, widths))) + " |"
    sep = "|" + "|".join(("-" * (w + 1) + ":") if i else ("-" * (w + 2)) for i, w in enumerate(widths)) + "|"
    return [fmt(head), sep, *(fmt(r) for r in rows)]


# ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=1000,
                   help="requests per system for each measurement (latency, streaming, each concurrency)")
    p.add_argument("--concurrency", default="8,32", help="comma-separated concurrency levels for throughput")
    p.add_argument("--skip-litellm", action="store_true", help="measure only direct and Airlock")
    p.add_argument("--no-stream", dest="stream", action="store_false", help="skip the streaming measurement")
    p.add_argument("--rounds", type=int, default=10, help="interleaved rounds for the latency measurements")
    p.add_argument("--tput-rounds", type=int, default=4, help="interleaved rounds for each throughput level")
    p.add_argument("--warmup", type=int, default=50, help="sequential warm-up requests per system")
    p.add_argument("--keep-logs", action="store_true", help="keep the temporary directory with the servers' logs")
    args = p.parse_args(argv)
    args.concurrency = [int(c) for c in str(args.concurrency).split(",") if c.strip()]
    if not args.concurrency or min(args.concurrency) < 1 or args.requests < 1:
        p.error("--requests and --concurrency must be positive")
    return args


async def amain(args: argparse.Namespace, children: Children, workdir: Path) -> str:
    notes: list[str] = []
    t_start = time.perf_counter()
    fake, fake_url = start_fake(children)
    systems = [System("direct", f"{fake_url}/v1/chat/completions", {"Authorization": f"Bearer {UPSTREAM_KEY}"},
                      pgid=fake.proc.pid)]

    # LiteLLM boots slowly (7-20 s), so start it first and let Airlock come up meanwhile.
    lite = None
    if not args.skip_litellm:
        try:
            lite = start_litellm(children, workdir, fake_url)
        except Exception as exc:  # noqa: BLE001 — report and go on without it
            notes.append(f"LiteLLM skipped: {exc}")
    air = None
    try:
        air, air_url, key = start_airlock(children, workdir, fake_url)
    except Exception as exc:  # noqa: BLE001 — report and go on without it
        notes.append(f"Airlock skipped: {exc}")

    async with httpx.AsyncClient(trust_env=False) as probe:
        if air is not None:
            try:
                await wait_ready(probe, air, f"{air_url}/control/health", 60)
                systems.append(System("airlock", f"{air_url}/control/chat/openai/v1/chat/completions",
                                      {"Authorization": f"Bearer {key}", "X-Api-Key": UPSTREAM_KEY},
                                      pgid=air.proc.pid))
            except Exception as exc:  # noqa: BLE001
                notes.append(f"Airlock skipped: {exc}")
                air.stop()
        if lite is not None:
            child, url, master = lite
            try:
                await wait_ready(probe, child, f"{url}/health/liveliness", 180)
                systems.append(System("litellm", f"{url}/v1/chat/completions", {"Authorization": f"Bearer {master}"},
                                      pgid=child.proc.pid))
            except Exception as exc:  # noqa: BLE001
                notes.append(f"LiteLLM skipped: {exc}")
                child.stop()
        for s in list(systems):
            try:
                await check(s)
            except Exception as exc:  # noqa: BLE001
                if s.name == "direct":
                    raise
                notes.append(f"{'LiteLLM' if s.name == 'litellm' else 'Airlock'} skipped: {exc}")
                systems.remove(s)
    print(f"[setup] servers ready in {time.perf_counter() - t_start:.1f} s: "
          + ", ".join(s.name for s in systems), flush=True)
    for n in notes:
        print(n, flush=True)

    try:
        await measure(systems, args)
    finally:
        for s in systems:
            s.close()
    for s in systems:
        if s.errors:
            notes.append(f"{s.name}: {s.errors} failed requests, last: {s.last_error}")
    loop_name = type(asyncio.get_running_loop()).__module__.split(".")[0]
    notes.append(
        f"\nsetup: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, client: keep-alive HTTP/1.1 "
        f"connections with httptools on {loop_name} in the benchmark process; servers ({', '.join(x.name for x in systems)}) "
        f"each in its own process (1 worker), all on 127.0.0.1; request ~{len(chat_body(False))} B JSON; --requests {args.requests} "
        f"--concurrency {','.join(map(str, args.concurrency))} --rounds {args.rounds}.")
    lite_ver = _litellm_version()
    if lite_ver and any(s.name == "litellm" for s in systems):
        notes.append(f"LiteLLM {lite_ver} (bench/.venv-litellm).")
    return report(systems, args, notes)


def _litellm_version() -> str:
    with contextlib.suppress(Exception):
        dist = next((LITELLM_VENV / "lib").glob("python*/site-packages/litellm-*.dist-info"))
        return dist.name.removeprefix("litellm-").removesuffix(".dist-info")
    return ""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="airlock-gateway-bench-"))
    children = Children(workdir)
    # SIGTERM → SystemExit so the finally below runs; Ctrl-C raises KeyboardInterrupt anyway.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        try:
            import uvloop

            run = uvloop.run
        except ImportError:
            run = asyncio.run
        text = run(amain(args, children, workdir))
        print("\n" + text)
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        children.stop_all()
        if args.keep_logs:
            print(f"logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
