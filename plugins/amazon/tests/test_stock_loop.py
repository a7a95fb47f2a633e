"""Orders and stock as one loop, on Amazon DE and Amazon NL of one seller account: an order on one marketplace lowers
what the other is offered once it is imported, a shipment keeps both right, a cancellation gives the units back, and
re-importing moves nothing twice. Through the CLI, against the simulator, every request checked against Amazon's
model."""

from __future__ import annotations

import pytest

DE, NL = "A1PA6795UKMFR9", "A1805IZSGTT6HS"
SELLER = "A1SIMSELLER001"
SKU = "LOOP-MUG"


@pytest.fixture
def two_marketplaces(run, seller, sim):
    """Amazon DE and Amazon NL of the seller's one account, both with stock sync on, and a mug listed in both."""
    for name, market in (("Amazon DE", "DE"), ("Amazon NL", "NL")):
        run("apps", "install", "amazon", "--name", name, "--marketplace", market, "--stock-sync")
        run("apps", "authorize", name)
    sim.add_listing(SKU, ["DE", "NL"], quantity=0)
    return "Amazon DE", "Amazon NL"


def offered_on_amazon(sim) -> dict[str, int]:
    truth = sim.stock_truth()[SELLER][SKU]
    return {"DE": truth[DE]["quantity"], "NL": truth[NL]["quantity"]}


def level(run) -> dict:
    rows = [r for r in run.json("stock", "list") if r["sku"] == SKU]
    assert {r["on_hand"] for r in rows} == {rows[0]["on_hand"]}  # one SKU, the same on hand for every app
    return {"on_hand": rows[0]["on_hand"], "reserved": rows[0]["reserved"], **{r["app"]: r["available"] for r in rows}}


def imported(run, clock, app):
    """Import once Amazon lists the order: searchOrders answers only for changes at least two minutes old."""
    clock.advance(180)
    run("orders", "import", app)


def push(run, clock):
    run("stock", "push")
    clock.advance(60)  # Amazon shows an accepted quantity once it has processed it


def test_an_order_on_one_marketplace_lowers_the_other_and_shipping_and_cancelling_keep_both_right(
    run, two_marketplaces, sim, clock
):
    run("stock", "set", SKU, "5")
    push(run, clock)
    assert offered_on_amazon(sim) == {"DE": 5, "NL": 5}

    ordered = sim.add_order([(SKU, 2)], "DE")  # Amazon DE lowers its own quantity at once
    assert offered_on_amazon(sim) == {"DE": 3, "NL": 5}, "NL offers 5 of which only 3 exist: the oversell"
    imported(run, clock, "Amazon DE")
    assert level(run) == {"on_hand": 5, "reserved": 2, "Amazon DE": 3, "Amazon NL": 3}
    push(run, clock)
    assert offered_on_amazon(sim) == {"DE": 3, "NL": 3}

    sim.advance_order(ordered, "UNSHIPPED")  # paid: from pending (which reserves too) to unshipped
    imported(run, clock, "Amazon DE")  # again, and an overlapping window: nothing moves twice
    imported(run, clock, "Amazon DE")
    assert level(run)["reserved"] == 2

    run("orders", "ship", ordered, "--carrier", "DHL", "--tracking", "JJD000111")
    assert level(run) == {"on_hand": 3, "reserved": 0, "Amazon DE": 3, "Amazon NL": 3}
    run("shipments", "push")
    sim.advance_order(ordered, "SHIPPED")
    imported(run, clock, "Amazon DE")  # Amazon says shipped too: the units are not taken off again
    assert level(run) == {"on_hand": 3, "reserved": 0, "Amazon DE": 3, "Amazon NL": 3}

    later = sim.add_order([(SKU, 1)], "NL")
    imported(run, clock, "Amazon NL")
    assert level(run) == {"on_hand": 3, "reserved": 1, "Amazon DE": 2, "Amazon NL": 2}
    push(run, clock)
    assert offered_on_amazon(sim) == {"DE": 2, "NL": 2}

    sim.advance_order(later, "CANCELLED")
    assert offered_on_amazon(sim) == {"DE": 2, "NL": 3}, "a buyer's cancellation gives Amazon NL its unit back"
    imported(run, clock, "Amazon NL")
    assert level(run) == {"on_hand": 3, "reserved": 0, "Amazon DE": 3, "Amazon NL": 3}
    push(run, clock)
    assert offered_on_amazon(sim) == {"DE": 3, "NL": 3}

    shown = run.json("stock", "show", SKU, "--no-read")
    causes = [(h["cause"], h["on_hand_change"], h["reserved_change"]) for h in reversed(shown["history"])]
    assert causes == [
        ("counted", 5, 0),
        ("reserved", 0, 2),
        ("shipped", -2, -2),
        ("reserved", 0, 1),
        ("released", 0, -1),
    ]
    assert [h["order_ref"] for h in reversed(shown["history"])][1:] == [ordered, ordered, later, later]


def test_a_buffer_keeps_units_back_from_one_app_and_a_cap_limits_what_it_is_offered(run, two_marketplaces, sim, clock):
    run("stock", "set", SKU, "10")
    run("apps", "configure", "Amazon DE", "--stock-buffer", "2")
    run("apps", "configure", "Amazon NL", "--stock-max", "4")
    push(run, clock)
    assert offered_on_amazon(sim) == {"DE": 8, "NL": 4}
    assert level(run) == {"on_hand": 10, "reserved": 0, "Amazon DE": 8, "Amazon NL": 4}

    run("apps", "configure", "Amazon NL", "--stock-max", "none")
    push(run, clock)
    assert offered_on_amazon(sim) == {"DE": 8, "NL": 10}


def test_verify_does_not_take_amazons_own_lowering_for_drift(run, two_marketplaces, sim, clock):
    run("stock", "set", SKU, "5")
    push(run, clock)
    clock.advance(900)  # past Amazon's publication delay: what it shows is what it took
    sim.add_order([(SKU, 2)], "DE")
    report = run.json("stock", "verify", "Amazon DE")
    [entry] = [e for e in report["Amazon DE"] if e["sku"] == SKU]
    assert (entry["state"], entry["available"], entry["shown"]) == ("lowered by the marketplace", 5, 3)


def test_an_order_the_seller_cancels_for_lack_of_stock_gives_amazon_nothing_back(run, two_marketplaces, sim, clock):
    run("stock", "set", SKU, "4")
    push(run, clock)
    ordered = sim.add_order([(SKU, 2)], "DE")
    sim.cancel_in_seller_central(ordered, "NO_INVENTORY")  # Amazon keeps the quantity it lowered: 2
    assert offered_on_amazon(sim) == {"DE": 2, "NL": 4}
    imported(run, clock, "Amazon DE")
    assert level(run) == {"on_hand": 4, "reserved": 0, "Amazon DE": 4, "Amazon NL": 4}
    push(run, clock)
    assert offered_on_amazon(sim) == {"DE": 4, "NL": 4}, "the host's quantity puts it right"
