"""A seller ships Amazon orders: tracking numbers reach Amazon through confirmShipment, once each, in Amazon's words.

Every request is checked against the v0 model by the conftest's transport; the simulator checks its answers too.
"""

from __future__ import annotations

import linkolis_amazon.plugin
import pytest
from linkolis_amazon import shipments as amazon_shipments

from linkolis_host.testing import samples


def settle(clock):
    clock.advance(600)  # past Amazon's two-minute rule, so the import sees the new orders


@pytest.fixture
def orders(sim, clock, run, authorized):
    """Three unshipped DE orders, imported: one mug, two mugs and a lamp, one more mug."""
    sim.add_listing("MUG-01", ["DE"], 50)
    sim.add_listing("LAMP-2", ["DE"], 50)
    ids = [
        sim.add_order([("MUG-01", 1)], "DE", status="UNSHIPPED"),
        sim.add_order([("MUG-01", 2), ("LAMP-2", 1)], "DE", status="UNSHIPPED"),
        sim.add_order([("MUG-01", 1)], "DE", status="UNSHIPPED"),
    ]
    settle(clock)
    run("orders", "import")
    return ids


def truth(sim, order_id=None):
    return [t for t in sim.shipments_truth() if order_id is None or t["orderId"] == order_id]


def test_a_shipment_reaches_amazon_as_the_v0_model_has_it(sim, clock, run, wire, orders):
    first = orders[0]
    run("orders", "ship", first, "--carrier", "PostNL", "--tracking", "3SABC123456", "--method", "Standaard")
    pushed = run.json("shipments", "push")
    assert (pushed["sent"], pushed["accepted"]) == (1, 1)
    [package] = truth(sim)
    assert (
        package["orderId"],
        package["packageReferenceId"],
        package["carrierCode"],
        package["carrierName"],
        package["trackingNumber"],
        package["shippingMethod"],
    ) == (first, "1", "PostNL", None, "3SABC123456", "Standaard")
    [confirm] = [r for r in wire.requests if r.url.path.endswith("/shipmentConfirmation")]
    assert confirm.method == "POST"
    assert run.json("orders", "show", first)["status"] == "shipped"
    settle(clock)
    run("orders", "import")  # what Amazon says afterwards agrees
    order = run.json("orders", "show", first)
    assert order["marketplace_status"] == "SHIPPED" and order["lines"][0]["quantity_shipped"] == 1


@pytest.mark.parametrize(
    "seller_typed, code, name",
    [
        ("DHL", "DHL", None),
        ("dpd", "DPD", None),
        ("PostNL", "PostNL", None),
        ("UPS", "UPS", None),
        ("GLS", "GLS", None),
        ("DHL Parcel NL", "Other", "DHL Parcel NL"),
        ("Deutsche Post", "Deutsche Post", None),
        ("Hermes", "Hermes", None),
        ("Royal Mail", "Royal Mail", None),
        ("Colissimo", "Colissimo", None),
        ("Correos", "Correos", None),
        ("Poste Italiane", "Poste Italiane", None),
        ("Bpost", "BPOST", None),
        ("Bode Koeriers", "Other", "Bode Koeriers"),
    ],
)
def test_carriers_are_sent_with_amazons_codes_or_as_other_by_name(seller_typed, code, name):
    shipment = samples.shipment(
        "028-0000000-0000000", carrier_code=seller_typed, carrier_name=None if code != "Other" else seller_typed
    )
    expected = {"carrierCode": code, **({"carrierName": name} if name else {})}
    assert amazon_shipments.carrier_fields(shipment) == expected


def test_the_web_form_offers_amazons_carriers(host):
    names = [c.name for c in host.registry.kind("amazon").carriers]
    for carrier in (
        "DHL",
        "DPD",
        "PostNL",
        "UPS",
        "GLS",
        "DHL Parcel NL",
        "Deutsche Post",
        "Hermes",
        "Royal Mail",
        "Colissimo",
        "Correos",
        "Poste Italiane",
        "Bpost",
    ):
        assert carrier in names


def test_partial_shipments_move_the_order_to_partially_shipped_then_shipped(sim, clock, run, orders):
    second = orders[1]
    items = [line["line_id"] for line in run.json("orders", "show", second)["lines"]]
    run("orders", "ship", second, "--carrier", "DHL", "--tracking", "P-1", "--line", "MUG-01=1")
    run("shipments", "push")
    assert (
        sim.orders_truth()[0]
        and next(o for o in sim.orders_truth() if o["orderId"] == second)["status"] == "PARTIALLY_SHIPPED"
    )
    run("orders", "ship", second, "--carrier", "DHL", "--tracking", "P-2")
    run("shipments", "push")
    packages = truth(sim, second)
    assert [(p["packageReferenceId"], p["items"]) for p in packages] == [
        ("1", [{"orderItemId": items[0], "quantity": 1}]),
        ("2", [{"orderItemId": items[0], "quantity": 1}, {"orderItemId": items[1], "quantity": 1}]),
    ]
    assert next(o for o in sim.orders_truth() if o["orderId"] == second)["status"] == "SHIPPED"


def test_amazons_refusals_become_clear_outcomes(sim, clock, run, host, orders):
    first, second, third = orders
    run("orders", "ship", first, "--carrier", "DHL", "--tracking", "C-1")
    run("orders", "ship", second, "--carrier", "DHL", "--tracking", "S-1", "--line", "LAMP-2=1")
    run("orders", "ship", third, "--carrier", "DHL", "--tracking", "X-1")
    sim.advance_order(first, "CANCELLED")  # the buyer cancelled; linkolis has not imported it yet
    # Someone shipped the lamp in Seller Central meanwhile, and the third order's item id is not what we think.
    lamp = [line["line_id"] for line in run.json("orders", "show", second)["lines"]][1]
    sim_order = sim.orders.by_id[second]
    sim_order.packages = [_package(lamp)]
    with host.db.atomic():
        host.db.execute(
            "UPDATE shipments SET lines = ? WHERE marketplace_order_id = ?", ('[["99999999999999",1]]', third)
        )
    pushed = run.json("shipments", "push")
    messages = " | ".join(pushed["messages"])
    assert pushed["rejected"] == 3, messages
    assert f"order {first} was cancelled at Amazon meanwhile: do not ship it" in messages
    assert f"order {second}: 1 of item {lamp} but only 0 is left to ship" in messages
    assert f"order {third} has no item 99999999999999 at Amazon" in messages
    assert {r["retryable"] for r in run.json("shipments", "list")} == {False}


def _package(item_id):
    from linkolis_amazon.simulator.orders import ShippedPackage

    return ShippedPackage("7", 1_780_000_000, 1_780_000_000, "DHL", "ELSEWHERE", [(item_id, 1)], confirmed=True)


def test_an_fba_order_is_refused_before_any_call(sim, clock, run, wire, authorized, host):
    from linkolis_host import installed

    shipment = samples.shipment("028-1111111-1111111", fulfilled_by="marketplace")

    app = installed.get(host, authorized)
    before = len(wire.requests)
    with installed.run(host, app) as ctx:
        [outcome] = list(amazon_shipments.confirm(ctx, [shipment]))
    assert outcome.status == "rejected" and "fulfilled by Amazon (FBA)" in outcome.message
    assert len(wire.requests) == before


def test_a_package_sent_again_after_a_crash_is_accepted_not_confirmed_twice(sim, run, host, orders):
    first, second, _ = orders
    run("orders", "ship", first, "--carrier", "DHL", "--tracking", "K-1")
    run("orders", "ship", second, "--carrier", "DHL", "--tracking", "K-2", "--line", "MUG-01=1")
    run("shipments", "push")
    with host.db.atomic():  # as a run killed after Amazon took them, before linkolis recorded it, leaves them
        host.db.execute("UPDATE shipments SET status = 'sending'")
    again = run.json("shipments", "push")
    # The first order is Shipped now ("already Shipped"), the second PartiallyShipped ("packageReferenceId 1 is
    # already used"): both are this very package at Amazon, so both are accepted.
    assert (again["sent"], again["accepted"], again["rejected"]) == (2, 2, 0), again["messages"]
    assert sorted((t["orderId"], t["trackingNumber"]) for t in truth(sim)) == sorted([(first, "K-1"), (second, "K-2")])


def test_the_reused_reference_refusal_is_matched_exactly():
    assert amazon_shipments.REUSED_REFERENCE.match(
        "packageReferenceId 1 is already used by a package of order 028-1234567-1234567."
    )
    assert not amazon_shipments.REUSED_REFERENCE.match("packageReferenceId 1 is invalid.")


def test_the_amazon_plugin_keeps_the_shipments_contract(sim, clock, conformance):
    from linkolis_host import apps

    sim.add_listing("MUG-01", ["DE"], 50)
    order = sim.add_order([("MUG-01", 1)], "DE", status="UNSHIPPED")
    clock.advance(600)
    conformance(
        linkolis_amazon.plugin,
        install={"name": "Amazon DE", "marketplace": "DE"},
        authorize=lambda h, name: apps.authorize_direct(
            h, name, {"refresh_token": sim.authorize(), "selling_partner_id": sim.default_seller_id}
        ),
        shipments=[{"order": order, "carrier": "DHL", "tracking": "CONF-1"}],
    )
    assert [t["trackingNumber"] for t in truth(sim, order)] == ["CONF-1"]


def test_a_resent_package_is_recognised_whatever_words_amazon_refuses_it_with(sim, run, host, orders, monkeypatch):
    second = orders[1]
    run("orders", "ship", second, "--carrier", "DHL", "--tracking", "W-1", "--line", "MUG-01=1")
    run("shipments", "push")
    with host.db.atomic():
        host.db.execute("UPDATE shipments SET status = 'sending'")
    # As if Amazon worded the reused-reference refusal differently from the simulator.
    monkeypatch.setattr(amazon_shipments, "REUSED_REFERENCE", amazon_shipments.re.compile(r"^never$"))
    again = run.json("shipments", "push")
    assert again["accepted"] == 1, again["messages"]
    assert len(truth(sim, second)) == 1
