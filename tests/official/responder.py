"""A scripted model that answers the official ``sequrity`` test suite's prompts, as a FakeLLM handler.

It reads each request the way a competent model would and answers from its *content*: the
question asked, the tools offered, the earlier turns. Nothing keys on a test's name.

Roles (Airlock marks its internal requests on the first line of the system prompt):

* **PLLM** (``# Airlock planner (PLLM)``): finds the user query (after ``User query:``) and the
  tool signatures (the ``## Tools you can call`` block), and writes one ```python program:
  the tool calls the query asks for, in the order it asks for them, with arguments read from the
  query (flight numbers, cities, dates as ISO, ids, e-mail addresses) and earlier results
  flowing into later calls ("send *it*"). A return trip swaps the cities of the earlier booking,
  found in the previous turns the planner is shown. Without tools it answers the question,
  computing what can be computed (the largest prime below N) in the program itself.
* **QLLM**: fills the requested JSON Schema from the text (``tests.agent.scenarios.planner``).
* **RLLM / TLLM / selector / tool error detector**: accept, keep every tool, pick 1, no error.
* **Policy generation** (``# Airlock policy writer (policy LLM)``): turns the
  description ("allow X but prevent Y", "only allow ... ending in @domain") into SQRT for the
  listed tools.
* **No marker** (single-LLM proxying): answers the question in plain text, or calls the next tool
  the request needs, reading earlier tool results from the history.

Every reply reports ``input_tokens`` = ``len(prompt) // 4`` (at least 1) and a matching
``output_tokens``, like a real provider's usage.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.agent.scenarios.planner import (
    history,
    prompt_text,
    query_of,
    read_structured,
    role_of,
    system_text,
    tokens,
    wanted_schema,
)
from tests.fakes.llm_server import FakeRequest, Reply, ToolCall

POLICY_GEN_MARKER = "# Airlock policy writer (policy LLM)"

# --------------------------------------------------------------------------------------------
# Answering plain questions.
# --------------------------------------------------------------------------------------------


def largest_prime_below(n: int) -> int | None:
    for k in range(n - 1, 1, -1):
        if all(k % d for d in range(2, int(k**0.5) + 1)):
            return k
    return None


def answer_question(question: str, system: str = "") -> str:
    """A short, correct answer to the kinds of questions a smoke test asks."""
    q = question.strip()
    low = q.lower()
    m = re.search(r"largest prime(?: number)? (?:below|under|less than|smaller than) (\d+)", low)
    if m:
        p = largest_prime_below(int(m.group(1)))
        if "just the number" in low or "only the number" in low:
            return str(p)
        return f"The largest prime number below {m.group(1)} is {p}."
    m = re.search(r"what is (-?\d+) ?([-+*]) ?(-?\d+)", low)
    if m:
        a, op, b = int(m.group(1)), m.group(2), int(m.group(3))
        value = a + b if op == "+" else a - b if op == "-" else a * b
        return str(value) if "just the number" in low or "only the number" in low else f"{a} {op} {b} = {value}."
    m = re.search(r"\bsay (\w+) in one word", low)
    if m:
        return m.group(1).capitalize() + "!"
    name = re.search(r"my name is (\w+)", q, re.I)
    if name:
        who = name.group(1)
        return f"Nice to meet you, {who}! I'll remember that your name is {who}."
    if re.fullmatch(r"(hi|hello|hey)[!. ]*", low):
        return "Hello! How can I help you today?"
    if re.search(r"what (do you do|are you|can you do)", low):
        role = re.search(r"You are (an? [^.]+?)\.", system)
        if role:
            who = role.group(1)
            what = re.sub(r"^an? (helpful )?", "", who)
            return f"I am {who}, so I help you with anything a {what} can, one clear step at a time."
        return "I am an assistant that answers questions and uses the tools I am given to get things done."
    verb = re.match(r"(?:please |can you |could you )?(book|send|buy|order|delete|create|schedule)\b", low)
    if verb:
        return f"I can't {verb.group(1)} anything here: no tool for that is available to me."
    return "I'm not sure I can help with that, but I'm happy to try if you tell me more."


# --------------------------------------------------------------------------------------------
# Tools: parsing what is offered, choosing calls and their arguments from the query.
# --------------------------------------------------------------------------------------------


@dataclass
class Param:
    name: str
    description: str = ""
    required: bool = True


@dataclass
class Tool:
    name: str
    description: str = ""
    params: list[Param] = field(default_factory=list)


def tools_from_planner_prompt(system: str) -> list[Tool]:
    """The tool signatures in the planner's ``## Tools you can call`` section."""
    section = system.split("## Tools you can call", 1)[-1].split("## Internal tools", 1)[0]
    out = []
    for m in re.finditer(r'^def (\w+)\((.*?)\) -> [^\n]*:\n\s*"""(.*?)"""', section, re.M | re.S):
        name, arglist, doc = m.groups()
        descs = dict(re.findall(r"^\s{8}(\w+): (.*)$", doc, re.M))
        params = []
        for arg in filter(None, (a.strip() for a in arglist.split(","))):
            pname = arg.split(":", 1)[0].strip()
            params.append(Param(pname, descs.get(pname, ""), "= None" not in arg))
        out.append(Tool(name, doc.split("Args:", 1)[0].strip(), params))
    return out


def tools_from_body(body: dict) -> list[Tool]:
    """Tools of a provider request, in Chat Completions, Messages or Responses form."""
    out = []
    for t in body.get("tools") or []:
        spec = t.get("function", t)
        schema = spec.get("parameters") or spec.get("input_schema") or {}
        required = set(schema.get("required") or [])
        params = [Param(k, (v or {}).get("description", ""), k in required)
                  for k, v in (schema.get("properties") or {}).items()]
        if spec.get("name"):
            out.append(Tool(spec["name"], spec.get("description", ""), params))
    return out


_GENERIC = {"get", "set", "do", "run", "make", "tool", "data", "info", "the", "a", "to"}
_MONTHS = {m.lower(): i for i, m in enumerate(
    ["January", "February", "March", "April", "May", "June", "July", "August", "September",
     "October", "November", "December"], start=1)}
EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"


def _stem(word: str) -> str:
    return word.lower()[:4]


def _mentions(query: str, tool: Tool) -> int | None:
    """Where the query first asks for ``tool`` (by its name's words), or None."""
    positions = []
    for word in tool.name.lower().split("_"):
        if word in _GENERIC or len(word) < 3:
            continue
        stem = _stem(word)
        hit = re.search(rf"\b{re.escape(stem)}", query.lower())
        if hit:
            positions.append(hit.start())
        elif word in ("email", "mail") and re.search(EMAIL, query):
            positions.append(re.search(EMAIL, query).start())
    return min(positions) if positions else None


def iso_date(text: str) -> str | None:
    months = "|".join(_MONTHS)
    m = re.search(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?(?: of)? ({months}),? (\d{{4}})", text, re.I)
    if m:
        return dt.date(int(m.group(3)), _MONTHS[m.group(2).lower()], int(m.group(1))).isoformat()
    m = re.search(rf"\b({months}) (\d{{1,2}})(?:st|nd|rd|th)?,? (\d{{4}})", text, re.I)
    if m:
        return dt.date(int(m.group(3)), _MONTHS[m.group(1).lower()], int(m.group(2))).isoformat()
    m = re.search(r"\b(\d{4}-\d{2}-\d{2})\b", text)
    return m.group(1) if m else None


def _route(text: str) -> tuple[str, str] | None:
    m = re.search(r"\bfrom ([A-Z][\w.]*(?: [A-Z][\w.]*)*) to ([A-Z][\w.]*(?: [A-Z][\w.]*)*)", text)
    return (m.group(1), m.group(2)) if m else None


@dataclass
class Ref:
    """An argument that is the result of an earlier call in the plan."""

    step: int


@dataclass
class Step:
    tool: str
    args: dict[str, Any]
    missing: list[str] = field(default_factory=list)  # required arguments the query does not give


def plan_calls(query: str, tools: list[Tool], earlier: list[str]) -> list[Step]:
    """The tool calls ``query`` asks for, in order. ``earlier``: previous user queries (trusted)."""
    wanted = sorted(((pos, t) for t in tools if (pos := _mentions(query, t)) is not None), key=lambda x: x[0])
    steps: list[Step] = []
    for _, tool in wanted:
        args, missing = {}, []
        for p in tool.params:
            value = _argument(p, tool, query, earlier, steps)
            if value is not None:
                args[p.name] = value
            elif p.required:
                missing.append(p.name)
        steps.append(Step(tool.name, args, missing))
    return steps


def _argument(p: Param, tool: Tool, query: str, earlier: list[str], steps: list[Step]) -> Any:
    name, desc = p.name.lower(), p.description.lower()
    both = f"{name} {desc}"
    if "flight" in name and ("number" in name or "no" == name.split("_")[-1]):
        m = re.search(r"\b([A-Z]{2}\d{1,4})\b", query)
        return m.group(1) if m else None
    if name in ("origin", "destination", "from_city", "to_city", "source"):
        route = _route(query)
        if route is None and re.search(r"\breturn\b", query, re.I):
            before = next((r for q in reversed(earlier) if (r := _route(q))), None)
            route = (before[1], before[0]) if before else None
        if route is None:
            return None
        return route[0] if name in ("origin", "from_city", "source") else route[1]
    if "date" in name:
        return iso_date(query) or next((d for q in reversed(earlier) if (d := iso_date(q))), None)
    if name in ("location", "city", "place") or "city" in desc:
        m = re.search(r"\b(?:in|at|for) ([A-Z][\w]*(?:,? [A-Z][\w]*)*)", query)
        return m.group(1) if m else None
    if name in ("to", "recipient", "email", "address") or "email address" in both:
        m = re.search(EMAIL, query)
        return m.group(0) if m else None
    if name == "id" or name.endswith("_id"):
        m = re.search(r"'([^'\s]+)'", query) or re.search(r"\b([A-Za-z]+-\d+)\b", query)
        return m.group(1) if m else None
    if name in ("body", "content", "data", "text", "message", "attachment_content") and steps:
        return Ref(len(steps) - 1)
    if name in ("subject", "title") and steps:
        first = steps[0]
        ident = next((v for v in first.args.values() if isinstance(v, str)), "")
        topic = re.sub(r"^(load|get|read|fetch|retrieve)_", "", first.tool).replace("_", " ")
        return f"{topic.capitalize()} {ident}".strip()
    if p.required and name in ("subject", "title", "body", "content", "message", "text", "query"):
        return query
    return None


def clarifying_question(steps: list[Step]) -> str | None:
    """What to ask instead of guessing, when a call lacks a required argument."""
    for step in steps:
        if step.missing:
            return f"To {step.tool.replace('_', ' ')}, I need the {' and '.join(m.replace('_', ' ') for m in step.missing)}. Could you tell me?"
    return None


# --------------------------------------------------------------------------------------------
# Programs.
# --------------------------------------------------------------------------------------------


def _var(step: Step, i: int) -> str:
    base = re.sub(r"^(load|get|read|fetch|retrieve|book|send|issue|create)_", "", step.tool)
    return f"{base}_{i + 1}" if base else f"result_{i + 1}"


def program_for(query: str, tools: list[Tool], earlier: list[str], system: str = "") -> str:
    steps = plan_calls(query, tools, earlier) if tools else []
    if not steps:
        return answer_program(query, system)
    question = clarifying_question(steps)
    if question:
        return f"final_return_value = None\nfinal_return_value = {json.dumps(question)}\n"
    names = [_var(s, i) for i, s in enumerate(steps)]
    lines = ["final_return_value = None"]
    for i, step in enumerate(steps):
        args = ", ".join(f"{k}={names[v.step] if isinstance(v, Ref) else json.dumps(v)}" for k, v in step.args.items())
        lines.append(f"{names[i]} = {step.tool}({args})")
    lines.append(f"final_return_value = {names[-1]}")
    return "\n".join(lines) + "\n"


def answer_program(query: str, system: str = "") -> str:
    """A program that answers a question without tools (computing it when it is computable)."""
    m = re.search(r"largest prime(?: number)? (?:below|under|less than|smaller than) (\d+)", query.lower())
    if m:
        return f"""\
final_return_value = None

def is_prime(n):
    if n < 2:
        return False
    d = 2
    while d * d <= n:
        if n % d == 0:
            return False
        d += 1
    return True

primes = [n for n in range({int(m.group(1))}) if is_prime(n)]
final_return_value = max(primes)
"""
    return f"final_return_value = None\nfinal_return_value = {json.dumps(answer_question(query, system))}\n"


def planner_inputs(req: FakeRequest) -> tuple[str, list[str], str]:
    """The current query, the earlier turns' queries, and the trusted instructions inlined."""
    # User messages of the planner exchange: one "User query:" message per turn (earlier turns
    # first), plus Airlock's feedback after a failed attempt; the query is the newest turn's.
    users = [m["text"] for m in history(req) if m["role"] == "user" and "User query:" in m["text"]]
    current = users[-1] if users else req.last_user_text
    earlier = [query_of(u) for u in users[:-1]]
    context = current.split("User query:", 1)[0]
    instructions = " ".join(re.findall(r"^\[(?:system|developer)\] (.*)$", context, re.M))
    return query_of(current), earlier, instructions


# --------------------------------------------------------------------------------------------
# Policy generation.
# --------------------------------------------------------------------------------------------


def policy_for(description: str, tools: list[tuple[str, list[str]]]) -> str:
    """SQRT for ``description`` over ``tools`` (name, parameter names)."""
    parts = re.split(r"\b(?:but|except|however)\b", description, maxsplit=1)
    allowed_part, denied_part = (parts[0], parts[1]) if len(parts) == 2 else (description, "")
    if re.search(r"\b(prevent|block|deny|forbid|never|not allow|disallow)\b", allowed_part, re.I) and not denied_part:
        allowed_part, denied_part = "", allowed_part
    out: list[str] = []
    domain = re.search(r"ending (?:in|with) (@[\w.-]+\w)", description)
    for name, params in tools:
        words = [w for w in name.lower().split("_") if w not in _GENERIC and len(w) >= 3]
        in_allowed = words and all(re.search(rf"\b{_stem(w)}", allowed_part.lower()) for w in words)
        in_denied = any(re.search(rf"\b{_stem(w)}", denied_part.lower()) for w in words)
        target = next((p for p in params if p in ("to", "recipient", "email", "address")), None)
        if domain and target and any(re.search(rf"\b{_stem(w)}", description.lower()) for w in words):
            pattern = ".*" + re.escape(domain.group(1))
            out.append(f'tool "{name}" {{\n    /// {description.strip()}\n'
                       f'    hard deny when not ({target}.value in str matching r"{pattern}");\n}}')
        elif in_denied and not in_allowed:
            out.append(f'tool "{name}" {{\n    /// {description.strip()}\n    hard deny always;\n}}')
        elif in_allowed:
            out.append(f'tool "{name}" {{\n    /// Allowed by the policy description.\n    soft allow always;\n}}')
    if not out:
        out.append("// No tool named in the description needs a rule; the default (allow) applies.")
    return "\n\n".join(out) + "\n"


def _policy_gen_tools(text: str) -> list[tuple[str, list[str]]]:
    found = []
    for m in re.finditer(r"^- (\w+)\(([^)]*)\)", text, re.M):
        found.append((m.group(1), [p.strip() for p in m.group(2).split(",") if p.strip()]))
    return found


# --------------------------------------------------------------------------------------------
# The handler.
# --------------------------------------------------------------------------------------------


@dataclass
class OfficialLLM:
    """``fake.handler = OfficialLLM()``; ``calls`` records (role, request) for inspection."""

    calls: list[tuple[str, FakeRequest]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, req: FakeRequest) -> Reply:
        system = system_text(req)
        role = "policy_gen" if system.lstrip().startswith(POLICY_GEN_MARKER) else role_of(req)
        reply = getattr(self, "_" + role)(req, system)
        if isinstance(reply, str):
            reply = Reply(text=reply)
        answer = reply.text or json.dumps([(tc.name, tc.arguments) for tc in reply.tool_calls])
        reply.input_tokens = tokens(prompt_text(req))
        reply.output_tokens = tokens(answer)
        with self._lock:
            self.calls.append((role, req))
        return reply

    def roles(self) -> list[str]:
        return [r for r, _ in self.calls]

    # -- Airlock's internal roles -----------------------------------------------------------
    def _pllm(self, req: FakeRequest, system: str) -> str:
        query, earlier, instructions = planner_inputs(req)
        program = program_for(query, tools_from_planner_prompt(system), earlier, instructions)
        return f"Plan:\n\n```python\n{program}```\n"

    def _qllm(self, req: FakeRequest, system: str) -> str:
        return json.dumps(read_structured(req.last_user_text, wanted_schema(req)))

    def _rllm(self, req: FakeRequest, system: str) -> str:
        return json.dumps({"accept": True, "category": "ok", "reason": "the result answers the request"})

    def _tllm(self, req: FakeRequest, system: str) -> str:
        return json.dumps({"tools": sorted(set(re.findall(r"^- (\w+)", req.last_user_text, re.M)))})

    def _selector(self, req: FakeRequest, system: str) -> str:
        return "1"

    def _error_detector(self, req: FakeRequest, system: str) -> str:
        return json.dumps({"is_error": False})

    def _policy_gen(self, req: FakeRequest, system: str) -> str:
        users = [m["text"] for m in history(req) if m["role"] == "user"]
        ask = users[0] if users else ""
        description = ask.split("Policy wanted:", 1)[-1].strip()
        return "```sqrt\n" + policy_for(description, _policy_gen_tools(ask)) + "```"

    # -- a plain model behind the single-LLM proxy ------------------------------------------
    def _single(self, req: FakeRequest, system: str) -> Reply:
        msgs = history(req)
        user_at = max((i for i, m in enumerate(msgs) if m["role"] == "user"), default=None)
        if user_at is None:
            return Reply(text=answer_question("", system))
        query = msgs[user_at]["text"]
        earlier = [m["text"] for m in msgs[:user_at] if m["role"] == "user"]
        body = req.json if isinstance(req.json, dict) else {}
        steps = plan_calls(query, tools_from_body(body), earlier)
        results = [m["text"] for m in msgs[user_at + 1:] if m["role"] == "tool"]
        if not steps:
            return Reply(text=answer_question(query, system))
        if clarifying_question(steps):
            return Reply(text=clarifying_question(steps))
        if len(results) < len(steps):
            step = steps[len(results)]
            args = {k: results[v.step] if isinstance(v, Ref) else v for k, v in step.args.items()}
            return Reply(tool_calls=[ToolCall(step.tool, args)])
        return Reply(text=f"Done. {results[-1]}")


__all__ = ["OfficialLLM", "answer_question", "plan_calls", "policy_for", "program_for", "tools_from_planner_prompt"]
