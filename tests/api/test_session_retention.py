"""Idle sessions end, through a real server and the openai client: a session not used for the
idle TTL is refused as an unknown session (the same answer before and after its rows go), its rows —
state and event log, which hold tool results — are deleted by the server's sweep, and a
session in use all the while keeps working."""

from __future__ import annotations

import sqlite3
import time

import openai
import pytest

from tests.api.test_event_log import HEADERS, TOOLS, Session, planner
from tests.fakes.llm_server import FakeLLM
from tests.live_server import LiveAirlock, upstream_settings

TTL_S = 2.0


@pytest.fixture(scope="module", params=[0.2, 3600.0], ids=["sweep-often", "sweep-later"])
def server(request, tmp_path_factory):
    db = tmp_path_factory.mktemp("retention") / "airlock.db"
    with FakeLLM(record=False) as fake:
        fake.handler = planner
        live = LiveAirlock(upstream_settings(fake.base_url, f"sqlite+aiosqlite:///{db}", allowed_models="*",
                                             openai_api_key="sk-up", session_idle_ttl_s=TTL_S,
                                             session_sweep_interval_s=request.param))
        live.add_keys({"user": {"arch": "dual-llm"}, "other": {"arch": "dual-llm"}})
        live.start()
        try:
            yield live, db, request.param
        finally:
            live.stop()


def rows(db, session_id: str) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        return (conn.execute("SELECT count(*) FROM sessions WHERE id = ?", (session_id,)).fetchone()[0],
                conn.execute("SELECT count(*) FROM session_events WHERE session_id = ?", (session_id,)).fetchone()[0])


def test_an_idle_session_ends_and_its_rows_go_while_a_used_one_lives(server):
    live, db, sweep_s = server
    idle, busy = Session([live], 40), Session([live], 40)
    assert idle.step() is None and idle.step() is None  # planned, one tool result absorbed
    assert busy.step() is None
    assert rows(db, idle.session_id) == (1, 1)
    deadline = time.monotonic() + TTL_S + 0.8
    while time.monotonic() < deadline:  # the busy session is used well within its TTL
        assert busy.step() is None
        time.sleep(0.25)

    with pytest.raises(openai.NotFoundError) as err:
        idle.step()
    assert err.value.body["param"] == "X-Session-ID"
    # Before or after the sweep, and to any key: the answer for an id that never existed.
    never = "6f1c2a52-55a8-4c47-9d55-0000000009ff"
    other = openai.OpenAI(base_url=f"{live.url}/control/chat/openai/v1", api_key=live.keys["other"],
                          default_headers=HEADERS, max_retries=0, timeout=30)
    with pytest.raises(openai.NotFoundError) as unknown:
        other.chat.completions.create(model="gpt-5-mini", messages=idle.messages, tools=TOOLS,
                                      extra_headers={"X-Session-ID": never})
    assert err.value.message == unknown.value.message.replace(never, idle.session_id)
    assert f"ends after {TTL_S:.0f} s without a request" in err.value.message

    if sweep_s > 60:  # no sweep since start: refused on its age alone, its rows still there
        assert rows(db, idle.session_id) == (1, 1)
        return
    deadline = time.monotonic() + 5
    while rows(db, idle.session_id) != (0, 0):
        assert time.monotonic() < deadline, "the sweep did not delete the idle session's rows"
        time.sleep(0.1)
    assert rows(db, busy.session_id)[0] == 1
    assert busy.run()["status"] == "success"  # and it runs to its end
