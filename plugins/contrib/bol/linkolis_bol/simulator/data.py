"""The simulated retailer's offers and orders, generated from a seed so every run sees the same shop."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

FIRST_NAMES = ["Anna", "Bram", "Chloé", "Daan", "Emma", "Finn", "Lotte", "Sem", "Julia", "Noah"]
SURNAMES = ["de Vries", "Jansen", "Peeters", "Bakker", "Visser", "Maes", "Smit", "Claes"]
STREETS = ["Kerkstraat", "Dorpsstraat", "Stationsweg", "Molenlaan", "Grote Markt"]
CITIES = [
    ("Utrecht", "3511 AB", "NL"),
    ("Antwerpen", "2000", "BE"),
    ("Zwolle", "8011 AA", "NL"),
    ("Gent", "9000", "BE"),
    ("Haarlem", "2011 AB", "NL"),
]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Offer:
    offer_id: str
    ean: str
    reference: str
    title: str
    price: Decimal
    fbb: bool
    stock: int
    managed_by_retailer: bool = False
    refuses_stock: bool = False  # bol answers FAILURE to every stock update of this offer
    mutated_at: datetime | None = None


@dataclass
class Item:
    order_item_id: str
    offer: Offer
    quantity: int
    quantity_shipped: int
    quantity_cancelled: int
    discount: Decimal
    changed_at: datetime
    cancellation_request: bool = False
    cancel_reason: str | None = None  # the reasonCode of the cancellation bol processed (not shown by bol's API)

    @property
    def total_price(self) -> Decimal:
        return self.offer.price * self.quantity - self.discount

    @property
    def open(self) -> bool:
        return self.quantity_shipped + self.quantity_cancelled < self.quantity


@dataclass
class Order:
    order_id: str
    placed_at: datetime
    items: list[Item]
    first_name: str
    surname: str
    street: str
    house_number: str
    city: str
    zip_code: str
    country: str
    email: str
    pickup_point: bool = False
    company: str | None = None
    order_reference: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def changed_at(self) -> datetime:
        return max(item.changed_at for item in self.items)


def make_offers(rng: random.Random, count: int, fbb_share: float) -> list[Offer]:
    offers = []
    for n in range(count):
        ean = f"87{rng.randrange(10**10, 10**11):011d}"
        offers.append(
            Offer(
                offer_id=f"{rng.getrandbits(64):016x}-{n:04d}",
                ean=ean,
                reference=f"SKU-{n + 1:04d}",
                title=f"Product {n + 1}",
                price=Decimal(rng.randrange(499, 12999)) / 100,
                fbb=rng.random() < fbb_share,
                stock=rng.randrange(0, 40),
            )
        )
    return offers


def make_orders(
    rng: random.Random, offers: list[Offer], count: int, now: datetime, window_days: float, first_id: int = 1
) -> list[Order]:
    orders = []
    for n in range(count):
        placed = now - timedelta(seconds=rng.randrange(600, max(601, int(window_days * 86400))))
        orders.append(make_order(rng, offers, first_id + n, placed, now))
    orders.sort(key=lambda o: o.placed_at)
    return orders


def ask_to_cancel(seed: int, orders: list[Order], now: datetime, share: float) -> list[Item]:
    """Buyers who asked to cancel: about ``share`` of the open FBR items, each asked at a moment between its order's
    placing and ``now``. Drawn from a generator of its own, so every other seeded value stays as it was."""
    rng = random.Random(f"cancellation-requests:{seed}")
    asked = []
    for order in orders:
        for item in order.items:
            if item.offer.fbb or not item.open or rng.random() >= share:
                continue
            span = max(0, int((now - order.placed_at).total_seconds()))
            item.cancellation_request = True
            item.changed_at = order.placed_at + timedelta(seconds=rng.randrange(0, span + 1))
            asked.append(item)
    return asked


def make_order(rng: random.Random, offers: list[Offer], number: int, placed: datetime, now: datetime) -> Order:
    city, zip_code, country = rng.choice(CITIES)
    fbb = rng.random() < 0.2
    pool = [o for o in offers if o.fbb == fbb] or offers
    items = []
    for k in range(rng.choice((1, 1, 1, 2, 3))):
        offer = rng.choice(pool)
        quantity = rng.choice((1, 1, 2, 3))
        fate = rng.random()
        changed = min(now, placed + timedelta(seconds=rng.randrange(0, 2 * 86400)))
        age = now - placed
        shipped = quantity if fate < 0.6 and age > timedelta(hours=12) else 0
        cancelled = quantity if 0.6 <= fate < 0.66 else 0
        discount = Decimal("2.50") if rng.random() < 0.15 else Decimal("0.00")
        items.append(
            Item(
                order_item_id=f"{number:07d}{k + 1}",
                offer=offer,
                quantity=quantity,
                quantity_shipped=shipped,
                quantity_cancelled=cancelled,
                discount=discount,
                changed_at=changed if (shipped or cancelled) else placed,
            )
        )
    first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
    business = rng.random() < 0.1
    return Order(
        order_id=f"A{number:09d}",
        placed_at=placed,
        items=items,
        first_name=first,
        surname=last,
        street=rng.choice(STREETS),
        house_number=str(rng.randrange(1, 200)),
        city=city,
        zip_code=zip_code,
        country=country,
        email=f"{first.lower()}.{number}@verkopen.bol.example",
        pickup_point=rng.random() < 0.1,
        company="Bedrijf B.V." if business else None,
        order_reference=f"PO-{number}" if business else None,
    )
