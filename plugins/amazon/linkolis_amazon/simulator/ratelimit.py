"""Token buckets as Amazon applies them, per (selling partner, operation), timed by the simulator's clock."""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any


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
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def wait_time(self, now: float) -> float:
        """Seconds until a token is available (0 if one is now)."""
        self.refill(now)
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


class RateLimiter:
    """All buckets, created full on first use at the time of that use."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def take(self, partner: str, operation: str, rate: float, burst: int, now: float) -> bool:
        with self._lock:
            bucket = self._buckets.get((partner, operation))
            if bucket is None:
                bucket = self._buckets[(partner, operation)] = TokenBucket(rate, burst, updated=now)
            return bucket.take(now)

    def bucket(self, partner: str, operation: str) -> TokenBucket | None:
        return self._buckets.get((partner, operation))

    def snapshot(self, now: float) -> dict[str, dict[str, float]]:
        with self._lock:
            out: dict[str, dict[str, float]] = defaultdict(dict)
            for (partner, op), b in self._buckets.items():
                b.refill(now)
                out[partner][op] = round(b.tokens, 4)
            return dict(out)


class SlidingWindow:
    """At most ``limit`` events per ``window`` seconds per key (the JSON_LISTINGS_FEED submission limit)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str, now: float) -> bool:
        q = self._events[key]
        while q and q[0] <= now - self.window:
            q.popleft()
        if len(q) >= self.limit:
            return False
        q.append(now)
        return True


@dataclass
class Counters:
    """Calls per operation, answers per status, throttles and faults: what benchmarks print."""

    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    throttled: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    faults: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lwa_grants: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

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

    def grant(self, grant_type: str) -> None:
        with self._lock:
            self.lwa_grants[grant_type] += 1

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.statuses.clear()
            self.throttled.clear()
            self.faults.clear()
            self.lwa_grants.clear()

    def snapshot(self) -> dict[str, Any]:
        """A plain-dict copy (JSON-ready: status codes become strings)."""
        with self._lock:
            return {
                "calls": dict(self.calls),
                "statuses": {op: {str(k): v for k, v in s.items()} for op, s in self.statuses.items()},
                "throttled": dict(self.throttled),
                "faults": dict(self.faults),
                "lwa_grants": dict(self.lwa_grants),
                "total_calls": sum(self.calls.values()),
                "total_throttled": sum(self.throttled.values()),
            }
