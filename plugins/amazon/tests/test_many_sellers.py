"""Two sellers on one linkolis, each with an Amazon app: one connects with a backlog of 2,100 orders, more than
searchOrders' burst, so its import must wait three minutes for Amazon's quota; the other changes a stock level
meanwhile, and it reaches Amazon at once. Every request is checked against Amazon's model."""

from __future__ import annotations

import threading

import pytest

from linkolis_host import stock
from linkolis_host.apps import authorize_direct, install
from linkolis_host.scheduler import Scheduler
from linkolis_host.workspaces import add_workspace

BIG, SMALL = "A1SIMSELLER001", "A1SIMS00000002"


@pytest.fixture
def sim_options():
    return {"sellers": 2, "orders": 2100, "skus": 10, "marketplaces": ("DE", "FR"), "order_window_days": 30}


class SellersAt(Scheduler):
    """The scheduler, with the small seller changing a stock level once the big one's backlog is under way (in the
    scheduler's own flow: the virtual clock runs on), and stopping when both are done."""

    def __init__(self, host, sim, small_space, sku, **options):
        super().__init__(host, **options)
        self.sim, self.small_space, self.sku = sim, small_space, sku
        self.changed_at = self.sent_at = None
        self.big_done_at = None

    def _refresh(self):
        now = self.clock.time()
        held = self.host.db.execute(
            "SELECT COUNT(*) FROM orders o JOIN apps a ON a.id = o.app_id WHERE a.account_id = ?", (BIG,)
        ).fetchone()[0]
        if self.changed_at is None and held >= 1000:
            self.host.workspace_id = self.small_space
            stock.set_stock(self.host, self.sku, 7)
            self.host.workspace_id = None
            self.changed_at, self.held_when_changed = now, held
        shown = self.sim.stock_truth(SMALL)[SMALL][self.sku]
        if (
            self.sent_at is None
            and self.changed_at is not None
            and any(offer["pendingQuantity"] == 7 or offer["quantity"] == 7 for offer in shown.values())
        ):
            self.sent_at = now
        if self.big_done_at is None and held >= len(self.sim.orders_truth(BIG)):
            self.big_done_at = now
        if self.sent_at is not None and self.big_done_at is not None:
            self.stop.set()
        super()._refresh()


def test_a_seller_with_a_long_backlog_does_not_delay_another_sellers_stock_push(host, sim, clock):
    clock.advance(600)  # both connect ten minutes after their last order: the whole backlog is there to import
    host.env["LINKOLIS_AMAZON_FIRST_IMPORT_DAYS"] = "31"
    spaces = {}
    for seller, market in ((BIG, "DE"), (SMALL, "FR")):
        spaces[seller] = add_workspace(host, f"Seller {seller}").id
        host.workspace_id = spaces[seller]
        install(host, "amazon", {"name": f"Amazon {market}", "marketplace": market, "stock_sync": True})
        authorize_direct(
            host, f"Amazon {market}", {"refresh_token": sim.authorize(seller), "selling_partner_id": seller}
        )
    host.workspace_id = None
    # A SKU none of the small seller's orders holds: all 7 are offered.
    sku = sim.add_listing("NEW-MUG", ["FR"], quantity=1, seller_id=SMALL).sku
    started = clock.time()
    scheduler = SellersAt(host, sim, spaces[SMALL], sku, workers=1, interval=60, poll=1.0)
    runner = threading.Thread(target=scheduler.run, daemon=True)
    runner.start()
    runner.join(timeout=300)
    assert not runner.is_alive()
    # One worker: had the big backlog's quota wait held it, the change would have waited the three minutes.
    assert scheduler.sent_at - scheduler.changed_at <= 2.0
    assert scheduler.sent_at < scheduler.big_done_at
    # 21 pages: 20 from the burst, the last one when Amazon's quota gives the next token, 179 s later.
    assert 175 <= scheduler.big_done_at - started <= 185
    counters = sim.counters_snapshot()
    assert not sum(counters["throttled"].values())
