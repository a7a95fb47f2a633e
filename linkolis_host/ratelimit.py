"""Token buckets per (account, operation), kept in the database so quotas hold across commands and processes.

A call reserves a token first and learns how long to wait for it: the bucket may go below zero, which is a
queue of reservations, so concurrent callers (threads or processes) are served in order and never burst past
the marketplace's quota. Buckets start full, as the marketplace's do.

A marketplace may tell its quota in its answers (bol's ``x-ratelimit-*`` headers): a limit learned that way
(``learn``) replaces the declared one for that bucket, for every client of this limiter, until the process ends.

A quota may also be counted in a sliding window (``RateLimit.window_calls`` per ``window`` seconds): each call's
moment is reserved in ``rate_windows``, and a call waits until the window before it holds fewer than that many.
Owns the tables ``rate_buckets`` and ``rate_windows``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .clock import Clock
from .models import RateLimit

# Wait a thousandth of a token longer than the arithmetic says, so float rounding on either side never
# lands a call a hair before the marketplace's bucket has refilled.
_MARGIN_TOKENS = 0.001
# A call of a quota counted in a window goes this much later than the window allows: the marketplace counts a
# call when it arrives, and the call a window before may have arrived late.
WINDOW_MARGIN = 2.0


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

    @contextmanager
    def _transaction(self) -> Iterator[float]:
        """One write transaction on the buckets, serialised with every other process; yields the time now."""
        with self._lock:
            now = self.clock.time()
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield now
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def _bucket(self, key: str, limit: RateLimit, now: float, take: float, floor: float | None = None) -> float:
        """Refill ``key``'s bucket to now, take ``take`` tokens, return the tokens left (may be negative)."""
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
        return tokens

    def _window_room(self, key: str, limit: RateLimit, earliest: float) -> float:
        """The first moment from ``earliest`` on when ``key``'s window has room for one more call: once the
        ``window_calls``-th latest call reserved is a whole window (and the margin) old."""
        assert limit.window is not None and limit.window_calls is not None
        row = self._conn.execute(
            "SELECT at FROM rate_windows WHERE key = ? ORDER BY at DESC LIMIT 1 OFFSET ?",
            (key, limit.window_calls - 1),
        ).fetchone()
        return earliest if row is None else max(earliest, row[0] + limit.window + WINDOW_MARGIN)

    def reserve(self, key: str, limit: RateLimit) -> float:
        """Take a token; return the seconds to wait before using it (0 when one was there)."""
        with self._transaction() as now:
            tokens = self._bucket(key, limit, now, 1.0)
            wait = 0.0 if tokens >= 0 else (-tokens + _MARGIN_TOKENS) / limit.rate
            if limit.window is None:
                return wait
            at = self._window_room(key, limit, now + wait)
            self._conn.execute("INSERT INTO rate_windows (key, at) VALUES (?, ?)", (key, at))
            # Calls more than a window before now can never count again.
            self._conn.execute(
                "DELETE FROM rate_windows WHERE key = ? AND at < ?", (key, now - limit.window - WINDOW_MARGIN)
            )
            return at - now

    def acquire(self, key: str, limit: RateLimit) -> float:
        """Take a token and wait for it on the clock; return the seconds waited."""
        wait = self.reserve(key, limit)
        self.clock.sleep(wait)
        return wait

    def refund(self, key: str, limit: RateLimit) -> None:
        """Give back a reserved token that was never used: the request did not reach the marketplace."""
        with self._transaction() as now:
            self._bucket(key, limit, now, -1.0)
            if limit.window is not None:
                self._conn.execute(
                    "DELETE FROM rate_windows WHERE rowid = "
                    "(SELECT rowid FROM rate_windows WHERE key = ? ORDER BY at DESC LIMIT 1)",
                    (key,),
                )

    def drain(self, key: str, limit: RateLimit) -> None:
        """The marketplace said the bucket is empty (a 429): believe it. Its window counted calls we cannot see
        (another tool of the seller's, say): the next call waits a whole window."""
        with self._transaction() as now:
            self._bucket(key, limit, now, 0.0, floor=0.0)
            if limit.window_calls is not None:
                self._conn.executemany(
                    "INSERT INTO rate_windows (key, at) VALUES (?, ?)", [(key, now)] * limit.window_calls
                )

    def wait_time(self, key: str, limit: RateLimit) -> float:
        """Seconds until a token would be there, without taking one."""
        with self._transaction() as now:
            tokens = self._bucket(key, limit, now, 0.0)
            wait = 0.0 if tokens >= 1 else (1 - tokens + _MARGIN_TOKENS) / limit.rate
            if limit.window is None:
                return wait
            return self._window_room(key, limit, now + wait) - now
