"""`GET /retailer/orders` -> the host's orders, incrementally, page by page, with each order's details.

Which orders: every run asks for order items of both fulfilment methods (``fulfilment-method=ALL``) in every
status (``status=ALL``; bol's defaults would be FBR and open only). A run less than ``INTERVAL_LIMIT`` after the
last one asks for what changed since, with ``change-interval-minute`` (the minutes since the last run plus
``OVERLAP_MINUTES``, at most bol's 60); otherwise (a first import, or a gap) it walks ``latest-change-date`` day by
day from the day before the last run (bol's days need not be UTC ones) up to today, within bol's 3 months. Pages
hold 50 orders; a page with fewer is the last. The cursor after each page names the next page, so a crash
resumes where it stopped; after the last it is the run's start.

The list carries no prices, addresses or titles, so each order that is new or changed since it was last seen
(``SEEN_KEY``: order id -> latest change, kept for three days) is read with `GET /retailer/orders/{order-id}`; one that
comes again unchanged (overlapping windows, several changed items) costs nothing.

FBR and FBB: an order whose items bol fulfils (``fulfilment.method`` FBB) is ``fulfilled_by="marketplace"``,
like Amazon's FBA; any item the retailer ships makes it ``merchant``.

Money (bol's prices include VAT and bol states neither the VAT amount nor its rate):

- ``total`` is bol's ``totalPrice``: what the buyer paid for the line, VAT and promotions included.
- ``discount`` is the sum of the item's ``discounts[].amount`` (VAT included, as bol states them), ``0`` when bol
  lists none.
- ``unit_price``, ``subtotal`` and ``tax`` are ``None``: the host's unit price and subtotal are before tax, and
  bol's ``unitPrice`` includes VAT at a rate it does not send; splitting it would be a guess.
- ``shipping`` and ``shipping_tax`` are ``None``: bol's order items carry no shipping charge.
- The order's ``total`` is the sum of its lines' totals; the currency is EUR (bol sells in euros only).
- bol's ``commission`` is a fee to the seller, not something the buyer paid: it is not in the order.

Cancellation requests: an item whose ``cancellationRequest`` is true and that is still open (not shipped or cancelled
in full) is a line with ``cancellation_requested``; bol keeps the flag after the item is cancelled, when there is
nothing left to answer. bol's v10 order items carry no reason for the request, so ``cancellation_reason`` is
``None``. ``linkolis_bol/cancellations.py`` accepts a request (or cancels on the seller's initiative).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Iterator
from urllib.parse import quote

from linkolis_host import Address, Buyer, Order, OrderBatch, OrderLine

from .client import Bol

PAGE_SIZE = 50
INTERVAL_LIMIT = timedelta(minutes=55)  # bol's change-interval-minute goes up to 60
OVERLAP_MINUTES = 2  # bol: poll at least a minute more often than the interval asked for
MAX_HISTORY_DAYS = 90
SEEN_KEY = "orders_seen"
SEEN_FOR = timedelta(days=3)  # longer than the day-before re-read reaches back
MARKETPLACE = "bol.com"
# The host's address and buyer fields bol sends as they are, each with the key of bol's that fills it.
ADDRESS_FIELDS = {
    "company": "company",
    "line2": "extraAddressInformation",
    "line3": "pickupPointName",
    "city": "city",
    "postal_code": "zipCode",
    "country_code": "countryCode",
    "phone": "deliveryPhoneNumber",
}
BUYER_FIELDS = {"email": "email", "company": "company", "purchase_order_number": "orderReference"}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _money(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount.quantize(Decimal("0.01")) if amount.is_finite() else None


def _line(item: dict[str, Any]) -> OrderLine:
    product = item.get("product") or {}
    offer = item.get("offer") or {}
    discounts = [d for d in item.get("discounts") or [] if isinstance(d, dict)]
    discount = sum((abs(_money(d.get("amount")) or Decimal(0)) for d in discounts), Decimal("0.00"))
    quantity = int(item.get("quantity") or 0)
    handled = int(item.get("quantityShipped") or 0) + int(item.get("quantityCancelled") or 0)
    return OrderLine(
        line_id=str(item["orderItemId"]),
        sku=_text(offer.get("reference")) or _text(product.get("ean")),
        product_id=_text(product.get("ean")),
        title=_text(product.get("title")),
        quantity_ordered=quantity,
        quantity_shipped=int(item.get("quantityShipped") or 0),
        quantity_cancelled=int(item.get("quantityCancelled") or 0),
        unit_price=None,
        subtotal=None,
        tax=None,
        shipping=None,
        shipping_tax=None,
        discount=discount,
        total=_money(item.get("totalPrice")),
        cancellation_requested=item.get("cancellationRequest") is True and handled < quantity,
        cancellation_reason=None,  # bol's v10 order items carry none
    )


def _status(items: list[dict[str, Any]]) -> tuple[str, str]:
    """The host's status and bol's word (OPEN while an item waits to be handled, else HANDLED)."""
    quantity = sum(int(i.get("quantity") or 0) for i in items)
    shipped = sum(int(i.get("quantityShipped") or 0) for i in items)
    cancelled = sum(int(i.get("quantityCancelled") or 0) for i in items)
    open_ = quantity - shipped - cancelled > 0
    word = "OPEN" if open_ else "HANDLED"
    if quantity and cancelled >= quantity:
        return "cancelled", word
    if not open_:
        return "shipped", word
    return ("partially_shipped" if shipped else "unshipped"), word


def _address(details: dict[str, Any], pickup_point: bool) -> Address:
    street = " ".join(
        p
        for p in (
            _text(details.get("streetName")),
            _text(details.get("houseNumber")),
            _text(details.get("houseNumberExtension")),
        )
        if p
    )
    name = " ".join(p for p in (_text(details.get("firstName")), _text(details.get("surname"))) if p)
    kind = "pickup_point" if pickup_point else None
    return Address.from_fields(details, ADDRESS_FIELDS, name=name or None, line1=street or None, address_type=kind)


def to_order(raw: dict[str, Any], placed_fallback: str | None = None) -> Order:
    """One bol order (``GET /retailer/orders/{order-id}``) as the host's neutral order."""
    items = [i for i in raw.get("orderItems") or [] if isinstance(i, dict)]
    lines = [_line(i) for i in items]
    status, word = _status(items)
    placed = raw.get("orderPlacedDateTime") or placed_fallback
    changes = [parse_time(i["latestChangedDateTime"]) for i in items if i.get("latestChangedDateTime")]
    created = parse_time(placed) if placed else min(changes)
    methods = {str((i.get("fulfilment") or {}).get("method") or "FBR") for i in items}
    billing = raw.get("billingDetails")
    shipment = raw.get("shipmentDetails")
    totals = [line.total for line in lines]
    name = " ".join(p for p in (_text((billing or {}).get("firstName")), _text((billing or {}).get("surname"))) if p)
    return Order(
        marketplace_order_id=str(raw["orderId"]),
        marketplace=MARKETPLACE,
        status=status,
        marketplace_status=word,
        fulfilled_by="marketplace" if methods == {"FBB"} else "merchant",
        created_at=created,
        updated_at=max(changes, default=created),
        currency="EUR",
        total=sum(totals, Decimal("0.00")) if totals and None not in totals else None,
        lines=lines,
        buyer=Buyer.from_fields(billing, BUYER_FIELDS, name=name or None) if billing else None,
        recipient=_address(shipment, bool(raw.get("pickupPoint"))) if shipment else None,
    )


def _latest_change(reduced: dict[str, Any]) -> str:
    return max((str(i.get("latestChangedDateTime") or "") for i in reduced.get("orderItems") or []), default="")


def _plan(ctx, api: Bol, cursor: dict | None, now: datetime) -> tuple[list[str] | None, int, int, str]:
    """What this run asks for: (days, or None for the change interval; minutes; first page; the run's start)."""
    if cursor and cursor.get("days"):  # resuming a walk a crash interrupted
        return list(cursor["days"]), 0, int(cursor.get("page", 1)), cursor["run"]
    run = iso(now)
    oldest = (now - timedelta(days=MAX_HISTORY_DAYS)).date()
    if cursor and cursor.get("since"):
        since = parse_time(cursor["since"])
        if now - since < INTERVAL_LIMIT:
            minutes = int((now - since).total_seconds() // 60) + 1 + OVERLAP_MINUTES
            return None, min(60, minutes), 1, run
        first = max(oldest, (since - timedelta(days=1)).date())
    else:
        first = max(oldest, (now - timedelta(days=api.op.first_import_days)).date())
    days = [(first + timedelta(days=n)).isoformat() for n in range((now.date() - first).days + 1)]
    return days, 0, 1, run


def import_orders(ctx, cursor: dict | None) -> Iterator[OrderBatch]:
    api = Bol(ctx)
    now = ctx.clock.now()
    days, minutes, page, run = _plan(ctx, api, cursor, now)
    seen: dict[str, str] = ctx.state.get(SEEN_KEY, {})
    horizon = iso(now - SEEN_FOR)
    seen = {k: v for k, v in seen.items() if v >= horizon}
    base = {"status": "ALL", "fulfilment-method": "ALL"}
    while True:
        if days is None:
            params = {**base, "change-interval-minute": minutes, "page": page}
        else:
            params = {**base, "latest-change-date": days[0], "page": page}
        listed = api.json("GET", "/retailer/orders", "get-orders", params=params).get("orders") or []
        orders = []
        for reduced in listed:
            order_id, change = str(reduced["orderId"]), _latest_change(reduced)
            if change and seen.get(order_id, "") >= change:
                continue
            raw = api.json("GET", f"/retailer/orders/{quote(order_id, safe='')}", "get-order")
            order = to_order(raw, reduced.get("orderPlacedDateTime"))
            orders.append(order)
            seen[order_id] = max(change, iso(order.updated_at))
        more = len(listed) >= PAGE_SIZE
        if more:
            page += 1
        elif days is not None and len(days) > 1:
            days, page = days[1:], 1
        else:
            days = None
        finished = not more and days is None
        next_cursor = (
            {"since": run}
            if finished
            else ({"days": days, "page": page, "run": run} if days is not None else dict(cursor or {"since": run}))
        )
        if orders:
            ctx.state.set(SEEN_KEY, seen)
        yield OrderBatch(orders=orders, cursor=next_cursor)
        if finished:
            return
