"""Content guards: precision/recall per classifier and mode, and latency per KB.

Quality is measured on the labelled sets in ``tests/guards/data`` (written for Airlock; see the
header of each file). Text classifiers have a *tuning* set (looked at while writing the
detector) and a *held-out* set (written after the detector was frozen, never tuned on): the
held-out row is the honest estimate. PII is scored per entity kind (a gold entity is found when
a finding of the same kind overlaps it). Modes map to thresholds as in ``airlock.guards.modes``;
``strict`` adds the LLM classifier, so only its local part is measured here.

Latency: each local guard, and the whole ``GuardSet`` with every guard on, over ~1 KB chunks of
all evaluation text; p50/p99 of CPU milliseconds per KB (thread CPU time, so other load on a
shared machine does not count; the target is < 5 ms/KB at p50).

Run: ``.venv/bin/python bench/guards.py``
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from airlock.guards import GuardSet, Redactor  # noqa: E402
from tests.guards.evaluation import (  # noqa: E402
    BLOCKER_SETS, MODE_POINTS, STRUCTURED, TEXT_SETS, Counts, corpus_chunks, guard, latency_ms_per_kb, load_pii,
    load_tsv, pii_counts, text_counts,
)


def row(name: str, split: str, mode: str, c: Counts) -> str:
    hard = f"{c.hard_fp}/{c.hard}" if c.hard else "-"
    return f"{name:<28} {split:<9} {mode:<26} {c.n:>4} {c.precision:>9.3f} {c.recall:>7.3f} {hard:>8}"


def main() -> None:
    print(f"{'classifier':<28} {'set':<9} {'mode (threshold)':<26} {'n':>4} {'precision':>9} {'recall':>7} {'hard FP':>8}")
    for name, sets in TEXT_SETS.items():
        g = guard(name)
        for split, filename in zip(("tuning", "held-out"), sets):
            if not (REPO / "tests/guards/data" / filename).exists():
                continue
            rows = load_tsv(filename)
            for mode, threshold in MODE_POINTS.items():
                print(row(name, split, f"{mode} ({threshold})", text_counts(g, rows, threshold)))
    for name, filename in BLOCKER_SETS.items():
        if (REPO / "tests/guards/data" / filename).exists():
            print(row(name, "all", "(always on)", text_counts(guard(name), load_tsv(filename), 0.0)))

    print()
    pii = load_pii()
    g = guard("pii_redaction")
    print(f"{'pii_redaction entity':<28} {'mode (threshold)':<26} {'gold':>5} {'precision':>9} {'recall':>7}")
    for mode, threshold in MODE_POINTS.items():
        counts = pii_counts(pii, threshold, g)
        structured = Counts()
        for kind in sorted(counts):
            c = counts[kind]
            print(f"{kind:<28} {mode + f' ({threshold})':<26} {c.tp + c.fn:>5} {c.precision:>9.3f} {c.recall:>7.3f}")
            if kind in STRUCTURED:
                structured.tp += c.tp
                structured.fp += c.fp
                structured.fn += c.fn
        print(f"{'structured (all but PERSON)':<28} {mode + f' ({threshold})':<26} {structured.tp + structured.fn:>5} "
              f"{structured.precision:>9.3f} {structured.recall:>7.3f}")

    print()
    corpora = {kind: corpus_chunks(kind) for kind in ("prose", "pii", "all")}
    print("CPU ms per KB, p50 / p99 over 1 KB chunks: " + ", ".join(f"{k} ({len(v)} chunks)" for k, v in corpora.items()))
    print(f"{'':<40} " + " ".join(f"{k:>17}" for k in corpora))

    def line(label: str, fn) -> None:
        cells = [latency_ms_per_kb(fn, chunks) for chunks in corpora.values()]
        print(f"{label:<40} " + " ".join(f"{p50:>8.3f} /{p99:>7.3f}" for p50, p99 in cells))

    for name in ("pii_redaction", "toxicity_filter", "healthcare_topic_guardrail", "finance_topic_guardrail",
                 "url_blocker", "file_blocker"):
        line(name, guard(name).findings)
    every = GuardSet.from_features({
        "content_classifiers": [{"name": n} for n in ("pii_redaction", "toxicity_filter", "healthcare_topic_guardrail",
                                                      "finance_topic_guardrail")],
        "content_blockers": [{"name": "url_blocker"}, {"name": "file_blocker"}],
    })
    redactor = Redactor()
    line("GuardSet.scan_text, every guard on", lambda text: every.scan_text(text, "result", redactor))

if __name__ == "__main__":
    main()
