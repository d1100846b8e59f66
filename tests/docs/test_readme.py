"""The README's promises: its first two commands, and every SQRT policy in it compiles."""

from __future__ import annotations

import re
from pathlib import Path

from airlock.policy import compile_policy

README = (Path(__file__).parents[2] / "README.md").read_text()


def test_readme_opens_with_the_two_commands():
    first_block = README.split("```")[1]
    assert "make run" in first_block and "make test" in first_block


def test_readme_policies_compile():
    policies = re.findall(r'policy = """(.*?)"""', README, re.S)
    assert policies
    for source in policies:
        compile_policy(source.replace("\\\\", "\\"))
