"""Amazon order import against the simulator, on a virtual clock: calls, 429s, time against the quota bound.

    .venv/bin/python bench/amazon_orders.py [N ...]      (default: 1000 10000)

Each N runs in a fresh process (so peak RSS is its own): the simulator generates N orders (1-5 items) over 30
days in the seller's marketplace, then linkolis imports them all through the Amazon plugin. Waits cost no real
time (VirtualClock); "virtual seconds" is what the run would take against Amazon.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
import time
from pathlib import Path

from benchkit import TimedTransport, one_run, rss_mb

SEARCH = (0.0056, 20)  # searchOrders rate, burst
V0_PAGES = (0.0167, 20)  # getOrders
V0_ITEMS = (0.5, 30)  # getOrderItems, one per order


def bound(calls: int, rate_burst: tuple[float, int]) -> float:
    rate, burst = rate_burst
    return max(0, calls - burst) / rate


def one(n: int) -> dict:
    from linkolis_amazon.simulator import Simulator

    from linkolis_host import VirtualClock, orders
    from linkolis_host.apps import authorize_direct, install
    from linkolis_host.host import Host

    clock = VirtualClock(1_780_000_000.0)
    sim = Simulator(
        clock,
        orders=n,
        skus=200,
        order_window_days=30,
        new_orders_per_hour=0,
        marketplaces=("DE",),
        listing_visibility_delay=0,
    )
    timed = TimedTransport(sim)
    truth = [o for o in sim.orders_truth()]
    rss_before = rss_mb()
    env = {
        "LINKOLIS_AMAZON_ENDPOINT": "https://amazon.sim.test",
        "LINKOLIS_AMAZON_CLIENT_ID": sim.client_id,
        "LINKOLIS_AMAZON_CLIENT_SECRET": sim.client_secret,
        "LINKOLIS_AMAZON_APPLICATION_ID": sim.application_id,
        "LINKOLIS_AMAZON_FIRST_IMPORT_DAYS": "30",
    }
    with tempfile.TemporaryDirectory() as home:
        host = Host(Path(home), clock=clock, transport=timed, env=env)
        install(host, "amazon", {"name": "Amazon DE", "marketplace": "DE"})
        authorize_direct(
            host, "Amazon DE", {"refresh_token": sim.authorize(), "selling_partner_id": sim.default_seller_id}
        )
        clock.advance(600)
        slept_before = clock.slept
        started = time.perf_counter()
        summary = orders.import_orders(host, "Amazon DE")
        wall = time.perf_counter() - started
        held = host.db["orders"].count
        host.close()
    counters = sim.counters_snapshot()
    calls = counters["calls"].get("searchOrders", 0)
    local = wall - timed.seconds
    return {
        "orders": n,
        "imported": summary["new"],
        "held": held,
        "truth": len(truth),
        "searchOrders_calls": calls,
        "expected_calls": math.ceil(n / 100),
        "token_calls": counters["calls"].get("lwaToken", 0),
        "429s": counters.get("throttled", {}).get("searchOrders", 0)
        if isinstance(counters.get("throttled"), dict)
        else counters.get("throttled", 0),
        "retries": sum(host.http_stats.retries.values()),
        "virtual_seconds": round(clock.slept - slept_before, 1),
        "bound_seconds": round(bound(calls, SEARCH), 1),
        "ratio": round((clock.slept - slept_before) / bound(calls, SEARCH), 4) if bound(calls, SEARCH) else None,
        "wall_seconds": round(wall, 3),
        "simulator_seconds": round(timed.seconds, 3),
        "local_orders_per_second": round(n / local) if local > 0 else None,
        "v0_bound_seconds": round(bound(math.ceil(n / 100), V0_PAGES) + bound(n, V0_ITEMS), 1),
        "rss_mb_after_simulator_setup": round(rss_before, 1),
        "peak_rss_mb": round(rss_mb(), 1),
    }


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--one":
        print(json.dumps(one(int(argv[1]))))
        return
    sizes = [int(a) for a in argv] or [1000, 10000]
    for n in sizes:
        figures = one_run(__file__, "--one", str(n))
        print(f"N={n:,}")
        for key, value in figures.items():
            print(f"  {key:<30} {value}")


if __name__ == "__main__":
    main(sys.argv[1:])
