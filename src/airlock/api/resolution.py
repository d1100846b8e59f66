"""A request's configuration, checks and base policy: built once per request shape, then reused.

What the hot path used to redo on every request with the same headers (resolving the config
from preset + key + headers, checking the content guards and the model allow list, building the
policy stack) is pure given (route's endpoint type, key id and lock, X-Features/X-Policy/X-Config
texts, model, whether a BYOK key came), so it is memoised on that tuple (``config.cache.Memo``).
Errors are never cached: a bad header is refused each time with the same precise 400.

A BYOK key itself is never part of the memo, key or value: it lives only for the request that
carried it (a cached config would otherwise hold the first caller's provider key for as long as
the entry lives). The cached config has none; a request with one gets a copy carrying its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from airlock.agent.authority import PolicyConfigError, session_policy
from airlock.api.errors import ApiError
from airlock.api.routing import Route
from airlock.config.cache import Memo
from airlock.config.parse import HeaderError
from airlock.config.resolver import ResolvedConfig, resolve
from airlock.guards import BLOCKERS, GuardError, GuardSet, GuardUnavailable
from airlock.sessions.records import KeyRecord


@dataclass(frozen=True, slots=True)
class Resolved:
    config: ResolvedConfig
    #: The config's own policy stack; ``None`` when it does not compile (the agent then
    #: reports whose policy it is, with its own error).
    policy: Any


class Resolutions:
    def __init__(self, settings: Any, max_entries: int = 4096) -> None:
        self.settings = settings
        self._memo: Memo[Resolved] = Memo(max_entries)

    def get(self, route: Route, key: KeyRecord, headers: Any, model: str, byok: str | None) -> Resolved:
        x_features, x_policy, x_config = headers.get("x-features"), headers.get("x-policy"), headers.get("x-config")
        has_byok = byok is not None
        shape = (route.endpoint_type, key.id, key.policy_locked, x_features, x_policy, x_config, model, has_byok)
        found = self._memo.get(shape, lambda: self._build(route, key, x_features, x_policy, x_config, model, has_byok))
        key_text = byok.strip() if byok else ""
        if not key_text:
            return found
        return Resolved(found.config.model_copy(update={"byok_key": SecretStr(key_text)}), found.policy)

    def _build(self, route: Route, key: KeyRecord, x_features: str | None, x_policy: str | None,
               x_config: str | None, model: str, has_byok: bool) -> Resolved:
        try:
            config = resolve(route.endpoint_type, key_base=key.base_config, x_features=x_features, x_policy=x_policy,
                             x_config=x_config, model=model, byok_key=None, policy_locked=key.policy_locked)
        except HeaderError as exc:
            raise ApiError(400, str(exc), param=f"{exc.header}.{exc.field}" if exc.field else exc.header) from None
        check_content_guards(config)
        check_arch_fields(config)
        check_models_allowed(self.settings, [config.pllm_model, config.qllm_model], "byok" if has_byok else None)
        try:
            policy = session_policy(config)
        except PolicyConfigError as exc:
            if exc.authority == "header":  # the caller's own code: a 400 in both modes, before any model
                raise header_policy_error(exc) from None
            policy = None  # the key's saved policy: the agent says whose it is
        # The dual-LLM engine builds its own stack (the planner may add layers during a turn).
        return Resolved(config, policy if config.arch == "single-llm" else None)


def header_policy_error(exc: PolicyConfigError) -> ApiError:
    return ApiError(400, f"X-Policy: codes: {exc}", param="X-Policy.codes")


def check_content_guards(config: Any) -> None:
    """A guard the request asks for but this server cannot run is a 400 before any model is
    called, never a silent pass (whether it came from X-Features or the key's saved config)."""
    try:
        GuardSet.from_features(config.features)
    except GuardError as exc:
        section = "content_blockers" if exc.guard in BLOCKERS else "content_classifiers"
        code = "guard_unavailable" if isinstance(exc, GuardUnavailable) else "invalid_guard"
        raise ApiError(400, f"X-Features: {exc.message}", param=f"X-Features.{section}", code=code) from None


def check_arch_fields(config: Any) -> None:
    """Settings the request's architecture would accept and not act on are a 400 naming them:
    ``auto_gen`` in single-llm mode (the reference marks it unsupported there; no program, no
    generated layer), and dual-llm prompt overrides that select no template or no LLM."""
    if config.arch == "single-llm":
        if config.policy.auto_gen:
            raise ApiError(400, "X-Policy: auto_gen: policy generation runs in dual-llm mode only; single-llm mode "
                                "would ignore it (use /control/policy-gen and send the policy in codes)",
                           param="X-Policy.auto_gen")
        return
    from airlock.agent.dual_llm.prompts import prompt_override_error

    problem = prompt_override_error(config.config.prompt)
    if problem is not None:
        field, message = problem
        raise ApiError(400, f"X-Config: {field}: {message}", param=f"X-Config.{field}")


def check_models_allowed(settings: Any, models: list[str | None], byok: str | None) -> None:
    """Without BYOK the operator pays, so only allow-listed models may be used."""
    if byok:
        return
    allowed = settings.allowed_model_set()
    if allowed is None:
        return
    for model in dict.fromkeys(models):
        if model not in allowed:
            raise ApiError(
                400,
                f"Model {model!r} is not on this server's allow list; send your own provider key in X-Api-Key "
                f"to use any model, or pick one of: {', '.join(sorted(allowed))}.",
                param="model",
                code="model_not_allowed",
            )


__all__ = ["Resolutions", "Resolved", "check_arch_fields", "check_content_guards", "check_models_allowed",
           "header_policy_error"]
