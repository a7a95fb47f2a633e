"""Orders API v2026-01-01 `searchOrders` -> the host's orders, window by window, page by page.

Each run asks for orders *updated* in a window (so status changes come back, not only new orders) ending at
least two minutes in the past, as Amazon requires. Pages carry up to 100 orders with their items inline, so a
run makes ceil(N / 100) calls. The cursor after each page is either the window plus the next page's token (so a
crash resumes mid-window) or, after the last page, the window's end less a small overlap.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Iterator

from linkolis_host import Address, Buyer, Order, OrderBatch, OrderLine

from .client import SpApi, SpApiError

PAGE_SIZE = 100
INCLUDED = ["FULFILLMENT", "PROCEEDS", "BUYER", "RECIPIENT"]
# Amazon refuses a *Before less than two minutes old; a little more leaves room for clock skew.
SETTLE = timedelta(minutes=2, seconds=30)
# The next window starts this far before the last one ended, so an order updated on the boundary is not missed.
OVERLAP = timedelta(minutes=5)
MAX_LOOKBACK = timedelta(days=730)
TOKEN_LIFETIME = timedelta(hours=24)
PII_KEY = "pii_withheld"

STATUSES = {
    "PENDING_AVAILABILITY": "pending", "PENDING": "pending", "UNSHIPPED": "unshipped",
    "PARTIALLY_SHIPPED": "partially_shipped", "SHIPPED": "shipped", "CANCELLED": "cancelled",
    "UNFULFILLABLE": "unfulfillable",
}


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _money(value: dict | None) -> tuple[Decimal | None, str | None]:
    if not value:
        return None, None
    try:
        return Decimal(str(value["amount"])), value.get("currencyCode")
    except (InvalidOperation, KeyError):
        return None, value.get("currencyCode")


def to_order(raw: dict[str, Any]) -> Order:
    """One Amazon order as the host's neutral order."""
    fulfillment = raw.get("fulfillment") or {}
    amazon_status = fulfillment.get("fulfillmentStatus", "UNKNOWN")
    total, currency = _money((raw.get("proceeds") or {}).get("grandTotal"))
    lines = []
    for item in raw.get("orderItems", []):
        product = item.get("product") or {}
        unit, unit_currency = _money((product.get("price") or {}).get("unitPrice"))
        line_total, _ = _money((item.get("proceeds") or {}).get("proceedsTotal"))
        if line_total is None and unit is not None:
            line_total = unit * item["quantityOrdered"]
        currency = currency or unit_currency
        lines.append(OrderLine(
            line_id=item["orderItemId"], sku=product.get("sellerSku"), product_id=product.get("asin"),
            title=product.get("title"), quantity_ordered=item["quantityOrdered"],
            quantity_shipped=(item.get("fulfillment") or {}).get("quantityFulfilled") or 0,
            unit_price=unit, line_total=line_total,
        ))
    buyer = raw.get("buyer")
    address = (raw.get("recipient") or {}).get("deliveryAddress")
    return Order(
        marketplace_order_id=raw["orderId"],
        marketplace=(raw.get("salesChannel") or {}).get("marketplaceId", ""),
        status=STATUSES.get(amazon_status, "other"),
        marketplace_status=amazon_status,
        fulfilled_by="marketplace" if fulfillment.get("fulfilledBy") == "AMAZON" else "merchant",
        created_at=parse_time(raw["createdTime"]),
        updated_at=parse_time(raw["lastUpdatedTime"]),
        currency=currency,
        total=total,
        lines=lines,
        buyer=Buyer(name=buyer.get("buyerName"), email=buyer.get("buyerEmail"),
                    company=buyer.get("buyerCompanyName")) if buyer else None,
        recipient=Address(
            name=address.get("name"), company=address.get("companyName"), line1=address.get("addressLine1"),
            line2=address.get("addressLine2"), line3=address.get("addressLine3"), city=address.get("city"),
            region=address.get("stateOrRegion"), postal_code=address.get("postalCode"),
            country_code=address.get("countryCode"), phone=address.get("phone"),
        ) if address else None,
    )


def _withholds_pii(raw: dict[str, Any]) -> bool | None:
    """True when an order that should carry a recipient came without one (the app lacks the role)."""
    fulfillment = raw.get("fulfillment") or {}
    if fulfillment.get("fulfilledBy") != "MERCHANT" or fulfillment.get("fulfillmentStatus") not in (
            "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"):
        return None
    return not (raw.get("recipient") or {}).get("deliveryAddress")


def import_orders(ctx, cursor: dict | None) -> Iterator[OrderBatch]:
    api = SpApi(ctx)
    now = ctx.clock.now()
    fresh_end = now - SETTLE
    if cursor and cursor.get("token") and cursor.get("before"):
        # Resume the window a crash interrupted, from the page it reached (tokens live 24 hours)...
        start, end = parse_time(cursor["after"]), parse_time(cursor["before"])
        token = cursor["token"] if now - parse_time(cursor["token_at"]) < TOKEN_LIFETIME else None
    else:
        lookback = timedelta(days=api.op.first_import_days)
        start = parse_time(cursor["after"]) if cursor and cursor.get("after") else now - lookback
        end, token = fresh_end, None
    start = max(start, now - MAX_LOOKBACK + timedelta(hours=1))
    withheld: bool | None = None
    while start < end:
        boundary = end
        for batch, boundary, verdict in _window(ctx, api, start, end, token):
            if verdict is not None:
                withheld = verdict if withheld is None else (withheld and verdict)
            yield batch
        if end >= fresh_end:
            break
        # ...then go on to now, so one run always ends with everything Amazon has.
        start, end, token = boundary - OVERLAP, fresh_end, None
    if withheld is not None and withheld != ctx.state.get(PII_KEY):
        ctx.state.set(PII_KEY, withheld)


def _window(ctx, api: SpApi, start: datetime, end: datetime, token: str | None):
    """The pages of one window: (batch, the window's boundary as Amazon states it, PII verdict)."""
    params = {"marketplaceIds": api.market.id, "lastUpdatedAfter": iso(start), "lastUpdatedBefore": iso(end),
              "maxResultsPerPage": PAGE_SIZE, "includedData": ",".join(INCLUDED)}
    restarted = False
    while True:
        try:
            page = api.search_orders({**params, "paginationToken": token} if token else params)
        except SpApiError as exc:
            if token and exc.status == 400 and not restarted:
                # An expired or refused pagination token: the window again from its start, never from scratch.
                ctx.log.info("pagination token refused (%s); restarting the window from %s", exc.code, iso(start))
                token, restarted = None, True
                continue
            raise
        raw_orders = page.get("orders", [])
        verdict: bool | None = None
        for raw in raw_orders:
            withholds = _withholds_pii(raw)
            if withholds is not None:
                verdict = withholds if verdict is None else (verdict and withholds)
        token = (page.get("pagination") or {}).get("nextToken")
        boundary = parse_time(page["lastUpdatedBefore"]) if page.get("lastUpdatedBefore") else end
        if token:
            next_cursor = {"after": iso(start), "before": iso(end), "token": token, "token_at": iso(ctx.clock.now())}
        else:
            next_cursor = {"after": iso(boundary - OVERLAP)}
        yield OrderBatch(orders=[to_order(raw) for raw in raw_orders], cursor=next_cursor), boundary, verdict
        if not token:
            return
