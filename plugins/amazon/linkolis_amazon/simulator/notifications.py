"""Notifications API v1: destinations, ORDER_CHANGE subscriptions, and the ORDER_CHANGE messages sent to SQS.

Destinations belong to the application and are managed with grantless tokens (scope
``sellingpartnerapi::notifications``), as on Amazon; a subscription belongs to one selling partner and is made with
that seller's token. Only ORDER_CHANGE is served: it is the one notification type linkolis needs.

Refusals follow Amazon's documentation: ORDER_CHANGE needs a ``processingDirective`` (its ``eventFilter`` of
``eventFilterType`` ORDER_CHANGE) and is delivered to Amazon SQS only, so a subscription to an EventBridge
destination is refused; a second subscription of one seller to one type, or a second destination for one queue, is a
409 Conflict.

Delivery: with ``sqs_endpoint`` set, each order placed, changing status, asked to be cancelled or cancelled becomes
one ORDER_CHANGE message (valid against ``notification-order-change.json``) sent with boto3 to the queue the
destination's ARN names (``arn:aws:sqs:REGION:ACCOUNT:NAME``) at that endpoint. Without it nothing is sent; the
messages are still kept in ``sent`` so a test can read what would have gone. Sending and the fault options
(``duplicate``, ``delay``, ``reorder``, ``drop``) are the kit's ``SqsDelivery``, shared with bol's simulator.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from linkolis_host.testing.simulator import NotifyFaults, SqsDelivery

from .accounts import INVENTORY_AND_ORDER_TRACKING
from .contract import load_model
from .orders_v0 import V0_STATUS
from .wire import ApiError, Call, invalid_input, iso_ms, not_found

NOTIFICATIONS_SCOPE = "sellingpartnerapi::notifications"
PAYLOAD_SCHEMA = "notification-order-change.json"
ORDER_CHANGE = "ORDER_CHANGE"
SUPPORTED_TYPES = (ORDER_CHANGE,)
PAYLOAD_VERSIONS = ("1.0",)
# Operations Amazon serves to grantless tokens only (each one's model description says "is grantless").
GRANTLESS = {"createDestination", "getDestinations", "getDestination", "deleteDestination"}
GRANTLESS |= {"getSubscriptionById", "deleteSubscriptionById"}
# The Orders API's statuses as the notification's summary spells them: as Orders v0 does.
ORDER_STATUS = V0_STATUS


@cache
def payload_validator() -> Any:
    """A jsonschema validator for ORDER_CHANGE messages (``notification-order-change.json``)."""
    import jsonschema

    schema = load_model(PAYLOAD_SCHEMA)
    return jsonschema.validators.validator_for(schema)(schema)


@dataclass
class Destination:
    destination_id: str
    name: str
    resource: dict[str, Any]  # {"sqs": {"arn": ...}} or {"eventBridge": {...}}

    def body(self) -> dict[str, Any]:
        return {"destinationId": self.destination_id, "name": self.name, "resource": self.resource}


@dataclass
class Subscription:
    subscription_id: str
    seller_id: str
    notification_type: str
    payload_version: str
    destination_id: str
    processing_directive: dict[str, Any]

    def body(self) -> dict[str, Any]:
        return {
            "subscriptionId": self.subscription_id,
            "payloadVersion": self.payload_version,
            "destinationId": self.destination_id,
            "processingDirective": self.processing_directive,
        }

    def wants(self, marketplace_id: str, change_type: str) -> bool:
        """Whether the subscription's event filter lets this change through."""
        f = self.processing_directive.get("eventFilter") or {}
        mids, types = f.get("marketplaceIds"), f.get("orderChangeTypes")
        return (not mids or marketplace_id in mids) and (not types or change_type in types)


# The delivery faults are the kit's (``Faults`` kept as the name this simulator's callers know).
Faults = NotifyFaults


@dataclass
class NotificationService:
    """The application's destinations, every seller's subscriptions, and the messages on their way to SQS."""

    ids: Any  # ids.IdSource
    application_id: str
    sqs_endpoint: str | None = None
    faults: Faults = field(default_factory=Faults)
    seed: int = 0
    destinations: dict[str, Destination] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    delivery: SqsDelivery = field(init=False)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.delivery = SqsDelivery(self.sqs_endpoint, self.faults, seed=f"notifications:{self.seed}")

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Every message sent (or due) to a queue, in order."""
        return self.delivery.sent

    # --- destinations (grantless) ------------------------------------------------------------------------------

    def create_destination(self, call: Call) -> dict[str, Any]:
        body = call.json_body()
        spec = body.get("resourceSpecification") or {}
        kinds = [k for k in ("sqs", "eventBridge") if spec.get(k)]
        if len(kinds) != 1:
            raise invalid_input("resourceSpecification must name one resource: sqs or eventBridge.")
        if kinds == ["sqs"]:
            resource: dict[str, Any] = {"sqs": {"arn": spec["sqs"]["arn"]}}
            if any(d.resource.get("sqs") == resource["sqs"] for d in self.destinations.values()):
                raise ApiError(409, "Conflict", "Destination already exists.", f"Queue {spec['sqs']['arn']}")
        else:
            eb = spec["eventBridge"]
            resource = {
                "eventBridge": {
                    "name": f"aws.partner/sellingpartnerapi.amazon.com/{eb['accountId']}/{self.application_id}",
                    "region": eb["region"],
                    "accountId": eb["accountId"],
                }
            }
        dest = Destination(self.ids.uuid(), body["name"], resource)
        self.destinations[dest.destination_id] = dest
        return {"payload": dest.body()}

    def get_destinations(self, call: Call) -> dict[str, Any]:
        return {"payload": [d.body() for d in self.destinations.values()]}

    def _destination(self, destination_id: str) -> Destination:
        dest = self.destinations.get(destination_id)
        if dest is None:
            raise not_found(f"Destination {destination_id} not found.")
        return dest

    def get_destination(self, call: Call) -> dict[str, Any]:
        return {"payload": self._destination(call.path["destinationId"]).body()}

    def delete_destination(self, call: Call) -> dict[str, Any]:
        dest = self._destination(call.path["destinationId"])
        if any(s.destination_id == dest.destination_id for s in self.subscriptions.values()):
            raise ApiError(409, "Conflict", "The destination has subscriptions.", "Delete its subscriptions first.")
        del self.destinations[dest.destination_id]
        return {}

    # --- subscriptions -----------------------------------------------------------------------------------------

    def _type(self, call: Call) -> str:
        ntype = call.path["notificationType"]
        if ntype not in SUPPORTED_TYPES:
            raise invalid_input(f"The simulator serves notification type ORDER_CHANGE only, not {ntype}.")
        return ntype

    def create_subscription(self, call: Call) -> dict[str, Any]:
        ntype = self._type(call)
        if not call.account.has(INVENTORY_AND_ORDER_TRACKING):
            raise ApiError(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                f"{ntype} needs the {INVENTORY_AND_ORDER_TRACKING} role.",
            )
        body = call.json_body()
        if body["payloadVersion"] not in PAYLOAD_VERSIONS:
            raise invalid_input(f"payloadVersion {body['payloadVersion']} is not one of {ntype}'s: 1.0.")
        directive = body.get("processingDirective")
        event_filter = (directive or {}).get("eventFilter")
        if not event_filter:
            raise invalid_input(f"{ntype} subscriptions require a processingDirective with an eventFilter.")
        if event_filter.get("eventFilterType") != ORDER_CHANGE:
            raise invalid_input(f"{ntype} subscriptions take an eventFilter of eventFilterType ORDER_CHANGE.")
        dest = self.destinations.get(body["destinationId"])
        if dest is None:
            raise not_found(f"Destination {body['destinationId']} not found.")
        if "sqs" not in dest.resource:
            raise invalid_input(f"{ntype} notifications are delivered to Amazon SQS destinations only.")
        for s in self.subscriptions.values():
            if s.seller_id == call.account.selling_partner_id and s.notification_type == ntype:
                raise ApiError(409, "Conflict", "Subscription already exists.", s.subscription_id)
        sub = Subscription(
            self.ids.uuid(),
            call.account.selling_partner_id,
            ntype,
            body["payloadVersion"],
            dest.destination_id,
            directive,
        )
        self.subscriptions[sub.subscription_id] = sub
        return {"payload": sub.body()}

    def get_subscription(self, call: Call) -> dict[str, Any]:
        ntype = self._type(call)
        for s in self.subscriptions.values():
            if s.seller_id == call.account.selling_partner_id and s.notification_type == ntype:
                return {"payload": s.body()}
        raise not_found(f"No subscription to {ntype} found.")

    def _subscription(self, call: Call) -> Subscription:
        ntype = self._type(call)
        sub = self.subscriptions.get(call.path["subscriptionId"])
        if sub is None or sub.notification_type != ntype:
            raise not_found(f"Subscription {call.path['subscriptionId']} not found.")
        return sub

    def get_subscription_by_id(self, call: Call) -> dict[str, Any]:
        return {"payload": self._subscription(call).body()}

    def delete_subscription_by_id(self, call: Call) -> dict[str, Any]:
        del self.subscriptions[self._subscription(call).subscription_id]
        return {}

    # --- delivery ----------------------------------------------------------------------------------------------

    def order_changed(self, order: Any, change_type: str, reason: str, now: float) -> None:
        """An order was placed or changed: one ORDER_CHANGE message to each subscription that wants it."""
        with self._lock:
            for sub in list(self.subscriptions.values()):
                if sub.seller_id != order.seller_id or not sub.wants(order.marketplace_id, change_type):
                    continue
                dest = self.destinations.get(sub.destination_id)
                if dest is None or "sqs" not in dest.resource:
                    continue
                self.delivery.enqueue(
                    dest.resource["sqs"]["arn"],
                    message(order, sub, self.application_id, change_type, reason, now, self.ids.uuid()),
                    now,
                )
            self.flush(now, release_held=False)

    def flush(self, now: float, release_held: bool = True) -> int:
        """Send every message due by ``now`` (the kit's ``SqsDelivery.flush``)."""
        with self._lock:
            return self.delivery.flush(now, release_held)


def message(
    order: Any, sub: Subscription, application_id: str, change_type: str, reason: str, now: float, notification_id: str
) -> dict[str, Any]:
    """One ORDER_CHANGE message for an order as it stands at ``now``."""
    status = order.status_at(now)
    shipped = order.quantities_shipped(now)
    asked = order.cancellation_requested(now) is not None
    items = [
        {
            "OrderItemId": it.order_item_id,
            "SellerSKU": it.sku,
            "SupplySourceId": None,
            "OrderItemStatus": "Shipped" if shipped.get(it.order_item_id, 0) >= it.quantity else "Unshipped",
            "Quantity": it.quantity,
            "QuantityShipped": shipped.get(it.order_item_id, 0),
            "IsBuyerRequestedCancel": asked,
        }
        for it in order.items
    ]
    n_shipped = sum(shipped.values())
    return {
        "NotificationVersion": "1.0",
        "NotificationType": ORDER_CHANGE,
        "PayloadVersion": sub.payload_version,
        "EventTime": iso_ms(now),
        "Payload": {
            "OrderChangeNotification": {
                "NotificationLevel": "OrderLevel",
                "SellerId": order.seller_id,
                "AmazonOrderId": order.order_id,
                "OrderChangeType": change_type,
                "OrderChangeTrigger": {"TimeOfOrderChange": iso_ms(order.updated_at(now)), "ChangeReason": reason},
                "Summary": {
                    "MarketplaceId": order.marketplace_id,
                    "OrderStatus": ORDER_STATUS[status],
                    "PurchaseDate": iso_ms(order.created),
                    "DestinationPostalCode": None,
                    "FulfillmentType": "MFN" if order.fulfilled_by == "MERCHANT" else "AFN",
                    "OrderType": "StandardOrder",
                    "NumberOfItemsShipped": n_shipped,
                    "NumberOfItemsUnshipped": sum(it.quantity for it in order.items) - n_shipped,
                    "OrderItems": items,
                },
            }
        },
        "NotificationMetadata": {
            "ApplicationId": application_id,
            "SubscriptionId": sub.subscription_id,
            "PublishTime": iso_ms(now),
            "NotificationId": notification_id,
        },
    }
