"""The load generator: wrk (C, epoll, one thread here), driven with a Lua script per request kind.

Why wrk: on 2 cores the load generator shares the CPU with the server being measured, so it
must be cheap; wrk costs a few µs per request (~165k req/s against the fake upstream on one
thread), a Python client 100 µs or more. It keeps every connection alive, reads chunked SSE
answers to their end, and reports latency percentiles. Debian: ``apt-get install wrk``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


@dataclass
class WrkResult:
    requests: int
    seconds: float
    p50: float  # seconds
    p75: float
    p90: float
    p99: float
    errors: int  # non-2xx answers + socket errors (connect, read, write, timeout)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_path() -> str | None:
    return shutil.which("wrk")


def lua_script(body: bytes, headers: dict[str, str]) -> str:
    lines = ['wrk.method = "POST"', f"wrk.body = {_lua_string(body.decode())}"]
    lines += [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()]
    return "\n".join(lines) + "\n"


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal for this ASCII text


def run(url: str, script: str, *, connections: int, seconds: int, threads: int = 1, timeout_s: int = 10) -> WrkResult:
    """One wrk run (wrk takes whole seconds only)."""
    exe = wrk_path()
    if exe is None:
        raise RuntimeError("wrk is not installed (Debian/Ubuntu: apt-get install wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        out = subprocess.run([exe, f"-t{min(threads, connections)}", f"-c{connections}", f"-d{int(seconds)}s",
                              f"--timeout={int(timeout_s)}s", "--latency", "-s", path, url],
                             capture_output=True, text=True, timeout=seconds + timeout_s + 30)
    finally:
        Path(path).unlink(missing_ok=True)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip()[-500:]}")
    return parse(out.stdout)


def parse(text: str) -> WrkResult:
    def duration(value: str) -> float:
        m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value.strip())
        if not m:
            raise ValueError(f"wrk: cannot read duration {value!r}")
        return float(m.group(1)) * _UNITS[m.group(2)]

    pct = {int(p): duration(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", text, re.M)}
    done = re.search(r"(\d+) requests in ([\d.]+\w+),", text)
    if not done or len(pct) < 4:
        raise RuntimeError(f"wrk: unexpected output:\n{text[-800:]}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if sock:
        errors += sum(int(x) for x in sock.groups())
    return WrkResult(int(done.group(1)), duration(done.group(2)), pct[50], pct[75], pct[90], pct[99], errors)
