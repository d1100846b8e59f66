"""Every SQRT snippet in the reference docs and examples parses, and compiles.

Snippets are found three ways: fenced ```rust/```sqrt blocks in the Markdown docs, string
literals in Python examples/tests (and in python blocks of the docs) that look like SQRT, and
code cells of the example notebook. ``test_parser.py`` of the reference is skipped: it holds
deliberately invalid inputs.
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
from pathlib import Path

import pytest

from airlock.policy import PolicyError, compile_policy, parse

PLACEHOLDER = "when condition;"
LOOKS_LIKE_SQRT = re.compile(r'^\s*(let\s+\w+\s*=|tool\s+r?")', re.M)
FENCE = re.compile(r"^([ \t]*)```(\w*)[^\n]*\n(.*?)^\1```[ \t]*$", re.M | re.S)


def _strings_in_python(code: str) -> list[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return [m.group(2) for m in re.finditer(r'r?("""|\'\'\')(.*?)\1', code, re.S)]
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def collect_snippets(root: Path) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for md in sorted((root / "docs").rglob("*.md")):
        for m in FENCE.finditer(md.read_text(encoding="utf-8")):
            lang, body = m.group(2), textwrap.dedent(m.group(3))
            if lang in ("rust", "sqrt"):
                found.append((f"{md.relative_to(root)}:{lang}", body))
            elif lang == "python":
                found += [(f"{md.relative_to(root)}:python", s) for s in _strings_in_python(body)]
    for py in sorted(list((root / "examples").rglob("*.py")) + list((root / "test").rglob("*.py"))):
        if py.name == "test_parser.py":
            continue
        found += [(str(py.relative_to(root)), s) for s in _strings_in_python(py.read_text(encoding="utf-8"))]
    for nb in sorted((root / "examples").rglob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8")).get("cells", [])
        for cell in cells:
            if cell.get("cell_type") == "code":
                found += [(str(nb.relative_to(root)), s) for s in _strings_in_python("".join(cell["source"]))]
    snippets = [(where, s) for where, s in found if LOOKS_LIKE_SQRT.search(s) and ";" in s]
    unique: dict[str, str] = {}
    for where, s in snippets:
        unique.setdefault(s, where)
    return [(where, s) for s, where in unique.items()]


def test_every_doc_snippet_parses_and_compiles(sequrity_sdist: Path) -> None:
    snippets = collect_snippets(sequrity_sdist)
    # the learn_sqrt tutorials alone hold ~30 snippets; the advanced examples 6 more
    assert len(snippets) >= 35, f"snippet extraction found only {len(snippets)}"
    failures = []
    placeholders = 0
    for where, text in snippets:
        try:
            parse(text)
        except PolicyError as exc:
            failures.append(f"--- {where} (parse)\n{text}\n{exc}")
            continue
        try:
            compile_policy(text)
        except PolicyError as exc:
            # The quick reference writes `when condition;` as a placeholder, not a policy: the
            # only acceptable compile error is that very unknown name.
            if PLACEHOLDER in text and all("unknown name `condition`" in e.message for e in exc.errors):
                placeholders += 1
                continue
            failures.append(f"--- {where} (compile)\n{text}\n{exc}")
    assert not failures, "\n\n".join(failures)
    assert placeholders <= 1


def test_snippet_sources_are_all_covered(sequrity_sdist: Path) -> None:
    """Each place the docs put SQRT contributes at least one snippet (guards the extractor)."""
    wheres = {w.split(":")[0] for w, _ in collect_snippets(sequrity_sdist)}
    for expected in [
        "docs/control/examples/advanced_sqrt_examples_2026-01-25.md",
        "docs/control/learn/sqrt/index.md",
        "docs/control/getting_started/langgraph.md",
        "examples/control/learn_sqrt/tool_policies.py",
        "examples/control/learn_sqrt/basic_types.py",
        "examples/control/learn_sqrt/predicates.py",
        "examples/control/learn_sqrt/set_operations.py",
        "examples/control/learn_sqrt/metadata.py",
        "test/control/test_chat_completion.py",
    ]:
        assert expected in wheres, f"no snippet extracted from {expected}"


@pytest.mark.parametrize("bad", ['let x = {"foo"}', 'tool "test" { broken }', 'foobar "test" { };'])
def test_reference_invalid_inputs_stay_invalid(bad: str) -> None:
    with pytest.raises(PolicyError):
        parse(bad)
