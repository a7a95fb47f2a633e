"""A seller ships bol orders: `POST /retailer/shipments` with bol's transporter codes, followed to the process
status, once each; bol's refusals in its own words. Every request is checked against bol's spec (conftest)."""

from __future__ import annotations

import linkolis_bol.plugin
import pytest
from linkolis_bol import shipments as bol_shipments
from linkolis_bol.simulator import Simulator

from linkolis_host import Shipment, VirtualClock, apps, installed
from linkolis_host.host import Host
from linkolis_host.testing import assert_conformance

ENDPOINT = "https://bol.sim.test"
START = 1_780_000_000.0


def _open_merchant_order(sim):
    """A new FBR order bol waits for the seller to ship, every item open."""
    order = sim.add_order(fbb=False)
    for item in order.items:
        item.quantity_cancelled = item.quantity_shipped = 0
    return order


@pytest.fixture
def order(sim, run, authorized):
    order = _open_merchant_order(sim)
    run("orders", "import", "bol NL")
    return order


def _posts(wire):
    return [r for r in wire.requests if r.method == "POST" and r.url.path.endswith("/retailer/shipments")]


def test_a_shipment_reaches_bol_after_its_process_status_and_only_once(sim, run, wire, order):
    run("orders", "ship", order.order_id, "--carrier", "TNT", "--tracking", "3SABC123")
    pushed = run.json("shipments", "push")
    assert (pushed["sent"], pushed["accepted"]) == (1, 1), pushed["messages"]
    [shipment] = sim.shipments_truth()
    assert (shipment["orderId"], shipment["transporterCode"], shipment["trackAndTrace"]) == (
        order.order_id,
        "TNT",
        "3SABC123",
    )
    assert shipment["items"] == [{"orderItemId": i.order_item_id, "quantity": i.quantity} for i in order.items]
    assert len(_posts(wire)) == 1
    assert any("/shared/process-status/" in r.url.path for r in wire.requests)
    assert run.json("orders", "show", order.order_id)["status"] == "shipped"
    assert run.json("shipments", "push")["sent"] == 0
    assert len(sim.shipments_truth()) == 1


def test_a_shipment_bol_is_still_processing_is_pending_then_accepted_without_a_second_post(
    sim, run, wire, clock, order
):
    sim.process_seconds = 600  # bol takes ten minutes over it
    run("orders", "ship", order.order_id, "--carrier", "PostNL", "--tracking", "3SSLOW1")
    first = run.json("shipments", "push")
    assert (first["accepted"], first["pending"]) == (0, 1), first["messages"]
    clock.advance(900)
    again = run.json("shipments", "push")
    assert again["accepted"] == 1, again["messages"]
    assert len(_posts(wire)) == 1
    [shipment] = sim.shipments_truth()
    assert shipment["transporterCode"] == "TNT"  # PostNL is TNT at bol


def test_an_fbb_order_is_refused_before_any_call(sim, run, wire, host, authorized):
    shipment = Shipment(
        marketplace_order_id="A000000999",
        package_reference="1",
        lines=[("00009991", 1)],
        carrier_code="TNT",
        tracking_number="3SFBB1",
        ship_date="2026-05-28T10:00:00Z",
        fulfilled_by="marketplace",
    )
    before = len(wire.requests)
    with installed.run(host, installed.get(host, authorized)) as ctx:
        [outcome] = list(bol_shipments.push(ctx, [shipment]))
    assert outcome.status == "rejected" and "fulfilled by bol (FBB)" in outcome.message
    assert len(wire.requests) == before


def test_an_fbb_order_cannot_even_be_recorded_as_shipped(sim, run, authorized):
    fbb = sim.add_order(fbb=True)
    run("orders", "import", "bol NL")
    result = run("orders", "ship", fbb.order_id, "--carrier", "TNT", "--tracking", "3SFBB2", code=1)
    assert "fulfilled by the marketplace" in result.stderr
    assert sim.shipments_truth() == []


def test_items_shipped_elsewhere_meanwhile_are_refused_by_bol_as_over_shipping(sim, run, order):
    run("orders", "ship", order.order_id, "--carrier", "DHL", "--tracking", "JVGL0001")
    item = order.items[0]
    item.quantity_shipped = item.quantity  # the seller shipped it in the Seller Portal; not imported yet
    pushed = run.json("shipments", "push")
    assert pushed["rejected"] == 1
    [message] = pushed["messages"]
    assert f"order {order.order_id}" in message and f"order item {item.order_item_id} exceeds the 0 open" in message
    assert sim.shipments_truth() == []
    assert {r["retryable"] for r in run.json("shipments", "list")} == {False}


def test_an_order_cancelled_meanwhile_is_refused_by_bol(sim, run, order):
    run("orders", "ship", order.order_id, "--carrier", "DPD-NL", "--tracking", "0534001")
    for item in order.items:
        item.quantity_cancelled = item.quantity  # the buyer cancelled; linkolis has not imported it yet
    pushed = run.json("shipments", "push")
    assert pushed["rejected"] == 1 and "is cancelled" in pushed["messages"][0]
    assert sim.shipments_truth() == []


def test_over_shipping_is_refused_by_the_host_before_bol_is_asked(sim, run, wire, order):
    item = order.items[0]
    result = run(
        "orders",
        "ship",
        order.order_id,
        "--carrier",
        "TNT",
        "--tracking",
        "3SMANY",
        "--line",
        f"{item.order_item_id}={item.quantity + 1}",
        code=1,
    )
    assert "left" in result.stderr
    assert _posts(wire) == []


@pytest.mark.parametrize(
    "seller_typed, code",
    [
        ("TNT", "TNT"),
        ("PostNL", "TNT"),
        ("dhl", "DHL"),
        ("DPD-NL", "DPD-NL"),
        ("DPD", "DPD-NL"),
        ("DPD-BE", "DPD-BE"),
        ("bpost", "BPOST_BE"),
        ("BPOST_BE", "BPOST_BE"),
        ("GLS", "GLS"),
        ("UPS", "UPS"),
        ("Bode Koeriers", "OTHER"),
    ],
)
def test_carriers_are_sent_with_bols_transporter_codes_or_as_other(seller_typed, code):
    shipment = Shipment(
        marketplace_order_id="A1",
        package_reference="1",
        lines=[("1", 1)],
        carrier_code=seller_typed,
        tracking_number="T",
        ship_date="2026-05-28T10:00:00Z",
    )
    assert bol_shipments.body_of(shipment)["transport"] == {"transporterCode": code, "trackAndTrace": "T"}


def test_the_seller_picks_from_bols_transporters(host):
    codes = {c.code: c.name for c in host.registry.kind("bol").carriers}
    for code in ("TNT", "DHL", "DPD-NL", "DPD-BE", "BPOST_BE", "GLS", "UPS"):
        assert code in codes
    assert codes["TNT"] == "PostNL"


def test_the_simulator_refuses_a_transporter_bol_does_not_know(sim, run, host, authorized, monkeypatch):
    order = _open_merchant_order(sim)
    shipment = Shipment(
        marketplace_order_id=order.order_id,
        package_reference="1",
        lines=[(order.items[0].order_item_id, 1)],
        carrier_code="TNT",
        tracking_number="3SX",
        ship_date="2026-05-28T10:00:00Z",
    )
    monkeypatch.setattr(bol_shipments, "transporter_code", lambda s: "POSTDUIF")
    with installed.run(host, installed.get(host, authorized)) as ctx:
        [outcome] = list(bol_shipments.push(ctx, [shipment]))
    assert outcome.status == "rejected" and "Transporter code POSTDUIF is not valid" in outcome.message
    assert sim.shipments_truth() == []


def test_the_bol_plugin_keeps_the_shipments_contract():
    clock = VirtualClock(START)
    sim = Simulator(clock, orders=10, offers=12, order_window_days=3, validate_responses=True)
    wire = sim.checked_transport()
    order = _open_merchant_order(sim)
    assert_conformance(
        linkolis_bol.plugin,
        authorize=lambda host, name: apps.authorize_direct(
            host, name, {"client_id": sim.client_id, "client_secret": sim.client_secret}
        ),
        host_factory=lambda home, plugins: Host(
            home, clock=clock, extra_plugins=plugins, transport=wire, env={"LINKOLIS_BOL_ENDPOINT": ENDPOINT}
        ),
        shipments=[{"order": order.order_id, "carrier": "TNT", "tracking": "3SCONF1"}],
    )
    assert not wire.problems, wire.problems
    assert [s["trackAndTrace"] for s in sim.shipments_truth()] == ["3SCONF1"]


# -- a push that dies between bol's 202 and the plugin's record of it ------------------------------------------


def test_a_shipment_whose_202_was_lost_is_found_at_bol_and_not_posted_again(sim, run, wire, order):
    sim.process_seconds = 0  # bol makes the shipment at once
    sim.faults.add(operation="create-shipment", kind="lost-answer")  # bol makes it; the answer never arrives
    run("orders", "ship", order.order_id, "--carrier", "TNT", "--tracking", "3SLOST1")
    first = run.json("shipments", "push")
    assert first["accepted"] == 0 and "bol is asked whether it has the shipment" in first["messages"][0]
    assert len(sim.shipments_truth()) == 1  # bol has it, linkolis does not know
    again = run.json("shipments", "push")
    assert again["accepted"] == 1, again["messages"]
    assert len(_posts(wire)) == 1
    assert [
        r.url.params["order-id"] for r in wire.requests if r.method == "GET" and r.url.path.endswith("/shipments")
    ] == [order.order_id]
    [shipment] = sim.shipments_truth()
    assert shipment["trackAndTrace"] == "3SLOST1"
    assert run.json("orders", "show", order.order_id)["status"] == "shipped"


def test_a_lost_202_bol_is_still_processing_is_followed_by_its_process_status(sim, run, wire, clock, order):
    sim.process_seconds = 600
    sim.faults.add(operation="create-shipment", kind="lost-answer")
    run("orders", "ship", order.order_id, "--carrier", "TNT", "--tracking", "3SLOST2")
    run.json("shipments", "push")
    assert sim.shipments_truth() == []  # not made yet: bol is processing it
    again = run.json("shipments", "push")
    assert (again["accepted"], again["pending"]) == (0, 1), again["messages"]
    assert any("/shared/process-status" == r.url.path for r in wire.requests)  # found by order item
    clock.advance(900)
    done = run.json("shipments", "push")
    assert done["accepted"] == 1, done["messages"]
    assert len(_posts(wire)) == 1
    assert len(sim.shipments_truth()) == 1


def test_a_push_killed_after_bols_202_finds_the_shipment_on_the_next_run(sim, run, wire, host, order, monkeypatch):
    from linkolis_host import shipments
    from linkolis_host.context import StateStore

    real_set = StateStore.set

    def killed_after_202(self, key, value, **kwargs):
        if key.startswith(bol_shipments.STATE_PREFIX) and "pid" in value:
            raise SystemExit("killed")  # the process dies with bol's 202 in hand, before it is recorded
        return real_set(self, key, value, **kwargs)

    run("orders", "ship", order.order_id, "--carrier", "DHL", "--tracking", "JVGLKILL1")
    monkeypatch.setattr(StateStore, "set", killed_after_202)
    with pytest.raises(SystemExit):
        shipments.push_shipments(host, "bol NL")
    monkeypatch.setattr(StateStore, "set", real_set)
    assert len(_posts(wire)) == 1
    assert [r["status"] for r in run.json("shipments", "list")] == ["sending"]

    again = run.json("shipments", "push")  # the next run, e.g. the scheduler's
    assert again["accepted"] == 1, again["messages"]
    assert len(_posts(wire)) == 1
    [shipment] = sim.shipments_truth()
    assert shipment["trackAndTrace"] == "JVGLKILL1"


def test_a_shipment_bol_never_received_is_posted_after_asking(sim, run, wire, order):
    sim.faults.add(operation="create-shipment", kind="disconnect")  # dropped before bol did anything
    run("orders", "ship", order.order_id, "--carrier", "TNT", "--tracking", "3SNEVER")
    run.json("shipments", "push")
    assert sim.shipments_truth() == []
    again = run.json("shipments", "push")
    assert again["accepted"] == 1, again["messages"]
    assert len(_posts(wire)) == 2
    assert len(sim.shipments_truth()) == 1


def test_a_process_status_bol_forgot_is_not_taken_for_a_lost_shipment(sim, run, wire, clock, order):
    sim.process_seconds = 600
    run("orders", "ship", order.order_id, "--carrier", "TNT", "--tracking", "3SFORGOT")
    assert run.json("shipments", "push")["pending"] == 1
    clock.advance(900)
    sim.shipments_truth()  # bol makes the shipment ...
    sim.processes.clear()  # ... and, later, forgets its process status
    forgotten = run.json("shipments", "push")
    assert forgotten["accepted"] == 0 and "no longer knows" in forgotten["messages"][0]
    again = run.json("shipments", "push")
    assert again["accepted"] == 1, again["messages"]
    assert len(_posts(wire)) == 1 and len(sim.shipments_truth()) == 1
