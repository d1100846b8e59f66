"""``airlock policy check`` and ``airlock policy test`` entry points."""

from __future__ import annotations

import io
import json

from airlock.policy.cli import check_main, run_policy_tests

from .test_golden_examples import EX1, EX2


def test_check_main_ok_and_errors(tmp_path, monkeypatch):
    good = tmp_path / "good.sqrt"
    good.write_text(EX1)
    out, err = io.StringIO(), io.StringIO()
    assert check_main(str(good), out, err) == 0 and "OK" in out.getvalue()
    bad = tmp_path / "bad.sqrt"
    bad.write_text('tool "t" {\n  must deny when x.tags overlaps {"a"}\n}\n')
    out, err = io.StringIO(), io.StringIO()
    assert check_main(str(bad), out, err) == 1
    text = err.getvalue()
    assert "bad.sqrt:line 2, column" in text and "^" in text and "1 error" in text
    assert check_main(str(tmp_path / "missing.sqrt"), out, io.StringIO()) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO('tool "t" { must deny always; }'))
    out = io.StringIO()
    assert check_main("-", out, io.StringIO()) == 0 and "<stdin>" in out.getvalue()


def test_run_policy_tests(tmp_path):
    policy = tmp_path / "p.sqrt"
    policy.write_text(EX1 + EX2)
    cases = {
        "presets": {"default_allow": True},
        "cases": [
            {"name": "leak blocked", "steps": [
                {"tool": "get_internal_document", "args": {"doc_id": "D1"}, "result": "secret",
                 "expect": "allowed", "expect_result_meta": {"tags": ["internal_use", "confidential", "__non_executable"]}},
                {"tool": "send_email", "args": {"to": "x@gmail.com", "body": {"from_step": 0}}, "expect": "hard_denied"},
                {"tool": "send_email", "args": {"to": {"value": "a@trustedcorp.com", "meta": {"tags": []}},
                                                 "body": {"from_step": 0}}, "expect": "allowed"},
            ]},
            {"name": "refund on fourth", "steps": [
                {"tool": "issue_refund", "args": {"order_id": "O"}, "expect": "denied"},
                {"tool": "issue_refund", "args": {"order_id": "O"}, "expect": "denied"},
                {"tool": "issue_refund", "args": {"order_id": "O"}, "expect": "denied"},
                {"tool": "issue_refund", "args": {"order_id": "O"}, "expect": "allowed",
                 "expect_session": {"tags": ["attempt1", "attempt2", "attempt3", "final_attempt"]}},
            ]},
        ],
    }
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases))
    out = io.StringIO()
    assert run_policy_tests(str(policy), str(path), out) == 0, out.getvalue()
    assert "2 passed, 0 failed" in out.getvalue()
    cases["cases"][0]["steps"][1]["expect"] = "allowed"
    path.write_text(json.dumps(cases))
    out = io.StringIO()
    assert run_policy_tests(str(policy), str(path), out) == 1
    assert "FAIL leak blocked" in out.getvalue() and "expected allowed, got hard_denied" in out.getvalue()
    path.write_text("{not json")
    assert run_policy_tests(str(policy), str(path), io.StringIO()) == 2
