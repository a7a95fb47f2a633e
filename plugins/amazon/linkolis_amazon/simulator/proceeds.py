"""The money of an order as Orders v2026-01-01 carries it: per item ``proceeds`` (``proceedsTotal`` and its
``breakdowns``), per order ``proceeds.grandTotal``. Worked out here once, for the wire and for the ground truth.

How the amounts add up, as the model's own examples do (getOrder: ITEM 89.97 + SHIPPING 10.00 + TAX 4.00 =
proceedsTotal 103.97, TAX = 3.00 on the item + 1.00 on shipping; searchOrders: 99.98 + 0.02 = 100.00, and the
order's grandTotal is the sum over its items):

- ITEM = ``unitPrice`` × ``quantityOrdered``.
- An item's ``proceedsTotal`` = the sum of its breakdowns' subtotals (ITEM, SHIPPING, TAX, DISCOUNT).
- TAX's subtotal = the sum of its ``detailedBreakdowns`` (subtypes ITEM, SHIPPING, DISCOUNT: the tax on the
  item, on its shipping, and the tax a promotion took off); DISCOUNT's likewise (subtypes ITEM, SHIPPING).
- DISCOUNT amounts, and the tax on a discount, are negative: that is what keeps the sums true.
- ``grandTotal`` = the sum of the items' ``proceedsTotal``; each order-level breakdown is that type summed over
  the items.
- A breakdown or detailed entry of zero is left out (the examples leave TAX out of an untaxed item).

Tax, where the model is silent on whether a price includes it (the rule chosen):

- US and CA list prices before tax; sales tax comes on top, rounded per component (US at the recipient's state
  rate, CA at 13 % HST).
- Every other marketplace lists prices with VAT (GST, consumption tax) included, as its buyers see them. The
  simulator splits them: ``unitPrice``, ITEM, SHIPPING and DISCOUNT carry the net amounts and TAX the tax they
  included, so ``proceedsTotal`` is exactly what the buyer paid at the listed prices.

A replacement order costs the buyer nothing: every amount of it is zero. Amounts are minor units here
(cents; yen for JPY) and leave as the model's ``Money`` (a decimal string and a currency code).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .marketplaces import MARKETPLACES, money
from .people import person

if TYPE_CHECKING:
    from .orders import Order, OrderItem

# Rates in basis points (1 % = 100), so that all arithmetic stays in integers.
CA_RATE = 1300
US_STATE_RATES = {"WA": 1035, "TX": 825, "CO": 881, "MA": 625}
US_DEFAULT_RATE = 700
INCLUDED_RATES = {
    "DE": 1900, "FR": 2000, "IT": 2200, "ES": 2100, "NL": 2100, "BE": 2100, "IE": 2300, "UK": 2000, "SE": 2500,
    "PL": 2300, "TR": 2000, "EG": 1400, "SA": 1500, "AE": 500, "IN": 1800, "ZA": 1500, "SG": 900, "AU": 1000,
    "JP": 1000, "MX": 1600, "BR": 1800,
}  # fmt: skip
DEFAULT_INCLUDED_RATE = 2000


def _share(amount: int, numerator: int, denominator: int) -> int:
    """``amount × numerator / denominator`` rounded half away from zero, in integers."""
    sign = -1 if amount < 0 else 1
    return sign * ((2 * abs(amount) * numerator + denominator) // (2 * denominator))


@dataclass(frozen=True, slots=True)
class LineMoney:
    """One item's money in minor units, each field one breakdown entry (discounts and their tax negative)."""

    unit_price: int
    item: int
    shipping: int
    discount_item: int
    discount_shipping: int
    tax_item: int
    tax_shipping: int
    tax_discount: int

    @property
    def tax(self) -> int:
        return self.tax_item + self.tax_shipping + self.tax_discount

    @property
    def discount(self) -> int:
        return self.discount_item + self.discount_shipping

    @property
    def total(self) -> int:
        return self.item + self.shipping + self.tax + self.discount


def tax_rate(o: Order) -> tuple[int, bool]:
    """The order's tax rate (basis points) and whether it comes on top of the listed prices (else it is inside)."""
    market = MARKETPLACES[o.marketplace_id]
    if market.country == "CA":
        return CA_RATE, True
    if market.country == "US":
        return US_STATE_RATES.get(person(o.seed, market).state, US_DEFAULT_RATE), True
    return INCLUDED_RATES.get(market.country, DEFAULT_INCLUDED_RATE), False


def order_money(o: Order) -> list[LineMoney]:
    """What each item of the order costs, split as its breakdowns carry it."""
    if o.replaces is not None:
        return [LineMoney(0, 0, 0, 0, 0, 0, 0, 0) for _ in o.items]
    if o.tax is None:
        o.tax = tax_rate(o)
    rate, on_top = o.tax
    return [_line(it, rate, on_top) for it in o.items]


def _line(it: OrderItem, rate: int, on_top: bool) -> LineMoney:
    q = it.quantity
    if on_top:
        unit, ship, d_item, d_ship = it.unit_price, it.shipping, it.discount, it.shipping_discount
        return LineMoney(
            unit,
            unit * q,
            ship,
            -d_item,
            -d_ship,
            _share(unit * q, rate, 10_000),
            _share(ship, rate, 10_000),
            -_share(d_item + d_ship, rate, 10_000),
        )

    def net(gross: int) -> int:
        return _share(gross, 10_000, 10_000 + rate)

    unit = net(it.unit_price)
    gross_item = it.unit_price * q
    d_item, d_ship = net(it.discount), net(it.shipping_discount)
    return LineMoney(
        unit,
        unit * q,
        net(it.shipping),
        -d_item,
        -d_ship,
        gross_item - unit * q,
        it.shipping - net(it.shipping),
        -(it.discount - d_item) - (it.shipping_discount - d_ship),
    )


def item_proceeds(m: LineMoney, currency: str) -> dict[str, Any]:
    """The model's ``ItemProceeds``."""
    breakdowns: list[dict[str, Any]] = [{"type": "ITEM", "subtotal": money(m.item, currency)}]
    if m.shipping:
        breakdowns.append({"type": "SHIPPING", "subtotal": money(m.shipping, currency)})
    for kind, subtotal, parts in (
        ("TAX", m.tax, (("ITEM", m.tax_item), ("SHIPPING", m.tax_shipping), ("DISCOUNT", m.tax_discount))),
        ("DISCOUNT", m.discount, (("ITEM", m.discount_item), ("SHIPPING", m.discount_shipping))),
    ):
        details = [{"subtype": sub, "value": money(v, currency)} for sub, v in parts if v]
        if details:
            breakdowns.append({"type": kind, "subtotal": money(subtotal, currency), "detailedBreakdowns": details})
    return {"proceedsTotal": money(m.total, currency), "breakdowns": breakdowns}


def order_proceeds(lines: list[LineMoney], currency: str) -> dict[str, Any]:
    """The model's ``OrderProceeds``: the items' proceeds summed, per category and in all."""
    sums = {
        "ITEM": sum(m.item for m in lines),
        "SHIPPING": sum(m.shipping for m in lines),
        "TAX": sum(m.tax for m in lines),
        "DISCOUNT": sum(m.discount for m in lines),
    }
    breakdowns = [{"type": k, "subtotal": money(v, currency)} for k, v in sums.items() if v or k == "ITEM"]
    return {"grandTotal": money(sum(m.total for m in lines), currency), "breakdowns": breakdowns}
