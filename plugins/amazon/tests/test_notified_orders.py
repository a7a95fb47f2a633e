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
