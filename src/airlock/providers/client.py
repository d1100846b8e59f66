"""``UpstreamClient``: the one pooled HTTP client Airlock uses to call providers.

Why it exists rather than the vendors' SDKs: Airlock forwards bodies it did not write (unknown
fields must pass through untouched), re-emits SSE events nearly byte for byte, and must turn
every failure into an answer for *its* client (see :class:`UpstreamError`). A thin layer over
one aiohttp session does all three and keeps one connection pool per app.

Why aiohttp, not httpx (measured, ``bench/_gateway/clients.py``, fake upstream on loopback, 2
cores): aiohttp 3.14 costs 0.10 ms of CPU per request at concurrency 1 and 0.07 ms at 64; httpx
0.28 costs 0.49 ms and 1.13 ms (7.4k vs 2.0k req/s at 1, 14.6k vs 0.9k at 64). A profile of the
gateway at concurrency 64 spent most of its time in httpcore's pool, which rescans every pooled
connection (``has_expired``/``is_idle``) on each request and release: the cost grows with the
pool, so Airlock lost throughput as concurrency grew.

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
import contextlib
import email.utils
import json
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, AsyncGenerator, AsyncIterator

from collections.abc import Mapping

import aiohttp
import aiohttp.helpers
import yarl

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
    headers: Mapping[str, str]
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
    """One per app. ``connector`` is for tests that need to stub the network."""

    def __init__(self, settings: Settings | None = None, *, connector: aiohttp.BaseConnector | None = None) -> None:
        self.settings = settings or get_settings()
        self._connector = connector
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, dict[str, Any]] = {}

    def _client(self) -> aiohttp.ClientSession:
        """The session, made on first use: aiohttp binds it to the running event loop."""
        if self._session is None or self._session.closed:
            s = self.settings
            connector = self._connector or aiohttp.TCPConnector(
                limit=s.upstream_max_connections, limit_per_host=0, keepalive_timeout=30, ttl_dns_cache=300)
            # connect: a free pool slot plus the TCP/TLS handshake (httpx's pool timeout); sock_connect:
            # the handshake alone; sock_read: the longest silence between two reads of the answer.
            timeout = aiohttp.ClientTimeout(total=None, connect=s.upstream_timeout_s,
                                            sock_connect=s.upstream_connect_timeout_s, sock_read=s.upstream_timeout_s)
            # Not trust_env: aiohttp then looks the proxy up in a thread on every request (a thread
            # hop per call); ``_proxy`` reads the same variables once per origin instead.
            self._session = aiohttp.ClientSession(connector=connector, timeout=timeout, connector_owner=True)
        return self._session

    async def warm(self, probe_url: str | None = None) -> None:
        """Start-up work a first call would otherwise pay: the session, the proxy lookup of every
        configured provider origin (it reads the environment and ~/.netrc), and — given a local
        ``probe_url`` that answers any POST — one round trip through this session's connector."""
        http = self._client()
        for spec in PROVIDERS.values():
            base = getattr(self.settings, spec.base_url_setting)
            if base:
                self._proxy(base)
        if probe_url is not None:
            async with http.post(probe_url, data=b"{}", headers={"content-type": "application/json"}) as resp:
                await resp.read()

    def _proxy(self, url: str) -> dict[str, Any]:
        """HTTPS_PROXY/HTTP_PROXY/NO_PROXY (as httpx honoured them) for ``url``'s origin, cached."""
        key = "/".join(url.split("/", 3)[:3])
        found = self._proxies.get(key)
        if found is None:
            try:
                proxy, auth = aiohttp.helpers.get_env_proxy_for_url(yarl.URL(url))
                found = {"proxy": proxy, "proxy_auth": auth}
            except LookupError:
                found = {}
            self._proxies[key] = found
        return found

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

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
        resp, content, attempts = await self._open(prep, read_body=True)
        try:
            data = loads(content, surrogates="replace")
        except JsonInputError as exc:
            raise UpstreamError(502, f"Provider {provider} answered HTTP {resp.status} with a body Airlock "
                                f"cannot read: {exc}.",
                                provider=provider, error_type="upstream_error", upstream_status=resp.status) from None
        return UpstreamResult(resp.status, data, resp.headers, provider, attempts)

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
        reads = self.stream_reads(provider, api, body, api_key=api_key, extra_headers=extra_headers)
        async with contextlib.aclosing(reads):  # an early stop closes the upstream answer now, not at GC
            async for batch in reads:
                for event in batch:
                    yield event

    async def stream_reads(
        self, provider: str, api: ApiFormat | str, body: dict[str, Any], *,
        api_key: str | None, extra_headers: dict[str, str] | None = None,
    ) -> AsyncGenerator[list[SSEEvent], None]:
        """``stream`` in batches: the complete events of each read from the socket (never empty).

        A relay that writes one batch per read sends the caller one packet where the provider
        sent one, instead of one write per event (an answer of 6 events cost 6 ASGI sends).
        """
        if not body.get("stream"):
            body = {**body, "stream": True}
        prep = self._prepare(provider, api, body, api_key, extra_headers, stream=True)
        resp, _, _ = await self._open(prep, read_body=False)
        finished = False
        try:
            if "json" in resp.headers.get("content-type", ""):
                content = await _read_quietly(resp)
                raise self._status_error(prep, resp.status, content, resp.headers,
                                         note="answered JSON to a streaming request")
            decoder = SSEDecoder()
            async for chunk in resp.content.iter_any():
                events = decoder.feed(chunk)
                if events:
                    yield events
            events = decoder.flush()
            finished = True
            if events:
                yield events
        except asyncio.TimeoutError:  # aiohttp's socket read timeout is one
            raise UpstreamError(504, f"Provider {provider} stopped sending mid-stream (read timeout).",
                                provider=provider, error_type="upstream_timeout") from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(502, f"Connection to provider {provider} was lost mid-stream ({type(exc).__name__}).",
                                provider=provider, error_type="upstream_error") from None
        finally:
            # A fully read answer gives its connection back to the pool; a half-read one is closed.
            if finished:
                resp.release()
            else:
                resp.close()

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
    async def _open(self, prep: _Prepared, *, read_body: bool) -> tuple[aiohttp.ClientResponse, bytes, int]:
        """Send until a 2xx arrives (returned with its body if ``read_body``, else open) or give up."""
        retries = max(0, self.settings.upstream_max_retries)
        http = self._client()
        for attempt in range(retries + 1):
            last = attempt == retries
            try:
                resp = await http.post(prep.url, params=prep.params or None, headers=prep.headers, data=prep.content,
                                       **self._proxy(prep.url))
            except aiohttp.ConnectionTimeoutError as exc:
                if not last:
                    await self._backoff(prep, attempt, "connect timeout")
                    continue
                raise self._timeout_error(prep, exc) from None
            except asyncio.TimeoutError as exc:
                raise self._timeout_error(prep, exc) from None
            except aiohttp.InvalidURL as exc:  # a bad base URL or scheme: retrying cannot help
                raise self._connection_error(prep, exc) from None
            except aiohttp.ClientError as exc:
                if not last:
                    await self._backoff(prep, attempt, type(exc).__name__)
                    continue
                raise self._connection_error(prep, exc) from None

            if not 200 <= resp.status < 300:
                content = await _read_quietly(resp)
                delay = None if last else self._retry_delay(resp, attempt)
                if delay is not None:
                    log.warning("upstream %s: HTTP %s, retry %d in %.2fs", prep.provider, resp.status, attempt + 1, delay)
                    await asyncio.sleep(delay)
                    continue
                raise self._status_error(prep, resp.status, content, resp.headers)

            content = b""
            if read_body:
                try:
                    content = await resp.read()
                except asyncio.TimeoutError as exc:
                    resp.close()
                    raise self._timeout_error(prep, exc) from None
                except aiohttp.ClientError as exc:
                    resp.close()
                    if not last:
                        await self._backoff(prep, attempt, type(exc).__name__)
                        continue
                    raise self._connection_error(prep, exc) from None
                resp.release()
            return resp, content, attempt + 1
        raise AssertionError("unreachable")

    def _retry_delay(self, resp: aiohttp.ClientResponse, attempt: int) -> float | None:
        """Seconds to wait before retrying this response, or None when it must not be retried."""
        should = resp.headers.get("x-should-retry")
        if should == "false" or (should != "true" and resp.status not in _RETRY_STATUS):
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
    def _timeout_error(self, prep: _Prepared, exc: BaseException) -> UpstreamError:
        what = "connecting" if isinstance(exc, aiohttp.ConnectionTimeoutError) else "waiting for the answer"
        return UpstreamError(504, f"Provider {prep.provider} timed out ({what}).",
                             provider=prep.provider, error_type="upstream_timeout")

    def _connection_error(self, prep: _Prepared, exc: Exception) -> UpstreamError:
        return UpstreamError(502, f"Could not reach provider {prep.provider} ({type(exc).__name__}).",
                             provider=prep.provider, error_type="upstream_error")

    def _status_error(self, prep: _Prepared, status: int, content: bytes, headers: Mapping[str, str],
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


def _retry_after(headers: Mapping[str, str]) -> float | None:
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


async def _read_quietly(resp: aiohttp.ClientResponse) -> bytes:
    try:
        return await resp.read()
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return b""
    finally:
        resp.release()


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
