"""Child processes of the gateway benchmarks: the fast fake upstream, ports, readiness polls."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def airlock_bin() -> str:
    local = Path(sys.executable).parent / "airlock"
    if local.exists():
        return str(local)
    return shutil.which("airlock") or str(REPO / ".venv" / "bin" / "airlock")


@dataclass
class Upstream:
    proc: subprocess.Popen
    url: str

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.proc.stdin.close()  # type: ignore[union-attr]
            self.proc.wait(timeout=5)
        if self.proc.poll() is None:
            self.proc.kill()


def start_upstream() -> tuple[Upstream, str]:
    """The fast fake (``upstream.py``) in its own process; it serves until its stdin closes."""
    proc = subprocess.Popen([sys.executable, str(HERE / "upstream.py")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            start_new_session=True)
    line = proc.stdout.readline().decode().strip()  # type: ignore[union-attr]
    if not line.isdigit():
        raise RuntimeError("the fake upstream did not start")
    url = f"http://127.0.0.1:{int(line)}"
    return Upstream(proc, url), url


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen | None = None) -> None:
    """Poll ``url`` until it answers 200 (or the process dies, or time runs out)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {proc.returncode}")
        with contextlib.suppress(OSError, urllib.error.URLError):
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        time.sleep(0.05)
    raise RuntimeError(f"{url} was not ready within {timeout_s:.0f} s")
