"""Token buckets per (account, operation), kept in the database so quotas hold across commands and processes.

A call reserves a token first and learns how long to wait for it: the bucket may go below zero, which is a
queue of reservations, so concurrent callers (threads or processes) are served in order and never burst past
the marketplace's quota. Buckets start full, as the marketplace's do.

A marketplace may tell its quota in its answers (bol's ``x-ratelimit-*`` headers): a limit learned that way
(``learn``) replaces the declared one for that bucket, for every client of this limiter, until the process ends.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from .clock import Clock
from .models import RateLimit

# Wait a thousandth of a token longer than the arithmetic says, so float rounding on either side never
# lands a call a hair before the marketplace's bucket has refilled.
_MARGIN_TOKENS = 0.001


class RateLimiter:
    def __init__(self, db_path: Path | str, clock: Clock) -> None:
        self._conn = sqlite3.connect(str(db_path), timeout=30, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._lock = threading.Lock()
        self.clock = clock
        self._learned: dict[str, RateLimit] = {}

    def close(self) -> None:
        self._conn.close()

    def learn(self, key: str, limit: RateLimit) -> None:
        """The marketplace said what ``key``'s quota is: use ``limit`` for it from now on."""
        with self._lock:
            self._learned[key] = limit

    def learned(self, key: str) -> RateLimit | None:
        """The limit learned for ``key``, or None when the marketplace never said."""
        return self._learned.get(key)

    def _update(self, key: str, limit: RateLimit, take: float, floor: float | None = None) -> float:
        """Refill ``key``'s bucket to now, take ``take`` tokens, return the tokens left (may be negative)."""
        with self._lock:
            now = self.clock.time()
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._conn.execute("SELECT tokens, updated_at FROM rate_buckets WHERE key = ?", (key,)).fetchone()
                tokens = float(limit.burst) if row is None else row[0]
                if row is not None:
                    tokens = min(float(limit.burst), tokens + max(0.0, now - row[1]) * limit.rate)
                if floor is not None:
                    tokens = min(tokens, floor)
                tokens -= take
                if take < 0:
                    tokens = min(float(limit.burst), tokens)  # a token given back never overfills the bucket
                self._conn.execute(
                    "INSERT INTO rate_buckets (key, tokens, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at",
                    (key, tokens, now),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            return tokens

    def reserve(self, key: str, limit: RateLimit) -> float:
        """Take a token; return the seconds to wait before using it (0 when one was there)."""
        tokens = self._update(key, limit, 1.0)
        return 0.0 if tokens >= 0 else (-tokens + _MARGIN_TOKENS) / limit.rate

    def acquire(self, key: str, limit: RateLimit) -> float:
        """Take a token and wait for it on the clock; return the seconds waited."""
        wait = self.reserve(key, limit)
        self.clock.sleep(wait)
        return wait

    def refund(self, key: str, limit: RateLimit) -> None:
        """Give back a reserved token that was never used: the request did not reach the marketplace."""
        self._update(key, limit, -1.0)

    def drain(self, key: str, limit: RateLimit) -> None:
        """The marketplace said the bucket is empty (a 429): believe it."""
        self._update(key, limit, 0.0, floor=0.0)

    def wait_time(self, key: str, limit: RateLimit) -> float:
        """Seconds until a token would be there, without taking one."""
        tokens = self._update(key, limit, 0.0)
        return 0.0 if tokens >= 1 else (1 - tokens + _MARGIN_TOKENS) / limit.rate
