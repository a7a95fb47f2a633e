"""ORDER_CHANGE notifications (Notifications API v1): subscribing a seller, reading a message, fetching its order.

Amazon delivers ORDER_CHANGE to an Amazon SQS queue only. The destination (the queue's ARN) belongs to the application
and is made with a grantless token; the subscription belongs to the seller and is made with the seller's token, with
the ``processingDirective`` ORDER_CHANGE requires. Both are looked up before they are made, so subscribing again (after
a new authorization, at each verify) changes nothing.

A message is a signal, not the order: the order is fetched with getOrder of v2026-01-01 with the same
``includedData`` and read by the same ``to_order`` as the polling import.
"""

from __future__ import annotations

import json
from typing import Iterator

from linkolis_host import Context, NotificationEvent, Order, RemoteError

from .client import SpApi, SpApiError
from .orders import INCLUDED, to_order

DESTINATIONS = "/notifications/v1/destinations"
ORDER_CHANGE = "/notifications/v1/subscriptions/ORDER_CHANGE"
DESTINATION_NAME = "linkolis"
# ORDER_CHANGE requires an event filter; status changes and buyers' cancellation requests are what the host stores.
DIRECTIVE = {
    "eventFilter": {
        "eventFilterType": "ORDER_CHANGE",
        "orderChangeTypes": ["OrderStatusChange", "BuyerRequestedChange"],
    }
}


def subscribe(ctx: Context, queue_arn: str) -> str:
    """The seller's ORDER_CHANGE subscription to ``queue_arn``: the existing one, or a new one (and the destination
    with it when the application has none for the queue)."""
    api = SpApi(ctx)
    destination = _destination(api, queue_arn)
    existing = _subscription(api)
    if existing is None:
        body = {"payloadVersion": "1.0", "destinationId": destination, "processingDirective": DIRECTIVE}
        try:
            return api.call_json("POST", ORDER_CHANGE, "createSubscription", json=body)["payload"]["subscriptionId"]
        except SpApiError as exc:
            if exc.status != 409:  # made meanwhile (another process): read it below
                raise
            existing = _subscription(api)
            if existing is None:
                raise
    if existing.get("destinationId") != destination:
        raise RemoteError(
            f"seller {api.seller_id} is subscribed to ORDER_CHANGE already, with another destination "
            f"({existing.get('destinationId')}): delete that subscription (deleteSubscriptionById) to send the "
            f"notifications to {queue_arn}"
        )
    return existing["subscriptionId"]


def unsubscribe(ctx: Context, subscription: str) -> None:
    """Delete the seller's ORDER_CHANGE subscription ``subscription`` (deleteSubscriptionById, grantless); one Amazon
    no longer has is gone already."""
    try:
        SpApi(ctx).call(
            "DELETE", f"{ORDER_CHANGE}/{subscription}", "deleteSubscriptionById", grantless=True, expect=(200,)
        )
    except SpApiError as exc:
        if exc.status != 404:
            raise


def _destination(api: SpApi, queue_arn: str) -> str:
    for found in api.call_json("GET", DESTINATIONS, "getDestinations", grantless=True).get("payload") or []:
        if ((found.get("resource") or {}).get("sqs") or {}).get("arn") == queue_arn:
            return found["destinationId"]
    body = {"name": DESTINATION_NAME, "resourceSpecification": {"sqs": {"arn": queue_arn}}}
    return api.call_json("POST", DESTINATIONS, "createDestination", json=body, grantless=True)["payload"][
        "destinationId"
    ]


def _subscription(api: SpApi) -> dict | None:
    try:
        return api.call_json("GET", ORDER_CHANGE, "getSubscription", expect=(200,))["payload"]
    except SpApiError as exc:
        if exc.status == 404:
            return None
        raise


def read(body: str) -> NotificationEvent | None:
    """An ORDER_CHANGE message as the order it names; None for a message that is not an ORDER_CHANGE."""
    message = json.loads(body)
    if not isinstance(message, dict) or message.get("NotificationType") != "ORDER_CHANGE":
        return None
    change = message["Payload"]["OrderChangeNotification"]
    return NotificationEvent(
        notification_id=message["NotificationMetadata"]["NotificationId"],
        account_id=change["SellerId"],
        order_ids=[change["AmazonOrderId"]],
    )


def fetch(ctx: Context, order_ids: list[str]) -> Iterator[Order]:
    """The orders of the app's marketplace among ``order_ids`` (a seller's order in another marketplace is that
    marketplace's app's), as the polling import reads them."""
    api = SpApi(ctx)
    for order_id in order_ids:
        raw = api.get_order(order_id, INCLUDED)["order"]
        if ((raw.get("salesChannel") or {}).get("marketplaceId") or api.market.id) != api.market.id:
            continue
        yield to_order(raw, api.market.id)
