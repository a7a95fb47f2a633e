"""A seller's orders carry their money and order data as Orders v2026-01-01 sends them: per item proceeds whose
breakdowns add up (ITEM, SHIPPING, TAX, DISCOUNT), the order's grand total, and what business buyers, the seller's
own order numbers, replacements and addresses bring along. See simulator/proceeds.py for how the amounts add up."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from linkolis_amazon.simulator.marketplaces import MARKETPLACES
from sim_support import SELLER, START, SpApi, make_sim

from linkolis_host.clock import VirtualClock
from linkolis_host.testing.simulator import iso

ORDERS = "/orders/2026-01-01/orders"
ALL_DATA = ["BUYER", "RECIPIENT", "PROCEEDS", "PROMOTION", "CANCELLATION", "FULFILLMENT", "PACKAGES", "TAX"]


class History:
    """Two months of a seller's orders, fetched once with every dataset, and the responses that brought them."""

    def __init__(self) -> None:
        self.sim = make_sim(VirtualClock(START), orders=800)
        api = SpApi(self.sim, patient=True)
        self.responses: list[httpx.Response] = []
        self.orders: list[dict] = []
        token = None
        while True:
            r = api.get(ORDERS, createdAfter=iso(START - 60 * 86400), includedData=ALL_DATA, paginationToken=token)
            assert r.status_code == 200, r.text
            self.responses.append(r)
            self.orders += r.json()["orders"]
            token = r.json().get("pagination", {}).get("nextToken")
            if token is None:
                break
        self.api = api

    def items(self) -> Iterator[tuple[dict, dict]]:
        for o in self.orders:
            for it in o["orderItems"]:
                yield o, it


@pytest.fixture(scope="module")
def history() -> History:
    return History()


def dec(money: dict) -> Decimal:
    return Decimal(money["amount"])


def breakdown(proceeds: dict, kind: str) -> dict | None:
    return next((b for b in proceeds["breakdowns"] if b["type"] == kind), None)


def test_every_response_matches_amazons_model(history, conforms):
    for r in history.responses:
        conforms(r)
    assert all(isinstance(o["salesChannel"]["marketplaceId"], str) for o in history.orders), "never null"


def test_each_items_breakdowns_add_up_to_its_proceeds_total(history):
    checked = paid = taxed = 0
    for o, it in history.items():
        if "proceeds" not in it:
            continue
        p, cur = it["proceeds"], MARKETPLACES[o["salesChannel"]["marketplaceId"]].currency
        amounts = [p["proceedsTotal"]] + [b["subtotal"] for b in p["breakdowns"]]
        amounts += [d["value"] for b in p["breakdowns"] for d in b.get("detailedBreakdowns", [])]
        assert {m["currencyCode"] for m in amounts} == {cur}
        assert all(isinstance(m["amount"], str) for m in amounts)
        unit = dec(it["product"]["price"]["unitPrice"])
        assert dec(breakdown(p, "ITEM")["subtotal"]) == unit * it["quantityOrdered"]
        assert dec(p["proceedsTotal"]) == sum(dec(b["subtotal"]) for b in p["breakdowns"])
        for b in p["breakdowns"]:
            if "detailedBreakdowns" in b:
                assert dec(b["subtotal"]) == sum(dec(d["value"]) for d in b["detailedBreakdowns"])
        checked += 1
        paid += "associatedOrders" not in o  # a replacement costs nothing, so it carries no tax
        taxed += bool(breakdown(p, "TAX"))
    assert checked > 500 and taxed == paid, "every item paid for is taxed, with its tax broken down"


def test_the_orders_grand_total_is_the_sum_of_its_items(history):
    priced = [o for o in history.orders if "proceeds" in o]
    assert len(priced) > 300
    for o in priced:
        items = [it["proceeds"] for it in o["orderItems"]]
        assert dec(o["proceeds"]["grandTotal"]) == sum(dec(p["proceedsTotal"]) for p in items)
        for b in o["proceeds"]["breakdowns"]:
            parts = [breakdown(p, b["type"]) for p in items]
            assert dec(b["subtotal"]) == sum(dec(x["subtotal"]) for x in parts if x), b["type"]


def test_some_orders_charge_shipping_and_some_carry_promotions(history):
    shipping = [it for _, it in history.items() if "proceeds" in it and breakdown(it["proceeds"], "SHIPPING")]
    discounted = [it for _, it in history.items() if "proceeds" in it and breakdown(it["proceeds"], "DISCOUNT")]
    assert len(shipping) > 20 and len(discounted) > 20
    for it in discounted:
        d = breakdown(it["proceeds"], "DISCOUNT")
        assert dec(d["subtotal"]) < 0, "a discount takes money off"
        assert {x["subtype"] for x in d["detailedBreakdowns"]} <= {"ITEM", "SHIPPING"}
        assert it["promotion"]["breakdowns"][0]["promotionId"]
    free_shipping = [
        it
        for it in discounted
        if any(x["subtype"] == "SHIPPING" for x in breakdown(it["proceeds"], "DISCOUNT")["detailedBreakdowns"])
    ]
    assert free_shipping and any(
        x["subtype"] == "ITEM" for it in discounted for x in breakdown(it["proceeds"], "DISCOUNT")["detailedBreakdowns"]
    )
    taxed_shipping = [
        it
        for it in shipping
        if any(x["subtype"] == "SHIPPING" for x in breakdown(it["proceeds"], "TAX")["detailedBreakdowns"])
    ]
    assert taxed_shipping, "shipping is taxed too"


def test_us_tax_comes_on_top_of_the_price_and_eu_vat_is_inside_it(sim, api, conforms):
    sim.add_listing("MUG-01", ["DE", "US"], quantity=30, price=19.99)
    de = sim.add_order([("MUG-01", 2)], "DE", status="UNSHIPPED")
    us = sim.add_order([("MUG-01", 2)], "US", status="UNSHIPPED")
    sim.clock.advance(600)

    def item(order_id: str) -> dict:
        r = conforms(api.get(f"{ORDERS}/{order_id}", includedData=["PROCEEDS"]))
        return r.json()["order"]["orderItems"][0]

    german = item(de)
    assert dec(german["proceeds"]["proceedsTotal"]) == Decimal("39.98"), "the buyer pays the listed price"
    assert dec(german["product"]["price"]["unitPrice"]) == Decimal("16.80"), "19.99 less 19 % VAT"
    assert dec(breakdown(german["proceeds"], "TAX")["subtotal"]) == Decimal("6.38")

    american = item(us)
    assert dec(american["product"]["price"]["unitPrice"]) == Decimal("19.99")
    tax = dec(breakdown(american["proceeds"], "TAX")["subtotal"])
    assert tax > 0 and dec(american["proceeds"]["proceedsTotal"]) == Decimal("39.98") + tax


def test_prices_and_proceeds_stay_hidden_while_pending(sim, api, conforms):
    sim.add_listing("MUG-02", ["DE"], quantity=5)
    pending = sim.add_order([("MUG-02", 1)], "DE", status="PENDING")
    sim.clock.advance(600)
    order = conforms(api.get(f"{ORDERS}/{pending}", includedData=["PROCEEDS", "PROMOTION"])).json()["order"]
    assert "proceeds" not in order
    assert not any({"proceeds", "promotion"} & set(it) or "price" in it["product"] for it in order["orderItems"])


def test_the_truth_knows_each_lines_money_as_the_wire_sends_it(history):
    truth = {o["orderId"]: o for o in history.sim.orders_truth(SELLER)}
    for o in history.orders:
        if "proceeds" not in o:
            continue
        known = truth[o["orderId"]]
        assert (
            known["grandTotal"] == o["proceeds"]["grandTotal"]["amount"]
            and known["currency"] == (o["proceeds"]["grandTotal"]["currencyCode"])
        )
        for it, line in zip(o["orderItems"], known["items"], strict=True):
            p = it["proceeds"]
            assert line["total"] == p["proceedsTotal"]["amount"]
            assert line["unitPrice"] == it["product"]["price"]["unitPrice"]["amount"]
            for kind in ("TAX", "SHIPPING", "DISCOUNT"):
                b = breakdown(p, kind)
                assert Decimal(line[kind.lower()]) == (dec(b["subtotal"]) if b else 0), kind


def test_business_buyers_bring_their_company_and_purchase_order_number(history):
    business = [o for o in history.orders if "AMAZON_BUSINESS" in o.get("programs", [])]
    with_po = [o for o in history.orders if "buyerPurchaseOrderNumber" in o.get("buyer", {})]
    assert business and with_po
    assert all("AMAZON_BUSINESS" in o["programs"] and o["buyer"]["buyerCompanyName"] for o in with_po)
    assert any(o["recipient"]["deliveryAddress"]["addressType"] == "COMMERCIAL" for o in with_po)
    assert any("PRIME" in o.get("programs", []) for o in history.orders)


def test_some_orders_carry_the_sellers_own_order_number(history):
    aliased = [o for o in history.orders if "orderAliases" in o]
    assert aliased
    assert all(a["aliasType"] == "SELLER_ORDER_ID" and a["aliasId"] for o in aliased for a in o["orderAliases"])


def test_a_replacement_order_names_the_original_and_costs_the_buyer_nothing(history, conforms):
    replacements = [o for o in history.orders if "associatedOrders" in o]
    assert replacements
    for o in replacements:
        [link] = o["associatedOrders"]
        assert link["associationType"] == "REPLACEMENT_ORIGINAL_ID"
        original = conforms(history.api.get(f"{ORDERS}/{link['orderId']}")).json()["order"]
        assert original["createdTime"] <= o["createdTime"]
        assert original["orderItems"][0]["product"]["sellerSku"] == o["orderItems"][0]["product"]["sellerSku"]
        if "proceeds" in o:
            assert dec(o["proceeds"]["grandTotal"]) == 0


def test_addresses_carry_the_parts_their_country_has(history):
    addresses = [o["recipient"]["deliveryAddress"] for o in history.orders if "recipient" in o]
    us = [a for a in addresses if a["countryCode"] == "US"]
    assert us and all(a["districtOrCounty"].endswith("County") for a in us)
    assert any("municipality" in a for a in addresses if a["countryCode"] in ("ES", "IT"))
    assert {"RESIDENTIAL", "COMMERCIAL", "PICKUP_POINT"} <= {a["addressType"] for a in addresses}
    assert not any("municipality" in a for a in us)


def test_the_money_is_the_same_for_the_same_seed():
    first, second = (make_sim(VirtualClock(START), orders=200) for _ in range(2))
    assert first.orders_truth(SELLER) == second.orders_truth(SELLER)
    assert any(Decimal(i["discount"]) < 0 for o in first.orders_truth(SELLER) for i in o["items"])
