"""bol's quota: learned from its x-ratelimit-* headers, and a 429's Retry-After waited out."""

from __future__ import annotations

import pytest
from linkolis_bol.simulator import LIMITS


@pytest.mark.parametrize("sim_options", [{"limits": {**LIMITS, "get-order": (5, 1.0)}}])
def test_the_host_learns_a_lower_limit_from_bols_headers_and_stays_under_it(run, sim, authorized, sim_options):
    # The app assumes 25 order reads a second; this bol allows 5. After the first answer says so, the host's
    # limiter paces the reads: at most the one 429 the first burst may cost, not one per order.
    imported = run.json("orders", "import", "bol NL")
    assert imported["new"] == len(sim.orders_truth())
    assert sim.throttled["get-order"] <= 1


def test_a_429_is_retried_after_the_seconds_bol_asks_for(run, sim, clock, authorized):
    sim.faults.add(operation="get-orders", kind="429", count=1, retry_after=7)
    started = clock.time()
    imported = run.json("orders", "import", "bol NL")
    assert imported["new"] == len(sim.orders_truth())
    assert sim.throttled["get-orders"] == 1
    assert clock.time() - started >= 7
