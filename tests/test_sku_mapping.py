"""Which SKUs belong to which app: a seller selling on two marketplaces pushes each only what it lists, and can
send a SKU to one marketplace under the reference that marketplace knows it by."""

from __future__ import annotations

import typing
from pathlib import Path

from helpers import authorize_app, install_app

from linkolis_host import StockOutcome


def rows_of(run, app):
    return {r["sku"]: r for r in run.json("stock", "list", "--app", app)}


def test_an_app_is_pushed_only_what_its_marketplace_lists(run, app, market):
    market.listed_only = {"SKU-A"}
    run("stock", "set", "SKU-A", "5")
    run("stock", "set", "AMZ-ONLY", "7")
    summary = run.json("stock", "push", app)
    assert (summary["accepted"], summary["rejected"], summary["not_listed"]) == (1, 0, 1)
    rows = rows_of(run, app)
    assert rows["SKU-A"]["outcome"] == "accepted"
    assert rows["AMZ-ONLY"]["outcome"] == "not listed here"
    assert "not listed here" in run("stock", "list").stdout

    # The seller's quantity changes, as it will every day: the marketplace that does not list it is not asked.
    run("stock", "set", "AMZ-ONLY", "6")
    market.pushes.clear()
    summary = run.json("stock", "push", app)
    assert summary["sent"] == 0 and market.pushes == []
    assert rows_of(run, app)["AMZ-ONLY"]["outcome"] == "not listed here"


def test_a_sku_listed_later_goes_out_once_the_listings_are_read_again(run, app, market):
    market.listed_only = {"SKU-A"}
    run("stock", "set", "NEW-1", "4")
    run("stock", "push", app)
    assert rows_of(run, app)["NEW-1"]["outcome"] == "not listed here"
    market.listed_only.add("NEW-1")  # the seller created the listing in the marketplace's back office
    run("stock", "push", app)
    assert rows_of(run, app)["NEW-1"]["outcome"] == "not listed here"  # nothing told the host yet
    run("stock", "verify", app)
    market.pushes.clear()
    summary = run.json("stock", "push", app)
    assert market.pushes == [("NEW-1", 4)] and summary["accepted"] == 1
    assert rows_of(run, app)["NEW-1"]["pushed_quantity"] == 4


def test_a_mapped_sku_goes_out_under_its_reference_and_its_outcome_lands_on_the_sellers_sku(run, app, market):
    market.listed_only = {"8712345678906"}
    run("stock", "set", "MUG-RED", "3")
    run("stock", "push", app)
    assert rows_of(run, app)["MUG-RED"]["outcome"] == "not listed here"

    mapped = run.json("stock", "map", "MUG-RED", "--app", app, "--reference", "8712345678906")
    assert mapped == {"app": app, "sku": "MUG-RED", "reference": "8712345678906"}
    market.pushes.clear()
    summary = run.json("stock", "push", app)
    assert market.pushes == [("8712345678906", 3)] and summary["accepted"] == 1
    row = rows_of(run, app)["MUG-RED"]
    assert (row["outcome"], row["pushed_quantity"], row["marketplace_reference"]) == ("accepted", 3, "8712345678906")
    assert "8712345678906" not in rows_of(run, app)  # the host keys it by the seller's SKU, never the reference
    assert "\tsent as 8712345678906" in run("stock", "list", "--app", app).stdout

    run("stock", "set", "MUG-RED", "2")
    market.pushes.clear()
    run("stock", "push", app)
    assert market.pushes == [("8712345678906", 2)]
    # verify reads the marketplace by the reference too, and reports on the seller's SKU
    report = run.json("stock", "verify", app)[app]
    assert [(e["sku"], e["state"]) for e in report] == [("MUG-RED", "in sync")]


def test_a_mapping_is_per_app(run, app, market):
    install_app(run, "Shop US", "US", "--stock-sync")
    authorize_app(run, "Shop US")
    run("stock", "set", "MUG-RED", "3")
    run("stock", "map", "MUG-RED", "--app", app, "--reference", "EAN-1")
    run("stock", "push", app, "Shop US")
    assert sorted(market.pushes) == [("EAN-1", 3), ("MUG-RED", 3)]
    assert rows_of(run, "Shop US")["MUG-RED"]["marketplace_reference"] is None


def test_unmap_sends_the_sku_under_its_own_name_again(run, app, market):
    run("stock", "set", "MUG-RED", "3")
    run("stock", "map", "MUG-RED", "--app", app, "--reference", "EAN-1")
    run("stock", "push", app)
    assert run.json("stock", "unmap", "MUG-RED", "--app", app)["was"] == "EAN-1"
    market.pushes.clear()
    run("stock", "push", app)
    assert market.pushes == [("MUG-RED", 3)]
    assert rows_of(run, app)["MUG-RED"]["marketplace_reference"] is None


def test_map_refuses_what_would_make_two_skus_one(run, app):
    run("stock", "set", "MUG-RED", "3")
    run("stock", "set", "MUG-BLUE", "1")
    run("stock", "map", "MUG-RED", "--app", app, "--reference", "EAN-1")
    result = run("stock", "map", "MUG-BLUE", "--app", app, "--reference", "EAN-1", code=1)
    assert "'EAN-1' is already the reference of SKU 'MUG-RED' for Shop EU" in result.stderr
    result = run("stock", "map", "MUG-BLUE", "--app", app, "--reference", "MUG-RED", code=1)
    assert "'MUG-RED' is another of your SKUs" in result.stderr
    result = run("stock", "unmap", "MUG-BLUE", "--app", app, code=1)
    assert "SKU 'MUG-BLUE' is not mapped for Shop EU" in result.stderr
    result = run("stock", "map", "MUG-BLUE", "--app", "No Such App", "--reference", "X", code=1)
    assert "Traceback" not in result.stderr and result.stderr.strip()


def test_removing_an_app_forgets_its_references(run, app, host):
    run("stock", "set", "MUG-RED", "3")
    run("stock", "map", "MUG-RED", "--app", app, "--reference", "EAN-1")
    run("apps", "remove", app, "--yes")
    assert host.db["sku_references"].count == 0


def test_every_stock_outcome_status_is_in_the_plugin_authors_doc():
    doc = (Path(__file__).resolve().parent.parent / "docs" / "plugin-hooks.md").read_text(encoding="utf-8")
    statuses = typing.get_args(StockOutcome.model_fields["status"].annotation)
    assert "not_listed" in statuses
    row = next(line for line in doc.splitlines() if line.startswith("| `StockOutcome` |"))
    for status in statuses:
        assert f"`{status}`" in row, status
