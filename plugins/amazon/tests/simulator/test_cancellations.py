"""Buyers ask to cancel, and sellers cancel in Seller Central: what searchOrders and getOrder show of it with
``includedData=CANCELLATION`` (held to the v2026-01-01 model), seeded and on demand, and what v0 shows of it."""

from __future__ import annotations

from linkolis_amazon.simulator.data import BUYER_CANCEL_REASONS
from sim_support import SpApi, make_sim

from linkolis_host.testing.simulator import iso

ORDERS = "/orders/2026-01-01/orders"


def fetch(api: SpApi, conforms, order_id: str, *included: str) -> dict:
    r = api.get(f"{ORDERS}/{order_id}", includedData=list(included) or None)
    conforms(r)
    assert r.status_code == 200, r.text
    return r.json()["order"]


def unshipped_order(sim) -> str:
    sim.add_listing("MUG-01", ["DE"], quantity=30)
    return sim.add_order([("MUG-01", 1), ("MUG-01", 2)], "DE", status="UNSHIPPED")


def test_a_buyer_asks_to_cancel_and_the_order_shows_it_only_with_cancellation_data(sim, api, conforms, clock):
    order_id = unshipped_order(sim)
    clock.advance(600)
    before = fetch(api, conforms, order_id, "CANCELLATION")
    assert all("cancellation" not in item for item in before["orderItems"])

    reason = sim.request_cancellation(order_id, "Found cheaper somewhere else")
    assert reason == "Found cheaper somewhere else"
    order = fetch(api, conforms, order_id, "CANCELLATION", "FULFILLMENT")
    assert order["lastUpdatedTime"] == iso(clock.time()), "the request is a change an incremental import sees"
    assert order["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED", "a request changes no status"
    assert [item["cancellation"] for item in order["orderItems"]] == [
        {"cancellationRequest": {"requester": "BUYER", "cancelReason": "Found cheaper somewhere else"}}
    ] * 2
    assert all("cancellation" not in item for item in fetch(api, conforms, order_id, "FULFILLMENT")["orderItems"])


def test_the_seller_cancels_in_seller_central_and_the_order_says_the_merchant_cancelled(sim, api, conforms, clock):
    order_id = unshipped_order(sim)
    clock.advance(60)
    sim.request_cancellation(order_id)
    clock.advance(60)
    assert sim.cancel_in_seller_central(order_id) == "BUYER_CANCELED"
    order = fetch(api, conforms, order_id, "CANCELLATION", "FULFILLMENT")
    assert order["fulfillment"]["fulfillmentStatus"] == "CANCELLED"
    [first, _] = order["orderItems"]
    assert first["cancellation"]["cancellationExecution"] == {
        "cancelledBy": "MERCHANT",
        "cancelReason": "BUYER_CANCELED",
    }
    assert first["cancellation"]["cancellationRequest"]["requester"] == "BUYER"

    plain = unshipped_order(sim)
    assert sim.cancel_in_seller_central(plain) == "NO_INVENTORY"
    [item, _] = fetch(api, conforms, plain, "CANCELLATION")["orderItems"]
    assert item["cancellation"] == {
        "cancellationExecution": {"cancelledBy": "MERCHANT", "cancelReason": "NO_INVENTORY"}
    }


def test_only_an_order_not_yet_shipped_can_be_asked_about_or_cancelled(sim, api, clock):
    order_id = unshipped_order(sim)
    sim.advance_order(order_id, "SHIPPED")
    for helper in (sim.request_cancellation, sim.cancel_in_seller_central):
        try:
            helper(order_id)
        except ValueError as exc:
            assert "is SHIPPED" in str(exc)
        else:
            raise AssertionError(f"{helper.__name__} took a shipped order")
    sim.add_listing("FBA-01", ["DE"], quantity=5, fba=True)
    fba = sim.add_order([("FBA-01", 1)], "DE", fulfilled_by="AMAZON", status="UNSHIPPED")
    assert api.http.post(f"/_sim/orders/{fba}/cancellation-request", json={}).status_code == 400


def test_the_admin_routes_let_a_test_play_the_buyer_and_the_seller(sim, api, conforms):
    order_id = unshipped_order(sim)
    asked = api.http.post(f"/_sim/orders/{order_id}/cancellation-request", json={"reason": "Delivery time too long"})
    assert asked.status_code == 200 and asked.json() == {"cancelReason": "Delivery time too long"}
    cancelled = api.http.post(f"/_sim/orders/{order_id}/cancel", json={})
    assert cancelled.json() == {"cancelReason": "BUYER_CANCELED"}
    assert fetch(api, conforms, order_id, "FULFILLMENT")["fulfillment"]["fulfillmentStatus"] == "CANCELLED"


def test_seeded_buyers_asked_to_cancel_some_unshipped_merchant_orders_the_same_with_the_same_seed(sim, conforms, clock):
    api = SpApi(sim, patient=True)
    clock.advance(600)  # past the two minutes searchOrders keeps back
    orders, token = [], None
    while True:
        r = api.get(
            ORDERS,
            createdAfter=iso(clock.time() - 60 * 86400),
            includedData=["CANCELLATION", "FULFILLMENT"],
            paginationToken=token,
        )
        conforms(r)
        orders += r.json()["orders"]
        token = r.json().get("pagination", {}).get("nextToken")
        if token is None:
            break
    asked = {
        o["orderId"]: item["cancellation"]["cancellationRequest"]
        for o in orders
        for item in o["orderItems"]
        if "cancellationRequest" in item.get("cancellation", {})
    }
    assert asked, "some seeded orders carry a buyer's request"
    for o in orders:
        if o["orderId"] in asked:
            assert (o["fulfillment"]["fulfilledBy"], o["fulfillment"]["fulfillmentStatus"]) == ("MERCHANT", "UNSHIPPED")
    assert {a["requester"] for a in asked.values()} == {"BUYER"}
    assert {a["cancelReason"] for a in asked.values()} <= set(BUYER_CANCEL_REASONS)
    twin = make_sim(clock)
    assert {o.order_id for o in twin.orders.by_id.values() if o.cancel_request} == {
        o.order_id for o in sim.orders.by_id.values() if o.cancel_request
    }
    quiet = make_sim(clock, cancellation_requests=0)
    assert not any(o.cancel_request for o in quiet.orders.by_id.values())
    assert sorted(quiet.orders.by_id) == sorted(sim.orders.by_id), "nothing else of the seeded data changes"


def test_v0_shows_the_same_request_as_buyer_requested_cancel(sim, api, conforms):
    order_id = unshipped_order(sim)
    sim.request_cancellation(order_id, "Order created by mistake")
    r = api.get(f"/orders/v0/orders/{order_id}/orderItems")
    conforms(r)
    assert [i["BuyerRequestedCancel"] for i in r.json()["payload"]["OrderItems"]] == [
        {"IsBuyerRequestedCancel": "true", "BuyerCancelReason": "Order created by mistake"}
    ] * 2
