"""The simulator: configuration, state, routing, and the one request handler both carriers share.

Every SP-API call goes: route (from the models' paths) → access token (403) → user-agent (400) → role (403) →
armed fault → token bucket (429) → model validation with openapi-core (400/415) → the operation → optional
response validation. Every answer carries ``x-amzn-RequestId``; 2xx/400/404 SP-API answers carry
``x-amzn-RateLimit-Limit``.
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from linkolis_host import Clock
from linkolis_host.testing.simulator import (
    BaseSimulator,
    Fault,
    FaultInjector,
    Operation,
    SimRequest,
    SimResponse,
    json_response,
)
from linkolis_host.testing.simulator import Counters as BaseCounters

from . import admin, orders_v0, shop
from . import listings as listings_api
from . import orders as orders_api
from . import sellers as sellers_api
from .accounts import (
    DEFAULT_MARKETPLACES,
    DEFAULT_SELLER_ID,
    FINANCE_AND_ACCOUNTING,
    INVENTORY_AND_ORDER_TRACKING,
    PRODUCT_LISTING,
    Account,
    make_account,
)
from .consent import AppRegistration, ConsentService
from .contract import SPAPI, plan
from .data import BUYER_CANCEL_REASONS, Arrivals, Generator, ask_to_cancel, catalogue, suppress
from .feeds import FeedService
from .ids import IdSource
from .listings import FA, Listing, ListingStore
from .lwa import DEFAULT_APPLICATION_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, LwaService
from .marketplaces import MARKETPLACES, resolve
from .notifications import GRANTLESS, NOTIFICATIONS_SCOPE, NotificationService
from .notifications import Faults as NotificationFaults
from .orders import STATUSES, Order, OrderItem, OrderStore
from .requestlog import RequestLog
from .wire import ApiError, Call, error_body, invalid_input, unauthorized

MAX_USER_AGENT = 500
RATE_HEADER_STATUSES = {400, 404}


FAULT_KINDS: dict[str, str] = {
    "429": "answer 429 QuotaExceeded (as throttling does)",
    "500": "answer 500 InternalFailure",
    "503": "answer 503 ServiceUnavailable",
    "drop": "drop the connection without an answer (httpx.RemoteProtocolError in-process)",
    "connect_error": "refuse the connection (httpx.ConnectError in-process; socket closed at once over HTTP)",
    "slow": "sleep `delay` seconds on the simulator's clock, then answer normally",
    "malformed_json": "process the call, then answer with its body cut in half (unparsable JSON, or a broken gzip "
    "report from downloadDocument)",
    "revoke_refresh_token": "lwaToken refresh grant: revoke the refresh token presented, answer invalid_grant",
    "expire_pagination_token": "searchOrders/searchListingsItems with a token: treat the token as expired",
    "feed_fatal": "createFeed: accept the feed, which then ends FATAL",
}
# A fault targets an SP-API operationId, ``lwaToken``, ``uploadFeedDocument``, ``downloadDocument``, or ``*``; these
# kinds make sense for some operations only.
FAULTS_ONLY_FOR = {
    "revoke_refresh_token": {"lwaToken"},
    "expire_pagination_token": {"searchOrders", "searchListingsItems"},
    "feed_fatal": {"createFeed"},
}


@dataclass
class Counters(BaseCounters):
    """The kit's counters, and Login with Amazon's grants per grant type."""

    lwa_grants: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def grant(self, grant_type: str) -> None:
        with self._lock:
            self.lwa_grants[grant_type] += 1

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.lwa_grants.clear()

    def snapshot(self) -> dict[str, Any]:
        snap = super().snapshot()
        with self._lock:
            snap["lwa_grants"] = dict(self.lwa_grants)
        return snap


class ContractViolation(AssertionError):
    """A response the simulator produced breaks Amazon's model (raised only with ``validate_responses=True``)."""


@dataclass
class SimConfig:
    """Everything configurable; ``Simulator(**kwargs)`` overrides any field."""

    seed: int = 0
    orders: int = 200
    skus: int = 40
    order_window_days: float = 30.0
    new_orders_per_hour: float | None = None  # None: keep the history's rate; 0: no new orders
    seller_id: str = DEFAULT_SELLER_ID
    # More selling accounts, as many sellers authorizing one application: ``seller_ids`` names them. With more
    # than one, each (the default one too) sells in one marketplace of ``marketplaces``, taken in turn, with its
    # own seeded ``orders`` and ``skus`` and, as on Amazon, buckets of its own.
    sellers: int = 1
    marketplaces: Sequence[str] = DEFAULT_MARKETPLACES
    roles: Sequence[str] | None = None  # None: every role
    store_name: str = "Simulated Store"
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    application_id: str = DEFAULT_APPLICATION_ID
    app_name: str = "Linkolis (simulated app)"
    redirect_uris: Sequence[str] = ()
    # Not Amazon behaviour: accept any http loopback redirect URI (a development loopback receiver). Amazon accepts
    # only registered https redirect URIs.
    allow_loopback_redirects: bool = False
    draft: bool = False
    login_uri: str | None = None
    listing_visibility_delay: float = 60.0
    suppressed_listings: int = 0  # seeded merchant listings Amazon has suppressed, hidden or removed
    cancellation_requests: float = 1 / 6  # the share of seeded unshipped merchant orders whose buyer asked to cancel
    # Not Amazon behaviour: log when each first page of searchOrders and each quantity sent for a SKU arrived
    # (``requestlog.RequestLog``, ``GET /_sim/requests``), for benchmarks on a real clock.
    request_log: bool = False
    feed_queue_seconds: float = 30.0
    feed_processing_seconds: float = 60.0
    report_gzip_threshold: int = 64 * 1024
    validate_responses: bool = False
    rate_limits: bool = True
    # Where ORDER_CHANGE notifications go: an SQS endpoint URL (a local one: moto's server); None sends nothing.
    sqs_endpoint: str | None = None
    # Shares of notifications duplicated, delayed (by notification_delay_seconds), reordered and dropped.
    notification_faults: NotificationFaults = field(default_factory=NotificationFaults)


def _cancel_feed(sim: Simulator, call: Call) -> tuple[int, Any]:
    sim.feeds.cancel_feed(call)
    return 200, None  # the model's 200 for cancelFeed has no body


# operationId -> (required role, handler(sim, call) -> (status, body or None))
Handler = Callable[["Simulator", Call], tuple[int, Any]]
OPERATIONS: dict[str, tuple[str, Handler]] = {
    "searchOrders": (INVENTORY_AND_ORDER_TRACKING, lambda s, c: (200, orders_api.search_orders(s.orders, c))),
    "getOrder": (INVENTORY_AND_ORDER_TRACKING, lambda s, c: (200, orders_api.get_order(s.orders, c))),
    "getListingsItem": (PRODUCT_LISTING, lambda s, c: (200, listings_api.get_listings_item(s.listings, c))),
    "searchListingsItems": (PRODUCT_LISTING, lambda s, c: (200, listings_api.search_listings_items(s.listings, c))),
    "patchListingsItem": (PRODUCT_LISTING, lambda s, c: (200, listings_api.patch_listings_item(s.listings, c))),
    "createFeedDocument": (PRODUCT_LISTING, lambda s, c: (201, s.feeds.create_document(c))),
    "createFeed": (PRODUCT_LISTING, lambda s, c: (202, s.feeds.create_feed(c, force_fatal=c.force_fatal))),
    "getFeed": (PRODUCT_LISTING, lambda s, c: (200, s.feeds.get_feed(c))),
    "getFeeds": (PRODUCT_LISTING, lambda s, c: (200, s.feeds.get_feeds(c))),
    "cancelFeed": (PRODUCT_LISTING, _cancel_feed),
    "getFeedDocument": (PRODUCT_LISTING, lambda s, c: (200, s.feeds.get_document(c))),
    "getMarketplaceParticipations": (
        FINANCE_AND_ACCOUNTING,
        lambda s, c: (200, sellers_api.get_marketplace_participations(c)),
    ),
    # Notifications: no role gates the API itself (createSubscription checks the notification type's role).
    "createDestination": ("", lambda s, c: (200, s.notifications.create_destination(c))),
    "getDestinations": ("", lambda s, c: (200, s.notifications.get_destinations(c))),
    "getDestination": ("", lambda s, c: (200, s.notifications.get_destination(c))),
    "deleteDestination": ("", lambda s, c: (200, s.notifications.delete_destination(c))),
    "createSubscription": ("", lambda s, c: (200, s.notifications.create_subscription(c))),
    "getSubscription": ("", lambda s, c: (200, s.notifications.get_subscription(c))),
    "getSubscriptionById": ("", lambda s, c: (200, s.notifications.get_subscription_by_id(c))),
    "deleteSubscriptionById": ("", lambda s, c: (200, s.notifications.delete_subscription_by_id(c))),
}
# Models whose operation ids repeat another's (v0 and v2026 both have getOrder) keep their own table.
OPERATIONS_BY_API: dict[str, dict[str, tuple[str, Handler]]] = {orders_v0.API: orders_v0.OPERATIONS}
FAULT_ERRORS = {
    "429": (429, "QuotaExceeded", "You exceeded your quota for the requested resource."),
    "500": (500, "InternalFailure", "We encountered an internal error. Please try again."),
    "503": (503, "ServiceUnavailable", "Service temporarily unavailable. Please try again."),
}


class Simulator(BaseSimulator):
    """A local Amazon: LWA, Seller Central consent, SP-API (Orders, Listings, Feeds, Sellers) and S3 URLs.

    ``clock`` times everything (buckets, expiries, feed progress, listing delay, slow answers); pass the clock the
    code under test uses. Other arguments override ``SimConfig`` fields.
    """

    contract = SPAPI
    required_headers: ClassVar[dict[str, str]] = {"user-agent": "", "x-amz-access-token": ""}
    admin_routes = admin.ROUTES
    name = "spapi-simulator"
    in_process_url = "https://sim.amazon.local"

    config: SimConfig
    ids: IdSource
    counters: Counters
    accounts: dict[str, Account]
    default_seller_id: str
    app: AppRegistration
    lwa: LwaService
    consent: ConsentService
    orders: OrderStore
    listings: ListingStore
    feeds: FeedService

    def __init__(self, clock: Clock | None = None, *, config: SimConfig | None = None, **overrides: Any) -> None:
        self.config = replace(config or SimConfig(), **overrides)
        cfg = self.config
        if cfg.sellers < 1:
            raise ValueError("sellers must be at least 1")
        super().__init__(clock, FaultInjector(FAULT_KINDS, FAULTS_ONLY_FOR, cfg.seed), Counters())
        self.ids = IdSource(cfg.seed)
        self.accounts: dict[str, Account] = {}
        self.default_seller_id = cfg.seller_id
        self.app = AppRegistration(
            cfg.application_id,
            cfg.app_name,
            list(cfg.redirect_uris),
            cfg.draft,
            cfg.login_uri,
            allow_loopback_redirects=cfg.allow_loopback_redirects,
        )
        self.lwa = LwaService(cfg.client_id, cfg.client_secret, self.ids)
        self.consent = ConsentService(
            self.app, self.lwa, self.ids, lambda: self.accounts, lambda: self.default_seller_id
        )
        self.orders = OrderStore(self.ids)
        self.request_log = RequestLog() if cfg.request_log else None
        self.listings = ListingStore(self.ids, cfg.listing_visibility_delay)
        key = hashlib.sha256(f"s3-signing:{cfg.seed}".encode()).digest()
        self.feeds = FeedService(
            self.ids,
            self.listings,
            key,
            cfg.feed_queue_seconds,
            cfg.feed_processing_seconds,
            cfg.report_gzip_threshold,
            cfg.validate_responses,
        )
        self.notifications = NotificationService(
            self.ids, cfg.application_id, cfg.sqs_endpoint, cfg.notification_faults, cfg.seed
        )
        self.orders.on_add = lambda o: self._notify(o, "OrderStatusChange", "Order placed")
        self._arrivals: dict[str, Arrivals] = {}
        self._generators: dict[str, Generator] = {}
        self._lock = threading.RLock()
        self.add_account(
            cfg.seller_id,
            cfg.marketplaces if cfg.sellers <= 1 else cfg.marketplaces[:1],
            cfg.roles,
            store_name=cfg.store_name,
            orders=cfg.orders,
            skus=cfg.skus,
            new_orders_per_hour=cfg.new_orders_per_hour,
        )
        for number, seller in enumerate(self.seller_ids[1:], start=1):
            self.add_account(
                seller,
                (cfg.marketplaces[number % len(cfg.marketplaces)],),
                cfg.roles,
                store_name=f"{cfg.store_name} {number + 1}",
                orders=cfg.orders,
                skus=cfg.skus,
                new_orders_per_hour=cfg.new_orders_per_hour,
            )

    @property
    def seller_ids(self) -> list[str]:
        """The seeded selling accounts: the default one, then ``A1SIMS00000002`` … (14 characters, like Amazon's)."""
        return [self.config.seller_id] + [f"A1SIMS{n:08d}" for n in range(2, self.config.sellers + 1)]

    # --- credentials ----------------------------------------------------------------------------------------

    @property
    def client_id(self) -> str:
        return self.config.client_id

    @property
    def client_secret(self) -> str:
        return self.config.client_secret

    @property
    def application_id(self) -> str:
        return self.config.application_id

    def authorize(self, selling_partner_id: str | None = None) -> str:
        """A refresh token for an account without the browser dance (Seller Central self-authorization)."""
        partner = selling_partner_id or self.default_seller_id
        if partner not in self.accounts:
            raise KeyError(partner)
        return self.lwa.issue_refresh_token(partner, self.clock.time())

    def revoke_refresh_token(self, token: str | None = None, selling_partner_id: str | None = None) -> int:
        """Revoke a refresh token (or all of an account's): refresh grants then fail with invalid_grant and access
        tokens minted from it stop working. Returns how many were revoked."""
        return self.lwa.revoke(token, selling_partner_id)

    # --- accounts, listings, orders (admin helpers) --------------------------------------------------------

    def add_account(
        self,
        selling_partner_id: str,
        marketplaces: Sequence[str] = DEFAULT_MARKETPLACES,
        roles: Sequence[str] | None = None,
        *,
        store_name: str | None = None,
        orders: int = 0,
        skus: int = 0,
        new_orders_per_hour: float | None = 0.0,
        suspended: Sequence[str] = (),
    ) -> Account:
        """Add a selling account with given roles (names or aliases; None: all) and optionally generated data."""
        acct = make_account(selling_partner_id, marketplaces, roles, store_name)
        acct.suspended_marketplaces = {resolve(m).id for m in suspended}
        now = self.clock.time()
        with self._lock:
            if selling_partner_id in self.accounts:
                raise ValueError(f"account {selling_partner_id} exists")
            self.accounts[selling_partner_id] = acct
            gen = Generator(self.config.seed, selling_partner_id, acct.marketplace_ids)
            self._generators[selling_partner_id] = gen
            listings = gen.listings(skus, now)
            if selling_partner_id == self.config.seller_id:
                suppress(listings, self.config.suppressed_listings)
            for lst in listings:
                self.listings.add(lst)
            cat = catalogue(listings, acct.marketplace_ids)
            if orders and cat:
                made = gen.orders(orders, now, self.config.order_window_days, cat)
                ask_to_cancel(made, self.config.seed, selling_partner_id, now, self.config.cancellation_requests)
                self.orders.add_many(made)
            rate = new_orders_per_hour
            if rate is None:
                rate = orders / (self.config.order_window_days * 24) if self.config.order_window_days > 0 else 0.0
            self._arrivals[selling_partner_id] = Arrivals(gen, rate, now, self.listings, self.orders)
        return acct

    def set_roles(self, selling_partner_id: str, roles: Sequence[str]) -> None:
        from .accounts import role

        self.accounts[selling_partner_id].roles = {role(r) for r in roles}

    def add_listing(
        self,
        sku: str,
        marketplaces: Sequence[str] | None = None,
        quantity: int = 10,
        *,
        fba: bool = False,
        seller_id: str | None = None,
        product_type: str = "HOME",
        title: str | None = None,
        price: float = 19.99,
        lead_time_to_ship_max_days: int | None = None,
    ) -> Listing:
        """Add (or replace) a listing with one offer per marketplace."""
        seller = seller_id or self.default_seller_id
        acct = self.accounts[seller]
        mids = [resolve(m).id for m in (marketplaces or acct.marketplace_ids)]
        now = int(self.clock.time())
        with self._lock:
            gen = self._generators[seller]
            listing = Listing(
                seller,
                sku,
                "B0" + self.ids.upper(8),
                product_type,
                title or f"Simulated item {sku}",
                fba,
                now,
                fnsku=("X00" + self.ids.upper(7)) if fba else None,
            )
            for mid in mids:
                offer = gen.offer(listing, MARKETPLACES[mid], price, now, quantity)
                offer.updated = now
                fa = offer.attrs[FA][0]
                fa.pop("restock_date", None)
                fa.pop("lead_time_to_ship_max_days", None)
                if lead_time_to_ship_max_days is not None and not fba:
                    fa["lead_time_to_ship_max_days"] = lead_time_to_ship_max_days
                offer.attrs["purchasable_offer"][0]["our_price"][0]["schedule"][0]["value_with_tax"] = price
                listing.offers[mid] = offer
            self.listings.add(listing)
        return listing

    def suppress_listing(
        self,
        sku: str,
        action: str = "LISTING_SUPPRESSED",
        marketplaces: Sequence[str] | None = None,
        *,
        seller_id: str | None = None,
    ) -> dict[str, Any]:
        """Amazon enforces ``action`` on a listing (LISTING_SUPPRESSED, SEARCH_SUPPRESSED, CATALOG_ITEM_REMOVED,
        ATTRIBUTE_SUPPRESSED); returns the issue its reads now carry. ``fix_listing`` lifts it."""
        mids = [resolve(m).id for m in marketplaces] if marketplaces else None
        return self.listings.suppress(seller_id or self.default_seller_id, sku, action, mids)

    def fix_listing(self, sku: str, *, seller_id: str | None = None) -> None:
        """The seller fixed the listing in Seller Central: its issues are gone."""
        self.listings.clear_issues(seller_id or self.default_seller_id, sku)

    def add_order(
        self,
        items: Sequence[tuple[str, int]],
        marketplace: str | None = None,
        *,
        seller_id: str | None = None,
        fulfilled_by: str = "MERCHANT",
        created: float | None = None,
        status: str = "PENDING",
        consume_stock: bool = True,
    ) -> str:
        """Add an order for (sku, quantity) items, placed now (or at ``created``); it takes stock unless told not
        to. Returns its order id."""
        seller = seller_id or self.default_seller_id
        acct = self.accounts[seller]
        mid = resolve(marketplace).id if marketplace else acct.marketplace_ids[0]
        now = self.clock.time()
        at = int(created if created is not None else now)
        with self._lock:
            gen = self._generators[seller]
            oid = gen.order_id(MARKETPLACES[mid])
            its = []
            for k, (sku, qty) in enumerate(items):
                listing = self.listings.get(seller, sku)
                offer = listing.offers.get(mid) if listing else None
                unit = 1999
                if offer is not None:
                    v = offer.attrs["purchasable_offer"][0]["our_price"][0]["schedule"][0]["value_with_tax"]
                    unit = int(v) if MARKETPLACES[mid].currency == "JPY" else int(round(v * 100))
                its.append(
                    OrderItem(
                        f"{oid.replace('-', '')[3:15]}{k:02d}",
                        sku,
                        listing.asin if listing else "B0SIMULATED",
                        listing.title if listing else sku,
                        qty,
                        unit,
                    )
                )
            events = [(at, "PENDING")] if status == "PENDING" else [(at, "PENDING"), (at, status)]
            order = Order(oid, seller, mid, at, fulfilled_by, its, events, seed=self.ids.bits(48))
            order.took_stock = consume_stock
            self.orders.add(order)
            if consume_stock:
                for it in its:
                    self.listings.consume(seller, it.sku, mid, it.quantity)
        return oid

    def advance_order(self, order_id: str, status: str | None = None) -> str:
        """Move an order on now: to ``status``, or to its next natural status. Advances ``lastUpdatedTime``."""
        now = int(self.clock.time())
        with self._lock:
            o = self.orders.by_id[order_id]
            current = o.status_at(now)
            if status is None:
                status = {
                    "PENDING_AVAILABILITY": "PENDING",
                    "PENDING": "UNSHIPPED",
                    "UNSHIPPED": "SHIPPED",
                    "PARTIALLY_SHIPPED": "SHIPPED",
                }.get(current, current)
            if status not in STATUSES:
                raise ValueError(f"unknown status {status!r}")
            if status == current:
                o.touch(now)
            else:
                o.set_status(status, now)
                if status == "CANCELLED":
                    self._give_back_stock(o, now)  # cancelled by the buyer (BUYER_CANCELED)
                self._notify(o, "OrderStatusChange", f"Order status changed to {status}")
            return status

    def request_cancellation(self, order_id: str, reason: str | None = None) -> str:
        """The buyer asks Amazon to cancel an order not yet shipped, now: each item not shipped in full shows
        ``cancellation.cancellationRequest`` (requester BUYER) and ``lastUpdatedTime`` moves. Returns the reason."""
        now = int(self.clock.time())
        with self._lock:
            o = self.orders.by_id[order_id]
            status = o.status_at(now)
            if o.fulfilled_by != "MERCHANT" or status not in ("PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED"):
                raise ValueError(f"order {order_id} is {status} ({o.fulfilled_by}): no cancellation request for it")
            reason = reason or BUYER_CANCEL_REASONS[o.seed % len(BUYER_CANCEL_REASONS)]
            o.cancel_request = (now, reason)
            o.touch(now)
            self._notify(o, "BuyerRequestedChange", "Buyer Requested Cancel")
            return reason

    def cancel_in_seller_central(self, order_id: str, reason: str | None = None) -> str:
        """The seller cancels an order in Seller Central (Amazon's APIs cannot): it becomes CANCELLED now, its items'
        ``cancellationExecution`` says ``cancelledBy`` MERCHANT and why (BUYER_CANCELED when the buyer had asked,
        else NO_INVENTORY unless ``reason`` says). Returns the reason."""
        now = int(self.clock.time())
        with self._lock:
            o = self.orders.by_id[order_id]
            status = o.status_at(now)
            if o.fulfilled_by != "MERCHANT" or status not in ("PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED"):
                raise ValueError(f"order {order_id} is {status} ({o.fulfilled_by}): the seller cannot cancel it")
            reason = reason or ("BUYER_CANCELED" if o.cancellation_requested(now) else "NO_INVENTORY")
            o.set_status("CANCELLED", now)
            o.cancelled_by = ("MERCHANT", reason)
            self._give_back_stock(o, now)
            self._notify(o, "OrderStatusChange", "Order status changed to CANCELLED")
            return reason

    # Cancellation reasons after which Amazon adds the units back to the offer's quantity (Seller Central help,
    # "Cancel an order": BuyerCanceled, ShippingAddressUndeliverable, GeneralAdjustment, PricingError do; NoInventory
    # does not: the seller has none).
    RESTOCKING = ("BUYER_CANCELED", "SHIPPING_ADDRESS_UNDELIVERABLE", "GENERAL_ADJUSTMENT", "PRICING_ERROR")

    def _give_back_stock(self, o: Any, now: int) -> None:
        """A cancelled order's units not shipped go back to its offers, unless the reason says there were none."""
        if not o.took_stock or o.fulfilled_by != "MERCHANT" or o.cancelled_by[1] not in self.RESTOCKING:
            return
        shipped = o.quantities_shipped(now)
        for it in o.items:
            left = it.quantity - shipped.get(it.order_item_id, 0)
            if left > 0:
                self.listings.give_back(o.seller_id, it.sku, o.marketplace_id, left)

    def _notify(self, order: Order, change_type: str, reason: str) -> None:
        self.notifications.order_changed(order, change_type, reason, self.clock.time())

    def touch_order(self, order_id: str) -> None:
        """A late change that is no status change (address fix, carrier update): only ``lastUpdatedTime`` moves."""
        with self._lock:
            self.orders.by_id[order_id].touch(int(self.clock.time()))

    # --- ground truth ---------------------------------------------------------------------------------------

    def tick(self) -> None:
        """Bring the world up to the clock's now (new orders, listing changes, feed processing)."""
        now = self.clock.time()
        with self._lock:
            for arrivals in self._arrivals.values():
                arrivals.tick(now)
            self.feeds.tick(now)
            self.listings.tick(now)
            self.notifications.flush(now)

    def orders_truth(self, seller_id: str | None = None) -> list[dict[str, Any]]:
        """Every order that exists now: id, marketplace, status, fulfilledBy, created/lastUpdated time, items."""
        self.tick()
        return self.orders.truth(seller_id, self.clock.time())

    def shipments_truth(self, seller_id: str | None = None) -> list[dict[str, Any]]:
        """Every package confirmed with confirmShipment, once each: order, reference, carrier, tracking, items."""
        return orders_v0.shipments_truth(self.orders, seller_id)

    def stock_truth(self, seller_id: str | None = None, offset: int = 0, limit: int | None = None) -> dict[str, Any]:
        """Per seller → SKU → marketplace: channel, quantity reads show now, and the accepted quantity pending
        (``offset``/``limit``: a page of each seller's SKUs, in the order they were listed)."""
        self.tick()
        return self.listings.truth(seller_id, offset, limit)

    def counters_snapshot(self) -> dict[str, Any]:
        """Calls per operation, statuses, 429s (throttled), faults fired, LWA grants."""
        snap = self.counters.snapshot()
        snap["feed_type_throttled"] = self.feeds.throttled
        return snap

    # --- the handler ----------------------------------------------------------------------------------------

    def handle(self, req: SimRequest) -> SimResponse:
        """Answer one request (the admin routes too), with the ``x-amzn-RequestId`` every Amazon answer carries."""
        rid = self.ids.uuid()
        resp = shop.handle(self, req) if req.raw_path == shop.PATH else super().handle(req)
        resp.set_header("x-amzn-RequestId", rid)
        return resp

    def answer(self, req: SimRequest) -> SimResponse:
        """Amazon's answer: Login with Amazon, Seller Central's consent, S3's feed documents, or the SP-API."""
        path = req.raw_path
        if path == "/auth/o2/token":
            return self._lwa(req)
        if path.startswith("/apps/authorize/"):
            return self._consent(req)
        if path.startswith("/s3/"):
            return self._s3(req)
        return self._spapi(req)

    def crash(self, exc: Exception) -> SimResponse:
        return json_response(500, error_body("InternalFailure", f"Simulator error: {type(exc).__name__}: {exc}"))

    def _fault_response(self, fault: Fault | None) -> SimResponse | None:
        if fault is None:
            return None
        if fault.kind in FAULT_ERRORS:
            status, code, message = FAULT_ERRORS[fault.kind]
            return json_response(status, error_body(code, message))
        if fault.kind == "drop":
            return SimResponse(0, disconnect="drop")
        if fault.kind == "connect_error":
            return SimResponse(0, disconnect="connect")
        if fault.kind == "slow":
            self.clock.sleep(fault.delay)
        return None

    def _lwa(self, req: SimRequest) -> SimResponse:
        self.counters.call("lwaToken")
        grant = req.form().get("grant_type", "") if req.method == "POST" else ""
        fault = self.faults.pick("lwaToken", None, lambda k: k != "revoke_refresh_token" or grant == "refresh_token")
        early = self._fault_response(fault)
        if early is not None:
            return early
        with self._lock:
            resp = self.lwa.token_endpoint(
                req, self.clock.time(), revoke_presented=fault is not None and fault.kind == "revoke_refresh_token"
            )
        if resp.status == 200:
            self.counters.grant(grant)
        self.counters.status("lwaToken", resp.status)
        return self._maybe_malform(resp, fault)

    def _consent(self, req: SimRequest) -> SimResponse:
        now = self.clock.time()
        path = req.raw_path
        with self._lock:
            if path == "/apps/authorize/consent":
                if req.method == "GET":
                    return self.consent.consent_page(req, now)
                if req.method == "POST":
                    return self.consent.consent_submit(req, now)
            elif path.startswith("/apps/authorize/confirm/") and req.method == "GET":
                from urllib.parse import unquote

                return self.consent.confirm_callback(req, unquote(path.rsplit("/", 1)[1]), now)
        return SimResponse(404, [("Content-Type", "text/plain")], b"Not Found")

    def _s3(self, req: SimRequest) -> SimResponse:
        op = "uploadFeedDocument" if req.method == "PUT" else "downloadDocument"
        self.counters.call(op)
        fault = self.faults.pick(op, None)
        early = self._fault_response(fault)
        if early is not None:
            return early
        now = self.clock.time()
        with self._lock:
            self.feeds.tick(now)
            resp = self.feeds.upload(req, now) if req.method == "PUT" else self.feeds.download(req, now)
        if self.request_log is not None and req.method == "PUT" and resp.status == 200:
            self.request_log.feed(now, req.body)
        self.counters.status(op, resp.status)
        return self._maybe_malform(resp, fault)

    def _spapi(self, req: SimRequest) -> SimResponse:
        found = self.contract.route(req.method, req.raw_path)
        if not found:
            return json_response(404, error_body("NotFound", "Resource not found."))
        op, params = found
        oid = op.operation_id
        self.counters.call(oid)
        handlers = OPERATIONS_BY_API.get(op.api, OPERATIONS)
        if oid not in handlers:
            self.counters.status(oid, 404)
            return json_response(404, error_body("NotFound", f"The simulator does not implement {oid}."))
        role, handler = handlers[oid]
        resp, fault = self._spapi_call(req, op, params, role, handler)
        if resp.disconnect is None:
            if 200 <= resp.status < 300 or resp.status in RATE_HEADER_STATUSES:
                resp.set_header("x-amzn-RateLimit-Limit", plan(op).rate)
            self._check_response(req, op, resp)
            resp = self._maybe_malform(resp, fault)
        self.counters.status(oid, resp.status)
        if resp.status == 429:
            self.counters.throttle(oid)
        return resp

    def _spapi_call(
        self, req: SimRequest, op: Operation, params: dict[str, str], role: str, handler: Handler
    ) -> tuple[SimResponse, Fault | None]:
        now = self.clock.time()
        token, why = self.lwa.access(req.headers.get("x-amz-access-token"), now)
        if token is None:
            return _error(unauthorized(why)), None
        partner = token.selling_partner_id
        if op.operation_id in GRANTLESS:
            if partner is not None or token.scope != NOTIFICATIONS_SCOPE:
                return _error(
                    unauthorized(
                        f"{op.operation_id} is grantless: call it with an access token of scope "
                        f"{NOTIFICATIONS_SCOPE} (grant_type client_credentials)."
                    )
                ), None
            return self._grantless_call(req, op, params, handler, now)
        acct = self.accounts.get(partner or "")
        if acct is None:
            return _error(
                unauthorized(
                    "The access token is not authorized by a selling partner (a grantless token "
                    "cannot call this operation)."
                )
            ), None
        ua = req.headers.get("user-agent")
        if not ua or len(ua) > MAX_USER_AGENT:
            return _error(
                ApiError(
                    400,
                    "InvalidInput",
                    "Invalid User-Agent header.",
                    "A User-Agent header of at most 500 characters is required.",
                )
            ), None
        if role and not acct.has(role):
            return _error(
                unauthorized(f"The selling partner has not authorized the {role} role for this application.")
            ), None
        fault = self.faults.pick(
            op.operation_id,
            partner,
            lambda k: k != "expire_pagination_token" or bool(req.q("paginationToken") or req.q("pageToken")),
        )
        early = self._fault_response(fault)
        if early is not None:
            return early, fault
        now = self.clock.time()
        usage = plan(op)
        if self.config.rate_limits and not self.limiter.take(
            acct.selling_partner_id, op.operation_id, usage.rate_value, usage.burst, now
        ):
            return _error(ApiError(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")), fault
        problems = self.contract.request_problems(req, api=op.api)
        if problems:
            if problems[0].status == 415:
                return _error(
                    ApiError(
                        415,
                        "UnsupportedMediaType",
                        "The request's Content-Type header is invalid.",
                        problems[0].details,
                    )
                ), fault
            return _error(invalid_input("; ".join(p.details for p in problems))), fault
        call = Call(req, op, params, acct, now, force_fatal=fault is not None and fault.kind == "feed_fatal")
        with self._lock:
            # Only the caller's new orders: each arrives at its own precomputed moment whenever it is made, and
            # another seller's cannot show here (a thousand sellers cost one tick a call, not a thousand).
            arrivals = self._arrivals.get(acct.selling_partner_id)
            if arrivals is not None:
                arrivals.tick(now)
            self.feeds.tick(now)
            self.listings.tick(now)
            self.notifications.flush(now)
            if fault is not None and fault.kind == "expire_pagination_token":
                self.orders.expire_cursor(req.q("paginationToken") or "")
                if req.q("pageToken"):
                    return _error(invalid_input("The pageToken has expired.")), fault
            try:
                status, body = handler(self, call)
            except ApiError as err:
                return _error(err), fault
        if self.request_log is not None and 200 <= status < 300:
            seller = acct.selling_partner_id
            if op.operation_id == "searchOrders":
                self.request_log.search(now, seller, not (req.q("paginationToken") or req.q("pageToken")))
            elif op.operation_id == "patchListingsItem":
                self.request_log.patch(now, seller, call.path["sku"], call.json_body())
        resp = json_response(status, body) if body is not None else SimResponse(status, [("Content-Length", "0")])
        return resp, fault

    def _grantless_call(
        self, req: SimRequest, op: Operation, params: dict[str, str], handler: Handler, now: float
    ) -> tuple[SimResponse, Fault | None]:
        """A grantless call: the application's own, with one bucket per operation for the application."""
        fault = self.faults.pick(op.operation_id, None)
        early = self._fault_response(fault)
        if early is not None:
            return early, fault
        usage = plan(op)
        if self.config.rate_limits and not self.limiter.take(
            f"app:{self.application_id}", op.operation_id, usage.rate_value, usage.burst, now
        ):
            return _error(ApiError(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")), fault
        problems = self.contract.request_problems(req, api=op.api)
        if problems:
            return _error(invalid_input("; ".join(p.details for p in problems))), fault
        call = Call(req, op, params, None, now)
        with self._lock:
            try:
                status, body = handler(self, call)
            except ApiError as err:
                return _error(err), fault
        return json_response(status, body), fault

    def _check_response(self, req: SimRequest, op: Operation, resp: SimResponse) -> None:
        if not self.config.validate_responses:
            return
        problems = self.contract.response_problems(req, resp, api=op.api)
        if problems:
            raise ContractViolation(f"{op.operation_id} {resp.status} breaks the model: {'; '.join(problems)}")

    @staticmethod
    def _maybe_malform(resp: SimResponse, fault: Fault | None) -> SimResponse:
        if fault is not None and fault.kind == "malformed_json":
            body = resp.body or b"{}"
            resp.body = body[: max(1, len(body) // 2)] if len(body) > 2 else b'{"'
            resp.status = 200 if resp.status >= 400 else resp.status
        return resp


def _error(err: ApiError) -> SimResponse:
    return json_response(err.status, err.body())
