"""Upstream providers: the registry of what each serves, the pooled client, and error shapes.

Everything the API layer and the agents need is importable from here.
"""

from airlock.providers.client import UpstreamClient, UpstreamResult
from airlock.providers.errors import (
    ANTHROPIC_ERROR_TYPES,
    UpstreamError,
    anthropic_error_type,
    default_error_type,
    error_body,
    scrub,
    sse_error,
)
from airlock.providers.registry import (
    ANTHROPIC_VERSION,
    PROVIDERS,
    ApiFormat,
    AuthStyle,
    ProviderSpec,
    endpoint_url,
    get_provider,
    providers_serving,
)
from airlock.providers.sse import SSEDecoder, SSEEvent, aiter_sse

__all__ = [
    "ANTHROPIC_ERROR_TYPES", "ANTHROPIC_VERSION", "PROVIDERS", "ApiFormat", "AuthStyle", "ProviderSpec",
    "SSEDecoder", "SSEEvent", "UpstreamClient", "UpstreamError", "UpstreamResult", "aiter_sse",
    "anthropic_error_type", "default_error_type", "endpoint_url", "error_body", "get_provider",
    "providers_serving", "scrub", "sse_error",
]
