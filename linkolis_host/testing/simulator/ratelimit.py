"""Rate limits as marketplaces apply them: a token bucket per (account, operation), timed by the simulator's clock,
and what a marketplace's rate-limit headers tell (``Quota``); plus the counters benchmarks print."""

from __future__ import annotations

import math
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

EPSILON = 1e-9  # a bucket refilled to 0.9999999999 by float arithmetic holds a token


@dataclass
class TokenBucket:
    """``rate`` tokens per second flow into a bucket holding at most ``burst``; a call takes one. Starts full."""

    rate: float
    burst: int
    tokens: float = -1.0
    updated: float = 0.0

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = float(self.burst)

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = max(self.updated, now)

    def take(self, now: float) -> bool:
        self.refill(now)
        if self.tokens >= 1.0 - EPSILON:
            self.tokens = max(0.0, self.tokens - 1.0)
            return True
        return False

    def wait_time(self, now: float) -> float:
        """Seconds until a token is available (0 if one is now)."""
        self.refill(now)
        return 0.0 if self.tokens >= 1.0 - EPSILON else (1.0 - self.tokens) / self.rate


@dataclass(frozen=True)
class Quota:
    """One call's standing with its bucket, for the headers a marketplace words it in: whether it may go ahead,
    the bucket's size, the whole tokens left, the seconds until it is full again, and (refused) until the next."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    retry_after: int


class RateLimiter:
    """Every bucket, created full on first use at the time of that use."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def take(self, account: str, operation: str, rate: float, burst: int, now: float) -> bool:
        """Whether a call may go ahead (and takes its token)."""
        return self.quota(account, operation, rate, burst, now).allowed

    def quota(self, account: str, operation: str, rate: float, burst: int, now: float) -> Quota:
        """Take a token for a call if there is one; what the bucket holds then."""
        with self._lock:
            bucket = self._buckets.get((account, operation))
            if bucket is None:
                bucket = self._buckets[(account, operation)] = TokenBucket(rate, burst, updated=now)
            allowed = bucket.take(now)
            return Quota(
                allowed,
                burst,
                max(0, math.floor(bucket.tokens + EPSILON)),
                math.ceil(max(0.0, burst - bucket.tokens) / rate),
                0 if allowed else max(1, math.ceil(bucket.wait_time(now))),
            )

    def bucket(self, account: str, operation: str) -> TokenBucket | None:
        return self._buckets.get((account, operation))

    def snapshot(self, now: float) -> dict[str, dict[str, float]]:
        """Tokens per account and operation now."""
        with self._lock:
            out: dict[str, dict[str, float]] = defaultdict(dict)
            for (account, op), bucket in self._buckets.items():
                bucket.refill(now)
                out[account][op] = round(bucket.tokens, 4)
            return dict(out)


class SlidingWindow:
    """At most ``limit`` events per ``window`` seconds per key."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str, now: float) -> bool:
        events = self._events[key]
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        return True


@dataclass
class Counters:
    """Calls per operation, answers per status, throttles and faults: what benchmarks and tests read.
    ``counters[operation]`` is the calls of one operation so far."""

    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    throttled: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    faults: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __getitem__(self, operation: str) -> int:
        return self.calls.get(operation, 0)

    def call(self, op: str) -> None:
        with self._lock:
            self.calls[op] += 1

    def status(self, op: str, status: int) -> None:
        with self._lock:
            self.statuses[op][status] += 1

    def throttle(self, op: str) -> None:
        with self._lock:
            self.throttled[op] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self.faults[kind] += 1

    def reset(self) -> None:
        with self._lock:
            for tally in (self.calls, self.statuses, self.throttled, self.faults):
                tally.clear()

    def snapshot(self) -> dict[str, Any]:
        """A plain-dict copy (JSON-ready: status codes become strings)."""
        with self._lock:
            return {
                "calls": dict(self.calls),
                "statuses": {op: {str(k): v for k, v in s.items()} for op, s in self.statuses.items()},
                "throttled": dict(self.throttled),
                "faults": dict(self.faults),
                "total_calls": sum(self.calls.values()),
                "total_throttled": sum(self.throttled.values()),
            }
