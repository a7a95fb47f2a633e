"""The host imports the marketplace's orders: each once, kept up to date, nothing lost when a run dies."""

from __future__ import annotations

import pytest
from helpers import authorize_app, install_app, token_of

from linkolis_host import orders, store


def order_ids(run) -> list[str]:
    return sorted(o["marketplace_order_id"] for o in run.json("orders", "list", "--limit", "1000"))


def cursor(host):
    return orders.load_cursor(host, host.db.execute("SELECT id FROM apps").fetchone()[0])


def forget_cursor(host):
    """As if the marketplace sent everything again (an overlapping window)."""
    with host.db.atomic():
        host.db.execute("DELETE FROM sync_cursors")


def test_a_crash_mid_import_keeps_the_committed_batches_and_their_cursor(run, host, app, market):
    for n in range(1, 6):
        market.add_order(f"O-{n}", updated=n)
    market.fail_after_batches = 1
    with pytest.raises(RuntimeError, match="the process died"):
        orders.import_orders(host, app)
    assert order_ids(run) == ["O-1", "O-2"]
    assert cursor(host) == {"since": 2}

    market.fail_after_batches = None
    summary = run.json("orders", "import", app)
    assert (summary["new"], summary["updated"], summary["unchanged"]) == (3, 0, 0)
    assert order_ids(run) == sorted(market.orders)
    assert host.db["orders"].count == 5
    assert host.db["order_status_history"].count == 5
    assert cursor(host) == {"since": 5}


def test_importing_again_updates_the_order_and_appends_its_status_history(run, host, app, market):
    market.add_order("O-1", status="UNSHIPPED", updated=1)
    run("orders", "import", app)
    market.add_order("O-1", status="SHIPPED", updated=2)
    assert run.json("orders", "import", app)["updated"] == 1
    market.add_order("O-1", status="CANCELLED", updated=3)
    run("orders", "import", app)

    order = run.json("orders", "show", "O-1")
    assert order["status"] == "cancelled"
    assert [h["marketplace_status"] for h in order["history"]] == ["UNSHIPPED", "SHIPPED", "CANCELLED"]
    assert host.db["orders"].count == 1


def test_the_same_order_sent_again_is_neither_duplicated_nor_recorded_twice(run, host, app, market):
    market.add_order("O-1", updated=1, lines=2)
    market.add_order("O-2", updated=2)
    run("orders", "import", app)
    forget_cursor(host)
    summary = run.json("orders", "import", app)
    assert (summary["new"], summary["updated"], summary["unchanged"]) == (0, 0, 2)
    assert host.db["orders"].count == 2
    assert host.db["order_lines"].count == 3
    assert host.db["order_status_history"].count == 2


def test_an_older_view_of_an_order_never_overwrites_a_newer_one(run, host, app, market):
    market.add_order("O-1", status="SHIPPED", updated=5)
    run("orders", "import", app)
    forget_cursor(host)
    market.add_order("O-1", status="UNSHIPPED", updated=3)
    summary = run.json("orders", "import", app)
    assert (summary["updated"], summary["unchanged"]) == (0, 1)
    order = run.json("orders", "show", "O-1")
    assert (order["status"], order["marketplace_status"]) == ("shipped", "SHIPPED")
    assert [h["marketplace_status"] for h in order["history"]] == ["SHIPPED"]


def test_an_update_replaces_the_order_lines(run, app, market):
    market.add_order("O-1", updated=1, lines=3)
    run("orders", "import", app)
    market.add_order("O-1", updated=2, lines=1)
    run("orders", "import", app)
    order = run.json("orders", "show", "O-1")
    assert len(order["lines"]) == 1 and order["line_count"] == 1
    assert order["total"] == "9.99"


def test_import_json_is_a_summary_of_the_run(run, app, market):
    for n in range(1, 4):
        market.add_order(f"O-{n}", updated=n)
    result = run("orders", "import", app, "--json")
    summary = store.loads(result.stdout)
    assert set(summary) == {"app", "new", "updated", "unchanged", "batches", "seconds"}
    assert (summary["app"], summary["new"], summary["batches"]) == ("Shop EU", 3, 2)
    assert result.stderr == ""


def test_import_shows_progress_on_stderr_and_the_summary_on_stdout(run, app, market):
    for n in range(1, 4):
        market.add_order(f"O-{n}", updated=n)
    result = run("orders", "import", app)
    assert "Importing orders for Shop EU" in result.stderr
    assert "3 done" in result.stderr
    assert result.stdout.startswith("Shop EU: 3 new, 0 updated, 0 unchanged (2 batches")
    assert "Importing" not in result.stdout


def test_import_of_every_app_imports_each_authorized_one(run, app, market):
    install_app(run, "Shop US", "US")
    authorize_app(run, "Shop US", "SELLER2")
    market.add_order("O-1")
    results = run.json("orders", "import")
    assert sorted((r["app"], r["new"]) for r in results) == [("Shop EU", 1), ("Shop US", 1)]
    assert {o["app"] for o in run.json("orders", "list")} == {"Shop EU", "Shop US"}


def test_importing_an_app_that_is_not_authorized_is_a_clear_error(run, market):
    install_app(run, "Shop EU", "EU")
    market.add_order("O-1")
    result = run("orders", "import", "Shop EU", code=1)
    assert "'Shop EU' is not authorized yet: run `linkolis apps authorize 'Shop EU'`" in result.stderr
    result = run("orders", "import", code=1)
    assert "no authorized app" in result.stderr


def test_a_revoked_authorization_needs_attention_and_keeps_the_cursor(run, host, app, market):
    market.add_order("O-1", updated=1)
    market.add_order("O-2", updated=2)
    run("orders", "import", app)
    market.add_order("O-3", updated=3)
    market.revoked.add(token_of("SELLER1"))
    result = run("orders", "import", app, code=1)
    assert "authorization revoked — authorize again" in result.stderr
    assert run.json("apps", "show", app)["status"] == "needs attention: authorization revoked — authorize again"
    assert cursor(host) == {"since": 2}
    assert order_ids(run) == ["O-1", "O-2"]

    market.revoked.clear()
    authorize_app(run, app, "SELLER1")
    assert run.json("apps", "show", app)["status"] == "authorized"
    assert run.json("orders", "import", app)["new"] == 1


def test_orders_list_filters_by_app_and_status(run, app, market):
    market.add_order("O-1", status="SHIPPED", updated=1)
    market.add_order("O-2", status="UNSHIPPED", updated=2)
    run("orders", "import", app)
    assert [o["marketplace_order_id"] for o in run.json("orders", "list", "--status", "shipped")] == ["O-1"]
    assert len(run.json("orders", "list", "--app", "shop eu")) == 2
    result = run("orders", "show", "O-404", code=1)
    assert "no order 'O-404'" in result.stderr


def test_orders_are_listed_a_page_at_a_time_and_found_by_part_of_their_id(run, app, market):
    for n in range(1, 6):
        market.add_order(f"O-10{n}", updated=n)
    market.add_order("X-200", updated=6)
    run("orders", "import")
    everything = [o["marketplace_order_id"] for o in run.json("orders", "list")]
    first = [o["marketplace_order_id"] for o in run.json("orders", "list", "--limit", "2")]
    second = [o["marketplace_order_id"] for o in run.json("orders", "list", "--limit", "2", "--offset", "2")]
    assert first + second == everything[:4] and not set(first) & set(second)
    found = {o["marketplace_order_id"] for o in run.json("orders", "list", "--search", "O-10")}
    assert found == {f"O-10{n}" for n in range(1, 6)}
    assert run.json("orders", "list", "--search", "%") == [], "a LIKE wildcard is searched for as it is typed"


def test_a_batch_of_new_and_changed_orders_keeps_each_order_its_own_lines_and_history(host, app):
    """The new orders of a batch are inserted together (several statements past a few hundred): each still gets
    its own lines and status history, in the batch's order, beside an order of the same batch that changed."""
    from datetime import UTC, datetime, timedelta

    from linkolis_host import Order, OrderLine

    app_id = host.db.execute("SELECT id FROM apps WHERE name = ?", (app,)).fetchone()[0]
    placed = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def order(n: int, status: str, minutes: int) -> Order:
        return Order(
            marketplace_order_id=f"O-{n}",
            marketplace="EU",
            status=status,
            marketplace_status=status.capitalize(),
            fulfilled_by="merchant",
            created_at=placed + timedelta(seconds=n),
            updated_at=placed + timedelta(seconds=n, minutes=minutes),
            lines=[OrderLine(line_id=str(k), sku=f"SKU-{n}-{k}", quantity_ordered=1) for k in range(n % 3 + 1)],
        )

    with host.db.atomic():
        orders.store_orders(host, app_id, [order(0, "unshipped", 0)])
    batch = [order(n, "unshipped", 0) for n in range(1, 301)]
    batch.insert(150, order(0, "shipped", 5))
    with host.db.atomic():
        counts = orders.store_orders(host, app_id, batch)
    assert counts == {"new": 300, "updated": 1, "unchanged": 0}

    rows = host.db.execute("SELECT id, marketplace_order_id FROM orders ORDER BY id").fetchall()
    assert [ref for _, ref in rows] == [f"O-{n}" for n in range(301)]  # ids in the batch's order
    ids = dict((ref, oid) for oid, ref in rows)
    lines = host.db.execute("SELECT order_id, line_id, sku FROM order_lines").fetchall()
    assert sorted(lines) == sorted(
        (ids[f"O-{n}"], str(k), f"SKU-{n}-{k}") for n in range(301) for k in range(n % 3 + 1)
    )
    history = host.db.execute("SELECT order_id, marketplace_status FROM order_status_history ORDER BY id").fetchall()
    assert [h for h in history if h[0] == ids["O-0"]] == [(ids["O-0"], "Unshipped"), (ids["O-0"], "Shipped")]
    assert len(history) == 302
    reserving = host.db.execute("SELECT order_id, sku, reserved FROM line_stock").fetchall()
    assert sorted(reserving) == sorted(
        (ids[f"O-{n}"], f"SKU-{n}-{k}", 1) for n in range(1, 301) for k in range(n % 3 + 1)
    )
