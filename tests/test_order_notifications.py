"""Orders by notification, through the host: an app is subscribed when it is authorized or verified (a failure only
warns), a message names an account's orders, the apps of that account fetch them, and the host stores them as an
import does (reserving their units); a copy stores nothing twice. moto's SQS on 127.0.0.1 is the queue."""

from __future__ import annotations

import json

import pytest
from helpers import authorize_app, install_app

from linkolis_host.order_notifications import import_notified


def calls(market, hook):
    return [(ctx, args) for name, ctx, args in market.seen if name == hook]


@pytest.fixture
def queue(sqs_queue):
    """The operator's queue (the host's pytest plugin makes a fresh one at moto for each test)."""
    return sqs_queue


@pytest.fixture
def operator_env(queue):
    return {"LINKOLIS_TESTMARKET_NOTIFICATIONS_QUEUE_URL": queue}


def arn_of(sqs, queue: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def notify(sqs, queue: str, notification_id: str, account: str, *orders: str, alias: bool = False) -> None:
    body = {"market": "testmarket", "id": notification_id, "account": account, "orders": list(orders), "alias": alias}
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(body))


def reserved(run, sku: str) -> int:
    return next(r["reserved"] for r in run.json("stock", "list") if r["sku"] == sku)


def test_hook_subscribe_notifications(run, market, sqs, queue):
    install_app(run, "Shop EU", "EU")
    authorize_app(run, "Shop EU", "SELLER1")
    [(ctx, args)] = calls(market, "subscribe_notifications")
    assert args == {"queue_arn": arn_of(sqs, queue)}, "the host reads the ARN from the queue's attributes"
    assert ctx.app.name == "Shop EU" and market.subscriptions == {"SELLER1": arn_of(sqs, queue)}

    report = run.json("apps", "verify", "Shop EU")
    assert len(calls(market, "subscribe_notifications")) == 2, "verifying subscribes again: the plugin is idempotent"
    assert "order notifications" not in [c["name"] for c in report["checks"]]

    market.refuse_subscription = "the queue policy does not let the marketplace in"
    authorize_app(run, "Shop EU", "SELLER1")  # the authorization stands
    assert run.json("apps", "show", "Shop EU")["status"] == "authorized"
    report = run.json("apps", "verify", "Shop EU")
    [warning] = [c for c in report["checks"] if c["name"] == "order notifications"]
    assert warning["status"] == "warning" and "queue policy" in warning["detail"]
    assert run.json("apps", "show", "Shop EU")["status"] == "verified", "a warning never fails the verification"


def test_no_queue_no_subscription(run, market):
    run.host.env.pop("LINKOLIS_TESTMARKET_NOTIFICATIONS_QUEUE_URL", None)
    install_app(run, "Shop EU", "EU")
    authorize_app(run, "Shop EU", "SELLER1")
    assert calls(market, "subscribe_notifications") == []


def test_hook_read_notification(run, host, market, sqs, queue):
    install_app(run, "Shop EU", "EU", "--stock-sync")
    authorize_app(run, "Shop EU", "SELLER1")
    market.add_order("O-1")
    notify(sqs, queue, "N-1", "SELLER1", "O-1")
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"something": "else"}))  # not the market's

    counts = import_notified(host, "testmarket")
    assert (counts["received"], counts["handled"], counts["failed"], counts["new"]) == (2, 1, 1, 1)
    assert [o["marketplace_order_id"] for o in run.json("orders", "list")] == ["O-1"]


def test_hook_fetch_orders(run, host, market, sqs, queue):
    """One account, two apps (EU and US): each fetches the orders named, keeps its own, and stores them as an import
    does, reserving their units; the same notification again stores nothing twice."""
    for name, region in (("Shop EU", "EU"), ("Shop US", "US")):
        install_app(run, name, region, "--stock-sync")
        authorize_app(run, name, "SELLER1")
    run("stock", "set", "SKU-0", "5")
    market.add_order("O-EU", region="EU")
    market.add_order("O-US", region="US")
    notify(sqs, queue, "N-1", "SELLER1", "O-EU", "O-US")
    notify(sqs, queue, "N-2", "SELLER9", "O-EU")  # an account no app connects: nothing to fetch

    counts = import_notified(host, "testmarket")
    assert (counts["handled"], counts["new"]) == (2, 2)
    fetched = [(ctx.app.name, args["order_ids"]) for ctx, args in calls(market, "fetch_orders")]
    assert fetched == [("Shop EU", ["O-EU", "O-US"]), ("Shop US", ["O-EU", "O-US"])]
    assert {(o["app"], o["marketplace_order_id"]) for o in run.json("orders", "list")} == {
        ("Shop EU", "O-EU"),
        ("Shop US", "O-US"),
    }
    assert reserved(run, "SKU-0") == 2

    notify(sqs, queue, "N-1", "SELLER1", "O-EU", "O-US")  # delivered twice
    again = import_notified(host, "testmarket")
    assert (again["duplicates"], again["new"]) == (1, 0)
    assert len(run.json("orders", "list")) == 2 and reserved(run, "SKU-0") == 2


def test_hook_unsubscribe_notifications(run, market, sqs, queue):
    install_app(run, "Shop EU", "EU")
    authorize_app(run, "Shop EU", "SELLER1")
    assert market.subscriptions == {"SELLER1": arn_of(sqs, queue)}

    run("apps", "remove", "Shop EU", "--yes")
    [(ctx, args)] = calls(market, "unsubscribe_notifications")
    assert args == {"subscription": "subscription-SELLER1"} and ctx.app.name == "Shop EU"
    assert market.subscriptions == {}


def test_a_notification_naming_another_id_of_the_account_finds_its_app_by_asking_once(run, host, market, sqs, queue):
    """bol's pushes name the retailer, while a bol app is connected by its client id: the host asks the apps which
    has the order, remembers it, and asks only that one the next time."""
    for name, region, account in (("Shop EU", "EU", "SELLER1"), ("Shop US", "US", "SELLER2")):
        install_app(run, name, region, "--stock-sync")
        authorize_app(run, name, account)
    market.add_order("O-US", region="US")
    notify(sqs, queue, "N-1", "RETAILER-7", "O-US", alias=True)
    assert import_notified(host, "testmarket")["new"] == 1
    assert [ctx.app.name for ctx, _ in calls(market, "fetch_orders")] == ["Shop EU", "Shop US"]
    assert [(o["app"], o["marketplace_order_id"]) for o in run.json("orders", "list")] == [("Shop US", "O-US")]

    market.seen.clear()
    market.add_order("O-US-2", region="US")
    notify(sqs, queue, "N-2", "RETAILER-7", "O-US-2", alias=True)
    assert import_notified(host, "testmarket")["new"] == 1
    assert [ctx.app.name for ctx, _ in calls(market, "fetch_orders")] == ["Shop US"]
