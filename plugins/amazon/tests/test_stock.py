"""The seller's stock reaches Amazon: a Listings PATCH for a few SKUs, one JSON_LISTINGS_FEED for many; the latest
quantity wins, nothing is lost to a crash, and nothing is sent that Amazon would refuse or that Amazon owns."""

from __future__ import annotations

import gzip
import json
from urllib.parse import unquote

import httpx
import pytest

from linkolis_host import apps, stock
from linkolis_host.context import Progress
from linkolis_host.host import Host

DE = "A1PA6795UKMFR9"
SELLER = "A1SIMSELLER001"


@pytest.fixture(autouse=True)
def never_throttled(sim):
    """Every story here runs without a single 429 from Amazon."""
    yield
    snap = sim.counters_snapshot()
    assert not any(snap["throttled"].values()), snap["throttled"]
    assert snap["feed_type_throttled"] == 0


def offer(sim, sku):
    return sim.stock_truth()[SELLER][sku][DE]


def shown(sim, sku):
    return offer(sim, sku)["quantity"]


def calls(sim, operation):
    return sim.counters_snapshot()["calls"].get(operation, 0)


def listings_calls(sim):
    return {op: n for op, n in sim.counters_snapshot()["calls"].items() if "Listings" in op or "Feed" in op}


def patches(wire):
    return [r for r in wire.requests if r.method == "PATCH"]


def pushed(run):
    return {r["sku"]: r for r in run.json("stock", "list")}


def feed_threshold(host, n):
    host.env["LINKOLIS_AMAZON_FEED_THRESHOLD"] = str(n)


def settle(clock, seconds=600):
    """Let Amazon finish: feeds processed, accepted changes visible."""
    clock.advance(seconds)


# -- one SKU, the Listings PATCH -------------------------------------------------------------------------------


def test_a_quantity_is_merged_into_the_merchant_channel_with_the_listings_real_product_type(
    run, authorized, sim, clock, wire
):
    sim.add_listing("MUG-01", ["DE"], quantity=30, product_type="KITCHEN")
    run("stock", "set", "MUG-01", "12")
    summary = run.json("stock", "push")
    assert (summary["sent"], summary["accepted"]) == (1, 1)
    [patch] = patches(wire)
    assert patch.url.raw_path.decode().split("?")[0] == f"/listings/2021-08-01/items/{SELLER}/MUG-01"
    assert patch.url.params["marketplaceIds"] == DE
    assert json.loads(patch.content) == {
        "productType": "KITCHEN",
        "patches": [
            {
                "op": "merge",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 12}],
            }
        ],
    }
    assert shown(sim, "MUG-01") == 12
    assert offer(sim, "MUG-01")["channels"] == ["DEFAULT"], "no second channel was added"


def test_the_product_type_is_read_once_and_a_second_push_asks_amazon_nothing_but_the_patch(run, authorized, sim):
    sim.add_listing("MUG-01", ["DE"], quantity=30, product_type="KITCHEN")
    before = calls(sim, "searchListingsItems")  # the authorization's proof of the seller id
    run("stock", "set", "MUG-01", "12")
    run("stock", "push")
    assert calls(sim, "searchListingsItems") == before + 1
    run("stock", "set", "MUG-01", "11")
    run("stock", "push")
    assert calls(sim, "searchListingsItems") == before + 1
    assert calls(sim, "patchListingsItem") == 2
    assert shown(sim, "MUG-01") == 11


def test_a_listing_without_a_summary_is_patched_with_the_generic_product_type(run, authorized, sim, wire):
    sim.add_listing("BARE-1", ["DE"], quantity=3)
    original = wire.handle_request

    def without_summaries(request):
        response = original(request)
        if request.method == "GET" and "/listings/" in request.url.path:
            body = json.loads(response.read())
            for item in body.get("items", []):
                item.pop("summaries", None)
            return httpx.Response(response.status_code, headers={"content-type": "application/json"}, json=body)
        return response

    wire.handle_request = without_summaries
    run("stock", "set", "BARE-1", "4")
    assert run.json("stock", "push")["accepted"] == 1
    assert json.loads(patches(wire)[0].content)["productType"] == "PRODUCT"
    assert shown(sim, "BARE-1") == 4


@pytest.mark.parametrize("sku", ["MUG 01", "MUG/01", "TASSE-GRÜN-ø", "A+B", "50%-OFF", "../items", "a?b#c"])
def test_awkward_skus_reach_their_own_listing(run, authorized, sim, wire, sku):
    sim.add_listing(sku, ["DE"], quantity=1)
    sim.add_listing("MUG", ["DE"], quantity=1)  # what a slash or a space cut short would hit
    run("stock", "set", sku, "9")
    assert run.json("stock", "push")["accepted"] == 1
    [patch] = patches(wire)
    raw = patch.url.raw_path.decode().split("?")[0]
    assert unquote(raw.rsplit("/", 1)[1]) == sku, "the SKU is one URL-encoded path segment"
    assert shown(sim, sku) == 9
    assert shown(sim, "MUG") == 1


def test_lead_time_to_ship_survives_a_quantity_push(run, authorized, sim):
    sim.add_listing("SOFA-3", ["DE"], quantity=2, lead_time_to_ship_max_days=14)
    run("stock", "set", "SOFA-3", "5")
    run("stock", "push")
    [channel] = offer(sim, "SOFA-3")["fulfillmentAvailability"]
    assert channel == {"fulfillment_channel_code": "DEFAULT", "quantity": 5, "lead_time_to_ship_max_days": 14}


def test_amazon_fulfilled_skus_are_skipped_with_the_reason_and_keep_amazons_quantity(run, authorized, sim):
    sim.add_listing("FBA-1", ["DE"], quantity=40, fba=True)
    before = calls(sim, "searchListingsItems")  # the authorization's proof of the seller id
    run("stock", "set", "FBA-1", "3")
    summary = run.json("stock", "push")
    assert summary["skipped"] == 1 and summary["accepted"] == 0
    assert calls(sim, "patchListingsItem") == 0
    assert shown(sim, "FBA-1") == 40
    assert "fulfilled by Amazon" in pushed(run)["FBA-1"]["message"]
    run.json("stock", "push")
    assert calls(sim, "searchListingsItems") == before + 1, "a skipped SKU is not looked at again"


def test_a_sku_amazon_does_not_list_is_not_listed_here_and_not_looked_up_again_until_verify(
    run, authorized, sim, clock
):
    run("stock", "set", "NO-SUCH-SKU", "4")
    summary = run.json("stock", "push")
    assert summary["rejected"] == 0 and summary["not_listed"] == 1
    unlisted = pushed(run)["NO-SUCH-SKU"]
    assert unlisted["outcome"] == "not listed here" and "no listing with this SKU" in unlisted["message"]
    assert calls(sim, "patchListingsItem") == 0
    searches = calls(sim, "searchListingsItems")
    clock.advance(60)
    run("stock", "set", "NO-SUCH-SKU", "3")  # sold on another marketplace: its quantity keeps changing
    assert run.json("stock", "push")["sent"] == 0
    assert calls(sim, "searchListingsItems") == searches
    sim.add_listing("NO-SUCH-SKU", ["DE"], quantity=0)  # the seller creates the listing, then reads them again
    run("stock", "verify", code=None)
    assert run.json("stock", "push")["accepted"] == 1
    assert shown(sim, "NO-SUCH-SKU") == 3


def test_a_mapped_sku_goes_to_amazon_under_the_sku_listed_there(run, authorized, sim):
    sim.add_listing("OLD-AMZ-SKU", ["DE"], quantity=0)
    run("stock", "set", "MUG-RED", "6")
    run("stock", "map", "MUG-RED", "--app", authorized, "--reference", "OLD-AMZ-SKU")
    assert run.json("stock", "push")["accepted"] == 1
    assert shown(sim, "OLD-AMZ-SKU") == 6
    assert pushed(run)["MUG-RED"]["pushed_quantity"] == 6


def test_a_product_type_amazon_rejects_comes_back_invalid_with_amazons_issue(run, authorized, sim, clock):
    sim.add_listing("ODD-1", ["DE"], quantity=2, product_type="home-decor")
    run("stock", "set", "ODD-1", "6")
    summary = run.json("stock", "push", code=1)
    assert summary["rejected"] == 1
    rejected = pushed(run)["ODD-1"]
    assert "4000003" in rejected["message"] and "product type" in rejected["message"]
    assert shown(sim, "ODD-1") == 2
    clock.advance(60)
    assert run.json("stock", "push")["sent"] == 0, "the same product type would be refused again"
    assert calls(sim, "patchListingsItem") == 1


def test_set_5_then_7_then_3_pushes_3_once(run, authorized, sim, wire):
    sim.add_listing("CUP-9", ["DE"], quantity=1)
    for quantity in ("5", "7", "3"):
        run("stock", "set", "CUP-9", quantity)
    run("stock", "push")
    [patch] = patches(wire)
    assert json.loads(patch.content)["patches"][0]["value"][0]["quantity"] == 3
    assert run.json("stock", "push")["sent"] == 0
    assert shown(sim, "CUP-9") == 3


def test_with_stock_sync_off_nothing_reaches_amazon(run, authorized, sim):
    sim.add_listing("CUP-9", ["DE"], quantity=1)
    run("apps", "configure", "Amazon DE", "--no-stock-sync")
    run("stock", "set", "CUP-9", "8")
    before = listings_calls(sim)
    result = run("stock", "push", code=1)
    assert "stock sync" in result.output
    assert "stock update sync is off" in run.json("stock", "push", "Amazon DE")["note"]
    run("sync")
    assert listings_calls(sim) == before
    assert shown(sim, "CUP-9") == 1


def test_dry_run_shows_amazons_quantity_and_the_one_to_send_and_writes_nothing(run, authorized, sim, host):
    sim.add_listing("CUP-9", ["DE"], quantity=1)
    sim.add_listing("FBA-1", ["DE"], quantity=40, fba=True)
    run("stock", "set", "CUP-9", "8")
    run("stock", "set", "FBA-1", "3")
    preview = {p["sku"]: p for p in run.json("stock", "push", "--dry-run")["preview"]}
    assert (preview["CUP-9"]["current"], preview["CUP-9"]["send"]) == (1, 8)
    assert "fulfilled by Amazon" in preview["FBA-1"]["note"]
    human = run("stock", "push", "--dry-run").stdout
    assert "CUP-9: 1 -> 8" in human
    assert calls(sim, "patchListingsItem") == 0
    assert host.db["stock_pushes"].count == 0
    assert shown(sim, "CUP-9") == 1
    assert run.json("stock", "push")["accepted"] == 1, "the real push still sends it"


def test_verify_tells_in_sync_from_drift_and_from_amazon_fulfilled(run, authorized, sim, clock):
    sim.add_listing("CUP-9", ["DE"], quantity=1)
    sim.add_listing("LAMP-2", ["DE"], quantity=1)
    sim.add_listing("FBA-1", ["DE"], quantity=40, fba=True)
    for sku, quantity in (("CUP-9", 8), ("LAMP-2", 4), ("FBA-1", 3)):
        run("stock", "set", sku, str(quantity))
    run("stock", "push")
    report = {e["sku"]: e for e in run.json("stock", "verify")["Amazon DE"]}
    assert report["CUP-9"]["state"] == report["LAMP-2"]["state"] == "in sync"
    assert report["FBA-1"]["state"] == "fulfilled by the marketplace"
    clock.advance(16 * 60)  # past the 15 minutes Amazon may take to show an accepted quantity
    sim.add_order([("LAMP-2", 3)], "DE")  # a sale linkolis has not imported yet: Amazon now shows 1
    report = {e["sku"]: e for e in run.json("stock", "verify")["Amazon DE"]}
    assert report["LAMP-2"]["state"] == "lowered by the marketplace" and report["LAMP-2"]["shown"] == 1
    assert report["CUP-9"]["state"] == "in sync"
    clock.advance(180)  # Amazon lists the order; once imported it reserves 3, and 1 is what Amazon shows
    run("orders", "import", "Amazon DE")
    run("stock", "push")
    report = {e["sku"]: e for e in run.json("stock", "verify")["Amazon DE"]}
    assert (report["LAMP-2"]["state"], report["LAMP-2"]["available"]) == ("in sync", 1)
    sim.listings.get(SELLER, "CUP-9").offers[DE].attrs["fulfillment_availability"][0]["quantity"] = 11
    report = {e["sku"]: e for e in run.json("stock", "verify", code=1)["Amazon DE"]}
    assert report["CUP-9"]["state"] == "drift", "more than was sent: changed in Seller Central"


# -- many SKUs, the JSON_LISTINGS_FEED -------------------------------------------------------------------------


def add_many(sim, count, prefix="BULK", quantity=1):
    skus = [f"{prefix}-{n:03d}" for n in range(count)]
    for sku in skus:
        sim.add_listing(sku, ["DE"], quantity=quantity)
    return skus


def set_many(host, quantities):
    for sku, quantity in quantities.items():
        stock.set_stock(host, sku, quantity)


def feed_requests(wire):
    return [r for r in wire.requests if "/feeds/" in r.url.path or "/s3/" in r.url.path]


def test_many_skus_go_in_one_feed_and_each_gets_its_own_outcome(run, authorized, sim, host, clock, wire):
    feed_threshold(host, 3)
    skus = add_many(sim, 6)
    sim.add_listing("BAD-TYPE", ["DE"], quantity=1, product_type="not-a-type")
    wanted = {sku: 10 + n for n, sku in enumerate(skus)} | {"BAD-TYPE": 7}
    set_many(host, wanted)
    summary = run.json("stock", "push")
    assert summary["pending"] == 7 and calls(sim, "patchListingsItem") == 0

    create_doc, upload, create_feed = feed_requests(wire)[:3]
    content_type = json.loads(create_doc.content)["contentType"]
    assert content_type == "application/json; charset=UTF-8"
    assert upload.method == "PUT" and upload.headers["content-type"] == content_type
    assert "x-amz-access-token" not in upload.headers, "a presigned URL carries no SP-API token"
    document = json.loads(upload.content)
    assert document["header"] == {"sellerId": SELLER, "version": "2.0", "issueLocale": "en_US"}
    assert {m["sku"]: m["patches"][0]["value"][0]["quantity"] for m in document["messages"]} == wanted
    assert all(m["operationType"] == "PATCH" and m["patches"][0]["op"] == "merge" for m in document["messages"])
    document_id = unquote(upload.url.path.rsplit("/", 1)[1])
    assert json.loads(create_feed.content) == {
        "feedType": "JSON_LISTINGS_FEED",
        "marketplaceIds": [DE],
        "inputFeedDocumentId": document_id,
    }

    settle(clock, 120)
    summary = run.json("stock", "push", code=1)
    assert (summary["accepted"], summary["rejected"]) == (6, 1)
    assert calls(sim, "getFeed") >= 1 and calls(sim, "getFeedDocument") == 1
    rows = pushed(run)
    assert {sku: rows[sku]["pushed_quantity"] for sku in skus} == {sku: wanted[sku] for sku in skus}
    assert rows["BAD-TYPE"]["outcome"] == "rejected" and "4000003" in rows["BAD-TYPE"]["message"]
    assert {sku: shown(sim, sku) for sku in skus} == {sku: wanted[sku] for sku in skus}
    assert shown(sim, "BAD-TYPE") == 1
    assert run.json("stock", "push")["sent"] == 0


@pytest.mark.parametrize("sim_options", [{"report_gzip_threshold": 200}])
def test_a_large_processing_report_comes_gzipped_and_its_issues_land_on_their_skus(run, authorized, sim, host, clock):
    feed_threshold(host, 3)
    skus = add_many(sim, 8)
    sim.add_listing("BAD-TYPE", ["DE"], quantity=1, product_type="not-a-type")
    set_many(host, {sku: 2 for sku in skus} | {"BAD-TYPE": 2})
    run("stock", "push")
    settle(clock, 120)
    summary = run.json("stock", "push", code=1)
    assert (summary["accepted"], summary["rejected"]) == (8, 1)
    assert "4000003" in pushed(run)["BAD-TYPE"]["message"]
    [report] = [d for d in sim.feeds.docs.values() if d.kind == "result"]
    assert report.compression == "GZIP" and json.loads(gzip.decompress(report.content))["issues"]


def test_seven_feeds_go_five_at_once_and_two_a_window_later_with_no_429(
    run, authorized, sim, host, clock, wire, monkeypatch
):
    """Amazon takes 5 JSON_LISTINGS_FEED submissions in any 5 minutes: the sixth waits for the window, not for a
    bucket that would space them two minutes apart."""
    import linkolis_amazon.stock

    monkeypatch.setattr(linkolis_amazon.stock, "FEED_MAX_MESSAGES", 2)
    feed_threshold(host, 3)
    skus = add_many(sim, 14)
    set_many(host, {sku: 30 + n for n, sku in enumerate(skus)})
    created = []
    original = wire.handle_request

    def note_feeds(request):
        if request.method == "POST" and request.url.path == "/feeds/2021-06-30/feeds":
            created.append(clock.time())
        return original(request)

    wire.handle_request = note_feeds
    assert run.json("stock", "push")["pending"] == 14
    first = created[0]
    assert [round(t - first) for t in created] == [0] * 5 + [302] * 2
    settle(clock, 900)
    assert run.json("stock", "push")["accepted"] == 14
    assert [shown(sim, s) for s in skus] == [30 + n for n in range(14)]


def test_under_the_scheduler_the_sixth_feed_gives_the_worker_back_and_goes_when_the_window_allows(
    authorized, sim, host, clock, monkeypatch
):
    import linkolis_amazon.stock

    from linkolis_host.http import Deferred, deferring

    monkeypatch.setattr(linkolis_amazon.stock, "FEED_MAX_MESSAGES", 2)
    feed_threshold(host, 3)
    skus = add_many(sim, 14)
    set_many(host, {sku: 40 + n for n, sku in enumerate(skus)})
    with deferring(1.0), pytest.raises(Deferred) as deferred:
        stock.push_stock(host, "Amazon DE")
    assert calls(sim, "createFeed") == 5
    app = apps.get(host, "Amazon DE")
    state = {k: v for k, v in host.db.execute("SELECT key, value FROM plugin_state WHERE app_id = ?", (app.id,))}
    assert "uploads" not in state, "the sixth feed's upload reached no createFeed: nothing to look for"
    assert deferred.value.until - clock.time() == pytest.approx(302, abs=1)
    clock.advance(deferred.value.until - clock.time())
    with deferring(1.0):
        accepted = stock.push_stock(host, "Amazon DE")["accepted"]  # the five feeds Amazon has finished meanwhile
    assert (calls(sim, "createFeed"), calls(sim, "getFeeds")) == (7, 0)
    settle(clock, 900)
    assert accepted + stock.push_stock(host, "Amazon DE")["accepted"] == 14
    assert [shown(sim, s) for s in skus] == [40 + n for n in range(14)]


def test_waiting_for_a_feed_never_blocks_the_push(run, authorized, sim, host, clock):
    feed_threshold(host, 3)
    skus = add_many(sim, 5)
    set_many(host, {sku: 4 for sku in skus})
    slept = clock.slept
    summary = run.json("stock", "push")
    assert summary["pending"] == 5
    assert clock.slept - slept < 5, "the push returned without waiting for Amazon to process the feed"
    assert {r["outcome"] for r in pushed(run).values()} == {"pending"}
    assert run.json("stock", "push")["accepted"] == 0, "still in Amazon's queue"
    settle(clock, 120)
    assert run.json("stock", "push")["accepted"] == 5
    assert {r["outcome"] for r in pushed(run).values()} == {"accepted"}


def test_a_fatal_feed_leaves_its_skus_to_be_pushed_again(run, authorized, sim, host, clock):
    feed_threshold(host, 3)
    skus = add_many(sim, 5)
    set_many(host, {sku: 6 for sku in skus})
    sim.faults.add("feed_fatal", "createFeed", count=1)
    run("stock", "push")
    settle(clock, 120)
    summary = run.json("stock", "push", code=1)
    assert summary["rejected"] == 5
    rows = pushed(run)
    assert all(rows[s]["outcome"] == "rejected" and "FATAL" in rows[s]["message"] for s in skus)
    assert {shown(sim, s) for s in skus} == {1}
    again = run.json("stock", "push")
    assert (again["sent"], again["pending"], again["rejected"]) == (5, 5, 0), (
        "pushed again, and the rejection told once"
    )
    settle(clock, 120)
    assert run.json("stock", "push")["accepted"] == 5
    assert {shown(sim, s) for s in skus} == {6}
    assert calls(sim, "createFeed") == 2


def test_an_expired_upload_url_is_a_clear_error_and_loses_nothing(run, authorized, sim, host, clock, wire):
    feed_threshold(host, 3)
    skus = add_many(sim, 5)
    set_many(host, {sku: 7 for sku in skus})
    original = wire.handle_request

    def slow_upload(request):
        if request.method == "PUT" and request.url.path.startswith("/s3/"):
            clock.advance(301)  # the upload URL lives five minutes
        return original(request)

    wire.handle_request = slow_upload
    result = run("stock", "push", code=1)
    assert "expired" in result.output
    assert calls(sim, "createFeed") == 0
    assert {r["outcome"] for r in pushed(run).values()} == {"not pushed"}, "a push that failed before any outcome"
    assert len(stock.stock_due(host, apps.get(host, "Amazon DE").id)) == 5, "every SKU is still due"
    wire.handle_request = original
    assert run.json("stock", "push")["pending"] == 5
    settle(clock, 120)
    assert run.json("stock", "push")["accepted"] == 5
    assert {shown(sim, s) for s in skus} == {7}


def test_a_newer_quantity_set_while_a_feed_is_pending_wins_over_the_feed(run, authorized, sim, host, clock):
    feed_threshold(host, 3)
    skus = add_many(sim, 5)
    set_many(host, {sku: 20 for sku in skus})
    run("stock", "push")  # a feed with 20 for every SKU, in Amazon's queue
    clock.advance(10)
    run("stock", "set", skus[0], "2")  # a sale: the newer quantity must not be undone by the feed
    run("stock", "push")
    waiting = pushed(run)[skus[0]]
    assert waiting["outcome"] == "pending" and "waits for feed" in waiting["message"]
    assert calls(sim, "patchListingsItem") == 0, "a patch now would land before the feed and be overwritten"
    for _ in range(30):
        clock.advance(10)
        run("stock", "push")
    rows = pushed(run)
    assert rows[skus[0]]["pushed_quantity"] == 2 and rows[skus[0]]["outcome"] == "accepted"
    assert [rows[s]["pushed_quantity"] for s in skus[1:]] == [20] * 4
    settle(clock)
    assert shown(sim, skus[0]) == 2
    assert [shown(sim, s) for s in skus[1:]] == [20] * 4


def test_a_quantity_held_behind_a_feed_is_replaced_by_a_newer_one_and_the_others_wait_as_they_were(
    run, authorized, sim, host, clock
):
    feed_threshold(host, 3)
    skus = add_many(sim, 6)
    set_many(host, {sku: 20 for sku in skus[:5]})
    run("stock", "push")  # a feed with 20 for five SKUs, in Amazon's queue
    clock.advance(10)
    run("stock", "set", skus[0], "2")
    run("stock", "set", skus[1], "4")
    run("stock", "push")  # both held behind the feed
    run("stock", "set", skus[0], "1")  # another sale before the feed is done: 1 replaces the held 2
    run("stock", "set", skus[5], "9")  # in no feed: goes at once
    run("stock", "push")
    rows = pushed(run)
    assert [rows[s]["outcome"] for s in skus[:2]] == ["pending", "pending"]
    assert "waits for feed" in rows[skus[0]]["message"] and rows[skus[0]]["on_hand"] == 1
    assert rows[skus[5]]["outcome"] == "accepted"
    for _ in range(30):
        clock.advance(10)
        run("stock", "push")
    settle(clock)
    assert [shown(sim, s) for s in skus] == [1, 4, 20, 20, 20, 9]


def test_an_app_moved_to_another_marketplace_sends_every_stock_level_there(run, authorized, sim, host, clock):
    from linkolis_host import orders

    skus = [f"PAN-{n}" for n in range(3)]
    for sku in skus:
        sim.add_listing(sku, ["DE", "FR"], quantity=1)
    set_many(host, dict.fromkeys(skus, 7))
    assert run.json("stock", "push")["accepted"] == 3
    run("orders", "import")
    app_id = apps.get(host, "Amazon DE").id
    assert orders.load_cursor(host, app_id) is not None

    moved = run("apps", "configure", "Amazon DE", "--marketplace", "FR").stdout
    assert "now covers A13V1IB3VIYZZH: every stock level is sent there on the next push" in moved
    counted = [r for r in pushed(run).values() if r["on_hand"] is not None]  # not those only orders reserve
    assert {(r["outcome"], r["pushed_quantity"]) for r in counted} == {("not pushed", None)}
    assert orders.load_cursor(host, app_id) is None, "the next import is a first one in France"

    summary = run.json("stock", "push")
    assert (summary["sent"], summary["accepted"]) == (3, 3)
    truth = sim.stock_truth()[SELLER]
    assert [truth[sku]["A13V1IB3VIYZZH"]["quantity"] for sku in skus] == [7, 7, 7]
    assert [truth[sku][DE]["quantity"] for sku in skus] == [7, 7, 7], "Germany keeps what it was sent"


class Killed(BaseException):
    """The process killed mid-push (what kill -9 leaves: no cleanup, no outcome recorded)."""


def test_a_crash_sending_a_quantity_that_waited_for_a_feed_sends_it_after_all(
    home, authorized, sim, host, clock, operator_env
):
    feed_threshold(host, 3)
    skus = add_many(sim, 5)
    set_many(host, {sku: 20 for sku in skus})
    assert stock.push_stock(host, "Amazon DE")["pending"] == 5  # a feed with 20 for every SKU
    clock.advance(10)
    stock.set_stock(host, skus[0], 2)  # a sale while the feed is in Amazon's queue: 2 waits for it
    assert stock.push_stock(host, "Amazon DE")["pending"] == 1
    settle(clock, 120)  # the feed is done: 2 can go now

    class DiesPatching(httpx.BaseTransport):
        def handle_request(self, request):
            if request.method == "PATCH":
                raise Killed()
            return sim.transport().handle_request(request)

    env = {**operator_env, "LINKOLIS_AMAZON_FEED_THRESHOLD": "3"}
    die_pushing(home, clock, DiesPatching(), env)

    rows = come_back_and_push(home, clock, sim.transport(), env, pushes=3)
    assert all_accepted(rows, {skus[0]: 2, **{s: 20 for s in skus[1:]}})
    settle(clock)
    assert shown(sim, skus[0]) == 2


def six_in_a_feed(host, sim, first_quantity):
    """Six listed SKUs with new quantities, more than a feed threshold of 3: they go by feed."""
    feed_threshold(host, 3)
    skus = add_many(sim, 6)
    desired = {sku: first_quantity + n for n, sku in enumerate(skus)}
    set_many(host, desired)
    return skus, desired


def die_pushing(home, clock, transport, env, progress=None):
    """A push in a process that dies on the way (``Killed``), leaving what kill -9 leaves: no commit, no cleanup."""
    dying = Host(home, clock=clock, transport=transport, env=env)
    with pytest.raises(Killed):
        stock.push_stock(dying, "Amazon DE", progress=progress)
    dying.db.conn.close()


def all_accepted(rows, desired):
    return {s: (rows[s]["outcome"], rows[s]["pushed_quantity"]) for s in desired} == {
        s: ("accepted", q) for s, q in desired.items()
    }


def sold_while_down_then_push(home, clock, transport, env, sku, desired):
    """linkolis comes back, the seller has sold ``sku`` down to 3 meanwhile, and it pushes for five minutes."""
    desired[sku] = 3
    return come_back_and_push(home, clock, transport, env, pushes=30, sold={sku: 3})


def come_back_and_push(home, clock, transport, env, pushes, sold=None):
    """linkolis starts again (``sold``: quantities set before anything else) and pushes every 10 s, ``pushes``
    times; the app's rows as `stock list` shows them."""
    survivor = Host(home, clock=clock, transport=transport, env=env)
    try:
        for sku, quantity in (sold or {}).items():
            stock.set_stock(survivor, sku, quantity)
        for _ in range(pushes):
            stock.push_stock(survivor, "Amazon DE")
            clock.advance(10)
        return {r["sku"]: r for r in stock.list_stock(survivor, "Amazon DE")}
    finally:
        survivor.close()


@pytest.mark.parametrize("sim_options", [{"listing_visibility_delay": 90}])
def test_a_crash_right_after_amazon_took_the_feed_ends_with_amazon_showing_the_desired_quantities(
    home, authorized, sim, host, clock, operator_env, wire
):
    skus, desired = six_in_a_feed(host, sim, first_quantity=30)
    inner = sim.transport()

    class DiesWithCreateFeedsAnswer(httpx.BaseTransport):
        def handle_request(self, request):
            response = inner.handle_request(request)
            if request.method == "POST" and request.url.path == "/feeds/2021-06-30/feeds":
                raise Killed()
            return response

    env = {**operator_env, "LINKOLIS_AMAZON_FEED_THRESHOLD": "3"}
    die_pushing(home, clock, DiesWithCreateFeedsAnswer(), env)
    assert calls(sim, "createFeed") == 1

    rows = come_back_and_push(home, clock, wire, env, pushes=30)
    assert calls(sim, "createFeed") == 1, "the feed Amazon took was found with getFeeds, not sent twice"
    assert calls(sim, "getFeeds") == 1
    assert all_accepted(rows, desired)
    settle(clock)
    assert {sku: shown(sim, sku) for sku in skus} == desired


def dies_on_create_feed(inner, after_amazon_answered):
    """A transport that kills the process at createFeed: once Amazon has made the feed, or before it sees it."""

    class Dies(httpx.BaseTransport):
        def handle_request(self, request):
            create_feed = request.method == "POST" and request.url.path == "/feeds/2021-06-30/feeds"
            if create_feed and not after_amazon_answered:
                raise Killed()
            response = inner.handle_request(request)
            if create_feed:
                raise Killed()
            return response

    return Dies()


def test_a_newer_quantity_after_a_crash_that_lost_create_feeds_answer_waits_for_the_feed_amazon_made(
    home, authorized, sim, host, clock, operator_env, wire
):
    skus, desired = six_in_a_feed(host, sim, first_quantity=30)
    die_pushing(
        home,
        clock,
        dies_on_create_feed(wire, after_amazon_answered=True),
        {**operator_env, "LINKOLIS_AMAZON_FEED_THRESHOLD": "3"},
    )
    assert calls(sim, "createFeed") == 1 and [f.status(clock.time()) for f in sim.feeds.feeds.values()] == ["IN_QUEUE"]

    # The default threshold: six SKUs go by patch, which Amazon applies at once, before the feed it has queued.
    rows = sold_while_down_then_push(home, clock, wire, operator_env, skus[0], desired)
    settle(clock)
    assert {sku: shown(sim, sku) for sku in skus} == desired, "the feed's older quantity must not land last"
    assert all_accepted(rows, desired)
    assert calls(sim, "createFeed") == 1 and calls(sim, "getFeeds") == 1
    assert calls(sim, "patchListingsItem") == 1, "only the newer quantity, after the feed"


def test_an_upload_whose_create_feed_never_reached_amazon_is_dropped_and_its_skus_sent_again(
    home, authorized, sim, host, clock, operator_env, wire
):
    skus, desired = six_in_a_feed(host, sim, first_quantity=50)
    env = {**operator_env, "LINKOLIS_AMAZON_FEED_THRESHOLD": "3"}
    die_pushing(home, clock, dies_on_create_feed(wire, after_amazon_answered=False), env)
    assert calls(sim, "createFeed") == 0

    survivor = Host(home, clock=clock, transport=wire, env=env)
    try:
        assert stock.push_stock(survivor, "Amazon DE")["pending"] == 6
        assert calls(sim, "getFeeds") == 1 and calls(sim, "createFeed") == 1
        settle(clock, 120)
        assert stock.push_stock(survivor, "Amazon DE")["accepted"] == 6
        rows = {r["sku"]: r for r in stock.list_stock(survivor, "Amazon DE")}
    finally:
        survivor.close()
    assert calls(sim, "getFeeds") == 1, "the upload was forgotten once Amazon had no feed of it"
    assert all_accepted(rows, desired)
    assert {sku: shown(sim, sku) for sku in skus} == desired


def test_another_tools_feed_found_after_a_crash_is_waited_for_but_its_report_is_not_taken_for_ours(
    home, authorized, sim, host, clock, operator_env, wire
):
    feed_threshold(host, 3)
    skus = add_many(sim, 6)
    other = add_many(sim, 2, prefix="OTHER")
    desired = {sku: 60 + n for n, sku in enumerate(skus)}
    set_many(host, desired)
    env = {**operator_env, "LINKOLIS_AMAZON_FEED_THRESHOLD": "3"}
    die_pushing(home, clock, dies_on_create_feed(wire, after_amazon_answered=False), env)
    clock.advance(5)
    another_tools_feed(sim, {sku: 9 for sku in other})  # Amazon names no input document: this one looks like ours

    survivor = Host(home, clock=clock, transport=wire, env=env)
    try:
        first = stock.push_stock(survivor, "Amazon DE")
        assert first["pending"] == 6 and calls(sim, "createFeed") == 1, "held behind the feed that may be ours"
        for _ in range(40):
            clock.advance(10)
            stock.push_stock(survivor, "Amazon DE")
        rows = {r["sku"]: r for r in stock.list_stock(survivor, "Amazon DE")}
    finally:
        survivor.close()
    assert calls(sim, "createFeed") == 2, "ours was sent once that feed's report showed it was not ours"
    assert all_accepted(rows, desired)
    assert {sku: shown(sim, sku) for sku in skus} == desired
    assert {sku: shown(sim, sku) for sku in other} == {sku: 9 for sku in other}


def another_tools_feed(sim, quantities):
    """A JSON_LISTINGS_FEED another program of the seller sends, with its own token."""
    client = sim.client()
    token = client.post(
        "/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": sim.authorize(SELLER),
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
        },
    ).json()["access_token"]
    headers = {"x-amz-access-token": token, "user-agent": "OtherTool/1.0"}
    content_type = "application/json; charset=UTF-8"
    document = client.post("/feeds/2021-06-30/documents", headers=headers, json={"contentType": content_type}).json()
    messages = [
        {
            "messageId": n,
            "sku": sku,
            "operationType": "PATCH",
            "productType": "HOME",
            "patches": [
                {
                    "op": "merge",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
                }
            ],
        }
        for n, (sku, quantity) in enumerate(quantities.items(), start=1)
    ]
    upload = client.put(
        document["url"],
        headers={"content-type": content_type},
        content=json.dumps({"header": {"sellerId": SELLER, "version": "2.0"}, "messages": messages}),
    )
    answer = client.post(
        "/feeds/2021-06-30/feeds",
        headers=headers,
        json={
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": [DE],
            "inputFeedDocumentId": document["feedDocumentId"],
        },
    )
    client.close()
    assert upload.status_code == 200 and answer.status_code == 202, answer.text


@pytest.mark.parametrize("sim_options", [{"listing_visibility_delay": 90}])
def test_a_crash_before_the_pending_feed_was_recorded_waits_for_that_feed_and_sends_a_newer_quantity_after_it(
    home, authorized, sim, host, clock, operator_env
):
    skus, desired = six_in_a_feed(host, sim, first_quantity=30)

    class DiesAfterTheFeedWasSent(Progress):
        def note(self, message):
            if "feed" in message:
                raise Killed()

    env = {**operator_env, "LINKOLIS_AMAZON_FEED_THRESHOLD": "3"}
    die_pushing(home, clock, sim.transport(), env, progress=DiesAfterTheFeedWasSent())

    rows = sold_while_down_then_push(home, clock, sim.transport(), env, skus[0], desired)
    assert calls(sim, "createFeed") == 1, "the feed Amazon has was collected, not sent twice"
    assert all_accepted(rows, desired)
    settle(clock)
    assert {sku: shown(sim, sku) for sku in skus} == desired


def test_a_crash_after_a_feed_was_collected_but_before_its_outcomes_were_recorded_still_decides_them(
    home, authorized, sim, host, clock, operator_env, monkeypatch
):
    skus, desired = six_in_a_feed(host, sim, first_quantity=40)
    env = {**operator_env, "LINKOLIS_AMAZON_FEED_THRESHOLD": "3"}
    assert stock.push_stock(host, "Amazon DE")["pending"] == 6
    settle(clock, 120)

    record = stock.record_outcomes

    def dies_before_the_last_write(h, app_id, outcomes, counts):
        if outcomes:
            raise Killed()  # the plugin has told the outcomes and forgotten the feed; the host never wrote them
        return record(h, app_id, outcomes, counts)

    monkeypatch.setattr(stock, "record_outcomes", dies_before_the_last_write)
    die_pushing(home, clock, sim.transport(), env)
    monkeypatch.setattr(stock, "record_outcomes", record)

    survivor = Host(home, clock=clock, transport=sim.transport(), env=env)
    try:
        assert stock.push_stock(survivor, "Amazon DE")["accepted"] == 6
        rows = {r["sku"]: r for r in stock.list_stock(survivor, "Amazon DE")}
    finally:
        survivor.close()
    assert all_accepted(rows, desired)
    assert calls(sim, "createFeed") == 1


def test_a_pending_feed_costs_each_push_a_few_small_reads_and_a_cold_push_few_commits(
    run, authorized, sim, host, clock
):
    """`sync --watch` pushes every second while Amazon processes a feed of up to 25,000 SKUs."""
    feed_threshold(host, 3)
    skus = add_many(sim, 60)
    set_many(host, {sku: 4 for sku in skus})
    seen: list[str] = []
    host.db.conn.set_trace_callback(seen.append)
    try:
        assert run.json("stock", "push")["pending"] == 60
        commits = sum(1 for sql in seen if sql == "COMMIT")
        assert commits < 20, "the listing facts of a cold push are written together, not one commit each"
        seen.clear()
        for polls in range(1, 300):  # noqa: B007 - read after the loop
            clock.advance(1)
            run("stock", "push")
            if not any(r["outcome"] == "pending" for r in pushed(run).values()):
                break
    finally:
        host.db.conn.set_trace_callback(None)

    assert {r["outcome"] for r in pushed(run).values()} == {"accepted"}
    reads_of_the_sku_list = [sql for sql in seen if "feed_skus:" in sql and sql.startswith("SELECT")]
    assert len(reads_of_the_sku_list) == 1, "read once, when the feed is done"
    assert not any("'listing:" in sql for sql in seen), "no listing fact is read while nothing is sent"
    assert calls(sim, "getFeed") * 3 < polls, "Amazon is asked when the feed is due, not on every push"
    hook_runs = sum(1 for sql in seen if sql.lower().startswith("update") and "last_push_at" in sql)
    assert hook_runs == calls(sim, "getFeed"), "a push before the feed's next check does not even start the plugin"


def test_outcomes_an_older_version_kept_to_tell_again_are_told_once_after_an_upgrade(run, authorized, sim, host, clock):
    """Versions before 2026-12 told a finished feed's outcomes twice, keeping them under "reported" in between;
    one that stopped there leaves that record, and the feed already forgotten."""
    from linkolis_host.context import StateStore

    feed_threshold(host, 3)
    skus = add_many(sim, 5)
    set_many(host, {sku: 8 for sku in skus})
    assert run.json("stock", "push")["pending"] == 5
    settle(clock, 120)
    state = StateStore(host.db, apps.get(host, "Amazon DE").id)
    feed_id = next(iter(state.get("feeds")))
    state.set("feeds", {})
    state.set("reported", [[sku, 8, "accepted", "", False, feed_id, ""] for sku in skus])

    assert run.json("stock", "push")["accepted"] == 5
    assert state.get("reported") is None
    assert run.json("stock", "push")["accepted"] == 0
    assert all_accepted(pushed(run), dict.fromkeys(skus, 8))
