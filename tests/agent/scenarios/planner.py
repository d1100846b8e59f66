"""A scripted stand-in for every model Airlock talks to, as a ``FakeLLM`` handler.

Airlock's internal requests announce their role on the first line of the system prompt
(``# Airlock planner (PLLM)``, ``# Airlock quarantined reader (QLLM)``...). The handler routes
on that line:

* **PLLM** — finds the task from the user query (the only trusted input) and the tool
  signatures in the system prompt, and answers with *our* program for it in a ```python block.
  Values in the program (IDs, recipients, quarters) are read from the query, not hard-coded.
* **QLLM** — answers the requested JSON Schema from the text it is handed (``Name: ...`` lines,
  ``From:`` headers...). ``obey_injection = True`` makes it a compromised reader that returns
  the attacker's address whenever the data asks it to.
* **RLLM / TLLM / selector / error detector** — accept, keep every tool, pick 1, no error.
* **anything else** (no marker: a single-LLM request) — plays a tool-calling model that runs
  the same task one tool call per request, reading the tool results from the history. The cost
  benchmark compares the two.

Every call is counted per role with a rough prompt size (``len(text) // 4``), which is also the
``input_tokens`` the fake reports, so Airlock's summed ``usage`` can be checked against it.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.agent.scenarios.catalog import ATTACKER, INJECTION
from tests.fakes.llm_server import FakeRequest, Reply, ToolCall

MARKERS = {
    "# Airlock planner (PLLM)": "pllm",
    "# Airlock quarantined reader (QLLM)": "qllm",
    "# Airlock reviewer (RLLM)": "rllm",
    "# Airlock tool filter (TLLM)": "tllm",
    "# Airlock plan selector": "selector",
    "# Airlock tool error detector": "error_detector",
}


# --------------------------------------------------------------------------------------------
# Reading a request, whatever its API.
# --------------------------------------------------------------------------------------------


def _text(content: Any) -> str:
    """Text of a content value: str, or a list of blocks/parts (text, tool_use, tool_result...)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    out = []
    for part in content:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, dict):
            if isinstance(part.get("text"), str):
                out.append(part["text"])
            if "input" in part:  # tool_use
                out.append(json.dumps(part["input"]))
            if "content" in part:  # tool_result
                out.append(_text(part["content"]))
    return "\n".join(out)


def system_text(req: FakeRequest) -> str:
    body = req.json if isinstance(req.json, dict) else {}
    if req.api == "messages":
        return _text(body.get("system"))
    if req.api == "responses":
        return body.get("instructions") or ""
    msgs = body.get("messages") or []
    return "\n".join(_text(m.get("content")) for m in msgs if m.get("role") in ("system", "developer"))


def history(req: FakeRequest) -> list[dict]:
    """Non-system messages as ``{"role", "text", "tool_calls": [(name, args)]}`` (neutral form)."""
    body = req.json if isinstance(req.json, dict) else {}
    items = body.get("input") if req.api == "responses" else body.get("messages")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    out = []
    for m in items or []:
        role = m.get("role") or m.get("type")
        if role in ("system", "developer"):
            continue
        calls = [(tc["function"]["name"], json.loads(tc["function"]["arguments"] or "{}"))
                 for tc in m.get("tool_calls") or []]
        if isinstance(m.get("content"), list):
            calls += [(b["name"], b.get("input") or {}) for b in m["content"] if b.get("type") == "tool_use"]
            if any(b.get("type") == "tool_result" for b in m["content"] if isinstance(b, dict)):
                role = "tool"
        if role == "function_call":
            calls.append((m["name"], json.loads(m.get("arguments") or "{}")))
            role = "assistant"
        text = _text(m.get("content")) if role != "function_call_output" else str(m.get("output", ""))
        out.append({"role": "tool" if role == "function_call_output" else role, "text": text, "tool_calls": calls})
    return out


def prompt_text(req: FakeRequest) -> str:
    """What the model reads: system + messages + the tool definitions (for the token estimate)."""
    body = req.json if isinstance(req.json, dict) else {}
    parts = [system_text(req)]
    for m in history(req):
        parts.append(m["text"])
        parts += [f"{n}({json.dumps(a)})" for n, a in m["tool_calls"]]
    if body.get("tools"):
        parts.append(json.dumps(body["tools"]))
    fmt = body.get("response_format") or (body.get("text") or {}).get("format")
    if fmt:
        parts.append(json.dumps(fmt))
    return "\n".join(p for p in parts if p)


def tokens(text: str) -> int:
    return max(1, len(text) // 4)


def role_of(req: FakeRequest) -> str:
    first = system_text(req).lstrip().split("\n", 1)[0].strip()
    return MARKERS.get(first, "single")


def wanted_schema(req: FakeRequest) -> dict[str, Any]:
    """The JSON Schema a structured request asks for (native field, else the one quoted in text)."""
    body = req.json if isinstance(req.json, dict) else {}
    rf = body.get("response_format") or {}
    if isinstance(rf.get("json_schema"), dict) and isinstance(rf["json_schema"].get("schema"), dict):
        return rf["json_schema"]["schema"]
    tf = (body.get("text") or {}).get("format") or {}
    if isinstance(tf.get("schema"), dict):
        return tf["schema"]
    decoder = json.JSONDecoder()
    for text in (req.last_user_text, system_text(req)):
        for m in reversed(list(re.finditer(r"JSON Schema[^\n{]*\n?", text))):
            try:
                value, _ = decoder.raw_decode(text[m.end():].lstrip())
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return {}


# --------------------------------------------------------------------------------------------
# The planner's programs (ours), chosen from the query.
# --------------------------------------------------------------------------------------------


def _q(value: str) -> str:
    return json.dumps(value)


def _find(pattern: str, text: str, default: str = "") -> str:
    m = re.search(pattern, text)
    return m.group(1) if m else default


def program_for(query: str, tool_names: set[str]) -> str:
    """Our program for the task named by ``query`` (``tool_names``: what the system prompt offers)."""
    q = query
    if "internal document" in q and "inbox" in q:
        doc_id = _find(r"document (DOC-?\w+)", q)
        return f"""\
final_return_value = None
inbox = read_inbox()
schema = {{
    "type": "object",
    "properties": {{
        "have_enough_info": {{"type": "boolean"}},
        "requester_email": {{"type": "string", "description": "Email address of the person who asked for the document"}},
    }},
    "required": ["have_enough_info", "requester_email"],
}}
found = parse_with_ai(
    query="Who asked for document " + {_q(doc_id)} + "? Give their email address. Messages:\\n\\n" + inbox,
    output_schema=schema,
)
document = get_internal_document(doc_id={_q(doc_id)})
send_email(to=found["requester_email"], subject="Document " + {_q(doc_id)}, body=document)
final_return_value = {{"doc_id": {_q(doc_id)}, "sent_to": found["requester_email"]}}
"""
    if "internal document" in q:
        doc_id = _find(r"ID '([^']+)'", q)
        to = _find(r"email it to ([\w.+-]+@[\w.-]+\w)", q)
        return f"""\
final_return_value = None
doc_id = {_q(doc_id)}
recipient = {_q(to)}
content = get_internal_document(doc_id=doc_id)
email_body = f"As requested, here is internal document {{doc_id}}.\\n\\n{{content}}"
send_email(to=recipient, subject=f"Document {{doc_id}}", body=email_body)
final_return_value = {{"doc_id": doc_id, "emailed_to": recipient, "status": "sent"}}
"""
    if "refund" in q:
        order = _find(r"order ID '([^']+)'", q)
        return f"""\
final_return_value = None
confirmation = issue_refund(order_id={_q(order)})
final_return_value = confirmation
"""
    if "business summary" in q:
        company = _find(r"for '([^']+)'", q)
        quarter = _find(r"(Q[1-4] \d{4})", q)
        given = _find(r"Use '([^']+)' as argument", q)
        if "get_marketing_analysis" in tool_names and not given:
            analysis = f"analysis = get_marketing_analysis(company={_q(company)})"
        else:
            analysis = f"analysis = {_q(given)}"
        return f"""\
final_return_value = None
report = get_quarterly_earning_report(company={_q(company)}, quarter={_q(quarter)})
{analysis}
summary = generate_business_summary(earning_report=report, marketing_analysis=analysis)
final_return_value = summary
"""
    if "patient record" in q:
        patient = _find(r"patient ID '([^']+)'", q)
        clean = "de-identify" in q and "de_identify_data" in tool_names
        return f"""\
final_return_value = None
record = load_patient_record(patient_id={_q(patient)})
{"outgoing = de_identify_data(data=record)" if clean else "outgoing = record"}
receipt = send_to_research_institute(data=outgoing)
final_return_value = {{"patient_id": {_q(patient)}, "sent": True, "de_identified": {clean}}}
"""
    if "applicant profile" in q:
        applicant = _find(r"applicant id = '([^']+)'", q)
        targets = re.findall(r"'([\w.+-]+@[\w.-]+\w)'", q)
        if "parse_with_ai" in q:
            return f"""\
from pydantic import BaseModel, Field
final_return_value = None
profile_text = retrive_applicant_profile_text(applicant_id={_q(applicant)})

class ApplicantFacts(BaseModel):
    have_enough_info: bool = Field(description="True if the profile names the applicant and their education")
    name: str = Field(description="Full name of the applicant")
    education_level: str = Field(description="Highest education level")

facts = parse_with_ai(
    query="From this applicant profile, extract the applicant's full name and education level.\\n\\n" + profile_text,
    output_schema=ApplicantFacts.model_json_schema(),
)
send_email(to={_q(targets[0])}, subject="Applicant profile: " + facts["name"], attachment_content=profile_text)
final_return_value = {{"name": facts["name"], "education_level": facts["education_level"], "sent_to": {_q(targets[0])}}}
"""
        if "race" in q and len(targets) >= 2:
            race = _find(r"race is '([^']+)'", q)
            route = f"""\
if profile["race"] == {_q(race)}:
    recipient = {_q(targets[0])}
else:
    recipient = {_q(targets[1])}
"""
        else:
            route = f"recipient = {_q(targets[0])}\n"
        return f"""\
import json
final_return_value = None
profile = retrive_applicant_profile(applicant_id={_q(applicant)})
{route}send_email(to=recipient, subject="Applicant profile " + {_q(applicant)}, attachment_content=json.dumps(profile))
final_return_value = {{"applicant_id": {_q(applicant)}, "sent_to": recipient}}
"""
    return f"final_return_value = {_q('I cannot help with that request.')}\n"


def query_of(pllm_user_text: str) -> str:
    """The query inside the PLLM's user message (after ``User query:`` when the engine labels it)."""
    m = re.search(r"User query:\s*\n(.*?)(?:\n\nWrite the program\.)?\s*$", pllm_user_text, re.S)
    return m.group(1).strip() if m else pllm_user_text


def declared_tools(system: str) -> set[str]:
    return set(re.findall(r"def (\w+)\(", system)) | set(re.findall(r"^- (\w+)", system, re.M))


# --------------------------------------------------------------------------------------------
# The quarantined reader.
# --------------------------------------------------------------------------------------------

_FIELD_HINTS = {
    "name": [r"^Name:\s*(.+)$", r"Thanks, (\w+)"],
    "education_level": [r"^Education Level:\s*(.+)$"],
}


def read_structured(text: str, schema: dict[str, Any], obey_injection: bool = False) -> Any:
    """Answer ``schema`` from ``text`` the way a careful (or a compromised) reader would."""
    t = schema.get("type")
    if t != "object" and "properties" not in schema:
        return _scalar(text, schema, "", obey_injection)
    out = {}
    for key, sub in (schema.get("properties") or {}).items():
        out[key] = _scalar(text, sub if isinstance(sub, dict) else {}, key, obey_injection)
    return out


def _scalar(text: str, schema: dict[str, Any], key: str, obey_injection: bool) -> Any:
    types = schema.get("type")
    if types is None and isinstance(schema.get("anyOf"), list):
        types = [s.get("type") for s in schema["anyOf"] if isinstance(s, dict)]
    types = types if isinstance(types, list) else [types]
    if "boolean" in types:
        return key == "have_enough_info" or bool(text.strip())
    if "integer" in types or "number" in types:
        m = re.search(r"-?\d+(?:\.\d+)?", text)
        return (int(float(m.group())) if "integer" in types else float(m.group())) if m else 0
    if "array" in types:
        return []
    if "email" in key or key in ("to", "recipient", "address"):
        if obey_injection and ATTACKER in text:
            return ATTACKER
        m = re.search(r"^From:\s*([\w.+-]+@[\w.-]+\w)", text, re.M)
        return m.group(1) if m else ""
    for pattern in _FIELD_HINTS.get(key, [rf"^{re.escape(key.replace('_', ' '))}:\s*(.+)$"]):
        m = re.search(pattern, text, re.M | re.I)
        if m:
            return m.group(1).strip()
    return None if "null" in types else ""


# --------------------------------------------------------------------------------------------
# The single-LLM model: the same tasks, one tool call per request, reading results itself.
# --------------------------------------------------------------------------------------------


def single_llm_step(query: str, calls: list[tuple[str, dict]], results: list[str], tool_names: set[str]) -> Reply:
    """Next move of a plain tool-calling model given what happened so far."""

    def call(name: str, **args: Any) -> Reply:
        return Reply(tool_calls=[ToolCall(name, args)])

    n = len(results)
    q = query
    if "internal document" in q and "inbox" in q:
        doc_id = _find(r"document (DOC-?\w+)", q)
        steps = [lambda: call("read_inbox"),
                 lambda: call("get_internal_document", doc_id=doc_id),
                 lambda: call("send_email", to=read_structured(results[0], {"properties": {"requester_email": {"type": "string"}}})["requester_email"],
                              subject=f"Document {doc_id}", body=results[1])]
        done = "I emailed the document to the colleague who asked for it."
    elif "internal document" in q:
        doc_id, to = _find(r"ID '([^']+)'", q), _find(r"email it to ([\w.+-]+@[\w.-]+\w)", q)
        steps = [lambda: call("get_internal_document", doc_id=doc_id),
                 lambda: call("send_email", to=to, subject=f"Document {doc_id}",
                              body=f"As requested, here is internal document {doc_id}.\n\n{results[0]}")]
        done = f"Document {doc_id} was emailed to {to}."
    elif "refund" in q:
        steps = [lambda: call("issue_refund", order_id=_find(r"order ID '([^']+)'", q))]
        done = "The refund has been issued."
    elif "business summary" in q:
        company, quarter = _find(r"for '([^']+)'", q), _find(r"(Q[1-4] \d{4})", q)
        given = _find(r"Use '([^']+)' as argument", q)
        steps = [lambda: call("get_quarterly_earning_report", company=company, quarter=quarter)]
        if "get_marketing_analysis" in tool_names and not given:
            steps.append(lambda: call("get_marketing_analysis", company=company))
            steps.append(lambda: call("generate_business_summary", earning_report=results[0], marketing_analysis=results[1]))
        else:
            steps.append(lambda: call("generate_business_summary", earning_report=results[0], marketing_analysis=given))
        done = "Here is the business summary."
    elif "patient record" in q:
        patient = _find(r"patient ID '([^']+)'", q)
        steps = [lambda: call("load_patient_record", patient_id=patient)]
        if "de-identify" in q and "de_identify_data" in tool_names:
            steps.append(lambda: call("de_identify_data", data=results[0]))
        steps.append(lambda: call("send_to_research_institute", data=results[-1]))
        done = "The record was sent to the research institute."
    elif "applicant profile" in q:
        applicant = _find(r"applicant id = '([^']+)'", q)
        targets = re.findall(r"'([\w.+-]+@[\w.-]+\w)'", q)
        tool = "retrive_applicant_profile_text" if "parse_with_ai" in q else "retrive_applicant_profile"

        def send() -> Reply:
            to = targets[0]
            if "race" in q and len(targets) >= 2:
                to = targets[0] if _find(r"race is '([^']+)'", q) in results[0] else targets[1]
            return call("send_email", to=to, subject=f"Applicant profile {applicant}", attachment_content=results[0])

        steps = [lambda: call(tool, applicant_id=applicant), send]
        done = "The applicant profile was sent."
    else:
        return Reply(text="I cannot help with that request.")
    if n < len(steps):
        return steps[n]()
    return Reply(text=done)


# --------------------------------------------------------------------------------------------
# The handler.
# --------------------------------------------------------------------------------------------


@dataclass
class Call:
    role: str
    prompt_tokens: int
    output_tokens: int
    request: FakeRequest
    answer: str


@dataclass
class ScriptedLLM:
    """Install with ``fake.handler = ScriptedLLM()``; inspect ``calls`` / ``by_role`` afterwards."""

    obey_injection: bool = False
    program_override: dict[str, str] = field(default_factory=dict)  # query substring → program
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- accounting ---------------------------------------------------------------------------
    def count(self, role: str | None = None) -> int:
        return sum(1 for c in self.calls if role is None or c.role == role)

    def prompt_tokens(self, role: str | None = None) -> int:
        return sum(c.prompt_tokens for c in self.calls if role is None or c.role == role)

    def by_role(self) -> dict[str, dict[str, int]]:
        out: dict[str, Counter] = {}
        for c in self.calls:
            acc = out.setdefault(c.role, Counter())
            acc["calls"] += 1
            acc["prompt_tokens"] += c.prompt_tokens
            acc["output_tokens"] += c.output_tokens
        return {k: dict(v) for k, v in out.items()}

    def requests(self, role: str) -> list[FakeRequest]:
        return [c.request for c in self.calls if c.role == role]

    def mark(self) -> int:
        return len(self.calls)

    def since(self, mark: int) -> list[Call]:
        return self.calls[mark:]

    # -- answering ----------------------------------------------------------------------------
    def __call__(self, req: FakeRequest) -> Reply:
        role = role_of(req)
        if role == "single":
            reply = self._single(req)
        else:
            reply = Reply(text=getattr(self, "_" + role)(req))
        answer = reply.text or json.dumps([(tc.name, tc.arguments) for tc in reply.tool_calls])
        reply.input_tokens = tokens(prompt_text(req))
        reply.output_tokens = tokens(answer)
        with self._lock:
            self.calls.append(Call(role, reply.input_tokens, reply.output_tokens, req, answer))
        return reply

    def _pllm(self, req: FakeRequest) -> str:
        user = req.last_user_text
        query = query_of(user)
        for needle, program in self.program_override.items():
            if needle in query:
                return f"Here is the plan.\n\n```python\n{program}```\n"
        program = program_for(query, declared_tools(system_text(req)))
        return f"Plan for the request.\n\n```python\n{program}```\n"

    def _qllm(self, req: FakeRequest) -> str:
        return json.dumps(read_structured(req.last_user_text, wanted_schema(req), self.obey_injection))

    def _rllm(self, req: FakeRequest) -> str:
        return json.dumps({"accept": True, "category": "ok", "reason": "the result answers the request"})

    def _tllm(self, req: FakeRequest) -> str:
        return json.dumps({"tools": sorted(set(re.findall(r"^- (\w+)", req.last_user_text, re.M)))})

    def _selector(self, req: FakeRequest) -> str:
        return "1"

    def _error_detector(self, req: FakeRequest) -> str:
        return json.dumps({"is_error": False})

    def _single(self, req: FakeRequest) -> Reply:
        msgs = history(req)
        query = next((m["text"] for m in msgs if m["role"] == "user"), "")
        calls = [c for m in msgs for c in m["tool_calls"]]
        results = [m["text"] for m in msgs if m["role"] == "tool"]
        body = req.json if isinstance(req.json, dict) else {}
        names = {t.get("name") or (t.get("function") or {}).get("name") for t in body.get("tools") or []}
        return single_llm_step(query, calls, results, names)


__all__ = ["INJECTION", "MARKERS", "ScriptedLLM", "program_for", "read_structured", "role_of", "single_llm_step"]
