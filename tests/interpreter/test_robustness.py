"""Whatever text the planner sends, ``run`` returns an outcome: it never raises, never crashes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airlock.interpreter import Failed, Finished, Limits, RunOptions, Suspended, run

from .test_language import CASES
from .test_safety import ESCAPES

SEEDS = [p for p, _ in CASES] + ESCAPES
OPTS = RunOptions(limits=Limits(max_steps=20_000, wall_time_s=2.0, max_loop_iterations=5_000))
TOKENS = ["(", ")", "[", "]", ":", ",", ".", "__class__", "'{0}'", "*", "**", "10**9", "x", "f'{x}'", "\n    ",
          "lambda: ", "not ", " if 1 else ", "[0] * 99", "-1", "None", "{}", "range(7)", "'%d' % ", "\n"]


@st.composite
def mutated(draw):
    src = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(src)))
        op = draw(st.sampled_from(["insert", "delete", "dup"]))
        if op == "insert":
            src = src[:i] + draw(st.sampled_from(TOKENS)) + src[i:]
        elif op == "delete":
            j = min(len(src), i + draw(st.integers(1, 4)))
            src = src[:i] + src[j:]
        else:
            j = min(len(src), i + draw(st.integers(1, 12)))
            src = src[:j] + src[i:j] + src[j:]
    return src


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_programs_always_produce_an_outcome(src):
    out = run(src, tools={"f": {"parameters": {"type": "object", "properties": {"x": {}}}}},
              internal_tools={"g": lambda x=None: {"echo": x}}, options=OPTS)
    assert isinstance(out, (Finished, Failed, Suspended))
    if isinstance(out, Failed):
        assert out.error.code != "internal_error", (src, out.error.to_json())
        out.error.to_json()
    if isinstance(out, Finished):
        import json

        json.dumps(out.value)
