"""Syntax coverage, actionable errors and a parser fuzz test."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airlock.policy import PolicyError, compile_policy, parse
from airlock.policy import ast as A

FULL = r'''
/* block
   comment */
// Reusable predicates
let IsSensitive = data.tags overlaps {"pii", "secret"};
let Blocked = {"spam@evil.com", str matching r".*@blocked\\.com$", w"*@junk.org", int 1..3, float ..<1.5,
               bool true, datetime d"2024-01-01T00:00:00Z"..d"2024-02-01T00:00:00Z", 7, 2.5, inf};
/// Main policy
/// second line
tool "send_email" {
    priority 100;
    /// Block known bad
    must deny when to.value in Blocked;
    hard allow when user.tags overlaps {"admin"};
    should deny when IsSensitive and not (to.value == "x") or @session.tags is universal;
    soft allow always;
    result {
        @tags |= {"email:sent"};
        /// restrict
        when IsSensitive { @consumers &= {"internal"}; @producers -= {"x"}; }
    }
    session before { @session.producers ^= {"a"}; }
    session after { @tags = @tags without "pending" with "done"; }
}
tool r"^(read|get)_.*" -> @tags |= {"readonly"};
tool "audit" [50] -> session @producers |= {"audit"};
tool "x" -> session before @tags = {} when intersect of tags from args is empty;
'''


def test_full_syntax_builds_the_expected_tree():
    prog = parse(FULL)
    assert [l.name for l in prog.lets] == ["IsSensitive", "Blocked"]
    email = prog.tools[0]
    assert email.pattern == "send_email" and email.priority == 100 and email.doc == "Main policy\nsecond line"
    assert [(c.level, c.effect) for c in email.checks] == [("hard", "deny"), ("hard", "allow"), ("soft", "deny"),
                                                          ("soft", "allow")]
    assert email.checks[0].doc == "Block known bad" and email.checks[3].cond is None
    assert [b.phase for b in email.blocks] == ["result", "before", "after"]
    cond_block = email.blocks[0].stmts[1]
    assert isinstance(cond_block, A.CondBlock) and cond_block.doc == "restrict"
    assert [u.op for u in cond_block.updates] == ["&=", "-="]
    # `a and not b or c` is `(a and (not b)) or c`
    pred = email.checks[2].cond
    assert isinstance(pred, A.BoolOp) and pred.op == "or" and isinstance(pred.left.right, A.Not)
    read, audit, x = prog.tools[1:]
    assert read.is_regex and read.blocks[0].phase == "result"
    assert audit.priority == 50 and audit.blocks[0].phase == "after"
    assert x.blocks[0].phase == "before" and isinstance(x.blocks[0].stmts[0], A.CondBlock)
    compile_policy(FULL)


def test_regex_escapes():
    prog = parse(r'let a = {r"a\.b\\d\"q"};')
    assert prog.lets[0].expr.elements[0].pattern == r'a\.b\d"q'


def error_of(src: str):
    with pytest.raises(PolicyError) as exc:
        compile_policy(src)
    return exc.value.errors


def test_syntax_error_reports_line_column_caret_and_expected():
    errs = error_of('tool "a" {\n  must deny when x.tags overlaps {"p"}\n  should allow always;\n}')
    e = errs[0]
    assert (e.line, e.column) == (2, 39) and "missing ';'" in e.message
    assert e.source_line == '  must deny when x.tags overlaps {"p"}'
    assert "';'" in e.expected
    text = e.format()
    assert "line 2, column 39" in text and text.rstrip().endswith("^")


def test_unknown_keyword_lists_alternatives():
    e = error_of('tool "t" { maybe deny always; }')[0]
    assert e.line == 1 and e.column == 12 and {"'must'", "'should'", "'result'"} <= set(e.expected)


def test_unknown_let_name_is_caught_with_suggestion():
    e = error_of('let Sensitive = {"a"};\ntool "t" { must deny when x.tags overlaps Sensitiv; }')[0]
    assert (e.line, e.column) == (2, 43) and "Sensitive" in e.message


@pytest.mark.parametrize("src,fragment", [
    ('tool "t" { must deny when x.tags; }', "must be a condition"),
    ('tool "t" { must deny when x.tags in {"a"}; }', "subset of"),
    ('tool "t" { must deny when x.value is empty; }', "must be a set"),
    ('tool "t" { result { @tags = x.value == "a"; } }', "must be a set"),
    ('tool "t" { must deny when @tags overlaps {"a"}; }', "@session.tags"),
    ('tool "t" { session before { @tags |= @result.tags; } }', "session before"),
    ('tool "t" { must deny when @result.value == "a"; }', "not known before the call"),
    ('tool "t" { result { x.tags |= {"a"}; } }', "read-only"),
    ('tool "t" { session after { @result.tags |= {"a"}; } }', "only be updated in a `result` block"),
    ('tool "t" { must deny when x.tagz overlaps {"a"}; }', "did you mean `tags`"),
    ('tool "t" { must deny when x.tags == "a"; }', "compares two values or two sets"),
    ('let A = B; let B = A; tool "t" { must deny when A; }', "cycle"),
    ('let A = {"a"}; let A = {"b"};', "already defined"),
    ('tool "t" { must deny when x.tags superset of {r"a"}; }', "right side of `superset of`"),
    ('tool "t" { result { @tags = @tags with x.value; } }', "takes one string"),
])
def test_compile_errors(src, fragment):
    errs = error_of(src)
    assert any(fragment in e.message for e in errs), [e.message for e in errs]
    assert all(e.line == 1 and e.column for e in errs)


def test_all_errors_are_reported_at_once():
    errs = error_of('tool "t" { must deny when a.tags; must deny when Nope; }\ntool "u" { must deny when b.tags; }')
    assert len(errs) == 3 and [e.line for e in errs] == [1, 1, 2]


SQRT_TOKENS = st.sampled_from([
    "let", "tool", "{", "}", "(", ")", ";", ",", "=", "|=", "->", "[", "]", "when", "always", "must", "should",
    "allow", "deny", "result", "session", "before", "after", "in", "overlaps", "subset", "of", "not", "and", "or",
    "|", "&", "-", "^", "with", "without", "@tags", "@result", ".", "tags", "value", "x", '"s"', 'r"a+"', 'w"*"',
    'd"2024-01-01"', "int", "str", "matching", "1", "..", "<..<", "2.5", "is", "empty", "union", "from", "args",
    "///", "//", "/*", "*/", '"', "\n", "@", "#", "priority",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(SQRT_TOKENS, max_size=30).map(" ".join) | st.text(max_size=80))
def test_fuzzed_input_raises_only_policy_error(src):
    try:
        compile_policy(src)
    except PolicyError as exc:
        assert exc.errors and all(isinstance(e.message, str) for e in exc.errors)


def test_deep_nesting_is_a_policy_error_not_a_crash():
    src = "let a = " + "(" * 5000 + '{"x"}' + ")" * 5000 + ";"
    try:
        compile_policy(src)
    except PolicyError:
        pass
