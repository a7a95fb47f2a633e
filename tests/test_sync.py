"""`linkolis sync`: import then push for every authorized app; one sync of an app at a time; --watch keeps up."""

from __future__ import annotations

import threading

import pytest
from helpers import authorize_app, install_app, token_of

from linkolis_host import apps, orders, stock
from linkolis_host.errors import Busy
from linkolis_host.locks import app_lock
from linkolis_host.scheduler import Scheduler, status


def test_sync_imports_then_pushes_for_every_authorized_app(run, app, market):
    install_app(run, "Shop US", "US")
    authorize_app(run, "Shop US", "SELLER2")
    install_app(run, "Shop FR", "EU", "--shop", "fr")  # installed, never authorized: not synced
    market.add_order("O-1")
    run("stock", "set", "SKU-A", "5")
    results = {r["app"]: r for r in run.json("sync")}
    assert sorted(results) == ["Shop EU", "Shop US"]
    assert results["Shop EU"]["import"]["new"] == 1 and results["Shop US"]["import"]["new"] == 1
    assert (results["Shop EU"]["push"]["sent"], results["Shop EU"]["push"]["accepted"]) == (1, 1)
    assert "stock update sync is off" in results["Shop US"]["push"]["note"]
    assert market.pushes == [("SKU-A", 5)]
    assert all(a["last_import_at"] for a in run.json("apps", "list") if a["name"] != "Shop FR")


def test_one_apps_failure_does_not_stop_the_others_but_fails_the_run(run, app, market):
    install_app(run, "Shop US", "US", "--stock-sync")
    authorize_app(run, "Shop US", "SELLER2")
    market.revoked.add(token_of("SELLER1"))
    market.add_order("O-1")
    results = {r["app"]: r for r in run.json("sync", code=1)}
    assert results["Shop EU"]["import"] == {"error": "authorization revoked — authorize again"}
    assert results["Shop US"]["import"]["new"] == 1
    assert run.json("apps", "show", "Shop EU")["status"].startswith("needs attention")


def test_sync_of_named_apps_only(run, app, market):
    install_app(run, "Shop US", "US")
    authorize_app(run, "Shop US", "SELLER2")
    market.add_order("O-1")
    assert [r["app"] for r in run.json("sync", "shop us")] == ["Shop US"]


def test_a_second_import_of_an_app_while_one_runs_is_refused(run, host, app, market):
    market.add_order("O-1")
    row = apps.get(host, app)
    with app_lock(host.home, row.id, row.name, "import", host.database):
        with pytest.raises(Busy, match="another import of 'Shop EU' is running"):
            orders.import_orders(host, app)
        result = run("orders", "import", app, code=1)
        assert "another import of 'Shop EU' is running (pid " in result.stderr
        assert "try again when it ends" in result.stderr
        run("stock", "set", "SKU-A", "5")
        run("stock", "push", app)  # pushes have a lock of their own: stock never waits for orders
    assert market.listings == {"SKU-A": 5}
    assert run.json("orders", "import", app)["new"] == 1


def test_a_second_push_of_an_app_while_one_runs_is_refused(run, host, app, market):
    run("stock", "set", "SKU-A", "5")
    row = apps.get(host, app)
    with app_lock(host.home, row.id, row.name, "push", host.database):
        assert "another push of 'Shop EU' is running" in run("stock", "push", code=1).stderr
    assert market.pushes == []


def test_the_watch_pushes_a_stock_change_within_a_poll_reports_it_and_stops_cleanly(host, app, market, clock):
    """``sync --watch``'s engine (the scheduler, on the virtual clock): the seller sets a level 5 s in, in the
    coordinator's own flow (a change from another thread would race a virtual clock that runs on)."""
    market.add_order("O-1")
    reports: list[str] = []
    start = clock.time()

    class SellerSetsStock(Scheduler):
        changed_at: float | None = None

        def _refresh(self):
            now = self.clock.time()
            if self.changed_at is None and now >= start + 5:
                stock.set_stock(host, "SKU-A", 7)
                self.changed_at = now
            if now >= start + 30:
                self.stop.set()
            super()._refresh()

    watcher_host = host.fork()
    scheduler = SellerSetsStock(watcher_host, interval=3600, poll=1.0, report=reports.append)
    try:
        scheduler.run(threading.Event())  # returns once stopped, its units ended and its state written
    finally:
        watcher_host.close()
    pushed = [t for t, name, stream, what in scheduler.events if (stream, what) == ("push", "done")]
    assert scheduler.changed_at is not None
    assert [t for t in pushed if t >= scheduler.changed_at][0] - scheduler.changed_at <= 1.0
    assert "Shop EU: 1 sent, 1 accepted, 0 rejected, 0 pending" in reports
    assert "Shop EU: 1 new, 0 updated orders" in reports
    assert market.pushes == [("SKU-A", 7)]
    assert {u["state"] for u in status(host)["units"]} == {"stopped"}


@pytest.mark.sqlite_only("SQLite's BEGIN IMMEDIATE and busy timeout (on PostgreSQL: test_postgres_store)")
def test_a_write_that_reads_first_is_not_undone_by_another_connections_write(host, app):
    """sync --watch imports and pushes on two connections: a transaction that reads, then writes, must hold the
    write lock from its start, so that the other connection waits for it rather than making it fail."""
    import sqlite3

    twin = host.fork()
    try:
        twin.db.execute("PRAGMA busy_timeout=50")
        with host.db.atomic():
            host.db.execute("SELECT COUNT(*) FROM desired_stock").fetchone()
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                stock.set_stock(twin, "SKU-A", 1)  # it waits for us (50 ms here), and gives up
            stock.set_stock(host, "SKU-B", 2)
        stock.set_stock(twin, "SKU-A", 1)
        assert [r[0] for r in host.db.execute("SELECT sku FROM desired_stock ORDER BY sku")] == ["SKU-A", "SKU-B"]
    finally:
        twin.close()
