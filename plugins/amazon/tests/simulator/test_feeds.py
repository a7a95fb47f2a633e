"""Feeds API 2021-06-30 with JSON_LISTINGS_FEED: documents, presigned URLs, progress over time, reports."""

from __future__ import annotations

import json

import pytest
from linkolis_amazon.simulator import contract
from sim_support import (
    CT,
    DE,
    FEEDS,
    FR,
    SELLER,
    START,
    SpApi,
    feed_doc,
    finish,
    make_sim,
    patch_msg,
    report,
    submit,
    upload,
)

from linkolis_host.testing.simulator import iso


def stock(sim, sku, market=DE):
    return sim.stock_truth(SELLER)[SELLER][sku][market]


def skus_of(sim, kind: str, market=DE) -> list[str]:
    return [
        s for s, per in sim.stock_truth(SELLER)[SELLER].items() if market in per and per[market]["fulfillment"] == kind
    ]


def test_a_feed_goes_in_queue_in_progress_done_and_applies_stock(sim, conforms):
    api = SpApi(sim)
    a, b = skus_of(sim, "MFN")[:2]
    fid = submit(api, feed_doc([patch_msg(1, a, 11), patch_msg(2, b, 22)]), conforms)
    states = []
    for _ in range(8):
        r = conforms(api.get(f"{FEEDS}/feeds/{fid}"))
        states.append(r.json()["processingStatus"])
        sim.clock.advance(15)
    assert states[0] == "IN_QUEUE" and "IN_PROGRESS" in states and states[-1] == "DONE"
    feed = finish(api, fid, conforms)
    assert feed["processingStatus"] == "DONE" and feed["resultFeedDocumentId"] and feed["processingEndTime"]
    rep = report(api, feed, conforms)
    assert rep["summary"] == {
        "errors": 0,
        "warnings": 0,
        "messagesProcessed": 2,
        "messagesAccepted": 2,
        "messagesInvalid": 0,
    }
    assert rep["header"]["feedId"] == fid
    assert stock(sim, a)["quantity"] == 11 and stock(sim, b)["quantity"] == 22


def test_the_report_names_the_bad_messages_and_skus(sim):
    api = SpApi(sim)
    good, fba = skus_of(sim, "MFN")[0], skus_of(sim, "AFN")[0]
    fba_qty = stock(sim, fba)["quantity"]
    msgs = [
        patch_msg(1, good, 5),
        patch_msg(2, "NO-SUCH-SKU", 5),
        patch_msg(3, fba, 99),
        patch_msg(4, good, 6, path="/attributes/fulfillmentAvailability"),
    ]
    rep = report(api, finish(api, submit(api, feed_doc(msgs, report=True))))
    by_msg = {i["messageId"]: i for i in rep["issues"]}
    assert set(by_msg) == {2, 3, 4}
    assert by_msg[2]["sku"] == "NO-SUCH-SKU" and by_msg[3]["sku"] == fba and by_msg[4]["code"] == "90000900"
    assert rep["summary"]["messagesAccepted"] == 1 and rep["summary"]["messagesInvalid"] == 3
    assert rep["items"][0]["sku"] == good and rep["items"][0]["fulfillmentAvailability"] == [
        {"fulfillmentChannelCode": "DEFAULT", "quantity": 5}
    ]
    assert stock(sim, fba)["quantity"] == fba_qty


def test_an_upload_must_use_the_declared_content_type(sim):
    api = SpApi(sim)
    doc = api.post(f"{FEEDS}/documents", {"contentType": CT}).json()
    r = api.http.put(doc["url"], content=b"{}", headers={"content-type": "application/json"})
    assert r.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in r.content
    assert api.http.put(doc["url"], content=b"{}", headers={"content-type": CT}).status_code == 200


def test_the_upload_url_is_on_the_base_url_and_expires_after_five_minutes(sim, clock):
    api = SpApi(sim)
    doc = api.post(f"{FEEDS}/documents", {"contentType": CT}).json()
    assert doc["url"].startswith(str(api.http.base_url).rstrip("/") + "/s3/")
    clock.advance(301)
    r = api.http.put(doc["url"], content=b"{}", headers={"content-type": CT})
    assert r.status_code == 403 and b"Request has expired" in r.content


@pytest.mark.parametrize(
    "content,why",
    [
        (b"this is not json", "not valid JSON"),
        (
            json.dumps({"header": {"sellerId": SELLER, "version": "1.0"}, "messages": [{"messageId": 1}]}).encode(),
            "listings-feed-schema-v2",
        ),
        (
            json.dumps(
                feed_doc(
                    [
                        {
                            "messageId": 1,
                            "sku": "X",
                            "operationType": "PATCH",
                            "productType": "P",
                            "attributes": {"a": [{}]},
                        }
                    ]
                )
            ).encode(),
            "listings-feed-schema-v2",
        ),
        (
            json.dumps(
                {"header": {"sellerId": "A9SOMEONEELSE1", "version": "2.0"}, "messages": [patch_msg(1, "X", 1)]}
            ).encode(),
            "sellerId",
        ),
    ],
)
def test_an_invalid_document_ends_fatal_with_a_report_saying_why(sim, content, why):
    api = SpApi(sim)
    feed = finish(api, submit(api, content))
    assert feed["processingStatus"] == "FATAL"
    rep = report(api, feed)
    assert why in rep["issues"][0]["message"] and rep["summary"]["messagesProcessed"] == 0


def test_more_than_25000_messages_end_fatal(sim):
    api = SpApi(sim)
    sku = skus_of(sim, "MFN")[0]
    msgs = [patch_msg(i, sku, 1) for i in range(1, 25002)]
    feed = finish(api, submit(api, feed_doc(msgs)))
    assert feed["processingStatus"] == "FATAL" and "25000" in report(api, feed)["issues"][0]["message"]


def test_only_five_listings_feeds_per_five_minutes(sim, clock, conforms):
    api = SpApi(sim)
    doc = feed_doc([patch_msg(1, skus_of(sim, "MFN")[0], 1)])
    for _ in range(5):
        submit(api, doc)
    doc_id = upload(api, json.dumps(doc).encode())
    body = {"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [DE], "inputFeedDocumentId": doc_id}
    r = api.post(f"{FEEDS}/feeds", body)
    assert r.status_code == 429 and r.json() == {
        "errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}]
    }
    assert "x-amzn-RateLimit-Limit" not in r.headers
    clock.advance(301)
    assert conforms(api.post(f"{FEEDS}/feeds", body)).status_code == 202
    assert sim.counters_snapshot()["feed_type_throttled"] == 1


def test_large_reports_are_gzipped(clock, conforms):
    sim = make_sim(clock, report_gzip_threshold=200)
    api = SpApi(sim)
    msgs = [patch_msg(i, f"UNKNOWN-{i}", 1) for i in range(1, 30)]
    feed = finish(api, submit(api, feed_doc(msgs)))
    info = conforms(api.get(f"{FEEDS}/documents/{feed['resultFeedDocumentId']}")).json()
    assert info["compressionAlgorithm"] == "GZIP"
    assert api.http.get(info["url"]).content[:2] == b"\x1f\x8b"
    assert len(report(api, feed)["issues"]) == 29
    assert len(report(api, feed, enableContentEncodingUrlHeader="true")["issues"]) == 29  # httpx un-gzips for us


def test_cancel_only_while_in_queue(sim, conforms):
    api = SpApi(sim)
    doc = feed_doc([patch_msg(1, skus_of(sim, "MFN")[0], 1)])
    fid = submit(api, doc)
    assert conforms(api.http.delete(f"{FEEDS}/feeds/{fid}", headers=api.headers())).status_code == 200
    assert api.get(f"{FEEDS}/feeds/{fid}").json()["processingStatus"] == "CANCELLED"
    other = submit(api, doc)
    api.sim.clock.advance(100)
    assert conforms(api.http.delete(f"{FEEDS}/feeds/{other}", headers=api.headers())).status_code == 400


def test_create_feed_refuses_unknown_documents_and_bad_bodies(sim, conforms, refused_by_model):
    api = SpApi(sim)
    r = conforms(
        api.post(
            f"{FEEDS}/feeds", {"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [DE], "inputFeedDocumentId": "nope"}
        )
    )
    assert r.status_code == 400
    bad = api.post(
        f"{FEEDS}/feeds", {"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [], "inputFeedDocumentId": "x"}
    )
    assert bad.status_code == 400 and refused_by_model(bad.request)
    assert conforms(api.get(f"{FEEDS}/feeds/123")).status_code == 404
    assert conforms(api.get(f"{FEEDS}/documents/amzn1.tortuga.4.eu.nope")).status_code == 404


def test_removed_legacy_feed_types_end_fatal(sim):
    api = SpApi(sim)
    doc_id = upload(api, b"sku\tquantity\nA\t1\n", "text/tab-separated-values; charset=UTF-8")
    r = api.post(
        f"{FEEDS}/feeds",
        {"feedType": "POST_FLAT_FILE_INVLOADER_DATA", "marketplaceIds": [DE], "inputFeedDocumentId": doc_id},
    )
    feed = finish(api, r.json()["feedId"])
    assert feed["processingStatus"] == "FATAL" and "no longer supported" in report(api, feed)["issues"][0]["message"]


# --- getFeeds ----------------------------------------------------------------------------------------------------


def test_get_feeds_lists_the_sellers_feeds_newest_first_by_type_marketplace_status_and_time(sim, clock, conforms):
    api = SpApi(sim)
    doc = feed_doc([patch_msg(1, skus_of(sim, "MFN")[0], 1)])
    first = submit(api, doc)
    clock.advance(200)  # first is DONE
    second, third = submit(api, doc), submit(api, doc, markets=(FR,))
    cancelled = submit(api, doc)
    api.http.delete(f"{FEEDS}/feeds/{cancelled}", headers=api.headers())
    sim.add_account("A5SECONDSELLER", ["DE"])
    someone_elses = {"header": {"sellerId": "A5SECONDSELLER", "version": "2.0"}, "messages": [patch_msg(1, "X", 1)]}
    submit(SpApi(sim, "A5SECONDSELLER"), someone_elses)  # not listed for our seller

    def listed(**params):
        r = conforms(api.get(f"{FEEDS}/feeds", **params))
        assert r.status_code == 200 and r.headers["x-amzn-RateLimit-Limit"] == "0.0222", r.text
        return [f["feedId"] for f in r.json()["feeds"]]

    assert listed(feedTypes="JSON_LISTINGS_FEED") == [cancelled, third, second, first]
    assert listed(feedTypes="JSON_LISTINGS_FEED", marketplaceIds=DE) == [cancelled, second, first]
    assert listed(feedTypes="JSON_LISTINGS_FEED", marketplaceIds=f"{FR},{DE}", processingStatuses="DONE") == [first]
    assert listed(feedTypes="JSON_LISTINGS_FEED", processingStatuses="IN_QUEUE,CANCELLED") == [cancelled, third, second]
    assert listed(feedTypes="JSON_LISTINGS_FEED", createdSince=iso(START + 100)) == [cancelled, third, second]
    assert listed(feedTypes="JSON_LISTINGS_FEED", createdUntil=iso(START + 100)) == [first]
    assert listed(feedTypes="POST_PRODUCT_DATA") == []
    [done] = conforms(api.get(f"{FEEDS}/feeds", feedTypes="JSON_LISTINGS_FEED", processingStatuses="DONE")).json()[
        "feeds"
    ]
    assert done == api.get(f"{FEEDS}/feeds/{first}").json(), "the same Feed getFeed returns"
    assert "inputFeedDocumentId" not in done, "Amazon's Feed does not name its input document"


def test_get_feeds_pages_with_a_next_token_that_comes_alone(sim, clock, conforms):
    api = SpApi(sim)
    doc = feed_doc([patch_msg(1, skus_of(sim, "MFN")[0], 1)])
    made = []
    for _ in range(3):
        made.append(submit(api, doc))
        clock.advance(301)  # five listings feeds per five minutes
    first = conforms(api.get(f"{FEEDS}/feeds", feedTypes="JSON_LISTINGS_FEED", pageSize=2)).json()
    assert [f["feedId"] for f in first["feeds"]] == made[:0:-1] and first["nextToken"]
    clock.advance(1)
    made.append(submit(api, doc))  # a feed created after the first page does not shift the pages
    rest = conforms(api.get(f"{FEEDS}/feeds", nextToken=first["nextToken"])).json()
    assert [f["feedId"] for f in rest["feeds"]] == made[:1] and "nextToken" not in rest
    mixed = conforms(api.get(f"{FEEDS}/feeds", nextToken=first["nextToken"], pageSize=2))
    assert mixed.status_code == 400 and "only parameter" in mixed.json()["errors"][0]["details"]
    other = SpApi(sim, sim.add_account("A5SECONDSELLER", ["DE"]).selling_partner_id)
    assert conforms(other.get(f"{FEEDS}/feeds", nextToken=first["nextToken"])).status_code == 400
    assert conforms(api.get(f"{FEEDS}/feeds", nextToken="garbage")).status_code == 400


@pytest.mark.parametrize(
    "params,by_model",
    [
        ({}, False),  # either feedTypes or nextToken is required
        ({"marketplaceIds": DE}, False),
        ({"feedTypes": "JSON_LISTINGS_FEED", "pageSize": 101}, True),
        ({"feedTypes": "JSON_LISTINGS_FEED", "pageSize": 0}, True),
        ({"feedTypes": ",".join(f"T{n}" for n in range(11))}, True),  # at most 10 feed types
        ({"feedTypes": "JSON_LISTINGS_FEED", "processingStatuses": "BAD_VALUE,DONE"}, True),
        ({"feedTypes": "JSON_LISTINGS_FEED", "createdSince": "yesterday"}, True),
        ({"feedTypes": "JSON_LISTINGS_FEED", "createdSince": iso(START), "createdUntil": iso(START - 60)}, False),
    ],
)
def test_get_feeds_refuses_what_amazon_refuses(sim, conforms, refused_by_model, params, by_model):
    r = conforms(SpApi(sim).get(f"{FEEDS}/feeds", **params))
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "InvalidInput"
    assert refused_by_model(r.request) is by_model


@pytest.mark.parametrize(
    "ex", [e for e in contract.sandbox_examples("feeds") if e["operation_id"] == "getFeeds"], ids=lambda e: e["status"]
)
def test_get_feeds_answers_the_models_sandbox_examples_with_their_status(sim, conforms, ex):
    params = {
        k: ",".join(v["value"]) if isinstance(v["value"], list) else v["value"] for k, v in ex["parameters"].items()
    }
    r = conforms(SpApi(sim).get(f"{FEEDS}/feeds", **params))
    assert r.status_code == int(ex["status"]), r.text
