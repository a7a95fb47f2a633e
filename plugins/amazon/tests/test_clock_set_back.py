"""Our clock is set back an hour while Amazon's is not (NTP correcting a clock that ran ahead): a feed waiting for
Amazon's window of 5 JSON_LISTINGS_FEED submissions in 5 minutes still goes when the window allows, not an hour
later, and the feeds Amazon is processing are still asked about every few seconds. Every request is checked
against Amazon's model."""

from __future__ import annotations

from datetime import UTC, datetime

import linkolis_amazon.stock
import pytest

from linkolis_host import stock
from linkolis_host.http import Deferred, deferring

HOUR = 3600.0


class AmazonsClock:
    """Amazon's clock: it runs on with ours, but nobody sets it back."""

    def __init__(self, ours) -> None:
        self.ours = ours
        self.offset = ours.time() - ours.monotonic()

    def time(self) -> float:
        return self.ours.monotonic() + self.offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), tz=UTC)

    def monotonic(self) -> float:
        return self.ours.monotonic()

    def sleep(self, seconds: float) -> None:
        self.ours.sleep(seconds)


@pytest.fixture
def amazons_clock(clock):
    return AmazonsClock(clock)


def processed(sim):
    """How many feeds Amazon has finished processing by now, by its own clock."""
    return sum(1 for feed in sim.feeds.feeds.values() if feed.end is not None and feed.end <= sim.clock.time())


def calls(sim, operation):
    return sim.counters_snapshot()["calls"].get(operation, 0)


def push_for_the_scheduler(host):
    """A push as `sync --watch` runs it: a wait for quota over a second hands the worker back (``Deferred``)."""
    with deferring(1.0):
        return stock.push_stock(host, "Amazon DE")


def test_a_clock_set_back_an_hour_holds_back_neither_a_feed_nor_its_outcomes(authorized, sim, host, clock, monkeypatch):
    monkeypatch.setattr(linkolis_amazon.stock, "FEED_MAX_MESSAGES", 2)
    host.env["LINKOLIS_AMAZON_FEED_THRESHOLD"] = "3"
    skus = [f"BULK-{n:03d}" for n in range(14)]
    for sku in skus:
        sim.add_listing(sku, ["DE"], quantity=1)
    for n, sku in enumerate(skus):
        stock.set_stock(host, sku, 40 + n)
    with pytest.raises(Deferred):
        push_for_the_scheduler(host)
    assert calls(sim, "createFeed") == 5  # the window is full for five minutes

    clock.step(-HOUR)

    with pytest.raises(Deferred) as deferred:
        push_for_the_scheduler(host)
    assert deferred.value.until - clock.time() == pytest.approx(302, abs=2), "the window, not an hour more"
    assert calls(sim, "getFeed") == 5, "the feeds in Amazon's queue are asked about as before"
    clock.advance(deferred.value.until - clock.time())
    accepted = push_for_the_scheduler(host)["accepted"]
    assert calls(sim, "createFeed") == 7
    assert accepted == 2 * processed(sim), "what Amazon processed meanwhile is collected, not an hour later"
    clock.advance(300)
    assert accepted + push_for_the_scheduler(host)["accepted"] == 14
    shown = sim.stock_truth()["A1SIMSELLER001"]
    assert [shown[sku]["A1PA6795UKMFR9"]["quantity"] for sku in skus] == [40 + n for n in range(14)]
    counters = sim.counters_snapshot()
    assert not any(counters["throttled"].values()) and counters["feed_type_throttled"] == 0
