"""The program pool with real worker processes: deadlines kill, crashes are replaced, one key
cannot take every worker, workers never see the server's secrets."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from airlock.interpreter import ExecutionRecord, Finished, Limits, RunOptions, Suspended, ToolSpec
from airlock.meta import SessionMeta
from airlock.policy import LayerSpec, PolicySpec
from airlock.sandbox import InProcessRunner, PoolBusy, PoolSettings, ProgramPool, RunRequest

POLICY = PolicySpec((LayerSpec("key", ()),)).to_json()
SLOW = "t = 0\nfor i in range(10**9):\n    t += i"


def request(program: str, *, wall: float = 5.0, memory: int | None = 256, steps: int = 10**9,
            tools: dict | None = None) -> RunRequest:
    limits = Limits(wall_time_s=wall, max_memory_mb=memory, max_steps=steps, max_loop_iterations=10**9)
    return RunRequest(program, tools or {}, (), POLICY, None, SessionMeta(), RunOptions(limits=limits),
                      frozenset({"namespace", "planner"}))


@pytest.fixture
async def pool():
    p = ProgramPool(PoolSettings(workers_min=1, workers_max=4, workers_per_key=3, kill_grace_s=0.5,
                                 queue_timeout_s=20, worker_memory_mb=512))
    await p.start()
    yield p
    await p.close()


async def test_a_worker_runs_what_the_process_would(pool):
    tools = {"f": ToolSpec("f", {"type": "object", "properties": {"x": {"type": "string"}}})}
    prog = "a = [i * i for i in range(5)]\nr = f(x=str(a))\nfinal_return_value = {'a': a, 'r': r}"
    remote = await pool.run(request(prog, tools=tools), owner="k")
    local = await InProcessRunner().run(request(prog, tools=tools), owner="k")
    assert isinstance(remote, Suspended) and isinstance(local, Suspended)
    assert remote.calls == local.calls and remote.record.to_json() == local.record.to_json()
    from airlock.interpreter import record_result

    rec = record_result(remote.record, 0, "ok")
    req = request(prog, tools=tools)
    done = await pool.run(RunRequest(req.program, req.tools, (), POLICY, rec, SessionMeta(), req.options, req.views),
                          owner="k")
    assert isinstance(done, Finished)
    assert done.value["value"] == {"a": [0, 1, 4, 9, 16], "r": "ok"}
    assert {v["name"] for v in done.planner_view} == {"a", "r", "final_return_value"}


async def test_a_worker_past_its_deadline_is_killed_and_replaced(pool):
    (worker,) = pool._idle
    os.kill(worker.pid, signal.SIGSTOP)  # a worker that cannot answer: only the deadline helps
    t0 = time.monotonic()
    out = await pool.run(request("final_return_value = 1", wall=0.5), owner="k")
    assert time.monotonic() - t0 < 0.5 + 0.5 + 1.0
    assert out.status == "failed" and out.error.detail["limit"] == "wall_time_s"
    assert pool.stats["killed"] == 1
    await asyncio.sleep(0.2)
    assert not worker.alive()
    again = await pool.run(request("final_return_value = 2"), owner="k")
    assert again.value["value"] == 2


async def test_a_cancelled_run_does_not_hand_its_reply_to_the_next(pool):
    """A request cancelled mid-run (a client gone, a deadline above the pool) leaves a worker
    that will still answer it: that worker must not serve anyone again, or the next run would
    read the cancelled one's outcome, and it must not linger as a process outside the pool."""
    (busy,) = pool._idle
    slow = asyncio.create_task(pool.run(request(SLOW + "\nfinal_return_value = 'cancelled run'"), owner="k"))
    await asyncio.sleep(0.3)
    assert busy not in pool._idle  # it is running the slow program
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    for i in range(4):
        out = await pool.run(request(f"final_return_value = {i}"), owner="k")
        assert out.value["value"] == i
    await asyncio.sleep(0.2)
    assert not busy.alive() and busy not in pool._idle
    assert pool._live <= pool.settings.workers_max


async def test_a_crashed_worker_fails_only_its_run(pool):
    (worker,) = pool._idle
    task = asyncio.create_task(pool.run(request(SLOW, wall=5), owner="k"))
    await asyncio.sleep(0.3)
    os.kill(worker.pid, signal.SIGKILL)
    out = await task
    assert out.status == "failed" and out.error.code == "resource_limit_exceeded"
    assert pool.stats["crashed"] == 1
    assert (await pool.run(request("final_return_value = 3"), owner="k")).value["value"] == 3


async def test_the_os_limit_stops_what_the_interpreter_does_not_count(pool):
    """With the interpreter's own memory check off, the worker's address-space limit still holds."""
    out = await pool.run(request("acc = []\nfor i in range(10**6):\n    acc.append('y' * 3000000)", memory=None), owner="k")
    assert out.status == "failed" and out.error.detail["limit"] == "max_memory_mb", out.error.to_json()
    assert (await pool.run(request("final_return_value = 4"), owner="k")).value["value"] == 4


async def test_one_key_cannot_take_every_worker(pool):
    hogs = [asyncio.create_task(pool.run(request(SLOW, wall=3), owner="hog")) for _ in range(5)]
    await asyncio.sleep(0.5)
    t0 = time.monotonic()
    out = await pool.run(request("final_return_value = 'mine'"), owner="other")
    assert out.value["value"] == "mine"
    assert time.monotonic() - t0 < 2.0  # the hog holds at most workers_per_key (3) of 4
    for h in hogs:
        assert (await h).error.detail["limit"] == "wall_time_s"


async def test_no_wait_without_a_deadline():
    p = ProgramPool(PoolSettings(workers_min=1, workers_max=1, workers_per_key=1, queue_timeout_s=0.5))
    await p.start()
    try:
        hog = asyncio.create_task(p.run(request(SLOW, wall=3), owner="a"))
        await asyncio.sleep(0.2)
        with pytest.raises(PoolBusy):
            await p.run(request("final_return_value = 1"), owner="b")
        await hog
    finally:
        await p.close()


async def test_workers_never_see_the_servers_secrets(pool, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-server-secret")
    monkeypatch.setenv("AIRLOCK_DATABASE_URL", "postgresql://user:pw@db/x")
    await pool.close()  # a fresh zygote starts from this environment
    pool = ProgramPool(PoolSettings(workers_min=1))
    await pool.start()
    w = pool._idle[0]
    try:
        with open(f"/proc/{w.pid}/environ", "rb") as f:
            env = f.read()
        assert b"sk-server-secret" not in env and b"AIRLOCK_" not in env
    finally:
        await pool.close()


async def test_a_new_worker_is_a_fork_of_a_warm_process(pool):
    t0 = time.monotonic()
    workers = [await pool._spawn() for _ in range(3)]
    per_worker = (time.monotonic() - t0) / 3
    assert len({w.pid for w in workers}) == 3
    for w in workers:
        await pool._stop(w)
    assert per_worker < 0.25, f"{per_worker * 1000:.0f} ms per worker"


async def test_a_worker_holds_no_end_of_the_zygotes_pipes(pool):
    """asyncio's Process.wait() returns only once every pipe of the zygote has closed: a worker
    that kept the zygote's stdout made close() wait out its 2 s bound whenever a worker was busy
    or parked, and left the transport to the garbage collector after the loop had ended."""
    (worker,) = pool._idle
    zygote_pipes = {os.readlink(f"/proc/{pool._zygote.pid}/fd/{fd}") for fd in (0, 1)}
    held = {os.readlink(f"/proc/{worker.pid}/fd/{name}") for name in os.listdir(f"/proc/{worker.pid}/fd")}
    assert all(p.startswith("pipe:") for p in zygote_pipes)
    assert not zygote_pipes & held


def test_importing_the_interpreter_changes_nothing_process_wide():
    code = "import sys; before = sys.getrecursionlimit(); import airlock.interpreter, airlock.sandbox; " \
           "print(before == sys.getrecursionlimit())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


NON_FINITE = ("import math\nbig = 1e308 * 10\nx = [math.nan, math.inf, -math.inf, big, float('nan'), float('-inf')]\n"
              "print(x, math.nan)\nd = {'n': math.nan, 'i': big}\n")


@pytest.mark.parametrize("runner", ["pool", "in-process"])
@pytest.mark.parametrize("ending, status", [("final_return_value = [x, d]", "finished"),
                                            ("fetch(a=x, b=d)", "suspended"), ("y = x[0] / 0", "failed")])
async def test_non_finite_numbers_never_cross_as_json_constants(pool, runner, ending, status):
    """Session state and worker frames are read strictly (``loads_trusted`` refuses NaN, so the
    state can be written with orjson, which would turn it into ``null``): a program that makes
    every non-finite float it can must still finish, suspend or fail normally, with an outcome
    that is strict JSON. Were a constant to cross, the pool would report the worker as gone."""
    tools = {"fetch": ToolSpec("fetch", {"type": "object", "properties": {"a": {}, "b": {}}})}
    run = pool if runner == "pool" else InProcessRunner()
    out = await run.run(request(NON_FINITE + ending, tools=tools), owner="k")
    assert out.status == status, out.error.to_json() if out.status == "failed" else out.status
    if status == "failed":
        assert out.error.code != "resource_limit_exceeded", out.error.to_json()
    from airlock.interpreter.outcomes import outcome_to_json
    json.dumps(outcome_to_json(out, frozenset({"namespace", "planner"})), allow_nan=False, default=str)


def test_the_zygote_builds_the_policy_stacks_it_is_given():
    """Forks inherit what the zygote built: a worker's first run of a usual stack is a cache hit."""
    from airlock.agent.authority import default_policy_specs
    from airlock.policy import build_policy
    from airlock.sandbox import worker

    specs = default_policy_specs()
    assert {s.layers[0].mode for s in specs} == {"standard", "strict", "custom"}
    assert all(s.layers[0].presets.enable_non_executable_memory for s in specs)  # the dual-LLM defaults
    build_policy.cache_clear()
    worker._warm([json.dumps(s.to_json()) for s in specs] + ["not a spec"])
    hits = build_policy.cache_info().hits
    for s in specs:
        build_policy(s)
    assert build_policy.cache_info().hits == hits + len(specs)


async def test_a_pool_given_an_unreadable_warm_policy_still_runs():
    p = ProgramPool(PoolSettings(workers_min=1, warm_policies=("{not json", json.dumps({"layers": "x"}))))
    await p.start()
    try:
        assert (await p.run(request("final_return_value = 5"), owner="k")).value["value"] == 5
    finally:
        await p.close()


async def test_an_answer_that_does_not_decode_fails_the_run_as_internal(pool, monkeypatch):
    """A worker frame that is not the strict JSON frames must be (a NaN, say) fails the run with
    ``internal_error`` and retires that worker; it is not reported as the program's memory limit."""
    from airlock.jsonsafe import JsonInputError
    from airlock.sandbox import pool as pool_module

    real = pool_module.loads_trusted

    def refuse(data):
        if b'"outcome"' in data:
            raise JsonInputError("NaN is not a JSON value")
        return real(data)

    monkeypatch.setattr(pool_module, "loads_trusted", refuse)
    out = await pool.run(request("final_return_value = 1"), owner="k")
    assert out.status == "failed" and out.error.code == "internal_error", out.error.to_json()
    assert pool.stats["crashed"] == 1
    monkeypatch.setattr(pool_module, "loads_trusted", real)
    assert (await pool.run(request("final_return_value = 2"), owner="k")).value["value"] == 2
