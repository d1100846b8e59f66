"""Fixtures: the shared fake upstream, and Settings/UpstreamClient pointed at it."""

from __future__ import annotations

import pytest

from airlock.providers import UpstreamClient
from airlock.settings import Settings
from tests.fakes.llm_server import FakeLLM, fake_llm, fake_llm_server  # noqa: F401  (fixtures)

KEYS = {
    "OPENAI_API_KEY": "sk-server-openai-0001",
    "OPENROUTER_API_KEY": "sk-or-server-0002",
    "ANTHROPIC_API_KEY": "sk-ant-server-0003",
    "AZURE_OPENAI_API_KEY": "azure-server-key-0004",
}


def make_settings(fake: FakeLLM, **overrides) -> Settings:
    """Every provider at the fake, server keys set, quick retries; ``overrides`` win."""
    values = dict(
        openai_base_url=fake.url("/v1"),
        openrouter_base_url=fake.url("/api/v1"),
        anthropic_base_url=fake.url("/v1"),
        sequrity_azure_base_url=fake.url(""),
        openai_compatible_base_url=fake.url("/compat/v1"),
        openai_compatible_api_key=None,
        upstream_retry_backoff_s=0.01,
        upstream_max_retries=2,
        upstream_timeout_s=5.0,
        upstream_connect_timeout_s=2.0,
        **KEYS,
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(fake_llm: FakeLLM) -> Settings:
    return make_settings(fake_llm)


@pytest.fixture
async def client(settings: Settings):
    async with UpstreamClient(settings) as c:
        yield c
