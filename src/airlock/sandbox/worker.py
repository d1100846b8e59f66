"""A worker process: runs planner programs one at a time, under its own OS limits.

Started by the pool as ``python -m airlock.sandbox.worker --memory-mb N``. Before it answers
anything it caps its address space (``RLIMIT_AS``), forbids core dumps, imports and warms
everything a run needs, and raises its own recursion limit — process-wide settings that, in this
design, belong to a process that does nothing else (v1 raised the server's recursion limit at
import, and measured memory for the whole server). Requests and answers are length-prefixed JSON
frames on stdin/stdout; stderr is the pool's to discard.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
from typing import Any, BinaryIO

HEADER = struct.Struct(">I")
RECURSION_LIMIT = 20_000


def read_frame(stream: BinaryIO) -> Any:
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (n,) = HEADER.unpack(head)
    return json.loads(stream.read(n))


def write_frame(stream: BinaryIO, obj: Any) -> None:
    data = json.dumps(obj, ensure_ascii=True, separators=(",", ":"), default=str).encode()
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def _limit_memory(memory_mb: int) -> None:
    import resource

    from airlock.interpreter.budget import rss_bytes

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory_mb <= 0:
        return
    try:
        with open("/proc/self/statm", "rb") as f:
            vms = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        vms = rss_bytes()
    cap = vms + memory_mb * (1 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def rss_mb() -> float:
    from airlock.interpreter.budget import rss_bytes

    return round(rss_bytes() / (1 << 20), 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory-mb", type=int, default=0, help="address-space headroom above the warm process")
    args = parser.parse_args(argv)
    sys.setrecursionlimit(RECURSION_LIMIT)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # Warm: import and compile what every run needs before the first request is timed.
    from airlock.interpreter import run
    from airlock.sandbox.execute import execute
    from airlock.sandbox.request import RunRequest

    run("final_return_value = [x for x in range(3)]")
    _limit_memory(args.memory_mb)
    write_frame(stdout, {"ready": True, "pid": os.getpid(), "rss_mb": rss_mb()})
    while True:
        try:
            req = read_frame(stdin)
        except (ValueError, OSError):
            return 2
        if req is None:
            return 0
        try:
            out = execute(RunRequest.from_json(req["request"]))
            write_frame(stdout, {"id": req.get("id"), "outcome": out, "rss_mb": rss_mb()})
        except MemoryError:
            write_frame(stdout, {"id": req.get("id"), "error": "memory", "rss_mb": rss_mb()})
        except Exception as exc:  # noqa: BLE001 - reported (by type only) and the worker goes on
            write_frame(stdout, {"id": req.get("id"), "error": type(exc).__name__, "rss_mb": rss_mb()})


if __name__ == "__main__":
    sys.exit(main())
