"""Benchmark of airlock.interpreter against plain CPython running the same logic.

    .venv/bin/python bench/interpreter.py

1. A representative planner program (5 tool calls, a loop over a few hundred records, string
   building) timed as: one full execution with every tool result already recorded (the last
   resume), the whole suspend/resume protocol (6 runs), and a cold run (parse + compile).
   The CPython baseline is an ordinary Python function doing the same work, tool results
   decoded with ``json.loads`` like the interpreter does.
2. Replay cost of one resume as the number of recorded calls grows (10, 100, 1000): should be
   linear, i.e. roughly constant per recorded call.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from airlock.interpreter import (  # noqa: E402
    ExecutionRecord,
    Finished,
    Limits,
    RunOptions,
    Suspended,
    ToolSpec,
    record_tool_result,
    run,
)
from airlock.interpreter.compile import compile_program  # noqa: E402

N_RECORDS = 300

PROGRAM = '''
final_return_value = None
customers = list_customers(region="emea")
orders = list_orders(since="2025-01-01")
by_customer = {}
for o in orders:
    cid = o["customer_id"]
    if cid not in by_customer:
        by_customer[cid] = []
    by_customer[cid].append(o)
lines = []
total = 0.0
vip = []
for c in customers:
    mine = by_customer.get(c["id"], [])
    spent = sum([o["amount"] for o in mine])
    total += spent
    if spent > 500 and c["active"]:
        vip.append(c["name"])
        lines.append(f"{c['name']:<20} {len(mine):>3} orders  {spent:10.2f} EUR  <{c['email'].lower()}>")
    elif not c["active"]:
        lines.append(f"{c['name']} (inactive)")
report = "\\n".join(lines)
summary = f"{len(vip)} VIP customers out of {len(customers)}; revenue {total:.2f}"
doc = create_document(title="Quarterly customer report", body=report)
send_email(to="sales-lead@example.com", subject=summary, body=report[:2000])
log_event(kind="report", detail=summary)
final_return_value = {"summary": summary, "vip": vip[:10], "doc": doc}
'''


def _data():
    customers = [
        {"id": i, "name": f"Customer {i:03d}", "email": f"Contact{i}@Example.COM", "active": i % 7 != 0}
        for i in range(N_RECORDS)
    ]
    orders = [
        {"id": j, "customer_id": (j * 37) % N_RECORDS, "amount": float((j * 13) % 400 + 20)}
        for j in range(N_RECORDS * 3)
    ]
    return customers, orders


CUSTOMERS, ORDERS = _data()
RESULTS = [json.dumps(CUSTOMERS), json.dumps(ORDERS), json.dumps({"doc_id": "D-1"}), "sent", "ok"]

TOOLS = {
    name: ToolSpec(name, {"type": "object", "properties": {p: {"type": "string"} for p in params}})
    for name, params in {
        "list_customers": ["region"],
        "list_orders": ["since"],
        "create_document": ["title", "body"],
        "send_email": ["to", "subject", "body"],
        "log_event": ["kind", "detail"],
    }.items()
}


def cpython_version():
    results = iter(RESULTS)

    def tool(**kw):
        raw = next(results)
        try:
            return json.loads(raw)
        except ValueError:
            return raw

    customers = tool(region="emea")
    orders = tool(since="2025-01-01")
    by_customer = {}
    for o in orders:
        cid = o["customer_id"]
        if cid not in by_customer:
            by_customer[cid] = []
        by_customer[cid].append(o)
    lines = []
    total = 0.0
    vip = []
    for c in customers:
        mine = by_customer.get(c["id"], [])
        spent = sum([o["amount"] for o in mine])
        total += spent
        if spent > 500 and c["active"]:
            vip.append(c["name"])
            lines.append(f"{c['name']:<20} {len(mine):>3} orders  {spent:10.2f} EUR  <{c['email'].lower()}>")
        elif not c["active"]:
            lines.append(f"{c['name']} (inactive)")
    report = "\n".join(lines)
    summary = f"{len(vip)} VIP customers out of {len(customers)}; revenue {total:.2f}"
    doc = tool(title="Quarterly customer report", body=report)
    tool(to="sales-lead@example.com", subject=summary, body=report[:2000])
    tool(kind="report", detail=summary)
    return {"summary": summary, "vip": vip[:10], "doc": doc}


def full_record() -> ExecutionRecord:
    out = run(PROGRAM, tools=TOOLS)
    i = 0
    while isinstance(out, Suspended):
        rec = record_tool_result(out.record, out.calls[0].index, RESULTS[i])
        i += 1
        out = run(PROGRAM, tools=TOOLS, record=rec)
    assert isinstance(out, Finished), out
    return out.record


def protocol():
    out = run(PROGRAM, tools=TOOLS)
    i = 0
    while isinstance(out, Suspended):
        rec = ExecutionRecord.from_json(json.loads(json.dumps(out.record.to_json())))
        rec = record_tool_result(rec, out.calls[0].index, RESULTS[i])
        i += 1
        out = run(PROGRAM, tools=TOOLS, record=rec)
    assert isinstance(out, Finished)
    return out


def best(fn, repeat=7, number=1):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return min(times), statistics.median(times)


REPLAY_PROGRAM = '''
acc = []
for i in range(N):
    r = fetch(i=i)
    acc.append(r["v"])
final_return_value = len(acc)
'''


def replay_cost(n: int) -> float:
    prog = REPLAY_PROGRAM.replace("N", str(n))
    tools = {"fetch": ToolSpec("fetch", {"type": "object", "properties": {"i": {"type": "integer"}}})}
    events = [
        {"index": i, "kind": "tool", "tool": "fetch", "args": {"i": i}, "result": json.dumps({"v": i}), "is_error": False}
        for i in range(n)
    ]
    rec = ExecutionRecord(program=prog, events=events)
    opts = RunOptions(limits=Limits(max_tool_calls=10 * n))
    out = run(prog, tools=tools, record=rec, options=opts)
    assert isinstance(out, Finished), out
    t, _ = best(lambda: run(prog, tools=tools, record=rec, options=opts), repeat=5)
    return t


def main() -> None:
    compile_program.cache_clear()
    rec = full_record()
    expected = cpython_version()

    def final_run():
        out = run(PROGRAM, tools=TOOLS, record=rec)
        assert isinstance(out, Finished)
        return out

    got = final_run().value["value"]
    assert got == json.loads(json.dumps(expected)), (got, expected)

    t_cpy, _ = best(cpython_version, repeat=9, number=5)
    t_full, t_full_med = best(final_run, repeat=7)
    t_proto, _ = best(protocol, repeat=3)

    def cold():
        compile_program.cache_clear()
        final_run()

    t_cold, _ = best(cold, repeat=3)
    t_parse, _ = best(lambda: (compile_program.cache_clear(), compile_program(PROGRAM)), repeat=5)

    print(f"Planner program: {N_RECORDS} customers, {3 * N_RECORDS} orders, 5 tool calls")
    print(f"{'case':<48} {'time':>10} {'vs CPython':>11}")
    print("-" * 71)
    rows = [
        ("CPython (plain function)", t_cpy),
        ("interpreter: one full run (5 results replayed)", t_full),
        ("interpreter: cold run (parse+compile, uncached)", t_cold),
        ("interpreter: parse+compile only", t_parse),
        ("interpreter: whole protocol (6 runs + JSON)", t_proto),
    ]
    for name, t in rows:
        print(f"{name:<48} {t * 1e3:8.2f}ms {t / t_cpy:10.1f}x")
    print(f"(median full run {t_full_med * 1e3:.2f} ms)")
    print()
    print("Replay cost of one resume vs recorded calls")
    print(f"{'recorded calls':>15} {'resume time':>12} {'per call':>10}")
    print("-" * 40)
    for n in (10, 100, 1000):
        t = replay_cost(n)
        print(f"{n:>15} {t * 1e3:10.2f}ms {t / n * 1e6:8.1f}us")


if __name__ == "__main__":
    main()
