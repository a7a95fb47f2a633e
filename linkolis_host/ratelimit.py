"""Token buckets per (account, operation), kept in the database so quotas hold across commands and processes.

A call reserves a token first and learns how long to wait for it: the bucket may go below zero, which is a
queue of reservations, so concurrent callers (threads or processes) are served in order and never burst past
the marketplace's quota. Buckets start full, as the marketplace's do.

A marketplace may tell its quota in its answers (bol's ``x-ratelimit-*`` headers): a limit learned that way
(``learn``) replaces the declared one for that bucket, for every client of this limiter, until the process ends.

A quota may also be counted in a sliding window (``RateLimit.window_calls`` per ``window`` seconds): each call's
moment is reserved in ``rate_windows``, and a call waits until the window before it holds fewer than that many.

A token that is never used goes back: ``refund`` with the ``Reservation`` that ``take`` gave returns it to its
bucket and frees its own moment in the window. A wait longer than ``RECORD_OVER`` is also written down in
``rate_reservations`` with the process that waits (``locks.process_owner``) until the request goes (``went``) or
the token goes back: a process killed while it waits (kill -9, a power cut) cannot give it back itself, so the next
caller of that bucket gives back the tokens of owners that are gone (``locks.owner_gone``).

The times stored are wall times, shared by processes and kept across reboots; ``rate_clock`` holds the latest one
any limiter read. A reading more than ``CLOCK_STEP`` earlier means the clock was set back (NTP, a VM resumed):
every stored time moves back by as much, once, so each wait is what it was at that latest reading and never longer
than it was set for (an hour's step back would otherwise hold a window's next call, and the tokens given back by
calls that never went, an hour longer).

Owns the tables ``rate_buckets``, ``rate_windows``, ``rate_reservations`` and ``rate_clock``. On SQLite a change is
a write transaction of its own, serialised with every other writer; on PostgreSQL (every process of an installation
sharing one database) a change holds an advisory lock on its bucket's key for its transaction, so changes to
different buckets go side by side and no two processes ever take one bucket's token at once.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import locks, postgres, store
from .clock import Clock
from .models import RateLimit

log = logging.getLogger("linkolis.ratelimit")

# Wait a thousandth of a token longer than the arithmetic says, so float rounding on either side never
# lands a call a hair before the marketplace's bucket has refilled; and, a call that had to wait, this many seconds
# more: the marketplace counts a call when it arrives, a few milliseconds after it left, and one that arrives a hair
# early is a 429 (measured: 1-4 of 129 paced patches, bench/stock_loop.py), which for searchOrders costs 179 s.
_MARGIN_TOKENS = 0.001
MARGIN_SECONDS = 0.05
# A call of a quota counted in a window goes this much later than the window allows: the marketplace counts a
# call when it arrives, and the call a window before may have arrived late.
WINDOW_MARGIN = 2.0
# A wait longer than this is written down with its owner; a process killed in a shorter one costs the next caller
# at most that token.
RECORD_OVER = 1.0
# A reading this much earlier than the latest one read is the clock set back, not two readings out of order.
CLOCK_STEP = 1.0
UNREAD: Any = object()  # a bucket's row not read yet in this transaction (``RateLimiter._bucket``)


@dataclass(frozen=True)
class Reservation:
    """A token taken: ``wait`` seconds until it may be used. ``window_row`` is its moment in the window and
    ``recorded`` its row in ``rate_reservations`` (None when there is none), so exactly this one can go back."""

    key: str
    wait: float
    window_row: int | None = None
    recorded: int | None = None


class RateLimiter:
    def __init__(self, database: Path | str, clock: Clock, *, home: Path | None = None) -> None:
        """``database``: the SQLite file, or a PostgreSQL URL (then ``home`` is the data directory, where the
        process notes of ``locks`` are)."""
        self._postgres = postgres.is_url(database)
        self._database = database
        if self._postgres:
            self._conn: Any = postgres.PgConnection(str(database))
            self._home = Path(home) if home is not None else Path(".")
        else:
            self._conn = sqlite3.connect(str(database), timeout=30, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout=30000")
            self._home = Path(home) if home is not None else Path(database).parent
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
    def _transaction(self, key: str = "") -> Iterator[float]:
        """One write transaction on ``key``'s bucket, serialised with every other process's; yields the time now,
        read once the lock is held (so every limiter's readings are in order, and a clock set back shows)."""
        with self._begun(key):
            try:
                now = self.clock.time()
                self._mind_the_clock(now)
                yield now
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    @contextmanager
    def _taking(self, key: str, limit: RateLimit) -> Iterator[tuple[float, Any]]:
        """``_transaction`` for a change of ``key``'s bucket that reads it first: the clock, whether the bucket has
        tokens reserved, and the bucket are read in one statement (a round trip, not three, on PostgreSQL). Yields
        the time now and the bucket's row as ``_bucket`` takes it (``UNREAD`` when a token of a process that died
        was given back, or the clock was set back: both change the row, and ``_bucket`` reads it again)."""
        with self._begun(key):
            try:
                now = self.clock.time()
                latest, orphaned, stored, updated_at = self._reading(key)
                moved = self._mind_the_clock(now, latest)
                if orphaned:
                    self._release_orphans(key, limit, now)
                yield now, (UNREAD if moved or orphaned else None if stored is None else (stored, updated_at))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def _reading(self, key: str) -> tuple[float | None, Any, float | None, float | None]:
        """The latest clock reading of any limiter, whether ``key`` has reservations written down, and its bucket's
        tokens and time (None, None: no bucket yet), in one statement: one snapshot, one round trip."""
        return self._conn.execute(
            "SELECT (SELECT latest FROM rate_clock WHERE id = 1), "
            "EXISTS (SELECT 1 FROM rate_reservations WHERE key = ?), "
            "(SELECT tokens FROM rate_buckets WHERE key = ?), (SELECT updated_at FROM rate_buckets WHERE key = ?)",
            (key, key, key),
        ).fetchone()

    @contextmanager
    def _begun(self, key: str) -> Iterator[None]:
        """A transaction begun that no other changes ``key``'s bucket beside: on PostgreSQL under the key's advisory
        lock; on SQLite holding the one write lock (this process's threads taking turns first)."""
        if self._postgres:
            with self._lock:
                self._conn.execute("BEGIN")
                try:
                    self._conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", ("rate:" + key,))
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                yield
            return
        with store.process_writer(self._conn), self._lock:
            store.begin_immediate(self._conn, self._conn.execute("PRAGMA busy_timeout").fetchone()[0])
            with store.writing(self._conn):
                yield

    def _mind_the_clock(self, now: float, latest: Any = None) -> bool:
        """Move every stored time back when the clock was set back since the latest reading (see the module);
        ``latest``: that reading as just read in this transaction (else read here). True when times were moved."""
        row = (
            (latest,)
            if latest is not None
            else self._conn.execute("SELECT latest FROM rate_clock WHERE id = 1").fetchone()
        )
        if row is not None and now >= row[0] - CLOCK_STEP:
            if now > row[0] + CLOCK_STEP / 2:  # not at every call: a page less to write, half a step less to see
                self._conn.execute("UPDATE rate_clock SET latest = ? WHERE id = 1", (now,))
            return False
        if row is None:
            self._conn.execute("INSERT INTO rate_clock (id, latest) VALUES (1, ?) ON CONFLICT (id) DO NOTHING", (now,))
            return False
        step = row[0] - now
        if self._postgres:  # every bucket moves: one process at a time, and the reading again under the lock
            self._conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('rate:clock', 0))")
            row = self._conn.execute("SELECT latest FROM rate_clock WHERE id = 1").fetchone()
            if now >= row[0] - CLOCK_STEP:
                return True  # another process moved them: read the bucket again
            step = row[0] - now  # from the reading under the lock: another process may have moved them part way
        self._conn.execute("UPDATE rate_buckets SET updated_at = updated_at - ?", (step,))
        self._conn.execute("UPDATE rate_windows SET at = at - ?", (step,))
        self._conn.execute("UPDATE rate_reservations SET at = at - ?", (step,))
        self._conn.execute("UPDATE rate_clock SET latest = ? WHERE id = 1", (now,))
        log.warning("the clock was set back %.0f s: the quotas' stored times are moved back as far", step)
        return True

    def _bucket(
        self, key: str, limit: RateLimit, now: float, take: float, floor: float | None = None, row: Any = UNREAD
    ) -> float:
        """Refill ``key``'s bucket to now, take ``take`` tokens, return the tokens left (may be negative). ``row``:
        the bucket's (tokens, updated_at) as read in this transaction, None for none (else read here)."""
        if row is UNREAD:
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
        return self.take(key, limit).wait

    def take(self, key: str, limit: RateLimit) -> Reservation:
        """Take a token; return its reservation: how long to wait for it, and what ``refund`` gives back."""
        with self._taking(key, limit) as (now, row):
            tokens = self._bucket(key, limit, now, 1.0, row=row)
            wait = 0.0 if tokens >= 0 else (-tokens + _MARGIN_TOKENS) / limit.rate + MARGIN_SECONDS
            window_row = None
            if limit.window is not None:
                at = self._window_room(key, limit, now + wait)
                window_row = self._conn.execute(
                    "INSERT INTO rate_windows (key, at) VALUES (?, ?) RETURNING rowid", (key, at)
                ).fetchone()[0]
                # Calls more than a window before now can never count again.
                self._conn.execute(
                    "DELETE FROM rate_windows WHERE key = ? AND at < ?", (key, now - limit.window - WINDOW_MARGIN)
                )
                wait = at - now
            recorded = self._record(key, now + wait, window_row) if wait > RECORD_OVER else None
            return Reservation(key, wait, window_row, recorded)

    def _record(self, key: str, at: float, window_row: int | None) -> int | None:
        """Write a reservation down with its owner, this process; None when this process cannot name itself."""
        try:
            owner = locks.process_owner(self._home, self._database)
        except OSError as exc:
            log.info("a quota reservation goes unrecorded (%s): a kill -9 now would keep its token", exc)
            return None
        return self._conn.execute(
            "INSERT INTO rate_reservations (key, at, pid, owner, window_row) VALUES (?, ?, ?, ?, ?) RETURNING id",
            (key, at, os.getpid(), owner, window_row),
        ).fetchone()[0]

    def _release_orphans(self, key: str, limit: RateLimit, now: float) -> None:
        """Give back the tokens of ``key`` that processes took and died waiting for."""
        rows = self._conn.execute(
            "SELECT id, owner, window_row FROM rate_reservations WHERE key = ?", (key,)
        ).fetchall()
        if not rows:
            return
        gone = {owner for owner in {r[1] for r in rows} if locks.owner_gone(self._home, owner, self._database)}
        orphans = [r for r in rows if r[1] in gone]
        for recorded, _, window_row in orphans:
            self._give_back(key, limit, now, Reservation(key, 0.0, window_row, recorded))
        if orphans:
            log.info("%s: gave back %d token(s) reserved by processes that ended while they waited", key, len(orphans))

    def _give_back(self, key: str, limit: RateLimit, now: float, reservation: Reservation | None) -> None:
        """A token to its bucket, and its moment out of the window: ``reservation``'s own, or (without one) the
        latest moment reserved."""
        self._bucket(key, limit, now, -1.0)
        if reservation is not None and reservation.recorded is not None:
            self._conn.execute("DELETE FROM rate_reservations WHERE id = ?", (reservation.recorded,))
        if limit.window is None:
            return
        if reservation is not None:
            if reservation.window_row is not None:
                self._conn.execute("DELETE FROM rate_windows WHERE rowid = ?", (reservation.window_row,))
            return
        self._conn.execute(
            "DELETE FROM rate_windows WHERE rowid = "
            "(SELECT rowid FROM rate_windows WHERE key = ? ORDER BY at DESC LIMIT 1)",
            (key,),
        )

    def acquire(self, key: str, limit: RateLimit) -> float:
        """Take a token and wait for it on the clock; return the seconds waited."""
        wait = self.reserve(key, limit)
        self.clock.sleep(wait)
        return wait

    def refund(self, key: str, limit: RateLimit, reservation: Reservation | None = None) -> None:
        """Give back a reserved token that was never used: the request did not reach the marketplace.
        ``reservation`` (from ``take``): that one, its moment in the window too; without it, the latest moment."""
        with self._transaction(key) as now:
            self._give_back(key, limit, now, reservation)

    def went(self, reservation: Reservation) -> None:
        """The request of ``reservation`` goes now: it is no longer a token someone waits for."""
        if reservation.recorded is None:
            return
        with self._transaction(reservation.key):
            self._conn.execute("DELETE FROM rate_reservations WHERE id = ?", (reservation.recorded,))

    def drain(self, key: str, limit: RateLimit) -> None:
        """The marketplace said the bucket is empty (a 429): believe it. Its window counted calls we cannot see
        (another tool of the seller's, say): the next call waits a whole window."""
        with self._transaction(key) as now:
            self._bucket(key, limit, now, 0.0, floor=0.0)
            if limit.window_calls is not None:
                self._conn.executemany(
                    "INSERT INTO rate_windows (key, at) VALUES (?, ?)", [(key, now)] * limit.window_calls
                )

    def wait_time(self, key: str, limit: RateLimit) -> float:
        """Seconds until a token would be there, without taking one: read without the write lock (the scheduler
        asks before every call, and a write transaction each time doubled the limiter's writes), except when
        something must be written first: a token of a process that died to give back, or the clock set back."""
        with self._lock:
            now = self.clock.time()
            latest, orphaned, stored, updated_at = self._reading(key)  # outside a transaction: one statement
            if (latest is None or now >= latest - CLOCK_STEP) and not orphaned:
                tokens = float(limit.burst)
                if stored is not None:
                    tokens = min(float(limit.burst), stored + max(0.0, now - updated_at) * limit.rate)
                return self._wait_for(key, limit, now, tokens)
        with self._transaction(key) as now:
            self._release_orphans(key, limit, now)
            return self._wait_for(key, limit, now, self._bucket(key, limit, now, 0.0))

    def _wait_for(self, key: str, limit: RateLimit, now: float, tokens: float) -> float:
        """Seconds from ``now`` until a token would be there, the bucket holding ``tokens``."""
        wait = 0.0 if tokens >= 1 else (1 - tokens + _MARGIN_TOKENS) / limit.rate + MARGIN_SECONDS
        if limit.window is None:
            return wait
        return self._window_room(key, limit, now + wait) - now
