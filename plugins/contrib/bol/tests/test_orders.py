"""Orders from bol: incremental, paged, with details, FBR/FBB told apart, money as the host means it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from linkolis_bol.orders import to_order


def _imported(run):
    return {o["marketplace_order_id"]: o for o in run.json("orders", "list", "--app", "bol NL", "--limit", "100000")}


def test_bol_prices_include_vat_so_only_what_the_buyer_paid_is_stated():
    raw = {
        "orderId": "A1",
        "pickupPoint": True,
        "orderPlacedDateTime": "2026-05-01T10:00:00+02:00",
        "shipmentDetails": {
            "salutation": "FEMALE",
            "firstName": "Anna",
            "surname": "Jansen",
            "streetName": "Kerkstraat",
            "houseNumber": "12",
            "houseNumberExtension": "A",
            "zipCode": "3511 AB",
            "city": "Utrecht",
            "countryCode": "NL",
            "pickupPointName": "Afhaalpunt Utrecht",
        },
        "billingDetails": {
            "salutation": "FEMALE",
            "firstName": "Anna",
            "surname": "Jansen",
            "streetName": "Kerkstraat",
            "houseNumber": "12",
            "zipCode": "3511 AB",
            "city": "Utrecht",
            "countryCode": "NL",
            "email": "anna@example.invalid",
            "company": "Jansen B.V.",
            "orderReference": "PO-7",
        },
        "orderItems": [
            {
                "orderItemId": "1",
                "cancellationRequest": False,
                "quantity": 2,
                "quantityShipped": 0,
                "quantityCancelled": 0,
                "unitPrice": 24.99,
                "totalPrice": 47.48,
                "commission": 5.1,
                "discounts": [{"title": "Actie", "amount": 2.5}],
                "fulfilment": {"method": "FBR", "timeFrameType": "REGULAR"},
                "offer": {"offerId": "o-1", "reference": "SKU-1"},
                "product": {"ean": "8712345678901", "title": "Mok"},
                "latestChangedDateTime": "2026-05-01T11:00:00+02:00",
            }
        ],
    }
    order = to_order(raw)
    [line] = order.lines
    assert (line.total, line.discount) == (Decimal("47.48"), Decimal("2.50"))
    # The host's unit price, subtotal and tax are before/of VAT, which bol does not split out: not guessed.
    assert (line.unit_price, line.subtotal, line.tax, line.shipping, line.shipping_tax) == (None,) * 5
    assert order.total == Decimal("47.48") and order.currency == "EUR"
    assert (line.sku, line.product_id, line.title) == ("SKU-1", "8712345678901", "Mok")
    assert order.fulfilled_by == "merchant" and order.status == "unshipped" and order.marketplace_status == "OPEN"
    assert order.buyer.purchase_order_number == "PO-7" and order.buyer.company == "Jansen B.V."
    assert order.recipient.line1 == "Kerkstraat 12 A" and order.recipient.address_type == "pickup_point"
    assert order.updated_at.isoformat() == "2026-05-01T09:00:00+00:00"


def test_fbb_orders_are_fulfilled_by_bol_and_fbr_orders_by_the_seller(run, sim, authorized):
    run("orders", "import", "bol NL")
    imported = _imported(run)
    for order in sim.orders_truth().values():
        expected = "marketplace" if all(i.offer.fbb for i in order.items) else "merchant"
        assert imported[order.order_id]["fulfilled_by"] == expected
    assert {"marketplace", "merchant"} <= {o["fulfilled_by"] for o in imported.values()}


def test_cancelled_and_shipped_orders_keep_their_status(run, sim, authorized):
    run("orders", "import", "bol NL")
    imported = _imported(run)
    for order in sim.orders_truth().values():
        if all(i.quantity_cancelled == i.quantity for i in order.items):
            assert imported[order.order_id]["status"] == "cancelled"
        elif all(i.quantity_shipped == i.quantity for i in order.items):
            assert imported[order.order_id]["status"] == "shipped"


@pytest.mark.parametrize("sim_options", [{"orders": 130, "order_window_days": 1}])
def test_pages_of_fifty_are_followed_and_a_later_run_asks_only_for_what_changed(
    run, sim, wire, clock, authorized, sim_options
):
    first = run.json("orders", "import", "bol NL")
    assert first["new"] == 130 and sim.counters["get-order"] == 130
    clock.advance(600)
    new = sim.add_order()
    before = len(wire.requests)
    second = run.json("orders", "import", "bol NL")
    assert (second["new"], second["updated"]) == (1, 0)
    lists = [r for r in wire.requests[before:] if r.url.path == "/retailer/orders"]
    assert [r.url.params.get("change-interval-minute") for r in lists] == ["13"]  # 10 minutes + 1 + 2 overlap
    details = [r.url.path for r in wire.requests[before:] if r.url.path.startswith("/retailer/orders/")]
    assert details == [f"/retailer/orders/{new.order_id}"]


def test_an_import_after_a_gap_walks_the_days_since_and_fetches_unchanged_orders_once(
    run, sim, wire, clock, authorized
):
    run("orders", "import", "bol NL")
    fetched = sim.counters["get-order"]
    clock.advance(3 * 3600)
    before = len(wire.requests)
    again = run.json("orders", "import", "bol NL")
    assert (again["new"], again["updated"]) == (0, 0)
    days = {r.url.params.get("latest-change-date") for r in wire.requests[before:] if r.url.path == "/retailer/orders"}
    assert len(days) == 2 and None not in days  # the day before the last run, and today
    assert sim.counters["get-order"] == fetched  # today's orders were seen unchanged: not read again
