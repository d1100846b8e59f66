"""Scoring the guards on the labelled sets in ``data/`` (shared by ``bench/guards.py`` and the
regression tests, so the numbers the bench prints are the numbers the tests hold)."""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from airlock.guards import CLASSIFIERS, BLOCKERS, Guard

DATA = Path(__file__).parent / "data"
# classifier -> (tuning set, held-out set written after the detector was frozen)
TEXT_SETS = {
    "toxicity_filter": ("toxicity.tsv", "toxicity_heldout.tsv"),
    "healthcare_topic_guardrail": ("healthcare.tsv", "healthcare_heldout.tsv"),
    "finance_topic_guardrail": ("finance.tsv", "finance_heldout.tsv"),
}
BLOCKER_SETS = {"url_blocker": "url_blocker.tsv", "file_blocker": "file_blocker.tsv"}
MODE_POINTS = {"low sensitivity": 0.8, "normal": 0.5, "high sensitivity": 0.3, "strict (local part)": 0.2}
STRUCTURED = ("EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS", "URL")


@dataclass(frozen=True)
class Row:
    label: int
    text: str
    hard: bool


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    hard_fp: int = 0
    hard: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn


def load_tsv(name: str) -> list[Row]:
    rows = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        label, text, *rest = line.split("\t")
        rows.append(Row(int(label), text.replace("\\n", "\n"), bool(rest and rest[0] == "hard")))
    return rows


def load_pii() -> list[dict]:
    return [json.loads(line) for line in (DATA / "pii.jsonl").read_text(encoding="utf-8").splitlines() if line]


def guard(name: str) -> Guard:
    return (CLASSIFIERS | BLOCKERS)[name]()


def score(g: Guard, text: str) -> float:
    return max((f.score for f in g.findings(text)), default=0.0)


def text_counts(g: Guard, rows: Iterable[Row], threshold: float) -> Counts:
    c = Counts()
    for row in rows:
        s = score(g, row.text)
        hit = s > 0 and s >= threshold
        if row.hard:
            c.hard += 1
            c.hard_fp += int(hit and not row.label)
        if row.label:
            c.tp += hit
            c.fn += not hit
        else:
            c.fp += hit
            c.tn += not hit
    return c


def pii_counts(rows: list[dict], threshold: float, g: Guard | None = None) -> dict[str, Counts]:
    """Per entity kind: a gold entity is found when a finding of its kind over ``threshold``
    overlaps it; a finding that overlaps no gold entity of its kind is a false positive."""
    g = g or guard("pii_redaction")
    out: dict[str, Counts] = {}
    for row in rows:
        text = row["text"]
        gold = []
        for e in row["entities"]:
            start = text.index(e["value"])
            gold.append((start, start + len(e["value"]), e["kind"]))
        found = [f.span for f in g.findings(text) if f.span and f.score >= threshold]
        for start, end, kind in gold:
            c = out.setdefault(kind, Counts())
            if any(s.kind == kind and s.start < end and start < s.end for s in found):
                c.tp += 1
            else:
                c.fn += 1
        for s in found:
            if not any(kind == s.kind and s.start < end and start < s.end for start, end, kind in gold):
                out.setdefault(s.kind, Counts()).fp += 1
    return out


def corpus_chunks(kind: str = "all", size: int = 1024) -> list[str]:
    """~1 KB chunks of evaluation text (the latency corpus): ``prose`` (the classifier sets),
    ``pii`` (the PII set: an entity every ~50 characters, a worst case) or ``all``."""
    texts = [r.text for sets in TEXT_SETS.values() for name in sets for r in load_tsv(name)] if kind != "pii" else []
    texts += [r["text"] for r in load_pii()] if kind != "prose" else []
    chunks, current = [], ""
    for t in texts:
        current += t + "\n"
        if len(current) >= size:
            chunks.append(current[:size])
            current = current[size:]
    return chunks


def latency_ms_per_kb(fn, chunks: list[str], rounds: int = 3) -> tuple[float, float]:
    """p50/p99 of CPU milliseconds per KB (thread CPU time: on a shared machine wall time mostly
    measures the neighbours)."""
    fn(chunks[0])  # warm caches
    samples = []
    for _ in range(rounds):
        for chunk in chunks:
            t0 = time.thread_time_ns()
            fn(chunk)
            samples.append((time.thread_time_ns() - t0) / 1e6 * 1024 / len(chunk.encode()))
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]
