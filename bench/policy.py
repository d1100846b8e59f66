"""Policy check latency: SQRT (compiled closures) vs Cedar (cedarpy) on equivalent policies.

For 1, 10 and 100 rules on one tool, each rule is "deny when the body carries tag tI and the
recipient is outside corpI.com"; the measured call fires none of them, so every rule is
evaluated (the worst case). Prints p50/p99 in microseconds for:

* SQRT      — ``CompiledPolicy.check_call`` (the full Airlock path, Decision included)
* Cedar     — ``compile_policy(..., language="cedar").check_call`` (same path via cedarpy)
* cedarpy   — a bare ``cedarpy.is_authorized`` with a pre-parsed PolicySet (no Airlock work)

The bare cedarpy baseline needs one more policy than the forbids: ``permit (principal, action,
resource);``. Cedar denies whatever no permit allows, while SQRT (and Airlock's Cedar mode, with
``default_allow``) allow what no rule denies; a forbids-only PolicySet therefore answered Deny
where SQRT answered Allow on most calls (1,557 of 2,000 at one rule), and the baseline timed a
different decision. Before anything is timed, the three are asserted to decide alike on
``AGREEMENT_CALLS`` varied calls per rule count (tags and recipients drawn so that some rules
fire and some do not).

Run: ``.venv/bin/python bench/policy.py``
"""

from __future__ import annotations

import random
import statistics
import time

import cedarpy

from airlock.meta import Meta, SessionMeta, StrSet, Tagged
from airlock.policy import LayerSpec, PolicyPresets, PolicySpec, build_policy, compile_policy
from airlock.policy.cedar import cedar_context

ITER = 5000
AGREEMENT_CALLS = 2000
PERMIT_ALL = "permit (principal, action, resource);"


def sqrt_policy(n: int) -> str:
    rules = "\n".join(
        f'    hard deny when body.tags overlaps {{"t{i}"}} and not (to.value in {{str like w"*@corp{i}.com"}});'
        for i in range(n))
    return f'tool "send_email" {{\n{rules}\n}}'


def cedar_policy(n: int) -> str:
    return "\n".join(
        f'forbid (principal, action == Action::"send_email", resource) '
        f'when {{ context.args.body.tags.contains("t{i}") }} '
        f'unless {{ context.args.to.value like "*@corp{i}.com" }};'
        for i in range(n))


def varied_calls(n: int, count: int) -> list[dict]:
    """Calls that make some of the ``n`` rules fire: body tags from t0..t{n-1} (or none), the
    recipient inside one rule's corp domain or outside all of them."""
    rng = random.Random(14)
    calls = []
    for _ in range(count):
        tags = [f"t{rng.randrange(n)}" for _ in range(rng.randrange(3))] + (["public"] if rng.random() < 0.5 else [])
        domain = f"corp{rng.randrange(n)}.com" if rng.random() < 0.5 else "example.com"
        calls.append({"to": Tagged(f"someone@{domain}"), "body": Tagged("hello", Meta(tags=StrSet.of(tags)))})
    return calls


def assert_agreement(n: int, sq, ce, ps, session: SessionMeta) -> None:
    """SQRT, Airlock's Cedar mode and bare cedarpy decide every varied call the same way."""
    disagree = 0
    for args in varied_calls(n, AGREEMENT_CALLS):
        want = sq.check_call("send_email", args, session).allowed
        got_ce = ce.check_call("send_email", args, session).allowed
        got_bare = cedarpy.is_authorized(cedar_request(args, session), ps, []).allowed
        disagree += (got_ce != want) + (got_bare != want)
    assert disagree == 0, f"{n} rules: {disagree} disagreements between SQRT, Cedar and bare cedarpy"


def cedar_request(args: dict, session: SessionMeta) -> dict:
    return {"principal": 'Airlock::Agent::"agent"', "action": 'Action::"send_email"',
            "resource": 'Airlock::Tool::"send_email"', "context": cedar_context("send_email", args, session)}


def measure(fn) -> tuple[float, float]:
    for _ in range(500):
        fn()
    samples = []
    for _ in range(ITER):
        t = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t)
    samples.sort()
    return statistics.median(samples) / 1000, samples[int(len(samples) * 0.99)] / 1000


def main() -> None:
    args = {"to": Tagged("someone@example.com"), "body": Tagged("hello", Meta(tags=StrSet.of(["public"])))}
    session = SessionMeta()
    print(f"policy check latency, {ITER} calls each, microseconds (none of the rules fires); SQRT, Cedar and "
          f"bare cedarpy agreed on {AGREEMENT_CALLS} varied calls per row before timing")
    print(f"{'rules':>6} | {'SQRT p50':>9} {'p99':>8} | {'Cedar p50':>9} {'p99':>8} | {'cedarpy p50':>11} {'p99':>8} | speed-up")
    for n in (1, 10, 100):
        sq = compile_policy(sqrt_policy(n))
        ce = compile_policy(cedar_policy(n), language="cedar")
        assert sq.check_call("send_email", args, session).allowed
        assert ce.check_call("send_email", args, session).allowed
        ps = cedarpy.PolicySet.from_str(cedar_policy(n) + "\n" + PERMIT_ALL)
        assert_agreement(n, sq, ce, ps, session)
        request = cedar_request(args, session)
        assert cedarpy.is_authorized(request, ps, []).allowed
        s50, s99 = measure(lambda: sq.check_call("send_email", args, session))
        c50, c99 = measure(lambda: ce.check_call("send_email", args, session))
        r50, r99 = measure(lambda: cedarpy.is_authorized(request, ps, []))
        print(f"{n:>6} | {s50:>9.1f} {s99:>8.1f} | {c50:>9.1f} {c99:>8.1f} | {r50:>11.1f} {r99:>8.1f} | "
              f"{r50 / s50:>5.1f}x vs bare cedarpy")
    stacks(args, session)
    t = time.perf_counter()
    for i in range(200):
        compile_policy(sqrt_policy(10) + f"\n// variant {i}")
    print(f"compile (10 rules, uncached): {(time.perf_counter() - t) / 200 * 1000:.2f} ms")
    t = time.perf_counter()
    for _ in range(10000):
        compile_policy(sqrt_policy(10))
    print(f"compile (10 rules, cached):   {(time.perf_counter() - t) / 10000 * 1e6:.1f} us")



def stacks(args: dict, session: SessionMeta) -> None:
    """What the layers of authority cost on the same 10-rule call: the bare compiled policy, the
    stack with the key layer only (the common case), and key + header + planner layers."""
    key = LayerSpec("key", (sqrt_policy(10),), presets=PolicyPresets())
    extra = (LayerSpec("header", ('tool "send_email" { hard deny when to.value == "ceo@corp.com"; }',)),
             LayerSpec("planner", ('tool "read" -> @tags |= {"secret"};',)))
    rows = [("compiled policy", compile_policy(sqrt_policy(10))),
            ("stack: key", build_policy(PolicySpec((key,)))),
            ("stack: key+header+planner", build_policy(PolicySpec((key, *extra))))]
    print(f"{'10 rules, check_call':>27} | {'p50':>6} {'p99':>8}")
    for label, policy in rows:
        assert policy.check_call("send_email", args, session).allowed
        p50, p99 = measure(lambda: policy.check_call("send_email", args, session))
        print(f"{label:>27} | {p50:>6.1f} {p99:>8.1f}")


if __name__ == "__main__":
    main()
