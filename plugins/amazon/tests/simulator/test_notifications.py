"""The Notifications API v1 as the simulator serves it: destinations made with a grantless token, an ORDER_CHANGE
subscription per seller, what Amazon refuses, and the ORDER_CHANGE messages that reach an SQS queue (moto's server,
started here on 127.0.0.1) valid against Amazon's payload schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from linkolis_amazon.simulator import Simulator, contract
from linkolis_amazon.simulator.notifications import Faults, payload_validator
from sim_support import DE, SELLER, UA, SpApi, make_sim

MOTO_ACCOUNT = "123456789012"  # the account moto's server answers as
QUEUE = "linkolis-orders"
ARN = f"arn:aws:sqs:eu-west-1:{MOTO_ACCOUNT}:{QUEUE}"
DESTINATIONS = "/notifications/v1/destinations"
ORDER_CHANGE = "/notifications/v1/subscriptions/ORDER_CHANGE"
DIRECTIVE = {"eventFilter": {"eventFilterType": "ORDER_CHANGE", "orderChangeTypes": ["OrderStatusChange"]}}


# --- moto's SQS, and the two kinds of token -------------------------------------------------------------------


@pytest.fixture
def sqs(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A boto3 SQS client on moto with a fresh queue named QUEUE (what the operator would have created)."""
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("sqs", region_name="eu-west-1", endpoint_url=moto_endpoint)
    url = client.create_queue(QueueName=QUEUE)["QueueUrl"]
    client.purge_queue(QueueUrl=url)
    yield client
    client.delete_queue(QueueUrl=url)


class Grantless:
    """The application's own calls: an access token of scope ``sellingpartnerapi::notifications``."""

    def __init__(self, sim: Simulator) -> None:
        self.http = sim.client()
        r = self.http.post(
            "/auth/o2/token",
            data={
                "grant_type": "client_credentials",
                "scope": "sellingpartnerapi::notifications",
                "client_id": sim.client_id,
                "client_secret": sim.client_secret,
            },
        )
        self.token = r.json()["access_token"]

    def send(self, method: str, path: str, body: Any = None) -> httpx.Response:
        headers = {"x-amz-access-token": self.token, "user-agent": UA}
        return self.http.request(method, path, headers=headers, json=body)


@pytest.fixture
def app(sim: Simulator, conforms: Any) -> Iterator[Grantless]:
    client = Grantless(sim)
    yield client
    client.http.close()


def _destination(app: Grantless, arn: str = ARN) -> str:
    r = app.send("POST", DESTINATIONS, {"name": "linkolis", "resourceSpecification": {"sqs": {"arn": arn}}})
    assert r.status_code == 200, r.text
    return r.json()["payload"]["destinationId"]


def _subscribe(api: SpApi, destination_id: str, directive: Any = DIRECTIVE) -> httpx.Response:
    body = {"payloadVersion": "1.0", "destinationId": destination_id}
    if directive is not None:
        body["processingDirective"] = directive
    return api.post(ORDER_CHANGE, body)


def _error(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["errors"][0]["code"]


# --- destinations -------------------------------------------------------------------------------------------


def test_a_destination_is_made_listed_read_and_deleted_with_a_grantless_token(app, conforms):
    made = conforms(
        app.send("POST", DESTINATIONS, {"name": "linkolis", "resourceSpecification": {"sqs": {"arn": ARN}}})
    )
    assert made.status_code == 200 and made.headers["x-amzn-RateLimit-Limit"] == "1"
    dest = made.json()["payload"]
    assert dest["name"] == "linkolis" and dest["resource"] == {"sqs": {"arn": ARN}}

    assert conforms(app.send("GET", DESTINATIONS)).json() == {"payload": [dest]}
    assert conforms(app.send("GET", f"{DESTINATIONS}/{dest['destinationId']}")).json() == {"payload": dest}

    assert conforms(app.send("DELETE", f"{DESTINATIONS}/{dest['destinationId']}")).status_code == 200
    assert app.send("GET", DESTINATIONS).json() == {"payload": []}
    assert _error(conforms(app.send("GET", f"{DESTINATIONS}/{dest['destinationId']}"))) == (404, "NotFound")


def test_destinations_refuse_a_sellers_token_as_grantless_operations_do(api, conforms):
    r = conforms(api.post(DESTINATIONS, {"name": "x", "resourceSpecification": {"sqs": {"arn": ARN}}}))
    assert _error(r) == (403, "Unauthorized") and "grantless" in r.json()["errors"][0]["details"]


def test_a_destination_must_name_one_resource_and_one_queue_once(app, conforms):
    neither = conforms(app.send("POST", DESTINATIONS, {"name": "x", "resourceSpecification": {}}))
    assert _error(neither) == (400, "InvalidInput")
    bad_arn = conforms(app.send("POST", DESTINATIONS, {"name": "x", "resourceSpecification": {"sqs": {"arn": "q"}}}))
    assert _error(bad_arn) == (400, "InvalidInput")  # the model's pattern ^arn:aws:sqs:...
    _destination(app)
    assert _error(
        conforms(app.send("POST", DESTINATIONS, {"name": "y", "resourceSpecification": {"sqs": {"arn": ARN}}}))
    ) == (409, "Conflict")


def test_destinations_are_rate_limited_by_the_models_usage_plan(app):
    plan = contract.plan(contract.SPAPI.operation("getDestinations"))
    assert (plan.rate, plan.burst) == ("1", 5)
    statuses = [app.send("GET", DESTINATIONS).status_code for _ in range(plan.burst + 1)]
    assert statuses == [200] * plan.burst + [429]


# --- subscriptions ------------------------------------------------------------------------------------------


def test_a_seller_subscribes_to_order_change_and_reads_it_back(app, api, conforms):
    dest = _destination(app)
    made = conforms(_subscribe(api, dest))
    assert made.status_code == 200, made.text
    sub = made.json()["payload"]
    assert sub["destinationId"] == dest and sub["payloadVersion"] == "1.0" and sub["processingDirective"] == DIRECTIVE

    assert conforms(api.get(ORDER_CHANGE)).json() == {"payload": sub}
    by_id = f"{ORDER_CHANGE}/{sub['subscriptionId']}"
    assert conforms(app.send("GET", by_id)).json() == {"payload": sub}  # getSubscriptionById is grantless

    assert _error(conforms(_subscribe(api, dest))) == (409, "Conflict")  # one per seller and type
    assert _error(conforms(app.send("DELETE", f"{DESTINATIONS}/{dest}"))) == (409, "Conflict")  # still in use
    assert conforms(app.send("DELETE", by_id)).status_code == 200
    assert _error(conforms(api.get(ORDER_CHANGE))) == (404, "NotFound")


def test_order_change_without_a_processing_directive_is_refused(app, api, conforms):
    dest = _destination(app)
    assert _error(conforms(_subscribe(api, dest, directive=None))) == (400, "InvalidInput")
    wrong_filter = {"eventFilter": {"eventFilterType": "ANY_OFFER_CHANGED"}}
    assert _error(conforms(_subscribe(api, dest, directive=wrong_filter))) == (400, "InvalidInput")
    assert _error(conforms(api.get(ORDER_CHANGE))) == (404, "NotFound")


def test_order_change_to_an_eventbridge_destination_is_refused(app, api, conforms):
    spec = {"eventBridge": {"accountId": MOTO_ACCOUNT, "region": "eu-west-1"}}
    made = conforms(app.send("POST", DESTINATIONS, {"name": "bridge", "resourceSpecification": spec}))
    assert made.status_code == 200 and made.json()["payload"]["resource"]["eventBridge"]["accountId"] == MOTO_ACCOUNT
    r = conforms(_subscribe(api, made.json()["payload"]["destinationId"]))
    assert _error(r) == (400, "InvalidInput") and "SQS" in r.json()["errors"][0]["details"]


def test_a_subscription_to_an_unknown_destination_or_payload_version_is_refused(app, api, conforms):
    assert _error(conforms(_subscribe(api, "no-such-destination"))) == (404, "NotFound")
    body = {"payloadVersion": "9.9", "destinationId": _destination(app), "processingDirective": DIRECTIVE}
    assert _error(conforms(api.post(ORDER_CHANGE, body))) == (400, "InvalidInput")


# --- delivery -----------------------------------------------------------------------------------------------


def _subscribed(sim: Simulator) -> tuple[SpApi, str]:
    app, api = Grantless(sim), SpApi(sim)
    sub = _subscribe(api, _destination(app)).json()["payload"]
    return api, sub["subscriptionId"]


def _received(sqs: Any) -> list[dict[str, Any]]:
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    out: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return out
        for m in got:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def _sku(sim: Simulator) -> str:
    truth = sim.stock_truth(SELLER)[SELLER]
    return next(s for s, per in truth.items() if DE in per and per[DE]["fulfillment"] == "MFN")


def test_an_order_placed_shipped_and_cancelled_reaches_the_queue_as_order_change(clock, sqs, moto_endpoint):
    sim = make_sim(clock, sqs_endpoint=moto_endpoint)
    _, subscription_id = _subscribed(sim)
    sku = _sku(sim)

    placed = sim.add_order([(sku, 2)], "DE")
    clock.advance(60)
    sim.advance_order(placed)  # PENDING -> UNSHIPPED
    cancelled = sim.add_order([(sku, 1)], "DE", status="UNSHIPPED")
    sim.cancel_in_seller_central(cancelled)

    messages = _received(sqs)
    for m in messages:
        assert list(payload_validator().iter_errors(m)) == []
    seen = [
        (
            m["Payload"]["OrderChangeNotification"]["AmazonOrderId"],
            m["Payload"]["OrderChangeNotification"]["Summary"]["OrderStatus"],
        )
        for m in messages
    ]
    assert seen == [(placed, "Pending"), (placed, "Unshipped"), (cancelled, "Unshipped"), (cancelled, "Canceled")]
    first = messages[0]
    change = first["Payload"]["OrderChangeNotification"]
    assert first["NotificationType"] == "ORDER_CHANGE" and change["SellerId"] == SELLER
    assert first["NotificationMetadata"]["SubscriptionId"] == subscription_id
    assert first["NotificationMetadata"]["ApplicationId"] == sim.application_id
    assert change["Summary"]["MarketplaceId"] == DE and change["Summary"]["OrderItems"][0]["Quantity"] == 2
    assert len({m["NotificationMetadata"]["NotificationId"] for m in messages}) == 4


def test_the_event_filter_keeps_changes_the_subscription_did_not_ask_for(clock, sqs, moto_endpoint):
    sim = make_sim(clock, sqs_endpoint=moto_endpoint)
    _subscribed(sim)  # orderChangeTypes: OrderStatusChange only
    oid = sim.add_order([(_sku(sim), 1)], "DE", status="UNSHIPPED")
    sim.request_cancellation(oid)  # a BuyerRequestedChange
    assert [m["Payload"]["OrderChangeNotification"]["OrderChangeType"] for m in _received(sqs)] == ["OrderStatusChange"]


def test_without_an_sqs_endpoint_nothing_is_delivered(clock, sqs):
    sim = make_sim(clock)
    _subscribed(sim)
    sim.add_order([(_sku(sim), 1)], "DE")
    assert _received(sqs) == []
    assert len(sim.notifications.sent) == 1  # what would have gone


def test_no_subscription_no_message(clock, sqs, moto_endpoint):
    sim = make_sim(clock, sqs_endpoint=moto_endpoint)
    _destination(Grantless(sim))
    sim.add_order([(_sku(sim), 1)], "DE")
    assert _received(sqs) == []


# --- faults: at-least-once and out of order, as SQS can be ---------------------------------------------------


def _placed(sim: Simulator, n: int) -> list[str]:
    _subscribed(sim)
    sku = _sku(sim)
    return [sim.add_order([(sku, 1)], "DE", consume_stock=False) for _ in range(n)]


def _order_ids(sim: Simulator) -> list[str]:
    return [m["Payload"]["OrderChangeNotification"]["AmazonOrderId"] for m in sim.notifications.sent]


def test_every_message_twice_with_duplicate_one(clock):
    sim = make_sim(clock, notification_faults=Faults(duplicate=1.0))
    placed = _placed(sim, 3)
    sent = sim.notifications.sent
    assert _order_ids(sim) == [o for o in placed for _ in range(2)]
    assert sent[0]["NotificationMetadata"]["NotificationId"] == sent[1]["NotificationMetadata"]["NotificationId"]


def test_dropped_messages_never_go_and_the_draw_is_seeded(clock):
    runs = []
    for _ in range(2):
        sim = make_sim(clock, notification_faults=Faults(drop=0.5), seed=7)
        placed = _placed(sim, 20)
        runs.append(_order_ids(sim))
    assert 0 < len(runs[0]) < 20 and set(runs[0]) < set(placed)
    assert runs[0] == runs[1]  # the same seed drops the same ones


def test_delayed_messages_wait_for_the_clock(clock):
    sim = make_sim(clock, notification_faults=Faults(delay=1.0, delay_seconds=30))
    placed = _placed(sim, 2)
    assert _order_ids(sim) == []
    clock.advance(29)
    sim.tick()
    assert _order_ids(sim) == []
    clock.advance(1)
    sim.tick()
    assert _order_ids(sim) == placed


def test_a_reordered_message_arrives_after_the_next_one(clock):
    sim = make_sim(clock, notification_faults=Faults(reorder=1.0))
    a, b = _placed(sim, 2)
    assert _order_ids(sim) == []  # both held: each waits for a later message
    sim.tick()
    assert sorted(_order_ids(sim)) == sorted([a, b])
    sim2 = make_sim(clock, seed=3, notification_faults=Faults(reorder=0.5))
    placed = _placed(sim2, 30)
    sim2.tick()
    got = _order_ids(sim2)
    assert sorted(got) == sorted(placed) and got != placed


# --- the command line -----------------------------------------------------------------------------------------


def test_the_command_line_names_the_sqs_endpoint_and_the_delivery_faults(clock):
    from linkolis_amazon.simulator.__main__ import build, describe, parse_args

    args = parse_args(["--sqs-endpoint", "http://127.0.0.1:5056", "--notify-duplicate", "0.5", "--notify-drop", "0.2"])
    sim = build(args, clock)
    assert sim.notifications.sqs_endpoint == "http://127.0.0.1:5056"
    assert sim.notifications.faults == Faults(duplicate=0.5, drop=0.2)
    assert any("ORDER_CHANGE notifications go to http://127.0.0.1:5056" in line for line in describe(sim, "B", args))

    quiet = parse_args([])
    assert any("not delivered" in line for line in describe(build(quiet, clock), "B", quiet))
