"""The bounded pool of worker processes that runs planner programs.

Why processes: a planner program is untrusted code. In one process with threads (v1), a runaway
program could not be stopped (threads cannot be killed), its memory was measured as the whole
server's, and CPU-bound programs serialised on the GIL — six concurrent bombs left a trivial
program of another session without an answer for more than 15 s. Here each run goes to a worker
process with its own address-space limit; the event loop waits for the answer with a deadline
(the run's wall-time limit plus a grace period) and, past it, kills the worker and replaces it.
The interpreter's own limits usually stop a program first, with a precise error; the kill is for
what they cannot stop. A killed or crashed worker fails only the run it was running, whose
session keeps its last saved state (nothing acknowledged is lost).

Fairness: at most ``workers_max`` runs at once, at most ``workers_per_key`` of them for one API
key, and no wait without a deadline (``queue_timeout_s``; past it the request gets ``PoolBusy``).
Workers are spawned on demand up to the maximum and idle ones beyond ``workers_min`` are reaped.
Workers get a minimal environment: they never see provider keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import struct
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Protocol

from airlock.interpreter import ExecutionRecord
from airlock.interpreter.errors import InterpreterError, ResourceLimitExceeded
from airlock.interpreter.outcomes import Failed, Outcome, outcome_from_json
from airlock.jsonsafe import JsonInputError, loads_trusted

from .execute import execute
from .request import EarlierEvents, RunRequest, with_full_record

HEADER = struct.Struct(">I")
SPAWN_TIMEOUT_S = 30.0


class PoolBusy(Exception):
    """No worker became free within the queue deadline (the API answers 503)."""


@dataclass(frozen=True)
class PoolSettings:
    workers_min: int = 2
    #: Idle workers kept ready ahead of demand (a spawn costs a few hundred ms; a waiting request
    #: should not pay it while other sessions' long runs hold the rest).
    workers_spare: int = 1
    workers_max: int = 16
    workers_per_key: int = 12
    #: Address space a worker may use beyond its warm size (its OS limit, behind the interpreter's).
    worker_memory_mb: int = 1024
    kill_grace_s: float = 2.0
    queue_timeout_s: float = 30.0
    idle_timeout_s: float = 60.0
    #: A worker whose RSS grew past this after a run is replaced (fragmentation stays bounded).
    recycle_rss_mb: float = 400.0
    max_runs_per_worker: int = 2000
    #: Warm resume (``airlock.sandbox.warm``): suspended runs a worker keeps (0: always replay),
    #: how long, and the memory they may hold.
    warm_runs: int = 64
    warm_ttl_s: float = 300.0
    warm_mb: float = 128.0
    #: Policy stacks (``PolicySpec`` JSON texts) the zygote builds before it forks, so a worker's
    #: first run does not compile them (the host knows which: ``agent.authority``).
    warm_policies: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, s: Any) -> "PoolSettings":
        return cls(workers_min=s.workers_min, workers_max=s.workers_max, workers_per_key=s.workers_per_key,
                   worker_memory_mb=s.worker_memory_mb, kill_grace_s=s.worker_kill_grace_s,
                   queue_timeout_s=s.worker_queue_timeout_s,
                   warm_runs=s.warm_runs_per_worker if s.warm_resume else 0, warm_ttl_s=s.warm_resume_ttl_s)


class Runner(Protocol):
    async def run(self, request: RunRequest, *, owner: str, handle: str | None = None,
                  earlier: EarlierEvents | None = None) -> Outcome:
        """``handle`` names the session the run belongs to: a runner that can keep a suspended
        run alive resumes it warm when the next request for that handle continues its record.
        ``earlier`` reads a partial record's earlier events, for a run that must replay; the
        outcome's record is as partial as the request's (it holds what the request's held, and
        what the run added)."""
        ...


class InProcessRunner:
    """Runs programs in a thread of this process: for tools, tests and embedding. No isolation;
    every resume replays (a parked greenlet cannot move between the threads of ``to_thread``)."""

    async def run(self, request: RunRequest, *, owner: str, handle: str | None = None,
                  earlier: EarlierEvents | None = None) -> Outcome:
        full = await with_full_record(request, earlier)
        data = await asyncio.to_thread(execute, full)
        out = loads_trusted(json.dumps(data, default=str))
        if out.get("record") is not None and request.record is not None:
            _held_as(out["record"], request.record)
        return outcome_from_json(out)

    async def close(self) -> None:
        return None


def _held_as(record: dict[str, Any], held: ExecutionRecord) -> None:
    """An outcome's record JSON made as partial as the request's record ``held``: a run sends
    either its whole record or (``events_from``) only the events past those it was given, which
    ``held`` has from its own ``events_from`` on (the rest are in the session's log)."""
    if "events_from" in record:
        known = record.pop("events_from")
        record["events"] = held.events[:known - held.events_from] + record["events"]
    else:
        record["events"] = record["events"][held.events_from:]
    if held.events_from:
        record["events_from"] = held.events_from


def _worker_env() -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "HOME")
    return {k: os.environ[k] for k in keep if k in os.environ}


class _Worker:
    """A forked worker, connected to the pool over its Unix socket."""

    __slots__ = ("pid", "reader", "writer", "runs", "rss_mb", "last_used", "parked", "stale")

    def __init__(self, pid: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.pid = pid
        self.reader = reader
        self.writer = writer
        self.runs = 0
        self.rss_mb = 0.0
        self.last_used = time.monotonic()
        self.parked: set[str] = set()  # handles of the runs parked in this worker
        self.stale: set[str] = set()   # handles it should drop (their sessions moved on elsewhere)

    async def read(self) -> Any:
        return await _read_frame(self.reader)

    async def call(self, payload: bytes) -> Any:
        self.writer.write(HEADER.pack(len(payload)) + payload)
        await self.writer.drain()
        return await self.read()

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.writer.close()


async def _read_frame(reader: asyncio.StreamReader) -> Any:
    head = await reader.readexactly(HEADER.size)
    (n,) = HEADER.unpack(head)
    return loads_trusted(await reader.readexactly(n))


def _frame(obj: Any) -> bytes:
    data = json.dumps(obj, ensure_ascii=True, separators=(",", ":"), default=str).encode()
    return HEADER.pack(len(data)) + data


class ProgramPool:
    def __init__(self, settings: PoolSettings | None = None) -> None:
        self.settings = settings or PoolSettings()
        self._idle: list[_Worker] = []
        self._live = 0
        self._capacity = asyncio.Semaphore(self.settings.workers_max)
        self._per_owner: dict[str, asyncio.Semaphore] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._closed = False
        self._spawning: set[asyncio.Task[Any]] = set()
        self._dir = tempfile.mkdtemp(prefix="airlock-workers-")  # 0700: only this user can connect
        self._socket = os.path.join(self._dir, "workers.sock")
        self._server: asyncio.AbstractServer | None = None
        self._zygote: asyncio.subprocess.Process | None = None
        self._zygote_lock = asyncio.Lock()
        self._connecting: dict[str, asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = {}
        #: handle → (worker, parked id, record events at the park) of every parked run.
        self._warm: dict[str, tuple[_Worker, str, int]] = {}
        #: Counters for the operator (and the isolation benchmark).
        self.stats = {"runs": 0, "killed": 0, "crashed": 0, "spawned": 0, "recycled": 0, "warm": 0, "replayed": 0,
                      "warm_missed": 0}

    # -- life cycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._on_connect, self._socket, limit=1 << 26)
        workers = await asyncio.gather(*(self._spawn() for _ in range(self.settings.workers_min)))
        self._idle.extend(workers)
        self._reaper = asyncio.create_task(self._reap())

    async def close(self) -> None:
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
        for t in list(self._spawning):
            t.cancel()
        for w in self._idle:
            await self._stop(w)
        self._idle.clear()
        z = self._zygote
        if z is not None and z.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                z.kill()
            # wait() returns once the zygote has exited *and* its pipes have closed; forked
            # workers used to hold its stdout, so it hung until they died (now they let go of it,
            # sandbox/worker.py). Bounded all the same: shutdown must not hang on a child.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(z.wait(), 2.0)
        if self._server is not None:
            self._server.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            hello = await asyncio.wait_for(_read_frame(reader), SPAWN_TIMEOUT_S)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
            writer.close()
            return
        fut = self._connecting.pop(str(hello.get("token")), None)  # an unknown token: not ours
        if fut is None or fut.done():
            writer.close()
            return
        fut.set_result((reader, writer))

    async def _fork(self, token: str) -> int:
        """Ask the warm zygote (started on first use, restarted if it died) for a new worker."""
        async with self._zygote_lock:
            for attempt in range(2):
                z = self._zygote
                if z is None or z.returncode is not None:
                    z = self._zygote = await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "airlock.sandbox.worker", "--zygote", self._socket,
                        "--memory-mb", str(self.settings.worker_memory_mb),
                        "--warm-runs", str(self.settings.warm_runs), "--warm-ttl-s", str(self.settings.warm_ttl_s),
                        "--warm-mb", str(self.settings.warm_mb),
                        *(arg for spec in self.settings.warm_policies for arg in ("--warm-policy", spec)),
                        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                        stderr=asyncio.subprocess.DEVNULL, env=_worker_env())
                    assert z.stdout is not None
                    await asyncio.wait_for(_read_frame(z.stdout), SPAWN_TIMEOUT_S)
                assert z.stdin is not None and z.stdout is not None
                try:
                    z.stdin.write(_frame({"fork": token}))
                    await z.stdin.drain()
                    reply = await asyncio.wait_for(_read_frame(z.stdout), SPAWN_TIMEOUT_S)
                    return int(reply["pid"])
                except (asyncio.IncompleteReadError, ConnectionError, BrokenPipeError):
                    if attempt:
                        raise
                    z.kill()
                    await z.wait()
            raise RuntimeError("no zygote")

    async def _spawn(self) -> _Worker:
        self._live += 1
        token = secrets.token_hex(16)
        fut: asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = \
            asyncio.get_running_loop().create_future()
        self._connecting[token] = fut
        try:
            pid = await self._fork(token)
            reader, writer = await asyncio.wait_for(fut, SPAWN_TIMEOUT_S)
            worker = _Worker(pid, reader, writer)
            hello = await asyncio.wait_for(worker.read(), SPAWN_TIMEOUT_S)
            if not hello.get("ready"):
                raise RuntimeError("worker did not start")
        except BaseException:
            self._live -= 1
            self._connecting.pop(token, None)
            raise
        worker.rss_mb = float(hello.get("rss_mb") or 0)
        self.stats["spawned"] += 1
        return worker

    async def _stop(self, w: _Worker) -> None:
        """A clean stop: the worker reads end-of-input and exits."""
        self._live -= 1
        self._forget(w)
        w.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(w.writer.wait_closed(), 1.0)

    async def _discard(self, w: _Worker) -> None:
        """Kill a worker that overran or misbehaved, and keep the minimum warm (the sessions
        whose runs it kept parked replay on their next request)."""
        self._live -= 1
        w.kill()
        self._forget(w)
        self._replenish()

    def _forget(self, w: _Worker) -> None:
        for handle in w.parked:
            if self._warm.get(handle, (None,))[0] is w:
                del self._warm[handle]
        w.parked.clear()

    def _replenish(self) -> None:
        s = self.settings
        want = len(self._idle) + len(self._spawning) < s.workers_spare or self._live < s.workers_min
        if self._closed or not want or self._live + len(self._spawning) >= s.workers_max:
            return

        async def spawn() -> None:
            with contextlib.suppress(Exception):
                w = await self._spawn()
                if self._closed:
                    await self._stop(w)
                else:
                    self._idle.append(w)

        task = asyncio.create_task(spawn())
        self._spawning.add(task)
        task.add_done_callback(self._spawning.discard)

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(min(10.0, self.settings.idle_timeout_s))
            now = time.monotonic()
            keep: list[_Worker] = []
            for w in self._idle:
                # A worker that keeps runs parked is idle only once they would have expired.
                idle_after = max(self.settings.idle_timeout_s, self.settings.warm_ttl_s if w.parked else 0.0)
                if self._live > self.settings.workers_min and now - w.last_used > idle_after:
                    await self._stop(w)
                else:
                    keep.append(w)
            self._idle = keep

    # -- runs -------------------------------------------------------------------------------------
    async def run(self, request: RunRequest, *, owner: str, handle: str | None = None,
                  earlier: EarlierEvents | None = None) -> Outcome:
        deadline = time.monotonic() + self.settings.queue_timeout_s
        owner_slot = self._per_owner.setdefault(owner, asyncio.Semaphore(self.settings.workers_per_key))
        await self._acquire(owner_slot, deadline)
        try:
            await self._acquire(self._capacity, deadline)
            try:
                if not self.settings.warm_runs:
                    handle = None
                worker, resume = self._warm_worker(request, handle)
                try:
                    if worker is None:
                        worker = self._idle_worker() or await self._spawn()
                    self._replenish()
                except (OSError, RuntimeError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
                    raise PoolBusy("no program worker could be started") from None
                return await self._run_on(worker, request, handle, resume, earlier)
            finally:
                self._capacity.release()
        finally:
            owner_slot.release()

    def _idle_worker(self) -> _Worker | None:
        """An idle worker that is still there (one can die idle: the OOM killer, an operator)."""
        while self._idle:
            w = self._idle.pop()
            if w.alive():
                return w
            self._live -= 1
            w.kill()
            self._forget(w)
        return None

    def _warm_worker(self, request: RunRequest, handle: str | None) -> tuple[_Worker | None, dict[str, Any] | None]:
        """The idle worker that keeps this session's run parked, with what continues it — when
        the request's record is the one that run suspended with. A parked run whose worker is
        busy is not waited for (the request replays elsewhere, the stale run is dropped)."""
        if handle is None:
            return None, None
        entry = self._warm.pop(handle, None)
        if entry is None:
            return None, None
        worker, token, start = entry
        worker.parked.discard(handle)
        record = request.record
        if (record is not None and record.parked == token and record.n_events > start >= record.events_from
                and worker in self._idle and worker.alive()):
            self._idle.remove(worker)
            return worker, {"token": token, "from": start, "answers": record.since(start)}
        worker.stale.add(handle)
        return None, None

    def _payload(self, request: RunRequest, handle: str | None, resume: dict[str, Any] | None, stale: set[str]) -> bytes:
        # A resumed run's worker has the record: only the answers travel.
        frame: dict[str, Any] = {"id": self.stats["runs"], "request": request.to_json(with_record=resume is None)}
        if handle is not None:
            frame["handle"] = handle
        if resume is not None:
            frame["resume"] = resume
        if stale:
            frame["drop"] = sorted(stale)
        return json.dumps(frame, ensure_ascii=True, separators=(",", ":"), default=str).encode()

    @staticmethod
    async def _acquire(sem: asyncio.Semaphore, deadline: float) -> None:
        try:
            await asyncio.wait_for(sem.acquire(), max(0.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            raise PoolBusy("every program worker is busy; retry shortly") from None

    async def _run_on(self, worker: _Worker, request: RunRequest, handle: str | None = None,
                      resume: dict[str, Any] | None = None, earlier: EarlierEvents | None = None) -> Outcome:
        stale, worker.stale = worker.stale, set()
        limit = request.options.limits.wall_time_s
        self.stats["runs"] += 1
        try:
            sent = request if resume is not None else await with_full_record(request, earlier)
            reply = await asyncio.wait_for(worker.call(self._payload(sent, handle, resume, stale)),
                                           limit + self.settings.kill_grace_s)
            if reply.get("miss"):  # the worker no longer keeps the run (evicted): replay there
                self.stats["warm_missed"] += 1
                resume = None
                sent = await with_full_record(request, earlier)
                reply = await asyncio.wait_for(worker.call(self._payload(sent, handle, None, set())),
                                               limit + self.settings.kill_grace_s)
        except asyncio.TimeoutError:
            self.stats["killed"] += 1
            await self._discard(worker)
            return self._failed(request, ResourceLimitExceeded(
                f"program exceeded wall_time_s ({limit}); its worker was stopped", limit="wall_time_s"))
        except asyncio.CancelledError:
            # The request was cancelled mid-run (a client gone, a deadline above ours): the
            # worker would still answer it, so it can serve no one else; untracked, it lingered.
            self.stats["killed"] += 1
            await self._discard(worker)
            raise
        except JsonInputError:
            # A frame that does not decode (a NaN, say: state and frames must hold none) is the
            # worker's fault, not the program's limits: the run fails, the worker is not reused.
            self.stats["crashed"] += 1
            await self._discard(worker)
            return Failed(InterpreterError("internal error: the worker's answer could not be read",
                                           code="internal_error"), [], request.record, session=request.session)
        except (asyncio.IncompleteReadError, ConnectionError, BrokenPipeError, ValueError):
            self.stats["crashed"] += 1
            await self._discard(worker)
            return self._failed(request, ResourceLimitExceeded(
                "the worker running the program stopped (its memory limit)", limit="max_memory_mb"))
        worker.runs += 1
        worker.rss_mb = float(reply.get("rss_mb") or 0)
        worker.last_used = time.monotonic()
        healthy = ("error" not in reply and worker.runs < self.settings.max_runs_per_worker
                   and worker.rss_mb < self.settings.recycle_rss_mb)
        if healthy:
            self._idle.append(worker)
        else:
            self.stats["recycled"] += 1
            await self._discard(worker)
        if "error" in reply:
            if reply["error"] == "memory":
                return self._failed(request, ResourceLimitExceeded("out of memory", limit="max_memory_mb"))
            raise RuntimeError(f"program worker failed: {reply['error']}")
        self.stats["warm" if resume is not None else "replayed"] += handle is not None and request.record is not None
        for gone in reply.get("evicted") or ():
            worker.parked.discard(gone)
            if self._warm.get(gone, (None,))[0] is worker:
                del self._warm[gone]
        out = reply["outcome"]
        record = out.get("record")
        if record is not None and request.record is not None:
            _held_as(record, request.record)
        if handle is not None and reply.get("parked") and healthy and record is not None:
            self._warm[handle] = (worker, str(reply["parked"]), record.get("events_from", 0) + len(record["events"]))
            worker.parked.add(handle)
        return outcome_from_json(out)

    @staticmethod
    def _failed(request: RunRequest, err: ResourceLimitExceeded) -> Failed:
        return Failed(err, [], request.record, session=request.session)
