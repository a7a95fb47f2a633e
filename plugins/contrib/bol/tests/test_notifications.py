"""Orders in seconds at bol: the simulator keeps bol's push subscriptions and sends an ORDER push to the subscribed
SQS queue (moto's) when an order is placed or cancelled; the plugin subscribes the retailer once, however often the
app is verified, reads a push, and the host stores the order it names without waiting for a poll, once however often
the push comes."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from linkolis_bol.notifications import queue_url, read
from linkolis_bol.simulator import Simulator

from linkolis_host.order_notifications import import_notified
from linkolis_host.testing.simulator import NotifyFaults

V10 = "application/vnd.retailer.v10+json"
ROLE = "arn:aws:iam::123456789012:role/bol-sqs"
QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/bol-orders"


def _client(sim):
    bol = httpx.Client(transport=sim.transport(), base_url="https://bol.sim.test")
    basic = base64.b64encode(f"{sim.client_id}:{sim.client_secret}".encode()).decode()
    token = bol.post(
        "/token",
        params={"grant_type": "client_credentials"},
        headers={"authorization": f"Basic {basic}", "accept": "application/json"},
    ).json()["access_token"]
    bol.headers.update({"authorization": f"Bearer {token}", "accept": V10, "content-type": V10})
    return bol


def _subscribe(bol, **changes):
    body = {"resources": ["ORDER"], "url": QUEUE_URL, "subscriptionType": "AWS_SQS", "identity": ROLE, **changes}
    return bol.post("/retailer/subscriptions", json=body)


# --- the simulator's subscriptions ------------------------------------------------------------------------------


def test_a_retailer_subscribes_to_order_pushes_to_an_sqs_queue_and_manages_it(clock):
    sim = Simulator(clock, orders=1, offers=2, validate_responses=True)
    bol = _client(sim)
    made = _subscribe(bol)
    assert made.status_code == 202 and made.json()["eventType"] == "CREATE_SUBSCRIPTION"
    [listed] = bol.get("/retailer/subscriptions").json()["subscriptions"]
    assert listed == {
        "id": listed["id"],
        "resources": ["ORDER"],
        "subscriptionType": "AWS_SQS",
        "url": QUEUE_URL,
        "enabled": True,
        "identity": ROLE,
    }
    path = f"/retailer/subscriptions/{listed['id']}"
    changed = {"resources": ["ORDER", "SHIPMENT"], "url": QUEUE_URL, "subscriptionType": "AWS_SQS", "identity": ROLE}
    assert bol.put(path, json={**changed, "enabled": False}).status_code == 202
    assert bol.get(path).json()["resources"] == ["ORDER", "SHIPMENT"] and not bol.get(path).json()["enabled"]
    assert bol.delete(path).status_code == 202
    assert bol.get(path).status_code == 404
    assert bol.get("/retailer/subscriptions").json() == {"subscriptions": []}


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"resources": ["ORDERS"]}, "resources[0]"),  # not one of the spec's resources
        ({"subscriptionType": "AWS_SNS"}, "subscriptionType"),  # not one of the spec's types
        ({"url": ""}, "url"),  # the spec: at least one character
        ({"identity": None}, "identity"),  # AWS_SQS needs the role bol assumes (None: left out)
        ({"identity": "bol-sqs"}, "identity"),  # ... as an ARN
        ({"url": "arn:aws:sqs:eu-west-1:123456789012:bol-orders"}, "url"),  # the queue's URL, not its ARN
        ({"url": "https://sqs.us-east-1.amazonaws.com/123456789012/bol-orders"}, "url"),  # Europe only
        ({"subscriptionType": "WEBHOOK", "url": "http://example.com/hook"}, "url"),  # webhooks on https only
        ({"subscriptionType": "GCP_PUBSUB", "url": QUEUE_URL}, "url"),  # a Pub/Sub topic's path
    ],
)
def test_the_simulator_refuses_a_subscription_bol_refuses(clock, changes, named):
    sim = Simulator(clock, orders=1, offers=2)
    bol = _client(sim)
    body = {"resources": ["ORDER"], "url": QUEUE_URL, "subscriptionType": "AWS_SQS", "identity": ROLE, **changes}
    response = bol.post("/retailer/subscriptions", json={k: v for k, v in body.items() if v is not None})
    assert response.status_code == 400
    assert named in [v["name"] for v in response.json()["violations"]] or named in response.json()["detail"]
    assert bol.get("/retailer/subscriptions").json() == {"subscriptions": []}


def test_an_order_placed_or_cancelled_is_pushed_to_the_subscribed_queue_only(clock):
    sim = Simulator(clock, orders=1, offers=4, fbb_share=0.0, process_seconds=0)
    bol = _client(sim)
    _subscribe(bol)
    _subscribe(bol, resources=["SHIPMENT"], url=QUEUE_URL.replace("bol-orders", "shipments"))
    order = sim.add_order()
    [push] = sim.subscriptions.sent
    assert push["retailerId"] == sim.retailer_id
    assert push["event"] == {"resource": "ORDER", "type": "NEW_ORDER", "resourceId": order.order_id}
    item = order.items[0].order_item_id
    body = {"orderItems": [{"orderItemId": item, "reasonCode": "OUT_OF_STOCK"}]}
    assert bol.put("/retailer/orders/cancellation", json=body).status_code == 202
    sim.shipments_truth()  # bol settles the cancellation
    assert [p["event"]["type"] for p in sim.subscriptions.sent] == ["NEW_ORDER", "CANCELLED_ORDER"]


def test_pushes_can_come_twice_or_not_at_all_as_the_faults_ask(clock):
    twice = Simulator(clock, orders=1, offers=2, notify_faults=NotifyFaults(duplicate=1.0))
    _subscribe(_client(twice))
    twice.add_order()
    assert len(twice.subscriptions.sent) == 2 and twice.subscriptions.sent[0] == twice.subscriptions.sent[1]
    lost = Simulator(clock, orders=1, offers=2, notify_faults=NotifyFaults(drop=1.0))
    _subscribe(_client(lost))
    lost.add_order()
    assert lost.subscriptions.sent == []


def test_the_command_line_names_the_sqs_endpoint_and_the_push_faults(clock):
    from linkolis_bol.simulator.__main__ import build, parse_args

    args = parse_args(["--sqs-endpoint", "http://127.0.0.1:5056", "--notify-duplicate", "0.5"])
    sim = build(args, clock)
    assert sim.subscriptions.delivery.sqs_endpoint == "http://127.0.0.1:5056"
    assert sim.subscriptions.faults == NotifyFaults(duplicate=0.5)


# --- the plugin -------------------------------------------------------------------------------------------------


def test_a_push_names_its_retailer_and_order_and_its_copies_share_one_id():
    push = {"retailerId": 1234567, "timestamp": "2026-12-07T08:00:00+01:00", "event": {}}
    push["event"] = {"resource": "ORDER", "type": "NEW_ORDER", "resourceId": "1043965710"}
    event = read(json.dumps(push))
    assert (event.account_id, event.order_ids) == ("1234567", ["1043965710"])
    assert read(json.dumps(push, indent=2)).notification_id == event.notification_id
    later = {**push, "timestamp": "2026-12-07T08:05:00+01:00"}
    assert read(json.dumps(later)).notification_id != event.notification_id
    assert read(json.dumps({**push, "event": {"resource": "PROCESS_STATUS", "resourceId": "1"}})) is None
    assert queue_url("arn:aws:sqs:eu-west-1:123456789012:bol-orders") == QUEUE_URL


@pytest.fixture
def sim_options(moto_endpoint):
    return {"sqs_endpoint": moto_endpoint}


@pytest.fixture
def queue(sqs_queue):
    return sqs_queue


@pytest.fixture
def operator_env(operator_env, queue):
    return {
        **operator_env,
        "LINKOLIS_BOL_NOTIFICATIONS_QUEUE_URL": queue,
        "LINKOLIS_BOL_NOTIFICATIONS_ROLE_ARN": ROLE,
    }


def test_an_authorized_app_is_subscribed_once_however_often_it_is_verified(run, sim, sqs, queue, authorized):
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    [subscription] = sim.subscriptions.subscriptions.values()
    assert (subscription.url, subscription.identity, subscription.resources) == (queue_url(arn), ROLE, ["ORDER"])
    run("apps", "verify", authorized)
    subscription.enabled = False  # bol disables a subscription whose deliveries keep failing
    run("apps", "verify", authorized)
    assert [s.id for s in sim.subscriptions.subscriptions.values()] == [subscription.id] and subscription.enabled


def test_an_order_placed_at_bol_is_stored_from_its_push_once(run, host, sim, sqs, queue, authorized):
    placed = sim.add_order()  # no clock moves, no poll
    first = import_notified(host, "bol")
    assert (first["handled"], first["new"]) == (1, 1)
    assert [o["marketplace_order_id"] for o in run.json("orders", "list", "--app", authorized)] == [placed.order_id]
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(sim.subscriptions.sent[-1]))  # the same push again
    again = import_notified(host, "bol")
    assert (again["duplicates"], again["new"]) == (1, 0)


def test_the_bol_plugin_keeps_the_notification_contract(sim, conformance):
    import linkolis_bol.plugin

    from linkolis_host import apps

    def pushed_order(host, name):
        sim.add_order()
        return json.dumps(sim.subscriptions.sent[-1])

    conformance(
        linkolis_bol.plugin,
        authorize=lambda host, name: apps.authorize_direct(
            host, name, {"client_id": sim.client_id, "client_secret": sim.client_secret}
        ),
        notification=pushed_order,
    )
