"""A bol buyer asks to cancel: linkolis shows the request, and the seller accepts it with `PUT
/retailer/orders/cancellation`, one order item per call as bol's spec wants, followed to its process status, never
sent twice. Every request is checked against bol's spec (conftest)."""

from __future__ import annotations

import json

import linkolis_bol.plugin
from linkolis_bol import cancellations, client
from linkolis_bol.simulator import Simulator

from linkolis_host import VirtualClock, apps
from linkolis_host.host import Host
from linkolis_host.testing import assert_conformance

V10 = "application/vnd.retailer.v10+json"
ENDPOINT = "https://bol.sim.test"
START = 1_780_000_000.0


def open_merchant_order(sim, items: int = 1):
    """A new FBR order bol waits for the seller to ship, every item open, with ``items`` items."""
    while True:
        order = sim.add_order(fbb=False)
        if len(order.items) >= items and not any(i.offer.fbb for i in order.items):
            break
    for item in order.items:
        item.quantity_cancelled = item.quantity_shipped = 0
    return order


def puts(wire):
    return [r for r in wire.requests if r.method == "PUT" and r.url.path == "/retailer/orders/cancellation"]


def test_the_buyers_request_shows_in_linkolis_and_accepting_it_cancels_the_item_at_bol(
    sim, run, wire, clock, authorized
):
    order = open_merchant_order(sim)
    run("orders", "import", "bol NL")
    assert run.json("orders", "show", order.order_id)["cancellation_requested"] is False

    [item] = order.items
    clock.advance(120)
    sim.request_cancellation(item.order_item_id)  # the buyer asks bol
    assert run.json("orders", "import", "bol NL")["updated"] == 1
    shown = run.json("orders", "show", order.order_id)
    assert (shown["cancellation_requested"], shown["cancellation_reason"]) == (True, None)
    assert "The buyer asked to cancel this order (no reason given)." in run("orders", "show", order.order_id).stdout
    listed = {o["marketplace_order_id"]: o for o in run.json("orders", "list", "--limit", "500")}
    assert listed[order.order_id]["cancellation_requested"] is True

    result = run.json("orders", "cancel", order.order_id, "--yes")
    assert result["status"] == "accepted", result["message"]
    [put] = puts(wire)
    assert put.headers["content-type"] == V10 and V10 in put.headers["accept"]
    assert json.loads(put.content) == {
        "orderItems": [{"orderItemId": item.order_item_id, "reasonCode": "REQUESTED_BY_CUSTOMER"}]
    }
    assert any(r.url.path.startswith("/shared/process-status/") for r in wire.requests)
    at_bol = sim.orders_truth()[order.order_id].items[0]
    assert (at_bol.quantity_cancelled, at_bol.cancel_reason) == (item.quantity, "REQUESTED_BY_CUSTOMER")
    assert run.json("orders", "show", order.order_id)["status"] == "cancelled"

    clock.advance(120)
    run("orders", "import", "bol NL")  # bol's own view: the item cancelled, the order handled
    again = run.json("orders", "show", order.order_id)
    assert (again["status"], again["marketplace_status"], again["cancellation_requested"]) == (
        "cancelled",
        "HANDLED",
        False,
    )
    assert "is cancelled already" in run("orders", "cancel", order.order_id, "--yes", code=1).stderr
    assert len(puts(wire)) == 1


def test_each_item_of_an_order_is_one_call_and_the_sellers_reason_is_bols_code(sim, run, wire, authorized):
    order = open_merchant_order(sim, items=2)
    run("orders", "import", "bol NL")
    result = run.json("orders", "cancel", order.order_id, "--yes", "--reason", "out_of_stock")
    assert result["status"] == "accepted", result["message"]
    sent = [json.loads(r.content)["orderItems"] for r in puts(wire)]
    assert sent == [[{"orderItemId": i.order_item_id, "reasonCode": "OUT_OF_STOCK"}] for i in order.items]
    assert all(i.quantity_cancelled == i.quantity for i in sim.orders_truth()[order.order_id].items)


def test_a_buyer_who_asked_about_one_item_gets_that_item_cancelled_and_the_rest_stays_open(
    sim, run, wire, clock, authorized
):
    order = open_merchant_order(sim, items=2)
    asked, kept = order.items[:2]
    sim.request_cancellation(asked.order_item_id)
    run("orders", "import", "bol NL")
    shown = run.json("orders", "show", order.order_id)
    assert [line["cancellation_requested"] for line in shown["lines"]][:2] == [True, False]
    result = run.json("orders", "cancel", order.order_id, "--yes")
    assert (result["status"], result["whole_order"]) == ("accepted", False), result["message"]
    assert [json.loads(r.content)["orderItems"][0]["orderItemId"] for r in puts(wire)] == [asked.order_item_id]
    assert (asked.quantity_cancelled, kept.quantity_cancelled) == (asked.quantity, 0)
    assert run.json("orders", "show", order.order_id)["status"] == "unshipped"
    clock.advance(60)
    run("orders", "import", "bol NL")
    assert run.json("orders", "show", order.order_id)["cancellation_requested"] is False, "answered"


def test_the_seeded_shop_has_buyers_who_asked_to_cancel_open_items(sim, run, authorized):
    run("orders", "import", "bol NL")
    asked = {o.order_id for o in sim.orders for i in o.items if i.cancellation_request and i.open}
    assert asked, "the simulator's seeded shop has cancellation requests"
    shown = {
        o["marketplace_order_id"] for o in run.json("orders", "list", "--limit", "500") if o["cancellation_requested"]
    }
    assert shown == asked
    again = Simulator(VirtualClock(START), orders=80, offers=20, order_window_days=5)
    assert {i.order_item_id for o in again.orders for i in o.items if i.cancellation_request} == {
        i.order_item_id for o in sim.orders for i in o.items if i.cancellation_request
    }, "the same seed, the same requests"


def test_a_cancellation_bol_is_still_processing_is_pending_then_accepted_without_a_second_call(
    sim, run, wire, clock, authorized
):
    order = open_merchant_order(sim)
    sim.request_cancellation(order.items[0].order_item_id)
    run("orders", "import", "bol NL")
    sim.process_seconds = 600
    first = run.json("orders", "cancel", order.order_id, "--yes")
    assert first["status"] == "pending" and "bol is processing" in first["message"]
    assert run.json("orders", "show", order.order_id)["status"] == "unshipped"
    clock.advance(900)
    assert run.json("orders", "cancel", order.order_id, "--yes")["status"] == "accepted"
    assert len(puts(wire)) == 1


def test_an_answer_lost_on_the_way_is_looked_up_at_bol_not_sent_twice(sim, run, wire, clock, authorized):
    order = open_merchant_order(sim)
    sim.request_cancellation(order.items[0].order_item_id)
    run("orders", "import", "bol NL")
    sim.faults.add(operation="cancel-order-item", kind="lost-answer")
    lost = run("orders", "cancel", order.order_id, "--yes", code=1)
    assert "bol's answer did not arrive" in lost.stderr and "asking again checks with bol" in lost.stderr
    clock.advance(5)
    assert run.json("orders", "cancel", order.order_id, "--yes")["status"] == "accepted"
    assert len(puts(wire)) == 1
    assert any(r.url.params.get("event-type") == "CANCEL_ORDER" for r in wire.requests)
    assert run.json("orders", "show", order.order_id)["status"] == "cancelled"


def test_an_item_bol_cancelled_already_is_accepted_without_a_call(sim, run, wire, authorized):
    """A crash after bol cancelled and before linkolis wrote it down, or the seller cancelled it in the Seller
    Portal: asked again, the order read from bol says it is done."""
    order = open_merchant_order(sim)
    sim.request_cancellation(order.items[0].order_item_id)
    run("orders", "import", "bol NL")
    order.items[0].quantity_cancelled = order.items[0].quantity
    assert run.json("orders", "cancel", order.order_id, "--yes")["status"] == "accepted"
    assert puts(wire) == []
    assert run.json("orders", "show", order.order_id)["status"] == "cancelled"


def test_what_bol_refuses_is_told_in_bols_words_and_keeps_the_order_open(
    sim, run, wire, clock, authorized, monkeypatch
):
    shipped = open_merchant_order(sim)
    run("orders", "import", "bol NL")
    shipped.items[0].quantity_shipped = shipped.items[0].quantity  # shipped meanwhile, linkolis does not know yet
    refused = run("orders", "cancel", shipped.order_id, "--yes", "--reason", "other", code=1)
    assert "bol shows it shipped already; a shipped item cannot be cancelled" in refused.stderr
    assert puts(wire) == []

    late = open_merchant_order(sim)
    run("orders", "import", "bol NL")
    sim.process_seconds = 5
    real_follow = cancellations._follow

    def ship_while_bol_processes(api, oid, line_id, pid):
        late.items[0].quantity_shipped = late.items[0].quantity
        clock.advance(10)
        return real_follow(api, oid, line_id, pid)

    monkeypatch.setattr(cancellations, "_follow", ship_while_bol_processes)
    failed = run.json("orders", "cancel", late.order_id, "--yes", "--reason", "other", code=1)
    assert failed["status"] == "rejected"
    assert "can no longer be cancelled: it is already handled" in failed["message"]
    assert run.json("orders", "show", late.order_id)["status"] == "unshipped"


def test_the_cancel_call_has_a_quota_of_its_own(sim, run, authorized):
    assert client.RATE_LIMITS["cancel-order-item"].burst == client.WINDOWS["cancel-order-item"][0]
    assert "cancel-order-item" in sim.limits


def test_the_bol_plugin_cancels_as_the_hook_contract_wants():
    clock = VirtualClock(START)
    sim = Simulator(clock, orders=40, offers=12, order_window_days=3, validate_responses=True)
    wire = sim.checked_transport()
    asked = next(o for o in sim.orders for i in o.items if i.cancellation_request and i.open)
    plain = next(
        o
        for o in sim.orders
        if o is not asked and all(not i.offer.fbb and i.open and not i.cancellation_request for i in o.items)
    )
    assert_conformance(
        linkolis_bol.plugin,
        authorize=lambda host, name: apps.authorize_direct(
            host, name, {"client_id": sim.client_id, "client_secret": sim.client_secret}
        ),
        host_factory=lambda home, plugins: Host(
            home, clock=clock, extra_plugins=plugins, transport=wire, env={"LINKOLIS_BOL_ENDPOINT": ENDPOINT}
        ),
        cancellations=[{"order": asked.order_id}, {"order": plain.order_id, "reason": "price_error"}],
    )
    assert not wire.problems
    reasons = {i.cancel_reason for o in (asked, plain) for i in o.items if i.cancel_reason}
    assert reasons == {"REQUESTED_BY_CUSTOMER", "INCORRECT_PRICE"}
