"""What `stock verify` and `stock push` tell the seller beyond in sync and drift: a quantity the marketplace has
accepted but not published yet, a push it refused, SKUs still pending from an earlier push, and a push that could
not start, which leaves every SKU as it was."""

from __future__ import annotations

from linkolis_host import apps, stock


def entry(report, sku):
    return next(e for e in report["Shop EU"] if e["sku"] == sku)


def test_a_quantity_accepted_within_the_publication_delay_is_not_yet_visible_then_drift(run, app, market, clock):
    market.publication_delay = 900
    run("stock", "set", "SKU-A", "5")
    run("stock", "push")
    market.listings["SKU-A"] = 8  # the marketplace took 5 but still shows the old quantity
    assert entry(run.json("stock", "verify"), "SKU-A")["state"] == "accepted, not yet visible"
    assert "SKU-A\t5\t5\t8\taccepted, not yet visible\t-\n" in run("stock", "verify").stdout
    clock.advance(901)
    assert entry(run.json("stock", "verify", code=1), "SKU-A")["state"] == "drift"


def test_without_a_publication_delay_a_difference_is_drift_at_once(run, app, market):
    run("stock", "set", "SKU-A", "5")
    run("stock", "push")
    market.listings["SKU-A"] = 8
    assert entry(run.json("stock", "verify", code=1), "SKU-A")["state"] == "drift"


def test_a_sku_whose_last_push_was_rejected_is_shown_rejected_with_the_reason(run, app, market):
    market.listings["FLAKY-1"] = 2
    run("stock", "set", "FLAKY-1", "5")
    assert run.json("stock", "push", code=1)["rejected"] == 1
    report = run.json("stock", "verify", code=1)
    assert entry(report, "FLAKY-1")["state"] == "rejected: busy, try later"
    run("stock", "set", "FLAKY-1", "6")
    assert entry(run.json("stock", "verify"), "FLAKY-1")["state"] == "push pending", "a newer quantity is not sent yet"


def test_a_sku_pending_from_this_very_push_is_not_counted_as_pending_from_an_earlier_one(run, app, market):
    market.pending_once.add("SKU-P")
    run("stock", "set", "SKU-P", "4")
    summary = run.json("stock", "push")
    assert (summary["pending"], summary["pending_earlier"]) == (1, 0)
    assert "still pending" not in run("stock", "push").stdout


def test_a_push_that_fails_before_any_outcome_leaves_every_sku_as_it_was(run, app, market, host):
    run("stock", "set", "SKU-A", "5")
    run("stock", "push")
    run("stock", "set", "SKU-A", "7")
    run("stock", "set", "SKU-B", "3")
    market.revoked.add(next(iter(market.seen[-1][1].credentials.values())))
    result = run("stock", "push", code=1)
    assert "authorization revoked" in result.output
    rows = {r["sku"]: r for r in run.json("stock", "list")}
    assert (rows["SKU-A"]["outcome"], rows["SKU-A"]["pushed_quantity"], rows["SKU-A"]["attempt_quantity"]) == (
        "accepted",
        5,
        5,
    )
    assert rows["SKU-B"]["outcome"] == "not pushed"
    due = stock.stock_due(host, apps.get(host, "Shop EU").id)
    assert sorted(sku for sku, _, _ in due) == ["SKU-A", "SKU-B"]
