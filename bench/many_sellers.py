"""A QUOTA STUDY on a virtual clock, not a measure of how many apps one machine serves: the scheduler of
``sync --watch`` against the Amazon simulator, many sellers' backlogs at once, against Amazon's rate limits.

What it cannot see: the virtual clock moves only while no unit runs, so a unit's CPU, its round trips and its
commits take zero virtual seconds (a 1,000-seller backlog printed "1.0 s" for 71 s of CPU); and its stock change →
sent is zero by construction (the change is applied in the coordinator's loop just before the wake that finds it).
For how many apps a machine serves on a real clock, use ``bench/many_apps.py``.

    .venv/bin/python bench/many_sellers.py --sellers 50 --orders-per-seller 2100 [--skus 20] [--json]
    .venv/bin/python bench/many_sellers.py --sellers 1000 --orders-per-seller 200 --json

S sellers, each a workspace with one Amazon app (marketplaces taken in turn, each seller its own buckets at the
simulator, as on Amazon), each with a backlog of N orders over 30 days. Phase one: the scheduler imports every
backlog. Phase two, the steady state: for ``--steady`` virtual seconds new orders arrive and the sellers change
stock levels, at random moments; it ends when every new order is imported and every change was pushed.

Waits cost no real time: only the scheduler's coordinator moves the virtual clock, when no unit is running (a unit
that must wait for quota gives its worker back), so virtual seconds are what the run would take against Amazon.

Figures: ``virtual_s`` is phase one's virtual duration, ``bound_s`` the largest single seller's rate-limit bound
for its own backlog (its searchOrders pages beyond the burst of 20, at 0.0056 a second; buckets are independent,
so that is the bound for all of them), ``ratio`` = virtual_s / max(bound_s, poll): when every backlog fits its
burst the bound is 0 and the run is held to the scheduler's 1-second poll. Stock latency is virtual seconds from
``stock set`` to the request (patch or feed upload) that carries the quantity, in phase two. ``local_s`` is the
real time linkolis spent (the simulator's own time taken out); ``peak_rss_mb`` the process's peak, simulator
included (``simulator_rss_mb`` is the part it held before linkolis started).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote

import httpx
from benchkit import Remote, SharedClock, rss_mb
from benchkit import interpolated_percentile as percentile

from linkolis_host import stock
from linkolis_host.apps import authorize_direct, install
from linkolis_host.host import Host
from linkolis_host.scheduler import Scheduler
from linkolis_host.workspaces import add_workspace

SEARCH_RATE, SEARCH_BURST, PAGE = 0.0056, 20, 100
SETTLE = 150  # the plugin asks for orders updated at least 2.5 minutes ago (Amazon: at least 2)
MARKETS = ("DE", "FR", "IT", "ES", "NL", "UK", "PL", "SE")
PATCH = re.compile(r"/listings/2021-08-01/items/([^/]+)/([^/?]+)")


class Recorder(httpx.BaseTransport):
    """linkolis's transport to the simulator, noting when each (seller, SKU, quantity) left and every 429."""

    def __init__(self, clock) -> None:
        self.inner = httpx.HTTPTransport()
        self.clock = clock
        self.sent: dict[tuple[str, str], list[tuple[float, int]]] = {}
        self.throttled = 0
        self.lock = threading.Lock()

    def _note(self, seller: str, sku: str, quantity: int) -> None:
        with self.lock:
            self.sent.setdefault((seller, sku), []).append((self.clock.time(), quantity))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH" and (match := PATCH.search(request.url.raw_path.decode("ascii"))):
            body = json.loads(request.content)
            for patch in body.get("patches", []):
                if patch.get("path") == "/attributes/fulfillment_availability":
                    self._note(unquote(match[1]), unquote(match[2]), patch["value"][0]["quantity"])
        elif request.method == "PUT" and request.url.path.startswith("/s3/"):
            raw = request.content
            document = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
            seller = document["header"]["sellerId"]
            for message in document.get("messages", []):
                for availability in message.get("attributes", {}).get("fulfillment_availability", []):
                    self._note(seller, message["sku"], availability["quantity"])
        response = self.inner.handle_request(request)
        if response.status_code == 429:
            with self.lock:
                self.throttled += 1
        return response


class Driver:
    """What the sellers and Amazon do while the scheduler runs, at moments of the virtual clock."""

    def __init__(self, args, sim, host, recorder, sellers, start: float) -> None:
        self.args, self.sim, self.host, self.recorder, self.sellers = args, sim, host, recorder, sellers
        self.rng = random.Random(args.seed)
        # The backlog: what Amazon shows at the start, every order last updated SETTLE seconds before it or earlier
        # (one updated since cannot be asked for yet by anyone; it counts in the steady state).
        cutoff = start - SETTLE
        backlog = []
        self.expected = 0
        for seller in sellers:
            for order in sim.orders_truth(seller["seller_id"]):
                self.expected += 1
                if datetime.fromisoformat(order["lastUpdatedTime"]).timestamp() <= cutoff:
                    backlog.append((seller["seller_id"], order["orderId"]))
        self.backlog = len(backlog)
        per_seller: dict[str, int] = {}
        for seller_id, _ in backlog:
            per_seller[seller_id] = per_seller.get(seller_id, 0) + 1
        self.largest_backlog = max(per_seller.values(), default=0)
        self.cpu_started = time.process_time()
        self.cpu_at_backlog = 0.0
        host.db.execute(
            "CREATE TEMP TABLE backlog (account_id TEXT, order_id TEXT, PRIMARY KEY (account_id, order_id))"
        )
        host.db.conn.executemany("INSERT INTO temp.backlog VALUES (?, ?)", backlog)
        host.db.conn.commit()  # sqlite3 opened a transaction for the insert: end it, or it holds the write lock
        self.backlog_done: float | None = None
        self.events: list[tuple[float, str, dict]] = []
        self.changes: list[dict] = []
        self.checked_at = -1.0
        self.imported = 0
        self.cpu = 0.0  # the driver's own CPU seconds (in the coordinator's thread), not linkolis's
        self.stop = threading.Event()

    def count(self) -> int:
        return self.host.db.execute("SELECT COUNT(*) FROM orders").fetchone()[0]

    def backlog_held(self) -> int:
        return self.host.db.execute(
            "SELECT COUNT(*) FROM orders o JOIN apps a ON a.id = o.app_id JOIN temp.backlog b "
            "ON b.account_id = a.account_id AND b.order_id = o.marketplace_order_id"
        ).fetchone()[0]

    def tick(self, now: float) -> None:
        started = time.thread_time()
        try:
            self._tick(now)
        finally:
            self.cpu += time.thread_time() - started

    def _tick(self, now: float) -> None:
        if now - self.checked_at < 1.0 and self.checked_at >= 0:
            return
        self.checked_at = now
        self.imported = self.count()
        if self.backlog_done is None:
            if self.imported >= self.backlog and self.backlog_held() == self.backlog:
                self.backlog_done = now
                self.cpu_at_backlog = time.process_time() - self.cpu_started - self.cpu
                self._plan(now)
            return
        while self.events and self.events[-1][0] <= now:
            _, what, event = self.events.pop()
            if what == "order":
                self.sim.add_order([(event["sku"], 1)], event["market"], seller_id=event["seller_id"])
                self.expected += 1
            else:
                self.host.workspace_id = event["workspace_id"]
                stock.set_stock(self.host, event["sku"], event["quantity"])
                event["set_at"] = self.clock_time()
                self.changes.append(event)
        if not self.events and now >= self.backlog_done + self.args.steady and self._settled():
            self.stop.set()
        if now >= self.backlog_done + self.args.steady + self.args.give_up:
            self.stop.set()

    def clock_time(self) -> float:
        return self.host.clock.time()

    def _plan(self, start: float) -> None:
        args = self.args
        for kind, count in (("order", args.new_orders), ("stock", args.stock_changes)):
            for _ in range(count):
                seller = self.rng.choice(self.sellers)
                at = start + self.rng.uniform(0, args.steady)
                event = {
                    "seller_id": seller["seller_id"],
                    "workspace_id": seller["workspace_id"],
                    "market": seller["market"],
                    "sku": self.rng.choice(seller["skus"]),
                    "quantity": self.rng.randint(0, 500),
                }
                self.events.append((at, kind, event))
        self.events.sort(key=lambda e: e[0], reverse=True)

    def _settled(self) -> bool:
        if self.imported < self.expected:
            return False
        return all(self.pushed_at(change) is not None for change in self.changes)

    def pushed_at(self, change: dict) -> float | None:
        """The first time the change's quantity (or a later change's, which carries it) left after it was set."""
        later = [c for c in self.changes if c is not change and (c["seller_id"], c["sku"]) == key(change)]
        wanted = {change["quantity"]} | {c["quantity"] for c in later if c["set_at"] >= change["set_at"]}
        for at, quantity in self.recorder.sent.get(key(change), []):
            if at >= change["set_at"] and quantity in wanted:
                return at
        return None


def key(change: dict) -> tuple[str, str]:
    return change["seller_id"], change["sku"]


class BenchScheduler(Scheduler):
    """The host's scheduler, with the driver given a turn each time the coordinator looks at the apps."""

    def __init__(self, host: Host, driver: Driver, **kw) -> None:
        super().__init__(host, **kw)
        self.driver = driver
        self.units_after_backlog: dict[str, int] = {}

    def _refresh(self) -> None:
        self.driver.tick(self.clock.time())
        super()._refresh()

    def _finish(self, done) -> None:
        if self.driver.backlog_done is not None:
            name = f"{done.key[1]}_{done.outcome}"
            self.units_after_backlog[name] = self.units_after_backlog.get(name, 0) + 1
        super()._finish(done)


def run(args: argparse.Namespace) -> dict:
    clock = SharedClock(1_780_000_000.0)
    started_setup = time.perf_counter()
    sim = Remote(
        {
            "sellers": args.sellers,
            "orders": args.orders_per_seller,
            "skus": args.skus,
            "order_window_days": 30,
            "new_orders_per_hour": 0,
            "marketplaces": MARKETS,
            "listing_visibility_delay": 0,
            "feed_queue_seconds": 5,
            "feed_processing_seconds": 10,
        },
        clock,
    )
    clock.advance(600)  # the sellers connect ten minutes after their last backlog order
    recorder = Recorder(clock)
    env = {
        "LINKOLIS_AMAZON_ENDPOINT": sim.base,
        "LINKOLIS_AMAZON_CLIENT_ID": sim.client_id,
        "LINKOLIS_AMAZON_CLIENT_SECRET": sim.client_secret,
        "LINKOLIS_AMAZON_APPLICATION_ID": sim.application_id,
        "LINKOLIS_AMAZON_FIRST_IMPORT_DAYS": "31",
    }
    with tempfile.TemporaryDirectory() as home:
        host = Host(Path(home), clock=clock, transport=recorder, env=env)
        sellers = []
        for number, seller_id in enumerate(sim.seller_ids):
            market = MARKETS[number % len(MARKETS)]
            space = add_workspace(host, f"Seller {number + 1}")
            host.workspace_id = space.id
            name = f"Amazon {market}"
            install(host, "amazon", {"name": name, "marketplace": market, "stock_sync": True})
            authorize_direct(host, name, {"refresh_token": sim.authorize(seller_id), "selling_partner_id": seller_id})
            skus = sorted(s for s, offers in sim.stock_truth(seller_id)[seller_id].items() if _merchant(offers))
            sellers.append({"seller_id": seller_id, "workspace_id": space.id, "market": market, "skus": skus})
            if args.progress and (number + 1) % 100 == 0:
                print(f"  set up {number + 1:,} sellers", file=sys.stderr)
        host.workspace_id = None
        start_virtual = clock.time()
        driver = Driver(args, sim, host, recorder, sellers, start_virtual)
        setup_s = time.perf_counter() - started_setup
        scheduler = BenchScheduler(host, driver, workers=args.workers, interval=args.interval)
        started, cpu_started = time.perf_counter(), time.process_time()
        driver.cpu_started = cpu_started
        scheduler.run(driver.stop, grace=60)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started - driver.cpu
        peak = rss_mb()
        imported = driver.count()
        held = [
            (r[0], r[1])
            for r in host.db.execute(
                "SELECT a.account_id, o.marketplace_order_id FROM orders o JOIN apps a ON a.id = o.app_id"
            )
        ]
        latencies = [driver.pushed_at(c) - c["set_at"] for c in driver.changes if driver.pushed_at(c) is not None]
        if args.debug:
            for change in driver.changes:
                if driver.pushed_at(change) is None:
                    print("unpushed", change, recorder.sent.get(key(change)), file=sys.stderr)
        host.close()
    counters = sim.counters_snapshot()
    truth = {(s, o["orderId"]) for s in sim.seller_ids for o in sim.orders_truth(s)}
    simulator_cpu = sim.stop()
    bound = max(0, -(-driver.largest_backlog // PAGE) - SEARCH_BURST) / SEARCH_RATE
    virtual = (driver.backlog_done if driver.backlog_done is not None else clock.time()) - start_virtual
    steady_units = scheduler.units_after_backlog
    return {
        "sellers": args.sellers,
        "orders_expected": driver.expected,
        "orders_backlog": driver.backlog,
        "orders_imported": imported,
        "orders_truth": len(truth),
        "duplicates": len(held) - len(set(held)),
        "missing": len(truth - set(held)),
        "unexpected": len(set(held) - truth),
        "searchOrders_calls": counters["calls"].get("searchOrders", 0),
        "http_429": recorder.throttled,
        "simulator_429": sum((counters.get("throttled") or {}).values())
        if isinstance(counters.get("throttled"), dict)
        else counters.get("throttled", 0),
        "virtual_s": round(virtual, 1),
        "bound_s": round(bound, 1),
        "ratio": round(virtual / max(bound, scheduler.poll), 3),
        "steady_virtual_s": round(clock.time() - start_virtual - virtual, 1),
        "stock_changes": len(driver.changes),
        "stock_pushed": len(latencies),
        "stock_latency_p50_s": _round(percentile(latencies, 50)),
        "stock_latency_p95_s": _round(percentile(latencies, 95)),
        "stock_latency_max_s": _round(max(latencies, default=None)),
        "workers": args.workers,
        "peak_running": scheduler.peak_running,
        "setup_s": round(setup_s, 1),
        "wall_s": round(wall, 1),
        "local_s": round(cpu, 1),
        "steady_local_s": round(cpu - driver.cpu_at_backlog, 1),
        "steady_units": steady_units,
        "steady_ms_per_unit": round(1000 * (cpu - driver.cpu_at_backlog) / max(1, sum(steady_units.values())), 2),
        "simulator_cpu_s": round(simulator_cpu, 1),
        "simulator_rss_mb": round(sim.rss, 1),
        "peak_rss_mb": round(peak, 1),
    }


def _merchant(offers: dict) -> bool:
    return any(offer["fulfillment"] == "MFN" for offer in offers.values())


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sellers", type=int, default=50)
    p.add_argument("--orders-per-seller", type=int, default=2100)
    p.add_argument("--skus", type=int, default=20, help="listings per seller (default 20)")
    p.add_argument("--steady", type=float, default=300.0, help="virtual seconds of the steady state (default 300)")
    p.add_argument("--new-orders", type=int, default=None, help="orders arriving then (default: one per seller)")
    p.add_argument("--stock-changes", type=int, default=None, help="stock changes then (default: one per seller)")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--interval", type=float, default=60.0, help="import interval per app (default 60)")
    p.add_argument("--give-up", type=float, default=900.0, help="virtual seconds after the steady state to stop")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--debug", action="store_true")
    p.add_argument("--progress", action="store_true", help="say how setting up goes, on stderr")
    args = p.parse_args(argv)
    args.new_orders = args.sellers if args.new_orders is None else args.new_orders
    args.stock_changes = args.sellers if args.stock_changes is None else args.stock_changes
    return args


def main(argv: list[str]) -> None:
    args = parse(argv)
    figures = run(args)
    if args.json:
        print(json.dumps(figures))
        return
    for name, value in figures.items():
        print(f"  {name:<22} {value}")


if __name__ == "__main__":
    main(sys.argv[1:])
