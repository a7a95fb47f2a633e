"""Orders API v2026-01-01 `searchOrders` -> the host's orders, window by window, page by page.

Each run asks for orders *updated* in a window (so status changes come back, not only new orders) ending at
least two minutes in the past, as Amazon requires. Pages carry up to 100 orders with their items inline, so a
run makes ceil(N / 100) calls. The cursor after each page is either the window plus the next page's token (so a
crash resumes mid-window) or, after the last page, the window's end less a small overlap.

Money (``to_order``), from the model's ``ItemProceeds``/``ItemProceedsBreakdown``/``OrderProceeds``:

- ``unit_price`` is ``product.price.unitPrice``; ``subtotal`` the ``ITEM`` breakdown (the goods, before tax,
  shipping and promotions), else unit price x quantity.
- ``tax`` is the ``TAX`` breakdown: all the line's tax. Shipping tax is inside it, not in ``SHIPPING``: the model's
  getOrder example has ITEM 89.97 + SHIPPING 10.00 + TAX 4.00 = proceedsTotal 103.97, with TAX's
  ``detailedBreakdowns`` ITEM 3.00 and SHIPPING 1.00. So ``shipping_tax`` is TAX's ``SHIPPING`` subtype (part of
  ``tax``), ``None`` when a non-zero TAX comes without detailed breakdowns (Amazon does not say how it splits).
- ``shipping`` is the ``SHIPPING`` breakdown, the shipping charge before its tax.
- ``discount`` is the ``DISCOUNT`` breakdown (promotions on the item and on its shipping, its detailed
  subtypes) as a positive number. The model does not state the sign and no example has one, but proceeds are
  what the seller receives, which a promotion lowers, and in every example ``proceedsTotal`` is the plain sum of
  the breakdowns: so a DISCOUNT must be negative there. Its magnitude is kept, which reads right whichever sign
  Amazon uses. Tax on a promotion (TAX's ``DISCOUNT`` subtype) stays in ``tax``.
- ``total`` is ``proceedsTotal`` (price, shipping, gift wrap, COD fee and tax less promotions: what the buyer was
  charged; Amazon's fees are not in the Orders API). The order's ``total`` is ``grandTotal``, which adds
  order-level charges such as a ``DELIVERY_TIP``.
- When Amazon sends breakdowns, a category it leaves out is zero (they add up to ``proceedsTotal``); without
  proceeds (not included, pending, cancelled) everything but the unit price and subtotal is ``None``.

Empty strings from Amazon (``addressLine3: ""``) are ``None``.

Cancellation requests (``includedData=CANCELLATION``): an item whose ``cancellation.cancellationRequest`` names the
buyer as ``requester`` (the only value the model lists) is a line with ``cancellation_requested``, and the request's
``cancelReason`` is its ``cancellation_reason``, as Amazon words it. Amazon's APIs cannot cancel an order (see
``plugin.py``): the seller cancels in Seller Central, and the next import shows the order CANCELLED.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Iterator

from linkolis_host import Address, Buyer, Context, Order, OrderBatch, OrderLine

from .client import SpApi, SpApiError

PAGE_SIZE = 100
INCLUDED = ["FULFILLMENT", "PROCEEDS", "BUYER", "RECIPIENT", "CANCELLATION"]
# Amazon refuses a *Before less than two minutes old; a little more leaves room for clock skew.
SETTLE = timedelta(minutes=2, seconds=30)
# The next window starts this far before the last one ended, so an order updated on the boundary is not missed.
OVERLAP = timedelta(minutes=5)
MAX_LOOKBACK = timedelta(days=730)
TOKEN_LIFETIME = timedelta(hours=24)
PII_KEY = "pii_withheld"

STATUSES = {
    "PENDING_AVAILABILITY": "pending",
    "PENDING": "pending",
    "UNSHIPPED": "unshipped",
    "PARTIALLY_SHIPPED": "partially_shipped",
    "SHIPPED": "shipped",
    "CANCELLED": "cancelled",
    "UNFULFILLABLE": "unfulfillable",
}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _text(value: Any) -> str | None:
    """Amazon's text, ``None`` for nothing or an empty string."""
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def _amount(value: dict | None) -> Decimal | None:
    if not isinstance(value, dict):
        return None
    try:
        amount = Decimal(str(value.get("amount")))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _money(value: dict | None) -> tuple[Decimal | None, str | None]:
    return _amount(value), (_text(value.get("currencyCode")) if isinstance(value, dict) else None)


def _sum(amounts: list[Decimal | None]) -> Decimal | None:
    known = [a for a in amounts if a is not None]
    return sum(known, Decimal(0)) if known else None


ADDRESS_TYPES = {"RESIDENTIAL": "residential", "COMMERCIAL": "commercial", "PICKUP_POINT": "pickup_point"}
# The host's address and buyer fields, each with the key of the Orders API's Address and Buyer that fills it.
ADDRESS_FIELDS = {
    "name": "name",
    "company": "companyName",
    "line1": "addressLine1",
    "line2": "addressLine2",
    "line3": "addressLine3",
    "city": "city",
    "district": "districtOrCounty",
    "region": "stateOrRegion",
    "municipality": "municipality",
    "postal_code": "postalCode",
    "country_code": "countryCode",
    "phone": "phone",
}
BUYER_FIELDS = {
    "name": "buyerName",
    "email": "buyerEmail",
    "company": "buyerCompanyName",
    "purchase_order_number": "buyerPurchaseOrderNumber",
}
ORIGINAL_ORDER = {"REPLACEMENT_ORIGINAL_ID": "replacement", "EXCHANGE_ORIGINAL_ID": "exchange"}


def _line(item: dict[str, Any]) -> tuple[OrderLine, str | None]:
    """One order item as a line, and the currency its money is in."""
    product = item.get("product") or {}
    quantity = item["quantityOrdered"]
    unit, currency = _money((product.get("price") or {}).get("unitPrice"))
    proceeds = item.get("proceeds") or {}
    total, total_currency = _money(proceeds.get("proceedsTotal"))
    breakdowns = [b for b in proceeds.get("breakdowns") or [] if isinstance(b, dict)]
    by_type: dict[str, list[dict]] = {}
    for breakdown in breakdowns:
        by_type.setdefault(breakdown.get("type"), []).append(breakdown)

    zero = Decimal(0) if total is None else Decimal(0).quantize(total)  # 0.00 in USD, 0 in JPY

    def part(kind: str) -> Decimal | None:
        if kind not in by_type:
            return zero if breakdowns else None
        return _sum([_amount(b.get("subtotal")) for b in by_type[kind]])

    subtotal = part("ITEM") if "ITEM" in by_type else (None if unit is None else unit * quantity)
    tax, shipping, discount = part("TAX"), part("SHIPPING"), part("DISCOUNT")
    if "TAX" not in by_type:
        shipping_tax = tax  # no TAX breakdown at all: zero with breakdowns, unknown without
    else:
        details = [d for b in by_type["TAX"] for d in b.get("detailedBreakdowns") or [] if isinstance(d, dict)]
        if details:
            on_shipping = [_amount(d.get("value")) for d in details if d.get("subtype") == "SHIPPING"]
            shipping_tax = _sum([zero, *on_shipping])
        else:
            shipping_tax = zero if tax == 0 else None  # Amazon does not say how the tax splits
    request = (item.get("cancellation") or {}).get("cancellationRequest")
    requested = isinstance(request, dict) and request.get("requester", "BUYER") == "BUYER"
    line = OrderLine(
        line_id=item["orderItemId"],
        sku=_text(product.get("sellerSku")),
        product_id=_text(product.get("asin")),
        title=_text(product.get("title")),
        quantity_ordered=quantity,
        quantity_shipped=(item.get("fulfillment") or {}).get("quantityFulfilled") or 0,
        unit_price=unit,
        subtotal=subtotal,
        tax=tax,
        shipping=shipping,
        shipping_tax=shipping_tax,
        discount=None if discount is None else abs(discount),
        total=total,
        cancellation_requested=requested,
        cancellation_reason=_text(request.get("cancelReason")) if requested else None,
    )
    return line, currency or total_currency


def _address(address: dict[str, Any]) -> Address:
    return Address.from_fields(address, ADDRESS_FIELDS, address_type=ADDRESS_TYPES.get(address.get("addressType")))


def to_order(raw: dict[str, Any], marketplace_id: str = "") -> Order:
    """One Amazon order as the host's neutral order (``marketplace_id``: the one asked for, if Amazon omits it)."""
    fulfillment = raw.get("fulfillment") or {}
    amazon_status = fulfillment.get("fulfillmentStatus") or "UNKNOWN"
    total, currency = _money((raw.get("proceeds") or {}).get("grandTotal"))
    lines = []
    for item in raw.get("orderItems") or []:
        line, line_currency = _line(item)
        currency = currency or line_currency
        lines.append(line)
    buyer = raw.get("buyer")
    address = (raw.get("recipient") or {}).get("deliveryAddress")
    aliases = [a for a in raw.get("orderAliases") or [] if isinstance(a, dict)]
    seller_order_id = next(
        (
            _text(a.get("aliasId"))
            for a in aliases
            if a.get("aliasType") == "SELLER_ORDER_ID" and _text(a.get("aliasId"))
        ),
        None,
    )
    original = next(
        (
            a
            for a in raw.get("associatedOrders") or []
            if isinstance(a, dict) and a.get("associationType") in ORIGINAL_ORDER and _text(a.get("orderId"))
        ),
        None,
    )
    return Order(
        marketplace_order_id=raw["orderId"],
        marketplace=_text((raw.get("salesChannel") or {}).get("marketplaceId")) or marketplace_id,
        status=STATUSES.get(amazon_status, "other"),
        marketplace_status=amazon_status,
        fulfilled_by="marketplace" if fulfillment.get("fulfilledBy") == "AMAZON" else "merchant",
        created_at=parse_time(raw["createdTime"]),
        updated_at=parse_time(raw["lastUpdatedTime"]),
        currency=currency,
        total=total,
        lines=lines,
        buyer=Buyer.from_fields(buyer, BUYER_FIELDS) if buyer else None,
        recipient=_address(address) if address else None,
        seller_order_id=seller_order_id,
        programs=[p for p in (_text(p) for p in raw.get("programs") or []) if p],
        original_order_id=None if original is None else _text(original["orderId"]),
        original_order_relation=None if original is None else ORIGINAL_ORDER[original["associationType"]],
    )


def _withholds_pii(raw: dict[str, Any]) -> bool | None:
    """True when an order that should carry a recipient came without one (the app lacks the role)."""
    fulfillment = raw.get("fulfillment") or {}
    if fulfillment.get("fulfilledBy") != "MERCHANT" or fulfillment.get("fulfillmentStatus") not in (
        "UNSHIPPED",
        "PARTIALLY_SHIPPED",
        "SHIPPED",
    ):
        return None
    return not (raw.get("recipient") or {}).get("deliveryAddress")


def import_orders(ctx: Context, cursor: dict | None) -> Iterator[OrderBatch]:
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
        # ``boundary`` is read after the loop: the last page's word on where the window ended.
        for batch, boundary, verdict in _window(ctx, api, start, end, token):  # noqa: B007
            if verdict is not None:
                withheld = verdict if withheld is None else (withheld and verdict)
            yield batch
        if end >= fresh_end:
            break
        # ...then go on to now, so one run always ends with everything Amazon has.
        start, end, token = boundary - OVERLAP, fresh_end, None
    if withheld is not None and withheld != ctx.state.get(PII_KEY):
        ctx.state.set(PII_KEY, withheld)


def _window(ctx: Context, api: SpApi, start: datetime, end: datetime, token: str | None):
    """The pages of one window: (batch, the window's boundary as Amazon states it, PII verdict)."""
    params = {
        "marketplaceIds": api.market.id,
        "lastUpdatedAfter": iso(start),
        "lastUpdatedBefore": iso(end),
        "maxResultsPerPage": PAGE_SIZE,
        "includedData": ",".join(INCLUDED),
    }
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
        orders = [to_order(raw, api.market.id) for raw in raw_orders]
        yield OrderBatch(orders=orders, cursor=next_cursor), boundary, verdict
        if not token:
            return
