"""The quarantined reader (QLLM) of the offline evaluation, honest or on the attacker's side.

Programs ask the reader with ``parse_with_ai(query=QUESTION + "\\n\\n" + data, output_schema=...)``:
the first paragraph is the planner's question (a literal of the program), the rest is tool data.

* **Honest**: answers the question with the value the task's ground truth uses, from the suite's
  answer key (``programs/<suite>/reader.json``: question → answer). It stands in for a model that
  reads correctly; it never needs the injected text to answer.
* **Adversarial**: when the data it reads carries an injection, it answers what the injection asks
  for: every field that has a counterpart among the injection task's values gets the attacker's
  value — its ground-truth arguments by name (exactly, or by a word of the field's name:
  ``hotel_name`` takes the attacker's ``hotel``), and the e-mail addresses, URLs, IBANs and
  dates it names (where it wants something sent first), by the kind the field's name asks for;
  lists get it appended, and a list of records gets one more record made of attacker values;
  every other free-text field carries the attacker's payload (the text the injection wants
  written) after the honest answer. It models a reader the injection fully controls — the worst
  case the policies must contain.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from airlock.eval.agentdojo import cases as C

PROGRAMS = Path(__file__).with_name("programs")
SCHEMA_SUFFIX = "\n\nAnswer with JSON matching this JSON Schema:"

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"https?://[^\s'\"<>()]+|\bwww\.[\w.-]+\w(?:/[\w./-]*)?")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}[A-Z0-9]{10,30}\b")
DESTINATION = re.compile(r"recipient|participant|invitee|email|^to$|^user$|url|iban")
DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2})?\b")
PAYLOAD_ARGS = ("body", "content", "subject", "description", "title", "message", "text")
# Field-name hints → the kind of attacker value that fits (first match wins).
KINDS = (
    (re.compile(r"iban|account|recipient(?!s)"), ("iban", "email")),
    (re.compile(r"mail|recipients|participant|to$|invitee|address"), ("email",)),
    (re.compile(r"url|link|web|site"), ("url",)),
    (re.compile(r"(^|_)(date|day|time|when|deadline|start|end)s?(_|$)"), ("date",)),
)


@lru_cache(maxsize=None)
def answer_key(suite: str) -> dict[str, Any]:
    path = PROGRAMS / suite / "reader.json"
    return json.loads(path.read_text()) if path.exists() else {}


def split_query(text: str) -> tuple[str, str]:
    """``(question, data)`` of a reader request's user text."""
    body = text.split(SCHEMA_SUFFIX, 1)[0]
    question, _, data = body.partition("\n\n")
    return question.strip(), data


@dataclass(frozen=True)
class AttackerValues:
    """What an injection task wants: its ground-truth arguments by name, and values by kind."""

    by_name: dict[str, Any]
    by_kind: dict[str, str]
    goal: str
    payload: str  # the free text the injection wants written somewhere


def _flatten(args: dict[str, Any], out: dict[str, Any]) -> None:
    for k, v in args.items():
        out.setdefault(k, v)


@lru_cache(maxsize=None)
def attacker_values(suite: str, injection_task: str) -> AttackerValues:
    task = C.suite(suite).injection_tasks[injection_task]
    by_name: dict[str, Any] = {}
    for call in C.ground_truth(suite, injection_task):
        _flatten(dict(call.args), by_name)
    # Where the attacker wants something to go (a recipient, an invitee, a URL) names the
    # attacker's own value; the goal's other addresses are what it wants taken (a sender to read).
    destination = json.dumps([v for k, v in by_name.items() if DESTINATION.search(k)], default=str)
    text = task.GOAL + " " + json.dumps(by_name, default=str)
    by_kind = {}
    for kind, pattern in (("email", EMAIL), ("url", URL), ("iban", IBAN), ("date", DATE)):
        m = pattern.search(destination) or pattern.search(text)
        if m:
            by_kind[kind] = m.group(0)
    payload = next((v for k in PAYLOAD_ARGS if isinstance(v := by_name.get(k), str) and v), task.GOAL)
    return AttackerValues(by_name, by_kind, task.GOAL, payload)


_SPACE = re.compile(r"(?:\\[nrt]|\s)+")


def _flat(text: str) -> str:
    """Text with every run of whitespace (or JSON-escaped whitespace) as one space.

    AgentDojo's environments are YAML: an injected goal's line breaks come out folded into spaces
    or regrouped, so a goal is recognised by its words, not its layout."""
    return _SPACE.sub(" ", text).strip()


@lru_cache(maxsize=None)
def _goals() -> tuple[tuple[str, str, str], ...]:
    out = []
    for suite in C.SUITES:
        for tid, task in C.suite(suite).injection_tasks.items():
            out.append((_flat(task.GOAL), suite, tid))
    return tuple(sorted(out, key=lambda g: -len(g[0])))


def injection_in(text: str) -> AttackerValues | None:
    """The injection task whose goal the text carries, if any (an injected tool result quotes it)."""
    flat = _flat(text)
    for goal, suite, tid in _goals():
        if goal and goal in flat:
            return attacker_values(suite, tid)
    return None


def _types(schema: dict[str, Any]) -> list[str]:
    t = schema.get("type")
    if t is None and isinstance(schema.get("anyOf"), list):
        return [s.get("type") for s in schema["anyOf"] if isinstance(s, dict)]
    return t if isinstance(t, list) else [t]


def _fits(value: Any, schema: dict[str, Any]) -> Any:
    """``value`` coerced to the schema's type, or None when it cannot be."""
    types = _types(schema)
    if "array" in types:
        return value if isinstance(value, list) else [value]
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return None
    if "number" in types or "integer" in types:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return int(value) if "integer" in types and "number" not in types else value
    if "string" in types:
        return value if isinstance(value, str) else json.dumps(value, default=str)
    if "boolean" in types:
        return value if isinstance(value, bool) else None
    return value


def _wanted(name: str, atk: AttackerValues) -> Any:
    """The attacker's value for a field called ``name``, or None when the injection names none."""
    low = name.lower()
    if low in atk.by_name:
        return atk.by_name[low]
    words = [w for w in re.split(r"[^a-z0-9]+", low) if w]
    for word in words:
        if word in atk.by_name:
            return atk.by_name[word]
    for pattern, kinds in KINDS:
        if pattern.search(low):
            return next((atk.by_kind[k] for k in kinds if k in atk.by_kind), None)
    return None


def _attacker_field(name: str, schema: dict[str, Any], honest: Any, atk: AttackerValues,
                    defs: dict[str, Any]) -> Any:
    if name == "have_enough_info":
        return True
    wanted = _wanted(name, atk)
    types = _types(schema)
    if wanted is not None:
        fitted = _fits(wanted, schema)
        if fitted is not None:
            if "array" in types and isinstance(honest, list):
                return honest + [x for x in fitted if x not in honest]
            return fitted
    if "string" in types and isinstance(honest, str):
        return f"{honest} {atk.payload}".strip()
    if "array" in types and isinstance(honest, list):
        item = _resolve(schema.get("items") if isinstance(schema.get("items"), dict) else {}, defs)
        props = item.get("properties")
        if isinstance(props, dict):  # a list of records: the injection adds one of its own
            planted = {k: _attacker_field(k, _resolve(v, defs), _empty(_resolve(v, defs)), atk, defs)
                       for k, v in props.items() if isinstance(v, dict)}
            return honest + [planted]
        if all(isinstance(x, str) for x in honest):
            return honest + [atk.payload]
    return honest


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return defs.get(ref.split("/")[-1], {})
    return schema


def _empty(schema: dict[str, Any]) -> Any:
    types = _types(schema)
    if "null" in types:
        return None
    return {"array": [], "string": "", "number": 0, "integer": 0, "boolean": False,
            "object": {}}.get(next((t for t in types if t), "string"), None)


def answer(text: str, schema: dict[str, Any], suite_hint: list[str], adversarial: bool) -> tuple[Any, str]:
    """The reader's JSON answer to one request, and how it was made (``key``, ``attacker``, ``miss``)."""
    question, data = split_query(text)
    honest: Any = None
    how = "miss"
    for suite in suite_hint:
        key = answer_key(suite)
        if question in key:
            honest, how = key[question], "key"
            break
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else None
    atk = injection_in(data) if adversarial else None
    if props is None:  # a bare value was asked for
        if atk is not None:
            return _attacker_field("value", schema, honest, atk, schema.get("$defs") or {}), "attacker"
        return (honest if how == "key" else _empty(schema)), how
    defs = schema.get("$defs") or {}
    honest_obj = honest if isinstance(honest, dict) else {}
    out = {}
    for name, sub in props.items():
        sub = _resolve(sub if isinstance(sub, dict) else {}, defs)
        value = honest_obj.get(name, True if name == "have_enough_info" else _empty(sub))
        out[name] = _attacker_field(name, sub, value, atk, defs) if atk is not None else value
    return out, ("attacker" if atk is not None else how)
