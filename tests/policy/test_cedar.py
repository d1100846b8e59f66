"""Cedar and SQRT versions of the same policy decide the same on a table of calls."""

from __future__ import annotations

import pytest

from airlock.meta import SessionMeta, StrSet
from airlock.policy import PolicyError, compile_policy

from .conftest import T

SQRT = r'''
let sensitive = {"internal_use", "confidential"};
tool "send_email" {
    hard deny when (body.tags overlaps sensitive) and not (to.value in {str like w"*@trustedcorp.com"});
}
tool "generate_business_summary" {
    hard allow when @args.producers superset of {"verified_financial_data", "verified_marketing_data"};
}
tool r"send_to_.*" { hard deny when "pii" in data.tags; }
tool "wire" { soft deny when amount.value in {int 1000..}; }
tool "admin" { hard deny when not ("admin" in @session.tags); }
'''

CEDAR = r'''
@id("no-leak")
forbid (principal, action == Action::"send_email", resource)
when { context.args has body && context.args.body.tags.containsAny(["internal_use", "confidential"]) }
unless { context.args has to && context.args.to has value && context.args.to.value like "*@trustedcorp.com" };

@id("verified-sources")
permit (principal, action == Action::"generate_business_summary", resource)
when { context.args_producers.containsAll(["verified_financial_data", "verified_marketing_data"]) };

@id("no-pii-out")
forbid (principal, action, resource)
when { context.tool like "send_to_*" && context.args has data && context.args.data.tags.contains("pii") };

@id("big-wire") @level("soft")
forbid (principal, action == Action::"wire", resource)
when { context.args has amount && context.args.amount has value && context.args.amount.value >= 1000 };

@id("admin-only")
forbid (principal, action == Action::"admin", resource) unless { context.session.tags.contains("admin") };
'''

VERIFIED = ["verified_financial_data", "verified_marketing_data"]
CALLS = [
    ("send_email", {"to": T("x@gmail.com"), "body": T("b", tags=["confidential"])}, (), "hard_denied"),
    ("send_email", {"to": T("a@trustedcorp.com"), "body": T("b", tags=["confidential"])}, (), "allowed"),
    ("send_email", {"to": T("x@gmail.com"), "body": T("b")}, (), "allowed"),
    ("generate_business_summary", {"a": T(1, producers=VERIFIED[:1]), "b": T(2, producers=VERIFIED[1:])}, (), "allowed"),
    ("generate_business_summary", {"a": T(1, producers=VERIFIED[:1]), "b": T("user text")}, (), "hard_denied"),
    ("send_to_research", {"data": T("r", tags=["pii"])}, (), "hard_denied"),
    ("send_to_research", {"data": T("r")}, (), "allowed"),
    ("wire", {"amount": T(5000)}, (), "soft_denied"),
    ("wire", {"amount": T(10)}, (), "allowed"),
    ("admin", {}, (), "hard_denied"),
    ("admin", {}, ("admin",), "allowed"),
    ("parse_with_ai", {"query": T("q", tags=["__llm_blocked"])}, (), "hard_denied"),
    ("unrelated", {"x": T(1)}, (), "allowed"),
]


@pytest.mark.parametrize("tool,args,session_tags,expected", CALLS)
def test_sqrt_and_cedar_agree(tool, args, session_tags, expected):
    sqrt = compile_policy(SQRT).check_call(tool, args, SessionMeta(tags=StrSet.of(session_tags)))
    cedar = compile_policy(CEDAR, language="cedar").check_call(tool, args, SessionMeta(tags=StrSet.of(session_tags)))
    assert sqrt.verdict == cedar.verdict == expected
    if cedar.denied and tool != "generate_business_summary":
        assert f"'{tool}' is denied" in cedar.message


def test_cedar_presets_and_errors():
    assert compile_policy("", language="cedar", presets={"default_allow": False}).check_call(
        "t", {}, SessionMeta()).verdict == "soft_denied"
    p = compile_policy(CEDAR, language="cedar")
    assert p.apply_result("t", {}, T(1), SessionMeta()).tags.to_json() == ["__non_executable"]
    with pytest.raises(PolicyError):
        compile_policy("permit(principal, action, resource) when {", language="cedar")
    with pytest.raises(PolicyError):
        compile_policy('@level("medium") forbid(principal, action, resource);', language="cedar")


def test_cedar_forbid_that_errors_counts_as_firing():
    p = compile_policy('forbid (principal, action, resource) when { context.args.to.value like "*@evil.com" };',
                       language="cedar")
    assert p.check_call("t", {"to": T(5)}, SessionMeta()).hard  # type error in the forbid → fail closed
