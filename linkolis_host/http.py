"""The HTTP client plugins get: timeouts, retries with backoff, the shared rate limiter, a user agent.

A plugin names the marketplace operation of each call (``operation="searchOrders"``); the client waits for a
token of that operation's bucket before sending, backs off on 429 (draining the bucket, as the marketplace
says it is empty), and retries connection errors and 5xx. What comes back otherwise is the plugin's to read.

Only a request that reaches the marketplace spends a token: a refused connection gives its token back, is tried
again a few times within seconds and then reported, and before a long wait for quota the client makes sure the
marketplace can be reached at all, so an unreachable endpoint never makes anyone wait on a quota. A wait that ends
in anything but the request (Ctrl-C, SIGTERM, the app removed) gives its token back as well. Waits longer
than ``LONG_WAIT`` are announced through the progress reporter.

A 429 with ``Retry-After`` (seconds or an HTTP date) is waited out as the marketplace asks before the next try; a
plugin that reads its marketplace's quota from the answers reports it with ``learn_rate``.
"""

from __future__ import annotations

import functools
import logging
import platform
import random
import socket
import ssl
import threading
import urllib.request
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, Callable, Iterable, Iterator, Protocol

import httpx

from . import metrics, store
from .clock import Clock
from .errors import Action, LinkolisError, RateLimited, RemoteError
from .models import RateLimit
from .ratelimit import RateLimiter, Reservation
from .version import __version__

RETRY_STATUSES = {500, 502, 503, 504}
IDEMPOTENT = {"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"}
MAX_429_RETRIES = 8
STOP_CHECK = 0.5  # seconds: how often a quota wait under a stop event looks whether it was set
MAX_BACKOFF = 60.0
# A refused connection is tried again after these pauses, then reported: it costs seconds, never quota.
CONNECT_BACKOFF = (0.5, 1.0, 2.0)
# A wait longer than this is announced (what for and how long): shorter ones pass unnoticed.
LONG_WAIT = 2.0
# How long a connection may take to open; the whole request may take the configured timeout.
CONNECT_TIMEOUT = 10.0
# A Retry-After longer than this is not waited for within one request: the call reports RateLimited instead.
MAX_RETRY_AFTER = 900.0


class WaitReporter(Protocol):
    """Who hears of long waits: the context's ``Progress``."""

    def wait(self, what: str, seconds: float) -> None: ...


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


def tcp_reachable(url: httpx.URL, timeout: float) -> bool:
    """Whether a TCP connection to the URL's host (or the proxy that carries it) opens; sends nothing."""
    host, port = url.host, url.port or (443 if url.scheme == "https" else 80)
    proxy = urllib.request.getproxies().get(url.scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        parsed = httpx.URL(proxy if "://" in proxy else f"http://{proxy}")
        host, port = parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError:
        return False
    return True


def retry_after(response: httpx.Response, now: float) -> float | None:
    """The seconds a ``Retry-After`` header asks to wait (delta-seconds or an HTTP date), None when absent or
    unreadable."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def duration_text(seconds: float) -> str:
    """``178`` -> ``2 min 58 s``: a wait as a person reads it."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


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


class Deferred(LinkolisError):
    """The next call would wait for quota longer than the scheduler allows: the unit gives its worker back and is
    run again at ``until`` (the clock's wall time; the scheduler waits what is left of it on the monotonic time).
    Nothing was sent and no token was taken."""

    def __init__(self, until: float, what: str = "") -> None:
        super().__init__(f"waiting for {what or 'quota'} until {until:.0f}")
        self.until = until


_DEFER = threading.local()


@contextmanager
def deferring(seconds: float, stop: threading.Event | None = None) -> Iterator[None]:
    """In this thread, a request that would wait for quota more than ``seconds`` raises ``Deferred`` instead; once
    ``stop`` is set, every next request does (the unit ends after the page it stored)."""
    before = getattr(_DEFER, "over", None), getattr(_DEFER, "stop", None)
    _DEFER.over, _DEFER.stop = seconds, stop
    try:
        yield
    finally:
        _DEFER.over, _DEFER.stop = before


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's own default (certifi's CAs, or SSL_CERT_FILE/SSL_CERT_DIR), made once per process: loading the CAs
    is ~20 ms of CPU, which every import and push paid for its client before, a third of a core at 1,000 apps."""
    return httpx.create_ssl_context()


class _NotReached(Exception):
    """A try that never reached the marketplace (no connection opened): its token went back."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class Quota:
    """One operation's bucket on a client's account, at the limit it is held to now: its tokens are taken, waited
    for, given back and drained through the shared ``RateLimiter``."""

    limited = True

    def __init__(self, limiter: RateLimiter, key: str, limit: RateLimit) -> None:
        self.limiter, self.key, self.limit = limiter, key, limit

    def wait_time(self) -> float:
        return self.limiter.wait_time(self.key, self.limit)

    def take(self) -> Reservation:
        return self.limiter.take(self.key, self.limit)

    def refund(self, reservation: Reservation) -> None:
        self.limiter.refund(self.key, self.limit, reservation)

    def went(self, reservation: Reservation) -> None:
        self.limiter.went(reservation)

    def drain(self) -> None:
        self.limiter.drain(self.key, self.limit)


class Unlimited(Quota):
    """The null quota, of an operation with no limit (or a client without a limiter): a token at once, nothing to
    give back or drain."""

    limited = False

    def __init__(self, key: str) -> None:
        self.key = key

    def wait_time(self) -> float:
        return 0.0

    def take(self) -> Reservation:
        return Reservation(self.key, 0.0)

    def refund(self, reservation: Reservation) -> None:
        pass

    def went(self, reservation: Reservation) -> None:
        pass

    def drain(self) -> None:
        pass


class ClientPool:
    """One ``httpx.Client`` (its pool of open connections) per marketplace origin, shared by every ``HttpClient`` a
    host and its forks make: a unit's context no longer opens a connection (and a TLS handshake) of its own; the
    next unit for that marketplace, in any worker thread, reuses one kept alive. ``httpx.Client`` may be used from
    several threads at once. ``close`` closes them all (the host does, when it closes)."""

    def __init__(self) -> None:
        # (origin, the transport's id) -> (the transport, kept so its id is never reused while listed; the client)
        self._clients: dict[tuple[Any, ...], tuple[httpx.BaseTransport | None, httpx.Client]] = {}
        self._lock = threading.Lock()

    def client(self, url: str | httpx.URL, transport: httpx.BaseTransport | None = None) -> httpx.Client:
        """The client for ``url``'s origin through ``transport`` (None: the network), made on first need."""
        key = (*_origin(httpx.URL(url)), id(transport))
        with self._lock:
            found = self._clients.get(key)
            if found is None:
                client = _new_client(transport, None, {"user-agent": user_agent()})
                # Shared by every app's units: a cookie one seller's answer sets must never go with another's request.
                client.cookies = CookieJar(DefaultCookiePolicy(allowed_domains=[]))  # type: ignore[assignment]
                found = self._clients[key] = (transport, client)
            return found[1]

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for _, client in clients:
            client.close()


def _new_client(
    transport: httpx.BaseTransport | None, timeout: httpx.Timeout | None, headers: dict[str, str]
) -> httpx.Client:
    return httpx.Client(
        transport=transport,
        verify=tls_context() if transport is None else True,
        timeout=timeout if timeout is not None else httpx.Timeout(30.0, connect=CONNECT_TIMEOUT),
        headers=headers,
        follow_redirects=False,
    )


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
        progress: WaitReporter | None = None,
        marketplace: str = "",
        guard: Callable[[], None] | None = None,
        probe: Callable[[httpx.URL], bool] | None = None,
        request_id_header: str = "x-request-id",
        stand_ins: Iterable[str] = (),
        pool: ClientPool | None = None,
    ) -> None:
        """``progress`` hears of long waits; ``marketplace`` (a title, "Amazon") names whose quota is waited for;
        ``guard`` is called before each request and raises to refuse it (the app was removed); ``probe`` says
        whether a URL's host can be reached before a long wait for quota (default: a TCP connection on the
        client's own network, none through an injected transport); ``request_id_header`` is the response header in
        which the marketplace names a request for its support (the plugin's word, from ``AppKind``); ``stand_ins``
        are the base URLs of the demo's stand-ins (``[demo] stand_ins``): one that refuses a connection has stopped;
        ``pool`` (the host's): send through its shared client for the origin and ``transport``, whose connections
        outlive this client, instead of a client of its own."""
        self.stand_ins = {_origin(httpx.URL(u)) for u in stand_ins}
        self.request_id_header = request_id_header
        self.clock = clock
        self.limiter = limiter
        self.limits = dict(limits or {})
        self.bucket_prefix = bucket_prefix
        self.retries = retries
        self.log = log or logging.getLogger("linkolis.http")
        self.stats = stats or HttpStats()
        self.progress = progress
        self.marketplace = marketplace
        self.guard = guard
        connect_timeout = min(timeout, CONNECT_TIMEOUT)
        self.probe = (
            probe if probe is not None or transport is not None else (lambda url: tcp_reachable(url, connect_timeout))
        )
        self._timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self._agent = agent or user_agent()
        self._pool, self._transport = pool, transport
        self._client = None if pool is not None else _new_client(transport, self._timeout, {"user-agent": self._agent})
        self._random = random.Random()
        self._reached: set[str] = set()  # hosts that answered this client: no need to check they can be reached

    def close(self) -> None:
        """Close this client's own connections; a pool's stay open for the next client."""
        if self._client is not None:
            self._client.close()

    def _backoff(self, attempt: int, why: str) -> None:
        delay = min(MAX_BACKOFF, 2.0**attempt) * self._random.uniform(0.5, 1.0)
        self.stats.backed_off += delay
        self._announce(f"{self.marketplace or 'the marketplace'} to recover ({why})", delay)
        self.clock.sleep(delay)

    def _announce(self, what: str, seconds: float) -> None:
        if seconds > LONG_WAIT and self.progress is not None:
            self.progress.wait(what, seconds)

    def learn_rate(self, operation: str, rate: float, burst: int) -> None:
        """The marketplace said what ``operation``'s quota is (in its answers' headers, say): ``rate`` requests a
        second, ``burst`` at once. From the next request on it replaces the declared limit, for every app of the
        same account in this process; an operation with no declared limit gets one."""
        limit = RateLimit(rate=rate, burst=burst)
        current = self._limit(operation)
        if current is not None and current.rate == limit.rate and current.burst == limit.burst:
            return
        self.limits[operation] = limit
        if self.limiter is not None:
            self.limiter.learn(f"{self.bucket_prefix}:{operation}", limit)

    def _limit(self, operation: str | None) -> RateLimit | None:
        if self.limiter is None:
            return None
        return self.limiter.learned(f"{self.bucket_prefix}:{operation}") or self.limits.get(operation or "")

    def limit_of(self, operation: str) -> RateLimit | None:
        """The quota ``operation`` is held to now (learned from the marketplace, else declared), or None."""
        return self._limit(operation)

    def bucket_of(self, operation: str) -> str:
        """The rate limiter's key for ``operation``'s quota on this client's account."""
        return f"{self.bucket_prefix}:{operation}"

    def _quota_name(self, operation: str) -> str:
        return f"{self.marketplace}'s quota for {operation}" if self.marketplace else f"the quota for {operation}"

    def _can_reach(self, url: str) -> bool:
        target = httpx.URL(url)
        if target.host in self._reached or self.probe is None:
            return True
        return self.probe(target)

    def _quota(self, operation: str | None) -> Quota:
        """``operation``'s bucket at the limit it is held to now; the null quota when it has none."""
        key = f"{self.bucket_prefix}:{operation}"
        limit = self._limit(operation)
        if self.limiter is None or limit is None:
            return Unlimited(key)
        return Quota(self.limiter, key, limit)

    def request(
        self, method: str, url: str, *, operation: str | None = None, retry: bool | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send a request, waiting for quota and retrying what retrying can cure.

        Three layers, as httpx's own ``send`` chain: the retries (``_send_handling_retries``) around a try under
        the quota (``_send_with_quota``: each try takes its own token) around one send (``_send_single``).

        :param operation: the marketplace operation, whose declared rate limit applies (if declared).
        :param retry: retry 5xx and dropped connections; default: for idempotent methods only (a POST is
            retried only when the connection failed before anything was sent).
        :raises RemoteError: the connection kept failing or 5xx kept coming after all retries; a connection that
            never opens is reported within seconds, whatever the quota.
        :raises RateLimited: 429 kept coming after the allowed back-offs.
        """
        method = method.upper()
        may_retry = method in IDEMPOTENT if retry is None else retry
        return self._send_handling_retries(method, url, operation, may_retry, kwargs)

    def _send_handling_retries(
        self, method: str, url: str, operation: str | None, may_retry: bool, kwargs: dict[str, Any]
    ) -> httpx.Response:
        """Try until an answer is the plugin's to read: a connection that never opened again within seconds, a
        dropped one and a 5xx with back-off (when ``may_retry``), a 429 once its bucket refills or as long as the
        marketplace asks."""
        label = operation or method
        host = httpx.URL(url).host
        quota = self._quota(operation)
        failures = throttles = refused = 0
        while True:
            try:
                response = self._send_with_quota(quota, method, url, label, kwargs, probe=not refused)
            except _NotReached as exc:
                refused = self._refused(label, host, exc.why, refused, url)
                continue
            except httpx.TransportError as exc:
                if may_retry and failures < self.retries:
                    failures += 1
                    self.stats.retries[label] += 1
                    self.log.info("%s %s: %s; retrying", method, httpx.URL(url).path, type(exc).__name__)
                    self._backoff(failures, f"{label}: {type(exc).__name__}")
                    continue
                raise RemoteError(f"{label}: no answer from {host} ({type(exc).__name__})") from None
            request_id = response.headers.get(self.request_id_header)
            if response.status_code == 429:
                self.stats.throttled[label] += 1
                metrics.throttled(self.marketplace, label)
                if throttles >= MAX_429_RETRIES:
                    raise RateLimited(
                        f"{label}: still throttled after {throttles} back-offs", status=429, request_id=request_id
                    )
                throttles += 1
                self.stats.retries[label] += 1
                asked = retry_after(response, self.clock.time())
                if asked is not None and asked > MAX_RETRY_AFTER:
                    raise RateLimited(
                        f"{label}: the marketplace asks to wait {duration_text(asked)} before the next "
                        "call; try again then",
                        status=429,
                        request_id=request_id,
                    )
                quota = self._quota(operation)  # the answer may just have taught a new one
                quota.drain()  # the next wait is for a real refill
                if asked is not None:
                    # The marketplace says when: wait that long, no more (a guessed back-off) and no less.
                    self.stats.backed_off += asked
                    self._announce(
                        f"{self.marketplace or 'the marketplace'} to lift its limit on {label} (429, Retry-After)",
                        asked,
                    )
                    self.clock.sleep(asked)
                elif not quota.limited:
                    self._backoff(throttles, f"{label} answered 429, too many requests")
                continue
            if response.status_code in RETRY_STATUSES and may_retry and failures < self.retries:
                failures += 1
                self.stats.retries[label] += 1
                self.log.info("%s %s -> %s; retrying", method, httpx.URL(url).path, response.status_code)
                self._backoff(failures, f"{label} answered {response.status_code}")
                continue
            if response.status_code in RETRY_STATUSES:
                raise RemoteError(
                    f"{label}: the marketplace answered {response.status_code}",
                    status=response.status_code,
                    request_id=request_id,
                )
            return response

    def _send_with_quota(
        self, quota: Quota, method: str, url: str, label: str, kwargs: dict[str, Any], probe: bool
    ) -> httpx.Response:
        """One try under the quota: wait for a token (or defer, or stop, as the scheduler asks), send, and give the
        token back when the request never reached the marketplace.

        :param probe: before a long wait, check that the marketplace can be reached at all (not when a connection
            was just refused: the retries report it).
        :raises _NotReached: no connection opened (the token went back).
        """
        if self.guard is not None:
            self.guard()
        stopping = getattr(_DEFER, "stop", None)
        if stopping is not None and stopping.is_set():
            raise Deferred(self.clock.time(), "the scheduler to start again")
        over = getattr(_DEFER, "over", None)
        if over is not None:
            due = quota.wait_time()
            if due > over:
                raise Deferred(self.clock.time() + due, self._quota_name(label))
        reservation = quota.take()
        try:
            reachable = reservation.wait <= LONG_WAIT or (probe and self._can_reach(url))
            if reachable and reservation.wait > 0:
                self._announce(self._quota_name(label), reservation.wait)
                self._wait(reservation.wait, stopping)
                if stopping is not None and stopping.is_set():
                    raise Deferred(self.clock.time(), "the scheduler to start again")  # the token goes back
                if self.guard is not None:
                    self.guard()
        except BaseException:
            # Stopped while it waited (Ctrl-C, SIGTERM, the app removed): the token was never used.
            self._give_back(quota, reservation)
            raise
        if not reachable:
            # Never wait on a quota for a marketplace that cannot be reached: give the token back.
            quota.refund(reservation)
            raise _NotReached("no connection opens")
        self.stats.waited += reservation.wait
        metrics.waited(self.marketplace, label, reservation.wait)
        quota.went(reservation)
        try:
            return self._send_single(method, url, label, kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            # Never reached the marketplace: the token is given back, and the retries cost seconds.
            quota.refund(reservation)
            self._reached.discard(httpx.URL(url).host)
            raise _NotReached(type(exc).__name__) from None
        except LinkolisError:
            # Raised before anything was sent (fetching the access token the request needs, say).
            quota.refund(reservation)
            raise

    def _wait(self, seconds: float, stop: threading.Event | None) -> None:
        """Sleep ``seconds`` for a quota; with a ``stop``, in slices of at most ``STOP_CHECK`` seconds, so that a
        stop (serve ending an import started from a page) ends the wait too."""
        if stop is None:
            self.clock.sleep(seconds)
            return
        end = self.clock.monotonic() + seconds
        while not stop.is_set() and (left := end - self.clock.monotonic()) > 0:
            self.clock.sleep(min(left, STOP_CHECK))

    def _send_single(self, method: str, url: str, label: str, kwargs: dict[str, Any]) -> httpx.Response:
        """One request through httpx, counted and logged."""
        self.stats.calls[label] += 1
        metrics.called(self.marketplace, label)
        if self._client is not None:
            response = self._client.request(method, url, **kwargs)
        else:
            assert self._pool is not None
            # A copy: the retries send the same ``kwargs`` again.
            sent = {"timeout": self._timeout, **kwargs, "headers": httpx.Headers(kwargs.get("headers"))}
            sent["headers"].setdefault("user-agent", self._agent)
            response = self._pool.client(url, self._transport).request(method, url, **sent)
        self._reached.add(httpx.URL(url).host)
        request_id = response.headers.get(self.request_id_header)
        self.log.debug("%s %s -> %s (%s)", method, httpx.URL(url).path, response.status_code, request_id)
        return response

    def _give_back(self, quota: Quota, reservation: Reservation) -> None:
        """Give an unused token back while something else ends the request; a database that refuses it then is
        left to release it once this process ends (``ratelimit``'s reservations of gone owners)."""
        try:
            quota.refund(reservation)
        except store.ERRORS as exc:
            self.log.info("%s: the token waited for could not be given back (%s)", quota.key, exc)

    def _refused(self, label: str, host: str, why: str, refused: int, url: str = "") -> int:
        """One more connection that never reached ``host``: pause a moment, or give up when enough were tried."""
        if url and _origin(httpx.URL(url)) in self.stand_ins:  # it does not come back by itself: say so at once
            raise RemoteError(
                f"{label}: cannot connect to {host}: the demo's simulator has stopped; start the demo again "
                "(this data directory was made by the demo and points at its stand-in)",
                code="demo_stopped",
                action=Action.OPERATOR,
            )
        if refused >= len(CONNECT_BACKOFF):
            raise RemoteError(
                f"{label}: cannot connect to {host} ({why}, {refused + 1} tries); check the network "
                "connection and the marketplace's address in the operator settings"
            )
        self.stats.retries[label] += 1
        self.log.info("%s: %s %s; trying again", label, host, why)
        self.clock.sleep(CONNECT_BACKOFF[refused])
        self.stats.backed_off += CONNECT_BACKOFF[refused]
        return refused + 1

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)
