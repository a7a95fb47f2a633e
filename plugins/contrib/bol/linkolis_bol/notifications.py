"""bol's push notifications for orders: subscribing the retailer, reading a push, fetching the order it names.

bol pushes to an Amazon SQS queue through a subscription of type ``AWS_SQS`` (``POST /retailer/subscriptions``,
resource ``ORDER``): its ``url`` is the queue's URL (bol's documentation: "the URL to your SQS queue", in a European
region) and its ``identity`` the ARN of an IAM role in the operator's AWS account that bol assumes to send
(``notifications_role_arn`` in the operator's settings). The host hands the queue's ARN; its URL is spelled from it.
What exists is looked up first, so subscribing again (after a new authorization, at each verify) changes nothing; a
subscription bol disabled (its deliveries failed for ten minutes) is enabled again.

A push is a signal, not the order: ``{"retailerId", "timestamp", "event": {"resource": "ORDER", "type",
"resourceId"}}``, the order read with ``GET /retailer/orders/{order-id}`` by the polling import's ``to_order``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterator
from urllib.parse import quote

from linkolis_host import Context, NotificationEvent, OperatorConfigError, Order, RemoteError

from .client import Bol, BolError, parse_json
from .orders import to_order

SUBSCRIPTIONS = "/retailer/subscriptions"
ORDER = "ORDER"
PATIENCE = 30.0  # seconds a subscription's process status is followed before the next verify is left to find it


def queue_url(queue_arn: str) -> str:
    """The URL bol's subscription names for the queue ``arn:aws:sqs:REGION:ACCOUNT:NAME``."""
    parts = queue_arn.split(":", 5)
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"]:
        raise OperatorConfigError(f"not an SQS queue's ARN: {queue_arn}")
    _, _, _, region, account, name = parts
    return f"https://sqs.{region}.amazonaws.com/{account}/{name}"


def _ours(subscriptions: list[dict[str, Any]], url: str) -> dict[str, Any] | None:
    for sub in subscriptions:
        if sub.get("subscriptionType") == "AWS_SQS" and sub.get("url") == url and ORDER in (sub.get("resources") or []):
            return sub
    return None


def subscribe(ctx: Context, queue_arn: str) -> str:
    """The retailer's ORDER subscription to ``queue_arn``: the existing one (enabled again if bol disabled it), or a
    new one."""
    role = ctx.operator.notifications_role_arn
    if not role:
        raise OperatorConfigError(
            "bol sends notifications to SQS by assuming an IAM role of yours: set notifications_role_arn under "
            '[plugins.bol] (LINKOLIS_BOL_NOTIFICATIONS_ROLE_ARN); docs/operations.md, "bol\'s subscription"'
        )
    api, url = Bol(ctx), queue_url(queue_arn)
    body = {"resources": [ORDER], "url": url, "subscriptionType": "AWS_SQS", "enabled": True, "identity": role}
    found = _ours(_list(api), url)
    if found is not None and found.get("enabled", True) and found.get("identity") == role:
        return str(found["id"])
    if found is not None:  # disabled by bol, or another role: the same subscription, put right
        path = f"{SUBSCRIPTIONS}/{quote(str(found['id']), safe='')}"
        body["resources"] = sorted(set(found.get("resources") or []) | {ORDER})
        _follow(api, api.json("PUT", path, "put-push-notification-subscription", json=body, expect=(202,)))
        return str(found["id"])
    _follow(api, api.json("POST", SUBSCRIPTIONS, "post-push-notification-subscription", json=body, expect=(202,)))
    made = _ours(_list(api), url)
    if made is None:
        raise RemoteError(f"bol accepted the subscription to {url} but does not list it yet; verify the app again")
    return str(made["id"])


def _list(api: Bol) -> list[dict[str, Any]]:
    return api.json("GET", SUBSCRIPTIONS, "get-push-notification-subscriptions").get("subscriptions") or []


def _follow(api: Bol, status: dict[str, Any]) -> None:
    """Wait for a subscription's process status to be final; a FAILURE or TIMEOUT is raised."""
    waited, pause, pid = 0.0, 0.5, str(status.get("processStatusId", ""))
    while status.get("status") == "PENDING" and waited < PATIENCE:
        api.ctx.clock.sleep(pause)
        waited += pause
        pause = min(4.0, pause * 2)
        response = api.call("GET", f"/shared/process-status/{quote(pid, safe='')}", "get-process-status")
        status = parse_json(response, "get-process-status")
    if status.get("status") in ("FAILURE", "TIMEOUT"):
        raise RemoteError(f"bol did not make the subscription: {status.get('errorMessage') or status['status']}")


def read(body: str) -> NotificationEvent | None:
    """A push about an order as the order it names; None for any other push (another resource, bol's TEST).

    bol's push carries no id of its own. Its copies (SQS delivers at least once) are the same message, so the
    notification id is a digest of the fields that name the event: the retailer, the time, the resource, the
    event's type and the order. Two real events of one order differ in their timestamp or type.
    """
    push = json.loads(body)
    event = push.get("event") if isinstance(push, dict) else None
    if not isinstance(event, dict) or event.get("resource") != ORDER or not event.get("resourceId"):
        return None
    key = [push.get("retailerId"), push.get("timestamp"), ORDER, event.get("type"), event["resourceId"]]
    # A bol app is connected by its client id, and no bol API tells a client its retailer id: the retailer id is
    # an alias, which the host learns by asking the apps for the order once (``NotificationEvent.alias``).
    return NotificationEvent(
        notification_id="bol:" + hashlib.sha256(json.dumps(key).encode()).hexdigest()[:32],
        account_id=str(push["retailerId"]),
        order_ids=[str(event["resourceId"])],
        alias=True,
    )


def fetch(ctx: Context, order_ids: list[str]) -> Iterator[Order]:
    """The orders ``order_ids`` as the polling import reads them; one bol does not know for this retailer (404: the
    host asking whose order it is) is left out."""
    api = Bol(ctx)
    for order_id in order_ids:
        try:
            raw = api.json("GET", f"/retailer/orders/{quote(order_id, safe='')}", "get-order")
        except BolError as exc:
            if exc.status == 404:
                continue
            raise
        yield to_order(raw)
