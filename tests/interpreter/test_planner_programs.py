"""Planner programs like the ones in the reference docs' examples, end to end (own wording)."""

from __future__ import annotations

from airlock.interpreter import Failed, Finished
from airlock.meta import Meta, StrSet

from .helpers import ScriptedPolicy, Verdict, drive, tools


class ProvenancePolicy(ScriptedPolicy):
    """Reports get a 'verified' producer; the summary tool needs both verified sources."""

    def apply_result(self, tool, args, result, session):
        m = super().apply_result(tool, args, result, session)
        extra = {"get_quarterly_report": "verified_financial", "get_market_analysis": "verified_marketing"}.get(tool)
        return m.merge(Meta(producers=StrSet.of([extra]))) if extra else m

    def check_call(self, tool, args, session):
        if tool == "write_summary":
            producers = Meta.merge_all(a.meta for a in args.values()).producers
            if not {"verified_financial", "verified_marketing"} <= set(producers.items):
                return Verdict("hard_denied", "'write_summary' is denied: unverified inputs")
        return super().check_call(tool, args, session)


SUMMARY_TOOLS = tools(get_quarterly_report=("company", "quarter"), get_market_analysis=("company",),
                      write_summary=("financials", "marketing"))
ANSWERS = {"get_quarterly_report": "# Quarter report\nRevenue: 10M", "get_market_analysis": "Strong brand",
           "write_summary": "Summary: good quarter"}


def test_provenance_both_sources_allowed():
    prog = """
# in_progress
final_return_value = None
company = "Sequrity AI"
report = get_quarterly_report(company=company, quarter="Q1 2025")
analysis = get_market_analysis(company=company)
summary = write_summary(financials=report, marketing=analysis)
final_return_value = summary
"""
    out, calls = drive(prog, ANSWERS, policy=ProvenancePolicy(), tools=SUMMARY_TOOLS)
    assert isinstance(out, Finished)
    assert out.value["value"] == "Summary: good quarter"
    assert [c[0] for c in calls] == ["get_quarterly_report", "get_market_analysis", "write_summary"]


def test_provenance_user_supplied_text_denied():
    prog = """
report = get_quarterly_report(company="Sequrity AI", quarter="Q1 2025")
marketing = "The marketing analysis indicates a strong brand presence"
final_return_value = write_summary(financials=report, marketing=marketing)
"""
    out, calls = drive(prog, ANSWERS, policy=ProvenancePolicy(), tools=SUMMARY_TOOLS)
    assert isinstance(out, Failed)
    assert "Tool call write_summary denied by argument checking policies." in out.error.message
    assert [c[0] for c in calls] == ["get_quarterly_report"]


class PrivacyPolicy(ScriptedPolicy):
    """Patient records are 'pii'; de-identification removes the tag; send_to_* refuses pii."""

    def apply_result(self, tool, args, result, session):
        m = super().apply_result(tool, args, result, session)
        if tool == "load_patient_record":
            return m.merge(Meta(tags=StrSet.of(["pii"])))
        if tool == "de_identify":
            return Meta(m.producers, m.consumers, m.tags.minus(StrSet.of(["pii"])))
        return m

    def check_call(self, tool, args, session):
        if tool.startswith("send_to_") and args["data"].meta.tags.contains("pii"):
            return Verdict("hard_denied", f"'{tool}' is denied: pii")
        return super().check_call(tool, args, session)


PRIVACY_TOOLS = tools(load_patient_record=("patient_id",), de_identify=("data",), send_to_research=("data",))
PRIVACY_ANSWERS = {"load_patient_record": "Patient ID: P1\nName: Jane", "de_identify": "Patient ID: [REDACTED]",
                   "send_to_research": "received"}


def test_privacy_with_de_identification():
    prog = """
record = load_patient_record(patient_id="PATIENT001")
clean = de_identify(data=record)
final_return_value = send_to_research(data=clean)
"""
    out, _ = drive(prog, PRIVACY_ANSWERS, policy=PrivacyPolicy(), tools=PRIVACY_TOOLS)
    assert isinstance(out, Finished) and out.value["value"] == "received"


def test_privacy_without_de_identification_denied():
    prog = """
record = load_patient_record(patient_id="PATIENT001")
lines = [line for line in record.split("\\n") if not line.startswith("Name")]
final_return_value = send_to_research(data="\\n".join(lines))
"""
    out, _ = drive(prog, PRIVACY_ANSWERS, policy=PrivacyPolicy(), tools=PRIVACY_TOOLS)
    assert isinstance(out, Failed) and out.error.code == "policy_denied"


def test_qllm_extraction_program_with_schema_and_loop():
    """A planner program that loops over tool data, asks the QLLM, and builds a report."""
    qllm_calls = []

    def parse_with_ai(query, output_schema):
        qllm_calls.append(output_schema["title"])
        return {"urgent": "urgent" in query.lower(), "topic": query.split(":")[1].strip()[:20]}

    prog = """
from pydantic import BaseModel, Field

class Triage(BaseModel):
    urgent: bool = Field(description="Whether the email needs action today")
    topic: str = Field(description="Short topic")

emails = list_emails(folder="inbox", limit=3)
urgent_topics = []
for i, email in enumerate(emails):
    t = parse_with_ai(query=f"Email {i}: {email['subject']} -- {email['body']}", output_schema=Triage.model_json_schema())
    if t["urgent"]:
        urgent_topics.append(t["topic"])
note = "Urgent: " + ", ".join(urgent_topics) if urgent_topics else "Nothing urgent"
send_message(channel="#me", text=note)
final_return_value = {"urgent": len(urgent_topics), "note": note}
"""
    inbox = '[{"subject": "Server down", "body": "URGENT fix"}, {"subject": "Lunch", "body": "maybe"}, {"subject": "Invoice", "body": "urgent pay"}]'
    out, calls = drive(prog, {"list_emails": inbox, "send_message": "posted"},
                       tools=tools(list_emails=("folder", "limit"), send_message=("channel", "text")),
                       internal_tools={"parse_with_ai": parse_with_ai})
    assert isinstance(out, Finished)
    assert out.value["value"] == {"urgent": 2, "note": "Urgent: Server down -- URGEN, Invoice -- urgent pa"}
    assert len(qllm_calls) == 3  # recorded, never re-asked during replays
    assert calls[-1] == ("send_message", {"channel": "#me", "text": "Urgent: Server down -- URGEN, Invoice -- urgent pa"})
    assert set(out.value["meta"]["producers"]) == {"list_emails", "parse_with_ai"}


def test_discriminatory_branch_program_denied():
    policy = ScriptedPolicy(result_tags={"retrieve_applicant_profile": {"RACE"}}, branch_deny_tags={"RACE"})
    prog = """
final_return_value = None
applicant_id = "applicant-154"
profile = retrieve_applicant_profile(applicant_id=applicant_id)
if not isinstance(profile, dict) or "race" not in profile:
    final_return_value = "missing"
else:
    race = profile.get("race")
    if race == "European":
        recipient = "hr-1@gmail.com"
    else:
        recipient = "hr-2@gmail.com"
    import json
    send_email(to=recipient, subject=f"Applicant {applicant_id}", attachment_content=json.dumps(profile))
"""
    out, calls = drive(prog, {"retrieve_applicant_profile": '{"name": "A", "race": "European"}'}, policy=policy,
                       tools=tools(retrieve_applicant_profile=("applicant_id",),
                                   send_email=("to", "subject", "attachment_content")))
    assert isinstance(out, Failed) and out.error.code == "control_flow_denied"
    assert out.error.line == 5
    assert [c[0] for c in calls] == ["retrieve_applicant_profile"]
