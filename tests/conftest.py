"""Shared fixtures: real stores (SQLite in a temp dir, PostgreSQL on 127.0.0.1)."""

from __future__ import annotations

import os
import uuid

import pytest
from contextlib import asynccontextmanager

PG_ADMIN_URL = os.environ.get("AIRLOCK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _service_missing(what: str, exc: Exception):
    # In CI the services are part of the machine: their absence is a failure, not a skip.
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required in CI but unreachable: {exc}")
    pytest.skip(f"{what} unreachable: {exc}")


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'airlock.db'}"


@asynccontextmanager
async def fresh_pg_database():
    """A fresh PostgreSQL database (its URL), dropped afterwards."""
    import asyncpg

    name = f"airlock_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    except Exception as exc:  # noqa: BLE001 - any connection failure means the service is missing
        _service_missing("PostgreSQL", exc)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def pg_url():
    async with fresh_pg_database() as url:
        yield url


SDIST_CACHE = __import__("pathlib").Path(__file__).parent / ".cache"


def sequrity_sdist_dir():
    """The unpacked ``sequrity==0.4.2`` sdist (docs, examples, official tests), fetched once from PyPI.

    It is the reference our conformance tests run against; it is downloaded, never committed.
    """
    import subprocess
    import sys
    import tarfile

    target = SDIST_CACHE / "sequrity-0.4.2"
    if (target / "PKG-INFO").exists():
        return target
    SDIST_CACHE.mkdir(exist_ok=True)
    archive = SDIST_CACHE / "sequrity-0.4.2.tar.gz"
    if not archive.exists():
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
             "sequrity==0.4.2", "-d", str(SDIST_CACHE)],
            capture_output=True, text=True, timeout=300,
        )
        if proc.returncode != 0 or not archive.exists():
            pytest.fail(f"could not download the sequrity==0.4.2 sdist (pip exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    with tarfile.open(archive) as tar:
        tar.extractall(SDIST_CACHE, filter="data")
    if not (target / "docs").is_dir():
        pytest.fail(f"{archive} did not contain sequrity-0.4.2/docs")
    return target


@pytest.fixture(scope="session")
def sequrity_sdist():
    return sequrity_sdist_dir()
