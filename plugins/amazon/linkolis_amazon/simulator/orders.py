"""Orders API v2026-01-01: the order store, ``searchOrders`` and ``getOrder``.

An order is stored once with its timeline (status changes and later updates); what a call sees is that timeline read
at the clock's now, so statuses move on and ``lastUpdatedTime`` advances as simulated time passes.

A buyer may ask to cancel (``Order.cancel_request``, from its time on): with ``includedData=CANCELLATION`` each item
not yet shipped in full carries ``cancellation.cancellationRequest`` (``requester`` BUYER and the buyer's
``cancelReason``), and a cancelled order's items ``cancellation.cancellationExecution`` (who cancelled it and why:
the buyer, or the seller in Seller Central). Amazon's Orders APIs have no operation that cancels an order.
"""

from __future__ import annotations

import bisect
import heapq
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from linkolis_host.testing.simulator import iso, parse_iso

from .accounts import DIRECT_TO_CONSUMER_SHIPPING, TAX_INVOICING, Account
from .ids import IdSource
from .marketplaces import MARKETPLACES, amount, money
from .people import person
from .proceeds import item_proceeds, order_money, order_proceeds
from .wire import Call, invalid_input, not_found

TWO_YEARS = 730 * 86400
BEFORE_MARGIN = 120  # *Before must be at least two minutes before the request
TOKEN_SECONDS = 86400
MAX_PAGE = 100
ORDER_ID_RE = re.compile(r"^\d{3}-\d{7}-\d{7}$")
STATUSES = (
    "PENDING_AVAILABILITY",
    "PENDING",
    "UNSHIPPED",
    "PARTIALLY_SHIPPED",
    "SHIPPED",
    "CANCELLED",
    "UNFULFILLABLE",
)
PII_STATUSES = {"UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"}
NO_BUYER_NAME_FOR_TAX_ROLE = {"US", "JP", "SG"}
CARRIERS = {
    "NA": ["UPS", "USPS", "FedEx"],
    "EU": ["DHL", "DPD", "Royal Mail", "Colissimo", "GLS"],
    "FE": ["Yamato", "Australia Post"],
}


@dataclass(slots=True)
class OrderItem:
    order_item_id: str
    sku: str
    asin: str
    title: str
    quantity: int
    unit_price: int  # minor units of the marketplace currency, as listed (see proceeds.py for tax)
    shipping: int = 0  # the shipping charge for this line, as listed
    discount: int = 0  # a promotion off the item, as listed (positive)
    shipping_discount: int = 0  # a promotion off its shipping, as listed (positive)
    promotion_ids: tuple[str, ...] = ()


@dataclass(slots=True)
class ShippedPackage:
    """A package handed to a carrier: confirmed by the seller (v0 confirmShipment) or implied by a generated
    timeline. ``items`` are (orderItemId, quantity)."""

    reference_id: str
    created: int  # when Amazon learnt of it
    ship_time: int
    carrier_code: str
    tracking_number: str
    items: list[tuple[str, int]]
    carrier_name: str | None = None
    shipping_method: str | None = None
    confirmed: bool = False

    @property
    def carrier(self) -> str:
        return self.carrier_name if self.carrier_code == "Other" and self.carrier_name else self.carrier_code


@dataclass(slots=True)
class Order:
    """One order and its timeline: ``events`` are (time, status) changes, ``touches`` later non-status updates."""

    order_id: str
    seller_id: str
    marketplace_id: str
    created: int
    fulfilled_by: str  # MERCHANT or AMAZON
    items: list[OrderItem]
    events: list[tuple[int, str]]
    touches: list[int] = field(default_factory=list)
    seed: int = 0
    service_level: str = "STANDARD"
    programs: tuple[str, ...] = ()
    packages: list[ShippedPackage] = field(default_factory=list)  # empty until a confirmShipment; then all of them
    business: bool = False  # an Amazon Business order: the buyer is a company
    purchase_order_number: str | None = None  # the PO number a business buyer entered at checkout
    seller_order_id: str | None = None  # the seller's own order number (an alias)
    replaces: str | None = None  # the original order of a replacement order
    pickup_point: bool = False  # delivered to a locker or pickup point
    tax: tuple[int, bool] | None = None  # (rate in basis points, on top of the price), worked out once
    cancel_request: tuple[int, str] | None = None  # (when, the buyer's reason): the buyer asked to cancel
    cancelled_by: tuple[str, str] = ("BUYER", "BUYER_CANCELED")  # who cancelled a CANCELLED order, and why
    took_stock: bool = False  # placed through add_order, which lowered its offers' quantities

    def cancellation_requested(self, now: float) -> str | None:
        """The buyer's reason when they had asked to cancel by ``now``; None otherwise."""
        if self.cancel_request is None or self.cancel_request[0] > now:
            return None
        return self.cancel_request[1]

    def status_at(self, now: float) -> str:
        status = self.events[0][1]
        for t, s in self.events:
            if t > now:
                break
            status = s
        return status

    def updated_at(self, now: float) -> int:
        last = self.created
        for t, _ in self.events:
            if t > now:
                break
            last = t
        for t in self.touches:
            if t > now:
                break
            last = max(last, t)
        return last

    def time_of(self, status: str, now: float) -> int | None:
        for t, s in self.events:
            if t > now:
                return None
            if s == status:
                return t
        return None

    def last_change(self) -> int:
        return max(self.events[-1][0], self.touches[-1] if self.touches else 0)

    def set_status(self, status: str, at: int) -> None:
        """Append a status change (admin helper); later planned changes are dropped, the world took a new turn."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        self.events = [e for e in self.events if e[0] < at] + [(at, status)]
        self.touches = [t for t in self.touches if t < at]

    def touch(self, at: int) -> None:
        self.touches = sorted([*self.touches, at])

    def quantities_shipped(self, now: float) -> dict[str, int]:
        """Units shipped per orderItemId: the confirmed packages' sums, else what the timeline implies (a partial
        shipment is the first item)."""
        if self.packages:
            shipped = dict.fromkeys((i.order_item_id for i in self.items), 0)
            for p in self.packages:
                for iid, qty in p.items:
                    shipped[iid] += qty
            return shipped
        status = self.status_at(now)
        return {
            it.order_item_id: it.quantity if status == "SHIPPED" or (status == "PARTIALLY_SHIPPED" and n == 0) else 0
            for n, it in enumerate(self.items)
        }

    def shipped_packages(self, now: float) -> list[ShippedPackage]:
        """The seller's packages: the confirmed ones, else the one a generated MFN timeline implies."""
        if self.packages:
            return list(self.packages)
        status = self.status_at(now)
        if self.fulfilled_by != "MERCHANT" or status not in ("SHIPPED", "PARTIALLY_SHIPPED"):
            return []
        ship_t = self.time_of("PARTIALLY_SHIPPED", now) or self.time_of("SHIPPED", now) or self.created
        carriers = CARRIERS[MARKETPLACES[self.marketplace_id].region]
        shipped = self.quantities_shipped(now)
        return [
            ShippedPackage(
                "1",
                ship_t,
                ship_t,
                carriers[self.seed % len(carriers)],
                f"SIM{self.seed % 10**12:012d}",
                [(iid, qty) for iid, qty in shipped.items() if qty],
            )
        ]


@dataclass
class _Cursor:
    fingerprint: tuple[Any, ...]
    ids: list[str]
    offset: int
    issued: float
    before_field: str
    before: int


class OrderStore:
    """Every order of every account, kept sorted by creation time per seller (a seller's search never walks
    another's orders, at any number of sellers)."""

    def __init__(self, ids: IdSource) -> None:
        self.ids = ids
        self.by_id: dict[str, Order] = {}
        self._sorted: dict[str, list[tuple[int, str]]] = {}  # seller -> [(created, orderId)]
        self._cursors: dict[str, _Cursor] = {}
        self._issued = 0
        self.lock = threading.RLock()
        self.on_add: Callable[[Order], None] | None = None  # told of each order placed after the seeded history

    def add(self, order: Order) -> None:
        with self.lock:
            if order.order_id in self.by_id:
                raise ValueError(f"order {order.order_id} exists")
            self.by_id[order.order_id] = order
            key = (order.created, order.order_id)
            keys = self._sorted.setdefault(order.seller_id, [])
            if not keys or key >= keys[-1]:
                keys.append(key)
            else:
                bisect.insort(keys, key)
        if self.on_add is not None:
            self.on_add(order)

    def add_many(self, orders: Iterable[Order]) -> None:
        with self.lock:
            sellers = set()
            for o in orders:
                self.by_id[o.order_id] = o
                self._sorted.setdefault(o.seller_id, []).append((o.created, o.order_id))
                sellers.add(o.seller_id)
            for seller in sellers:
                self._sorted[seller].sort()

    def visible(self, seller_id: str | None, now: float) -> Iterable[Order]:
        """Orders that exist at ``now`` (created by then, not older than two years), by creation time."""
        lists = list(self._sorted.values()) if seller_id is None else [self._sorted.get(seller_id, [])]
        lo_key, hi_key = (int(now - TWO_YEARS), ""), (int(now), "\uffff")
        slices = [keys[bisect.bisect_left(keys, lo_key) : bisect.bisect_right(keys, hi_key)] for keys in lists]
        for _, oid in heapq.merge(*slices) if len(slices) > 1 else (slices[0] if slices else []):
            yield self.by_id[oid]

    def truth(self, seller_id: str | None, now: float) -> list[dict[str, Any]]:
        """Ground truth: every order that exists now, as a plain summary. Money per item (decimal strings in the
        order's ``currency``) is what the item's proceeds carry once priced: ``total`` its proceedsTotal, ``tax``,
        ``shipping`` and ``discount`` (negative) its breakdowns' subtotals; ``grandTotal`` their sum."""
        with self.lock:
            return [self._truth_of(o, now) for o in self.visible(seller_id, now)]

    @staticmethod
    def _truth_of(o: Order, now: float) -> dict[str, Any]:
        cur = MARKETPLACES[o.marketplace_id].currency
        items = []
        grand = 0
        for i, m in zip(o.items, order_money(o), strict=True):
            grand += m.total
            items.append(
                {
                    "orderItemId": i.order_item_id,
                    "sku": i.sku,
                    "quantity": i.quantity,
                    "unitPrice": amount(m.unit_price, cur),
                    "total": amount(m.total, cur),
                    "tax": amount(m.tax, cur),
                    "shipping": amount(m.shipping, cur),
                    "discount": amount(m.discount, cur),
                }
            )
        return {
            "orderId": o.order_id,
            "sellerId": o.seller_id,
            "marketplaceId": o.marketplace_id,
            "status": o.status_at(now),
            "fulfilledBy": o.fulfilled_by,
            "createdTime": iso(o.created),
            "lastUpdatedTime": iso(o.updated_at(now)),
            "currency": cur,
            "grandTotal": amount(grand, cur),
            "items": items,
        }

    # --- pagination tokens ----------------------------------------------------------------------------------

    def _issue_cursor(self, cur: _Cursor, now: float) -> str:
        self._issued += 1
        if self._issued % 500 == 0:
            for k in [k for k, c in self._cursors.items() if now - c.issued > TOKEN_SECONDS]:
                del self._cursors[k]
        token = self.ids.opaque(44)
        self._cursors[token] = cur
        return token

    def expire_cursor(self, token: str) -> None:
        cur = self._cursors.get(token)
        if cur is not None:
            cur.issued = -float("inf")


# --- rendering ---------------------------------------------------------------------------------------------------


def _window(start: int, hours_from: float, hours_to: float) -> dict[str, str]:
    return {"earliestDateTime": iso(start + hours_from * 3600), "latestDateTime": iso(start + hours_to * 3600)}


def render(o: Order, included: set[str], account: Account, now: float) -> dict[str, Any]:
    """An order as the model's ``Order``, with the datasets asked for and allowed by the account's roles."""
    market = MARKETPLACES[o.marketplace_id]
    cur = market.currency
    status = o.status_at(now)
    priced = status not in ("PENDING", "PENDING_AVAILABILITY")  # no pricing while pending, as with v0 getOrderItems
    out: dict[str, Any] = {"orderId": o.order_id}
    if o.seller_order_id:
        out["orderAliases"] = [{"aliasId": o.seller_order_id, "aliasType": "SELLER_ORDER_ID"}]
    out["createdTime"] = iso(o.created)
    out["lastUpdatedTime"] = iso(o.updated_at(now))
    if o.programs:
        out["programs"] = list(o.programs)
    if o.replaces:
        out["associatedOrders"] = [{"orderId": o.replaces, "associationType": "REPLACEMENT_ORIGINAL_ID"}]
    out["salesChannel"] = {"channelName": "AMAZON", "marketplaceId": market.id, "marketplaceName": market.name}
    pii = status in PII_STATUSES
    if "BUYER" in included and pii:
        who = person(o.seed, market, o.business)
        buyer: dict[str, str] = {}
        fbm = o.fulfilled_by == "MERCHANT"
        if account.has(DIRECT_TO_CONSUMER_SHIPPING) and fbm:
            buyer["buyerEmail"] = who.email
        if (account.has(TAX_INVOICING) and market.country not in NO_BUYER_NAME_FOR_TAX_ROLE) or (
            account.has(DIRECT_TO_CONSUMER_SHIPPING) and fbm
        ):
            buyer["buyerName"] = who.name
            if who.company:
                buyer["buyerCompanyName"] = who.company
            if o.purchase_order_number:
                buyer["buyerPurchaseOrderNumber"] = o.purchase_order_number
        if buyer:
            out["buyer"] = buyer
    if "RECIPIENT" in included and pii and account.has(DIRECT_TO_CONSUMER_SHIPPING):
        who = person(o.seed, market, o.business)
        addr = {"name": who.name}
        if o.pickup_point:
            addr["companyName"] = f"Amazon Locker - {who.city}"
            addr["addressLine1"] = who.address_line1
            addr_type = "PICKUP_POINT"
        else:
            if who.company:
                addr["companyName"] = who.company
            addr["addressLine1"] = who.address_line1
            addr_type = "COMMERCIAL" if who.company else "RESIDENTIAL"
        addr["city"] = who.city
        if who.district:
            addr["districtOrCounty"] = who.district
        if who.state:
            addr["stateOrRegion"] = who.state
        if who.municipality:
            addr["municipality"] = who.municipality
        addr.update(postalCode=who.postal_code, countryCode=who.country, phone=who.phone, addressType=addr_type)
        out["recipient"] = {"deliveryAddress": addr}
    lines = order_money(o)
    if "PROCEEDS" in included and priced and status != "CANCELLED":
        out["proceeds"] = order_proceeds(lines, cur)
    if "FULFILLMENT" in included:
        ful: dict[str, Any] = {
            "fulfillmentStatus": status,
            "fulfilledBy": o.fulfilled_by,
            "fulfillmentServiceLevel": o.service_level,
        }
        if o.fulfilled_by == "MERCHANT" and status != "CANCELLED":
            ful["shipByWindow"] = _window(o.created, 0, 48)
            ful["deliverByWindow"] = _window(o.created, 72, 168)
        out["fulfillment"] = ful
    shipped = o.quantities_shipped(now)
    items = []
    for n, it in enumerate(o.items):
        item: dict[str, Any] = {"orderItemId": it.order_item_id, "quantityOrdered": it.quantity}
        product: dict[str, Any] = {
            "asin": it.asin,
            "title": it.title,
            "sellerSku": it.sku,
            "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
        }
        if priced:
            product["price"] = {"unitPrice": money(lines[n].unit_price, cur)}
        item["product"] = product
        if "PROCEEDS" in included and priced and status != "CANCELLED":
            item["proceeds"] = item_proceeds(lines[n], cur)
        if "PROMOTION" in included and priced and it.promotion_ids and o.replaces is None:
            item["promotion"] = {"breakdowns": [{"promotionId": p} for p in it.promotion_ids]}
        if "CANCELLATION" in included:
            cancellation: dict[str, Any] = {}
            asked = o.cancellation_requested(now)
            if asked is not None and (status == "CANCELLED" or shipped[it.order_item_id] < it.quantity):
                cancellation["cancellationRequest"] = {"requester": "BUYER", "cancelReason": asked}
            if status == "CANCELLED":
                who, why = o.cancelled_by
                cancellation["cancellationExecution"] = {"cancelledBy": who, "cancelReason": why}
            if cancellation:
                item["cancellation"] = cancellation
        if "FULFILLMENT" in included:
            done = shipped[it.order_item_id]
            item["fulfillment"] = {
                "quantityFulfilled": done,
                "quantityUnfulfilled": 0 if status == "CANCELLED" else it.quantity - done,
            }
        if "TAX" in included and priced:
            party = "Amazon Services LLC" if market.region == "NA" else "Amazon Services Europe S.a.r.L."
            item["tax"] = {"taxCollections": [{"model": "MARKETPLACE_FACILITATOR", "responsibleParty": party}]}
        items.append(item)
    out["orderItems"] = items
    packages = o.shipped_packages(now) if "PACKAGES" in included else []
    if packages:
        out["packages"] = [_package(p, now) for p in packages]
    return out


def _package(p: ShippedPackage, now: float) -> dict[str, Any]:
    out: dict[str, Any] = {
        "packageReferenceId": p.reference_id,
        "createdTime": iso(p.created),
        "packageStatus": {"status": "DELIVERED" if now - p.ship_time > 3 * 86400 else "SHIPPED"},
        "carrier": p.carrier,
        "shipTime": iso(p.ship_time),
    }
    if p.shipping_method:
        out["shippingService"] = p.shipping_method
    out["trackingNumber"] = p.tracking_number
    out["packageItems"] = [{"orderItemId": iid, "quantity": qty} for iid, qty in p.items]
    return out


# --- operations --------------------------------------------------------------------------------------------------


def _time(name: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(parse_iso(value))
    except ValueError:
        raise invalid_input(f"{name} is not an ISO 8601 date-time: {value!r}") from None


def _marketplaces(call: Call) -> list[str] | None:
    mids = call.csv("marketplaceIds")
    if mids is not None:
        unknown = [m for m in mids if m not in MARKETPLACES]
        if unknown:
            raise invalid_input(f"Invalid marketplaceIds: {', '.join(unknown)}")
    return mids


def search_orders(store: OrderStore, call: Call) -> dict[str, Any]:
    """``GET /orders/2026-01-01/orders``, with the rules the model states in prose."""
    now = call.now
    included = set(call.csv("includedData") or [])
    size = call.q("maxResultsPerPage")
    page_size = int(size) if size is not None else MAX_PAGE
    if not 1 <= page_size <= MAX_PAGE:
        raise invalid_input("maxResultsPerPage must be between 1 and 100.")
    fingerprint = tuple(
        (k, v) for k, v in sorted(call.req.query) if k not in ("paginationToken", "maxResultsPerPage", "includedData")
    )
    token = call.q("paginationToken")
    with store.lock:
        if token is not None:
            cur = store._cursors.get(token)
            if cur is None:
                raise invalid_input("Invalid paginationToken.")
            if now - cur.issued > TOKEN_SECONDS:
                raise invalid_input("The paginationToken has expired: it is valid for 24 hours.")
            if cur.fingerprint != fingerprint:
                raise invalid_input(
                    "All parameters other than maxResultsPerPage and includedData must be the same as in the request "
                    "that returned the paginationToken."
                )
            ids, offset, before_field, before = cur.ids, cur.offset, cur.before_field, cur.before
        else:
            ids, before_field, before = _first_page_ids(store, call)
            offset = 0
        page = ids[offset : offset + page_size]
        body: dict[str, Any] = {"orders": [render(store.by_id[i], included, call.account, now) for i in page]}
        if offset + page_size < len(ids):
            nxt = _Cursor(fingerprint, ids, offset + page_size, now, before_field, before)
            body["pagination"] = {"nextToken": store._issue_cursor(nxt, now)}
        body[before_field] = iso(before)
        return body


def _first_page_ids(store: OrderStore, call: Call) -> tuple[list[str], str, int]:
    now = call.now
    ca, cb = _time("createdAfter", call.q("createdAfter")), _time("createdBefore", call.q("createdBefore"))
    ua, ub = (
        _time("lastUpdatedAfter", call.q("lastUpdatedAfter")),
        _time("lastUpdatedBefore", call.q("lastUpdatedBefore")),
    )
    if (ca is None) == (ua is None):
        raise invalid_input("Exactly one of createdAfter and lastUpdatedAfter must be provided.")
    if ca is not None and ub is not None:
        raise invalid_input("lastUpdatedBefore cannot be combined with createdAfter.")
    if ua is not None and cb is not None:
        raise invalid_input("createdBefore cannot be combined with lastUpdatedAfter.")
    latest = int(now) - BEFORE_MARGIN
    created_mode = ca is not None
    after = ca if created_mode else ua
    before = cb if created_mode else ub
    name = "created" if created_mode else "lastUpdated"
    if before is not None and before > latest:
        raise invalid_input(f"{name}Before must be at least two minutes before the time of the request.")
    if before is None:
        before = latest
    assert after is not None
    if after > before:
        raise invalid_input(
            f"{name}After must be before {name}Before (which defaults to two minutes before the time of the request)."
        )
    mids = _marketplaces(call)
    mset = set(mids) if mids else None
    statuses = set(call.csv("fulfillmentStatuses") or []) or None
    by = set(call.csv("fulfilledBy") or []) or None
    hits: list[tuple[int, str]] = []
    seller = call.account.selling_partner_id
    for o in store.visible(seller, now):
        if mset is not None and o.marketplace_id not in mset:
            continue
        if by is not None and o.fulfilled_by not in by:
            continue
        if created_mode:
            key = o.created
            if o.created > before:
                break  # sorted by creation: nothing later can match
        else:
            key = o.updated_at(now)
        if not after <= key <= before:
            continue
        if statuses is not None and o.status_at(now) not in statuses:
            continue
        hits.append((key, o.order_id))
    hits.sort()
    return [oid for _, oid in hits], f"{name}Before", before


def get_order(store: OrderStore, call: Call) -> dict[str, Any]:
    """``GET /orders/2026-01-01/orders/{orderId}``."""
    oid = call.path["orderId"]
    if not ORDER_ID_RE.match(oid):
        raise invalid_input(f"Invalid orderId: {oid!r} (expected the 3-7-7 digit form).")
    included = set(call.csv("includedData") or [])
    with store.lock:
        o = store.by_id.get(oid)
        if (
            o is None
            or o.seller_id != call.account.selling_partner_id
            or o.created > call.now
            or o.created < call.now - TWO_YEARS
        ):
            raise not_found(f"Order {oid} was not found.")
        return {"order": render(o, included, call.account, call.now)}
