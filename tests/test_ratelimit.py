"""Token buckets kept in the database: repeated commands and concurrent callers never burst past a quota."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading

import pytest

from linkolis_host import RateLimit, VirtualClock, store
from linkolis_host.ratelimit import MARGIN_SECONDS, RateLimiter

pytestmark = pytest.mark.sqlite_only(
    "drives the limiter on a SQLite file of its own (tests/test_postgres_store.py: on PostgreSQL)"
)

LIMIT = RateLimit(rate=2, burst=5)
KEY = "testmarket:SELLER1:getOrders"


@pytest.fixture
def db_path(home):
    home.mkdir(parents=True, exist_ok=True)
    path = home / "linkolis.db"
    store.connect(path).close()
    return path


def test_a_full_bucket_serves_the_burst_then_one_call_per_refill(db_path, clock):
    limiter = RateLimiter(db_path, clock)
    start = clock.time()
    waits = [limiter.acquire(KEY, LIMIT) for _ in range(25)]
    limiter.close()
    assert waits[:5] == [0.0] * 5
    assert clock.time() - start == pytest.approx((25 - 5) / LIMIT.rate, rel=0.01)


def test_two_commands_in_a_row_share_the_bucket(db_path, clock):
    start = clock.time()
    for _ in range(2):  # two commands, each with a limiter of its own on the same database
        limiter = RateLimiter(db_path, clock)
        for _ in range(10):
            limiter.acquire(KEY, LIMIT)
        limiter.close()
    assert clock.time() - start == pytest.approx((20 - 5) / LIMIT.rate, rel=0.01)


def test_the_second_command_waits_when_the_first_spent_the_burst(db_path, clock):
    first = RateLimiter(db_path, clock)
    for _ in range(5):
        assert first.acquire(KEY, LIMIT) == 0.0
    first.close()
    second = RateLimiter(db_path, clock)
    assert second.acquire(KEY, LIMIT) == pytest.approx(1 / LIMIT.rate + MARGIN_SECONDS, rel=0.01)
    second.close()


def test_an_idle_bucket_refills_to_its_burst_and_no_further(db_path, clock):
    limiter = RateLimiter(db_path, clock)
    for _ in range(5):
        limiter.acquire(KEY, LIMIT)
    clock.advance(3600)
    waits = [limiter.acquire(KEY, LIMIT) for _ in range(6)]
    limiter.close()
    assert waits[:5] == [0.0] * 5 and waits[5] > 0


def test_buckets_are_per_account_and_operation(db_path, clock):
    limiter = RateLimiter(db_path, clock)
    for _ in range(5):
        limiter.acquire(KEY, LIMIT)
    assert limiter.acquire("testmarket:SELLER2:getOrders", LIMIT) == 0.0
    assert limiter.acquire("testmarket:SELLER1:patchListingsItem", LIMIT) == 0.0
    limiter.close()


def test_concurrent_callers_never_exceed_the_quota(db_path):
    """Eight threads, each with its own connection (as separate processes would have), reserve 10 calls each
    while time stands still: every call gets its own slot, the n-th no earlier than (n + 1 - burst) / rate."""
    clock = VirtualClock(start=1_800_000_000)
    slots: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def caller():
        limiter = RateLimiter(db_path, clock)
        barrier.wait()
        for _ in range(10):
            wait = limiter.reserve(KEY, LIMIT)
            with lock:
                slots.append(wait)
        limiter.close()

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slots.sort()
    assert len(slots) == 80
    for n, wait in enumerate(slots):
        assert wait >= max(0.0, (n + 1 - LIMIT.burst) / LIMIT.rate), f"call {n} would burst past the quota"
    assert slots[-1] == pytest.approx((80 - LIMIT.burst) / LIMIT.rate, rel=0.01), "no slot is lost either"


# -- a quota counted in a window: Amazon's 5 JSON_LISTINGS_FEED submissions per 5 minutes ------------------------

FEEDS = RateLimit(rate=0.0083, burst=15, window_calls=5, window=300)
FEED_KEY = "amazon:SELLER1:createFeed"


def most_in_any_window(moments: list[float], window: float) -> int:
    """The most calls in any ``window`` seconds, counted as the marketplace does (a call ``window`` old is gone)."""
    return max(sum(1 for m in moments if start <= m < start + window) for start in moments)


def call_moments(limiter, clock, n: int, limit=FEEDS, key=FEED_KEY) -> list[float]:
    moments = []
    for _ in range(n):
        limiter.acquire(key, limit)
        moments.append(clock.time())
    return moments


def test_a_window_lets_its_calls_go_at_once_and_the_next_ones_a_window_later(db_path, clock):
    limiter = RateLimiter(db_path, clock)
    start = clock.time()
    moments = [m - start for m in call_moments(limiter, clock, 12)]
    limiter.close()
    assert moments[:5] == [0.0] * 5, "five at once: a token bucket of the same average would space them out"
    assert moments[5:10] == [pytest.approx(302.0)] * 5
    assert moments[10:] == [pytest.approx(604.0)] * 2
    assert most_in_any_window(moments, 300) == 5


def test_the_bucket_still_holds_where_it_is_the_stricter(db_path, clock):
    limiter = RateLimiter(db_path, clock)
    start = clock.time()
    moments = [m - start for m in call_moments(limiter, clock, 25)]
    limiter.close()
    assert most_in_any_window(moments, 300) == 5
    # 15 at once by the bucket are 5, 5 and 5 by the window; the bucket then refills at one call per 120 s
    assert moments[15] >= (16 - 15) / FEEDS.rate - 1e-6
    for n, moment in enumerate(moments):
        assert moment >= max(0.0, (n + 1 - FEEDS.burst) / FEEDS.rate) - 1e-6, f"call {n} bursts past the bucket"


def test_two_processes_share_the_window(db_path, clock):
    first = RateLimiter(db_path, clock)
    start = clock.time()
    moments = call_moments(first, clock, 3)
    first.close()
    second = RateLimiter(db_path, clock)
    moments += call_moments(second, clock, 4)
    second.close()
    assert [m - start for m in moments] == [0.0] * 5 + [pytest.approx(302.0)] * 2


def test_a_call_that_never_went_gives_its_place_in_the_window_back(db_path, clock):
    limiter = RateLimiter(db_path, clock)
    for _ in range(5):
        assert limiter.reserve(FEED_KEY, FEEDS) == 0.0
    assert limiter.reserve(FEED_KEY, FEEDS) > 300
    limiter.refund(FEED_KEY, FEEDS)  # the sixth never reached Amazon
    limiter.refund(FEED_KEY, FEEDS)  # nor the fifth
    assert limiter.reserve(FEED_KEY, FEEDS) == 0.0
    assert limiter.wait_time(FEED_KEY, FEEDS) == pytest.approx(302.0)
    limiter.close()


def test_a_call_stopped_while_it_waited_gives_back_its_own_place_in_the_window_not_a_later_calls(db_path, clock):
    limiter = RateLimiter(db_path, clock)
    waits = [limiter.reserve(FEED_KEY, FEEDS) for _ in range(5)]
    stopped = limiter.take(FEED_KEY, FEEDS)  # the seller stops this one while it waits
    waits += [limiter.reserve(FEED_KEY, FEEDS) for _ in range(4)]
    later = limiter.take(FEED_KEY, FEEDS)  # this one goes as planned
    assert waits == [0.0] * 5 + [pytest.approx(302.0)] * 4
    assert (stopped.wait, later.wait) == (pytest.approx(302.0), pytest.approx(604.0))
    limiter.refund(FEED_KEY, FEEDS, stopped)
    # The call still to go at 604 keeps its place: four more fit beside it, not five.
    assert [limiter.reserve(FEED_KEY, FEEDS) for _ in range(5)] == [pytest.approx(604.0)] * 4 + [pytest.approx(906.0)]
    limiter.close()


def test_a_429_fills_the_window_as_of_now(db_path, clock):
    limiter = RateLimiter(db_path, clock)
    limiter.acquire(FEED_KEY, FEEDS)
    clock.advance(100)
    limiter.drain(FEED_KEY, FEEDS)  # Amazon counted calls we did not make (another tool of the seller's)
    assert limiter.wait_time(FEED_KEY, FEEDS) == pytest.approx(302.0)
    limiter.close()


def test_a_window_needs_both_its_count_and_its_length():
    with pytest.raises(ValueError, match="go together"):
        RateLimit(rate=1, burst=5, window_calls=5)


# -- a clock set back ------------------------------------------------------------------------------------------

ORDERS = RateLimit(rate=1 / 180, burst=1)  # Amazon's searchOrders: a token every three minutes
ORDERS_KEY = "amazon:SELLER1:searchOrders"


def test_a_clock_set_back_an_hour_makes_no_wait_longer_than_the_quota_says(db_path, clock, caplog):
    """NTP sets the clock back an hour (it ran ahead): the calls made before count as made at the latest moment
    the quotas were read, so the next call waits at most what the quota says, not an hour more; two processes on
    one data directory move the stored times back once."""
    importer, pusher = RateLimiter(db_path, clock), RateLimiter(db_path, clock)  # two commands at once
    importer.acquire(ORDERS_KEY, ORDERS)  # the next searchOrders token comes in three minutes
    call_moments(pusher, clock, 5)  # five feeds: the window is full for five minutes
    clock.advance(170)
    clock.step(-3600)
    with caplog.at_level(logging.WARNING, logger="linkolis.ratelimit"):
        assert pusher.reserve(FEED_KEY, FEEDS) == pytest.approx(302)
        assert importer.reserve(FEED_KEY, FEEDS) == pytest.approx(302)  # the window as the pusher left it
        assert importer.reserve(ORDERS_KEY, ORDERS) == pytest.approx(180, abs=0.5)
    importer.close()
    pusher.close()
    assert [r.getMessage() for r in caplog.records] == [
        "the clock was set back 3430 s: the quotas' stored times are moved back as far"
    ]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_token_reserved_by_a_process_that_died_goes_back_even_once_another_has_its_pid(db_path, clock):
    """A process reserved searchOrders' next token and died waiting for it (kill -9, a power cut): the next caller
    gives that token back, whatever now runs under the dead one's pid (here: this very process)."""
    child = os.fork()
    if child == 0:  # the process that dies
        limiter = RateLimiter(db_path, clock)
        limiter.reserve(ORDERS_KEY, ORDERS)  # the token there was
        limiter.reserve(ORDERS_KEY, ORDERS)  # the next, in three minutes: it waits for it...
        os._exit(0)  # ...and is gone without a word
    os.waitpid(child, 0)
    with sqlite3.connect(db_path) as conn:  # its pid is given to another process
        assert conn.execute("UPDATE rate_reservations SET pid = ?", (os.getpid(),)).rowcount == 1
    conn.close()
    limiter = RateLimiter(db_path, clock)
    assert limiter.reserve(ORDERS_KEY, ORDERS) == pytest.approx(180, abs=0.5), "not six minutes"
    limiter.close()


def _reserve_in_a_process(db_path, start, calls, out):
    limiter = RateLimiter(db_path, VirtualClock(start=start))
    waits = []
    for _ in range(calls):
        limiter.wait_time(KEY, LIMIT)  # as the scheduler asks before each call
        reservation = limiter.take(KEY, LIMIT)
        limiter.went(reservation)  # as the HTTP client says once it sends: its token is spent, whatever happens
        waits.append(reservation.wait)
    limiter.close()
    out.put(waits)


def test_two_processes_never_overdraw_a_bucket_together(db_path):
    """Two processes on one data directory take 15 tokens each while time stands still: together they get the
    burst at once and every next call a refill later, never two calls on one token."""
    import multiprocessing

    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    processes = [spawn.Process(target=_reserve_in_a_process, args=(db_path, 1_800_000_000, 15, out)) for _ in range(2)]
    for p in processes:
        p.start()
    slots = sorted(out.get(timeout=60) + out.get(timeout=60))
    for p in processes:
        p.join(timeout=60)
    assert len(slots) == 30
    for n, wait in enumerate(slots):
        assert wait >= max(0.0, (n + 1 - LIMIT.burst) / LIMIT.rate), f"call {n} would overdraw the bucket"


def test_asking_how_long_to_wait_writes_nothing(db_path, clock):
    """The scheduler asks before every call: a read, not a write transaction (it doubled the limiter's writes)."""
    limiter = RateLimiter(db_path, clock)
    for _ in range(LIMIT.burst):
        limiter.reserve(KEY, LIMIT)
    statements: list[str] = []
    limiter._conn.set_trace_callback(statements.append)
    wait = limiter.wait_time(KEY, LIMIT)
    assert wait == pytest.approx(1 / LIMIT.rate + MARGIN_SECONDS, abs=0.01)
    assert not [s for s in statements if "IMMEDIATE" in s or s.lstrip().upper().startswith(("INSERT", "UPDATE"))]
    assert limiter.reserve(KEY, LIMIT) == pytest.approx(wait, abs=0.01), "the wait told is the wait given"
    limiter.close()
