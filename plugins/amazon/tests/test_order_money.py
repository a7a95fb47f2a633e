"""Amazon's order money lands in linkolis with one meaning per field, and the order details sellers ask for come too.

Read from Amazon's own examples in the vendored Orders v2026-01-01 model (the `examples` and `x-amzn-api-sandbox`
bodies of searchOrders and getOrder), and from hand-built orders shaped per the model's definitions.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from importlib import resources

import jsonschema
import pytest
from linkolis_amazon.orders import to_order

from linkolis_host import orders

MODEL = json.loads(
    resources.files("linkolis_amazon").joinpath("spapi_models", "orders-2026-01-01.json").read_text(encoding="utf-8")
)
US = "ATVPDKIKX0DER"


def example_orders() -> dict[str, dict]:
    """Every order in the model's 200 examples of searchOrders and getOrder, by order id."""
    found: dict[str, dict] = {}
    for item in MODEL["paths"].values():
        for op in item.values():
            ok = op["responses"]["200"]
            bodies = list(ok["examples"].values())
            bodies += [case["response"] for case in ok["x-amzn-api-sandbox"]["static"]]
            for body in bodies:
                for raw in body.get("orders") or [body["order"]]:
                    found[raw["orderId"]] = raw
    return found


EXAMPLES = example_orders()


def shaped_per_model(raw: dict) -> dict:
    """``raw`` once checked against the model's Order definition, so a hand-built order is one Amazon could send."""
    schema = {"$ref": "#/definitions/Order", "definitions": MODEL["definitions"]}
    jsonschema.Draft4Validator(schema).validate(raw)
    return raw


def money(amount: str, currency: str = "USD") -> dict:
    return {"amount": amount, "currencyCode": currency}


def lines_of(order) -> dict[str, dict]:
    return {line.line_id: line.model_dump() for line in order.lines}


def test_the_examples_cover_the_orders_the_model_ships():
    assert len(EXAMPLES) == 8
    assert {"123-4567890-1234567", "202-1234567-8901234", "114-9876543-1234567"} <= set(EXAMPLES)


def test_two_echo_dots_at_49_99_with_two_cents_of_tax_are_a_subtotal_of_99_98_and_a_total_of_100():
    order = to_order(EXAMPLES["123-4567890-1234567"])
    assert order.currency == "USD"
    line = lines_of(order)["12345678901234"]
    assert line["quantity_ordered"] == 2
    assert line["unit_price"] == Decimal("49.99")
    assert line["subtotal"] == Decimal("99.98")
    assert line["tax"] == Decimal("0.02")
    assert (line["shipping"], line["shipping_tax"], line["discount"]) == (0, 0, 0)
    assert line["total"] == Decimal("100.00")
    other = lines_of(order)["12345678901235"]
    assert (other["subtotal"], other["tax"], other["total"]) == (Decimal("49.99"), 0, Decimal("49.99"))
    # The order's total is grandTotal: the lines (149.99) plus the buyer's 5.00 delivery tip.
    assert order.total == Decimal("154.99")


def test_shipping_and_its_tax_are_told_apart_and_the_tax_on_shipping_stays_inside_tax():
    order = to_order(EXAMPLES["202-1234567-8901234"])
    [line] = order.lines
    assert order.currency == "GBP"
    assert (line.unit_price, line.quantity_ordered, line.subtotal) == (Decimal("29.99"), 3, Decimal("89.97"))
    assert line.shipping == Decimal("10.00")
    assert line.tax == Decimal("4.00") and line.shipping_tax == Decimal("1.00")
    assert line.total == Decimal("103.97") == line.subtotal + line.shipping + line.tax
    assert order.total == Decimal("103.97")


def test_tax_without_a_breakdown_leaves_its_shipping_part_unknown():
    [line] = to_order(EXAMPLES["114-9876543-1234567"]).lines
    assert (line.subtotal, line.tax, line.total) == (Decimal("39.99"), Decimal("10.00"), Decimal("49.99"))
    assert line.shipping_tax is None


@pytest.mark.parametrize("order_id", sorted(EXAMPLES))
def test_every_example_order_adds_up_and_keeps_no_empty_text(order_id):
    raw = EXAMPLES[order_id]
    order = to_order(raw)
    assert order.total == Decimal(raw["proceeds"]["grandTotal"]["amount"])
    for item, line in zip(raw["orderItems"], order.lines, strict=True):
        unit = Decimal(item["product"]["price"]["unitPrice"]["amount"])
        assert line.subtotal == unit * item["quantityOrdered"]
        assert line.total == Decimal(item["proceeds"]["proceedsTotal"]["amount"])
        assert line.total == line.subtotal + line.shipping + line.tax - line.discount
    dumped = json.dumps(order.model_dump(mode="json"))
    assert '""' not in dumped


def test_a_b2b_replacement_order_keeps_its_po_number_aliases_programs_and_original_order():
    order = to_order(EXAMPLES["123-4567890-1234567"])
    assert order.seller_order_id == "SELLER-ORDER-2024-001"
    assert order.programs == ["PRIME", "AMAZON_BUSINESS"]
    assert (order.original_order_id, order.original_order_relation) == ("123-4567890-1234566", "replacement")
    assert order.buyer.purchase_order_number == "PO-2024-12345"
    assert order.buyer.company == "Smith Industries LLC"
    address = order.recipient
    assert (address.district, address.address_type) == ("King County", "commercial")
    assert address.municipality is None and address.line3 is None, "Amazon's empty strings are no value"


def test_an_order_that_replaces_nothing_has_no_original_order():
    order = to_order(EXAMPLES["202-1234567-8901234"])
    assert order.original_order_id is None and order.original_order_relation is None
    assert order.seller_order_id == "UK-MERCHANT-ORDER-2024-001"
    assert order.buyer.purchase_order_number is None
    assert order.recipient.district == "Greater Manchester"


def promotion_order() -> dict:
    """A US order of 2 x 25.00 with a 5.00 promotion on the goods and one of 2.00 on the 4.99 shipping, taxed."""
    return shaped_per_model(
        {
            "orderId": "113-0000000-0000001",
            "createdTime": "2026-05-01T10:00:00Z",
            "lastUpdatedTime": "2026-05-01T11:00:00Z",
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": US, "marketplaceName": "Amazon.com"},
            "associatedOrders": [{"orderId": "113-0000000-0000000", "associationType": "EXCHANGE_ORIGINAL_ID"}],
            "proceeds": {
                "grandTotal": money("51.23"),
                "breakdowns": [
                    {"type": "ITEM", "subtotal": money("50.00")},
                    {"type": "SHIPPING", "subtotal": money("4.99")},
                    {"type": "TAX", "subtotal": money("3.24")},
                    {"type": "DISCOUNT", "subtotal": money("-7.00")},
                ],
            },
            "fulfillment": {"fulfillmentStatus": "UNSHIPPED", "fulfilledBy": "MERCHANT"},
            "orderItems": [
                {
                    "orderItemId": "11300000000001",
                    "quantityOrdered": 2,
                    "product": {
                        "asin": "B000000001",
                        "sellerSku": "MUG-01",
                        "title": "Mug",
                        "price": {"unitPrice": money("25.00")},
                    },
                    "proceeds": {
                        "proceedsTotal": money("51.23"),
                        "breakdowns": [
                            {"type": "ITEM", "subtotal": money("50.00")},
                            {"type": "SHIPPING", "subtotal": money("4.99")},
                            {
                                "type": "TAX",
                                "subtotal": money("3.24"),
                                "detailedBreakdowns": [
                                    {"subtype": "ITEM", "value": money("3.60")},
                                    {"subtype": "SHIPPING", "value": money("0.36")},
                                    {"subtype": "DISCOUNT", "value": money("-0.72")},
                                ],
                            },
                            {
                                "type": "DISCOUNT",
                                "subtotal": money("-7.00"),
                                "detailedBreakdowns": [
                                    {"subtype": "ITEM", "value": money("-5.00")},
                                    {"subtype": "SHIPPING", "value": money("-2.00")},
                                ],
                            },
                        ],
                    },
                }
            ],
        }
    )


def test_a_promotion_is_a_positive_discount_and_the_total_is_what_the_buyer_paid():
    order = to_order(promotion_order())
    [line] = order.lines
    assert (line.subtotal, line.shipping) == (Decimal("50.00"), Decimal("4.99"))
    assert line.discount == Decimal("7.00")
    assert line.tax == Decimal("3.24") and line.shipping_tax == Decimal("0.36")
    assert line.total == Decimal("51.23") == line.subtotal + line.shipping + line.tax - line.discount
    assert (order.original_order_id, order.original_order_relation) == ("113-0000000-0000000", "exchange")


def test_an_order_without_proceeds_says_nothing_it_does_not_know():
    raw = promotion_order()
    del raw["proceeds"], raw["orderItems"][0]["proceeds"]
    order = to_order(shaped_per_model(raw))
    [line] = order.lines
    assert line.unit_price == Decimal("25.00") and line.subtotal == Decimal("50.00")
    assert (line.tax, line.shipping, line.shipping_tax, line.discount, line.total) == (None,) * 5
    assert order.total is None


def test_a_null_marketplace_id_and_empty_strings_do_not_break_the_import():
    raw = copy.deepcopy(EXAMPLES["202-1234567-8901234"])
    raw["salesChannel"]["marketplaceId"] = None
    raw["buyer"].update(buyerName="", buyerCompanyName="  ", buyerPurchaseOrderNumber="")
    raw["recipient"]["deliveryAddress"].update(addressType="SOMETHING_NEW", districtOrCounty="")
    raw["programs"] = ["", "PRIME"]
    raw["orderAliases"] = [{"aliasId": "", "aliasType": "SELLER_ORDER_ID"}]
    order = to_order(raw, "A1F83G8C2ARO7P")
    assert order.marketplace == "A1F83G8C2ARO7P", "the marketplace the import asked for"
    assert to_order(raw).marketplace == ""
    assert order.buyer.name is None and order.buyer.company is None and order.buyer.purchase_order_number is None
    assert order.recipient.address_type is None and order.recipient.district is None
    assert order.programs == ["PRIME"] and order.seller_order_id is None


def test_the_seller_sees_amazons_example_order_in_orders_show(run, host):
    run("apps", "install", "amazon", "--name", "Amazon US", "--marketplace", "US")
    app_id = host.db.execute("SELECT id FROM apps").fetchone()[0]
    with host.db.atomic():
        orders.store_orders(host, app_id, [to_order(EXAMPLES["123-4567890-1234567"], "ATVPDKIKX0DER")])
    shown = run.json("orders", "show", "123-4567890-1234567")
    line = next(line for line in shown["lines"] if line["line_id"] == "12345678901234")
    assert {k: line[k] for k in ("unit_price", "subtotal", "tax", "shipping", "shipping_tax", "discount", "total")} == {
        "unit_price": "49.99",
        "subtotal": "99.98",
        "tax": "0.02",
        "shipping": "0.00",
        "shipping_tax": "0.00",
        "discount": "0.00",
        "total": "100.00",
    }
    assert "line_total" not in line
    assert shown["total"] == "154.99" and shown["currency"] == "USD"
    assert shown["seller_order_id"] == "SELLER-ORDER-2024-001"
    assert shown["programs"] == ["PRIME", "AMAZON_BUSINESS"]
    assert shown["buyer"]["purchase_order_number"] == "PO-2024-12345"
    assert shown["recipient"]["address_type"] == "commercial"
    text = run("orders", "show", "123-4567890-1234567").stdout
    assert "99.98, tax 0.02, total 100.00 USD" in text
    assert "(Amazon US, US)" in text, "the marketplace as the seller chose it, not ATVPDKIKX0DER"
    assert "seller order id SELLER-ORDER-2024-001" in text and "PO PO-2024-12345" in text
