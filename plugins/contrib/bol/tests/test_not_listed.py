"""A seller who also sells on Amazon: bol is pushed only its own offers, and a SKU bol knows by its EAN is mapped."""

from __future__ import annotations


def _rows(run):
    return {r["sku"]: r for r in run.json("stock", "list", "--app", "bol NL")}


def test_skus_bol_has_no_offer_for_are_not_listed_here_and_do_not_make_bol_export_again(run, sim, clock, authorized):
    sku = sorted(ref for ref, o in sim.offer_truth().items() if not o["fbb"])[0]
    run("stock", "set", sku, "2")
    run("stock", "set", "AMZ-ONLY-1", "5")
    pushed = run.json("stock", "push", "bol NL")
    assert (pushed["accepted"], pushed["not_listed"], pushed["rejected"]) == (1, 1, 0)
    assert _rows(run)["AMZ-ONLY-1"]["outcome"] == "not listed here"
    exports = sim.counters["get-offer-export"]
    clock.advance(2 * 3600)  # the offer map is old enough that a SKU missing from it would be looked for again
    run("stock", "set", "AMZ-ONLY-1", "4")
    assert run.json("stock", "push", "bol NL")["sent"] == 0
    assert sim.counters["get-offer-export"] == exports


def test_a_sku_mapped_to_an_offers_ean_updates_that_offer(run, sim, authorized):
    offer = next(o for o in sim.offers if not o.fbb)
    run("stock", "set", "MY-OWN-CODE", "7")
    run("stock", "map", "MY-OWN-CODE", "--app", "bol NL", "--reference", offer.ean)
    assert run.json("stock", "push", "bol NL")["accepted"] == 1
    assert offer.stock == 7
    row = _rows(run)["MY-OWN-CODE"]
    assert (row["outcome"], row["pushed_quantity"], row["marketplace_reference"]) == ("accepted", 7, offer.ean)
