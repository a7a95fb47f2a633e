"""bol and the stock loop: the amount sent with ``managedByRetailer: true`` is what can be sold, and bol takes off
only orders placed after it (its ``correctedStock``); once such an order is imported it reserves, and what bol
offers stays what is left, never less and never more. Against the simulator, every request held to bol's spec."""

from __future__ import annotations


def offered(sim, reference: str) -> int:
    return sim.offer_truth()[reference]["corrected"]


def test_an_order_placed_after_the_update_is_taken_off_once_by_bol_and_once_by_linkolis_never_twice(
    run, sim, clock, authorized
):
    run("orders", "import", "bol NL")  # what was ordered before: reserved from the start
    merchant = sorted(ref for ref, o in sim.offer_truth().items() if not o["fbb"])
    for reference in merchant:
        run("stock", "set", reference, "20")
    run("stock", "push", "bol NL")
    clock.advance(60)
    before = {r["sku"]: r["available"] for r in run.json("stock", "list") if r["sku"] in merchant}
    assert {ref: offered(sim, ref) for ref in merchant} == before, "bol offers what linkolis sent"

    reference = merchant[0]
    [item] = sim.add_order(reference=reference, quantity=2).items
    assert offered(sim, reference) == before[reference] - item.quantity, "bol took the new order off at once"

    clock.advance(120)
    run("orders", "import", "bol NL")
    [row] = [r for r in run.json("stock", "list") if r["sku"] == reference]
    assert row["available"] == before[reference] - item.quantity, "linkolis reserves it too"
    pushed = run.json("stock", "push", "bol NL")
    assert pushed["sent"] == 0, "bol already shows what is left: nothing to send it"
    clock.advance(60)
    assert offered(sim, reference) == row["available"], "taken off once, not twice"
