"""`sync --watch` pushes every second while a marketplace processes earlier quantities: a push with nothing new
must cost a few indexed reads, not the due query over every SKU, and must not bother the marketplace before
the plugin said its answer can be there. Whatever changed meanwhile (here or in another process) still goes."""

from __future__ import annotations

import contextlib

import pytest
import testmarket

from linkolis_host import stock
from linkolis_host.host import Host


@contextlib.contextmanager
def statements(host):
    seen: list[str] = []
    host.db.conn.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        host.db.conn.set_trace_callback(None)


def due_queries(seen: list[str]) -> int:
    return sum(1 for sql in seen if "LEFT JOIN stock_pushes" in sql)


def push_calls(market) -> int:
    return sum(1 for hook, _, _ in market.seen if hook == "push_stock")


def pending_push(run, host, market, skus=("SKU-A", "SKU-B")):
    market.check_again_in = 30.0
    for sku in skus:
        market.pending_once.add(sku)
        run("stock", "set", sku, "5")
    first = stock.push_stock(host, "Shop EU")
    assert first["pending"] == len(skus)


def test_a_push_with_nothing_new_skips_the_due_query_and_waits_for_the_plugins_moment(run, host, app, market, clock):
    pending_push(run, host, market)
    calls = push_calls(market)

    with statements(host) as seen:
        for _ in range(29):
            clock.advance(1)
            summary = stock.push_stock(host, "Shop EU")
            assert (summary["sent"], summary["pending_earlier"]) == (0, 2)

    assert due_queries(seen) == 0
    assert push_calls(market) == calls  # too early: the marketplace was not asked
    assert not any(sql.startswith(("INSERT", "UPDATE", "DELETE")) for sql in seen)  # an idle push writes nothing

    clock.advance(1)
    summary = stock.push_stock(host, "Shop EU")
    assert push_calls(market) == calls + 1 and summary["accepted"] == 2
    assert {r["sku"]: r["outcome"] for r in run.json("stock", "list")} == {"SKU-A": "accepted", "SKU-B": "accepted"}


def test_a_change_meanwhile_is_sent_at_once_even_from_another_process(run, host, home, clock, app, market):
    pending_push(run, host, market)
    other = Host(home, clock=clock, extra_plugins=[testmarket])
    try:
        stock.set_stock(other, "SKU-C", 9)
    finally:
        other.close()

    clock.advance(1)
    summary = stock.push_stock(host, "Shop EU")

    assert summary["sent"] == 1  # before the plugin's moment, because there is something new
    assert market.pushes[-1] == ("SKU-C", 9) and market.listings["SKU-C"] == 9


def test_a_push_interrupted_in_another_process_is_sent_again(run, host, home, clock, app, market):
    run("stock", "set", "SKU-A", "5")
    stock.push_stock(host, "Shop EU")
    run("stock", "set", "SKU-A", "6")
    other = Host(home, clock=clock, extra_plugins=[testmarket])
    try:
        other.db.execute("UPDATE stock_pushes SET outcome = 'sending', attempt_quantity = 6")  # killed mid-push
        other.db.conn.commit()
    finally:
        other.close()

    summary = stock.push_stock(host, "Shop EU")

    assert (summary["sent"], summary["accepted"]) == (1, 1)
    assert market.pushes == [("SKU-A", 5), ("SKU-A", 6)]


def test_a_quantity_set_back_to_what_was_sent_costs_one_due_query(run, host, app, market, clock):
    run("stock", "set", "SKU-A", "5")
    stock.push_stock(host, "Shop EU")
    run("stock", "set", "SKU-A", "5")  # no change, but a newer version

    with statements(host) as seen:
        for _ in range(5):
            clock.advance(1)
            assert stock.push_stock(host, "Shop EU")["sent"] == 0

    assert due_queries(seen) <= 2  # the check under the lock once; never again after
    assert market.pushes == [("SKU-A", 5)]


@pytest.mark.sqlite_only("watches the writes with a SQLite trigger")
def test_what_the_plugin_told_is_recorded_before_it_forgets_the_pending_push(run, host, clock, app, market):
    """The plugin yields the earlier pending push's outcome, then drops it from its state: a crash between the two
    must not leave the SKU pending forever, so when that write lands the outcome is already there."""
    pending_push(run, host, market, skus=("SKU-A",))
    host.db.execute("CREATE TEMP TABLE seen_at_write (outcome TEXT)")
    host.db.execute(
        "CREATE TEMP TRIGGER watch AFTER UPDATE ON plugin_state WHEN new.key = 'pending' BEGIN "
        "INSERT INTO seen_at_write SELECT outcome FROM stock_pushes WHERE sku = 'SKU-A'; END"
    )
    clock.advance(30)
    assert stock.push_stock(host, "Shop EU")["accepted"] == 1

    assert [r[0] for r in host.db.execute("SELECT outcome FROM seen_at_write")] == ["accepted"]


def test_a_clock_set_back_an_hour_does_not_put_off_the_plugins_moment(run, host, app, market, clock):
    """The marketplace's answer is due in 30 s when NTP sets the clock back an hour: it is asked for 30 s on all
    the same, not an hour and a half."""
    pending_push(run, host, market)
    calls = push_calls(market)
    clock.step(-3600)
    clock.advance(29)
    assert stock.push_stock(host, "Shop EU")["pending_earlier"] == 2
    assert push_calls(market) == calls  # too early still
    clock.advance(1)
    assert stock.push_stock(host, "Shop EU")["accepted"] == 2
