"""Orders and stock as one loop, with the test market: what reserves and what does not, the rule for orders shipped
before the stock was counted, a mapped SKU, the scheduler waking every other app's push at once, `stock show`, and a
data directory from before reservations."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime

import pytest
import testmarket
from helpers import authorize_app, install_app

from linkolis_host import hookimpl, stock
from linkolis_host.host import Host
from linkolis_host.scheduler import Scheduler


def order(market, order_id, sku="MUG", qty=2, status="UNSHIPPED", updated=1, region=None, **details):
    market.add_order(order_id, status=status, updated=updated, region=region)
    market.details[order_id] = {"lines": [{"line_id": "1", "sku": sku, "quantity_ordered": qty}], **details}


def levels(run, sku="MUG"):
    rows = [r for r in run.json("stock", "list") if r["sku"] == sku]
    return (rows[0]["on_hand"], rows[0]["reserved"], {r["app"]: r["available"] for r in rows})


def test_open_orders_reserve_and_marketplace_fulfilled_ones_do_not(run, app, market):
    run("stock", "set", "MUG", "10")
    order(market, "O-1", qty=2)
    order(market, "O-2", qty=1, status="PENDING", updated=2)  # pending: the marketplace already took the unit
    order(market, "O-3", qty=4, updated=3, fulfilled_by="marketplace")  # in the marketplace's warehouse
    run("orders", "import", "Shop EU")
    assert levels(run) == (10, 3, {"Shop EU": 7})
    run("stock", "push")
    assert ("MUG", 7) in market.pushes


def test_orders_shipped_before_the_stock_was_counted_do_not_move_it_and_those_after_do(run, app, market, clock):
    run("stock", "set", "MUG", "10")  # counted now
    counted = clock.time()
    order(market, "OLD", qty=3, status="SHIPPED", updated=1)  # 2023: long before the count
    after = datetime.fromtimestamp(counted + 60, tz=UTC)
    order(market, "NEW", qty=2, status="SHIPPED", updated=2, updated_at=after)  # shipped from the marketplace's site
    clock.advance(120)
    run("orders", "import", "Shop EU")
    assert levels(run) == (8, 0, {"Shop EU": 8}), "only the order shipped after the count is taken off"
    shown = run.json("stock", "show", "MUG", "--no-read")
    assert [h["cause"] for h in shown["history"]] == ["shipped", "counted"]


def test_an_order_shipped_in_the_second_the_stock_was_counted_is_taken_off(run, app, market, clock):
    """Times are kept to the second, so "before the count" cannot be told from "just after" within one: the unit
    is taken off, as an oversold unit costs the seller more than one left unsold until the next count."""
    run("stock", "set", "MUG", "10")
    same_second = datetime.fromtimestamp(int(clock.time()), tz=UTC)
    order(market, "TIE", qty=2, status="SHIPPED", updated=1, updated_at=same_second)
    run("orders", "import", "Shop EU")
    assert levels(run) == (8, 0, {"Shop EU": 8})


def test_a_first_import_of_two_years_of_history_leaves_the_count_alone(run, app, market):
    run("stock", "set", "MUG", "10")
    for n in range(40):
        order(market, f"H-{n}", qty=1, status="SHIPPED" if n % 4 else "CANCELLED", updated=n + 1)
    run("orders", "import", "Shop EU")
    assert levels(run) == (10, 0, {"Shop EU": 10})
    assert run.json("stock", "show", "MUG", "--no-read")["history"][0]["cause"] == "counted"


def test_a_line_for_a_mapped_sku_reserves_the_sellers_sku(run, app, market):
    run("stock", "set", "MUG-RED", "6")
    run("stock", "map", "MUG-RED", "--app", "Shop EU", "--reference", "8712345678906")
    order(market, "O-1", sku="8712345678906", qty=2)
    run("orders", "import", "Shop EU")
    assert levels(run, "MUG-RED") == (6, 2, {"Shop EU": 4})
    assert "8712345678906" not in {r["sku"] for r in run.json("stock", "list")}


def test_a_sku_never_counted_is_reserved_but_offered_nowhere(run, app, market):
    order(market, "O-1", sku="NEW-MUG", qty=1)
    run("orders", "import", "Shop EU")
    [row] = run.json("stock", "list")
    assert (row["on_hand"], row["reserved"], row["available"], row["outcome"]) == (None, 1, None, "not counted")
    assert run.json("stock", "push")["sent"] == 0
    run("stock", "set", "NEW-MUG", "4")
    assert run.json("stock", "push")["sent"] == 1
    assert ("NEW-MUG", 3) in market.pushes


def test_stock_show_tells_why_it_is_what_it_is(run, app, market):
    run("stock", "set", "MUG", "5")
    order(market, "O-7", qty=2)
    run("orders", "import", "Shop EU")
    run("stock", "push")
    text = run("stock", "show", "MUG").stdout
    assert "MUG: 5 on hand" in text and "2 reserved, 3 available" in text
    assert "O-7" in text and "reserved by an order" in text and "counted" in text
    shown = run.json("stock", "show", "MUG")
    assert [(o["marketplace_order_id"], o["reserved"]) for o in shown["reserved_by"]] == [("O-7", 2)]
    [entry] = shown["apps"]
    assert (entry["app"], entry["available"], entry["pushed"], entry["shown"]) == ("Shop EU", 3, 3, 3)
    assert run("stock", "show", "NOPE", code=1).stderr.count("no SKU 'NOPE'") == 1


class OrderAt(Scheduler):
    """The scheduler; at ``order_at`` on its clock a buyer orders 2 mugs in the EU shop (in the scheduler's own flow:
    a change from another thread would race the virtual clock), and it stops some time later."""

    def __init__(self, host, market, order_at, stop_at, **options):
        super().__init__(host, **options)
        self.market, self.order_at, self.stop_at, self.ordered = market, order_at, stop_at, False

    def _refresh(self):
        now = self.clock.time()
        if not self.ordered and now >= self.order_at:
            order(self.market, "EU-1", qty=2, region="EU", updated=5)
            self.ordered = True
        if now >= self.stop_at:
            self.stop.set()
        super()._refresh()


def test_an_order_imported_from_one_app_wakes_every_other_apps_push_at_once(run, host, market, clock):
    install_app(run, "Shop EU", "EU", "--stock-sync")
    authorize_app(run, "Shop EU", account="SELLER-EU")
    install_app(run, "Shop US", "US", "--stock-sync")
    authorize_app(run, "Shop US", account="SELLER-US")
    run("stock", "set", "MUG", "5")
    start = clock.time()
    scheduler = OrderAt(host, market, start + 30, start + 200, workers=2, interval=60, poll=1.0)
    scheduler.run(threading.Event())
    events = list(scheduler.events)
    imported = next(
        at for at, app, stream, what in events if app == "Shop EU" and stream == "import" and at > start + 30
    )
    woken = [at for at, app, stream, _ in events if app == "Shop US" and stream == "push" and at >= imported]
    assert woken and woken[0] - imported <= 0.1, "the other app's push is woken at once, not a poll later"
    assert market.pushes.count(("MUG", 5)) == 2 and market.pushes.count(("MUG", 3)) == 2
    assert levels(run) == (5, 2, {"Shop EU": 3, "Shop US": 3})


@pytest.mark.sqlite_only("a SQLite database from an older version, migrated")
def test_a_data_directory_from_before_reservations_reserves_its_open_orders_and_resends_only_what_changed(
    run, app, market, home
):
    run("stock", "set", "MUG", "10")
    run("stock", "set", "CUP", "4")
    order(market, "O-1", qty=3)
    run("orders", "import", "Shop EU")
    run("stock", "push")
    run.host.close()
    _as_before_reservations(home / "linkolis.db")  # what an older linkolis left: desired 10 pushed as 10

    with Host(home, extra_plugins=[testmarket]) as upgraded:
        run.host = upgraded
        assert levels(run) == (10, 3, {"Shop EU": 7})
        assert levels(run, "CUP") == (4, 0, {"Shop EU": 4})
        market.pushes.clear()
        assert run.json("stock", "push")["sent"] == 1, "only MUG changed: CUP is right at the marketplace already"
        assert market.pushes == [("MUG", 7)]
        [line] = run.json("stock", "show", "MUG", "--no-read")["history"][:1]
        assert (line["cause"], line["reserved_change"]) == ("migrated", 3)


def _as_before_reservations(path):
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DROP TABLE line_stock")
        conn.execute("DROP TABLE stock_ledger")
        conn.execute("ALTER TABLE desired_stock DROP COLUMN reserved")
        conn.execute("ALTER TABLE desired_stock DROP COLUMN counted_at")
        conn.execute("UPDATE stock_pushes SET attempt_quantity = 10, pushed_quantity = 10 WHERE sku = 'MUG'")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm021_stock_loop'")
    conn.close()


class ChangeWhilePushing(Scheduler):
    """The scheduler; while the app's first push is running (it waits for ``release``), the seller changes a stock
    level and a wake sees it, then the push ends: it had read its due list before the change."""

    def __init__(self, host, observer, release, **options):
        super().__init__(host, **options)
        self.observer, self.release, self.changed_at = observer, release, None

    def _wake(self):
        pushing = any(stream == "push" for _, stream in self.running)
        if self.changed_at is None and pushing:
            stock.set_stock(self.observer, "SKU-7", 3)
            self.changed_at = self.clock.time()
            self._woke_at = None  # this wake runs now, while the push does
            super()._wake()
            self.release.set()
            return
        if self.changed_at is not None and self.clock.time() - self.changed_at > 120:
            self.stop.set()
        super()._wake()


def test_a_change_seen_while_the_apps_push_runs_is_pushed_when_that_push_ends_not_a_round_later(
    run, host, market, clock, monkeypatch
):
    release = threading.Event()
    original = testmarket.push_stock

    @hookimpl(specname="push_stock")
    def slow_first_push(ctx, items):
        release.wait(30)  # a safety net: the coordinator releases it
        yield from original(ctx, items)

    monkeypatch.setattr(testmarket, "push_stock", slow_first_push)  # before the host loads the plugin
    install_app(run, "Shop EU", "EU", "--stock-sync")
    authorize_app(run, "Shop EU")
    run("stock", "set", "SKU-7", "5")
    observer = Host(host.home, clock=clock, extra_plugins=[testmarket])
    try:
        scheduler = ChangeWhilePushing(host, observer, release, workers=2, interval=60, poll=1.0)
        scheduler.run(threading.Event())
    finally:
        observer.close()
    assert ("SKU-7", 3) in market.pushes
    events = list(scheduler.events)
    pushed_again = [at for at, _, stream, _ in events if stream == "push" and at >= scheduler.changed_at]
    assert len(pushed_again) >= 2 and pushed_again[1] - scheduler.changed_at <= 1.0, pushed_again
