"""``GuardSet``: the guards a request asked for, and the one way to run them.

Built from ``X-Features`` by ``GuardSet.from_features`` (unknown names, duplicates, bad modes and
missing detectors raise here, before any model is called). ``scan_text``/``scan_value`` run
every local guard once over the text (for a JSON value: over all its strings, keys and integers
joined, so one Presidio pass serves a whole tool result and a key such as ``"ssn"`` is context
for its value), then:

* a classifier finding at or over the entry's threshold adds its tag (``pii:*`` also ``pii``);
* ``pii_redaction`` spans over the threshold are replaced by session-consistent placeholders;
* blocker spans are ``Block``s in arguments (the caller must deny the call) and are redacted
  in results (and in arguments too, so a caller that forgets to deny still leaks nothing).

Entries in ``strict`` mode also ask an LLM (``scan_*_async`` with the host's ``ask_json``); see
``llm_classifier``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from airlock.guards import file_blocker, finance_topic_guardrail, healthcare_topic_guardrail, pii_redaction
from airlock.guards import toxicity_filter, url_blocker
from airlock.guards.base import Finding, Guard, Span, Where
from airlock.guards.errors import GuardConfigError
from airlock.guards.llm_classifier import TAG_OF, AskJson, LlmClassifierError, classify
from airlock.guards.modes import Mode, resolve_mode
from airlock.guards.redactor import Redactor
from airlock.guards.spans import replace_spans

# The allow list and the dispatch table in one: name -> loader (raises GuardUnavailable).
CLASSIFIERS: dict[str, Callable[[], Guard]] = {
    "toxicity_filter": toxicity_filter.load,
    "pii_redaction": pii_redaction.load,
    "healthcare_topic_guardrail": healthcare_topic_guardrail.load,
    "finance_topic_guardrail": finance_topic_guardrail.load,
}
BLOCKERS: dict[str, Callable[[], Guard]] = {
    "url_blocker": lambda: url_blocker.GUARD,
    "file_blocker": lambda: file_blocker.GUARD,
}
# Values nested deeper than this are scanned as their JSON text (and replaced by it if redacted)
# rather than walked, so hostile nesting cannot exhaust the stack.
MAX_DEPTH = 64
_EXCERPT = 120


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    guard: Guard
    mode: Mode

    @property
    def threshold(self) -> float:
        return self.mode.threshold


@dataclass(frozen=True, slots=True)
class Block:
    """A blocker finding in an argument: the call must be denied."""

    guard: str
    tag: str
    path: str
    excerpt: str

    def describe(self) -> str:
        where = f" in {self.path}" if self.path else ""
        what = "a URL" if self.tag == "url" else "a file path"
        return f"{self.guard}: {what}{where}: {self.excerpt!r}"


@dataclass(frozen=True, slots=True)
class Scan:
    """What scanning found. ``value`` is the redacted text (``scan_text``) or JSON value (``scan_value``)."""

    tags: frozenset[str]
    value: Any
    blocks: tuple[Block, ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)
    redacted: int = 0
    errors: tuple[str, ...] = ()

    @property
    def text_after(self) -> str:
        return self.value if isinstance(self.value, str) else json.dumps(self.value, ensure_ascii=False)

    @property
    def blocked(self) -> bool:
        return bool(self.blocks)


def scannable(text: str) -> Any:
    """A tool result as the guards read it: JSON text as JSON (keys are context for values, and
    redaction keeps the shape), other text as text. Nesting too deep to decode is text too."""
    if text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            pass
    return text


@dataclass(slots=True)
class _Leaf:
    path: str
    text: str
    start: int = 0
    spans: list[Span] = field(default_factory=list)


class _Leaves:
    """The strings of a JSON value, joined by newlines (no detector matches across one)."""

    def __init__(self) -> None:
        self.leaves: list[_Leaf] = []
        self._length = 0

    def add(self, path: str, text: str) -> int:
        self.leaves.append(_Leaf(path, text, self._length))
        self._length += len(text) + 1
        return len(self.leaves) - 1

    def joined(self) -> str:
        return "\n".join(leaf.text for leaf in self.leaves)

    def leaf_at(self, offset: int) -> _Leaf | None:
        lo, hi = 0, len(self.leaves) - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            leaf = self.leaves[mid]
            if offset < leaf.start:
                hi = mid - 1
            elif offset > leaf.start + len(leaf.text):
                lo = mid + 1
            else:
                return leaf
        return None


def _parse_entries(features: Any) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    def items(name: str) -> list[Mapping[str, Any]]:
        raw = features.get(name) if isinstance(features, Mapping) else getattr(features, name, None)
        out: list[Mapping[str, Any]] = []
        for item in raw or ():
            if hasattr(item, "model_dump"):
                item = item.model_dump()
            if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
                raise GuardConfigError(name, f"{name}: each entry must be an object with a string 'name'")
            out.append(item)
        return out

    return items("content_classifiers"), items("content_blockers")


class GuardSet:
    """An immutable, validated set of guards. Empty when the request asked for none (falsy)."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries = tuple(entries)

    def __bool__(self) -> bool:
        return bool(self.entries)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.entries)

    @property
    def needs_llm(self) -> bool:
        return any(e.mode.llm for e in self.entries)

    @classmethod
    def from_features(cls, features: Any) -> "GuardSet":
        """From an ``XFeatures`` model or its JSON dict. Raises ``GuardConfigError`` or ``GuardUnavailable``."""
        if features is None:
            return cls(())
        classifiers, blockers = _parse_entries(features)
        entries: list[Entry] = []
        seen: set[str] = set()
        for section, table, specs in (("content_classifiers", CLASSIFIERS, classifiers), ("content_blockers", BLOCKERS, blockers)):
            for spec in specs:
                name = spec["name"]
                if name not in table:
                    known = ", ".join(sorted(table))
                    raise GuardConfigError(name, f"{section}: unknown guard {name!r}; known: {known}")
                if name in seen:
                    raise GuardConfigError(name, f"{section}: {name!r} is listed twice")
                seen.add(name)
                if table is BLOCKERS:
                    extra = set(spec) - {"name"}
                    if extra:
                        raise GuardConfigError(name, f"{section}: {name} takes no options (got {', '.join(sorted(extra))})")
                    mode = Mode("block", 0.0)
                else:
                    threshold = spec.get("threshold", 0.5)
                    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
                        raise GuardConfigError(name, f"{section}: {name}: threshold must be a number")
                    mode_name = spec.get("mode")
                    if mode_name is not None and not isinstance(mode_name, str):
                        raise GuardConfigError(name, f"{section}: {name}: mode must be a string")
                    mode = resolve_mode(name, mode_name, float(threshold))
                entries.append(Entry(name, table[name](), mode))
        return cls(entries)

    # ------------------------------------------------------------------ scanning
    def scan_text(self, text: str, where: Where, redactor: Redactor) -> Scan:
        self._local_only()
        return self._scan(text, where, redactor, [])

    def scan_value(self, value: Any, where: Where, redactor: Redactor, path: str = "") -> Scan:
        """Scan a JSON value (tool arguments or result); ``Scan.value`` is the redacted copy.
        ``path`` names the value in ``Block.path`` (e.g. the argument's name)."""
        self._local_only()
        return self._scan(value, where, redactor, [], path)

    async def scan_text_async(self, text: str, where: Where, redactor: Redactor, ask_json: AskJson | None) -> Scan:
        return await self.scan_value_async(text, where, redactor, ask_json)

    async def scan_value_async(self, value: Any, where: Where, redactor: Redactor, ask_json: AskJson | None,
                               path: str = "") -> Scan:
        """Like ``scan_value``, plus the LLM classifier for strict entries (fails closed, see
        ``llm_classifier``). ``ask_json`` may be ``None`` only when no entry is strict."""
        strict = [e for e in self.entries if e.mode.llm]
        if not strict:
            return self._scan(value, where, redactor, [], path)
        leaves = _Leaves()
        _collect(value, path, leaves, 0)
        categories = [TAG_OF[e.name] for e in strict]
        errors: tuple[str, ...] = ()
        try:
            if ask_json is None:
                raise LlmClassifierError("no LLM is available to this scan")
            extra = await classify(leaves.joined(), categories, "pii" in categories, ask_json)
        except LlmClassifierError as exc:
            extra = [Finding(c, 1.0) for c in categories]
            errors = (f"llm_classifier: {exc}",)
        scan = self._scan(value, where, redactor, extra, path)
        return dataclasses.replace(scan, errors=errors) if errors else scan

    def scan_value_local(self, value: Any, where: Where, redactor: Redactor, path: str = "") -> Scan:
        """The local detectors only, whatever the modes (strict entries keep their low
        thresholds): for callers that cannot await the LLM classifier — the dual-LLM interpreter
        scanning a tool call's arguments inside a worker process."""
        return self._scan(value, where, redactor, [], path)

    def _local_only(self) -> None:
        if self.needs_llm:
            raise RuntimeError("a strict-mode guard needs the LLM: use scan_text_async/scan_value_async")

    def _scan(self, value: Any, where: Where, redactor: Redactor, extra: list[Finding], path: str = "") -> Scan:
        leaves = _Leaves()
        shape = _collect(value, path, leaves, 0)
        text = leaves.joined()
        tags: set[str] = set()
        blocks: list[Block] = []
        scores: dict[str, float] = {}
        findings = [(entry, f) for entry in self.entries for f in entry.guard.findings(text)]
        findings += [(entry, f) for f in extra for entry in self.entries if _owns(entry, f)]
        for entry, finding in findings:
            scores[entry.name] = max(scores.get(entry.name, 0.0), finding.score)
            if finding.score <= 0.0 or finding.score < entry.threshold:
                continue
            tags.add(finding.tag)
            if finding.tag.startswith("pii:"):
                tags.add("pii")
            span = finding.span
            if span is None or entry.guard.action == "tag":
                continue
            leaf = leaves.leaf_at(span.start)
            if leaf is None:
                continue
            local = Span(span.start - leaf.start, min(span.end - leaf.start, len(leaf.text)), span.kind)
            leaf.spans.append(local)
            if entry.guard.action == "block" and where == "argument":
                excerpt = leaf.text[local.start : local.end][:_EXCERPT]
                blocks.append(Block(entry.name, finding.tag, leaf.path, excerpt))
        redacted = 0
        for leaf in leaves.leaves:
            if leaf.spans:
                redacted += len(leaf.spans)
                leaf.text = replace_spans(leaf.text, leaf.spans, redactor)
        return Scan(frozenset(tags), _rebuild(shape, leaves), tuple(blocks), scores, redacted)


def _owns(entry: Entry, finding: Finding) -> bool:
    """Which strict entry an LLM finding belongs to (its tag names the classifier)."""
    return entry.mode.llm and TAG_OF.get(entry.name) == finding.tag.split(":")[0]


# A value's shape with leaf indexes in place of strings: ("s", i) a string, ("i", i, n) an int
# that stays an int unless redacted, ("j", i) a too-deep subtree scanned as JSON text.
def _collect(value: Any, path: str, leaves: _Leaves, depth: int) -> Any:
    if isinstance(value, str):
        return ("s", leaves.add(path, value))
    if value is None or isinstance(value, (bool, float)):
        return ("v", value)
    if isinstance(value, int):
        return ("i", leaves.add(path, str(value)), value)
    if depth >= MAX_DEPTH:
        return ("j", leaves.add(path, json.dumps(value, ensure_ascii=False)), value)
    if isinstance(value, (list, tuple)):
        return ("l", [_collect(v, f"{path}[{i}]", leaves, depth + 1) for i, v in enumerate(value)])
    if isinstance(value, Mapping):
        return ("d", [
            (leaves.add(f"{path}.{k}" if path else str(k), str(k)), _collect(v, f"{path}.{k}" if path else str(k), leaves, depth + 1))
            for k, v in value.items()
        ])
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _rebuild(shape: Any, leaves: _Leaves) -> Any:
    kind = shape[0]
    if kind == "v":
        return shape[1]
    if kind == "s":
        return leaves.leaves[shape[1]].text
    if kind in ("i", "j"):
        leaf = leaves.leaves[shape[1]]
        return shape[2] if not leaf.spans else leaf.text
    if kind == "l":
        return [_rebuild(s, leaves) for s in shape[1]]
    out: dict[str, Any] = {}
    for key_index, sub in shape[1]:
        key = leaves.leaves[key_index].text
        unique, n = key, 2
        while unique in out:  # two keys redacted to one placeholder stay two entries
            unique, n = f"{key}#{n}", n + 1
        out[unique] = _rebuild(sub, leaves)
    return out
