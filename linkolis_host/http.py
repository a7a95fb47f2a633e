"""The HTTP client plugins get: timeouts, retries with backoff, the shared rate limiter, a user agent.

A plugin names the marketplace operation of each call (``operation="searchOrders"``); the client waits for a
token of that operation's bucket before sending, backs off on 429 (draining the bucket, as the marketplace
says it is empty), and retries connection errors and 5xx. What comes back otherwise is the plugin's to read.
"""

from __future__ import annotations

import logging
import platform
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from . import __version__
from .clock import Clock
from .errors import RateLimited, RemoteError
from .models import RateLimit
from .ratelimit import RateLimiter

RETRY_STATUSES = {500, 502, 503, 504}
IDEMPOTENT = {"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"}
MAX_429_RETRIES = 8
MAX_BACKOFF = 60.0


def user_agent(extra: str = "") -> str:
    base = f"linkolis/{__version__} (Language=Python/{platform.python_version()}; Platform={platform.system()})"
    return f"{base} {extra}".strip()[:500]


@dataclass
class HttpStats:
    """What a run cost, for benchmarks and summaries."""

    calls: Counter = field(default_factory=Counter)
    throttled: Counter = field(default_factory=Counter)
    retries: Counter = field(default_factory=Counter)
    waited: float = 0.0
    backed_off: float = 0.0


class HttpClient:
    def __init__(
        self,
        *,
        clock: Clock,
        limiter: RateLimiter | None = None,
        limits: dict[str, RateLimit] | None = None,
        bucket_prefix: str = "",
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        retries: int = 5,
        agent: str | None = None,
        log: logging.Logger | None = None,
        stats: HttpStats | None = None,
    ) -> None:
        self.clock = clock
        self.limiter = limiter
        self.limits = dict(limits or {})
        self.bucket_prefix = bucket_prefix
        self.retries = retries
        self.log = log or logging.getLogger("linkolis.http")
        self.stats = stats or HttpStats()
        self._client = httpx.Client(
            transport=transport, timeout=timeout, headers={"user-agent": agent or user_agent()},
            follow_redirects=False,
        )
        self._random = random.Random()

    def close(self) -> None:
        self._client.close()

    def _backoff(self, attempt: int) -> None:
        delay = min(MAX_BACKOFF, 2.0**attempt) * self._random.uniform(0.5, 1.0)
        self.stats.backed_off += delay
        self.clock.sleep(delay)

    def request(
        self, method: str, url: str, *, operation: str | None = None, retry: bool | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send a request, waiting for quota and retrying what retrying can cure.

        :param operation: the marketplace operation, whose declared rate limit applies (if declared).
        :param retry: retry 5xx and dropped connections; default: for idempotent methods only (a POST is
            retried only when the connection failed before anything was sent).
        :raises RemoteError: the connection kept failing or 5xx kept coming after all retries.
        :raises RateLimited: 429 kept coming after the allowed back-offs.
        """
        method = method.upper()
        may_retry = method in IDEMPOTENT if retry is None else retry
        limit = self.limits.get(operation or "")
        key = f"{self.bucket_prefix}:{operation}"
        label = operation or method
        failures = throttles = 0
        while True:
            if limit is not None and self.limiter is not None:
                self.stats.waited += self.limiter.acquire(key, limit)
            self.stats.calls[label] += 1
            try:
                response = self._client.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
                if (may_retry or never_sent) and failures < self.retries:
                    failures += 1
                    self.stats.retries[label] += 1
                    self.log.info("%s %s: %s; retrying", method, httpx.URL(url).path, type(exc).__name__)
                    self._backoff(failures)
                    continue
                raise RemoteError(f"{label}: no answer from {httpx.URL(url).host} ({type(exc).__name__})") from None
            request_id = response.headers.get("x-amzn-requestid") or response.headers.get("x-request-id")
            self.log.debug("%s %s -> %s (%s)", method, httpx.URL(url).path, response.status_code, request_id)
            if response.status_code == 429:
                self.stats.throttled[label] += 1
                if throttles >= MAX_429_RETRIES:
                    raise RateLimited(f"{label}: still throttled after {throttles} back-offs", status=429,
                                      request_id=request_id)
                throttles += 1
                self.stats.retries[label] += 1
                if limit is not None and self.limiter is not None:
                    self.limiter.drain(key, limit)  # the next acquire waits for a real refill
                else:
                    self._backoff(throttles)
                continue
            if response.status_code in RETRY_STATUSES and may_retry and failures < self.retries:
                failures += 1
                self.stats.retries[label] += 1
                self.log.info("%s %s -> %s; retrying", method, httpx.URL(url).path, response.status_code)
                self._backoff(failures)
                continue
            if response.status_code in RETRY_STATUSES:
                raise RemoteError(f"{label}: the marketplace answered {response.status_code}",
                                  status=response.status_code, request_id=request_id)
            return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)
