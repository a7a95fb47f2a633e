"""TCP connections linkolis opens per 100 HTTP calls to a marketplace, and the rate limiter's transactions per call:
the Amazon simulator served over HTTP on loopback (``Simulator.serve()``, its own thread), N sellers each with an
installed, authorized app, and ``rounds`` rounds of ``orders import`` of every app, as the scheduler's units would
run them (one context, and its HTTP client, per unit), in ``workers`` threads each on its own forked host, under
``http.deferring`` as the scheduler runs units.

    .venv/bin/python bench/http_connections.py [--sellers 20] [--rounds 5] [--workers 4] [--json]
    PYTHONPATH=/work/main .venv/bin/python bench/http_connections.py      # the same against another checkout

Printed: calls sent (``host.http_stats``), connections the server accepted (its ``process_request``), both per 100
calls; the limiter's write transactions (``BEGIN IMMEDIATE``) and read transactions (``BEGIN``) per call, counted
on every limiter's connection; the wall time of the rounds and the load average.

What the clock hides: the wall time includes the simulator's own work in this process (the GIL shared with it) and
a loopback round trip, far shorter than a real marketplace's over TLS, so it shows little of what a connection
reused saves (a TCP and TLS handshake, 50-300 ms to Amazon); the counts are the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

from linkolis_amazon.simulator import Simulator

import linkolis_host
from linkolis_host import http, ratelimit
from linkolis_host.apps import authorize_direct, install
from linkolis_host.host import Host
from linkolis_host.orders import import_orders
from linkolis_host.testing.simulator.server import serve_in_thread
from linkolis_host.workspaces import add_workspace

COUNTS = {"BEGIN IMMEDIATE": 0, "BEGIN": 0}
_counts_lock = threading.Lock()


def _count(statement: str) -> None:
    word = statement.strip().upper()
    if word in COUNTS:
        with _counts_lock:
            COUNTS[word] += 1


class CountedLimiter(ratelimit.RateLimiter):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._conn.set_trace_callback(_count)


def run(args: argparse.Namespace) -> dict:
    ratelimit.RateLimiter = CountedLimiter  # type: ignore[misc]
    linkolis_host.host.RateLimiter = CountedLimiter  # type: ignore[attr-defined]
    sim = Simulator(sellers=args.sellers, orders=5, new_orders_per_hour=0, marketplaces=("DE",))
    server = sim.server()
    accepted = [0]
    serve_one = server.process_request

    def counted(request, client_address):
        accepted[0] += 1
        return serve_one(request, client_address)

    server.process_request = counted  # type: ignore[method-assign]
    with serve_in_thread(server, "amazon-simulator") as base, tempfile.TemporaryDirectory() as home:
        env = {
            "LINKOLIS_AMAZON_ENDPOINT": base,
            "LINKOLIS_AMAZON_CLIENT_ID": sim.client_id,
            "LINKOLIS_AMAZON_CLIENT_SECRET": sim.client_secret,
            "LINKOLIS_AMAZON_APPLICATION_ID": sim.application_id,
        }
        host = Host(Path(home), env=env)
        apps = []
        for number, seller_id in enumerate(sim.seller_ids):
            space = add_workspace(host, f"Seller {number + 1}")
            host.workspace_id = space.id
            install(host, "amazon", {"name": "Amazon", "marketplace": "DE", "stock_sync": False})
            authorize_direct(
                host, "Amazon", {"refresh_token": sim.authorize(seller_id), "selling_partner_id": seller_id}
            )
            apps.append(space.id)
        host.workspace_id = None
        calls_before, accepted_before = sum(host.http_stats.calls.values()), accepted[0]
        COUNTS.update({"BEGIN IMMEDIATE": 0, "BEGIN": 0})
        work: queue.Queue[int | None] = queue.Queue()
        for _ in range(args.rounds):
            for space_id in apps:
                work.put(space_id)
        for _ in range(args.workers):
            work.put(None)

        def worker() -> None:
            twin = host.fork()
            try:
                while (space_id := work.get()) is not None:
                    twin.workspace_id = space_id
                    with http.deferring(30.0):
                        try:
                            import_orders(twin, "Amazon")
                        except http.Deferred:
                            pass
            finally:
                twin.close()

        started = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(args.workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        calls = sum(host.http_stats.calls.values()) - calls_before
        opened = accepted[0] - accepted_before
        host.close()
    return {
        "sellers": args.sellers,
        "rounds": args.rounds,
        "workers": args.workers,
        "calls": calls,
        "connections": opened,
        "connections_per_100_calls": round(100 * opened / max(1, calls), 1),
        "limiter_write_transactions_per_call": round(COUNTS["BEGIN IMMEDIATE"] / max(1, calls), 2),
        "limiter_read_transactions_per_call": round(COUNTS["BEGIN"] / max(1, calls), 2),
        "wall_s": round(wall, 2),
        "load_1m": round(os.getloadavg()[0], 2),
        "source": os.path.dirname(os.path.dirname(linkolis_host.__file__)),
        "sqlite": sqlite3.sqlite_version,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sellers", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"{result['sellers']} sellers x {result['rounds']} rounds, {result['workers']} workers: "
        f"{result['calls']} calls, "
        f"{result['connections']} connections opened = {result['connections_per_100_calls']} per 100 calls; limiter "
        f"{result['limiter_write_transactions_per_call']} write + {result['limiter_read_transactions_per_call']} read "
        f"transactions a call; {result['wall_s']} s; load {result['load_1m']}"
    )
    print(f"(linkolis_host from {result['source']})")


if __name__ == "__main__":
    main()
