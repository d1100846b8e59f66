"""Shared helpers for the policy tests, and the reference sdist fixture.

The documentation snippets live in the ``sequrity==0.4.2`` source distribution (the installed
wheel has no docs). ``sequrity_sdist`` downloads it once with pip into ``tests/.cache/``
(ignored by git) and unpacks it; later runs reuse the unpacked copy.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from airlock.meta import Meta, StrSet, Tagged

CACHE = Path(__file__).resolve().parent.parent / ".cache"
SDIST_NAME = "sequrity-0.4.2"


def T(value=None, tags=(), producers=(), consumers=("*",)) -> Tagged:
    """A tool argument with metadata."""
    return Tagged(value, Meta(StrSet.of(producers), StrSet.of(consumers), StrSet.of(tags)))


@pytest.fixture(scope="session")
def sequrity_sdist() -> Path:
    root = CACHE / SDIST_NAME
    if (root / "docs").is_dir():
        return root
    CACHE.mkdir(parents=True, exist_ok=True)
    archive = CACHE / f"{SDIST_NAME}.tar.gz"
    if not archive.exists():
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             "sequrity==0.4.2", "-d", str(CACHE), "-q"],
            capture_output=True, text=True, timeout=300,
        )
        if proc.returncode != 0 or not archive.exists():
            pytest.fail(
                "could not download the sequrity==0.4.2 sdist needed for the documentation tests "
                f"(pip exit {proc.returncode}):\n{proc.stderr[-2000:]}"
            )
    with tarfile.open(archive) as tar:
        tar.extractall(CACHE, filter="data")
    if not (root / "docs").is_dir():
        pytest.fail(f"{archive} did not contain {SDIST_NAME}/docs")
    return root
