"""Amazon shipment confirmations against the simulator, on a virtual clock: calls, 429s, time against the quota bound.

    .venv/bin/python bench/amazon_shipments.py [N ...]      (default: 1000 10000)

Each N runs in a fresh process (so peak RSS is its own): the simulator holds N unshipped seller-fulfilled orders in
the seller's marketplace, linkolis imports them, records one shipment per order, and confirms them all with one
`shipments push` (confirmShipment: 2/s, burst 10, so the bound is (N - 10) / 2 virtual seconds). Waits cost no
real time (VirtualClock); "local seconds" is linkolis's own time, the simulator's taken out.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from benchkit import TimedTransport, one_run, rss_mb

CONFIRM = (2.0, 10)  # confirmShipment rate, burst


def one(n: int) -> dict:
    from linkolis_amazon.simulator import Simulator

    from linkolis_host import VirtualClock, orders, shipments
    from linkolis_host.apps import authorize_direct, install
    from linkolis_host.host import Host

    clock = VirtualClock(1_780_000_000.0)
    sim = Simulator(clock, orders=0, skus=50, new_orders_per_hour=0, marketplaces=("DE",), listing_visibility_delay=0)
    sim.add_listing("BENCH-1", ["DE"], 10 * n)
    ids = [
        sim.add_order(
            [("BENCH-1", 1)], "DE", status="UNSHIPPED", consume_stock=False, created=clock.time() - 86400 + i % 3600
        )
        for i in range(n)
    ]
    clock.advance(600)
    timed = TimedTransport(sim)
    env = {
        "LINKOLIS_AMAZON_ENDPOINT": "https://amazon.sim.test",
        "LINKOLIS_AMAZON_CLIENT_ID": sim.client_id,
        "LINKOLIS_AMAZON_CLIENT_SECRET": sim.client_secret,
        "LINKOLIS_AMAZON_APPLICATION_ID": sim.application_id,
        "LINKOLIS_AMAZON_FIRST_IMPORT_DAYS": "3",
    }
    with tempfile.TemporaryDirectory() as home:
        host = Host(Path(home), clock=clock, transport=timed, env=env)
        install(host, "amazon", {"name": "Amazon DE", "marketplace": "DE"})
        authorize_direct(
            host, "Amazon DE", {"refresh_token": sim.authorize(), "selling_partner_id": sim.default_seller_id}
        )
        orders.import_orders(host, "Amazon DE")
        for number, oid in enumerate(ids):
            shipments.ship_order(host, oid, carrier="DHL", tracking=f"JJD{number:012d}", method="Paket")
        clock.advance(3600)  # a quiet hour: the confirmShipment bucket is full, as it would be
        before = sim.counters_snapshot()
        slept_before, sim_before = clock.slept, timed.seconds
        started = time.perf_counter()
        summary = shipments.push_shipments(host, "Amazon DE")
        wall = time.perf_counter() - started
        host.close()
    counters = sim.counters_snapshot()
    calls = counters["calls"].get("confirmShipment", 0) - before["calls"].get("confirmShipment", 0)
    throttled = counters.get("throttled", {})
    throttled = throttled.get("confirmShipment", 0) if isinstance(throttled, dict) else throttled
    truth = sim.shipments_truth()
    per_order: dict[str, int] = {}
    for package in truth:
        per_order[package["orderId"]] = per_order.get(package["orderId"], 0) + 1
    virtual = clock.slept - slept_before
    bound = max(0, calls - CONFIRM[1]) / CONFIRM[0]
    local = wall - (timed.seconds - sim_before)
    return {
        "shipments": n,
        "accepted": summary["accepted"],
        "rejected": summary["rejected"],
        "confirmShipment_calls": calls,
        "429s": throttled,
        "in_truth_exactly_once": len(per_order) == n and set(per_order.values()) == {1} and set(per_order) == set(ids),
        "virtual_seconds": round(virtual, 1),
        "bound_seconds": round(bound, 1),
        "ratio": round(virtual / bound, 4) if bound else None,
        "wall_seconds": round(wall, 3),
        "local_seconds": round(local, 3),
        "peak_rss_mb": round(rss_mb(), 1),
    }


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--one":
        print(json.dumps(one(int(argv[1]))))
        return
    for n in [int(a) for a in argv] or [1000, 10000]:
        figures = one_run(__file__, "--one", str(n))
        print(f"N={n:,}")
        for key, value in figures.items():
            print(f"  {key:<24} {value}")


if __name__ == "__main__":
    main(sys.argv[1:])
