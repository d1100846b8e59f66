"""What Airlock knows about each upstream provider: APIs served, where it lives, how it authenticates.

One table, so that adding a provider (or pointing one at a local fake) is data, not code. The
URL and key of each provider come from :class:`airlock.settings.Settings` by attribute name,
which keeps the operator-facing variable names in one place (the settings module).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote


class ApiFormat(StrEnum):
    """The three wire formats. Values equal ``airlock.api.routing.Api`` so either may be passed."""

    CHAT_COMPLETIONS = "chat_completions"
    MESSAGES = "messages"
    RESPONSES = "responses"


class AuthStyle(StrEnum):
    BEARER = "bearer"  # Authorization: Bearer <key>            (OpenAI, OpenRouter, compatible)
    ANTHROPIC = "anthropic"  # x-api-key: <key> + anthropic-version
    AZURE = "azure"  # api-key: <key>, plus ?api-version=


ANTHROPIC_VERSION = "2023-06-01"

_SUFFIX = {ApiFormat.CHAT_COMPLETIONS: "/chat/completions", ApiFormat.MESSAGES: "/messages", ApiFormat.RESPONSES: "/responses"}


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    name: str
    apis: frozenset[ApiFormat]  # formats served natively (no translation needed)
    base_url_setting: str  # Settings attribute holding the base URL
    key_setting: str  # Settings attribute holding the server-managed key
    key_env: str  # the variable the operator sets, for error messages
    auth: AuthStyle
    key_required: bool = True  # False: a local server may run without any key

    def serves(self, api: str) -> bool:
        return ApiFormat(api) in self.apis


PROVIDERS: dict[str, ProviderSpec] = {
    p.name: p
    for p in (
        ProviderSpec("openai", frozenset({ApiFormat.CHAT_COMPLETIONS, ApiFormat.RESPONSES}),
                     "openai_base_url", "openai_api_key", "OPENAI_API_KEY", AuthStyle.BEARER),
        ProviderSpec("openrouter", frozenset({ApiFormat.CHAT_COMPLETIONS}),
                     "openrouter_base_url", "openrouter_api_key", "OPENROUTER_API_KEY", AuthStyle.BEARER),
        ProviderSpec("anthropic", frozenset({ApiFormat.MESSAGES}),
                     "anthropic_base_url", "anthropic_api_key", "ANTHROPIC_API_KEY", AuthStyle.ANTHROPIC),
        ProviderSpec("sequrity_azure", frozenset({ApiFormat.CHAT_COMPLETIONS, ApiFormat.RESPONSES}),
                     "sequrity_azure_base_url", "azure_openai_api_key", "AZURE_OPENAI_API_KEY", AuthStyle.AZURE),
        ProviderSpec("openai_compatible", frozenset({ApiFormat.CHAT_COMPLETIONS, ApiFormat.RESPONSES}),
                     "openai_compatible_base_url", "openai_compatible_api_key",
                     "AIRLOCK_OPENAI_COMPATIBLE_API_KEY", AuthStyle.BEARER, key_required=False),
    )
}


def get_provider(name: str) -> ProviderSpec | None:
    return PROVIDERS.get(name)


def providers_serving(api: str) -> list[str]:
    """Names of the providers that serve ``api`` natively, in registry order."""
    return [p.name for p in PROVIDERS.values() if p.serves(api)]


def endpoint_url(spec: ProviderSpec, base_url: str, api: str, model: str | None, deployment: str | None = None) -> str:
    """The full upstream URL (without query string) for one call.

    OpenAI-style providers append the API suffix to their base URL (``.../v1`` →
    ``.../v1/chat/completions``). Azure has two layouts; the base URL picks one:

    * ``https://<res>.openai.azure.com`` (or ``.../openai``): the classic deployment layout,
      ``/openai/deployments/<deployment>/chat/completions`` and ``/openai/responses``; the
      deployment is ``AIRLOCK_SEQURITY_AZURE_DEPLOYMENT`` if set, else the request's model.
    * ``https://<res>.openai.azure.com/openai/v1``: the v1 layout, OpenAI-style paths.
    """
    base = base_url.rstrip("/")
    suffix = _SUFFIX[ApiFormat(api)]
    if spec.auth is not AuthStyle.AZURE or base.endswith("/v1"):
        return base + suffix
    if not base.endswith("/openai"):
        base += "/openai"
    if ApiFormat(api) is ApiFormat.RESPONSES:
        return base + suffix
    name = deployment or model or ""
    return f"{base}/deployments/{quote(name, safe='')}{suffix}"
