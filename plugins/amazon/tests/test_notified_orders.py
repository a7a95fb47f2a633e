"""Orders in seconds: an authorized Amazon app is subscribed to ORDER_CHANGE at once, and an order placed at Amazon is
stored from its notification (moto's SQS between the simulator and the host) without waiting for searchOrders, holding
its units as the polling import would; a notification that comes twice stores its order once."""

from __future__ import annotations

import json

import pytest

from linkolis_host.order_notifications import import_notified

SELLER = "A1SIMSELLER001"
DE = "A1PA6795UKMFR9"
SKU = "FAST-MUG"


@pytest.fixture
def queue(sqs_queue):
    """The operator's queue (the host's pytest plugin makes a fresh one at moto for each test)."""
    return sqs_queue


@pytest.fixture
def sim_options(moto_endpoint):
    return {"sqs_endpoint": moto_endpoint}


@pytest.fixture
def operator_env(operator_env, queue):
    return {**operator_env, "LINKOLIS_AMAZON_NOTIFICATIONS_QUEUE_URL": queue}


def reserved(run) -> int:
    [row] = [r for r in run.json("stock", "list") if r["sku"] == SKU]
    return row["reserved"]


def test_an_order_placed_at_amazon_is_stored_from_its_notification_once(run, host, sim, sqs, queue, authorized):
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    [subscription] = [s for s in sim.notifications.subscriptions.values() if s.seller_id == SELLER]
    assert subscription.notification_type == "ORDER_CHANGE"
    assert sim.notifications.destinations[subscription.destination_id].resource == {"sqs": {"arn": arn}}

    run("apps", "verify", authorized)  # verifying subscribes again: what exists is used, nothing is doubled
    assert [s.subscription_id for s in sim.notifications.subscriptions.values()] == [subscription.subscription_id]
    assert len(sim.notifications.destinations) == 1

    sim.add_listing(SKU, ["DE"], quantity=5)
    run("stock", "set", SKU, "5")
    placed = sim.add_order([(SKU, 2)], "DE")  # no clock moves: searchOrders would not list it for 2 minutes

    first = import_notified(host, "amazon")
    assert (first["handled"], first["new"]) == (1, 1)
    [order] = run.json("orders", "list", "--app", authorized)
    assert (order["marketplace_order_id"], order["marketplace"]) == (placed, DE)
    assert reserved(run) == 2

    copy = sim.notifications.sent[-1]  # Amazon delivers at least once: the same notification again
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(copy))
    again = import_notified(host, "amazon")
    assert (again["received"], again["duplicates"], again["new"]) == (1, 1, 0)
    assert [o["marketplace_order_id"] for o in run.json("orders", "list", "--app", authorized)] == [placed]
    assert reserved(run) == 2


def test_notifications_that_come_in_the_wrong_order_leave_the_order_as_it_stands(run, host, sim, authorized):
    sim.add_listing(SKU, ["DE"], quantity=5)
    run("stock", "set", SKU, "5")
    sim.notifications.faults.reorder = 1.0  # the placement's message is held back behind the next one
    placed = sim.add_order([(SKU, 2)], "DE")
    sim.notifications.faults.reorder = 0.0
    sim.cancel_in_seller_central(placed)
    kinds = [m["Payload"]["OrderChangeNotification"]["Summary"]["OrderStatus"] for m in sim.notifications.sent]
    assert kinds == ["Canceled", "Pending"]  # the cancellation reached the queue first

    result = import_notified(host, "amazon")
    assert (result["handled"], result["new"]) == (2, 1)
    [order] = run.json("orders", "list", "--app", authorized)
    assert (order["marketplace_order_id"], order["status"]) == (placed, "cancelled")
    assert reserved(run) == 0  # the older message did not bring back what the cancellation released


def test_a_notification_lost_on_the_way_is_found_by_the_poll_and_stored_once(run, host, sim, clock, authorized):
    sim.add_listing(SKU, ["DE"], quantity=5)
    run("stock", "set", SKU, "5")
    sim.notifications.faults.drop = 1.0
    placed = sim.add_order([(SKU, 2)], "DE")
    assert import_notified(host, "amazon")["received"] == 0  # Amazon never sent it
    assert run.json("orders", "list", "--app", authorized) == []

    clock.advance(180)  # searchOrders lists it once lastUpdatedBefore has passed it: the net
    run("orders", "import", authorized)
    polled = [o["marketplace_order_id"] for o in run.json("orders", "list", "--app", authorized, "--limit", "500")]
    assert placed in polled  # with the seller's earlier orders, which the first import brings
    assert reserved(run) == 2

    sim.notifications.faults.drop = 0.0
    sim.advance_order(placed, "UNSHIPPED")  # its next change is notified: the same order, updated, not doubled
    result = import_notified(host, "amazon")
    assert (result["handled"], result["new"], result["updated"]) == (1, 0, 1)
    assert [o["marketplace_order_id"] for o in run.json("orders", "list", "--app", authorized, "--limit", "500")] == (
        polled
    )
    assert reserved(run) == 2


def test_removing_the_app_deletes_its_subscription_unless_another_app_shares_it(run, host, sim, authorized):
    [subscription] = sim.notifications.subscriptions
    run("apps", "install", "amazon", "--name", "Amazon FR", "--marketplace", "FR")
    run("apps", "authorize", "Amazon FR")  # the same seller: Amazon keeps one ORDER_CHANGE subscription for both
    assert list(sim.notifications.subscriptions) == [subscription]

    run("apps", "remove", "Amazon FR", "--yes")
    assert list(sim.notifications.subscriptions) == [subscription]  # Amazon DE still uses it
    run("apps", "remove", authorized, "--yes")
    assert sim.notifications.subscriptions == {}
    assert run.json("sync", "status")["notifications"]["apps"] == []


def test_the_amazon_plugin_keeps_the_notification_contract(sim, conformance):
    import linkolis_amazon.plugin

    from linkolis_host import apps

    def notified_order(host, name):
        sim.add_listing(SKU, ["DE"], quantity=5)
        sim.add_order([(SKU, 1)], "DE")
        return json.dumps(sim.notifications.sent[-1])

    conformance(
        linkolis_amazon.plugin,
        install={"name": "Amazon DE", "marketplace": "DE"},
        authorize=lambda host, name: apps.authorize_direct(
            host, name, {"refresh_token": sim.authorize(), "selling_partner_id": sim.default_seller_id}
        ),
        notification=notified_order,
    )
