"""What one unit of ``linkolis worker`` asks of PostgreSQL: the statements (each a round trip to the server), the
commits and the turns of linkolis's write lock of an import with nothing new, an import that stores an order, and
a push that sends one stock change, counted on the connection the unit runs on.

    .venv/bin/python bench/unit_round_trips.py [--units 5] [--json]

A throwaway PostgreSQL server (``testing.postgres``), the Amazon simulator on loopback in a thread, one workspace
with one authorized Amazon app, then per shape ``--units`` runs of ``Worker._unit`` (the job ``linkolis.unit`` less
the queue's own calls), each counted through the connection's trace callback: every statement the host sends, the
transactions' BEGIN, lock, COMMIT included. Printed per shape: statements per unit, of them reads outside a
transaction (each its own commit on the server), write transactions (each a turn of the one write lock,
``postgres.WRITE_LOCK``), and the statements inside them.

What it hides: the task queue's own round trips per job (Procrastinate fetches the job, and marks it done: two;
and the next job queued, one) are on its own connection, not counted here, and added in the printout as a
constant 3. Counts, not times: the machine's load does not change them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

from linkolis_amazon.simulator import Simulator
from linkolis_amazon.simulator.lwa import DEFAULT_APPLICATION_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

from linkolis_host import stock
from linkolis_host.apps import authorize_direct, install
from linkolis_host.host import Host
from linkolis_host.testing.postgres import PostgresServer
from linkolis_host.worker import IMPORT, PUSH, Worker
from linkolis_host.workspaces import add_workspace

QUEUE_ROUND_TRIPS = 3  # Procrastinate's fetch and finish of the job, and the next job queued


class NoQueue:
    """The queue a unit ends by asking for its next job: not counted here (see the module)."""

    def unit(self, app_id: int, stream: str, at: float | None = None) -> bool:
        return True


class Tally:
    """Statements seen through ``set_trace_callback``, sorted into reads outside a transaction and transactions."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.depth = 0
        self.seen: list[str] = []

    def __call__(self, sql: str) -> None:
        self.seen.append(" ".join(sql.split())[:150])
        head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        self.counts["statements"] += 1
        if head == "BEGIN":
            self.depth = 1
            self.counts["write transactions"] += 1
            return
        if head in ("COMMIT", "ROLLBACK"):
            self.depth = 0
            return
        if self.depth:
            if "pg_advisory_xact_lock" not in sql:
                self.counts["statements in them"] += 1
            return
        self.counts["outside a transaction"] += 1


def count(worker: Worker, app_id: int, stream: str, units: int, shown: list[str]) -> dict[str, float]:
    """The unit run ``units`` times: per unit, what it sent on each connection; ``shown`` gets the last one's
    statements."""
    host = worker._host()
    tally, quota = Tally(), Tally()
    host.db.conn.set_trace_callback(tally)
    host.limiter._conn.set_trace_callback(quota)
    try:
        for _ in range(units):
            worker._unit(app_id, stream)
    finally:
        host.db.conn.set_trace_callback(None)
        host.limiter._conn.set_trace_callback(None)
    shown[:] = tally.seen[-len(tally.seen) // units :] + ["# the limiter's:"] + quota.seen[-len(quota.seen) // units :]
    result = {name: round(value / units, 1) for name, value in tally.counts.items()}
    result["the limiter's"] = round(quota.counts["statements"] / units, 1)
    result["the limiter's transactions"] = round(quota.counts["write transactions"] / units, 1)
    result["in all, with the queue's"] = round(
        result.get("statements", 0) + result["the limiter's"] + QUEUE_ROUND_TRIPS, 1
    )
    return result


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--units", type=int, default=5, help="units counted per shape (default 5)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--show", action="store_true", help="print the statements of the last unit of each shape")
    args = p.parse_args(argv)
    sim = Simulator(orders=3, skus=5, new_orders_per_hour=0, listing_visibility_delay=0)
    with PostgresServer.start() as server, sim.serve() as base, tempfile.TemporaryDirectory() as home:
        env = {
            "LINKOLIS_DATABASE_URL": server.create_database("units"),
            "LINKOLIS_AMAZON_ENDPOINT": base,
            "LINKOLIS_AMAZON_CLIENT_ID": DEFAULT_CLIENT_ID,
            "LINKOLIS_AMAZON_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
            "LINKOLIS_AMAZON_APPLICATION_ID": DEFAULT_APPLICATION_ID,
            "LINKOLIS_AMAZON_FIRST_IMPORT_DAYS": "3",
        }
        host = Host(Path(home), env=env)
        space = add_workspace(host, "Seller")
        host.workspace_id = space.id
        install(host, "amazon", {"name": "Amazon", "marketplace": "US", "stock_sync": True})
        seller = sim.default_seller_id
        app = authorize_direct(host, "Amazon", {"refresh_token": sim.authorize(seller), "selling_partner_id": seller})
        worker = Worker(host, NoQueue(), interval=60.0, poll=1.0)  # type: ignore[arg-type]
        try:
            worker._unit(app.id, IMPORT)  # the first import: its backlog, the access token
            worker._unit(app.id, PUSH)
            shown: dict[str, list[str]] = {"import, nothing new": [], "push of one stock change": []}
            rows = {"import, nothing new": count(worker, app.id, IMPORT, args.units, shown["import, nothing new"])}
            truth = sim.stock_truth(seller).get(seller, {})
            merchant = [sku for sku, offers in truth.items() if any(o["fulfillment"] == "MFN" for o in offers.values())]
            totals: Counter[str] = Counter()
            for n in range(args.units):
                stock.set_stock(host, min(merchant), 10 + n)
                totals.update(count(worker, app.id, PUSH, 1, shown["push of one stock change"]))
            rows["push of one stock change"] = {k: round(v / args.units, 1) for k, v in totals.items()}
        finally:
            worker.close()
            host.close()
    if args.show:
        for shape, statements in shown.items():
            print(f"# {shape}", *statements, sep="\n")
    if args.json:
        print(json.dumps(rows))
        return
    names = [
        "statements",
        "outside a transaction",
        "write transactions",
        "statements in them",
        "the limiter's",
        "the limiter's transactions",
        "in all, with the queue's",
    ]
    for shape, row in rows.items():
        print(f"{shape} (per unit): " + ", ".join(f"{n} {row.get(n, 0):g}" for n in names))


if __name__ == "__main__":
    main(sys.argv[1:])
