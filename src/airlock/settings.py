"""Operator settings, read once from the environment (``AIRLOCK_*`` and the providers' own keys).

One object holds every knob so that the server, the CLI and the tests agree on names; the names
of the upstream URLs and provider keys are part of the operator contract and must not change.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AIRLOCK_", extra="ignore")

    # Storage: embedded SQLite unless the operator points at PostgreSQL.
    database_url: str = "sqlite+aiosqlite:///./airlock.db"

    # Upstream base URLs (each defaults to the real service).
    openai_base_url: str = "https://api.openai.com/v1"
    openrouter_base_url: str = "https://openrouter.ai/api/v1"
    anthropic_base_url: str = "https://api.anthropic.com/v1"
    sequrity_azure_base_url: str | None = None
    sequrity_azure_api_version: str = "2024-10-21"
    # Azure deployment name; unset: the request's model names the deployment.
    sequrity_azure_deployment: str | None = None
    openai_compatible_base_url: str | None = None

    # Server-managed provider keys: the providers' conventional variable names, no prefix.
    openai_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("OPENAI_API_KEY"))
    openrouter_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("OPENROUTER_API_KEY"))
    anthropic_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("ANTHROPIC_API_KEY"))
    azure_openai_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("AZURE_OPENAI_API_KEY"))
    openai_compatible_api_key: SecretStr | None = None

    # Models usable with the server's own provider keys (comma-separated; "*" allows any).
    allowed_models: str = (
        "gpt-5-mini,gpt-4o-mini,gpt-4.1-mini,claude-sonnet-4-5,claude-haiku-4-5,google/gemini-3-flash-preview,"
        # The model strings of the reference examples (PLLM, QLLM), so they run on a default server.
        "openai/gpt-5-mini,openai/gpt-5-nano,anthropic/claude-sonnet-4.5"
    )

    # Upstream HTTP behaviour.
    upstream_timeout_s: float = 120.0
    upstream_connect_timeout_s: float = 10.0
    upstream_max_retries: int = 2
    upstream_retry_backoff_s: float = 0.25
    # A 429/503 whose Retry-After asks for longer than this is passed back instead of waited out.
    upstream_retry_after_max_s: float = 5.0
    upstream_max_connections: int = 200

    # Request limits.
    max_body_bytes: int = 10 * 1024 * 1024
    # Memory per server process for the histories already checked (api/history.py: a resume
    # re-posts the whole history; its checked part is not checked again). 0 turns it off.
    history_memo_mb: float = 64.0

    # Planner programs: per-run limits, and the pool of worker processes that runs them.
    program_wall_time_s: float = 10.0
    program_max_steps: int = 1_000_000
    program_max_memory_mb: int = 512
    workers_min: int = 2
    workers_max: int = 16
    workers_per_key: int = 12
    worker_memory_mb: int = 1024
    worker_kill_grace_s: float = 2.0
    worker_queue_timeout_s: float = 30.0
    # Warm resume: a suspended program stays alive in its worker between a tool call and its
    # result (off: every resume replays the program from its record).
    warm_resume: bool = True
    warm_runs_per_worker: int = 64
    warm_resume_ttl_s: float = 300.0

    # A session idle this long is gone: a request naming it is answered as for an unknown
    # session, and a sweep (every ``session_sweep_interval_s``, in every server process)
    # deletes its state and event log, which hold tool results. 0 keeps sessions forever.
    session_idle_ttl_s: float = Field(default=7 * 86400.0, ge=0)
    session_sweep_interval_s: float = Field(default=300.0, gt=0)

    # Seconds an authenticated key stays cached in a server process: a revocation takes effect
    # on every worker and replica within this time.
    key_cache_ttl_s: float = 5.0
    # Serve a few synthetic requests in-process before accepting real ones (api/warmup.py).
    warm_start: bool = True
    # Worker processes of this server (set by ``airlock serve --workers``): per-process budgets
    # such as the program pool are this server's share (``worker_share``).
    serve_workers: int = 1

    log_level: str = "info"

    def worker_share(self) -> "Settings":
        """This process's share of the host-wide budgets when ``serve_workers`` processes serve.

        Each worker process runs its own program pool and upstream connection pool; without
        dividing, ``--workers 4`` would allow 4x the program workers (memory) and 4x the
        connections the operator configured. Minimums stay at least 1 per process.
        """
        n = max(1, self.serve_workers)
        if n == 1:
            return self
        share = lambda total: max(1, -(-total // n))  # noqa: E731 - ceil division
        return self.model_copy(update={
            "workers_max": share(self.workers_max),
            "workers_min": max(1, self.workers_min // n),
            "workers_per_key": share(self.workers_per_key),
            "upstream_max_connections": share(self.upstream_max_connections),
        })

    def allowed_model_set(self) -> set[str] | None:
        """``None`` means every model is allowed."""
        models = {m.strip() for m in self.allowed_models.split(",") if m.strip()}
        return None if "*" in models else models


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
