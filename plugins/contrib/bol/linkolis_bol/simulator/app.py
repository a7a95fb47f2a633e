"""The simulator: bol's login endpoint, Retailer API orders and offers, Shared API process statuses.

Every request is checked against bol's specification first (a 400 problem document names what is wrong), and
with ``validate_responses`` every answer is checked too (a ``ContractViolation`` is raised: a simulator bug).
Rate limits are token buckets per client and operation, reported in ``x-ratelimit-*`` headers, with 429 and
``Retry-After`` when a bucket is empty. Asynchronous writes answer 202 with a process status that becomes final
``process_seconds`` later on the simulator's clock.

Buyers ask to cancel: about ``cancellation_requests`` of the seeded open FBR items carry ``cancellationRequest``, and
``request_cancellation`` makes a buyer ask on a given item. ``PUT /retailer/orders/cancellation`` cancels an item
(refusing unknown, FBB, shipped and cancelled items with a problem document) once its process status is final.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import random
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Callable, ClassVar

from linkolis_host.testing.simulator import (
    STANDARD_ROUTES,
    AdminRoutes,
    BaseSimulator,
    FaultInjector,
    NotifyFaults,
    SimHTTPServer,
    SimRequest,
    SimResponse,
    base_url_of,
    json_response,
)

from . import contract as spec
from .data import Item, Offer, Order, ask_to_cancel, iso, make_offers, make_order, make_orders
from .subscriptions import SubscriptionService, refusal

DEFAULT_CLIENT_ID = "sim-bol-client-0001"
DEFAULT_CLIENT_SECRET = "sim-bol-secret-9f3c2a71d5e84b06"
TOKEN_LIFETIME = 299
PAGE_SIZE = 50
# bol's rate limits per operation as (requests, seconds): not in the spec; see docs/operations.md.
LIMITS: dict[str, tuple[int, float]] = {
    "get-orders": (25, 1.0),
    "get-order": (25, 1.0),
    "update-offer-stock": (25, 1.0),
    "get-offer": (25, 1.0),
    "post-offer-export": (10, 60.0),
    "get-offer-export": (10, 60.0),
    "get-process-status": (100, 1.0),
    "get-process-status-bulk": (10, 1.0),
    "get-process-status-entity-id": (100, 1.0),
    "create-shipment": (25, 1.0),
    "get-shipments": (25, 1.0),
    "cancel-order-item": (25, 1.0),
}
# bol's transporter codes (the v10 spec has none: see linkolis_bol/shipments.py for their source).
TRANSPORTER_CODES = frozenset(
    "TNT TNT-EXTRA TNT_BRIEF TNT-EXPRESS DHL DHL_DE DHLFORYOU DHL-GLOBAL-MAIL DPD-NL DPD-BE BPOST_BE BPOST_BRIEF "
    "BRIEFPOST GLS UPS FEDEX_NL FEDEX_BE DYL TSN FIEGE TRANSMISSION PARCEL-NL LOGOIX PACKS COURIER RJP OTHER".split()
)
# bol blocks a caller that asks for tokens too often: more than this many a minute blocks it for BLOCK_SECONDS.
TOKENS_PER_MINUTE = 10
BLOCK_SECONDS = 600.0
EXPORT_COLUMNS = [
    "offerId",
    "ean",
    "conditionName",
    "conditionCategory",
    "conditionComment",
    "bundlePricesPrice",
    "fulfilmentDeliveryCode",
    "stockAmount",
    "onHoldByRetailer",
    "fulfilmentType",
    "mutationDateTime",
    "referenceCode",
    "correctedStock",
]
FAULT_KINDS: dict[str, str] = {
    "429": "answer 429 Too Many Requests with Retry-After `retry_after`",
    "500": "answer 500 Internal Server Error",
    "disconnect": "drop the connection before bol does anything",
    "garbled": "answer 200 with a body cut short",
    "expired-token": "refuse the access token as expired",
    "failure": "update-offer-stock: the process status ends FAILURE",
    # bol does the work, then the connection drops before its answer arrives (as a crash of the caller between
    # bol's answer and its own record of it looks on the next run)
    "lost-answer": "do the work, then drop the connection before the answer",
}


def _order_truth(order: Order) -> dict[str, Any]:
    return {
        "orderId": order.order_id,
        "placedAt": iso(order.placed_at),
        "items": [
            {
                "orderItemId": i.order_item_id,
                "reference": i.offer.reference,
                "quantity": i.quantity,
                "quantityShipped": i.quantity_shipped,
                "quantityCancelled": i.quantity_cancelled,
            }
            for i in order.items
        ],
    }


def _place(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    """A buyer orders ``quantity`` units of the offer with ``reference`` now (``KeyError``, a 400, for an offer bol
    does not have; ``ValueError`` for a quantity below 1)."""
    reference, quantity = str(body["reference"]), int(body.get("quantity", 1))
    if quantity < 1:
        raise ValueError("quantity: at least 1")
    if not any(o.reference == reference for o in sim.offers):
        raise KeyError(f"no offer with reference {reference!r}")
    return _order_truth(sim.add_order(reference=reference, quantity=quantity))


# The admin routes beside the kit's standard ones: ground truth of orders and offers, and a buyer placing an order.
ROUTES = AdminRoutes(STANDARD_ROUTES)
ROUTES.add("GET", r"/_sim/orders", lambda s, r, b, m: {"orders": [_order_truth(o) for o in s.orders]})
ROUTES.add("POST", r"/_sim/orders", lambda s, r, b, m: _place(s, b))
ROUTES.add("GET", r"/_sim/stock", lambda s, r, b, m: s.offer_truth())


class ContractViolation(AssertionError):
    """The simulator answered something bol's spec does not allow: a bug in the simulator."""


@dataclass
class Process:
    id: str
    event_type: str
    description: str
    entity_id: str | None
    created: datetime
    due: float
    settle: Callable[[], tuple[str, str | None, str | None]]  # -> (status, entity id, error message)
    status: str = "PENDING"
    error: str | None = None

    def body(self, base: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "processStatusId": self.id,
            "eventType": self.event_type,
            "description": self.description,
            "status": self.status,
            "createTimestamp": iso(self.created),
            "links": [{"rel": "self", "href": f"{base}/shared/process-status/{self.id}"}],
        }
        if self.entity_id:
            out["entityId"] = self.entity_id
        if self.error:
            out["errorMessage"] = self.error
        return out


class Simulator(BaseSimulator):
    """A local bol: its login, the Retailer API's orders, offers and shipments, the Shared API's process statuses.
    ``sim.counters[operation]`` counts calls, ``sim.throttled[operation]`` the 429s."""

    contract = spec.BOL
    required_headers: ClassVar[dict[str, str]] = {"accept": "v10", "user-agent": ""}
    name = "bol-simulator"
    admin_routes: ClassVar[AdminRoutes] = ROUTES
    in_process_url = "https://bol.sim.test"

    def __init__(
        self,
        clock,
        *,
        seed: int = 1,
        orders: int = 60,
        offers: int = 20,
        fbb_share: float = 0.2,
        order_window_days: float = 10,
        process_seconds: float = 1.0,
        export_seconds: float = 2.0,
        validate_responses: bool = False,
        validate_requests: bool = True,
        limits: dict[str, tuple[int, float]] | None = None,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        base_url: str = spec.HOST_URL,
        cancellation_requests: float = 0.1,
        retailer_id: int = 1234567,
        sqs_endpoint: str | None = None,
        notify_faults: NotifyFaults | None = None,
    ) -> None:
        super().__init__(clock, FaultInjector(FAULT_KINDS, seed=seed, default_count=1))
        self.rng = random.Random(seed)
        self.client_id, self.client_secret = client_id, client_secret
        self.validate_responses = validate_responses
        self.validate_requests = validate_requests  # off only for benchmarks: bol itself always checks
        self.process_seconds, self.export_seconds = process_seconds, export_seconds
        self.limits = dict(LIMITS if limits is None else limits)
        self.base_url = base_url
        self.offers: list[Offer] = make_offers(self.rng, offers, fbb_share)
        self.orders: list[Order] = make_orders(self.rng, self.offers, orders, self.now(), order_window_days)
        ask_to_cancel(seed, self.orders, self.now(), cancellation_requests)
        self.tokens: dict[str, float] = {}  # token -> expiry
        self.token_times: list[float] = []
        self.blocked_until = 0.0
        self.processes: dict[str, Process] = {}
        self.exports: dict[str, str] = {}
        self.shipments: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self._next_order = len(self.orders) + 1
        # The retailer these credentials act for, and its push subscriptions (ORDER pushes go to SQS at sqs_endpoint).
        self.retailer_id = retailer_id
        self.subscriptions = SubscriptionService(retailer_id, sqs_endpoint, notify_faults or NotifyFaults(), seed)

    # -- ground truth -------------------------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.time(), UTC)

    def offer_truth(self) -> dict[str, dict[str, Any]]:
        """reference -> what bol holds for the offer (offer id, EAN, FBB, the amount last sent as ``stock``, and
        ``corrected``: what the shop offers, the amount less the orders bol takes off it)."""
        with self._lock:
            self._settle_due()
        return {
            o.reference: {
                "offer_id": o.offer_id,
                "ean": o.ean,
                "fbb": o.fbb,
                "stock": o.stock,
                "managed_by_retailer": o.managed_by_retailer,
                "corrected": self.corrected_stock(o),
            }
            for o in self.offers
        }

    def corrected_stock(self, offer: Offer) -> int:
        """bol's ``correctedStock``: the amount sent, less what orders took. With ``managedByRetailer`` true only
        orders placed after the last stock update count (their items not cancelled, shipped or open); false, every
        open order item counts, and the items shipped of orders placed since the update (bol's spec, ``Stock``)."""
        since = offer.mutated_at
        taken = 0
        for order in self.orders:
            after = since is None or order.placed_at > since
            for item in order.items:
                if item.offer.offer_id != offer.offer_id:
                    continue
                open_units = max(0, item.quantity - item.quantity_shipped - item.quantity_cancelled)
                if offer.managed_by_retailer:
                    taken += (item.quantity - item.quantity_cancelled) if after else 0
                else:
                    taken += open_units + (item.quantity_shipped if after else 0)
        return max(0, offer.stock - taken)

    def orders_truth(self) -> dict[str, Order]:
        return {o.order_id: o for o in self.orders}

    def shipments_truth(self) -> list[dict[str, Any]]:
        """The shipments bol has made (every process status due is settled first)."""
        with self._lock:
            for process in list(self.processes.values()):
                self._current(process)
            return [dict(s, items=[dict(i) for i in s["items"]]) for s in self.shipments]

    def tokens_issued(self) -> int:
        return self.counters["token"]

    def add_order(self, fbb: bool = False, reference: str | None = None, quantity: int = 1) -> Order:
        """A new order placed now (for incremental imports): of random offers, or, with ``reference``, one open item
        of ``quantity`` units of that offer."""
        with self._lock:
            pool = [o for o in self.offers if o.fbb == fbb] or self.offers
            order = make_order(self.rng, pool, self._next_order, self.now(), self.now())
            if reference is not None:
                offer = next(o for o in self.offers if o.reference == reference)
                order.items = [
                    Item(f"{self._next_order:07d}1", offer, quantity, 0, 0, Decimal("0.00"), self.now())
                ]  # fmt: skip
            self._next_order += 1
            self.orders.append(order)
            self._settle_due()  # subscriptions bol has made by now are the ones it pushes to
            self.subscriptions.order_event(order.order_id, "NEW_ORDER", order.placed_at, self.clock.time())
            return order

    def item(self, order_item_id: str) -> tuple[Order, Item]:
        """The order item ``order_item_id`` and its order (``KeyError`` when bol has no such item)."""
        for order in self.orders:
            for item in order.items:
                if item.order_item_id == order_item_id:
                    return order, item
        raise KeyError(order_item_id)

    def request_cancellation(self, order_item_id: str) -> Item:
        """The buyer asks bol to cancel an open order item now: bol shows ``cancellationRequest`` on it and its
        ``latestChangedDateTime`` moves. ``ValueError`` for an item shipped or cancelled already."""
        with self._lock:
            _, item = self.item(order_item_id)
            if not item.open:
                raise ValueError(f"order item {order_item_id} is shipped or cancelled already")
            item.cancellation_request = True
            item.changed_at = self.now()
            return item

    @property
    def throttled(self) -> dict[str, int]:
        """429s answered per operation."""
        return self.counters.throttled

    def server(self, host: str = "127.0.0.1", port: int = 0, allow_non_loopback: bool = False) -> SimHTTPServer:
        """The kit's server; the links bol hands out (process statuses) then point at it."""
        server = super().server(host, port, allow_non_loopback)
        self.base_url = base_url_of(server)
        return server

    # -- dispatch -----------------------------------------------------------------------------------------------

    def answer(self, request: SimRequest) -> SimResponse:
        with self._lock:
            self.subscriptions.delivery.flush(self.clock.time())  # pushes delayed or held back that are due by now
            if request.raw_path == "/token":
                return self._token(request)
            found = self.contract.route(request.method, request.raw_path)
            if found is None:
                return self._problem(404, "Not Found", f"no route {request.method} {request.raw_path}")
            op, params = found
            self.counters.call(op.operation_id)
            response = self._api(request, op, params)
            if self.validate_responses and response.disconnect is None and 200 <= response.status < 300:
                problems = self.contract.response_problems(request, response)
                if problems:
                    raise ContractViolation(f"{op.operation_id} answered against bol's spec: {problems}")
            return response

    def _api(self, request: SimRequest, op, params: dict[str, str]) -> SimResponse:
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else ""
        if not token or token not in self.tokens:
            return self._problem(401, "Unauthorized", "a valid bearer token is required")
        if self.tokens[token] <= self.clock.time() or self.faults.pick(op.operation_id, None, ("expired-token",)):
            return self._problem(401, "Expired JWT", "the access token has expired; request a new one")
        expects_csv = op.operation_id == "get-offer-export"
        wanted = spec.CSV_MEDIA_TYPE if expects_csv else spec.MEDIA_TYPE
        if wanted not in request.headers.get("accept", ""):
            return self._problem(406, "Not Acceptable", f"send Accept: {wanted}")
        problems = self.contract.request_problems(request) if self.validate_requests else []
        if problems:
            violations = [spec.violation(e) for p in problems for e in p.schema_errors]
            return self._problem(400, "Bad Request", "; ".join(p.details for p in problems), violations=violations)
        limited = self._take_quota(op.operation_id)
        if isinstance(limited, SimResponse):
            return limited
        fault = self.faults.pick(op.operation_id, None, ("429", "500", "disconnect", "garbled"))
        if fault is not None:
            if fault.kind == "429":
                self.counters.throttle(op.operation_id)
                return self._problem(
                    429, "Too Many Requests", "rate limit exceeded", [("Retry-After", str(fault.retry_after)), *limited]
                )
            if fault.kind == "500":
                return self._problem(500, "Internal Server Error", "simulated failure")
            if fault.kind == "disconnect":
                return SimResponse(0, disconnect="drop")
            return SimResponse(200, [("content-type", wanted), *limited], b'{"orders": [')
        handler = getattr(self, "_op_" + op.operation_id.replace("-", "_"), None)
        if handler is None:
            return self._problem(501, "Not Implemented", f"the simulator does not implement {op.operation_id}")
        response = handler(request, params)
        if self.faults.pick(op.operation_id, None, ("lost-answer",)) is not None:
            return SimResponse(0, disconnect="drop")
        response.headers.extend(limited)
        return response

    # -- rate limits --------------------------------------------------------------------------------------------

    def _take_quota(self, operation: str) -> list[tuple[str, str]] | SimResponse:
        """The ``x-ratelimit-*`` headers of a call bol lets through, or its 429 (with ``Retry-After``)."""
        if operation not in self.limits:
            return []
        limit, window = self.limits[operation]
        quota = self.limiter.quota(self.client_id, operation, limit / window, limit, self.clock.time())
        headers = [
            ("x-ratelimit-limit", str(quota.limit)),
            ("x-ratelimit-remaining", str(quota.remaining)),
            ("x-ratelimit-reset", str(quota.reset)),
        ]
        if quota.allowed:
            return headers
        self.counters.throttle(operation)
        return self._problem(
            429,
            "Too Many Requests",
            f"rate limit of {limit} per {window:g} s exceeded",
            [("Retry-After", str(quota.retry_after)), *headers],
        )

    # -- login --------------------------------------------------------------------------------------------------

    def _token(self, request: SimRequest) -> SimResponse:
        now = self.clock.time()
        if request.method != "POST":
            return self._oauth_error(405, "invalid_request", "use POST")
        if now < self.blocked_until:
            return self._oauth_error(403, "access_denied", "this address asked for tokens too often and is blocked")
        query = dict(request.query)
        if query.get("grant_type") != "client_credentials":
            return self._oauth_error(400, "unsupported_grant_type", "grant_type must be client_credentials")
        auth = request.headers.get("authorization", "")
        try:
            client_id, _, secret = (
                base64.b64decode(auth[6:]).decode().partition(":") if auth.startswith("Basic ") else ("", "", "")
            )
        except (ValueError, UnicodeDecodeError):
            client_id, secret = "", ""
        if (client_id, secret) != (self.client_id, self.client_secret):
            return self._oauth_error(401, "invalid_client", "Bad client credentials")
        self.token_times = [t for t in self.token_times if now - t < 60] + [now]
        if len(self.token_times) > TOKENS_PER_MINUTE:
            self.blocked_until = now + BLOCK_SECONDS
            return self._oauth_error(403, "access_denied", "too many token requests: this address is blocked")
        self.counters.call("token")
        token = "eyJhbGciOiJSUzI1NiJ9." + secrets.token_urlsafe(32)
        self.tokens[token] = now + TOKEN_LIFETIME
        body = {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME, "scope": "RETAILER"}
        return SimResponse(200, [("content-type", "application/json")], json.dumps(body).encode())

    @staticmethod
    def _oauth_error(status: int, error: str, description: str) -> SimResponse:
        body = {"error": error, "error_description": description}
        return SimResponse(status, [("content-type", "application/json")], json.dumps(body).encode())

    # -- orders -------------------------------------------------------------------------------------------------

    def _op_get_orders(self, request: SimRequest, params) -> SimResponse:
        query = dict(request.query)
        method = query.get("fulfilment-method", "FBR")  # bol's defaults: FBR orders that are open
        status = query.get("status", "OPEN")
        page = int(query.get("page", "1"))
        now = self.now()
        since = None
        day = None
        if "change-interval-minute" in query:
            since = now - timedelta(minutes=int(query["change-interval-minute"]))
        if "latest-change-date" in query:
            try:
                day = datetime.strptime(query["latest-change-date"], "%Y-%m-%d").date()
            except ValueError:
                return self._problem(
                    400,
                    "Bad Request",
                    "latest-change-date must be a date (yyyy-MM-dd)",
                    violations=[{"name": "latest-change-date", "reason": "not a date"}],
                )
            if day < (now - timedelta(days=92)).date():
                return self._problem(
                    400,
                    "Bad Request",
                    "latest-change-date supports 3 months of history",
                    violations=[{"name": "latest-change-date", "reason": "older than 3 months"}],
                )
        selected = []
        for order in self.orders:
            items = [
                i
                for i in order.items
                if method == "ALL" or (i.offer.fbb and method == "FBB") or (not i.offer.fbb and method == "FBR")
            ]
            if since is not None:
                items = [i for i in items if i.changed_at >= since]
            if day is not None:
                items = [i for i in items if i.changed_at.date() == day]
            if status == "OPEN":
                items = [i for i in items if self._open(i)]
            elif status == "SHIPPED":
                items = [i for i in items if i.quantity_shipped]
            if items:
                selected.append((order, items))
        chunk = selected[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        body = {
            "orders": [
                {
                    "orderId": o.order_id,
                    "orderPlacedDateTime": iso(o.placed_at),
                    "orderItems": [
                        {
                            "orderItemId": i.order_item_id,
                            "ean": i.offer.ean,
                            "fulfilmentMethod": "FBB" if i.offer.fbb else "FBR",
                            "fulfilmentStatus": "OPEN" if self._open(i) else "HANDLED",
                            "quantity": i.quantity,
                            "quantityShipped": i.quantity_shipped,
                            "quantityCancelled": i.quantity_cancelled,
                            "cancellationRequest": i.cancellation_request,
                            "latestChangedDateTime": iso(i.changed_at),
                        }
                        for i in items
                    ],
                }
                for o, items in chunk
            ]
        }
        return self._json(200, body)

    @staticmethod
    def _open(item) -> bool:
        return item.quantity_shipped + item.quantity_cancelled < item.quantity

    def _op_get_order(self, request: SimRequest, params) -> SimResponse:
        order = self.orders_truth().get(params["order_id"])
        if order is None:
            return self._problem(404, "Not Found", f"no order {params['order_id']}")
        shipment = {
            "salutation": "UNKNOWN",
            "firstName": order.first_name,
            "surname": order.surname,
            "streetName": order.street,
            "houseNumber": order.house_number,
            "zipCode": order.zip_code,
            "city": order.city,
            "countryCode": order.country,
            "email": order.email,
            "language": "nl" if order.country == "NL" else "nl-BE",
        }
        if order.pickup_point:
            shipment["pickupPointName"] = "Afhaalpunt " + order.city
        billing = {
            k: shipment[k]
            for k in (
                "salutation",
                "firstName",
                "surname",
                "streetName",
                "houseNumber",
                "zipCode",
                "city",
                "countryCode",
                "email",
            )
        }
        if order.company:
            billing["company"] = order.company
            shipment["company"] = order.company
        if order.order_reference:
            billing["orderReference"] = order.order_reference
        items = []
        for i in order.items:
            item = {
                "orderItemId": i.order_item_id,
                "cancellationRequest": i.cancellation_request,
                "fulfilment": {
                    "method": "FBB" if i.offer.fbb else "FBR",
                    "timeFrameType": "REGULAR",
                    "distributionParty": "BOL" if i.offer.fbb else "RETAILER",
                },
                "offer": {"offerId": i.offer.offer_id, "reference": i.offer.reference},
                "product": {"ean": i.offer.ean, "title": i.offer.title},
                "quantity": i.quantity,
                "quantityShipped": i.quantity_shipped,
                "quantityCancelled": i.quantity_cancelled,
                "unitPrice": float(i.offer.price),
                "totalPrice": float(i.total_price),
                "commission": round(float(i.total_price) * 0.15, 2),
                "discounts": [{"title": "Actie", "amount": float(i.discount)}] if i.discount else [],
                "latestChangedDateTime": iso(i.changed_at),
            }
            items.append(item)
        body = {
            "orderId": order.order_id,
            "pickupPoint": order.pickup_point,
            "orderPlacedDateTime": iso(order.placed_at),
            "shipmentDetails": shipment,
            "billingDetails": billing,
            "orderItems": items,
        }
        return self._json(200, body)

    # -- offers -------------------------------------------------------------------------------------------------

    def _offer(self, offer_id: str) -> Offer | None:
        return next((o for o in self.offers if o.offer_id == offer_id), None)

    def _op_update_offer_stock(self, request: SimRequest, params) -> SimResponse:
        offer_id = params["offer_id"]
        body = json.loads(request.body)
        failing = self.faults.pick("update-offer-stock", None, ("failure",)) is not None
        done_at = datetime.fromtimestamp(self.clock.time() + self.process_seconds, UTC)  # when bol has applied it

        def settle():
            offer = self._offer(offer_id)
            if offer is None:
                return "FAILURE", offer_id, f"Offer with id {offer_id} does not exist."
            if failing or offer.refuses_stock:
                return "FAILURE", offer_id, "The stock update could not be processed for this offer."
            if offer.fbb:
                return "FAILURE", offer_id, "Stock of an offer fulfilled by bol (FBB) cannot be updated."
            offer.stock, offer.managed_by_retailer = body["amount"], body["managedByRetailer"]
            offer.mutated_at = done_at
            return "SUCCESS", offer_id, None

        return self._start(
            "UPDATE_OFFER_STOCK", f"Update stock for offer with id {offer_id}.", offer_id, self.process_seconds, settle
        )

    def _settle_due(self) -> None:
        """bol processes what it took on its own time, asked about or not: every process due by now is settled."""
        for process in list(self.processes.values()):
            self._current(process)

    def _op_get_offer(self, request: SimRequest, params) -> SimResponse:
        self._settle_due()
        offer = self._offer(params["offer_id"])
        if offer is None:
            return self._problem(404, "Not Found", f"no offer {params['offer_id']}")
        body = {
            "offerId": offer.offer_id,
            "ean": offer.ean,
            "reference": offer.reference,
            "onHoldByRetailer": False,
            "pricing": {"bundlePrices": [{"quantity": 1, "unitPrice": float(offer.price)}]},
            "stock": {
                "amount": offer.stock,
                "correctedStock": self.corrected_stock(offer),
                "managedByRetailer": offer.managed_by_retailer,
            },
            "fulfilment": {"method": "FBB" if offer.fbb else "FBR"},
        }
        return self._json(200, body)

    def _op_post_offer_export(self, request: SimRequest, params) -> SimResponse:
        report_id = f"{self.rng.getrandbits(48):012x}"

        def settle():
            self.exports[report_id] = self.export_csv()
            return "SUCCESS", report_id, None

        return self._start("CREATE_OFFER_EXPORT", "Create an offer export file.", None, self.export_seconds, settle)

    def export_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        for o in self.offers:
            writer.writerow(
                [
                    o.offer_id,
                    o.ean,
                    "NEW",
                    "",
                    "",
                    f"{o.price}",
                    "1-2d",
                    o.stock,
                    "false",
                    "FBB" if o.fbb else "FBR",
                    iso(o.mutated_at or self.now()),
                    o.reference,
                    o.stock,
                ]
            )
        return out.getvalue()

    def _op_get_offer_export(self, request: SimRequest, params) -> SimResponse:
        text = self.exports.get(params["report_id"])
        if text is None:
            return self._problem(404, "Not Found", f"no offer export {params['report_id']}")
        return SimResponse(200, [("content-type", spec.CSV_MEDIA_TYPE)], text.encode())

    # -- shipments ----------------------------------------------------------------------------------------------

    def _op_create_shipment(self, request: SimRequest, params) -> SimResponse:
        body = json.loads(request.body)
        wanted = [(str(i["orderItemId"]), i.get("quantity")) for i in body["orderItems"]]
        first = wanted[0][0]

        def settle():
            by_item = {i.order_item_id: (o, i) for o in self.orders for i in o.items}
            found, orders = [], set()
            for item_id, quantity in wanted:
                if item_id not in by_item:
                    return "FAILURE", item_id, f"Order item {item_id} does not exist."
                order, item = by_item[item_id]
                orders.add(order.order_id)
                open_ = item.quantity - item.quantity_shipped - item.quantity_cancelled
                if item.offer.fbb:
                    return "FAILURE", item_id, f"Order item {item_id} is fulfilled by bol (FBB) and cannot be shipped."
                if item.quantity_cancelled >= item.quantity:
                    return "FAILURE", item_id, f"Order item {item_id} is cancelled."
                quantity = open_ if quantity is None else quantity
                if quantity < 1 or quantity > open_:
                    return "FAILURE", item_id, f"Quantity {quantity} of order item {item_id} exceeds the {open_} open."
                found.append((order, item, quantity))
            if len(orders) > 1:
                return "FAILURE", first, "The order items of one shipment belong to one order."
            code = (body.get("transport") or {}).get("transporterCode")
            if body.get("transport") and code not in TRANSPORTER_CODES:
                return "FAILURE", first, f"Transporter code {code} is not valid."
            for _, item, quantity in found:
                item.quantity_shipped += quantity
                item.changed_at = self.now()
            self.shipments.append(
                {
                    "shipmentId": f"{len(self.shipments) + 1:09d}",
                    "orderId": found[0][0].order_id,
                    "shipmentReference": body.get("shipmentReference"),
                    "transporterCode": code,
                    "trackAndTrace": (body.get("transport") or {}).get("trackAndTrace"),
                    "items": [{"orderItemId": i.order_item_id, "quantity": q} for _, i, q in found],
                    "shippedAt": iso(self.now()),
                }
            )
            return "SUCCESS", first, None

        return self._start(
            "CREATE_SHIPMENT",
            f"Confirm shipment of order item {first}.",
            first,
            self.process_seconds,
            settle,
        )

    def _op_get_shipments(self, request: SimRequest, params) -> SimResponse:
        query = dict(request.query)
        for process in list(self.processes.values()):  # a shipment bol has processed by now is listed
            self._current(process)
        placed = {o.order_id: o for o in self.orders}
        fbb = {i.order_item_id: i.offer.fbb for o in self.orders for i in o.items}
        if "order-id" in query:  # bol: the fulfilment method is then ignored
            chosen = [s for s in self.shipments if s["orderId"] == query["order-id"]]
        else:
            want_fbb = query.get("fulfilment-method", "FBR") == "FBB"
            chosen = [s for s in self.shipments if fbb.get(s["items"][0]["orderItemId"]) == want_fbb]
        chosen = sorted(chosen, key=lambda s: s["shippedAt"], reverse=True)  # bol: newest first
        page = int(query.get("page", "1"))
        eans = {i.order_item_id: i.offer.ean for o in self.orders for i in o.items}
        out = []
        for s in chosen[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]:
            order = {"orderId": s["orderId"]}
            if s["orderId"] in placed:
                order["orderPlacedDateTime"] = iso(placed[s["orderId"]].placed_at)
            out.append(
                {
                    "shipmentId": s["shipmentId"],
                    "shipmentDateTime": s["shippedAt"],
                    "shipmentReference": s["shipmentReference"] or "",
                    "order": order,
                    "shipmentItems": [
                        {"orderItemId": i["orderItemId"], "ean": eans[i["orderItemId"]]} for i in s["items"]
                    ],
                    "transport": {"transportId": s["shipmentId"]},
                }
            )
        return self._json(200, {"shipments": out})

    # -- cancellations ------------------------------------------------------------------------------------------

    def _op_cancel_order_item(self, request: SimRequest, params) -> SimResponse:
        """``PUT /retailer/orders/cancellation``: the spec lets one order item through, with a reasonCode from its
        enum (checked with the rest of the spec before this runs). What bol cannot cancel is refused at once; the
        item is cancelled when the process status becomes final (unless it was shipped meanwhile)."""
        wanted = json.loads(request.body)["orderItems"][0]
        item_id, reason = str(wanted["orderItemId"]), wanted["reasonCode"]
        try:
            _, item = self.item(item_id)
        except KeyError:
            return self._refuse_cancellation(item_id, f"Order item {item_id} does not exist.")
        if item.offer.fbb:
            return self._refuse_cancellation(
                item_id, f"Order item {item_id} is fulfilled by bol (FBB) and cannot be cancelled by the retailer."
            )
        if item.quantity_cancelled and not item.open:
            return self._refuse_cancellation(item_id, f"Order item {item_id} is already cancelled.")
        if not item.open:
            return self._refuse_cancellation(item_id, f"Order item {item_id} is already shipped.")

        def settle():
            if not item.open:
                return "FAILURE", item_id, f"Order item {item_id} can no longer be cancelled: it is already handled."
            item.quantity_cancelled = item.quantity - item.quantity_shipped
            item.cancel_reason = reason
            item.changed_at = self.now()
            order, _ = self.item(item_id)
            self.subscriptions.order_event(order.order_id, "CANCELLED_ORDER", item.changed_at, self.clock.time())
            return "SUCCESS", item_id, None

        return self._start("CANCEL_ORDER", f"Cancel order item {item_id}.", item_id, self.process_seconds, settle)

    def _refuse_cancellation(self, item_id: str, detail: str) -> SimResponse:
        return self._problem(
            400,
            "Error validating request. Consult the bol.com API documentation for more information.",
            detail,
            violations=[{"name": "orderItems[0].orderItemId", "reason": detail}],
        )

    # -- push notification subscriptions ------------------------------------------------------------------------

    def _op_get_push_notification_subscriptions(self, request: SimRequest, params) -> SimResponse:
        self._settle_due()
        return self._json(200, {"subscriptions": [s.body() for s in self.subscriptions.subscriptions.values()]})

    def _op_get_push_notification_subscription(self, request: SimRequest, params) -> SimResponse:
        self._settle_due()
        sub = self.subscriptions.subscriptions.get(params["subscription_id"])
        if sub is None:
            return self._problem(404, "Not Found", f"no subscription {params['subscription_id']}")
        return self._json(200, sub.body())

    def _refuse_subscription(self, body: dict[str, Any]) -> SimResponse | None:
        refused = refusal(body)
        if refused is None:
            return None
        name, reason = refused
        return self._problem(
            400,
            "Error validating request. Consult the bol.com API documentation for more information.",
            reason,
            violations=[{"name": name, "reason": reason}],
        )

    def _op_post_push_notification_subscription(self, request: SimRequest, params) -> SimResponse:
        body = json.loads(request.body)
        refused = self._refuse_subscription(body)
        if refused is not None:
            return refused

        def settle():
            return "SUCCESS", self.subscriptions.create(body).id, None

        return self._start("CREATE_SUBSCRIPTION", "Create push notification subscription.", None, 0, settle)

    def _op_put_push_notification_subscription(self, request: SimRequest, params) -> SimResponse:
        body, sub_id = json.loads(request.body), params["subscription_id"]
        refused = self._refuse_subscription(body)
        if refused is not None:
            return refused

        def settle():
            sub = self.subscriptions.subscriptions.get(sub_id)
            if sub is None:
                return "FAILURE", sub_id, f"Subscription {sub_id} does not exist."
            self.subscriptions.update(sub, body)
            return "SUCCESS", sub_id, None

        return self._start("UPDATE_SUBSCRIPTION", f"Update subscription {sub_id}.", sub_id, 0, settle)

    def _op_delete_push_notification_subscription(self, request: SimRequest, params) -> SimResponse:
        sub_id = params["subscription_id"]

        def settle():
            if self.subscriptions.subscriptions.pop(sub_id, None) is None:
                return "FAILURE", sub_id, f"Subscription {sub_id} does not exist."
            return "SUCCESS", sub_id, None

        return self._start("DELETE_SUBSCRIPTION", f"Delete subscription {sub_id}.", sub_id, 0, settle)

    # -- process statuses ---------------------------------------------------------------------------------------

    def _start(self, event: str, description: str, entity: str | None, seconds: float, settle) -> SimResponse:
        pid = f"{self.rng.getrandbits(60):015d}"
        process = Process(pid, event, description, entity, self.now(), self.clock.time() + seconds, settle)
        self.processes[pid] = process
        return self._json(202, process.body(self.base_url))

    def _current(self, process: Process) -> Process:
        if process.status == "PENDING" and self.clock.time() >= process.due:
            process.status, entity, process.error = process.settle()
            process.entity_id = entity or process.entity_id
        return process

    def _op_get_process_status(self, request: SimRequest, params) -> SimResponse:
        process = self.processes.get(params["process_status_id"])
        if process is None:
            return self._problem(404, "Not Found", f"no process status {params['process_status_id']}")
        return self._json(200, self._current(process).body(self.base_url))

    def _op_get_process_status_entity_id(self, request: SimRequest, params) -> SimResponse:
        query = dict(request.query)
        found = [
            self._current(p)
            for p in self.processes.values()
            if p.entity_id == query["entity-id"] and p.event_type == query["event-type"]
        ]
        found.sort(key=lambda p: p.created, reverse=True)  # bol: newest first
        page = int(query.get("page", "1"))
        chosen = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        return self._json(200, {"processStatuses": [p.body(self.base_url) for p in chosen]})

    def _op_get_process_status_bulk(self, request: SimRequest, params) -> SimResponse:
        wanted = [q["processStatusId"] for q in json.loads(request.body)["processStatusQueries"]]
        found = [self._current(self.processes[p]).body(self.base_url) for p in wanted if p in self.processes]
        return self._json(200, {"processStatuses": found})

    # -- answers ------------------------------------------------------------------------------------------------

    @staticmethod
    def _json(status: int, body: Any) -> SimResponse:
        return json_response(status, body, content_type=spec.MEDIA_TYPE)

    @staticmethod
    def _problem(status: int, title: str, detail: str, extra_headers=(), violations=None) -> SimResponse:
        body = {
            "type": "https://api.bol.com/problems",
            "title": title,
            "status": status,
            "detail": detail,
            "host": "simulator",
            "instance": "https://api.bol.com/",
            "violations": violations or [],
        }
        return json_response(status, body, extra_headers, content_type=spec.PROBLEM_MEDIA_TYPE)
