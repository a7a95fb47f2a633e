"""Amazon's answer arrives cut off, or not at all: the push says so clearly, loses nothing, sends the rest, and a
push that cannot even start leaves every SKU as it was."""

from __future__ import annotations

import pytest

from linkolis_host import apps, stock

DE = "A1PA6795UKMFR9"
SELLER = "A1SIMSELLER001"


def shown(sim, sku):
    return sim.stock_truth()[SELLER][sku][DE]["quantity"]


def calls(sim, operation):
    return sim.counters_snapshot()["calls"].get(operation, 0)


def rows(run):
    return {r["sku"]: r for r in run.json("stock", "list")}


def three_mugs(run, sim, quantity=5):
    for sku in ("MUG-1", "MUG-2", "MUG-3"):
        sim.add_listing(sku, ["DE"], quantity=1)
        run("stock", "set", sku, str(quantity))


def test_a_cut_off_patch_answer_fails_that_sku_retryably_and_the_others_still_go(run, authorized, sim):
    three_mugs(run, sim)
    sim.faults.add("malformed_json", "patchListingsItem", count=1)
    summary = run.json("stock", "push", code=1)
    assert (summary["accepted"], summary["rejected"]) == (2, 1)
    [garbled] = [r for r in rows(run).values() if r["outcome"] == "rejected"]
    assert "cut off or is not JSON" in garbled["message"] and "patchListingsItem" in garbled["message"]
    assert "Traceback" not in run("stock", "list").output
    again = run.json("stock", "push")
    assert (again["sent"], again["accepted"]) == (1, 1), "the garbled one is sent again, the others are not"
    assert {shown(sim, s) for s in ("MUG-1", "MUG-2", "MUG-3")} == {5}


def test_a_cut_off_token_answer_is_asked_for_again_and_the_push_goes_through(run, authorized, sim):
    three_mugs(run, sim)
    sim.faults.add("malformed_json", "lwaToken", count=1)
    assert run.json("stock", "push")["accepted"] == 3
    assert sim.counters_snapshot()["faults"]["malformed_json"] == 1


def test_listings_that_stay_unreadable_are_rejected_retryably_with_the_reason(run, authorized, sim):
    three_mugs(run, sim)
    sim.faults.add("malformed_json", "searchListingsItems", count=3)  # every attempt of the one search
    summary = run.json("stock", "push", code=1)
    assert summary["rejected"] == 3 and calls(sim, "patchListingsItem") == 0
    assert all("could not be read" in r["message"] and "cut off" in r["message"] for r in rows(run).values())
    assert run.json("stock", "push")["accepted"] == 3
    assert shown(sim, "MUG-2") == 5


@pytest.mark.parametrize("sim_options", [{}, {"report_gzip_threshold": 1}], ids=["plain", "gzipped"])
def test_a_cut_off_processing_report_keeps_the_feed_pending_until_it_can_be_read(
    run, authorized, sim, host, clock, sim_options
):
    host.env["LINKOLIS_AMAZON_FEED_THRESHOLD"] = "3"
    skus = [f"BULK-{n}" for n in range(6)]
    for sku in skus:
        sim.add_listing(sku, ["DE"], quantity=1)
        stock.set_stock(host, sku, 9)
    assert run.json("stock", "push")["pending"] == 6
    clock.advance(600)
    sim.faults.add("malformed_json", "downloadDocument", count=1)
    summary = run.json("stock", "push")
    assert (summary["accepted"], summary["pending_earlier"]) == (0, 6)
    assert {r["outcome"] for r in rows(run).values()} == {"pending"}
    clock.advance(60)
    assert run.json("stock", "push")["accepted"] == 6
    assert {shown(sim, s) for s in skus} == {9}


def test_a_cut_off_create_feed_answer_is_found_again_and_not_sent_twice(run, authorized, sim, host, clock):
    host.env["LINKOLIS_AMAZON_FEED_THRESHOLD"] = "3"
    skus = [f"BULK-{n}" for n in range(6)]
    for sku in skus:
        sim.add_listing(sku, ["DE"], quantity=1)
        stock.set_stock(host, sku, 4)
    sim.faults.add("malformed_json", "createFeed", count=1)
    summary = run.json("stock", "push", code=1)
    assert summary["rejected"] == 6
    assert all("createFeed" in r["message"] for r in rows(run).values())
    assert run.json("stock", "push")["pending"] == 6, "the feed Amazon made of the upload is waited for"
    clock.advance(600)
    assert run.json("stock", "push")["accepted"] == 6
    assert calls(sim, "createFeed") == 1
    assert {shown(sim, s) for s in skus} == {4}


def test_a_push_whose_token_refresh_fails_leaves_every_sku_as_it_was(run, authorized, sim, host, clock):
    sim.add_listing("MUG-1", ["DE"], quantity=1)
    sim.add_listing("MUG-2", ["DE"], quantity=1)
    run("stock", "set", "MUG-1", "5")
    run.json("stock", "push")
    before = rows(run)
    clock.advance(3700)  # the cached access token has expired: the push must refresh it first
    run("stock", "set", "MUG-1", "7")
    run("stock", "set", "MUG-2", "3")
    sim.faults.add("revoke_refresh_token", "lwaToken", count=1)
    result = run("stock", "push", code=1)
    assert "authorization revoked" in result.output and "Traceback" not in result.output
    after = rows(run)
    assert after["MUG-1"]["outcome"] == before["MUG-1"]["outcome"] == "accepted"
    assert after["MUG-1"]["pushed_quantity"] == after["MUG-1"]["attempt_quantity"] == 5
    assert after["MUG-2"]["outcome"] == "not pushed", "nothing is marked as being sent"
    app = apps.get(host, "Amazon DE")
    assert sorted(s for s, _, _ in stock.stock_due(host, app.id)) == ["MUG-1", "MUG-2"]
    run("apps", "authorize", "Amazon DE")
    assert run.json("stock", "push")["accepted"] == 2
    assert (shown(sim, "MUG-1"), shown(sim, "MUG-2")) == (7, 3)


def test_a_push_cut_short_by_a_dead_connection_keeps_what_amazon_already_accepted(run, authorized, sim):
    three_mugs(run, sim)
    sim.faults.add("drop", "patchListingsItem", after=1)  # the first patch answers, then the line is dead
    result = run("stock", "push", code=1)
    assert "no answer" in result.output and "Traceback" not in result.output
    listed = rows(run)
    assert sorted(r["outcome"] for r in listed.values()) == ["accepted", "sending", "sending"]
    sim.faults.clear()
    assert run.json("stock", "push")["sent"] == 2, "only the two whose outcome never came are sent again"
