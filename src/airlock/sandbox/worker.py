"""Worker processes: each runs planner programs one at a time, under its own OS limits.

The pool starts one *zygote* (``python -m airlock.sandbox.worker --zygote``), which imports and
warms everything a run needs and then only forks: a new worker is a ``fork()`` of that warm
process (about a millisecond, where starting Python and importing costs hundreds of
milliseconds — measured, and the difference decides whether a request waiting for a worker beside
running bombs waits seconds). A forked worker connects back to the pool's Unix socket, caps its
address space (``RLIMIT_AS``), forbids core dumps and serves length-prefixed JSON frames. Its
raised recursion limit and its memory measurements are its own — process-wide settings that
belong to a process that does nothing else (v1 raised the server's recursion limit at import and
measured memory for the whole server). The zygote ignores ``SIGCHLD`` so its children are reaped
by the kernel; the pool kills a worker by pid.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
from typing import Any, BinaryIO, Sequence

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


def _warm(policies: Sequence[str] = ()) -> None:
    """Import and compile what every run needs, before the first request is timed; ``policies``:
    the host's usual policy stacks (``PolicySpec`` JSON), built once here for every fork."""
    sys.setrecursionlimit(RECURSION_LIMIT)
    from airlock.interpreter import run
    from airlock.policy import PolicySpec, build_policy, warm_up
    from airlock.sandbox import execute as _execute  # noqa: F401
    from airlock.sandbox import warm as _warm_runs  # noqa: F401

    warm_up()
    for text in policies:
        try:  # speed only: a spec this build cannot read is compiled by the run that needs it
            spec = json.loads(text)
            build_policy(PolicySpec.from_json(spec))
            _PRIME_POLICY[:] = [spec]
        except Exception:  # noqa: BLE001
            pass
    run("final_return_value = [x for x in range(3)]")


_PRIME_POLICY: list[dict[str, Any]] = []
_PRIME_PROGRAM = 'seen = "start"\nfor i in range(2):\n    seen = prime_tool(i=i, after=seen)\nfinal_return_value = seen\n'


def _prime() -> None:
    """One throw-away run in a new fork before it says it is ready. A fork shares the zygote's
    pages until it writes them, and a run writes many (reference counts): the first run in every
    worker took ~3 ms more than the next, measured on a cached program, inside someone's
    request. A program that calls a tool, parks and renders touches what a session's run does."""
    from airlock.interpreter import Limits, RunOptions, ToolSpec
    from airlock.meta import SessionMeta
    from airlock.policy import LayerSpec, PolicySpec
    from airlock.sandbox.request import RunRequest
    from airlock.sandbox.warm import WarmRuns, WarmSettings

    schema = {"type": "object", "properties": {"i": {"type": "integer"}, "after": {"type": "string"}}}
    policy = _PRIME_POLICY[0] if _PRIME_POLICY else PolicySpec((LayerSpec("key", ()),)).to_json()
    request = RunRequest(_PRIME_PROGRAM, {"prime_tool": ToolSpec("prime_tool", schema, None, "")}, (), policy, None,
                         SessionMeta(), RunOptions(limits=Limits()), frozenset())
    runs = WarmRuns(WarmSettings(max_runs=1, ttl_s=1.0, max_mb=64.0))
    try:
        json.dumps(runs.start(request, request.to_json(), "prime"), default=str)  # as its frame would be
    finally:
        runs.drop("prime")


def _answer(req: dict[str, Any], warm: Any) -> dict[str, Any]:
    """One frame: ``request`` (RunRequest JSON), optional ``handle`` (the session, for warm
    resume), ``resume`` ({token, from, answers}: continue the run parked for ``handle``; the
    request then has no record) and ``drop`` (handles whose parked runs are stale)."""
    from airlock.sandbox.execute import execute
    from airlock.sandbox.request import RunRequest

    for handle in req.get("drop") or ():
        warm.drop(handle)
    request_json = req["request"]
    request = RunRequest.from_json(request_json)
    handle = req.get("handle")
    resume = req.get("resume")
    if handle is None:
        out = execute(request)
    elif resume is not None:
        out = warm.resume(handle, str(resume["token"]), int(resume["from"]), list(resume["answers"]), request,
                          request_json)
        if out is None:
            return {"miss": True}
    else:
        out = warm.start(request, request_json, handle)
    reply: dict[str, Any] = {"outcome": out}
    if handle is not None and out.get("status") == "suspended" and (out.get("record") or {}).get("parked"):
        reply["parked"] = out["record"]["parked"]
    evicted = warm.expire()
    if evicted:
        reply["evicted"] = evicted
    return reply


def serve(stdin: BinaryIO, stdout: BinaryIO, memory_mb: int, warm_settings: Any = None) -> int:
    from airlock.sandbox.warm import WarmRuns

    _limit_memory(memory_mb)
    try:
        _prime()
    except Exception:  # noqa: BLE001 - speed only: the worker serves either way
        pass
    warm = WarmRuns(warm_settings)
    write_frame(stdout, {"ready": True, "pid": os.getpid(), "rss_mb": rss_mb()})
    while True:
        try:
            req = read_frame(stdin)
        except (ValueError, OSError):
            return 2
        if req is None:
            return 0
        try:
            reply = _answer(req, warm)
        except MemoryError:
            reply = {"error": "memory"}
        except Exception as exc:  # noqa: BLE001 - reported (by type only) and the worker goes on
            reply = {"error": type(exc).__name__}
        reply.update(id=req.get("id"), rss_mb=rss_mb())
        write_frame(stdout, reply)


def zygote(socket_path: str, memory_mb: int, warm_settings: Any = None) -> int:
    """Fork a warm worker for every ``{"fork": token}`` frame on stdin; answer with its pid."""
    import signal
    import socket

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps our children
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    write_frame(stdout, {"ready": True, "pid": os.getpid(), "rss_mb": rss_mb()})
    while True:
        try:
            req = read_frame(stdin)
        except (ValueError, OSError):
            return 2
        if req is None:
            return 0
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                # Let go of the zygote's pipes to the host: a worker holding its stdout kept the
                # host from seeing the pipe end when the zygote died, so its transport outlived
                # the event loop. (sys.stdin's close() leaves fd 0 open: closefd is False.)
                devnull = os.open(os.devnull, os.O_RDWR)
                os.dup2(devnull, 0)
                os.dup2(devnull, 1)
                os.close(devnull)
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(socket_path)
                rfile, wfile = sock.makefile("rb"), sock.makefile("wb")
                write_frame(wfile, {"token": req["fork"]})
                code = serve(rfile, wfile, memory_mb, warm_settings)
            finally:
                os._exit(code)
        write_frame(stdout, {"pid": pid, "token": req["fork"]})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory-mb", type=int, default=0, help="address-space headroom above the warm process")
    parser.add_argument("--zygote", metavar="SOCKET", help="fork workers that connect to this Unix socket")
    parser.add_argument("--warm-runs", type=int, default=64, help="suspended runs kept per worker (0: replay only)")
    parser.add_argument("--warm-ttl-s", type=float, default=300.0)
    parser.add_argument("--warm-mb", type=float, default=128.0, help="memory parked runs may hold per worker")
    parser.add_argument("--warm-policy", action="append", default=[], help="a PolicySpec (JSON) to build at start")
    args = parser.parse_args(argv)
    _warm(args.warm_policy)
    from airlock.sandbox.warm import WarmSettings

    warm = WarmSettings(max_runs=args.warm_runs, ttl_s=args.warm_ttl_s, max_mb=args.warm_mb)
    if args.zygote:
        return zygote(args.zygote, args.memory_mb, warm)
    return serve(sys.stdin.buffer, sys.stdout.buffer, args.memory_mb, warm)


if __name__ == "__main__":
    sys.exit(main())
