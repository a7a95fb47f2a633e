"""bol's push notification subscriptions (``/retailer/subscriptions``) and the ORDER pushes sent to an SQS queue.

A subscription belongs to the retailer whose token made it. Its shape is bol's spec's (``SubscriptionRequest``,
checked by the contract before this runs: the ``resources`` and ``subscriptionType`` enums, a non-empty ``url``);
what the spec leaves to prose is refused here as bol documents it: an ``AWS_SQS`` subscription needs an ``identity``
(the IAM role bol assumes, "in format of AWS ARN") and a ``url`` that is the queue's URL in a European region, a
``WEBHOOK`` an https URL, a ``GCP_PUBSUB`` a topic's full path. Create, update and delete answer 202 with a process
status, as bol's spec has them, and take effect when it is final.

Delivery: with ``sqs_endpoint`` set, each ORDER event (an order placed, an order item cancelled) becomes one push,
``{"retailerId", "timestamp", "event": {"resource": "ORDER", "type", "resourceId": orderId}}`` (the shape of bol's
documented push messages), sent with the kit's ``SqsDelivery`` (its faults: duplicate, delay, reorder, drop) to the
queue each enabled AWS_SQS subscription to ORDER names. docs/operations.md lists where this differs from bol.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from linkolis_host.testing.simulator import NotifyFaults, SqsDelivery

from .data import iso

ORDER = "ORDER"
SQS_URL = re.compile(r"^https://sqs\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<account>\d{12})/(?P<name>[\w-]{1,80})$")
ROLE_ARN = re.compile(r"^arn:aws:iam::\d{12}:role/[\w+=,.@/-]{1,64}$")
PUBSUB_TOPIC = re.compile(r"^projects/[^/]+/topics/[^/]+$")


@dataclass
class Subscription:
    id: str
    retailer_id: int
    resources: list[str]
    subscription_type: str
    url: str
    enabled: bool = True
    identity: str | None = None

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "resources": list(self.resources),
            "subscriptionType": self.subscription_type,
            "url": self.url,
            "enabled": self.enabled,
        }
        if self.identity:
            out["identity"] = self.identity
        return out


def refusal(body: dict[str, Any]) -> tuple[str, str] | None:
    """(field, reason) when bol refuses a subscription request its spec lets through; None when it takes it."""
    kind, url, identity = body["subscriptionType"], body["url"], body.get("identity")
    if kind == "AWS_SQS":
        if not identity or not ROLE_ARN.match(identity):
            return "identity", "An AWS_SQS subscription needs the ARN of the IAM role bol assumes (arn:aws:iam::...)."
        found = SQS_URL.match(url)
        if found is None:
            return "url", "An AWS_SQS subscription's url is the SQS queue's URL (https://sqs.REGION.amazonaws.com/...)."
        if not found["region"].startswith("eu-"):
            return "url", "The SQS queue must reside in one of the European regions."
    elif kind == "WEBHOOK" and not url.startswith("https://"):
        return "url", "A webhook must be registered on an https URL."
    elif kind == "GCP_PUBSUB" and not PUBSUB_TOPIC.match(url):
        return "url", "A GCP_PUBSUB subscription's url is the topic's full path (projects/ID/topics/NAME)."
    return None


@dataclass
class SubscriptionService:
    """The retailer's subscriptions, and the pushes on their way to SQS."""

    retailer_id: int
    sqs_endpoint: str | None = None
    faults: NotifyFaults = field(default_factory=NotifyFaults)
    seed: int = 1
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    delivery: SqsDelivery = field(init=False)
    _next: int = 1

    def __post_init__(self) -> None:
        self.delivery = SqsDelivery(self.sqs_endpoint, self.faults, seed=f"bol-pushes:{self.seed}")

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Every push sent (or due) to a queue, in order."""
        return self.delivery.sent

    def create(self, body: dict[str, Any]) -> Subscription:
        sub = Subscription(
            str(self._next),
            self.retailer_id,
            list(dict.fromkeys(body["resources"])),
            body["subscriptionType"],
            body["url"],
            body.get("enabled", True),
            body.get("identity"),
        )
        self._next += 1
        self.subscriptions[sub.id] = sub
        return sub

    def update(self, sub: Subscription, body: dict[str, Any]) -> None:
        sub.resources = list(dict.fromkeys(body["resources"]))
        sub.subscription_type, sub.url = body["subscriptionType"], body["url"]
        sub.enabled, sub.identity = body.get("enabled", True), body.get("identity")

    def order_event(self, order_id: str, event_type: str, at: datetime, now: float) -> None:
        """An ORDER event: one push to each enabled AWS_SQS subscription to ORDER."""
        for sub in list(self.subscriptions.values()):
            if sub.enabled and sub.subscription_type == "AWS_SQS" and ORDER in sub.resources:
                push = {
                    "retailerId": self.retailer_id,
                    "timestamp": iso(at),
                    "event": {"resource": ORDER, "type": event_type, "resourceId": order_id},
                }
                self.delivery.enqueue(sub.url, push, now)
        self.delivery.flush(now, release_held=False)
