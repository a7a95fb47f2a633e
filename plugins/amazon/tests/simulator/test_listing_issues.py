"""Listings with issues, as Amazon serves them: suppressed listings lose BUYABLE (hidden ones DISCOVERABLE), their
issues carry Amazon's enforcements, and a patch or feed message with another listing's product type is INVALID."""

from __future__ import annotations

import gzip
import json

import pytest
from sim_support import DE, FEEDS, SELLER, feed_doc, finish, make_sim, patch_msg, qty_patch, report, submit
from sim_support import SpApi as Client

ALL = "summaries,issues,fulfillmentAvailability"


def item(api, sku, conforms):
    r = conforms(api.get(api.listing_path(sku), marketplaceIds=DE, includedData=ALL))
    assert r.status_code == 200, r.text
    return r.json()


def actions(body) -> set[str]:
    return {a["action"] for i in body["issues"] for a in i["enforcements"]["actions"]}


def test_no_listing_has_issues_unless_seeded_so(sim, api, conforms):
    r = conforms(api.get(f"/listings/2021-08-01/items/{SELLER}", marketplaceIds=DE, includedData=ALL, pageSize=20))
    assert all(i["issues"] == [] for i in r.json()["items"])


def test_seeded_suppressed_listings_come_with_enforced_issues_and_lose_buyable(clock, conforms):
    sim = make_sim(clock, suppressed_listings=3)
    api = Client(sim)
    r = conforms(
        api.get(
            f"/listings/2021-08-01/items/{SELLER}",
            marketplaceIds=DE,
            includedData=ALL,
            withIssueSeverity="ERROR",
            pageSize=20,
        )
    )
    items = {i["sku"]: i for i in r.json()["items"]}
    assert 1 <= len(items) <= 3, "only suppressed listings have ERROR issues (some may not be offered in DE)"
    for body in items.values():
        [issue] = body["issues"]
        assert issue["severity"] == "ERROR" and issue["enforcements"]["exemption"] == {"status": "NOT_EXEMPT"}
        assert DE in issue["marketplaceIds"]
        status = body["summaries"][0]["status"]
        enforced = actions(body)
        assert ("BUYABLE" in status) is not bool(enforced & {"LISTING_SUPPRESSED", "CATALOG_ITEM_REMOVED"})
        assert ("DISCOVERABLE" in status) is not bool(enforced & {"SEARCH_SUPPRESSED", "CATALOG_ITEM_REMOVED"})
    same_without = make_sim(clock)
    assert same_without.stock_truth() == sim.stock_truth(), "seeding suppressions changes nothing else"


def test_a_listing_suppressed_through_the_admin_api_shows_it_until_fixed(sim, api, conforms):
    sim.add_listing("LAMP-1", ["DE"], quantity=4)
    admin = sim.client()
    r = admin.post("/_sim/listings/LAMP-1/suppress", json={"action": "CATALOG_ITEM_REMOVED"})
    assert r.status_code == 200 and r.json()["enforcements"]["actions"] == [{"action": "CATALOG_ITEM_REMOVED"}]
    body = item(api, "LAMP-1", conforms)
    assert actions(body) == {"CATALOG_ITEM_REMOVED"} and body["issues"][0]["code"] == "18742"
    assert body["summaries"][0]["status"] == []
    hidden = conforms(
        api.get(
            f"/listings/2021-08-01/items/{SELLER}",
            marketplaceIds=DE,
            withoutStatus="DISCOVERABLE",
            includedData="summaries",
        )
    )
    assert [i["sku"] for i in hidden.json()["items"]] == ["LAMP-1"]
    accepted = conforms(api.patch(api.listing_path("LAMP-1"), qty_patch(9), marketplaceIds=DE))
    assert accepted.json()["status"] == "ACCEPTED", "a suppressed listing still takes its quantity"
    assert admin.post("/_sim/listings/NO-SUCH/suppress", json={}).status_code == 400
    assert admin.post("/_sim/listings/LAMP-1/fix", json={}).status_code == 200
    body = item(api, "LAMP-1", conforms)
    assert body["issues"] == [] and "BUYABLE" in body["summaries"][0]["status"]


@pytest.mark.parametrize(
    "product_type, status", [("KITCHEN", "ACCEPTED"), ("PRODUCT", "ACCEPTED"), ("HOME", "INVALID")]
)
def test_a_patch_with_another_product_type_is_invalid_with_4000003(sim, api, conforms, product_type, status):
    sim.add_listing("MUG-1", ["DE"], quantity=4, product_type="KITCHEN")
    body = {**qty_patch(6), "productType": product_type}
    r = conforms(api.patch(api.listing_path("MUG-1"), body, marketplaceIds=DE))
    assert r.status_code == 200 and r.json()["status"] == status
    if status == "INVALID":
        [issue] = r.json()["issues"]
        assert (issue["code"], issue["severity"]) == ("4000003", "ERROR")
        assert sim.stock_truth()[SELLER]["MUG-1"][DE]["pendingQuantity"] is None, "nothing was taken"


def test_a_feed_message_with_another_product_type_is_refused_on_its_own(sim, api, conforms):
    sim.add_listing("MUG-1", ["DE"], quantity=4, product_type="KITCHEN")
    sim.add_listing("MUG-2", ["DE"], quantity=4, product_type="KITCHEN")
    messages = [
        {**patch_msg(1, "MUG-1", 7), "productType": "SHOES"},
        {**patch_msg(2, "MUG-2", 8), "productType": "KITCHEN"},
    ]
    feed = finish(api, submit(api, feed_doc(messages), conforms=conforms), conforms=conforms)
    rep = report(api, feed, conforms=conforms)
    assert [(i["messageId"], i["code"]) for i in rep["issues"]] == [(1, "4000003")]
    assert rep["summary"]["messagesAccepted"] == 1
    sim.clock.advance(120)
    truth = sim.stock_truth()[SELLER]
    assert (truth["MUG-1"][DE]["quantity"], truth["MUG-2"][DE]["quantity"]) == (4, 8)


@pytest.mark.parametrize("threshold", [64 * 1024, 1])
def test_a_malformed_download_fault_cuts_the_report_whatever_its_encoding(clock, conforms, threshold):
    sim = make_sim(clock, report_gzip_threshold=threshold)
    api = Client(sim)
    feed = finish(api, submit(api, feed_doc([patch_msg(1, "NO-SUCH", 1)])))
    info = api.get(f"{FEEDS}/documents/{feed['resultFeedDocumentId']}").json()
    sim.faults.add("malformed_json", "downloadDocument", count=1)
    cut = api.http.get(info["url"])
    assert cut.status_code == 200
    with pytest.raises((ValueError, EOFError, OSError)):
        data = gzip.decompress(cut.content) if info.get("compressionAlgorithm") == "GZIP" else cut.content
        json.loads(data)
    whole = api.http.get(info["url"]).content
    assert json.loads(gzip.decompress(whole) if info.get("compressionAlgorithm") == "GZIP" else whole)["issues"]
