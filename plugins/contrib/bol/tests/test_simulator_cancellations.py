"""The simulator's `PUT /retailer/orders/cancellation` keeps bol's spec and bol's refusals: one order item, a reason
code of the spec's enum, nothing unknown, FBB, shipped or cancelled; it answers a process status and cancels the
item once that is final. Buyers ask to cancel, seeded and on demand."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from linkolis_bol.simulator import Simulator

V10 = "application/vnd.retailer.v10+json"
PROBLEM = "application/vnd.retailer.v10+problem+json"


@pytest.fixture
def bol(sim):
    client = httpx.Client(transport=sim.transport(), base_url="https://bol.sim.test")
    basic = base64.b64encode(f"{sim.client_id}:{sim.client_secret}".encode()).decode()
    token = client.post(
        "/token",
        params={"grant_type": "client_credentials"},
        headers={"authorization": f"Basic {basic}", "accept": "application/json"},
    ).json()["access_token"]
    client.headers.update({"authorization": f"Bearer {token}", "accept": V10})
    return client


def cancel(bol, *items, reason="REQUESTED_BY_CUSTOMER", content_type=V10):
    body = {"orderItems": [{"orderItemId": item, "reasonCode": reason} for item in items]}
    return bol.put("/retailer/orders/cancellation", content=json.dumps(body), headers={"content-type": content_type})


def open_item(sim):
    order = sim.add_order(fbb=False)
    while any(i.offer.fbb for i in order.items):
        order = sim.add_order(fbb=False)
    item = order.items[0]
    item.quantity_shipped = item.quantity_cancelled = 0
    return order, item


def refused(response, reason_part: str, field: str = "orderItems[0].orderItemId") -> None:
    assert response.status_code == 400 and response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == "https://api.bol.com/problems" and problem["status"] == 400
    assert [v["name"] for v in problem["violations"]] == [field]
    assert reason_part in problem["violations"][0]["reason"]


def test_a_cancellation_is_a_process_status_and_the_item_is_cancelled_when_it_is_final(bol, sim, clock):
    order, item = open_item(sim)
    before = item.changed_at
    started = cancel(bol, item.order_item_id)
    assert started.status_code == 202 and started.headers["content-type"] == V10
    process = started.json()
    assert (process["eventType"], process["entityId"], process["status"]) == (
        "CANCEL_ORDER",
        item.order_item_id,
        "PENDING",
    )
    assert item.quantity_cancelled == 0, "nothing happens before bol processed it"
    clock.advance(sim.process_seconds)
    done = bol.get(f"/shared/process-status/{process['processStatusId']}").json()
    assert done["status"] == "SUCCESS"
    shown = bol.get(f"/retailer/orders/{order.order_id}").json()["orderItems"][0]
    assert shown["quantityCancelled"] == item.quantity and shown["latestChangedDateTime"] > before.isoformat()[:19]
    listed = bol.get("/retailer/orders", params={"status": "ALL", "change-interval-minute": 5}).json()["orders"]
    [reduced] = [i for o in listed if o["orderId"] == order.order_id for i in o["orderItems"]]
    assert reduced["fulfilmentStatus"] == "HANDLED"
    assert order.order_id not in {o["orderId"] for o in bol.get("/retailer/orders").json()["orders"]}, "not open"
    by_entity = bol.get(
        "/shared/process-status", params={"entity-id": item.order_item_id, "event-type": "CANCEL_ORDER"}
    )
    assert [p["processStatusId"] for p in by_entity.json()["processStatuses"]] == [process["processStatusId"]]


def test_what_bol_refuses_is_a_problem_document_naming_the_field(bol, sim, clock):
    order, item = open_item(sim)
    refused(cancel(bol, item.order_item_id, reason="CHANGED_MY_MIND"), "allowed values", "orderItems[0].reasonCode")
    refused(cancel(bol, item.order_item_id, item.order_item_id), "is too long", "orderItems")
    refused(cancel(bol, "999999999"), "Order item 999999999 does not exist.")
    fbb = next(i for o in sim.orders for i in o.items if i.offer.fbb and i.open)
    refused(cancel(bol, fbb.order_item_id), "is fulfilled by bol (FBB)")
    shipped = next(i for o in sim.orders for i in o.items if not i.offer.fbb and i.quantity_shipped == i.quantity)
    refused(cancel(bol, shipped.order_item_id), "is already shipped.")
    assert cancel(bol, item.order_item_id, content_type="application/json").status_code == 400
    assert item.quantity_cancelled == 0

    assert cancel(bol, item.order_item_id).status_code == 202
    clock.advance(sim.process_seconds)
    bol.get("/retailer/orders")  # any call; the status is settled when read
    [process] = bol.get(
        "/shared/process-status", params={"entity-id": item.order_item_id, "event-type": "CANCEL_ORDER"}
    ).json()["processStatuses"]
    assert process["status"] == "SUCCESS"
    refused(cancel(bol, item.order_item_id), "is already cancelled.")


def test_an_item_shipped_while_bol_processes_the_cancellation_ends_in_failure(bol, sim, clock):
    _, item = open_item(sim)
    process = cancel(bol, item.order_item_id).json()
    item.quantity_shipped = item.quantity
    clock.advance(sim.process_seconds)
    failed = bol.get(f"/shared/process-status/{process['processStatusId']}").json()
    assert failed["status"] == "FAILURE" and "can no longer be cancelled" in failed["errorMessage"]
    assert item.quantity_cancelled == 0


def test_buyers_ask_to_cancel_seeded_items_and_on_demand(bol, sim, clock):
    seeded = [i for o in sim.orders for i in o.items if i.cancellation_request]
    assert seeded and all(not i.offer.fbb for i in seeded)
    twin = Simulator(clock, orders=80, offers=20, order_window_days=5)
    assert [i.order_item_id for o in twin.orders for i in o.items if i.cancellation_request] == [
        i.order_item_id for i in seeded
    ]
    other = Simulator(clock, seed=2, orders=80, offers=20, order_window_days=5)
    assert {i.order_item_id for o in other.orders for i in o.items if i.cancellation_request} != {
        i.order_item_id for i in seeded
    }
    quiet = Simulator(clock, orders=80, offers=20, order_window_days=5, cancellation_requests=0)
    assert not any(i.cancellation_request for o in quiet.orders for i in o.items)
    assert [o.order_id for o in quiet.orders] == [o.order_id for o in sim.orders], "nothing else changes"

    order, item = open_item(sim)
    clock.advance(60)
    sim.request_cancellation(item.order_item_id)
    shown = bol.get(f"/retailer/orders/{order.order_id}").json()["orderItems"][0]
    assert shown["cancellationRequest"] is True and shown["latestChangedDateTime"] == sim.now().isoformat()[:19] + "Z"
    listed = bol.get("/retailer/orders", params={"change-interval-minute": 2}).json()["orders"]
    assert [i["cancellationRequest"] for o in listed if o["orderId"] == order.order_id for i in o["orderItems"]] == [
        True
    ]
    item.quantity_shipped = item.quantity
    with pytest.raises(ValueError, match="shipped or cancelled already"):
        sim.request_cancellation(item.order_item_id)
    with pytest.raises(KeyError):
        sim.request_cancellation("no-such-item")
