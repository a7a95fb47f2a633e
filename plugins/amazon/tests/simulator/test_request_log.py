"""The request log (not Amazon): when each first page of searchOrders and each SKU's quantity arrived, for benches
on a real clock (``bench/many_apps.py``)."""

from __future__ import annotations

import gzip
import json

from sim_support import DE, SELLER, SpApi, feed_doc, make_sim, patch_msg, qty_patch, submit

ORDERS = "/orders/2026-01-01/orders"


def merchant_skus(sim) -> list[str]:
    return [s for s, per in sim.stock_truth(SELLER)[SELLER].items() if DE in per and per[DE]["fulfillment"] == "MFN"]


def test_the_log_notes_first_pages_patches_and_feeds_with_their_times(clock):
    sim = make_sim(clock, request_log=True)
    api = SpApi(sim)
    a, b, c = merchant_skus(sim)[:3]
    start = clock.time()
    search = {"lastUpdatedAfter": "2020-01-01T00:00:00Z", "maxResultsPerPage": 10}
    first = api.get(ORDERS, **search)
    assert first.status_code == 200 and first.json()["pagination"]["nextToken"]
    clock.advance(5)
    assert api.get(ORDERS, **search, paginationToken=first.json()["pagination"]["nextToken"]).status_code == 200
    clock.advance(5)
    assert api.patch(api.listing_path(a), qty_patch(7), marketplaceIds=DE).json()["status"] == "ACCEPTED"
    clock.advance(5)
    feed = json.dumps(feed_doc([patch_msg(1, b, 11), patch_msg(2, c, 22)])).encode()
    submit(api, gzip.compress(feed))
    entries = sim.request_log.since(0)["entries"]
    assert entries == [
        [start, "searchOrders", SELLER, None, None],  # the second page is the same import: not logged
        [start + 10, "patchListingsItem", SELLER, a, 7],
        [start + 15, "uploadFeedDocument", SELLER, b, 11],
        [start + 15, "uploadFeedDocument", SELLER, c, 22],
    ]
    assert sim.request_log.since(3) == {"entries": entries[3:], "next": 4}


def test_the_log_is_off_unless_asked_for_and_its_route_says_so(sim):
    api = SpApi(sim)
    assert api.patch(api.listing_path(merchant_skus(sim)[0]), qty_patch(7), marketplaceIds=DE).status_code == 200
    assert sim.request_log is None
    r = api.http.get("/_sim/requests")
    assert r.status_code == 400 and "--request-log" in r.text


def test_a_throttled_patch_is_not_logged(clock):
    sim = make_sim(clock, request_log=True)
    api = SpApi(sim)
    sku = merchant_skus(sim)[0]
    statuses = [api.patch(api.listing_path(sku), qty_patch(n), marketplaceIds=DE).status_code for n in range(12)]
    assert 429 in statuses
    r = api.http.get("/_sim/requests", params={"since": 0})
    assert r.status_code == 200
    logged = [e[4] for e in r.json()["entries"]]
    assert logged == [n for n, status in enumerate(statuses) if status == 200]
