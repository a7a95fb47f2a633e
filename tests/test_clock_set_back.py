"""The machine's clock is set back an hour while `sync --watch` runs (NTP correcting a clock that ran ahead, a VM
resumed from a snapshot): stock changes still reach the marketplace and shipments are still confirmed within
seconds, and `sync status` shows when each unit is next due by the clock as it is now.

The scheduler runs on a virtual clock; the seller acts in the scheduler's own flow (a change from another thread
would race a virtual clock that runs on)."""

from __future__ import annotations

import threading
from datetime import datetime

import testmarket

from linkolis_host import scheduler, shipments, stock
from linkolis_host.host import Host
from linkolis_host.scheduler import Scheduler

HOUR = 3600.0


class SetBack(Scheduler):
    """The scheduler, with the clock set back an hour half a minute into the run; five seconds later the seller
    changes a stock level and ships an order. It stops once both reached the marketplace, or ten minutes on."""

    def __init__(self, host, observer, **options):
        super().__init__(host, **options)
        self.observer = observer
        self.started = self.clock.monotonic()
        self.set_back_at = self.changed_at = None  # monotonic
        self.changed_wall = self.events_before = None

    def _refresh(self):
        now = self.clock.monotonic()
        if self.set_back_at is None and now >= self.started + 30:
            self.clock.step(-HOUR)
            self.set_back_at = now
        elif self.set_back_at is not None and self.changed_at is None and now >= self.set_back_at + 5:
            stock.set_stock(self.observer, "SKU-7", 3)
            shipments.ship_order(self.observer, "A-1", carrier="DHL", tracking="JJD0001")
            self.changed_at, self.changed_wall, self.events_before = now, self.clock.time(), len(self.events)
        market = testmarket.MARKET
        if self.changed_at is not None and (
            (("SKU-7", 3) in market.pushes and ("A-1", "1") in market.shipments) or now > self.changed_at + 600
        ):
            self.stop.set()
        super()._refresh()


def test_a_clock_set_back_an_hour_still_pushes_stock_and_confirms_shipments_within_seconds(host, market, clock, app):
    market.add_order("A-1")  # imported in the first round, shipped after the clock was set back
    observer = Host(host.home, clock=clock, extra_plugins=[testmarket])
    sync = SetBack(host, observer, workers=2, interval=HOUR, poll=1.0)
    try:
        runner = threading.Thread(target=sync.run, daemon=True)
        runner.start()
        runner.join(timeout=120)
        assert not runner.is_alive()
        units = {(u["app"], u["stream"]): u for u in scheduler.status(observer)["units"]}
    finally:
        observer.close()

    assert sync.changed_at is not None, "the seller never got to change anything"
    assert ("SKU-7", 3) in market.pushes, "the stock change never reached the marketplace"
    assert market.shipments[("A-1", "1")].tracking_number == "JJD0001", "the shipment was never confirmed"
    since = list(sync.events)[sync.events_before :]
    pushed = [at for at, name, stream, what in since if (name, stream, what) == ("Shop EU", "push", "done")]
    assert pushed and pushed[0] - sync.changed_wall <= 2.0  # at the next poll
    # The next import is due an hour after the first, by the clock as it reads now: not two hours on.
    next_import = datetime.fromisoformat(units[("Shop EU", "import")]["due_at"]).timestamp()
    assert 0 < next_import - clock.time() <= HOUR
