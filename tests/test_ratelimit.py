"""Token buckets kept in the database: repeated commands and concurrent callers never burst past a quota."""

from __future__ import annotations

import threading

import pytest

from linkolis_host import RateLimit, VirtualClock, store
from linkolis_host.ratelimit import RateLimiter

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
    assert second.acquire(KEY, LIMIT) == pytest.approx(1 / LIMIT.rate, rel=0.01)
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
