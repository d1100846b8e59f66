"""The documented SQRT policies of the reference scenarios (tutorial and the five advanced
examples), in one place for the policy golden tests and the end-to-end scenario tests."""

LEAK_POLICY = r"""
let sensitive_docs = {"internal_use", "confidential"};
tool "get_internal_document" -> @tags |= sensitive_docs;
tool "send_email" {
    hard deny when (body.tags overlaps sensitive_docs) and (not to.value in {str matching r".*@trustedcorp\.com"});
}
"""

REFUND_POLICY = r"""
tool "issue_refund" {
    session before { when "attempt3" in @tags { @tags |= {"final_attempt"}; } }
    session before { when "attempt2" in @tags { @tags |= {"attempt3"}; } }
    session before { when "attempt1" in @tags { @tags |= {"attempt2"}; } }
    session before { @tags |= {"attempt1"}; }
    hard allow when "final_attempt" in @session.tags;
}
"""

PROVENANCE_POLICY = r"""
tool "get_quarterly_earning_report" -> @producers |= {"verified_financial_data"};
tool "get_marketing_analysis" -> @producers |= {"verified_marketing_data"};
tool "generate_business_summary" {
    hard allow when @args.producers superset of {"verified_financial_data", "verified_marketing_data"};
}
"""

PII_POLICY = r"""
tool "load_patient_record" -> @tags |= {"pii"};
tool "de_identify_data" -> @tags -= {"pii"};
tool r"send_to_.*" {
    hard deny when "pii" in data.tags;
}
"""

RACE_POLICY = 'tool "retrive_applicant_profile" -> @tags |= {"RACE"};'
LLM_BLOCKED_POLICY = 'tool "retrive_applicant_profile_text" -> @tags |= {"__llm_blocked"};'
