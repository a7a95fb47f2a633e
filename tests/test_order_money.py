"""A seller reads an order's money with one meaning per field, and the details they ask for, in `orders show`."""

from __future__ import annotations

import re
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
import testmarket
from pydantic import ValidationError

from linkolis_host import Address, Buyer, Order, OrderLine, store
from linkolis_host.host import Host
from linkolis_host.testing import Run

DOC = (Path(__file__).resolve().parent.parent / "docs" / "plugin-hooks.md").read_text(encoding="utf-8")


def b2b_order() -> dict:
    """What a marketplace says of a business buyer's replacement order: 2 x 49.99, 4.99 shipping, a promotion."""
    return {
        "total": Decimal("108.95"),
        "lines": [
            OrderLine(
                line_id="1",
                sku="MUG-01",
                title="Mug",
                quantity_ordered=2,
                unit_price=Decimal("49.99"),
                subtotal=Decimal("99.98"),
                tax=Decimal("8.98"),
                shipping=Decimal("4.99"),
                shipping_tax=Decimal("0.40"),
                discount=Decimal("5.00"),
                total=Decimal("108.95"),
            )
        ],
        "buyer": Buyer(name="Jo Buyer", company="Smith Industries", purchase_order_number="PO-2026-7"),
        "recipient": Address(
            name="Goods In",
            city="Leeds",
            district="West Yorkshire",
            municipality="Leeds",
            country_code="GB",
            address_type="commercial",
        ),
        "seller_order_id": "MY-0042",
        "programs": ["PRIME", "BUSINESS"],
        "original_order_id": "O-0",
        "original_order_relation": "replacement",
    }


def test_each_amount_of_a_line_has_its_own_field_in_orders_show(run, app, market):
    market.add_order("O-1")
    market.details["O-1"] = b2b_order()
    run("orders", "import", app)

    order = run.json("orders", "show", "O-1")
    [line] = order["lines"]
    assert {k: line[k] for k in ("unit_price", "subtotal", "tax", "shipping", "shipping_tax", "discount", "total")} == {
        "unit_price": "49.99",
        "subtotal": "99.98",
        "tax": "8.98",
        "shipping": "4.99",
        "shipping_tax": "0.40",
        "discount": "5.00",
        "total": "108.95",
    }
    assert "line_total" not in line
    assert (order["total"], order["currency"]) == ("108.95", "EUR")

    text = run("orders", "show", "O-1").stdout
    assert "2 x MUG-01 Mug @ 49.99 = 99.98, tax 8.98, shipping 4.99, discount 5.00, total 108.95" in text


def test_what_the_marketplace_does_not_say_is_null_and_zero_stays_zero(run, app, market):
    market.add_order("O-1")
    market.details["O-1"] = {
        "total": None,
        "lines": [
            OrderLine(line_id="1", sku="MUG-01", quantity_ordered=1, unit_price=Decimal("9.99"), tax=Decimal("0"))
        ],
    }
    run("orders", "import", app)
    [line] = run.json("orders", "show", "O-1")["lines"]
    assert (line["subtotal"], line["shipping"], line["discount"], line["total"]) == (None,) * 4
    assert line["tax"] == "0"
    assert "total -" in run("orders", "show", "O-1").stdout


def test_a_b2b_replacement_order_shows_its_po_number_own_id_programs_and_original(run, app, market):
    market.add_order("O-1")
    market.details["O-1"] = b2b_order()
    run("orders", "import", app)

    order = run.json("orders", "show", "O-1")
    assert order["seller_order_id"] == "MY-0042"
    assert order["programs"] == ["PRIME", "BUSINESS"]
    assert (order["original_order_id"], order["original_order_relation"]) == ("O-0", "replacement")
    assert order["buyer"]["purchase_order_number"] == "PO-2026-7"
    assert {k: order["recipient"][k] for k in ("district", "municipality", "address_type")} == {
        "district": "West Yorkshire",
        "municipality": "Leeds",
        "address_type": "commercial",
    }
    [listed] = run.json("orders", "list")
    assert listed["seller_order_id"] == "MY-0042"

    text = run("orders", "show", "O-1").stdout
    assert "seller order id MY-0042; original order O-0 (replacement); PO PO-2026-7; programs PRIME, BUSINESS" in text


def test_an_order_updated_at_the_marketplace_gets_its_new_details(run, app, market):
    market.add_order("O-1", updated=1)
    market.details["O-1"] = b2b_order()
    run("orders", "import", app)
    market.add_order("O-1", status="SHIPPED", updated=2)
    market.details["O-1"] = {**b2b_order(), "programs": ["PRIME"], "seller_order_id": None}
    run("orders", "import", app)
    order = run.json("orders", "show", "O-1")
    assert order["programs"] == ["PRIME"] and order["seller_order_id"] is None


def test_a_discount_is_a_positive_number_so_a_plugin_cannot_hand_over_a_negative_one():
    with pytest.raises(ValidationError, match="discount"):
        OrderLine.model_validate({"line_id": "1", "quantity_ordered": 1, "discount": "-5.00"})
    assert OrderLine(line_id="1", quantity_ordered=1, discount=Decimal("5.00")).discount == Decimal("5.00")


@pytest.mark.sqlite_only("a SQLite database from an older version, migrated")
def test_lines_imported_before_the_money_fields_keep_their_subtotal_and_no_total_of_another_meaning(home, clock):
    """Upgrading keeps old lines readable: line_total meant proceeds or unit x quantity, so it becomes no total."""
    home.mkdir(parents=True)
    conn = sqlite3.connect(str(home / store.DB_FILE))
    old = store.HostDatabase(conn)
    store.migrations.apply(old, stop_before="m004_order_line_money")
    old.execute(
        "INSERT INTO apps (id, name, name_key, kind, settings, status) "
        "VALUES (1, 'Shop EU', 'shop eu', 'testmarket', '{\"region\": \"EU\"}', 'authorized')"
    )
    old.execute(
        "INSERT INTO orders (id, app_id, marketplace_order_id, marketplace, status, marketplace_status, "
        "fulfilled_by, created_at, updated_at, currency, total, line_count) VALUES "
        "(1, 1, 'O-OLD', 'EU', 'shipped', 'SHIPPED', 'merchant', '2026-01-01T00:00:00+00:00', "
        "'2026-01-01T00:00:00+00:00', 'USD', '100.00', 1)"
    )
    old.execute(
        "INSERT INTO order_lines (order_id, line_id, sku, quantity_ordered, quantity_shipped, unit_price, "
        "line_total) VALUES (1, '1', 'ECHO', 2, 2, '49.99', '100.00')"
    )
    conn.commit()
    conn.close()

    with Host(home, clock=clock, extra_plugins=[testmarket]) as host:
        order = Run(host).json("orders", "show", "O-OLD")
    [line] = order["lines"]
    assert line["subtotal"] == "99.98"
    assert line["total"] is None and "line_total" not in line
    assert order["total"] == "100.00" and order["programs"] == []


@pytest.mark.parametrize("model", [Order, OrderLine, Buyer, Address])
def test_every_order_field_is_in_the_plugin_authors_models_table(model):
    [row] = [line for line in DOC.splitlines() if line.startswith(f"| `{model.__name__}` |")]
    named = set(re.findall(r"`([a-z_0-9]+)`", row))
    if model is Address:
        named |= {"line1", "line2", "line3"}  # written as `line1`–`line3`
    missing = set(model.model_fields) - named
    assert not missing, f"docs/plugin-hooks.md does not list {model.__name__}.{', '.join(sorted(missing))}"


@pytest.mark.parametrize("field", ["unit_price", "subtotal", "tax", "shipping", "shipping_tax", "discount", "total"])
def test_every_line_amount_has_its_meaning_written_for_plugin_authors(field):
    assert f"| `OrderLine.{field}` |" in DOC
