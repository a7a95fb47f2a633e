"""The seller sets stock levels; each app with stock sync on gets the latest one, once, and never a wrong one."""

from __future__ import annotations

import pytest
from helpers import dump_database

from linkolis_host import StockOutcome


def outcome_of(run, sku):
    return next(r for r in run.json("stock", "list") if r["sku"] == sku)


# -- what the seller may set ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "quantity, message",
    [
        ("-5", "-5 is negative: a stock level is 0 or more"),
        ("2.5", "'2.5' is not a whole number of items"),
        ("five", "'five' is not a whole number of items"),
        ("1000001", "1000001 is more than 1,000,000"),
    ],
)
def test_stock_set_refuses_what_cannot_be_a_stock_level(run, host, quantity, message):
    before = dump_database(host.db_path)
    result = run("stock", "set", "SKU-A", quantity, code=1)
    assert message in result.stderr
    assert dump_database(host.db_path) == before


def test_stock_set_takes_zero_and_the_largest_quantity(run):
    assert run.json("stock", "set", "SKU-A", "0") == {"sku": "SKU-A", "quantity": 0}
    assert run.json("stock", "set", "SKU-B", "1000000") == {"sku": "SKU-B", "quantity": 1000000}


def test_stock_load_reports_every_bad_line_and_applies_nothing(run, host, tmp_path):
    csv = tmp_path / "stock.csv"
    csv.write_text("sku,quantity\nSKU-A,5\nSKU-B,-1\nSKU-C,7\nSKU-D,lots\nSKU-A,6\nSKU-E\n", encoding="utf-8")
    result = run("stock", "load", str(csv), code=1)
    assert "4 bad rows, nothing was applied" in result.stderr
    assert "line 3: -1 is negative" in result.stderr
    assert "line 5: 'lots' is not a whole number" in result.stderr
    assert "line 6: SKU 'SKU-A' already given on line 2" in result.stderr
    assert "line 7: expected 2 columns" in result.stderr
    assert "line 2" not in result.stderr.replace("on line 2", "")
    assert host.db["desired_stock"].count == 0


def test_stock_load_records_every_row_of_a_good_file(run, tmp_path):
    csv = tmp_path / "stock.csv"
    csv.write_text("sku,quantity\nSKU-A,5\n\nSKU-B,0\n", encoding="utf-8")
    assert run.json("stock", "load", str(csv)) == {"loaded": 2}
    assert {r["sku"]: r["on_hand"] for r in run.json("stock", "list")} == {"SKU-A": 5, "SKU-B": 0}


def test_stock_load_needs_the_header(run, tmp_path):
    csv = tmp_path / "stock.csv"
    csv.write_text("SKU-A,5\n", encoding="utf-8")
    assert "the first line must be the header `sku,quantity`" in run("stock", "load", str(csv), code=1).stderr


# -- the outbox -------------------------------------------------------------------------------------------------


def test_changes_before_a_push_are_coalesced_into_one_push_of_the_latest(run, app, market):
    for quantity in ("5", "7", "3"):
        run("stock", "set", "SKU-A", quantity)
    summary = run.json("stock", "push")
    assert (summary["sent"], summary["accepted"]) == (1, 1)
    assert market.pushes == [("SKU-A", 3)]
    assert market.listings == {"SKU-A": 3}


def test_nothing_is_pushed_again_once_accepted(run, app, market):
    run("stock", "set", "SKU-A", "5")
    run("stock", "push")
    assert run.json("stock", "push")["sent"] == 0
    run("stock", "set", "SKU-A", "5")  # the same level again is no change
    assert run.json("stock", "push")["sent"] == 0
    assert market.pushes == [("SKU-A", 5)]


def test_a_newer_quantity_wins_over_a_pending_one(run, app, market):
    market.pending_once.add("SKU-A")
    run("stock", "set", "SKU-A", "5")
    assert run.json("stock", "push")["pending"] == 1
    run("stock", "set", "SKU-A", "8")
    summary = run.json("stock", "push")
    assert (summary["sent"], summary["accepted"]) == (1, 1)
    assert market.listings == {"SKU-A": 8}
    assert market.pushes == [("SKU-A", 5), ("SKU-A", 8)]
    row = outcome_of(run, "SKU-A")
    assert (row["pushed_quantity"], row["outcome"]) == (8, "accepted")


def test_a_late_outcome_about_an_older_quantity_is_ignored(run, app, market):
    run("stock", "set", "SKU-A", "5")
    run("stock", "push")
    run("stock", "set", "SKU-A", "8")
    market.late_outcomes.append(StockOutcome(sku="SKU-A", quantity=5, status="rejected", message="too late"))
    run("stock", "push")
    row = outcome_of(run, "SKU-A")
    assert (row["pushed_quantity"], row["outcome"], row["message"]) == (8, "accepted", "")


def test_a_rejected_push_is_not_repeated_until_the_quantity_changes(run, app, market):
    run("stock", "set", "BAD-1", "5")
    summary = run.json("stock", "push", code=1)  # a rejected SKU fails the push; --json still gives the summary
    assert (summary["sent"], summary["rejected"]) == (1, 1)
    row = outcome_of(run, "BAD-1")
    assert (row["outcome"], row["message"], row["pushed_quantity"]) == ("rejected", "unknown SKU", None)
    assert run.json("stock", "push")["sent"] == 0
    run("stock", "set", "BAD-1", "6")
    assert run.json("stock", "push", code=1)["sent"] == 1
    assert market.pushes == [("BAD-1", 5), ("BAD-1", 6)]


def test_a_rejection_retrying_can_cure_is_pushed_again(run, app, market):
    run("stock", "set", "FLAKY-1", "5")
    run("stock", "push", code=1)
    run("stock", "push", code=None)
    assert market.pushes == [("FLAKY-1", 5), ("FLAKY-1", 5)]


def test_a_pending_push_is_decided_by_a_later_push(run, app, market):
    market.pending_once.add("SKU-A")
    run("stock", "set", "SKU-A", "5")
    first = run.json("stock", "push")
    assert (first["sent"], first["pending"]) == (1, 1)
    row = outcome_of(run, "SKU-A")
    assert (row["outcome"], row["reference"], row["pushed_quantity"]) == ("pending", "job-1", None)
    later = run.json("stock", "push")
    assert (later["sent"], later["accepted"]) == (0, 1)
    row = outcome_of(run, "SKU-A")
    assert (row["outcome"], row["pushed_quantity"]) == ("accepted", 5)
    assert market.pushes == [("SKU-A", 5)]


def test_with_stock_sync_off_nothing_is_pushed(run, app, market):
    run("apps", "configure", app, "--no-stock-sync")
    run("stock", "set", "SKU-A", "5")
    assert "no authorized app has stock sync on" in run("stock", "push", code=1).stderr
    summary = run.json("stock", "push", app)
    assert summary["sent"] == 0 and "stock update sync is off" in summary["note"]
    run("sync")
    assert market.pushes == []


def test_stock_list_json_gives_desired_pushed_and_outcome_per_app(run, app, market):
    run("stock", "set", "SKU-A", "5")
    run("stock", "set", "BAD-1", "2")
    run("stock", "push", code=1)
    run("stock", "set", "SKU-A", "6")
    rows = {r["sku"]: r for r in run.json("stock", "list")}
    assert {k: rows["SKU-A"][k] for k in ("app", "on_hand", "pushed_quantity", "outcome")} == {
        "app": "Shop EU",
        "on_hand": 6,
        "pushed_quantity": 5,
        "outcome": "accepted",
    }
    assert (rows["BAD-1"]["outcome"], rows["BAD-1"]["message"]) == ("rejected", "unknown SKU")


def test_stock_list_before_any_app_has_stock_sync(run):
    run("stock", "set", "SKU-A", "5")
    assert run.json("stock", "list") == [
        {
            "app": None,
            "sku": "SKU-A",
            "on_hand": 5,
            "reserved": 0,
            "available": 5,
            "pushed_quantity": None,
            "outcome": "no app with stock sync",
        }
    ]


def test_a_dry_run_shows_current_to_would_send_and_writes_nothing(run, host, app, market):
    market.listings["SKU-A"] = 2
    run("stock", "set", "SKU-A", "5")
    run("stock", "set", "SKU-NEW", "1")
    before = dump_database(host.db_path)
    preview = run.json("stock", "push", "--dry-run")
    assert preview["due"] == 2
    assert [(p["sku"], p["current"], p["send"]) for p in preview["preview"]] == [("SKU-A", 2, 5), ("SKU-NEW", None, 1)]
    text = run("stock", "push", "--dry-run").stdout
    assert "SKU-A: 2 -> 5" in text and "SKU-NEW: ? -> 1" in text
    assert dump_database(host.db_path) == before
    assert market.pushes == [] and market.listings == {"SKU-A": 2}


def test_stock_verify_reports_drift_at_the_marketplace(run, app, market):
    run("stock", "set", "SKU-A", "5")
    run("stock", "set", "SKU-B", "4")
    run("stock", "push")
    report = run.json("stock", "verify")
    assert {e["sku"]: e["state"] for e in report["Shop EU"]} == {"SKU-A": "in sync", "SKU-B": "in sync"}
    market.listings["SKU-A"] = 7  # someone changed it in the marketplace's own back office
    report = run.json("stock", "verify", app, code=1)
    entry = next(e for e in report["Shop EU"] if e["sku"] == "SKU-A")
    assert (entry["state"], entry["available"], entry["pushed"], entry["shown"]) == ("drift", 5, 5, 7)
    assert "SKU-A\t5\t5\t7\tdrift\t-\n" in run("stock", "verify", code=1).stdout  # piped: sku, offered, pushed, shown


def test_a_quantity_the_marketplace_lowered_for_an_order_not_yet_imported_is_not_drift(run, app, market):
    run("stock", "set", "SKU-A", "5")
    run("stock", "push")
    market.listings["SKU-A"] = 3  # a buyer ordered 2: the marketplace lowered its own quantity at once
    report = run.json("stock", "verify", app)
    [entry] = report["Shop EU"]
    assert (entry["state"], entry["available"], entry["pushed"], entry["shown"]) == (
        "lowered by the marketplace",
        5,
        5,
        3,
    )


def test_stock_verify_tells_a_pending_push_from_drift(run, app, market):
    run("stock", "set", "SKU-A", "5")
    run("stock", "push")
    run("stock", "set", "SKU-A", "9")
    report = run.json("stock", "verify")
    assert report["Shop EU"][0]["state"] == "push pending"
