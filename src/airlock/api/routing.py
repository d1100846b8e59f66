"""The route table of the Control API: which endpoint types and providers serve which API format.

This table is the single source for the registered routes, the ``GET /control/`` listing, the
OpenAPI document and the 404 messages that name what does exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from airlock.providers.registry import ApiFormat as Api


API_SUFFIX = {Api.CHAT_COMPLETIONS: "chat/completions", Api.MESSAGES: "messages", Api.RESPONSES: "responses"}
API_TITLE = {Api.CHAT_COMPLETIONS: "Chat Completions", Api.MESSAGES: "Messages", Api.RESPONSES: "Responses"}

ENDPOINT_TYPES = ("chat", "code", "lang-graph")
RESERVED_ENDPOINT_TYPES = ("agent",)

# Providers per (API), default first; `openai_compatible` is Airlock's addition for local servers.
PROVIDERS: dict[Api, tuple[str, ...]] = {
    Api.CHAT_COMPLETIONS: ("openrouter", "openai", "sequrity_azure", "openai_compatible"),
    Api.MESSAGES: ("anthropic",),
    Api.RESPONSES: ("openai", "sequrity_azure", "openai_compatible"),
}
POLICY_GEN_PROVIDERS = ("openrouter", "openai", "anthropic", "sequrity_azure")


@dataclass(frozen=True, slots=True)
class Route:
    endpoint_type: str
    provider: str | None  # None: the provider-less default route
    api: Api

    @property
    def effective_provider(self) -> str:
        return self.provider or PROVIDERS[self.api][0]

    @property
    def path(self) -> str:
        provider = f"/{self.provider}" if self.provider else ""
        return f"/control/{self.endpoint_type}{provider}/v1/{API_SUFFIX[self.api]}"

    @property
    def description(self) -> str:
        who = self.provider or f"default provider: {self.effective_provider}"
        return f"{self.endpoint_type} endpoint, {API_TITLE[self.api]} API ({who})"


def serves(endpoint_type: str, api: Api) -> bool:
    # LangGraph speaks Chat Completions everywhere, and Messages only through Anthropic.
    return not (endpoint_type == "lang-graph" and api == Api.RESPONSES)


def providers_for(endpoint_type: str, api: Api) -> tuple[str, ...]:
    if not serves(endpoint_type, api):
        return ()
    return PROVIDERS[api]


def control_routes() -> list[Route]:
    routes: list[Route] = []
    for endpoint_type in ENDPOINT_TYPES:
        for api in Api:
            providers = providers_for(endpoint_type, api)
            if not providers:
                continue
            # lang-graph Messages exists only with the explicit /anthropic/ segment.
            if not (endpoint_type == "lang-graph" and api == Api.MESSAGES):
                routes.append(Route(endpoint_type, None, api))
            routes.extend(Route(endpoint_type, provider, api) for provider in providers)
    return routes


def api_for_suffix(suffix: str) -> Api | None:
    for api, known in API_SUFFIX.items():
        if suffix == known:
            return api
    return None
