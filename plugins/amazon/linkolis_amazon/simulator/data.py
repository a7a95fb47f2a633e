"""A seeded generator of believable listings and orders, and the stream of new orders as the clock runs.

Orders are spread over a past window ending at the clock's now; each gets a timeline (PENDING → UNSHIPPED →
SHIPPED, some PARTIALLY_SHIPPED, some CANCELLED, some late updates) that may reach into the future, so statuses keep
moving as simulated time passes. 10,000 orders take well under a second.

Some orders carry what sellers must handle (rates per order, roughly): a shipping charge (4 in 10 merchant-fulfilled
orders, a quarter of those with a free-shipping promotion), a promotion off an item (1 in 8), Amazon Business
buyers (1 in 12 where Amazon Business sells; most enter a purchase order number), the seller's own order number as
an alias (1 in 10 merchant-fulfilled), delivery to a pickup point (1 in 25 in Europe) and replacement orders for an
earlier order (1 in 70), which cost the buyer nothing. Buyers of some unshipped merchant-fulfilled orders (1 in 6)
have asked to cancel them (``ask_to_cancel``).
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .listings import FA, Listing, ListingStore, Offer, suppression_issue
from .marketplaces import MARKETPLACES, ZERO_DECIMAL_CURRENCIES, Marketplace
from .orders import Order, OrderItem, OrderStore

# SKUs that break naive URL building: spaces, slashes, '+', '%', unicode.
AWKWARD_SKUS = [
    "MUG 350ml/BLUE",
    "Tasse+Untersetzer 50%",
    "Café-Crème ☕ 250g",
    "BOX 12/BLUE + LID",
    "größe:XL/rot",
    "100% Cotton Tee (M)",
]
PRODUCT_TYPES = [
    "HOME",
    "KITCHEN",
    "TOYS_AND_GAMES",
    "SHOES",
    "LUGGAGE",
    "SPORTING_GOODS",
    "OFFICE_PRODUCTS",
    "PET_SUPPLIES",
]
_ADJ = ["Classic", "Compact", "Deluxe", "Eco", "Foldable", "Premium", "Rustic", "Smart", "Travel", "Vintage"]
_NOUN = [
    "Coffee Mug",
    "Backpack",
    "Desk Lamp",
    "Water Bottle",
    "Notebook",
    "Yoga Mat",
    "Dog Leash",
    "Teapot",
    "Puzzle 1000",
    "Running Socks",
    "Cutting Board",
    "Phone Stand",
]
_COLOR = ["Black", "Blue", "Green", "Grey", "Red", "White"]
# Rough price levels per currency, relative to EUR.
FX = {
    "EUR": 1.0,
    "USD": 1.1,
    "GBP": 0.86,
    "CAD": 1.5,
    "MXN": 19.0,
    "BRL": 5.5,
    "SEK": 11.5,
    "PLN": 4.3,
    "TRY": 35.0,
    "EGP": 53.0,
    "SAR": 4.1,
    "AED": 4.0,
    "INR": 92.0,
    "ZAR": 20.0,
    "SGD": 1.45,
    "AUD": 1.65,
    "JPY": 160.0,
}
MARKET_WEIGHT = {"US": 35, "DE": 25, "UK": 12, "FR": 10, "IT": 8, "ES": 6, "NL": 3, "BE": 1, "IE": 1}
_ITEM_COUNTS = [1, 2, 3, 4, 5]
_ITEM_WEIGHTS = [55, 25, 10, 6, 4]
_SERVICE = ["STANDARD", "STANDARD", "STANDARD", "EXPEDITED", "NEXT_DAY", "FREE_ECONOMY"]
BUSINESS_MARKETS = {"US", "CA", "MX", "DE", "UK", "FR", "IT", "ES", "JP", "IN"}
RECENT = 200  # how many recent orders per marketplace a replacement order may replace


def _minor(rng: random.Random, eur: float, currency: str) -> int:
    value = eur * FX.get(currency, 1.0)
    if currency in ZERO_DECIMAL_CURRENCIES:
        return int(round(value, -1))
    return int(value * 100) // 100 * 100 + rng.choice([99, 95, 49, 0])


@dataclass
class Generator:
    """One seeded source of listings and orders for one selling account."""

    seed: int
    seller_id: str
    marketplace_ids: list[str]

    def __post_init__(self) -> None:
        self.rng = random.Random(f"data:{self.seed}:{self.seller_id}")
        # What sellers must handle beyond items and timelines comes from its own stream, so adding to it leaves
        # every order id, item, price and timeline of a seed as it was.
        self.extras = random.Random(f"extras:{self.seed}:{self.seller_id}")
        self._used_ids: set[str] = set()
        self._recent: dict[str, list[Order]] = {}

    # --- listings -------------------------------------------------------------------------------------------

    def listings(self, count: int, now: float) -> list[Listing]:
        rng = self.rng
        out = []
        for n in range(count):
            letters = "".join(rng.choices(string.ascii_uppercase, k=2))
            plain = f"{letters}-{rng.randrange(10**5):05d}-{rng.choice(_COLOR)[:3].upper()}"
            sku = AWKWARD_SKUS[n] if n < len(AWKWARD_SKUS) else plain
            fba = (n % 10) in (3, 7, 9)  # about 30 % Amazon-fulfilled, awkward SKUs of both kinds
            title = f"{rng.choice(_ADJ)} {rng.choice(_NOUN)}, {rng.choice(_COLOR)}"
            created = int(now - rng.uniform(60, 400) * 86400)
            asin = "B0" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=8))
            listing = Listing(
                self.seller_id,
                sku,
                asin,
                rng.choice(PRODUCT_TYPES),
                title,
                fba,
                created,
                fnsku=("X00" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=7))) if fba else None,
            )
            eur = rng.uniform(6, 80)
            mids = [m for m in self.marketplace_ids if rng.random() < 0.85] or [self.marketplace_ids[0]]
            for mid in mids:
                listing.offers[mid] = self.offer(listing, MARKETPLACES[mid], eur, created)
            out.append(listing)
        return out

    def offer(
        self, listing: Listing, market: Marketplace, eur: float, created: int, quantity: int | None = None
    ) -> Offer:
        rng = self.rng
        if quantity is None:
            quantity = 0 if rng.random() < 0.08 else rng.randint(1, 250)
        if listing.fba:
            fa = [{"fulfillment_channel_code": market.fba_channel, "quantity": quantity}]
        else:
            entry: dict[str, object] = {"fulfillment_channel_code": "DEFAULT", "quantity": quantity}
            if rng.random() < 0.6:
                entry["lead_time_to_ship_max_days"] = rng.randint(1, 5)
            if quantity == 0 and rng.random() < 0.5:
                entry["restock_date"] = "2099-01-01"
            fa = [entry]
        price = _minor(rng, eur, market.currency)
        value = price if market.currency in ZERO_DECIMAL_CURRENCIES else price / 100
        attrs: dict[str, list[dict[str, Any]]] = {
            "condition_type": [{"value": "new_new"}],
            "item_name": [{"value": listing.title, "language_tag": market.language}],
            "purchasable_offer": [
                {
                    "currency": market.currency,
                    "audience": "ALL",
                    "our_price": [{"schedule": [{"value_with_tax": value}]}],
                }
            ],
            FA: fa,
        }
        updated = int(created + rng.uniform(0, 50) * 86400)
        return Offer(market.id, attrs, created, updated)

    # --- orders ---------------------------------------------------------------------------------------------

    def order_id(self, market: Marketplace) -> str:
        rng = self.rng
        while True:
            if market.region == "NA":
                prefix = f"11{rng.randint(1, 4)}"
            elif market.region == "EU":
                prefix = rng.choice(["028", "302", "303", "304", "305", "306", "407"])
            else:
                prefix = f"50{rng.randint(3, 9)}"
            oid = f"{prefix}-{rng.randrange(10**7):07d}-{rng.randrange(10**7):07d}"
            if oid not in self._used_ids:
                self._used_ids.add(oid)
                return oid

    def pick_market(self, mids: list[str]) -> str:
        weights = [MARKET_WEIGHT.get(MARKETPLACES[m].country, 2) for m in mids]
        return self.rng.choices(mids, weights)[0]

    def order(
        self, created: int, catalogue: dict[str, tuple[list[Listing], list[Listing]]], in_stock_only: bool = False
    ) -> Order | None:
        """One order placed at ``created`` from the (MFN, AFN) SKUs of each marketplace, or None if nothing sells."""
        rng = self.rng
        mid = self.pick_market(list(catalogue))
        mfn, afn = catalogue[mid]
        fba = bool(afn) and (not mfn or rng.random() < 0.35)
        pool = afn if fba else mfn
        if in_stock_only:
            pool = [lst for lst in pool if lst.offers[mid].quantity() > 0]
        if not pool:
            return None
        n_items = min(len(pool), rng.choices(_ITEM_COUNTS, _ITEM_WEIGHTS)[0])
        market = MARKETPLACES[mid]
        oid = self.order_id(market)
        items = []
        for k, listing in enumerate(rng.sample(pool, n_items)):
            offer = listing.offers[mid]
            po = offer.attrs["purchasable_offer"][0]["our_price"][0]["schedule"][0]["value_with_tax"]
            unit = int(po) if market.currency in ZERO_DECIMAL_CURRENCIES else int(round(po * 100))
            qty = 1 if rng.random() < 0.8 else rng.randint(2, 3)
            items.append(
                OrderItem(f"{oid.replace('-', '')[3:15]}{k:02d}", listing.sku, listing.asin, listing.title, qty, unit)
            )
        events = self.timeline(created, fba, len(items) > 1)
        touches = []
        if rng.random() < 0.15:
            touches.append(events[-1][0] + int(rng.uniform(1, 10) * 86400))
        programs = ("PRIME",) if fba and rng.random() < 0.7 else ()
        order = Order(
            oid,
            self.seller_id,
            mid,
            created,
            "AMAZON" if fba else "MERCHANT",
            items,
            events,
            touches,
            seed=rng.getrandbits(48),
            service_level=rng.choice(_SERVICE),
            programs=programs,
        )
        recent = self._recent.setdefault(mid, [])
        if recent and self.extras.random() < 1 / 70:
            if self.replacement(order, self.extras.choice(recent), mfn + afn, in_stock_only):
                return order
        self.dress(order, market)
        recent.append(order)
        del recent[:-RECENT]
        return order

    def dress(self, order: Order, market: Marketplace) -> None:
        """What some orders carry besides items: business buyers, aliases, pickup points, shipping, promotions."""
        rng = self.extras
        fba = order.fulfilled_by == "AMAZON"
        order.business = market.country in BUSINESS_MARKETS and rng.random() < 1 / 12
        if order.business:
            order.programs = (*order.programs, "AMAZON_BUSINESS")
            if rng.random() < 0.7:
                order.purchase_order_number = f"PO-{rng.randrange(10**6):06d}"
        if not fba and rng.random() < 0.1:
            order.seller_order_id = f"SO-{rng.randrange(10**7):07d}"
        order.pickup_point = not order.business and market.region == "EU" and rng.random() < 1 / 25
        self.charges(order.items, market, fba)

    def charges(self, items: list[OrderItem], market: Marketplace, fba: bool) -> None:
        """Shipping charges and promotions on some orders, in listed amounts (see proceeds.py for the tax)."""
        rng = self.extras
        cur = market.currency
        if not fba and rng.random() < 0.4:
            free = rng.random() < 0.25
            promo = f"FREESHIP-{rng.randrange(10**6):06d}"
            for it in items:
                it.shipping = _minor(rng, rng.uniform(2.5, 6.5), cur)
                if free:
                    it.shipping_discount = it.shipping
                    it.promotion_ids = (promo,)
        if rng.random() < 1 / 8:
            it = rng.choice(items)
            off = it.unit_price * it.quantity * rng.choice([10, 15, 20]) // 100
            if cur in ZERO_DECIMAL_CURRENCIES:
                off = off // 10 * 10
            if off > 0:
                it.discount = off
                it.promotion_ids = (*it.promotion_ids, f"PROMO-{rng.randrange(10**6):06d}")

    @staticmethod
    def replacement(order: Order, original: Order, listings: list[Listing], in_stock_only: bool) -> bool:
        """Make the order a replacement of the original's first item, which costs the buyer nothing; False when
        that item can no longer be sent."""
        first = original.items[0]
        listing = next((lst for lst in listings if lst.sku == first.sku), None)
        offer = listing.offers.get(original.marketplace_id) if listing else None
        if offer is None or (in_stock_only and offer.quantity() < first.quantity):
            return False
        item_id = order.items[0].order_item_id
        order.items = [OrderItem(item_id, first.sku, first.asin, first.title, first.quantity, 0)]
        order.fulfilled_by = original.fulfilled_by
        order.programs = ()
        order.replaces = original.order_id
        return True

    def timeline(self, created: int, fba: bool, multi: bool) -> list[tuple[int, str]]:
        rng = self.rng
        ev = [(created, "PENDING")]
        r = rng.random()
        if r < 0.02:  # payment never went through
            ev.append((created + int(rng.uniform(3600, 48 * 3600)), "CANCELLED"))
            return ev
        slow_payment = rng.random() < 0.1  # some payments take hours to authorize
        paid = created + int(rng.uniform(3600, 12 * 3600) if slow_payment else rng.uniform(60, 600 if fba else 1800))
        ev.append((paid, "UNSHIPPED"))
        if r < 0.05:  # the buyer cancelled before shipment
            ev.append((paid + int(rng.uniform(600, 24 * 3600)), "CANCELLED"))
            return ev
        ship = paid + int(rng.uniform(3600, 24 * 3600) if fba else rng.uniform(2 * 3600, 72 * 3600))
        if multi and not fba and rng.random() < 0.1:
            ev.append((ship, "PARTIALLY_SHIPPED"))
            ship += int(rng.uniform(6 * 3600, 48 * 3600))
        ev.append((ship, "SHIPPED"))
        return ev

    def orders(
        self, count: int, now: float, window_days: float, catalogue: dict[str, tuple[list[Listing], list[Listing]]]
    ) -> list[Order]:
        rng = self.rng
        start = now - window_days * 86400
        times = sorted(int(rng.uniform(start, now)) for _ in range(count))
        out = []
        for t in times:
            o = self.order(t, catalogue)
            if o is not None:
                out.append(o)
        return out


# What buyers give as their reason in Amazon's cancellation request form (the model leaves cancelReason free text).
BUYER_CANCEL_REASONS = [
    "Order created by mistake",
    "Item(s) not needed anymore",
    "Found cheaper somewhere else",
    "Delivery time too long",
    "Shipping cost too high",
    "Need to change shipping address",
]


def ask_to_cancel(orders: Iterable[Order], seed: int, seller_id: str, now: float, share: float) -> list[Order]:
    """Buyers who asked to cancel: ``share`` of the merchant-fulfilled orders that are UNSHIPPED at ``now`` (at least
    one when there is any), each asked at a moment since it became unshipped (its ``lastUpdatedTime`` moves there).
    Drawn from a generator of its own, so every other seeded value stays as it was."""
    rng = random.Random(f"cancellation-requests:{seed}:{seller_id}")
    open_ = [o for o in orders if o.fulfilled_by == "MERCHANT" and o.status_at(now) == "UNSHIPPED"]
    if not open_ or share <= 0:
        return []
    asked = rng.sample(open_, max(1, round(len(open_) * share)))
    for order in asked:
        since = order.time_of("UNSHIPPED", now) or order.created
        at = int(rng.uniform(since, now))
        order.cancel_request = (at, rng.choice(BUYER_CANCEL_REASONS))
        order.touch(at)
    return asked


SEEDED_SUPPRESSIONS = ["LISTING_SUPPRESSED", "SEARCH_SUPPRESSED", "CATALOG_ITEM_REMOVED"]


def suppress(listings: Iterable[Listing], count: int) -> list[Listing]:
    """Put Amazon's enforcements on the first ``count`` merchant-fulfilled listings, taking the actions in turn.
    Draws nothing from a generator, so the rest of the seeded data is the same with or without it."""
    chosen = [listing for listing in listings if not listing.fba][:count]
    for n, listing in enumerate(chosen):
        action = SEEDED_SUPPRESSIONS[n % len(SEEDED_SUPPRESSIONS)]
        listing.issues.append(suppression_issue(action, sorted(listing.offers)))
    return chosen


def catalogue(
    listings: Iterable[Listing], marketplace_ids: Iterable[str]
) -> dict[str, tuple[list[Listing], list[Listing]]]:
    """Per marketplace, the MFN and AFN listings that can be ordered there."""
    out: dict[str, tuple[list[Listing], list[Listing]]] = {m: ([], []) for m in marketplace_ids}
    for listing in listings:
        for mid in listing.offers:
            if mid in out:
                out[mid][1 if listing.fba else 0].append(listing)
    return {m: v for m, v in out.items() if v[0] or v[1]}


class Arrivals:
    """New orders arriving after start, a Poisson stream drawn from its own seeded generator, so where the clock is
    read does not change which orders arrive when. Each arrival takes stock from its offers."""

    def __init__(
        self, gen: Generator, per_hour: float, start: float, listings: ListingStore, orders: OrderStore
    ) -> None:
        self.gen = gen
        self.per_hour = per_hour
        self.rng = random.Random(f"arrivals:{gen.seed}:{gen.seller_id}")
        self.listings = listings
        self.orders = orders
        self.next_at = start + self._gap() if per_hour > 0 else float("inf")

    def _gap(self) -> float:
        return self.rng.expovariate(self.per_hour / 3600.0)

    def tick(self, now: float) -> int:
        made = 0
        cat = None
        while self.next_at <= now:
            at = int(self.next_at)
            self.next_at += self._gap()
            if cat is None:
                cat = catalogue(self.listings.by_seller.get(self.gen.seller_id, {}).values(), self.gen.marketplace_ids)
            if not cat:
                continue
            o = self.gen.order(at, cat, in_stock_only=True)
            if o is None:
                continue
            self.orders.add(o)
            for it in o.items:
                self.listings.consume(o.seller_id, it.sku, o.marketplace_id, it.quantity)
            made += 1
        return made
