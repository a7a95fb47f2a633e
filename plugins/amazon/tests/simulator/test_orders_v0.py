"""Orders API v0: a seller's orders listed with getOrders and getOrderItems, and shipped with confirmShipment,
held to Amazon's v0 model (every answer is checked by the simulator with validate_responses=True, and again here
by ``conforms``)."""

from __future__ import annotations

from typing import Any

import pytest
from linkolis_amazon.simulator import contract, orders_v0
from sim_support import DE, SELLER, UK, SpApi

from linkolis_host.testing.simulator import iso, parse_iso

V0 = "/orders/v0/orders"
MODEL = contract.load_model("orders-v0.json")
V2026 = "/orders/2026-01-01/orders"
STATUS_V2026 = {v0: v26 for v26, v0 in orders_v0.V0_STATUS.items()}


def mfn_sku(sim, sku: str = "MUG-1", price: float = 12.5) -> str:
    """A seller-fulfilled SKU listed in DE with plenty of stock."""
    sim.add_listing(sku, ["DE"], 100, price=price)
    return sku


def all_orders(api: SpApi, conforms, **params: Any) -> tuple[list[dict], list[dict]]:
    """Every order of a getOrders query, page by page, sending the same parameters with each NextToken."""
    r = conforms(api.get(V0, **params))
    assert r.status_code == 200, r.text
    payloads = [r.json()["payload"]]
    while "NextToken" in payloads[-1]:
        r = conforms(api.get(V0, **params, NextToken=payloads[-1]["NextToken"]))
        assert r.status_code == 200, r.text
        payloads.append(r.json()["payload"])
    return [o for p in payloads for o in p["Orders"]], payloads


def items_of(api: SpApi, conforms, order_id: str) -> list[dict]:
    r = conforms(api.get(f"{V0}/{order_id}/orderItems"))
    assert r.status_code == 200, r.text
    assert r.json()["payload"]["AmazonOrderId"] == order_id
    return r.json()["payload"]["OrderItems"]


def package(ref: str, items: list[tuple[str, int]], marketplace: str = DE, **detail: Any) -> dict[str, Any]:
    """A confirmShipment body: one DHL package (shipped when it is confirmed, unless ``shipDate`` says otherwise)."""
    return {
        "marketplaceId": marketplace,
        "packageDetail": {
            "packageReferenceId": ref,
            "carrierCode": "DHL",
            "shippingMethod": "Paket",
            "trackingNumber": f"00340434{ref.zfill(10)}",
            "orderItems": [{"orderItemId": iid, "quantity": qty} for iid, qty in items],
            **detail,
        },
    }


def confirm(api: SpApi, conforms, order_id: str, body: dict[str, Any]):
    body["packageDetail"].setdefault("shipDate", iso(api.sim.clock.time()))
    return conforms(api.post(f"{V0}/{order_id}/shipmentConfirmation", body))


def shipment_refused(r, *words: str) -> None:
    """Amazon's 400 for a confirmShipment: InvalidInput, the reason in the details, the rate header."""
    assert r.status_code == 400, r.text
    err = r.json()["errors"][0]
    assert err["code"] == "InvalidInput" and err["message"], err
    assert all(w in err["details"] for w in words), err["details"]
    assert r.headers["x-amzn-RateLimit-Limit"] == "2"


def truth_of(sim, order_id: str) -> dict[str, Any]:
    return next(o for o in sim.orders_truth(SELLER) if o["orderId"] == order_id)


def unshipped(sim, items: list[tuple[str, int]], **kw: Any) -> tuple[str, list[str]]:
    """A paid order waiting to be shipped; its id and its item ids in order."""
    oid = sim.add_order(items, "DE", status="UNSHIPPED", **kw)
    return oid, [i["orderItemId"] for i in truth_of(sim, oid)["items"]]


# --- the seller's orders, listed ----------------------------------------------------------------------------------


def test_get_orders_lists_every_order_of_the_marketplaces_exactly_once(sim, conforms):
    api = SpApi(sim, patient=True)
    since = iso(sim.clock.time() - 60 * 86400)
    orders, payloads = all_orders(api, conforms, CreatedAfter=since, MarketplaceIds=[DE, UK], MaxResultsPerPage=9)
    ids = [o["AmazonOrderId"] for o in orders]
    assert len(ids) == len(set(ids)) and len(payloads) > 2
    before = parse_iso(payloads[0]["CreatedBefore"])
    truth = {o["orderId"]: o for o in sim.orders_truth(SELLER) if o["marketplaceId"] in (DE, UK)}
    assert set(ids) == {k for k, o in truth.items() if parse_iso(o["createdTime"]) <= before}
    assert [o["PurchaseDate"] for o in orders] == sorted(o["PurchaseDate"] for o in orders)
    for o in orders:
        t = truth[o["AmazonOrderId"]]
        assert STATUS_V2026[o["OrderStatus"]] == t["status"]
        assert o["FulfillmentChannel"] == {"MERCHANT": "MFN", "AMAZON": "AFN"}[t["fulfilledBy"]]
        assert (o["PurchaseDate"], o["LastUpdateDate"]) == (t["createdTime"], t["lastUpdatedTime"])
        assert o["MarketplaceId"] == t["marketplaceId"]
    assert {o["FulfillmentChannel"] for o in orders} == {"MFN", "AFN"}
    assert {o["OrderStatus"] for o in orders} >= {"Shipped", "Unshipped"}
    totals = {o["MarketplaceId"]: o["OrderTotal"]["CurrencyCode"] for o in orders if "OrderTotal" in o}
    assert totals == {DE: "EUR", UK: "GBP"}


def undefined_fields(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Where ``value`` carries a field the v0 model does not define (its schemas allow extra fields, so validation
    alone would let a misspelt one through)."""
    if "$ref" in schema:
        schema = MODEL["definitions"][schema["$ref"].rsplit("/", 1)[1]]
    if isinstance(value, dict):
        props = schema.get("properties", {})
        return [
            miss
            for k, v in value.items()
            for miss in ([f"{path}/{k}"] if k not in props else undefined_fields(v, props[k], f"{path}/{k}"))
        ]
    if isinstance(value, list):
        return [m for n, v in enumerate(value) for m in undefined_fields(v, schema.get("items", {}), f"{path}/{n}")]
    return []


def sandbox_payload(operation_id: str) -> dict[str, Any]:
    """The payload of the first 200 example the model's static sandbox answers for an operation."""
    for item in MODEL["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return op["responses"]["200"]["x-amzn-api-sandbox"]["static"][0]["response"]["payload"]
    raise KeyError(operation_id)


def test_orders_and_items_use_only_the_models_fields_typed_like_its_examples(sim, conforms):
    api = SpApi(sim, patient=True)
    orders, payloads = all_orders(api, conforms, CreatedAfter=iso(sim.clock.time() - 60 * 86400), MarketplaceIds=[DE])
    items = [i for o in orders[:15] for i in items_of(api, conforms, o["AmazonOrderId"])]
    assert undefined_fields({"payload": payloads[0]}, {"$ref": "#/definitions/GetOrdersResponse"}) == []
    assert undefined_fields({"payload": {"OrderItems": items}}, {"$ref": "#/definitions/GetOrderItemsResponse"}) == []
    example_order = sandbox_payload("getOrders")["Orders"][0]
    example_item = sandbox_payload("getOrderItems")["OrderItems"][0]
    for ours, theirs in [(o, example_order) for o in orders] + [(i, example_item) for i in items]:
        shared = set(ours) & set(theirs)
        assert {k: type(ours[k]) for k in shared} == {k: type(theirs[k]) for k in shared}
    assert len(set(orders[0]) & set(example_order)) > 20 and len(set(items[0]) & set(example_item)) > 10


def test_get_order_items_carries_the_orders_items_priced_once_paid(sim, api, conforms):
    sku = mfn_sku(sim, price=12.5)
    pending = sim.add_order([(sku, 2)], "DE")
    (item,) = items_of(api, conforms, pending)
    assert (item["SellerSKU"], item["QuantityOrdered"], item["QuantityShipped"]) == (sku, 2, 0)
    assert "ItemPrice" not in item  # "does not return information about pricing … for the order items" while Pending
    sim.advance_order(pending)  # payment authorized
    (item,) = items_of(api, conforms, pending)
    assert item["ItemPrice"] == {"CurrencyCode": "EUR", "Amount": "25.00"}  # the price times the quantity
    assert set(item["ItemTax"]) == {"CurrencyCode", "Amount"}
    shipped = next(o for o in sim.orders_truth(SELLER) if o["status"] == "SHIPPED" and len(o["items"]) > 1)
    items = items_of(api, conforms, shipped["orderId"])
    assert [(i["OrderItemId"], i["SellerSKU"], i["QuantityOrdered"]) for i in items] == [
        (i["orderItemId"], i["sku"], i["quantity"]) for i in shipped["items"]
    ]
    assert all(i["QuantityShipped"] == i["QuantityOrdered"] for i in items)


def test_get_order_items_pages_with_next_token(sim, api, conforms, monkeypatch):
    monkeypatch.setattr(orders_v0, "ITEMS_PER_PAGE", 2)
    sku = mfn_sku(sim)
    oid, item_ids = unshipped(sim, [(sku, 1)] * 5)
    first = conforms(api.get(f"{V0}/{oid}/orderItems")).json()["payload"]
    second = conforms(api.get(f"{V0}/{oid}/orderItems", NextToken=first["NextToken"])).json()["payload"]
    third = conforms(api.get(f"{V0}/{oid}/orderItems", NextToken=second["NextToken"])).json()["payload"]
    assert "NextToken" not in third
    assert [i["OrderItemId"] for p in (first, second, third) for i in p["OrderItems"]] == item_ids
    other = next(o["orderId"] for o in sim.orders_truth(SELLER) if o["orderId"] != oid)
    assert conforms(api.get(f"{V0}/{other}/orderItems", NextToken=first["NextToken"])).status_code == 400


def test_filters_narrow_what_get_orders_returns(sim, conforms):
    api = SpApi(sim, patient=True)
    since = iso(sim.clock.time() - 60 * 86400)
    everything, _ = all_orders(api, conforms, CreatedAfter=since, MarketplaceIds=[DE])
    afn_shipped, _ = all_orders(
        api, conforms, CreatedAfter=since, MarketplaceIds=[DE], FulfillmentChannels="AFN", OrderStatuses="Shipped"
    )
    expected = [o for o in everything if o["FulfillmentChannel"] == "AFN" and o["OrderStatus"] == "Shipped"]
    assert expected and afn_shipped == expected
    two = [o["AmazonOrderId"] for o in everything[:2]]
    picked, _ = all_orders(api, conforms, CreatedAfter=since, MarketplaceIds=[DE], AmazonOrderIds=two)
    assert [o["AmazonOrderId"] for o in picked] == two
    none, _ = all_orders(api, conforms, CreatedAfter=since, MarketplaceIds=[DE], EasyShipShipmentStatuses="PickedUp")
    assert none == []  # the simulator has no Easy Ship orders


def test_last_updated_after_finds_orders_that_changed(sim, api, conforms, clock):
    sku = mfn_sku(sim)
    oid = sim.add_order([(sku, 1)], "DE")
    clock.advance(3600)
    sim.advance_order(oid)
    clock.advance(600)
    payload = conforms(api.get(V0, LastUpdatedAfter=iso(clock.time() - 900), MarketplaceIds=DE)).json()["payload"]
    assert [o["OrderStatus"] for o in payload["Orders"] if o["AmazonOrderId"] == oid] == ["Unshipped"]
    assert payload["LastUpdatedBefore"] == iso(clock.time() - 120)


def test_buyer_data_needs_the_restricted_roles(sim, conforms):
    sim.add_account("A2NOPIISELLER1", ["DE"], roles=["orders"], orders=40, skus=10)
    since = iso(sim.clock.time() - 60 * 86400)
    with_roles, without = SpApi(sim, patient=True), SpApi(sim, "A2NOPIISELLER1", patient=True)
    mine, _ = all_orders(with_roles, conforms, CreatedAfter=since, MarketplaceIds=[DE])
    theirs, _ = all_orders(without, conforms, CreatedAfter=since, MarketplaceIds=[DE])
    shipped_mfn = [o for o in mine if o["OrderStatus"] == "Shipped" and o["FulfillmentChannel"] == "MFN"]
    assert shipped_mfn and all(
        "BuyerEmail" in o["BuyerInfo"] and {"Name", "AddressLine1", "Phone"} <= set(o["ShippingAddress"])
        for o in shipped_mfn
    )
    assert not any("BuyerInfo" in o for o in theirs)
    addresses = [o["ShippingAddress"] for o in theirs if o["OrderStatus"] == "Shipped"]
    assert addresses and all(set(a) <= {"City", "StateOrRegion", "PostalCode", "CountryCode"} for a in addresses)
    assert not any("ShippingAddress" in o for o in mine if o["OrderStatus"] == "Pending")


DATES = {"CreatedAfter", "CreatedBefore", "LastUpdatedAfter", "LastUpdatedBefore"}


@pytest.mark.parametrize(
    "params,words",
    [
        ({}, ("CreatedAfter", "LastUpdatedAfter")),
        ({"CreatedAfter": -86400, "LastUpdatedAfter": -86400}, ("both",)),
        ({"CreatedAfter": -86400, "LastUpdatedBefore": -3600}, ("LastUpdatedBefore",)),
        ({"LastUpdatedAfter": -86400, "CreatedBefore": -3600}, ("CreatedBefore",)),
        ({"CreatedAfter": -86400, "CreatedBefore": -60}, ("two minutes",)),
        ({"CreatedAfter": -3600, "CreatedBefore": -7200}, ("CreatedAfter",)),
        ({"CreatedAfter": "yesterday"}, ("ISO 8601",)),
        ({"CreatedAfter": -86400, "MaxResultsPerPage": 101}, ("MaxResultsPerPage",)),
        ({"CreatedAfter": -86400, "OrderStatuses": "Cancelled"}, ("Cancelled",)),  # v0 spells it Canceled
        ({"CreatedAfter": -86400, "FulfillmentChannels": "FBA"}, ("FBA",)),
        ({"CreatedAfter": -86400, "SellerOrderId": "X-1", "OrderStatuses": "Shipped"}, ("SellerOrderId",)),
        ({"CreatedAfter": -86400, "MarketplaceIds": "NOTAMARKET"}, ("NOTAMARKET",)),
        ({"NextToken": "not-a-token"}, ("NextToken",)),
    ],
)
def test_get_orders_refuses_what_amazon_refuses(api, conforms, params, words):
    now = api.sim.clock.time()  # dates are given above as seconds from now
    query = {k: iso(now + v) if k in DATES and isinstance(v, int) else v for k, v in params.items()}
    r = conforms(api.get(V0, **{"MarketplaceIds": DE, **query}))
    assert r.status_code == 400, r.text
    err = r.json()["errors"][0]
    assert err["code"] == "InvalidInput" and all(w in err["details"] for w in words), err
    assert r.headers["x-amzn-RateLimit-Limit"] == "0.0167"


def test_marketplace_ids_are_required_by_the_model(api, conforms, refused_by_model):
    r = conforms(api.get(V0, CreatedAfter=iso(api.sim.clock.time() - 86400)))
    assert r.status_code == 400 and refused_by_model(r.request)


def test_unknown_and_malformed_order_ids(api, conforms):
    assert conforms(api.get(f"{V0}/999-0000000-0000000/orderItems")).status_code == 404
    assert conforms(api.get(f"{V0}/TEST_CASE_400/orderItems")).status_code == 400
    sim = api.sim
    sim.add_account("A4OTHERSELLER1", ["DE"], orders=5, skus=5)
    theirs = sim.orders_truth("A4OTHERSELLER1")[0]["orderId"]
    assert conforms(api.get(f"{V0}/{theirs}/orderItems")).status_code == 404


def test_v0_needs_the_orders_role(sim, conforms):
    sim.add_account("A3LISTINGSONLY", ["DE"], roles=["listings"])
    r = conforms(SpApi(sim, "A3LISTINGSONLY").get(V0, CreatedAfter=iso(sim.clock.time() - 86400), MarketplaceIds=DE))
    assert r.status_code == 403 and "x-amzn-RateLimit-Limit" not in r.headers


def test_v0_get_order_is_not_served_and_does_not_fall_through_to_v2026(sim, api):
    oid = sim.orders_truth(SELLER)[0]["orderId"]
    r = api.get(f"{V0}/{oid}")
    assert r.status_code == 404 and "does not implement getOrder" in r.json()["errors"][0]["message"]


# --- shipping it: confirmShipment -----------------------------------------------------------------------------------


def test_confirming_packages_moves_the_order_to_partially_shipped_then_shipped(sim, api, conforms, clock):
    oid, (a, b) = unshipped(sim, [(mfn_sku(sim, "MUG-1"), 2), (mfn_sku(sim, "BOWL-1"), 1)])
    placed = truth_of(sim, oid)["lastUpdatedTime"]
    clock.advance(3600)

    r = confirm(api, conforms, oid, package("1", [(a, 1)]))
    assert r.status_code == 204 and r.content == b"" and r.headers["x-amzn-RateLimit-Limit"] == "2"
    truth = truth_of(sim, oid)
    assert truth["status"] == "PARTIALLY_SHIPPED" and truth["lastUpdatedTime"] == iso(clock.time()) > placed
    listed = conforms(api.get(V0, MarketplaceIds=DE, AmazonOrderIds=oid, CreatedAfter=iso(clock.time() - 86400)))
    (v0,) = listed.json()["payload"]["Orders"]
    assert (v0["OrderStatus"], v0["NumberOfItemsShipped"], v0["NumberOfItemsUnshipped"]) == ("PartiallyShipped", 1, 2)
    assert [i["QuantityShipped"] for i in items_of(api, conforms, oid)] == [1, 0]
    order = conforms(api.get(f"{V2026}/{oid}", includedData="FULFILLMENT,PACKAGES")).json()["order"]
    assert order["fulfillment"]["fulfillmentStatus"] == "PARTIALLY_SHIPPED"
    assert [i["fulfillment"] for i in order["orderItems"]] == [
        {"quantityFulfilled": 1, "quantityUnfulfilled": 1},
        {"quantityFulfilled": 0, "quantityUnfulfilled": 1},
    ]
    (pkg,) = order["packages"]
    assert pkg["packageReferenceId"] == "1" and pkg["carrier"] == "DHL" and pkg["shippingService"] == "Paket"
    assert pkg["trackingNumber"] == "003404340000000001" and pkg["shipTime"] == iso(clock.time())
    assert pkg["packageItems"] == [{"orderItemId": a, "quantity": 1}]

    clock.advance(600)
    body = package("2", [(a, 1), (b, 1)], carrierCode="Other", carrierName="Hermes", shipDate=iso(clock.time()))
    assert confirm(api, conforms, oid, body).status_code == 204
    assert truth_of(sim, oid)["status"] == "SHIPPED"
    assert [i["QuantityShipped"] for i in items_of(api, conforms, oid)] == [2, 1]
    order = conforms(api.get(f"{V2026}/{oid}", includedData="FULFILLMENT,PACKAGES")).json()["order"]
    assert order["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    assert [(p["packageReferenceId"], p["carrier"]) for p in order["packages"]] == [("1", "DHL"), ("2", "Hermes")]
    clock.advance(300)  # searchOrders sees changes up to two minutes ago
    changed = conforms(api.get(V2026, lastUpdatedAfter=iso(clock.time() - 600), includedData="FULFILLMENT")).json()
    assert [o["fulfillment"]["fulfillmentStatus"] for o in changed["orders"] if o["orderId"] == oid] == ["SHIPPED"]

    assert [(s["orderId"], s["packageReferenceId"], s["items"]) for s in sim.shipments_truth(SELLER)] == [
        (oid, "1", [{"orderItemId": a, "quantity": 1}]),
        (oid, "2", [{"orderItemId": a, "quantity": 1}, {"orderItemId": b, "quantity": 1}]),
    ]
    assert sim.shipments_truth()[1]["carrierName"] == "Hermes"


def test_confirming_the_rest_of_a_partial_shipment_amazon_knew_of_keeps_its_first_package(sim, api, conforms):
    oid = sim.add_order([(mfn_sku(sim, "MUG-1"), 1), (mfn_sku(sim, "BOWL-1"), 2)], "DE", status="PARTIALLY_SHIPPED")
    first, second = truth_of(sim, oid)["items"]
    (known,) = conforms(api.get(f"{V2026}/{oid}", includedData="PACKAGES")).json()["order"]["packages"]
    assert known["packageItems"] == [{"orderItemId": first["orderItemId"], "quantity": 1}]
    left = [(second["orderItemId"], 2)]
    shipment_refused(confirm(api, conforms, oid, package("1", left)), "packageReferenceId 1")
    shipment_refused(confirm(api, conforms, oid, package("2", [(first["orderItemId"], 1)])), "exceeds the 0 left")
    assert confirm(api, conforms, oid, package("2", left)).status_code == 204
    order = conforms(api.get(f"{V2026}/{oid}", includedData="PACKAGES")).json()["order"]
    assert [p["packageReferenceId"] for p in order["packages"]] == ["1", "2"]
    assert truth_of(sim, oid)["status"] == "SHIPPED"
    assert [s["packageReferenceId"] for s in sim.shipments_truth()] == ["2"]  # only what the seller confirmed


def test_shipping_more_than_is_left_or_an_item_not_in_the_order_is_refused(sim, api, conforms):
    oid, (a,) = unshipped(sim, [(mfn_sku(sim), 2)])
    shipment_refused(confirm(api, conforms, oid, package("1", [(a, 3)])), "exceeds the 2 left")
    shipment_refused(confirm(api, conforms, oid, package("1", [(a, 1), (a, 2)])), "exceeds the 2 left")
    stranger = package("1", [("99999999999999", 1)])
    shipment_refused(confirm(api, conforms, oid, stranger), "99999999999999", "not an item")
    shipment_refused(confirm(api, conforms, oid, package("1", [(a, 0)])), "at least 1")
    assert confirm(api, conforms, oid, package("1", [(a, 2)])).status_code == 204
    shipment_refused(confirm(api, conforms, oid, package("2", [(a, 1)])), "already Shipped")
    assert len(sim.shipments_truth()) == 1


def test_cancelled_fba_and_unpaid_orders_cannot_be_confirmed(sim, api, conforms):
    sku = mfn_sku(sim)
    cancelled, (c,) = unshipped(sim, [(sku, 1)])
    sim.advance_order(cancelled, "CANCELLED")
    shipment_refused(confirm(api, conforms, cancelled, package("1", [(c, 1)])), "Canceled")
    fba, (f,) = unshipped(sim, [(sku, 1)], fulfilled_by="AMAZON")
    shipment_refused(confirm(api, conforms, fba, package("1", [(f, 1)])), "AFN")
    pending = sim.add_order([(sku, 1)], "DE")
    (p,) = [i["orderItemId"] for i in truth_of(sim, pending)["items"]]
    shipment_refused(confirm(api, conforms, pending, package("1", [(p, 1)])), "Pending")
    assert sim.shipments_truth() == []
    assert [truth_of(sim, o)["status"] for o in (cancelled, fba, pending)] == ["CANCELLED", "UNSHIPPED", "PENDING"]


def test_a_package_reference_is_used_once_per_order_and_is_a_positive_number(sim, api, conforms):
    sku = mfn_sku(sim)
    oid, (a,) = unshipped(sim, [(sku, 3)])
    other, (o,) = unshipped(sim, [(sku, 1)])
    assert confirm(api, conforms, oid, package("1", [(a, 1)])).status_code == 204
    shipment_refused(confirm(api, conforms, oid, package("1", [(a, 1)])), "already used")
    assert confirm(api, conforms, other, package("1", [(o, 1)])).status_code == 204  # per order, not per seller
    shipment_refused(confirm(api, conforms, oid, package("A-1", [(a, 1)])), "positive numeric")
    shipment_refused(confirm(api, conforms, oid, package("0", [(a, 1)])), "positive numeric")
    assert [(s["orderId"], s["packageReferenceId"]) for s in sim.shipments_truth()] == [(oid, "1"), (other, "1")]


def test_the_package_detail_is_held_to_the_model_and_its_prose(sim, api, conforms, refused_by_model):
    oid, (a,) = unshipped(sim, [(mfn_sku(sim), 1)])
    shipment_refused(confirm(api, conforms, oid, package("1", [(a, 1)], carrierCode="Other")), "carrierName")
    shipment_refused(confirm(api, conforms, oid, package("1", [(a, 1)], marketplace=UK)), "marketplace")
    shipment_refused(confirm(api, conforms, oid, package("1", [(a, 1)], shipDate="2020-01-01T00:00:00Z")), "before")
    body = package("1", [(a, 1)])
    body["codCollectionMethod"] = "DirectPayment"
    shipment_refused(confirm(api, conforms, oid, body), "JP")
    body = package("1", [(a, 1)])
    del body["packageDetail"]["trackingNumber"]
    r = confirm(api, conforms, oid, body)
    shipment_refused(r, "trackingNumber")
    assert refused_by_model(r.request)
    bad_date = confirm(api, conforms, oid, package("1", [(a, 1)], shipDate="02/21/2022"))  # the model's 400 example
    shipment_refused(bad_date, "shipDate")
    missing = confirm(api, conforms, "999-0000000-0000000", package("1", [(a, 1)]))
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "NotFound"
    assert sim.shipments_truth() == [] and truth_of(sim, oid)["status"] == "UNSHIPPED"


def test_confirm_shipment_is_throttled_at_2_per_second_with_a_burst_of_10(sim, api, conforms, clock):
    op = contract.SPAPI.operation("confirmShipment")
    assert (op.api, contract.plan(op).rate, contract.plan(op).burst) == (orders_v0.API, "2", 10)
    oid, (a,) = unshipped(sim, [(mfn_sku(sim), 20)])
    statuses = [confirm(api, conforms, oid, package(str(n), [(a, 1)])).status_code for n in range(1, 12)]
    assert statuses == [204] * 10 + [429]
    clock.advance(0.5)
    assert confirm(api, conforms, oid, package("12", [(a, 1)])).status_code == 204
    assert len(sim.shipments_truth()) == 11


def test_shipments_truth_is_served_to_the_admin_endpoint(sim, api, conforms):
    oid, (a,) = unshipped(sim, [(mfn_sku(sim), 1)])
    confirm(api, conforms, oid, package("7", [(a, 1)]))
    shipments = api.http.get("/_sim/shipments").json()["shipments"]
    assert [(s["orderId"], s["packageReferenceId"], s["trackingNumber"]) for s in shipments] == [
        (oid, "7", "003404340000000007")
    ]
