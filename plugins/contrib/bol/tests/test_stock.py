"""Stock to bol: offer ids from the offer export, PUT per offer, process statuses followed to the end."""

from __future__ import annotations

import pytest


def _merchant(sim):
    return sorted(ref for ref, o in sim.offer_truth().items() if not o["fbb"])


def _rows(run):
    return {r["sku"]: r for r in run.json("stock", "list", "--app", "bol NL")}


def test_bol_refusing_an_update_is_a_rejection_with_bols_message(run, sim, authorized):
    good, bad = _merchant(sim)[:2]
    next(o for o in sim.offers if o.reference == bad).refuses_stock = True
    run("stock", "set", good, "4")
    run("stock", "set", bad, "6")
    pushed = run.json("stock", "push", "bol NL", code=1)
    assert (pushed["accepted"], pushed["rejected"]) == (1, 1)
    rows = _rows(run)
    assert rows[bad]["outcome"] == "rejected" and "could not be processed" in rows[bad]["message"]
    assert sim.offer_truth()[good]["stock"] == 4


def test_an_ean_finds_the_offer_too(run, sim, authorized):
    offer = next(o for o in sim.offers if not o.fbb)
    run("stock", "set", offer.ean, "11")
    assert run.json("stock", "push", "bol NL")["accepted"] == 1
    assert offer.stock == 11


def test_more_than_bol_takes_is_sent_as_999_and_said(run, sim, authorized):
    sku = _merchant(sim)[0]
    run("stock", "set", sku, "1500")
    assert run.json("stock", "push", "bol NL")["accepted"] == 1
    assert sim.offer_truth()[sku]["stock"] == 999
    assert "999" in _rows(run)[sku]["message"]


@pytest.mark.parametrize("sim_options", [{"process_seconds": 600}])
def test_an_update_bol_has_not_processed_stays_pending_until_a_later_push(run, sim, clock, authorized, sim_options):
    sku = _merchant(sim)[0]
    run("stock", "set", sku, "8")
    first = run.json("stock", "push", "bol NL")
    assert first["pending"] == 1 and _rows(run)[sku]["outcome"] == "pending"
    clock.advance(600)
    run("stock", "push", "bol NL")
    assert _rows(run)[sku]["outcome"] == "accepted" and sim.offer_truth()[sku]["stock"] == 8


class Killed(BaseException):
    """The process dies: nothing catches it, nothing after it runs."""


@pytest.mark.parametrize("sim_options", [{"process_seconds": 600}])
def test_a_crash_after_bol_decided_an_update_but_before_its_outcome_was_recorded_still_decides_it(
    run, host, sim, clock, authorized, sim_options, monkeypatch
):
    from linkolis_host import stock

    sku = _merchant(sim)[0]
    run("stock", "set", sku, "9")
    assert run.json("stock", "push", "bol NL")["pending"] == 1
    clock.advance(600)
    record = stock.record_outcomes

    def dies_recording(h, app_id, outcomes, counts):
        if outcomes:
            raise Killed()
        return record(h, app_id, outcomes, counts)

    monkeypatch.setattr(stock, "record_outcomes", dies_recording)
    with pytest.raises(Killed):
        stock.push_stock(host, "bol NL")
    monkeypatch.setattr(stock, "record_outcomes", record)
    assert _rows(run)[sku]["outcome"] == "pending"

    assert run.json("stock", "push", "bol NL")["accepted"] == 1
    assert _rows(run)[sku]["outcome"] == "accepted" and sim.offer_truth()[sku]["stock"] == 9


def test_the_offer_map_is_kept_and_read_again_when_stale(run, sim, clock, authorized):
    a, b = _merchant(sim)[:2]
    run("stock", "set", a, "1")
    run("stock", "push", "bol NL")
    exports = sim.counters["get-offer-export"]
    run("stock", "set", b, "2")
    run("stock", "push", "bol NL")
    assert sim.counters["get-offer-export"] == exports  # the map is fresh: no new export
    clock.advance(25 * 3600)
    run("stock", "set", a, "3")
    run("stock", "push", "bol NL")
    assert sim.counters["get-offer-export"] == exports + 1


class NotSetBack:
    """bol's clock: it runs on with ours, but nobody sets it back."""

    def __init__(self, ours) -> None:
        self.ours, self.offset = ours, ours.time() - ours.monotonic()

    def time(self) -> float:
        return self.ours.monotonic() + self.offset


@pytest.mark.parametrize("sim_options", [{"process_seconds": 3000}])
def test_an_update_bol_forgot_is_sent_again_at_once_when_our_clock_was_set_back_meanwhile(
    run, sim, clock, authorized, sim_options
):
    """bol no longer knows an update sent 50 minutes ago, and NTP has just set our clock back an hour: the update
    is sent again now, not once our clock shows an hour since it went (an hour and ten minutes from now)."""
    sim.clock = NotSetBack(clock)
    sku = _merchant(sim)[0]
    run("stock", "set", sku, "8")
    assert run.json("stock", "push", "bol NL")["pending"] == 1
    clock.advance(50 * 60)
    sim.processes.clear()  # bol forgets the update's process status
    sim.process_seconds = 1
    clock.step(-3600)
    forgotten = run.json("stock", "push", "bol NL", code=None)
    assert forgotten["rejected"] == 1 and "no longer keeps" in _rows(run)[sku]["message"]
    assert run.json("stock", "push", "bol NL")["accepted"] == 1
    assert sim.offer_truth()[sku]["stock"] == 8
