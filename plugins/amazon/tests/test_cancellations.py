"""An Amazon buyer asks to cancel: linkolis shows the request with Amazon's reason (searchOrders with
``includedData=CANCELLATION``, checked against Amazon's model), asks before shipping it, and, as Amazon's APIs cannot
cancel an order, sends the seller to Seller Central; the next import shows the order the seller cancelled there."""

from __future__ import annotations

from linkolis_amazon.orders import INCLUDED

from linkolis_host import orders


def searches(wire):
    return [r for r in wire.requests if r.url.path == "/orders/2026-01-01/orders"]


def test_a_buyers_request_shows_and_the_seller_is_sent_to_seller_central(run, authorized, sim, host, wire, clock):
    sim.add_listing("MUG-01", ["DE"], quantity=30)
    order_id = sim.add_order([("MUG-01", 2)], "DE", status="UNSHIPPED")
    clock.advance(600)
    run("orders", "import")
    assert run.json("orders", "show", order_id)["cancellation_requested"] is False

    sim.request_cancellation(order_id, "Found cheaper somewhere else")
    clock.advance(600)
    assert run.json("orders", "import")["updated"] >= 1
    assert "CANCELLATION" in searches(wire)[-1].url.params["includedData"].split(",")
    shown = run.json("orders", "show", order_id)
    assert (shown["cancellation_requested"], shown["cancellation_reason"]) == (True, "Found cheaper somewhere else")
    assert shown["lines"][0]["cancellation_requested"] is True
    listed = {
        o["marketplace_order_id"]: o["cancellation_requested"] for o in run.json("orders", "list", "--limit", "500")
    }
    assert listed[order_id] is True
    text = run("orders", "show", order_id)
    assert "The buyer asked to cancel this order: Found cheaper somewhere else." in text.stdout
    assert "Cancel it on the marketplace's own site" in text.stderr

    refused = run("orders", "cancel", order_id, "--yes", code=1)
    assert f"linkolis cannot cancel Amazon orders: cancel order {order_id} on Amazon's own site" in refused.stderr
    ship = run("orders", "ship", order_id, "--carrier", "DHL", "--tracking", "JJD0001", code=2)
    assert "asked to cancel it; shipping it anyway needs --yes" in ship.stderr

    assert sim.cancel_in_seller_central(order_id) == "BUYER_CANCELED"  # the seller does it in Seller Central
    clock.advance(600)
    run("orders", "import")
    after = run.json("orders", "show", order_id)
    assert (after["status"], after["marketplace_status"], after["cancellation_requested"]) == (
        "cancelled",
        "CANCELLED",
        False,
    )


def test_the_seeded_requests_reach_linkolis(run, authorized, sim, host, clock):
    clock.advance(600)
    run("orders", "import")
    now = clock.time()
    truth = {
        o.order_id
        for o in sim.orders.by_id.values()
        if o.marketplace_id == "A1PA6795UKMFR9" and o.cancellation_requested(now) and o.status_at(now) == "UNSHIPPED"
    }
    assert truth, "the seeded shop has buyers who asked to cancel"
    listed = run.json("orders", "list", "--limit", "500")
    assert {o["marketplace_order_id"] for o in listed if o["cancellation_requested"]} == truth
    some = orders.get_order(host, sorted(truth)[0])
    assert some["cancellation_reason"]


def test_the_amazon_app_has_no_cancel_hook_and_asks_for_cancellation_data():
    import linkolis_amazon.plugin

    assert not hasattr(linkolis_amazon.plugin, "cancel_order")
    assert "Seller Central" in linkolis_amazon.plugin.__doc__
    assert "CANCELLATION" in INCLUDED
