"""The seller learns when Amazon took a quantity for a listing nobody can buy (suppressed, removed), when a
quantity is accepted but not showing yet, and when a push was refused: none of them passes for "accepted" or
for drift."""

from __future__ import annotations

import json

import pytest

from linkolis_host import stock

DE = "A1PA6795UKMFR9"
SELLER = "A1SIMSELLER001"
FIX = "Seller Central (Inventory → Fix your listings)"


def rows(run):
    return {r["sku"]: r for r in run.json("stock", "list")}


def verify(run, code=0):
    result = run("stock", "verify", "--json", code=code)
    return {e["sku"]: e for e in json.loads(result.stdout)["Amazon DE"]}


def health(run):
    return {c["name"]: c for c in run.json("apps", "verify", "Amazon DE")["checks"]}


def test_a_quantity_accepted_for_a_suppressed_listing_says_so_in_stock_list_and_apps_verify(run, authorized, sim):
    sim.add_listing("MUG-1", ["DE"], quantity=1)
    sim.add_listing("LAMP-1", ["DE"], quantity=1)
    sim.suppress_listing("MUG-1", "LISTING_SUPPRESSED")
    run("stock", "set", "MUG-1", "6")
    run("stock", "set", "LAMP-1", "2")
    assert run.json("stock", "push")["accepted"] == 2
    listed = rows(run)
    assert listed["MUG-1"]["outcome"] == "accepted"
    assert "suppressed this listing (not buyable)" in listed["MUG-1"]["warning"] and FIX in listed["MUG-1"]["warning"]
    assert "18155" in listed["MUG-1"]["warning"]
    assert listed["LAMP-1"]["warning"] == ""
    assert "warning: Amazon suppressed this listing" in run("stock", "list").stdout
    check = health(run)["listing health"]
    assert check["status"] == "warning" and check["detail"].startswith("1 listing suppressed")
    assert "MUG-1" in check["detail"]
    assert FIX in check["remedy"]
    assert "Module correctly installed" in run("apps", "verify", "Amazon DE").stdout, "a warning is not a failure"


def test_a_removed_catalog_item_found_by_stock_verify_is_named_and_clears_once_fixed(run, authorized, sim, clock):
    sim.add_listing("MUG-1", ["DE"], quantity=1)
    run("stock", "set", "MUG-1", "6")
    run("stock", "push")
    assert "listing health" not in health(run)
    sim.suppress_listing("MUG-1", "CATALOG_ITEM_REMOVED")
    entry = verify(run)["MUG-1"]
    assert entry["state"] == "in sync" and "removed the catalog item" in entry["warning"]
    assert "\tin sync\tAmazon removed the catalog item" in run("stock", "verify").stdout  # piped: the warning column
    assert health(run)["listing health"]["status"] == "warning"
    sim.fix_listing("MUG-1")
    assert verify(run)["MUG-1"]["warning"] == ""
    assert "listing health" not in health(run)


def test_a_listing_suppressed_after_it_was_read_is_noticed_on_a_later_days_push(run, authorized, sim, clock):
    sim.add_listing("MUG-1", ["DE"], quantity=1)
    run("stock", "set", "MUG-1", "6")
    run("stock", "push")
    sim.suppress_listing("MUG-1", "SEARCH_SUPPRESSED")
    clock.advance(86400 + 1)
    run("stock", "set", "MUG-1", "4")
    run("stock", "push")
    assert "hides this listing from search" in rows(run)["MUG-1"]["warning"]


def test_apps_verify_counts_every_suppressed_listing_it_has_seen(run, authorized, sim, host):
    sim_truth = sim.stock_truth()[SELLER]
    merchant = [sku for sku, per in sim_truth.items() if DE in per and per[DE]["fulfillment"] == "MFN"]
    for sku in merchant[:3]:
        sim.suppress_listing(sku, "LISTING_SUPPRESSED")
    for sku in merchant[:5]:
        stock.set_stock(host, sku, 3)
    run("stock", "push")
    assert health(run)["listing health"]["detail"].startswith("3 listings suppressed")


@pytest.mark.parametrize("sim_options", [{"listing_visibility_delay": 300}])
def test_a_quantity_accepted_minutes_ago_is_not_yet_visible_rather_than_drift(run, authorized, sim, clock):
    sim.add_listing("MUG-1", ["DE"], quantity=1)
    run("stock", "set", "MUG-1", "6")
    run("stock", "push")
    entry = verify(run)["MUG-1"]
    assert (entry["state"], entry["shown"]) == ("accepted, not yet visible", 1)
    clock.advance(301)
    assert verify(run)["MUG-1"]["state"] == "in sync"


@pytest.mark.parametrize("sim_options", [{"listing_visibility_delay": 1200}])
def test_a_quantity_still_not_showing_after_amazons_fifteen_minutes_is_drift(run, authorized, sim, clock):
    # The old quantity is higher: a lower one would read as "lowered by the marketplace", as an order placed and
    # not yet imported lowers it (stock verify cannot tell the two apart; the next import does).
    sim.add_listing("MUG-1", ["DE"], quantity=9)
    run("stock", "set", "MUG-1", "6")
    run("stock", "push")
    clock.advance(16 * 60)
    assert verify(run, code=1)["MUG-1"]["state"] == "drift"


def test_a_refused_push_is_shown_as_rejected_with_amazons_reason(run, authorized, sim):
    sim.add_listing("ODD-1", ["DE"], quantity=2, product_type="home-decor")
    run("stock", "set", "ODD-1", "6")
    run("stock", "push", code=1)
    entry = verify(run, code=1)["ODD-1"]
    assert entry["state"].startswith("rejected: 4000003: The Amazon product type")
    assert "ODD-1\t6\t-\t2\trejected: 4000003" in run("stock", "verify", code=1).stdout


def test_a_product_type_amazon_changed_is_refused_once_then_read_again_and_pushed(run, authorized, sim, clock):
    sim.add_listing("MUG-1", ["DE"], quantity=1, product_type="KITCHEN")
    run("stock", "set", "MUG-1", "6")
    run("stock", "push")
    sim.listings.get(SELLER, "MUG-1").product_type = "HOME"  # Amazon re-classified the item
    run("stock", "set", "MUG-1", "4")
    summary = run.json("stock", "push", code=1)
    assert summary["rejected"] == 1 and "4000003" in rows(run)["MUG-1"]["message"]
    assert run.json("stock", "push")["accepted"] == 1, "the product type is read again and the retry goes"
    clock.advance(60)
    assert sim.stock_truth()[SELLER]["MUG-1"][DE]["quantity"] == 4


def test_stock_push_counts_skus_still_pending_in_an_earlier_feed(run, authorized, sim, host):
    host.env["LINKOLIS_AMAZON_FEED_THRESHOLD"] = "3"
    for n in range(6):
        sim.add_listing(f"BULK-{n}", ["DE"], quantity=1)
        stock.set_stock(host, f"BULK-{n}", 8)
    assert run.json("stock", "push")["pending"] == 6
    sim.add_listing("MUG-1", ["DE"], quantity=1)
    run("stock", "set", "MUG-1", "2")
    summary = run.json("stock", "push")
    assert (summary["sent"], summary["accepted"], summary["pending_earlier"]) == (1, 1, 6)
    run("stock", "set", "MUG-1", "3")
    assert "6 still pending from an earlier push" in run("stock", "push").stdout
