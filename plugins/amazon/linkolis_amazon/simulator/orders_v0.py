"""Orders API v0: ``getOrders``, ``getOrderItems`` and ``confirmShipment``, on the same orders as v2026-01-01.

v0 is the older shape of one ``OrderStore`` (PascalCase fields in a ``payload`` wrapper, ``Canceled`` with one L,
MFN/AFN). Its reads are deprecated but still answered; ``confirmShipment`` is not deprecated and is how a seller
marks a package shipped. A confirmed package is kept on the ``Order`` itself, so what both versions read afterwards
(status, quantities shipped, packages, ``lastUpdatedTime``) moves together.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from linkolis_host.testing.simulator import iso, parse_iso

from . import orders as v2026
from .accounts import INVENTORY_AND_ORDER_TRACKING, Account
from .marketplaces import MARKETPLACES, amount
from .orders import (
    BEFORE_MARGIN,
    MAX_PAGE,
    ORDER_ID_RE,
    PII_STATUSES,
    TOKEN_SECONDS,
    TWO_YEARS,
    Order,
    OrderStore,
    ShippedPackage,
    _Cursor,
    _window,
)
from .people import person
from .wire import Call, invalid_input, not_found

API = "ordersV0"  # the key of the v0 model in contract.API_MODELS
V0_STATUS = {
    "PENDING_AVAILABILITY": "PendingAvailability",
    "PENDING": "Pending",
    "UNSHIPPED": "Unshipped",
    "PARTIALLY_SHIPPED": "PartiallyShipped",
    "SHIPPED": "Shipped",
    "CANCELLED": "Canceled",
    "UNFULFILLABLE": "Unfulfillable",
}
ORDER_STATUSES = {*V0_STATUS.values(), "InvoiceUnconfirmed"}  # what OrderStatuses may name (the model's prose)
CHANNELS = {"MFN": "MERCHANT", "AFN": "AMAZON"}
PAYMENT_METHODS = {"COD", "CVS", "Other"}
SERVICE_CATEGORY = {
    "STANDARD": "Standard",
    "EXPEDITED": "Expedited",
    "NEXT_DAY": "NextDay",
    "FREE_ECONOMY": "FreeEconomy",
    "PRIORITY": "Priority",
    "SAME_DAY": "SameDay",
    "SECOND_DAY": "SecondDay",
    "SCHEDULED": "Scheduled",
}
SHIP_SERVICE_LEVEL = {"STANDARD": "Std", "EXPEDITED": "Exp", "NEXT_DAY": "NextDay", "FREE_ECONOMY": "Econ"}
# Filters for kinds of order the simulator never has (Easy Ship, in-store pickup, store chains, supply sources,
# electronic invoices): any value selects nothing.
NEVER_MATCHING = (
    "EasyShipShipmentStatuses",
    "ElectronicInvoiceStatuses",
    "StoreChainStoreId",
    "ActualFulfillmentSupplySourceId",
)
NOT_WITH_SELLER_ORDER_ID = (
    "FulfillmentChannels",
    "OrderStatuses",
    "PaymentMethods",
    "LastUpdatedAfter",
    "LastUpdatedBefore",
    "BuyerEmail",
)
# Amazon does not document getOrderItems' page size; the simulator pages at 100 items, as getOrders does.
ITEMS_PER_PAGE = 100
PACKAGE_REFERENCE_RE = re.compile(r"^[1-9][0-9]*$")  # "Only positive numeric values are supported."
CONFIRMABLE = {"UNSHIPPED", "PARTIALLY_SHIPPED"}
NOT_CONFIRMABLE = {
    "PENDING_AVAILABILITY": "is a pre-order whose payment is not authorized yet",
    "PENDING": "is Pending: its payment is not authorized yet",
    "SHIPPED": "is already Shipped: nothing is left to ship",
    "CANCELLED": "is Canceled",
    "UNFULFILLABLE": "is Unfulfillable",
}


def _money(minor: int, currency: str) -> dict[str, str]:
    return {"CurrencyCode": currency, "Amount": amount(minor, currency)}


def _priced(status: str) -> bool:
    """Pricing is withheld while the payment is not authorized (the model's note on getOrderItems)."""
    return status not in ("PENDING", "PENDING_AVAILABILITY")


# --- rendering ---------------------------------------------------------------------------------------------------


def render_order(o: Order, account: Account, now: float) -> dict[str, Any]:
    """An order as the v0 model's ``Order``; buyer data follows the same role rules as v2026's ``render``."""
    market = MARKETPLACES[o.marketplace_id]
    status = o.status_at(now)
    mfn = o.fulfilled_by == "MERCHANT"
    shipped = sum(o.quantities_shipped(now).values())
    ordered = sum(i.quantity for i in o.items)
    out: dict[str, Any] = {
        "AmazonOrderId": o.order_id,
        "SellerOrderId": o.order_id,
        "PurchaseDate": iso(o.created),
        "LastUpdateDate": iso(o.updated_at(now)),
        "OrderStatus": V0_STATUS[status],
        "FulfillmentChannel": "MFN" if mfn else "AFN",
        "SalesChannel": market.name,
        "ShipServiceLevel": f"{SHIP_SERVICE_LEVEL.get(o.service_level, 'Std')} {market.country} Dom",
    }
    if _priced(status) and status != "CANCELLED":
        out["OrderTotal"] = _money(sum(i.unit_price * i.quantity for i in o.items), market.currency)
    out["NumberOfItemsShipped"] = shipped
    out["NumberOfItemsUnshipped"] = 0 if status == "CANCELLED" else ordered - shipped
    out["PaymentMethod"] = "Other"
    out["PaymentMethodDetails"] = ["Standard"]
    out["MarketplaceId"] = market.id
    out["ShipmentServiceLevelCategory"] = SERVICE_CATEGORY.get(o.service_level, "Standard")
    out["OrderType"] = "StandardOrder"
    if mfn and status != "CANCELLED":
        ship_by, deliver_by = _window(o.created, 0, 48), _window(o.created, 72, 168)
        out["EarliestShipDate"], out["LatestShipDate"] = ship_by["earliestDateTime"], ship_by["latestDateTime"]
        out["EarliestDeliveryDate"] = deliver_by["earliestDateTime"]
        out["LatestDeliveryDate"] = deliver_by["latestDateTime"]
    out.update(
        IsBusinessOrder=o.business,
        IsPrime="PRIME" in o.programs,
        IsPremiumOrder=False,
        IsGlobalExpressEnabled=False,
        IsReplacementOrder=o.replaces is not None,
        IsSoldByAB=False,
        IsIBA=False,
        IsISPU=False,
        IsAccessPointOrder=o.pickup_point,
        HasRegulatedItems=False,
    )
    if o.replaces is not None:
        out["ReplacedOrderId"] = o.replaces
    if status in PII_STATUSES:
        out.update(_buyer_data(o, account, now))
    return out


def _buyer_data(o: Order, account: Account, now: float) -> dict[str, Any]:
    """``ShippingAddress`` and ``BuyerInfo``. The model marks name, street, phone and address type restricted; city,
    region, postal code and country are not, so they come without the role. The restricted parts are taken from
    v2026's rendering, so both versions grant PII under the same rules."""
    market = MARKETPLACES[o.marketplace_id]
    who = person(o.seed, market)
    address: dict[str, Any] = {"City": who.city, "PostalCode": who.postal_code, "CountryCode": who.country}
    if who.state:
        address["StateOrRegion"] = who.state
    seen = v2026.render(o, {"BUYER", "RECIPIENT"}, account, now)
    full = seen.get("recipient", {}).get("deliveryAddress")
    if full is not None:
        address = {"Name": full["name"], "AddressLine1": full["addressLine1"], **address, "Phone": full["phone"]}
        if "companyName" in full:
            address["CompanyName"] = full["companyName"]
        # v0 knows Residential and Commercial only; a pickup point (a locker) is a commercial address there, and the
        # order says IsAccessPointOrder.
        address["AddressType"] = "Residential" if full["addressType"] == "RESIDENTIAL" else "Commercial"
    out: dict[str, Any] = {"ShippingAddress": address}
    buyer = seen.get("buyer", {})
    info: dict[str, Any] = {}
    if "buyerEmail" in buyer:
        info["BuyerEmail"] = buyer["buyerEmail"]
    if "buyerName" in buyer:
        info["BuyerName"] = buyer["buyerName"]
    if "buyerCompanyName" in buyer:
        info["BuyerTaxInfo"] = {"CompanyLegalName": buyer["buyerCompanyName"]}
    if "buyerPurchaseOrderNumber" in buyer:
        info["PurchaseOrderNumber"] = buyer["buyerPurchaseOrderNumber"]
    if info:
        out["BuyerInfo"] = info
    return out


def render_item(o: Order, n: int, shipped: dict[str, int], now: float) -> dict[str, Any]:
    """One item as the v0 model's ``OrderItem``."""
    it = o.items[n]
    market = MARKETPLACES[o.marketplace_id]
    cur = market.currency
    out: dict[str, Any] = {
        "ASIN": it.asin,
        "SellerSKU": it.sku,
        "OrderItemId": it.order_item_id,
        "Title": it.title,
        "QuantityOrdered": it.quantity,
        "QuantityShipped": shipped[it.order_item_id],
        "ProductInfo": {"NumberOfItems": "1"},
    }
    if _priced(o.status_at(now)):
        # One tax-inclusive price per item is all the store keeps: tax, shipping and promotions are zero here.
        out["ItemPrice"] = _money(it.unit_price * it.quantity, cur)
        for name in ("ItemTax", "ShippingPrice", "ShippingTax", "PromotionDiscount", "PromotionDiscountTax"):
            out[name] = _money(0, cur)
        out["IsGift"] = "false"
        if market.country == "US":
            out["TaxCollection"] = {"Model": "MarketplaceFacilitator", "ResponsibleParty": "Amazon Services, Inc."}
    out.update(ConditionId="New", ConditionSubtypeId="New", IsTransparency=False, SerialNumberRequired=False)
    asked = o.cancellation_requested(now)
    if asked is not None and shipped[it.order_item_id] < it.quantity:
        out["BuyerRequestedCancel"] = {"IsBuyerRequestedCancel": "true", "BuyerCancelReason": asked}
    return out


# --- reads -------------------------------------------------------------------------------------------------------


def _time(name: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(parse_iso(value))
    except ValueError:
        raise invalid_input(f"{name} is not an ISO 8601 date-time: {value!r}") from None


def _only(call: Call, name: str, allowed: set[str]) -> set[str] | None:
    values = call.csv(name)
    if values is None:
        return None
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise invalid_input(f"Invalid {name}: {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))}).")
    return set(values)


def get_orders(store: OrderStore, call: Call) -> dict[str, Any]:
    """``GET /orders/v0/orders``: the first page from the filters, later pages from ``NextToken`` alone."""
    now = call.now
    size = call.q("MaxResultsPerPage")
    page_size = int(size) if size is not None else MAX_PAGE
    if not 1 <= page_size <= MAX_PAGE:
        raise invalid_input("MaxResultsPerPage must be between 1 and 100.")
    unknown = [m for m in call.csv("MarketplaceIds") or [] if m not in MARKETPLACES]
    if unknown:
        raise invalid_input(f"Invalid MarketplaceIds: {', '.join(unknown)}")
    seller = call.account.selling_partner_id
    token = call.q("NextToken")
    with store.lock:
        if token is not None:
            # "NextToken doesn't affect any filters": the token carries the first request's result.
            cur = store._cursors.get(token)
            if cur is None or cur.fingerprint != (API, "getOrders", seller):
                raise invalid_input("Invalid NextToken.")
            if now - cur.issued > TOKEN_SECONDS:
                raise invalid_input("The NextToken has expired.")
            ids, offset, before_field, before = cur.ids, cur.offset, cur.before_field, cur.before
        else:
            ids, before_field, before = _matching_ids(store, call)
            offset = 0
        page = ids[offset : offset + page_size]
        payload: dict[str, Any] = {"Orders": [render_order(store.by_id[i], call.account, now) for i in page]}
        if offset + page_size < len(ids):
            nxt = _Cursor((API, "getOrders", seller), ids, offset + page_size, now, before_field, before)
            payload["NextToken"] = store._issue_cursor(nxt, now)
        payload[before_field] = iso(before)
        return {"payload": payload}


def _matching_ids(store: OrderStore, call: Call) -> tuple[list[str], str, int]:
    now = call.now
    ca, cb = _time("CreatedAfter", call.q("CreatedAfter")), _time("CreatedBefore", call.q("CreatedBefore"))
    ua = _time("LastUpdatedAfter", call.q("LastUpdatedAfter"))
    ub = _time("LastUpdatedBefore", call.q("LastUpdatedBefore"))
    if ca is None and ua is None:
        raise invalid_input("Either CreatedAfter or LastUpdatedAfter is required.")
    if ca is not None and ua is not None:
        raise invalid_input("CreatedAfter and LastUpdatedAfter cannot both be set.")
    if ca is not None and ub is not None:
        raise invalid_input("LastUpdatedBefore cannot be set when CreatedAfter is set.")
    if ua is not None and cb is not None:
        raise invalid_input("CreatedBefore cannot be set when LastUpdatedAfter is set.")
    seller_order_id = call.q("SellerOrderId")
    if seller_order_id is not None:
        clash = [n for n in NOT_WITH_SELLER_ORDER_ID if call.q(n) is not None]
        if clash:
            raise invalid_input(f"SellerOrderId cannot be combined with {', '.join(clash)}.")
    created_mode = ca is not None
    name = "Created" if created_mode else "LastUpdated"
    after, before = (ca, cb) if created_mode else (ua, ub)
    assert after is not None
    latest = int(now) - BEFORE_MARGIN
    if before is not None and before > latest:
        raise invalid_input(f"{name}Before must be at least two minutes before the time of the request.")
    if before is None:
        before = latest
    if after > before:
        raise invalid_input(f"{name}Before must be equal to or after {name}After.")
    statuses = _only(call, "OrderStatuses", ORDER_STATUSES)
    channels = _only(call, "FulfillmentChannels", set(CHANNELS))
    payments = _only(call, "PaymentMethods", PAYMENT_METHODS)
    mids = set(call.csv("MarketplaceIds") or [])
    wanted_ids = set(call.csv("AmazonOrderIds") or []) or None
    buyer_email = call.q("BuyerEmail")
    deliveries = [
        (n, _time(n, call.q(n)))
        for n in (
            "EarliestDeliveryDateBefore",
            "EarliestDeliveryDateAfter",
            "LatestDeliveryDateBefore",
            "LatestDeliveryDateAfter",
        )
    ]
    if (
        any(call.q(n) is not None for n in NEVER_MATCHING)
        or call.q("IsISPU") == "true"
        or (payments is not None and "Other" not in payments)
    ):
        return [], f"{name}Before", before
    hits: list[tuple[int, str]] = []
    for o in store.visible(call.account.selling_partner_id, now):
        if o.marketplace_id not in mids:
            continue
        if created_mode and o.created > before:
            break  # sorted by creation: nothing later can match
        key = o.created if created_mode else o.updated_at(now)
        if not after <= key <= before:
            continue
        if wanted_ids is not None and o.order_id not in wanted_ids:
            continue
        if seller_order_id is not None and o.order_id != seller_order_id:
            continue
        if channels is not None and o.fulfilled_by not in {CHANNELS[c] for c in channels}:
            continue
        if statuses is not None and V0_STATUS[o.status_at(now)] not in statuses:
            continue
        if buyer_email is not None and person(o.seed, MARKETPLACES[o.marketplace_id]).email != buyer_email:
            continue
        if any(t is not None for _, t in deliveries) and not _delivers_within(o, deliveries):
            continue
        hits.append((key, o.order_id))
    hits.sort()
    return [oid for _, oid in hits], f"{name}Before", before


def _delivers_within(o: Order, bounds: list[tuple[str, int | None]]) -> bool:
    if o.fulfilled_by != "MERCHANT":
        return False  # delivery dates are only known for seller-fulfilled orders
    window = _window(o.created, 72, 168)
    earliest, latest = parse_iso(window["earliestDateTime"]), parse_iso(window["latestDateTime"])
    for name, t in bounds:
        if t is None:
            continue
        value = earliest if name.startswith("Earliest") else latest
        if (name.endswith("Before") and value > t) or (name.endswith("After") and value < t):
            return False
    return True


def _order(store: OrderStore, call: Call) -> Order:
    oid = call.path["orderId"]
    if not ORDER_ID_RE.match(oid):
        raise invalid_input(f"Invalid orderId: {oid!r} (expected the 3-7-7 digit form).")
    o = store.by_id.get(oid)
    if (
        o is None
        or o.seller_id != call.account.selling_partner_id
        or o.created > call.now
        or o.created < call.now - TWO_YEARS
    ):
        raise not_found(f"Order {oid} was not found.")
    return o


def get_order_items(store: OrderStore, call: Call) -> dict[str, Any]:
    """``GET /orders/v0/orders/{orderId}/orderItems``, paged with ``NextToken``."""
    now = call.now
    with store.lock:
        o = _order(store, call)
        fingerprint = (API, "getOrderItems", call.account.selling_partner_id, o.order_id)
        offset = 0
        token = call.q("NextToken")
        if token is not None:
            cur = store._cursors.get(token)
            if cur is None or cur.fingerprint != fingerprint:
                raise invalid_input("Invalid NextToken.")
            if now - cur.issued > TOKEN_SECONDS:
                raise invalid_input("The NextToken has expired.")
            offset = cur.offset
        shipped = o.quantities_shipped(now)
        upto = min(offset + ITEMS_PER_PAGE, len(o.items))
        payload: dict[str, Any] = {
            "AmazonOrderId": o.order_id,
            "OrderItems": [render_item(o, n, shipped, now) for n in range(offset, upto)],
        }
        if upto < len(o.items):
            nxt = _Cursor(fingerprint, [], upto, now, "", 0)
            payload["NextToken"] = store._issue_cursor(nxt, now)
        return {"payload": payload}


# --- confirmShipment ---------------------------------------------------------------------------------------------


def confirm_shipment(store: OrderStore, call: Call) -> None:
    """``POST /orders/v0/orders/{orderId}/shipmentConfirmation``: record one package of a seller-fulfilled order and
    move the order to PartiallyShipped or Shipped. The body's shape was checked against the model already."""
    now = int(call.now)
    body = call.json_body()
    detail = body["packageDetail"]
    with store.lock:
        o = _order(store, call)
        oid = o.order_id
        if body["marketplaceId"] != o.marketplace_id:
            raise invalid_input(f"Order {oid} was not placed in marketplace {body['marketplaceId']}.")
        if o.fulfilled_by != "MERCHANT":
            raise invalid_input(f"Order {oid} is fulfilled by Amazon (AFN): Amazon confirms its shipments.")
        status = o.status_at(now)
        if status not in CONFIRMABLE:
            raise invalid_input(f"Order {oid} {NOT_CONFIRMABLE.get(status, 'cannot be shipped')}.")
        if "codCollectionMethod" in body and MARKETPLACES[o.marketplace_id].country != "JP":
            raise invalid_input("codCollectionMethod is only supported in the JP marketplace.")
        ref = str(detail["packageReferenceId"])
        if not PACKAGE_REFERENCE_RE.match(ref):
            raise invalid_input("PackageReferenceId: is invalid, must be a positive numeric value.")
        known = o.shipped_packages(now)
        if any(p.reference_id == ref for p in known):
            raise invalid_input(f"packageReferenceId {ref} is already used by a package of order {oid}.")
        code, name = detail["carrierCode"].strip(), (detail.get("carrierName") or "").strip()
        if not code:
            raise invalid_input("carrierCode must not be empty.")
        if code == "Other" and not name:
            raise invalid_input('carrierName is required when carrierCode is "Other".')
        if not detail["trackingNumber"].strip():
            raise invalid_input("trackingNumber must not be empty.")
        ship_time = _time("shipDate", detail["shipDate"])
        assert ship_time is not None
        if ship_time < o.created:
            raise invalid_input(f"shipDate {detail['shipDate']} is before the order was placed ({iso(o.created)}).")
        items = _package_items(o, detail["orderItems"], now)
        if not o.packages:
            o.packages = known  # what the timeline had shipped stays shipped
        o.packages.append(
            ShippedPackage(
                ref,
                now,
                ship_time,
                code,
                detail["trackingNumber"],
                items,
                carrier_name=name or None,
                shipping_method=detail.get("shippingMethod"),
                confirmed=True,
            )
        )
        shipped = o.quantities_shipped(now)
        done = all(shipped[i.order_item_id] >= i.quantity for i in o.items)
        new_status = "SHIPPED" if done else "PARTIALLY_SHIPPED"
        if new_status != status:
            o.set_status(new_status, now)
        else:
            o.touch(now)


def _package_items(o: Order, lines: list[dict[str, Any]], now: float) -> list[tuple[str, int]]:
    """The package's (orderItemId, quantity), summed per item; every problem is named in one 400."""
    if not lines:
        raise invalid_input("orderItems must name at least one order item.")
    ordered = {i.order_item_id: i.quantity for i in o.items}
    shipped = o.quantities_shipped(now)
    wanted: dict[str, int] = {}
    problems = []
    for line in lines:
        iid, qty = line["orderItemId"], line["quantity"]
        if iid not in ordered:
            problems.append(f"orderItemId {iid} is not an item of order {o.order_id}")
        elif qty < 1:
            problems.append(f"quantity of orderItemId {iid} must be at least 1")
        else:
            wanted[iid] = wanted.get(iid, 0) + qty
    for iid, qty in wanted.items():
        left = ordered[iid] - shipped[iid]
        if qty > left:
            problems.append(f"quantity {qty} of orderItemId {iid} exceeds the {left} left to ship")
    if problems:
        raise invalid_input("; ".join(problems) + ".")
    return list(wanted.items())


# --- ground truth ------------------------------------------------------------------------------------------------


def shipments_truth(store: OrderStore, seller_id: str | None) -> list[dict[str, Any]]:
    """Every package a seller confirmed, once each, in the order they were confirmed."""
    with store.lock:
        rows = [
            (p.created, o.order_id, p)
            for o in store.by_id.values()
            if seller_id is None or o.seller_id == seller_id
            for p in o.packages
            if p.confirmed
        ]
        rows.sort(key=lambda r: (r[0], r[1], int(r[2].reference_id)))
        return [
            {
                "orderId": oid,
                "sellerId": store.by_id[oid].seller_id,
                "marketplaceId": store.by_id[oid].marketplace_id,
                "packageReferenceId": p.reference_id,
                "carrierCode": p.carrier_code,
                "carrierName": p.carrier_name,
                "shippingMethod": p.shipping_method,
                "trackingNumber": p.tracking_number,
                "shipDate": iso(p.ship_time),
                "confirmedTime": iso(p.created),
                "items": [{"orderItemId": iid, "quantity": qty} for iid, qty in p.items],
            }
            for _, oid, p in rows
        ]


Handler = Callable[[Any, Call], tuple[int, Any]]  # (Simulator, call) -> (status, body or None)
OPERATIONS: dict[str, tuple[str, Handler]] = {
    "getOrders": (INVENTORY_AND_ORDER_TRACKING, lambda s, c: (200, get_orders(s.orders, c))),
    "getOrderItems": (INVENTORY_AND_ORDER_TRACKING, lambda s, c: (200, get_order_items(s.orders, c))),
    "confirmShipment": (INVENTORY_AND_ORDER_TRACKING, lambda s, c: (204, confirm_shipment(s.orders, c))),
}
