"""Execution isolation through the HTTP API: every bomb class ends in a ``resource_limit``
failure within its limit (plus a small margin), and bombs do not delay another session."""

from __future__ import annotations

import concurrent.futures
import json
import time

import openai
import pytest

from tests.agent.scenarios.catalog import DUAL_MODEL
from tests.agent.scenarios.planner import ScriptedLLM
from tests.fakes.llm_server import FakeLLM
from tests.live_server import LiveAirlock, upstream_settings

WALL_S = 3.0
MEMORY_MB = 200
MARGIN_S = 2.5  # kill grace + a step between clock checks + HTTP, on two loaded cores

BOMBS = {
    "nested map and lambda": ("x = list(range(400))\nr = list(map(lambda a: list(map(lambda b: list(map("
                              "lambda c: c, x)), x)), x))", "max_steps|wall_time_s"),
    "cpu in a lambda": ("f = lambda n: sum([i * i for i in range(n)])\nr = [f(5000) for _ in range(10**5)]",
                        "max_steps|wall_time_s"),
    "re.sub with a function": ("import re\ns = 'a' * 3000000\nr = re.sub('a', lambda m: 'bb', s)",
                               "max_steps|wall_time_s|max_collection_len|max_str_len"),
    "re.findall of the empty pattern": ("import re\ns = 'a' * 3900000\nr = re.findall('', s)",
                                        "max_collection_len|max_steps|wall_time_s"),
    "large f-strings": ("s = 'x' * 3000000\nacc = []\nfor i in range(1000):\n    acc.append(f'{s}{i}')",
                        "max_memory_mb|max_steps"),
    "deep recursion": ("def f(n):\n    return f(n + 1) + 1\nf(0)", "max_recursion"),
    "memory: list": ("acc = []\nfor i in range(10**5):\n    acc.append([0] * 150000)", "max_memory_mb|max_steps"),
    "memory: dict": ("acc = []\nfor i in range(10**4):\n    acc.append({j: j for j in range(100000)})",
                     "max_memory_mb|max_steps|wall_time_s"),
    "memory: set": ("acc = []\nfor i in range(10**4):\n    acc.append(set(range(150000)))",
                    "max_memory_mb|max_steps|wall_time_s"),
    "memory: str": ("acc = []\nfor i in range(10**5):\n    acc.append('y' * 3000000)", "max_memory_mb|max_steps"),
    "memory: tuple": ("acc = []\nfor i in range(10**4):\n    acc.append(tuple(range(150000)))",
                      "max_memory_mb|max_steps|wall_time_s"),
    "memory: model": ("from pydantic import BaseModel\nclass M(BaseModel):\n    v: list\nacc = []\n"
                      "for i in range(10**4):\n    acc.append(M(v=list(range(150000))))", "max_memory_mb|max_steps|wall_time_s"),
    "busy loop": ("while True:\n    pass", "max_loop_iterations|max_steps|wall_time_s"),
}
HEADERS = {"X-Api-Key": "sk-user", "X-Features": json.dumps({"agent_arch": "dual-llm"}),
           "X-Config": json.dumps({"fsm": {"max_pllm_failed_steps": 1}})}


@pytest.fixture(scope="module")
def isolated(tmp_path_factory):
    with FakeLLM() as fake:
        llm = ScriptedLLM()
        fake.handler = llm
        db = tmp_path_factory.mktemp("isolation") / "airlock.db"
        live = LiveAirlock(upstream_settings(fake.base_url, f"sqlite+aiosqlite:///{db}", allowed_models="*",
                                             program_wall_time_s=WALL_S, program_max_memory_mb=MEMORY_MB,
                                             workers_min=2, workers_max=16, workers_per_key=12))
        live.add_keys({"a": {"arch": "dual-llm"}, "b": {"arch": "dual-llm"}})
        live.start()
        yield live, llm
        live.stop()


def ask(live, key: str, query: str) -> tuple[dict, float]:
    client = openai.OpenAI(base_url=f"{live.url}/control/chat/openai/v1", api_key=live.keys[key],
                           default_headers=HEADERS, max_retries=0, timeout=60)
    t0 = time.monotonic()
    resp = client.chat.completions.create(model=DUAL_MODEL, messages=[{"role": "user", "content": query}])
    return json.loads(resp.choices[0].message.content), time.monotonic() - t0


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_each_bomb_ends_in_a_resource_limit(isolated, name):
    live, llm = isolated
    program, limits = BOMBS[name]
    llm.program_override[f"bomb {name}"] = program + "\n"
    body, elapsed = ask(live, "a", f"bomb {name}")
    assert body["status"] == "failure", body
    assert body["error"]["code"] == "resource_limit_exceeded", body["error"]
    assert any(lim in body["error"]["message"] for lim in limits.split("|")), body["error"]
    assert elapsed < WALL_S + MARGIN_S, f"{name}: {elapsed:.2f}s"


@pytest.mark.parametrize("bomb_key", ["a", "b"])
def test_eight_bombs_do_not_delay_another_session(isolated, bomb_key):
    """Eight CPU bombs (from the same key, or another) run while a trivial dual-LLM session is
    served: its latency stays under a second."""
    live, llm = isolated
    llm.program_override["bomb busy"] = "while True:\n    pass\n"
    llm.program_override["trivial"] = "final_return_value = 'fine'\n"
    with concurrent.futures.ThreadPoolExecutor(9) as pool:
        bombs = [pool.submit(ask, live, bomb_key, "bomb busy") for _ in range(8)]
        time.sleep(1.0)  # the bombs hold their workers
        body, elapsed = ask(live, "a", "trivial")
        assert body["final_return_value"]["value"] == "fine"
        assert elapsed < 1.0, f"trivial session took {elapsed:.2f}s beside 8 bombs"
        for b in bombs:
            out, _ = b.result()
            assert out["error"]["code"] == "resource_limit_exceeded"
