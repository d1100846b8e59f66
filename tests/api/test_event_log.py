"""The session's event log through real servers and the openai client: a dual-LLM session's
state stays the same size however many calls its program has made, another replica (warm
resume off) resumes it from the log, a log that lost events fails the turn closed, and a state
written before the log (its record inline) still resumes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3

import openai
import pytest

from tests.fakes.llm_server import FakeLLM, Reply
from tests.live_server import LiveAirlock, upstream_settings

K = 40
HEADERS = {"X-Features": json.dumps({"agent_arch": "dual-llm"}),
           "X-Config": json.dumps({"fsm": {"max_n_turns": 1, "disable_rllm": True, "max_tool_calls_per_step": 1000}})}
TOOLS = [{"type": "function", "function": {
    "name": "fetch", "description": "Fetch item i after the cursor.",
    "parameters": {"type": "object", "properties": {"i": {"type": "integer"}, "after": {"type": "string"}},
                   "required": ["i", "after"]}}}]


STEP_1 = 'x = fetch(i=0, after="m")\ny = fetch(i=1, after=x)\n'
STEP_2 = "z = fetch(i=2, after=y)\nfinal_return_value = fetch(i=3, after=z)\n"


def planner(req) -> Reply:
    if "Walk in steps" in req.last_user_text or "ran to the end" in req.last_user_text:
        return Reply(text=f"```python\n{STEP_2 if 'ran to the end' in req.last_user_text else STEP_1}```")
    k = int(req.last_user_text.rsplit("K=", 1)[1].split()[0])
    code = f'prev = "start"\nfor i in range({k}):\n    prev = fetch(i=i, after=prev)\nfinal_return_value = prev\n'
    return Reply(text=f"```python\n{code}```")


def answer(args: dict) -> str:
    return f"{args['after'][-12:]}>{args['i']}"


def expected(k: int) -> str:
    prev = "start"
    for i in range(k):
        prev = answer({"i": i, "after": prev})
    return prev


@contextlib.contextmanager
def two_replicas(url: str):
    """Two servers on one database: ``warm`` keeps suspended runs, ``replay`` never does."""
    with FakeLLM(record=False) as fake:
        fake.handler = planner
        warm = LiveAirlock(upstream_settings(fake.base_url, url, allowed_models="*", openai_api_key="sk-up"))
        warm.add_keys({"user": {"arch": "dual-llm"}})
        replay = LiveAirlock(upstream_settings(fake.base_url, url, allowed_models="*", openai_api_key="sk-up",
                                               warm_resume=False), keys=dict(warm.keys))
        warm.start()
        replay.start()
        try:
            yield warm, replay
        finally:
            warm.stop()
            replay.stop()


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    db = tmp_path_factory.mktemp("event-log") / "airlock.db"
    with two_replicas(f"sqlite+aiosqlite:///{db}") as (warm, replay):
        yield warm, replay, db


@pytest.fixture(scope="module")
def pg_replicas():
    from tests.conftest import fresh_pg_database

    loop = asyncio.new_event_loop()
    database = fresh_pg_database()
    url = loop.run_until_complete(database.__aenter__())
    try:
        with two_replicas(url) as servers:
            yield servers
    finally:
        loop.run_until_complete(database.__aexit__(None, None, None))
        loop.close()


class Session:
    def __init__(self, servers, k: int, headers: dict[str, str] = HEADERS, ask: str = "") -> None:
        self.clients = [openai.OpenAI(base_url=f"{s.url}/control/chat/openai/v1", api_key=s.keys["user"],
                                      default_headers=headers, max_retries=0, timeout=30) for s in servers]
        self.messages: list = [{"role": "user", "content": ask or f"Walk the cursor K={k} times."}]
        self.session_id: str | None = None
        self.requests = 0

    def step(self, server: int = 0):
        """One request (to the chosen server); returns the tool call it got, or the final content."""
        extra = {"X-Session-ID": self.session_id} if self.session_id else {}
        raw = self.clients[server].chat.completions.with_raw_response.create(
            model="gpt-5-mini", messages=self.messages, tools=TOOLS, extra_headers=extra)
        self.session_id = raw.headers["x-session-id"]
        self.requests += 1
        msg = raw.parse().choices[0].message
        if not msg.tool_calls:
            return json.loads(msg.content)
        self.messages.append({"role": "assistant", "content": None,
                              "tool_calls": [c.model_dump(exclude_none=True) for c in msg.tool_calls]})
        for c in msg.tool_calls:
            self.messages.append({"role": "tool", "tool_call_id": c.id,
                                  "content": answer(json.loads(c.function.arguments))})
        return None

    def run(self, pick=lambda n: 0) -> dict:
        for _ in range(K + 3):
            final = self.step(pick(self.requests))
            if final is not None:
                return final
        raise AssertionError("no final answer")


def state_of(db, session_id: str) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT state FROM sessions WHERE id = ?", (session_id,)).fetchone()[0]


def log_rows(db, session_id: str) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT stream, idx FROM session_events WHERE session_id = ? ORDER BY idx",
                            (session_id,)).fetchall()


def test_the_state_does_not_grow_with_the_calls_and_the_log_does(replicas):
    warm, replay, db = replicas
    s = Session([warm], K)
    sizes = []
    for n in range(K):
        assert s.step() is None
        sizes.append(len(state_of(db, s.session_id)))
        assert len(log_rows(db, s.session_id)) == n  # the events answered so far, one row each
    # An event is ~150 bytes: inline, 37 more of them would have grown the state by ~5.5 KB.
    assert max(sizes[3:]) - sizes[3] < 600, sizes
    final = s.run()
    assert final["status"] == "success" and final["final_return_value"]["value"] == expected(K)
    assert log_rows(db, s.session_id) == []  # the turn ended: its entries went with it


def test_another_replica_resumes_from_the_log(replicas):
    """Every other request lands on the replica that keeps nothing warm: it reads the earlier
    events back from the log and replays; the answer is the one the warm replica alone gives."""
    warm, replay, db = replicas
    alone = Session([warm, replay], K).run()
    mixed = Session([warm, replay], K).run(pick=lambda n: n % 2)
    only_replay = Session([warm, replay], K).run(pick=lambda n: 1)
    assert alone == mixed == only_replay
    assert alone["final_return_value"]["value"] == expected(K)


def test_another_replica_resumes_from_the_log_on_postgresql(pg_replicas):
    warm, replay = pg_replicas
    alone = Session([warm, replay], K).run()
    assert Session([warm, replay], K).run(pick=lambda n: n % 2) == alone
    assert alone["final_return_value"]["value"] == expected(K)


def test_a_log_that_lost_events_fails_the_turn_closed(replicas):
    warm, replay, db = replicas
    s = Session([warm, replay], K)
    for _ in range(6):
        assert s.step() is None
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM session_events WHERE session_id = ? AND idx = 2", (s.session_id,))
    final = s.step(server=1)  # a replay needs all earlier events
    assert final["status"] == "failure" and final["error"]["code"] == "replay_divergence", final


def test_a_state_written_before_the_log_still_resumes(replicas):
    """A pre-log state holds its record whole, with no stream: it resumes (by replay on the other
    replica, from the inline events) and finishes as it would have."""
    warm, replay, db = replicas
    s = Session([warm, replay], K)
    for _ in range(8):
        assert s.step() is None
    with sqlite3.connect(db) as conn:
        events = [json.loads(e) for (e,) in conn.execute(
            "SELECT event FROM session_events WHERE session_id = ? ORDER BY idx", (s.session_id,))]
        state = json.loads(state_of(db, s.session_id))
        cur = state["dual"]["current"]
        del cur["log"]
        cur["record"]["events"] = events + cur["record"]["events"]
        cur["record"].pop("events_from")
        conn.execute("UPDATE sessions SET state = ? WHERE id = ?", (json.dumps(state), s.session_id))
        conn.execute("DELETE FROM session_events WHERE session_id = ?", (s.session_id,))
    assert s.step(server=1) is None
    assert "events_from" not in json.loads(state_of(db, s.session_id))["dual"]["current"]["record"]
    final = s.run(pick=lambda n: n % 2)
    assert final["status"] == "success" and final["final_return_value"]["value"] == expected(K)


def test_a_later_planning_step_counts_the_earlier_steps_calls_from_the_log(replicas):
    """Multi-step planning: step 2's call budget is its own plus step 1's calls, which the base
    record by then holds partly as a count (the log has the first); counted with the log they
    are 2, so a budget of two calls per step lets step 2 make its two (its replay makes four);
    counting only the events the record holds (1) would refuse the fourth."""
    warm, replay, db = replicas
    headers = {**HEADERS, "X-Config": json.dumps({"fsm": {"max_n_turns": 1, "disable_rllm": True,
                                                          "enable_multistep_planning": True,
                                                          "max_tool_calls_per_step": 2}})}
    for pick in (lambda n: 0, lambda n: n % 2):
        final = Session([warm, replay], 0, headers, ask="Walk in steps.").run(pick=pick)
        assert final["status"] == "success", final
        value = "m"
        for i in range(4):
            value = answer({"i": i, "after": value})
        assert final["final_return_value"]["value"] == value
