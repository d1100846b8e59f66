"""Warm resume is only a shortcut: a parked run continued with its answers gives, at every step,
the outcome a replay of the record gives — for generated programs, the laundering corpus and
programs that call tools from loops, functions, key functions, ``try`` blocks and the QLLM.

Then the pool: the next request of a session goes to the worker that keeps its run; anything
that makes the parked run the wrong one (a record it did not produce, a changed policy, a killed
worker, an evicted run, a racing request) replays instead, with the replay's outcome.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airlock.interpreter import ExecutionRecord, Finished, Limits, RunOptions, Suspended, ToolSpec, Variable, record_result
from airlock.interpreter.budget import Budget
from airlock.meta import Meta, SessionMeta, StrSet
from airlock.policy import LayerSpec, PolicySpec
from airlock.sandbox import PoolSettings, ProgramPool, RunRequest
from airlock.sandbox.execute import execute
from airlock.sandbox.warm import WarmRuns, WarmSettings
from tests.interpreter import laundering

OBJ = {"type": "object", "properties": {"x": {}}}
TOOLS = {"fetch": ToolSpec("fetch", OBJ), "look": ToolSpec("look", OBJ)}
LIMITS = Limits(max_loop_iterations=500, max_steps=200_000, wall_time_s=10.0)


def answer(tool: str, args: dict) -> str:
    """A deterministic client: the answer depends on the call, so a run that continued from the
    wrong place would make different calls than the replay."""
    digest = hashlib.sha256(json.dumps([tool, args], sort_keys=True).encode()).hexdigest()
    return f"{tool}-{digest[:4]}-{int(digest[4:6], 16) % 7}"


def make_request(program: str, record: ExecutionRecord | None, *, policy: str = "", mode: str = "standard",
                 tools: dict | None = None, internal: tuple[str, ...] = (),
                 variables: dict | None = None) -> RunRequest:
    spec = PolicySpec((LayerSpec("key", (policy,) if policy else ()),)).to_json()
    return RunRequest(program, tools or TOOLS, internal, spec, record, SessionMeta(),
                      RunOptions(limits=LIMITS, mode=mode), frozenset({"namespace", "planner"}),
                      variables=variables or {})


def comparable(out: dict) -> dict:
    out = json.loads(json.dumps(out, default=str))
    record = out.get("record")
    if record:
        record.pop("parked", None)
        record.pop("counters", None)
        for ev in record["events"]:
            if ev.get("kind") == "clock":
                ev["value"] = "<the clock>"  # read at different times by the two drives
    return out


def drive_replay(program: str, answer=answer, **kw) -> list[dict]:
    steps, record = [], None
    for _ in range(200):
        out = execute(make_request(program, record, **kw))
        steps.append(comparable(out))
        if out["status"] != "suspended":
            return steps
        record = ExecutionRecord.from_json(out["record"])
        call = out["calls"][0]
        record = record_result(record, call["index"], answer(call["tool"], call["args"]))
    raise AssertionError("no end")


def drive_warm(program: str, warm: WarmRuns | None = None, handle: str = "s", answer=answer, **kw) -> list[dict]:
    warm = warm or WarmRuns()
    steps, record, parked_at = [], None, 0
    for _ in range(200):
        req = make_request(program, record, **kw)
        rj = req.to_json()
        if record is not None and record.parked:
            out = warm.resume(handle, record.parked, parked_at, record.events[parked_at:], req, rj)
            assert out is not None, "the parked run was not resumed"
            base = record.events
        else:
            out = warm.start(req, rj, handle)
            base = record.events if record is not None else []
        full = dict(out)
        if out.get("record") is not None:
            rec = dict(out["record"])
            known = rec.pop("events_from", 0)
            rec["events"] = list(base[:known]) + rec["events"]
            full["record"] = rec
        steps.append(comparable(full))
        if out["status"] != "suspended":
            assert len(warm) == 0
            return steps
        record = ExecutionRecord.from_json(full["record"])
        parked_at = len(record.events)
        call = out["calls"][0]
        record = record_result(record, call["index"], answer(call["tool"], call["args"]))
    raise AssertionError("no end")


def assert_same(program: str, answer=answer, **kw) -> list[dict]:
    replay = drive_replay(program, answer=answer, **kw)
    warm = drive_warm(program, answer=answer, **kw)
    assert warm == replay
    return replay


HAND_WRITTEN = {
    "loop": 'prev = "s"\nfor i in range(6):\n    prev = fetch(x=prev + str(i))\nfinal_return_value = prev',
    "function": 'def two(a):\n    b = fetch(x=a)\n    return look(x=b + a)\nfinal_return_value = [two(str(i)) for i in range(3)]',
    "key function": 'final_return_value = sorted(["a", "b", "c"], key=lambda c: fetch(x=c))',
    "try": ('out = []\nfor i in range(3):\n    try:\n        r = fetch(x=str(i))\n        out.append(int(r[-1]))\n'
            '    except ValueError as e:\n        out.append(-1)\nfinal_return_value = out'),
    "branch on result": ('r = fetch(x="q")\nif r.endswith("1") or r.endswith("2"):\n    r = look(x=r)\nelse:\n'
                         '    r = fetch(x=r)\nfinal_return_value = r'),
    "while": 'n = 0\nr = "w"\nwhile n < 4:\n    r = fetch(x=r)\n    n += 1\nfinal_return_value = (n, r)',
    "clock between calls": ('from datetime import datetime\na = fetch(x="1")\nt = datetime.now().year > 2000\n'
                            'b = fetch(x=a)\nfinal_return_value = [a, b, t]'),
    "error after calls": 'a = fetch(x="1")\nb = fetch(x=a)\nfinal_return_value = int(b)',
    "dict of results": 'd = {}\nfor k in ["p", "q", "r"]:\n    d[k] = fetch(x=k)\nfinal_return_value = d',
}


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
@pytest.mark.parametrize("mode", ["standard", "strict"])
def test_warm_resume_gives_the_replays_outcome_at_every_step(name, mode):
    steps = assert_same(HAND_WRITTEN[name], mode=mode)
    assert len(steps) >= 2  # the program did suspend


LAUNDERING_TOOLS = {n: ToolSpec(n, {"type": "object", "properties": {p: {} for p in params}})
                    for n, params in laundering.TOOLS.items()}


LAUNDERING_ANSWERS = {"read_doc": laundering.SECRET_TEXT, "launder": json.dumps(laundering.LAUNDER_RESULT),
                      "send_email": "sent"}


@pytest.mark.parametrize("name", sorted(laundering.EXPLICIT))
def test_laundering_programs_are_stopped_the_same_way_warm(name):
    steps = assert_same(laundering.EXPLICIT[name], answer=lambda tool, args: LAUNDERING_ANSWERS[tool],
                        policy=laundering.POLICY, tools=LAUNDERING_TOOLS)
    assert steps[-1]["status"] == "failed" and steps[-1]["error"]["code"] == "policy_denied"


def test_a_policy_denial_after_a_warm_resume_is_the_replays():
    policy = 'tool "look" { hard deny when x.value == "stop"; }'
    program = 'a = fetch(x="1")\nb = look(x="ok")\nc = look(x="stop")\nfinal_return_value = c'
    steps = assert_same(program, policy=policy)
    assert steps[-1]["status"] == "failed" and steps[-1]["error"]["code"] == "policy_denied"


ATOMS = ["r", "'k'", "str(i)", "r[:3]", "r.upper()"]


@st.composite
def programs(draw) -> str:
    """Straight-line and looping programs whose calls depend on earlier answers."""
    lines = ['r = fetch(x="start")', "acc = []"]
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["call", "loop", "cond", "comp", "func", "try", "pure"]))
        a = draw(st.sampled_from(ATOMS)).replace("str(i)", "'i'")
        tool = draw(st.sampled_from(["fetch", "look"]))
        n = draw(st.integers(0, 3))
        if kind == "call":
            lines.append(f"r = {tool}(x={a})")
        elif kind == "loop":
            lines += [f"for i in range({n}):", f"    r = {tool}(x=r + str(i))", "    acc.append(r[-1])"]
        elif kind == "cond":
            lines += [f"if int(r[-1]) > {n}:", f"    r = {tool}(x=r)", "else:", "    acc.append('e')"]
        elif kind == "comp":
            lines.append(f"acc += [{tool}(x=str(j) + r) for j in range({n})]")
        elif kind == "func":
            lines += ["def g(v):", f"    return {tool}(x=v)[::-1]", f"r = g({a})"]
        elif kind == "try":
            lines += ["try:", f"    acc.append(int({tool}(x=r)[{n}]))", "except ValueError:", "    acc.append('v')"]
        else:
            lines.append(f"acc.append(len({a}))")
    lines.append("final_return_value = [r, acc]")
    return "\n".join(lines)


@settings(max_examples=60 * int(os.environ.get("AIRLOCK_FUZZ_SCALE", "1")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.sampled_from(["standard", "strict"]))
def test_generated_programs_warm_and_replayed_agree(program, mode):
    assert_same(program, mode=mode)


def test_a_resume_that_does_not_continue_the_parked_record_is_refused():
    program = HAND_WRITTEN["loop"]
    warm = WarmRuns()
    req = make_request(program, None)
    out = warm.start(req, req.to_json(), "s")
    token = out["record"]["parked"]
    rec = ExecutionRecord.from_json(out["record"])
    answered = record_result(rec, 0, "x")
    # wrong token, wrong start, different policy: each is a miss (and drops the run)
    assert warm.resume("s", "0" * 16, 0, answered.events, req, req.to_json()) is None
    assert len(warm) == 0
    out = warm.start(req, req.to_json(), "s")
    token = out["record"]["parked"]
    other = make_request(program, None, policy='tool "fetch" { hard deny when x.value == "x"; }')
    assert warm.resume("s", token, 0, answered.events, other, other.to_json()) is None
    out = warm.start(req, req.to_json(), "s")
    token = out["record"]["parked"]
    assert warm.resume("s", token, 1, answered.events, req, req.to_json()) is None
    # a token is consumed by its resume: the same answers cannot continue it twice
    out = warm.start(req, req.to_json(), "s")
    token = out["record"]["parked"]
    assert warm.resume("s", token, 0, answered.events, req, req.to_json())["status"] == "suspended"
    assert warm.resume("s", token, 0, answered.events, req, req.to_json()) is None


def test_host_variables_resume_warm_as_they_replay_and_other_variables_are_a_miss():
    """A LangGraph run's context variables are part of what a resume must share with the parked
    run: the same ones continue it (same outcome as a replay); different ones replay."""
    program = "s = state\nfor i in range(3):\n    s = fetch(x=s + str(i))\nfinal_return_value = [state, s]"
    tagged = {"state": Variable("init", Meta(tags=StrSet.of(["confidential"])))}
    steps = assert_same(program, variables=tagged)
    assert steps[-1]["status"] == "finished" and "confidential" in steps[-1]["value"]["meta"]["tags"]
    warm = WarmRuns()
    req = make_request(program, None, variables=tagged)
    out = warm.start(req, req.to_json(), "s")
    answered = record_result(ExecutionRecord.from_json(out["record"]), 0, "x")
    other = make_request(program, None, variables={"state": Variable("other")})
    assert warm.resume("s", out["record"]["parked"], 0, answered.events, other, other.to_json()) is None


def test_parked_runs_are_bounded_in_number():
    warm = WarmRuns(WarmSettings(max_runs=2))
    req = make_request(HAND_WRITTEN["loop"], None)
    for h in "abc":
        warm.start(req, req.to_json(), h)
    assert len(warm) == 2 and warm.expire() == ["a"]


def test_the_wall_clock_restarts_when_a_parked_run_resumes():
    budget = Budget(Limits(wall_time_s=5.0, max_memory_mb=64))
    budget.deadline -= 4.9
    budget.mem_grown, budget.mem_unsampled = 3 << 20, 1 << 20
    budget.resumed()
    assert budget.deadline > __import__("time").monotonic() + 4.5
    assert budget.mem_grown == 4 << 20 and budget.mem_unsampled == 0  # its own growth is kept


# -- the pool -------------------------------------------------------------------------------------


@pytest.fixture
async def pool():
    p = ProgramPool(PoolSettings(workers_min=2, workers_max=4, workers_per_key=4, kill_grace_s=0.5,
                                 queue_timeout_s=20, worker_memory_mb=512))
    await p.start()
    yield p
    await p.close()


async def drive_pool(pool: ProgramPool, program: str, handle: str | None, *, record=None, answers=answer,
                     stop_after: int | None = None, **kw) -> tuple[list[dict], ExecutionRecord | None]:
    steps = []
    for n in range(300):
        out = await pool.run(make_request(program, record, **kw), owner="k", handle=handle)
        if isinstance(out, Suspended):
            steps.append({"status": "suspended", "calls": [c.to_json() for c in out.calls],
                          "events": out.record.events})
            call = out.calls[0]
            record = record_result(out.record, call.index, answers(call.tool, call.args_json))
            if stop_after is not None and n + 1 >= stop_after:
                return steps, record
            continue
        steps.append({"status": out.status, "value": getattr(out, "value", None),
                      "error": out.error.to_json() if out.status == "failed" else None, "history": out.history})
        return steps, None
    raise AssertionError("no end")


LONG = 'prev = "s"\nfor i in range(30):\n    prev = fetch(x=prev[-8:] + str(i))\nfinal_return_value = prev'


async def test_a_session_resumes_warm_on_its_worker(pool):
    replayed, _ = await drive_pool(pool, LONG, None)
    before = dict(pool.stats)
    warm, _ = await drive_pool(pool, LONG, "k/s1")
    assert warm == replayed
    assert pool.stats["warm"] - before["warm"] == 30 and pool.stats["replayed"] == before["replayed"]
    assert not pool._warm  # the finished run is no longer parked


async def test_a_killed_worker_loses_its_parked_runs_and_the_session_replays(pool):
    replayed, _ = await drive_pool(pool, LONG, None)
    steps, record = await drive_pool(pool, LONG, "k/s2", stop_after=5)
    worker = pool._warm["k/s2"][0]
    os.kill(worker.pid, signal.SIGKILL)
    for _ in range(100):
        if not worker.alive():
            break
        await asyncio.sleep(0.02)
    before = dict(pool.stats)
    rest, _ = await drive_pool(pool, LONG, "k/s2", record=record)
    assert steps + rest == replayed
    assert pool.stats["replayed"] - before["replayed"] == 1 and pool.stats["crashed"] == before["crashed"]


async def test_a_record_the_parked_run_did_not_produce_replays(pool):
    """Two requests race from the same suspended state with different answers: the first
    continues the parked run, the second replays with its own answer — each gets the outcome of
    its own record."""
    _, record = await drive_pool(pool, LONG, "k/s3", stop_after=3)
    pending = ExecutionRecord(program=record.program, events=record.events[:-1], pending=[
        {"index": record.events[-1]["index"], "tool": "fetch", "args": record.events[-1]["args"]}],
        session_meta=record.session_meta, parked=record.parked)
    other = record_result(pending, pending.pending[0]["index"], "a different answer")
    first = await pool.run(make_request(LONG, record), owner="k", handle="k/s3")
    warm_hits = pool.stats["warm"]
    second = await pool.run(make_request(LONG, other), owner="k", handle="k/s3")
    assert pool.stats["warm"] == warm_hits  # the run was consumed by the first request
    local_first = execute(make_request(LONG, record))
    local_second = execute(make_request(LONG, other))
    assert first.calls[0].to_json() == local_first["calls"][0]
    assert second.calls[0].to_json() == local_second["calls"][0]
    assert first.calls[0].args_json != second.calls[0].args_json


async def test_a_changed_policy_replays_under_the_new_policy(pool):
    _, record = await drive_pool(pool, LONG, "k/s4", stop_after=4)
    policy = 'tool "fetch" { hard deny when x.value in {str matching r".*"}; }'
    out = await pool.run(make_request(LONG, record, policy=policy), owner="k", handle="k/s4")
    assert out.status == "failed" and out.error.code == "policy_denied"
    assert "k/s4" not in pool._warm


async def test_sessions_do_not_share_parked_runs(pool):
    """A parked run is found by its session's handle and its record's fresh id: another
    session's request with a copy of that record replays instead of continuing it."""
    _, record = await drive_pool(pool, LONG, "k/a", stop_after=2)
    before = dict(pool.stats)
    await pool.run(make_request(LONG, record), owner="k2", handle="k2/b")
    assert pool.stats["warm"] == before["warm"] and "k/a" in pool._warm


# -- partial records (the session's event log) --------------------------------------------------


class Log:
    """What the host's save does after each request: the record's events go to a log and the
    record keeps their count (``agent.dual_llm.event_log``)."""

    def __init__(self) -> None:
        self.events: dict[int, dict] = {}
        self.reads = 0

    def keep(self, record: ExecutionRecord) -> ExecutionRecord:
        self.events.update(enumerate(record.events, record.events_from))
        return ExecutionRecord(program=record.program, events=[], pending=record.pending,
                               session_meta=record.session_meta, counters=record.counters,
                               parked=record.parked, events_from=record.n_events)

    async def earlier(self, n: int) -> list[dict]:
        self.reads += 1
        return [self.events[i] for i in range(n) if i in self.events]


async def drive_partial(runner, program: str, handle: str | None, log: Log, kill_at: int | None = None) -> list[dict]:
    steps, record = [], None
    for n in range(300):
        if kill_at is not None and n == kill_at:
            worker = runner._warm[handle][0]
            os.kill(worker.pid, signal.SIGKILL)
            while worker.alive():
                await asyncio.sleep(0.02)
        out = await runner.run(make_request(program, record), owner="k", handle=handle, earlier=log.earlier)
        if isinstance(out, Suspended):
            assert out.record.events_from == (record.events_from if record is not None else 0)
            assert out.record.n_events == (record.n_events if record is not None else 0)
            steps.append({"status": "suspended", "calls": [c.to_json() for c in out.calls]})
            call = out.calls[0]
            # Saved as it suspended; the next request records the answer, then runs.
            record = record_result(log.keep(out.record), call.index, answer(call.tool, call.args_json))
            continue
        steps.append({"status": out.status, "value": getattr(out, "value", None),
                      "error": out.error.to_json() if out.status == "failed" else None})
        return steps
    raise AssertionError("no end")


def _without_events(steps: list[dict]) -> list[dict]:
    return [{k: v for k, v in s.items() if k not in ("events", "history")} for s in steps]


async def test_partial_records_resume_warm_without_reading_the_log_and_replay_from_it(pool):
    replayed, _ = await drive_pool(pool, LONG, None)
    warm_log = Log()
    assert await drive_partial(pool, LONG, "k/p1", warm_log) == _without_events(replayed)
    assert warm_log.reads == 0  # every resume was warm: only the new event crossed
    cold_log = Log()  # no handle: every request replays, from the log
    assert await drive_partial(pool, LONG, None, cold_log) == _without_events(replayed)
    assert cold_log.reads == 29  # 31 requests: the first has no record, the second no earlier events
    killed_log = Log()  # the worker dies mid-session: that resume reads the log once
    assert await drive_partial(pool, LONG, "k/p2", killed_log, kill_at=7) == _without_events(replayed)
    assert killed_log.reads == 1


async def test_partial_records_run_in_process_as_in_the_pool(pool):
    from airlock.sandbox import InProcessRunner

    expected = await drive_partial(pool, LONG, None, Log())
    assert await drive_partial(InProcessRunner(), LONG, None, Log()) == expected


async def test_a_partial_record_without_its_earlier_events_fails_closed(pool):
    """Half a history must not replay: a missing reader or a gap in the log is a divergence."""
    log = Log()
    _, record = await drive_pool(pool, LONG, None, stop_after=4)
    partial = log.keep(record)  # 4 events, all in the log
    for earlier in (None, Log().earlier):  # no reader; a reader whose log lost the events
        out = await pool.run(make_request(LONG, partial), owner="k", earlier=earlier)
        assert out.status == "failed" and out.error.code == "replay_divergence", out
    out = await pool.run(make_request(LONG, partial), owner="k", earlier=log.earlier)
    assert isinstance(out, Suspended) and out.record.events_from == 4


def test_partial_record_json_is_checked():
    full = ExecutionRecord(program="x = 1", events=[{"index": 0, "kind": "tool"}, {"index": 1, "kind": "tool"}])
    partial = ExecutionRecord.from_json({**full.to_json(), "events": full.events[1:], "events_from": 1})
    assert partial.n_events == 2 and partial.since(1) == full.events[1:]
    assert partial.complete(full.events[:1]).to_json() == full.to_json()
    with pytest.raises(ValueError):
        partial.since(0)
    with pytest.raises(ValueError):
        partial.complete([{"index": 5}])
    for bad in ({"events_from": -1}, {"events_from": True}, {"events_from": 2}):  # 2: events would start at 1
        with pytest.raises(ValueError):
            ExecutionRecord.from_json({**full.to_json(), "events": full.events[1:], **bad})
