"""bol order import and stock push against the bol simulator, on a virtual clock: calls, 429s, time.

    .venv/bin/python bench/bol_sync.py [ORDERS] [STOCK CHANGES]      (default: 10000 10000)

The simulator generates ORDERS orders over 5 days and as many offers as stock changes; linkolis imports the
orders through the bol plugin, then pushes one quantity per offer. Waits cost no real time (VirtualClock):
"virtual seconds" is what the run would take against bol's limits (the simulator's, see docs/operations.md).
The simulator does not check requests against the spec here (milliseconds a call); the tests do.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path


def main(n_orders: int, n_stock: int) -> None:
    from linkolis_bol.simulator import LIMITS, Simulator

    from linkolis_host import VirtualClock, apps, orders, stock
    from linkolis_host.host import Host

    clock = VirtualClock(1_780_000_000.0)
    sim = Simulator(clock, orders=n_orders, offers=n_stock, fbb_share=0.1, order_window_days=5, validate_requests=False)
    env = {"LINKOLIS_BOL_ENDPOINT": "https://bol.sim.test"}
    with tempfile.TemporaryDirectory() as home:
        host = Host(Path(home), clock=clock, transport=sim.transport(), env=env)
        apps.install(host, "bol", {"name": "bol NL", "stock_sync": True})
        apps.authorize_direct(host, "bol NL", {"client_id": sim.client_id, "client_secret": sim.client_secret})

        started, t0 = time.perf_counter(), clock.time()
        summary = orders.import_orders(host, "bol NL")
        import_wall, import_virtual = time.perf_counter() - started, clock.time() - t0
        after_import = dict(sim.counters.calls), dict(sim.throttled)

        for offer in sim.offers:
            stock.set_stock(host, offer.reference, (offer.stock + 3) % 900)
        started, t0 = time.perf_counter(), clock.time()
        pushed = stock.push_stock(host, "bol NL")
        while stock.has_pending(host, apps.get(host, "bol NL").id):
            clock.advance(5)
            stock.push_stock(host, "bol NL")
        push_wall, push_virtual = time.perf_counter() - started, clock.time() - t0
        host.close()

    def delta(counter, before):
        return {k: v - before.get(k, 0) for k, v in counter.items() if v - before.get(k, 0)}

    print("bol limits assumed: " + ", ".join(f"{op} {n}/{w:g}s" for op, (n, w) in LIMITS.items()))
    print(
        f"\nimport of {n_orders} orders: {summary['new']} new in {summary['batches']} batches; "
        f"{import_virtual:.0f} virtual s, {import_wall:.1f} wall s"
    )
    print(f"  calls {dict(after_import[0])}")
    print(f"  429s  {dict(after_import[1]) or 0}")
    print(
        f"\npush of {n_stock} stock changes: {pushed['sent']} sent, {pushed['accepted']} accepted at once, "
        f"{pushed['pending']} pending, {pushed['skipped']} skipped (FBB); "
        f"{push_virtual:.0f} virtual s, {push_wall:.1f} wall s"
    )
    print(f"  calls {delta(sim.counters.calls, after_import[0])}")
    print(f"  429s  {delta(sim.throttled, after_import[1]) or 0}")
    print(f"\ntokens requested in all: {sim.tokens_issued()}")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*(args + [10_000, 10_000][len(args) :]))
