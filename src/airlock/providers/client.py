"""``UpstreamClient``: the one pooled HTTP client Airlock uses to call providers.

Why it exists rather than the vendors' SDKs: Airlock forwards bodies it did not write (unknown
fields must pass through untouched), re-emits SSE events nearly byte for byte, and must turn
every failure into an answer for *its* client (see :class:`UpstreamError`). A thin httpx layer
does all three and keeps one connection pool per app.

Retries (exponential backoff with jitter; ``Retry-After``/``retry-after-ms`` honoured when at
most ``upstream_retry_after_max_s``; ``x-should-retry`` obeyed) happen on 408/429/5xx and
connection failures, and only while nothing has been handed to the caller: a stream that
breaks after its first event raises instead of silently restarting the answer. Read timeouts
are not retried (it would multiply the caller's wait) and become 504.

Key choice: the caller's ``api_key`` (BYOK, from ``X-Api-Key``) else the operator's key from
settings, else ``UpstreamError(401, authentication_error)`` naming the variable to set. Only
``openai_compatible`` may run keyless.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator

import httpx

from airlock import __version__
from airlock.jsonsafe import JsonInputError, dump_bytes, loads
from airlock.providers.errors import UpstreamError, default_error_type, scrub
from airlock.providers.registry import (
    ANTHROPIC_VERSION,
    PROVIDERS,
    ApiFormat,
    AuthStyle,
    ProviderSpec,
    endpoint_url,
    providers_serving,
)
from airlock.providers.sse import SSEDecoder, SSEEvent
from airlock.settings import Settings, get_settings

log = logging.getLogger(__name__)

_RETRY_STATUS = frozenset({408, 429}) | frozenset(range(500, 600))
_PROTECTED = frozenset({"authorization", "x-api-key", "api-key", "host", "content-length"})
_MAX_BACKOFF_S = 8.0


@dataclass(slots=True)
class UpstreamResult:
    status: int
    json: Any
    headers: httpx.Headers
    provider: str
    attempts: int = 1


@dataclass(slots=True)
class _Prepared:
    provider: str
    url: str
    params: dict[str, str]
    headers: dict[str, str]
    content: bytes
    secrets: tuple[str, ...]


class UpstreamClient:
    """One per app. ``transport`` is for tests that need to stub the network."""

    def __init__(self, settings: Settings | None = None, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = s = settings or get_settings()
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(s.upstream_timeout_s, connect=s.upstream_connect_timeout_s),
            limits=httpx.Limits(max_connections=s.upstream_max_connections,
                                max_keepalive_connections=s.upstream_max_connections, keepalive_expiry=30),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "UpstreamClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- public calls -------------------------------------------------------------------------
    async def request(
        self, provider: str, api: ApiFormat | str, body: dict[str, Any], *,
        api_key: str | None, extra_headers: dict[str, str] | None = None,
    ) -> UpstreamResult:
        """A non-streaming call; returns the parsed 2xx JSON body or raises ``UpstreamError``."""
        if body.get("stream"):
            body = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
        prep = self._prepare(provider, api, body, api_key, extra_headers, stream=False)
        resp, attempts = await self._open(prep, read_body=True)
        try:
            data = loads(resp.content, surrogates="replace")
        except JsonInputError as exc:
            raise UpstreamError(502, f"Provider {provider} answered HTTP {resp.status_code} with a body Airlock "
                                f"cannot read: {exc}.",
                                provider=provider, error_type="upstream_error", upstream_status=resp.status_code) from None
        return UpstreamResult(resp.status_code, data, resp.headers, provider, attempts)

    async def stream(
        self, provider: str, api: ApiFormat | str, body: dict[str, Any], *,
        api_key: str | None, extra_headers: dict[str, str] | None = None,
    ) -> AsyncIterator[SSEEvent]:
        """A streaming call, yielding upstream SSE events as they arrive.

        The upstream status is checked (and retries done) before the first event is yielded,
        so an ``UpstreamError`` from the first ``__anext__`` still allows a plain HTTP error
        answer. Later failures raise ``UpstreamError`` mid-iteration (504 stalled, 502 cut).
        Close the generator (``aclose()``) if you stop early, to free the connection.
        """
        if not body.get("stream"):
            body = {**body, "stream": True}
        prep = self._prepare(provider, api, body, api_key, extra_headers, stream=True)
        resp, _ = await self._open(prep, read_body=False)
        try:
            if "json" in resp.headers.get("content-type", ""):
                await resp.aread()
                raise self._status_error(prep, resp.status_code, resp.content, resp.headers,
                                         note="answered JSON to a streaming request")
            decoder = SSEDecoder()
            async for chunk in resp.aiter_bytes():
                for event in decoder.feed(chunk):
                    yield event
            for event in decoder.flush():
                yield event
        except httpx.TimeoutException:
            raise UpstreamError(504, f"Provider {provider} stopped sending mid-stream (read timeout).",
                                provider=provider, error_type="upstream_timeout") from None
        except httpx.TransportError as exc:
            raise UpstreamError(502, f"Connection to provider {provider} was lost mid-stream ({type(exc).__name__}).",
                                provider=provider, error_type="upstream_error") from None
        finally:
            await resp.aclose()

    # -- building the request -----------------------------------------------------------------
    def _prepare(self, provider: str, api: ApiFormat | str, body: dict[str, Any], api_key: str | None,
                 extra_headers: dict[str, str] | None, *, stream: bool) -> _Prepared:
        spec = PROVIDERS.get(provider)
        if spec is None:
            raise UpstreamError(404, f"Unknown provider '{provider}'. Known providers: {', '.join(PROVIDERS)}.",
                                provider=provider, error_type="not_found_error")
        if api not in ApiFormat.__members__.values():
            raise UpstreamError(404, f"Unknown API format '{api}'.", provider=provider, error_type="not_found_error")
        api = ApiFormat(api)
        if not spec.serves(api):
            raise UpstreamError(404, f"Provider '{provider}' does not serve the {api.value} API; providers that do: "
                                f"{', '.join(providers_serving(api))}.", provider=provider, error_type="not_found_error")
        base = getattr(self.settings, spec.base_url_setting)
        if not base:
            raise UpstreamError(400, f"Provider '{provider}' is not configured on this server "
                                f"(the operator must set AIRLOCK_{spec.base_url_setting.upper()}).",
                                provider=provider, error_type="invalid_request_error")
        key = api_key or _secret(getattr(self.settings, spec.key_setting))
        if not key and spec.key_required:
            raise UpstreamError(401, f"No API key for provider '{provider}': send your provider key in the "
                                f"X-Api-Key header, or the operator sets {spec.key_env}.",
                                provider=provider, error_type="authentication_error")
        deployment = self.settings.sequrity_azure_deployment if spec.auth is AuthStyle.AZURE else None
        model = body.get("model") if isinstance(body.get("model"), str) else None
        url = endpoint_url(spec, base, api, model, deployment)
        if url.endswith("/deployments//chat/completions"):
            raise UpstreamError(400, "Azure needs a deployment: set 'model' (or AIRLOCK_SEQURITY_AZURE_DEPLOYMENT).",
                                provider=provider, error_type="invalid_request_error")
        headers = {k: v for k, v in (extra_headers or {}).items() if k.lower() not in _PROTECTED}
        headers.setdefault("user-agent", f"airlock/{__version__}")
        headers["content-type"] = "application/json"
        headers["accept"] = "text/event-stream" if stream else "application/json"
        headers.update(_auth_headers(spec, key))
        params = {}
        if spec.auth is AuthStyle.AZURE and not base.rstrip("/").endswith("/v1"):
            params["api-version"] = self.settings.sequrity_azure_api_version
        content = dump_bytes(body)
        secrets = tuple(s for s in {key, *_all_keys(self.settings)} if s)
        return _Prepared(provider, url, params, headers, content, secrets)

    # -- sending with retries -----------------------------------------------------------------
    async def _open(self, prep: _Prepared, *, read_body: bool) -> tuple[httpx.Response, int]:
        """Send until a 2xx arrives (returned open, body read if ``read_body``) or give up."""
        retries = max(0, self.settings.upstream_max_retries)
        for attempt in range(retries + 1):
            last = attempt == retries
            request = self._http.build_request("POST", prep.url, params=prep.params,
                                               headers=prep.headers, content=prep.content)
            try:
                resp = await self._http.send(request, stream=True)
            except httpx.TimeoutException as exc:
                if isinstance(exc, httpx.ConnectTimeout) and not last:
                    await self._backoff(prep, attempt, "connect timeout")
                    continue
                raise self._timeout_error(prep, exc) from None
            except httpx.TransportError as exc:
                if not last and not isinstance(exc, httpx.UnsupportedProtocol):
                    await self._backoff(prep, attempt, type(exc).__name__)
                    continue
                raise self._connection_error(prep, exc) from None

            if not 200 <= resp.status_code < 300:
                content = await _read_quietly(resp)
                delay = None if last else self._retry_delay(resp, attempt)
                if delay is not None:
                    log.warning("upstream %s: HTTP %s, retry %d in %.2fs", prep.provider, resp.status_code, attempt + 1, delay)
                    await asyncio.sleep(delay)
                    continue
                raise self._status_error(prep, resp.status_code, content, resp.headers)

            if read_body:
                try:
                    await resp.aread()
                except httpx.TimeoutException as exc:
                    await resp.aclose()
                    raise self._timeout_error(prep, exc) from None
                except httpx.TransportError as exc:
                    await resp.aclose()
                    if not last:
                        await self._backoff(prep, attempt, type(exc).__name__)
                        continue
                    raise self._connection_error(prep, exc) from None
            return resp, attempt + 1
        raise AssertionError("unreachable")

    def _retry_delay(self, resp: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying this response, or None when it must not be retried."""
        should = resp.headers.get("x-should-retry")
        if should == "false" or (should != "true" and resp.status_code not in _RETRY_STATUS):
            return None
        asked = _retry_after(resp.headers)
        if asked is not None:
            return asked if asked <= self.settings.upstream_retry_after_max_s else None
        return _jittered(self.settings.upstream_retry_backoff_s, attempt)

    async def _backoff(self, prep: _Prepared, attempt: int, why: str) -> None:
        delay = _jittered(self.settings.upstream_retry_backoff_s, attempt)
        log.warning("upstream %s: %s, retry %d in %.2fs", prep.provider, why, attempt + 1, delay)
        await asyncio.sleep(delay)

    # -- failures -----------------------------------------------------------------------------
    def _timeout_error(self, prep: _Prepared, exc: httpx.TimeoutException) -> UpstreamError:
        what = {httpx.ConnectTimeout: "connecting", httpx.PoolTimeout: "waiting for a free connection"}.get(
            type(exc), "waiting for the answer")
        return UpstreamError(504, f"Provider {prep.provider} timed out ({what}).",
                             provider=prep.provider, error_type="upstream_timeout")

    def _connection_error(self, prep: _Prepared, exc: httpx.TransportError) -> UpstreamError:
        return UpstreamError(502, f"Could not reach provider {prep.provider} ({type(exc).__name__}).",
                             provider=prep.provider, error_type="upstream_error")

    def _status_error(self, prep: _Prepared, status: int, content: bytes, headers: httpx.Headers,
                      note: str | None = None) -> UpstreamError:
        detail = scrub(_upstream_message(content), prep.secrets)
        what = note or f"returned HTTP {status}"
        message = f"Provider {prep.provider} {what}: {detail}" if detail else f"Provider {prep.provider} {what}."
        if 400 <= status < 500 and status != 408:
            keep = {k: headers[k] for k in ("retry-after", "retry-after-ms") if k in headers}
            return UpstreamError(status, message, provider=prep.provider, upstream_status=status,
                                 error_type=default_error_type(status), headers=keep)
        if status == 408:
            return UpstreamError(504, message, provider=prep.provider, upstream_status=status, error_type="upstream_timeout")
        return UpstreamError(502, message, provider=prep.provider, upstream_status=status, error_type="upstream_error")


def _auth_headers(spec: ProviderSpec, key: str | None) -> dict[str, str]:
    if not key:
        return {}
    if spec.auth is AuthStyle.ANTHROPIC:
        return {"x-api-key": key, "anthropic-version": ANTHROPIC_VERSION}
    if spec.auth is AuthStyle.AZURE:
        return {"api-key": key}
    return {"authorization": f"Bearer {key}"}


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if hasattr(value, "get_secret_value") else value


def _all_keys(settings: Settings) -> list[str | None]:
    return [_secret(getattr(settings, p.key_setting)) for p in PROVIDERS.values()]


def _jittered(base: float, attempt: int) -> float:
    return min(_MAX_BACKOFF_S, base * 2**attempt) * random.uniform(0.5, 1.0)


def _retry_after(headers: httpx.Headers) -> float | None:
    try:
        if "retry-after-ms" in headers:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (ValueError, TypeError, OverflowError):
        return None


async def _read_quietly(resp: httpx.Response) -> bytes:
    try:
        await resp.aread()
        return resp.content
    except httpx.HTTPError:
        return b""
    finally:
        await resp.aclose()


def _upstream_message(content: bytes) -> str:
    """The human part of an upstream error body, whatever its shape; bounded in length."""
    try:
        data = loads(content, surrogates="replace")
    except JsonInputError:
        return content[:300].decode("utf-8", errors="replace").strip()
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            for field in ("message", "detail", "error"):
                if isinstance(err.get(field), str):
                    return err[field][:1000]
        elif isinstance(err, str):
            return err[:1000]
    return json.dumps(data)[:300]
