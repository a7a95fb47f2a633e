"""A small marketplace plugin the host's tests drive through the whole seller's story, with no network.

Its "marketplace" is ``MARKET``, an in-memory world the tests arrange: accounts, orders, listings, faults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from pydantic import Field

from linkolis_host import (
    AppKind,
    AppSettings,
    AuthorizationError,
    AuthorizationRevoked,
    AuthorizationStart,
    CancellationOutcome,
    Carrier,
    CheckAgain,
    CredentialField,
    Credentials,
    DemoEnvironment,
    EndpointOverride,
    HealthCheck,
    NotificationEvent,
    Order,
    OrderBatch,
    OrderLine,
    RateLimit,
    ShipmentOutcome,
    StockLevel,
    StockOutcome,
    hookimpl,
)

CONSENT = "https://auth.testmarket.invalid/consent"


@dataclass
class Market:
    orders: dict[str, dict] = field(default_factory=dict)
    listings: dict[str, int] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    pending_once: set[str] = field(default_factory=set)
    pushes: list[tuple[str, int]] = field(default_factory=list)
    late_outcomes: list[StockOutcome] = field(default_factory=list)  # reported after the next push's own
    fail_after_batches: int | None = None
    seen: list[tuple[str, object, dict]] = field(default_factory=list)  # (hook, ctx, arguments) of every call
    demo_closed: bool = False
    page_size: int = 2
    reject_message: str = "unknown SKU"  # what the market says of a BAD… SKU
    check_again_in: float | None = None  # a pending push is next worth checking this many seconds later
    details: dict[str, dict] = field(default_factory=dict)  # Order fields by order id, beyond the basics
    publication_delay: float = 0.0  # seconds an accepted quantity may take to show in read_stock
    shipments: dict[tuple[str, str], object] = field(default_factory=dict)  # confirmed, by (order, package ref)
    confirm_calls: int = 0  # every confirmation asked for, the repeated ones too
    flaky_tracking: set[str] = field(default_factory=set)  # refused once as "busy", retryable
    garbled_outcome: dict | None = None  # push_shipments answers this instead of outcomes
    die_after_confirmations: int | None = None  # the process dies right after confirming this many in one call
    listed_only: set[str] | None = None  # the SKUs the market lists (None: any SKU pushed); others are not listed
    cancellations: list[object] = field(default_factory=list)  # every Cancellation the market cancelled
    cancel_pending_once: set[str] = field(default_factory=set)  # order ids whose cancellation is decided later
    refuse_cancel: str | None = None  # cancel_order refuses every order with this message
    die_after_cancel: bool = False  # the process dies right after the market cancelled, before the host heard
    subscriptions: dict[str, str] = field(default_factory=dict)  # queue ARN by account subscribed to notifications
    refuse_subscription: str | None = None  # subscribe_notifications fails with this message

    def add_order(
        self, order_id: str, status: str = "UNSHIPPED", updated: int = 1, lines: int = 1, region: str | None = None
    ) -> None:
        """An order; with ``region``, only the apps of that region import it (one shop per region)."""
        self.orders[order_id] = {"id": order_id, "status": status, "updated": updated, "lines": lines, "region": region}

    def _touch(self, order_id: str) -> None:
        self.orders[order_id]["updated"] = max(o["updated"] for o in self.orders.values()) + 1

    def buyer_asks_to_cancel(
        self, order_id: str, reason: str | None = "ordered by mistake", lines: list[str] | None = None
    ) -> None:
        """The buyer asks the market to cancel the order's ``lines`` (line ids; default: every line); the order changes,
        so an import sees it."""
        self.orders[order_id]["cancel_request"] = reason or ""
        self.orders[order_id]["cancel_lines"] = None if lines is None else set(lines)
        self._touch(order_id)

    def cancel(self, order_id: str) -> None:
        """The order is cancelled at the market (by the seller on the market's own site, or by the hook)."""
        self.orders[order_id]["status"] = "CANCELLED"
        self._touch(order_id)


MARKET = Market()

STATUS = {"PENDING": "pending", "UNSHIPPED": "unshipped", "SHIPPED": "shipped", "CANCELLED": "cancelled"}


class TestMarketSettings(AppSettings):
    name: str = Field("Test Market", title="Application name", description="How this app is called")
    region: Literal["EU", "US"] = Field(title="Region", description="Where the shop sells")
    shop: str = Field("main", title="Shop", description="Which shop of the account")
    stock_sync: bool = Field(False, title="Stock update sync", description="Push stock levels as they change")

    def authorization_scope(self) -> str:
        return self.region

    def account_scope(self) -> str:
        return f"{self.region}/{self.shop}"


class TestMarketOperator(EndpointOverride):
    """What the host's operator gives the test market: an endpoint override, a mode, and the demo's data directory."""

    mode: Literal["live", "sandbox"] = "live"
    demo_home: str | None = None


@hookimpl
def configure_fields() -> AppKind:
    return AppKind(
        kind="testmarket",
        title="Test Market",
        description="A marketplace that lives in the test process",
        settings=TestMarketSettings,
        operator_settings=TestMarketOperator,
        rate_limits={"orders": RateLimit(rate=1, burst=2)},
        direct_credentials=[
            CredentialField(name="token", label="API token"),
            CredentialField(name="account", label="Account id", secret=False),
        ],
        carriers=[Carrier(code="DHL", name="DHL"), Carrier(code="POSTNL", name="PostNL")],
    )


def _stamp(n: int) -> datetime:
    return datetime.fromtimestamp(1_700_000_000 + n, tz=UTC)


@hookimpl
def authorize(ctx, step, params):
    MARKET.seen.append(("authorize", ctx, {"step": step, "params": dict(params)}))
    if step == "start":
        query = urlencode(
            {"state": params["state"], "redirect_uri": params["redirect_uri"], "region": ctx.app.settings.region}
        )
        return AuthorizationStart(url=f"{CONSENT}?{query}", redirect_uri=params["redirect_uri"])
    if step == "complete":
        code = params.get("code", "")
        if not code.startswith("good-"):
            raise AuthorizationError("the marketplace refused the code (expired or used)")
        account = code.removeprefix("good-")
        return Credentials(account_id=account, secrets={"token": f"tok-{account}-s3cret-value"})
    if step == "direct":
        if not params["token"].startswith("tok-"):
            raise AuthorizationError("that token is not a Test Market token")
        return Credentials(account_id=params["account"], secrets={"token": params["token"]})
    raise AuthorizationError(f"unexpected step {step}")


def _check_token(ctx) -> None:
    token = (ctx.credentials or {}).get("token", "")
    ctx.log.debug("calling the market with token %s", token)  # careless on purpose: the host must redact it
    if token in MARKET.revoked:
        raise AuthorizationRevoked()


def _with_details(order: Order) -> Order:
    """The order with what the test gave it beyond the basics (its money, its references)."""
    details = MARKET.details.get(order.marketplace_order_id)
    return Order.model_validate({**order.model_dump(), **details}) if details else order


def _order(ctx, o: dict) -> Order:
    """An order of the market as the app of ``ctx`` reads it."""
    return _with_details(
        Order(
            marketplace_order_id=o["id"],
            marketplace=ctx.app.settings.region,
            status=STATUS[o["status"]],
            marketplace_status=o["status"],
            fulfilled_by="merchant",
            created_at=_stamp(0),
            updated_at=_stamp(o["updated"]),
            currency="EUR",
            total=Decimal("9.99") * o["lines"],
            lines=[
                OrderLine(
                    line_id=str(i),
                    sku=f"SKU-{i}",
                    quantity_ordered=1,
                    unit_price=Decimal("9.99"),
                    subtotal=Decimal("9.99"),
                    tax=Decimal(0),
                    total=Decimal("9.99"),
                    cancellation_requested=_asked(o, i),
                    cancellation_reason=(o.get("cancel_request") or None) if _asked(o, i) else None,
                )
                for i in range(o["lines"])
            ],
        )
    )


@hookimpl
def import_orders(ctx, cursor):
    MARKET.seen.append(("import_orders", ctx, {"cursor": cursor}))
    _check_token(ctx)
    since = (cursor or {}).get("since", 0)
    region = ctx.app.settings.region
    due = sorted(
        (o for o in MARKET.orders.values() if o["updated"] > since and o.get("region") in (None, region)),
        key=lambda o: o["updated"],
    )
    for number, start in enumerate(range(0, len(due), MARKET.page_size)):
        if MARKET.fail_after_batches is not None and number >= MARKET.fail_after_batches:
            raise RuntimeError("the process died")
        page = due[start : start + MARKET.page_size]
        orders = [_order(ctx, o) for o in page]
        yield OrderBatch(orders=orders, cursor={"since": page[-1]["updated"]})


def _asked(order: dict, line: int) -> bool:
    return "cancel_request" in order and (order.get("cancel_lines") is None or str(line) in order["cancel_lines"])


@hookimpl
def push_stock(ctx, items):
    MARKET.seen.append(("push_stock", ctx, {"items": list(items)}))
    _check_token(ctx)
    earlier = ctx.state.get("pending", {})  # quantities pushed by an earlier call, decided only now
    pending = {}
    for item in items:
        MARKET.pushes.append((item.sku, item.quantity))
        if MARKET.listed_only is not None and item.sku not in MARKET.listed_only:
            yield StockOutcome(
                sku=item.sku, quantity=item.quantity, status="not_listed", message="no listing has this SKU"
            )
        elif item.sku.startswith("BAD"):
            yield StockOutcome(sku=item.sku, quantity=item.quantity, status="rejected", message=MARKET.reject_message)
        elif item.sku.startswith("FLAKY"):
            yield StockOutcome(
                sku=item.sku, quantity=item.quantity, status="rejected", message="busy, try later", retryable=True
            )
        elif item.sku in MARKET.pending_once:
            MARKET.pending_once.discard(item.sku)
            pending[item.sku] = item.quantity
            yield StockOutcome(sku=item.sku, quantity=item.quantity, status="pending", reference="job-1")
        else:
            MARKET.listings[item.sku] = item.quantity
            yield StockOutcome(sku=item.sku, quantity=item.quantity, status="accepted")
    for sku, quantity in earlier.items():
        if sku not in {i.sku for i in items}:  # a newer push of the SKU supersedes the pending one
            MARKET.listings[sku] = quantity
            yield StockOutcome(sku=sku, quantity=quantity, status="accepted")
    ctx.state.set("pending", pending)
    yield from MARKET.late_outcomes
    MARKET.late_outcomes.clear()
    if MARKET.check_again_in is not None and pending:
        yield CheckAgain(at=ctx.clock.time() + MARKET.check_again_in)


@hookimpl
def push_shipments(ctx, shipments):
    """Confirms each package once; a package reference used again for the same package is already confirmed."""
    MARKET.seen.append(("push_shipments", ctx, {"shipments": list(shipments)}))
    _check_token(ctx)
    if MARKET.garbled_outcome is not None:
        yield MARKET.garbled_outcome
        return
    confirmed = 0
    for shipment in shipments:
        key = (shipment.marketplace_order_id, shipment.package_reference)
        MARKET.confirm_calls += 1
        order = MARKET.orders.get(shipment.marketplace_order_id)
        if key in MARKET.shipments:
            same = MARKET.shipments[key].tracking_number == shipment.tracking_number
            yield ShipmentOutcome(
                marketplace_order_id=key[0],
                package_reference=key[1],
                status="accepted" if same else "rejected",
                message="" if same else "package reference used by another package",
            )
            continue
        if order is None or order["status"] == "CANCELLED":
            yield ShipmentOutcome(
                marketplace_order_id=key[0],
                package_reference=key[1],
                status="rejected",
                message="the order is cancelled" if order else "no such order",
            )
            continue
        if shipment.tracking_number in MARKET.flaky_tracking:
            MARKET.flaky_tracking.discard(shipment.tracking_number)
            yield ShipmentOutcome(
                marketplace_order_id=key[0],
                package_reference=key[1],
                status="rejected",
                message="busy, try later",
                retryable=True,
            )
            continue
        MARKET.shipments[key] = shipment
        confirmed += 1
        if MARKET.die_after_confirmations is not None and confirmed >= MARKET.die_after_confirmations:
            raise RuntimeError("the process died")  # after the marketplace took it, before the host heard
        yield ShipmentOutcome(marketplace_order_id=key[0], package_reference=key[1], status="accepted")


@hookimpl
def cancel_order(ctx, cancellation):
    """Cancels an open order; one cancelled already (by an earlier call the host never heard of) is accepted."""
    MARKET.seen.append(("cancel_order", ctx, {"cancellation": cancellation}))
    _check_token(ctx)
    oid = cancellation.marketplace_order_id
    order = MARKET.orders.get(oid)

    def outcome(status, message="", retryable=False):
        return CancellationOutcome(marketplace_order_id=oid, status=status, message=message, retryable=retryable)

    if order is None:
        return outcome("rejected", "no such order")
    if order["status"] == "CANCELLED":
        return outcome("accepted")
    if order["status"] == "SHIPPED":
        return outcome("rejected", "the order is shipped and can no longer be cancelled")
    if MARKET.refuse_cancel:
        return outcome("rejected", MARKET.refuse_cancel)
    if oid in MARKET.cancel_pending_once:
        MARKET.cancel_pending_once.discard(oid)
        return outcome("pending", "the market is processing the cancellation")
    if len(cancellation.lines) == order["lines"]:
        MARKET.cancel(oid)
    else:  # some lines only: the order stays open
        order.setdefault("cancelled_lines", set()).update(line_id for line_id, _ in cancellation.lines)
        MARKET._touch(oid)
    MARKET.cancellations.append(cancellation)
    if MARKET.die_after_cancel:
        raise RuntimeError("the process died")  # after the market cancelled, before the host heard
    return outcome("accepted")


@hookimpl
def read_stock(ctx, skus):
    MARKET.seen.append(("read_stock", ctx, {"skus": skus}))
    for sku in skus or sorted(MARKET.listings):
        yield StockLevel(
            sku=sku,
            quantity=MARKET.listings.get(sku),
            found=sku in MARKET.listings or sku in (MARKET.listed_only or ()),
            publication_delay=MARKET.publication_delay,
        )


@hookimpl
def health_check(ctx):
    MARKET.seen.append(("health_check", ctx, {}))
    token = (ctx.credentials or {}).get("token")
    checks = [HealthCheck(name="credentials present", status="ok" if token else "failed", remedy="authorize the app")]
    if token:
        revoked = token in MARKET.revoked
        checks.append(
            HealthCheck(
                name="token works",
                status="failed" if revoked else "ok",
                detail="authorization revoked" if revoked else "",
                remedy="authorize again" if revoked else "",
            )
        )
    return checks


@hookimpl
def subscribe_notifications(ctx, queue_arn):
    MARKET.seen.append(("subscribe_notifications", ctx, {"queue_arn": queue_arn}))
    _check_token(ctx)
    if MARKET.refuse_subscription:
        raise RuntimeError(MARKET.refuse_subscription)
    MARKET.subscriptions[ctx.app.account_id] = queue_arn
    return f"subscription-{ctx.app.account_id}"


@hookimpl
def read_notification(body):
    """The market's notification: ``{"market": "testmarket", "id": ..., "account": ..., "orders": [...]}``."""
    message = json.loads(body)
    if not isinstance(message, dict) or message.get("market") != "testmarket":
        return None
    return NotificationEvent(
        notification_id=message["id"],
        account_id=message["account"],
        order_ids=message["orders"],
        alias=message.get("alias", False),
    )


@hookimpl
def unsubscribe_notifications(ctx, subscription):
    MARKET.seen.append(("unsubscribe_notifications", ctx, {"subscription": subscription}))
    MARKET.subscriptions.pop(subscription.removeprefix("subscription-"), None)


@hookimpl
def fetch_orders(ctx, order_ids):
    MARKET.seen.append(("fetch_orders", ctx, {"order_ids": list(order_ids)}))
    _check_token(ctx)
    region = ctx.app.settings.region
    for order_id in order_ids:
        o = MARKET.orders.get(order_id)
        if o is not None and o.get("region") in (None, region):
            yield _order(ctx, o)


@hookimpl
def demo_environment(home):
    """The test market as the demo's stand-in: a few orders, and a seller who confirms on the consent page."""

    def confirm(url):
        query = parse_qs(urlsplit(url).query)
        httpx.get(query["redirect_uri"][0] + "?" + urlencode({"state": query["state"][0], "code": "good-DEMO1"}))

    def close():
        MARKET.demo_closed = True

    for n in range(1, 4):
        MARKET.add_order(f"DEMO-{n}", updated=n)
    return DemoEnvironment(
        kind="testmarket",
        install={"name": "Demo Shop", "region": "EU"},
        env={"LINKOLIS_TESTMARKET_DEMO_HOME": str(home)},
        browser=confirm,
        describe="The test market, in this very process.",
        stock=[("SKU-A", 3)],
        close=close,
    )
