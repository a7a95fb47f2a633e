"""Listings Items API 2021-08-01: reads, search, and the patch rules for stock (fulfillment_availability)."""

from __future__ import annotations

import pytest
from linkolis_amazon.simulator.data import AWKWARD_SKUS
from sim_support import DE, FR, SELLER, UK, qty_patch


def mfn_sku(sim, market=DE, with_lead_time=False) -> str:
    for sku, per in sim.stock_truth(SELLER)[SELLER].items():
        m = per.get(market)
        if (
            m
            and m["fulfillment"] == "MFN"
            and (not with_lead_time or "lead_time_to_ship_max_days" in m["fulfillmentAvailability"][0])
        ):
            return sku
    raise AssertionError("no such SKU")


def fba_sku(sim, market=DE) -> str:
    return next(
        s for s, per in sim.stock_truth(SELLER)[SELLER].items() if market in per and per[market]["fulfillment"] == "AFN"
    )


def shown(api, sku, market=DE) -> list[dict]:
    r = api.get(api.listing_path(sku), marketplaceIds=market, includedData="fulfillmentAvailability")
    assert r.status_code == 200, r.text
    return r.json()["fulfillmentAvailability"]


@pytest.mark.parametrize("sku", AWKWARD_SKUS)
def test_awkward_skus_work_when_url_encoded(sim, api, conforms, sku):
    market = next(iter(sim.stock_truth(SELLER)[SELLER][sku]))
    r = conforms(
        api.get(api.listing_path(sku), marketplaceIds=market, includedData=["summaries", "fulfillmentAvailability"])
    )
    assert r.status_code == 200 and r.json()["sku"] == sku
    assert r.json()["summaries"][0]["marketplaceId"] == market


def test_reads_use_camel_case_and_show_mfn_quantity(sim, api, conforms):
    sku = mfn_sku(sim)
    r = conforms(
        api.get(
            api.listing_path(sku),
            marketplaceIds=DE,
            includedData="summaries,attributes,issues,offers,fulfillmentAvailability,productTypes,relationships",
        )
    )
    body = r.json()
    assert r.headers["x-amzn-RateLimit-Limit"] == "5"
    assert body["summaries"][0]["productType"] and body["offers"][0]["price"]["currencyCode"] == "EUR"
    truth = sim.stock_truth(SELLER)[SELLER][sku][DE]["quantity"]
    assert body["fulfillmentAvailability"] == [{"fulfillmentChannelCode": "DEFAULT", "quantity": truth}]
    assert body["attributes"]["fulfillment_availability"][0]["marketplace_id"] == DE
    assert conforms(api.get(api.listing_path(sku), marketplaceIds=DE)).json().keys() == {"sku", "summaries"}


def test_fba_listings_show_the_amazon_channel(sim, api, conforms):
    fa = conforms(
        api.get(api.listing_path(fba_sku(sim)), marketplaceIds=DE, includedData="fulfillmentAvailability")
    ).json()
    assert fa["fulfillmentAvailability"] == [{"fulfillmentChannelCode": "AMAZON_EU"}]


def test_unknown_sku_is_404_with_the_rate_header(api, conforms):
    r = conforms(api.get(api.listing_path("NO-SUCH-SKU"), marketplaceIds=DE))
    assert r.status_code == 404 and r.headers["x-amzn-RateLimit-Limit"] == "5"


def test_another_sellers_id_is_refused(sim, api, conforms):
    r = conforms(api.get("/listings/2021-08-01/items/A9SOMEONEELSE1/SKU", marketplaceIds=DE))
    assert r.status_code == 403


def test_search_pages_list_each_sku_once(sim, api, conforms):
    api.patient = True
    seen, token = [], None
    while True:
        r = conforms(
            api.get(
                f"/listings/2021-08-01/items/{SELLER}",
                marketplaceIds=DE,
                pageSize=5,
                pageToken=token,
                includedData="summaries,fulfillmentAvailability",
            )
        )
        body = r.json()
        seen += [i["sku"] for i in body["items"]]
        token = body.get("pagination", {}).get("nextToken")
        if not token:
            break
    truth = [s for s, per in sim.stock_truth(SELLER)[SELLER].items() if DE in per]
    assert sorted(seen) == sorted(truth) and body["numberOfResults"] == len(truth)


def test_search_by_sku_identifiers_and_its_rules(sim, api, conforms, refused_by_model):
    skus = AWKWARD_SKUS[:2]
    r = conforms(
        api.get(f"/listings/2021-08-01/items/{SELLER}", marketplaceIds=UK, identifiers=skus, identifiersType="SKU")
    )
    assert {i["sku"] for i in r.json()["items"]} <= set(skus)
    assert (
        conforms(api.get(f"/listings/2021-08-01/items/{SELLER}", marketplaceIds=DE, identifiers="X")).status_code == 400
    )
    big = api.get(f"/listings/2021-08-01/items/{SELLER}", marketplaceIds=DE, pageSize=21)
    assert big.status_code == 400 and refused_by_model(big.request)


def test_a_search_by_sku_looks_up_only_those_skus_however_big_the_catalogue(sim, api, conforms):
    """A push looks its SKUs up 20 a call: the simulator must not walk the seller's whole catalogue each time."""
    skus = AWKWARD_SKUS[:2]

    class Catalogue(dict):
        walked = 0

        def values(self):
            Catalogue.walked += 1
            return super().values()

    sim.listings.by_seller[SELLER] = Catalogue(sim.listings.by_seller[SELLER])
    r = conforms(
        api.get(
            f"/listings/2021-08-01/items/{SELLER}",
            marketplaceIds=DE,
            identifiers=[*skus, skus[0], "NO-SUCH-SKU"],
            identifiersType="SKU",
            includedData="summaries",
        )
    )

    assert r.status_code == 200
    expected = [s for s in skus if DE in sim.stock_truth(SELLER)[SELLER][s]]
    assert sorted(i["sku"] for i in r.json()["items"]) == sorted(expected)
    assert Catalogue.walked == 0


def test_replace_is_accepted_and_shows_after_the_delay(sim, api, conforms, clock):
    sku = mfn_sku(sim)
    before = shown(api, sku)[0]["quantity"]
    r = conforms(api.patch(api.listing_path(sku), qty_patch(before + 7), marketplaceIds=DE))
    body = r.json()
    assert body["status"] == "ACCEPTED" and body["issues"] == [] and body["submissionId"] and body["sku"] == sku
    assert shown(api, sku)[0]["quantity"] == before
    assert sim.stock_truth(SELLER)[SELLER][sku][DE]["pendingQuantity"] == before + 7
    clock.advance(61)
    assert shown(api, sku)[0]["quantity"] == before + 7
    assert sim.stock_truth(SELLER)[SELLER][sku][DE]["pendingQuantity"] is None


def test_merge_keeps_lead_time_and_restock_date_replace_drops_them(sim, api, clock):
    sku = mfn_sku(sim, with_lead_time=True)
    api.patch(
        api.listing_path(sku), qty_patch(5, lead_time_to_ship_max_days=4, restock_date="2099-02-01"), marketplaceIds=DE
    )
    api.patch(api.listing_path(sku), qty_patch(9, op="merge"), marketplaceIds=DE)
    clock.advance(61)
    fa = sim.stock_truth(SELLER)[SELLER][sku][DE]["fulfillmentAvailability"][0]
    assert fa == {
        "fulfillment_channel_code": "DEFAULT",
        "quantity": 9,
        "lead_time_to_ship_max_days": 4,
        "restock_date": "2099-02-01",
    }
    api.patch(api.listing_path(sku), qty_patch(3), marketplaceIds=DE)
    clock.advance(61)
    assert sim.stock_truth(SELLER)[SELLER][sku][DE]["fulfillmentAvailability"][0] == {
        "fulfillment_channel_code": "DEFAULT",
        "quantity": 3,
    }


def test_camel_case_attribute_is_invalid_90000900(sim, api, conforms):
    body = {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillmentAvailability",
                "value": [{"fulfillmentChannelCode": "DEFAULT", "quantity": 1}],
            }
        ],
    }
    r = conforms(api.patch(api.listing_path(mfn_sku(sim)), body, marketplaceIds=DE))
    assert r.status_code == 200 and r.json()["status"] == "INVALID"
    issue = r.json()["issues"][0]
    assert (issue["code"], issue["message"], issue["attributeNames"]) == (
        "90000900",
        "The attributes are invalid.",
        ["fulfillmentAvailability"],
    )


@pytest.mark.parametrize("value", [5, {"fulfillment_channel_code": "DEFAULT", "quantity": 1}, [5]])
def test_a_value_that_is_not_an_array_of_objects_is_400(sim, api, conforms, refused_by_model, value):
    body = {
        "productType": "PRODUCT",
        "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability", "value": value}],
    }
    r = conforms(api.patch(api.listing_path(mfn_sku(sim)), body, marketplaceIds=DE))
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "InvalidInput" and refused_by_model(r.request)


def test_product_type_is_required(sim, api, conforms, refused_by_model):
    r = conforms(api.patch(api.listing_path(mfn_sku(sim)), {"patches": qty_patch(1)["patches"]}, marketplaceIds=DE))
    assert r.status_code == 400 and refused_by_model(r.request)


def test_missing_channel_code_is_an_issue(sim, api, conforms):
    body = {
        "productType": "PRODUCT",
        "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability", "value": [{"quantity": 1}]}],
    }
    r = conforms(api.patch(api.listing_path(mfn_sku(sim)), body, marketplaceIds=DE)).json()
    assert r["status"] == "INVALID" and r["issues"][0]["code"] == "99022"


def test_unknown_sku_patch_is_invalid_with_issues(api, conforms):
    r = conforms(api.patch(api.listing_path("NEVER-LISTED"), qty_patch(3), marketplaceIds=DE)).json()
    assert r["status"] == "INVALID" and r["issues"] and r["issues"][0]["severity"] == "ERROR"


def test_fba_listing_keeps_amazons_quantity_and_reports_an_issue(sim, api, conforms, clock):
    sku = fba_sku(sim)
    amazon_qty = sim.stock_truth(SELLER)[SELLER][sku][DE]["quantity"]
    r = conforms(api.patch(api.listing_path(sku), qty_patch(amazon_qty + 50), marketplaceIds=DE)).json()
    assert r["status"] == "INVALID" and "fulfilled by Amazon" in r["issues"][0]["message"]
    clock.advance(120)
    assert sim.stock_truth(SELLER)[SELLER][sku][DE]["quantity"] == amazon_qty


def test_validation_preview_changes_nothing(sim, api, conforms, clock):
    sku = mfn_sku(sim)
    before = shown(api, sku)[0]["quantity"]
    r = conforms(
        api.patch(
            api.listing_path(sku),
            qty_patch(before + 1),
            marketplaceIds=DE,
            mode="VALIDATION_PREVIEW",
            includedData="identifiers,issues",
        )
    ).json()
    assert r["status"] == "VALID" and r["identifiers"][0]["marketplaceId"] == DE
    clock.advance(120)
    assert shown(api, sku)[0]["quantity"] == before


def test_one_patch_sets_several_marketplaces(sim, api, clock):
    sku = next(
        s
        for s, per in sim.stock_truth(SELLER)[SELLER].items()
        if DE in per and FR in per and per[DE]["fulfillment"] == "MFN"
    )
    assert api.patch(api.listing_path(sku), qty_patch(42), marketplaceIds=[DE, FR]).json()["status"] == "ACCEPTED"
    clock.advance(61)
    truth = sim.stock_truth(SELLER)[SELLER][sku]
    assert truth[DE]["quantity"] == truth[FR]["quantity"] == 42


def test_an_account_without_the_listing_role_gets_403(sim, conforms):
    from sim_support import SpApi

    sim.add_account("A4ORDERSONLY01", ["DE"], roles=["orders"])
    other = SpApi(sim, "A4ORDERSONLY01")
    assert conforms(other.get(other.listing_path("X"), marketplaceIds=DE)).status_code == 403
