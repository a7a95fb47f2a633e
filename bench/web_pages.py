"""The web pages of a big shop (issue 22, item 8): a real `linkolis serve` over one workspace with a million orders
and fifty thousand SKUs, its background sync running against the Amazon simulator, asked by a loopback client.

    .venv/bin/python bench/web_pages.py                        (1,000,000 orders, 50,000 SKUs; builds once, ~15 min)
    .venv/bin/python bench/web_pages.py --quick                (20,000 orders, 2,000 SKUs: a smoke run)
    .venv/bin/python bench/web_pages.py --orders 200000 --skus 10000 --requests 60 --json

The data directory is built once per size and kept under the temporary directory (``linkolis-web-pages-<orders>-
<skus>``; ``--rebuild`` builds it again). The workspace, its user and its Amazon app are made through the host's
own functions (``workspaces.add_user``, ``apps.install``); the orders, their lines and the SKUs' levels and last
pushes are written by direct SQL in the tables' own columns (``orders``, ``order_lines``, ``desired_stock``,
``stock_pushes``), in batches.
The orders: two years of them, about one a minute, several at the same second, Amazon-style ids (``302-…``), 5%
open, 5% cancelled, the rest shipped, each with one line. The SKUs (``SKU-00000``…): counted; 1% refused and 1% not
listed by the app at its last push, the rest accepted as offered now.

Each run starts the Amazon simulator (``python -m linkolis_amazon.simulator``, real clock, rate limits on, 200
orders of its own and new ones arriving at 600 an hour), authorizes the app against it, and starts `linkolis serve`
with its background sync (the scheduler: 4 workers). The sync imports the simulator's orders (paced by Amazon's
searchOrders quota: a few imports in a run) and pushes stock: the bench counts five SKUs again each second through
the host's functions, which the scheduler pushes within seconds (the simulator answers "not listed" for SKUs it does
not know). So the pages are measured while the sync works; what it did is printed.

Pages, each asked ``--requests`` times one at a time, then by 8 clients at once (each its own session): the orders
list (page 1), a deep page (page 1,000, by the key its "Older" link would carry), a search by an id prefix, an
order's own page, the stock list (page 1), the stock list filtered (by state "refused", and by a SKU prefix), and
My applications. A request's time is the client's, from sending to the last byte read, over loopback http (no TLS).

CPU per request is the serve process's user + system time (``/proc/PID/stat``) over the one-at-a-time requests of a
page, less what the process spent in the same time while idle (the background sync, measured for 3 s before the
pages), divided by the requests: an estimate, since the sync's work comes in bursts.

What the clock hides: the client runs in this process on the same two cores as the server, the simulator and the
bench's stock counts, so the figures include their contention; the machine's load average is printed. The first
request of each page is a warm-up and not counted (the database pages come from the OS cache after a first read,
as on a server that has run for a while). Targets: every page p95 ≤ 100 ms one at a time and ≤ 300 ms with 8 at
once; each is printed met or MISSED, and the exit status is 1 when one is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from linkolis_host import orders, stock, workspaces
from linkolis_host.apps import authorize_direct, install
from linkolis_host.host import Host

EMAIL, PASSWORD = "seller@example.com", "correct horse battery staple"
APP = "Amazon DE"
TARGET_ONE, TARGET_EIGHT = 100.0, 300.0  # ms, p95
CLIENTS = 8
BATCH = 20_000


# -- the data directory --------------------------------------------------------------------------------------------


def build(home: Path, order_count: int, sku_count: int) -> None:
    """The workspace, user and app through the host's functions; orders and stock by direct SQL (see above)."""
    started = time.perf_counter()
    with Host(home) as host:
        workspaces.add_user(host, EMAIL, PASSWORD, workspaces.add_workspace(host, "Big shop").name)
        host.workspace_id = host.db.execute("SELECT id FROM workspaces").fetchone()[0]
        install(host, "amazon", {"name": APP, "marketplace": "DE", "stock_sync": True})
        app_id, workspace_id = host.db.execute("SELECT id, workspace_id FROM apps").fetchone()
        rng = random.Random(22)
        first = datetime(2025, 1, 1, tzinfo=UTC)
        step = (2 * 365 * 86400) / order_count
        db = host.db
        for start in range(0, order_count, BATCH):
            rows, lines = [], []
            for n in range(start, min(order_count, start + BATCH)):
                placed = (first + timedelta(seconds=int(n * step))).isoformat()
                status = rng.choices(("shipped", "cancelled", "unshipped"), (90, 5, 5))[0]
                oid = f"302-{rng.randrange(10**7):07d}-{n:07d}"
                total = f"{rng.randrange(500, 20000) / 100:.2f}"
                rows.append(
                    (n + 1, app_id, oid, "DE", status, status.upper(), "merchant", placed, placed, "EUR", total,
                     1, placed, placed)
                )  # fmt: skip
                sku, shipped = f"SKU-{rng.randrange(sku_count):05d}", 1 if status == "shipped" else 0
                lines.append((n + 1, "1", sku, "A mug", 1, shipped, total, total))
            with db.atomic():
                db.conn.executemany(
                    "INSERT INTO orders (id, app_id, marketplace_order_id, marketplace, status, marketplace_status, "
                    "fulfilled_by, created_at, updated_at, currency, total, line_count, imported_at, changed_at) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    rows,
                )
                db.conn.executemany(
                    "INSERT INTO order_lines (order_id, line_id, sku, title, quantity_ordered, quantity_shipped, "
                    "subtotal, total) VALUES (?,?,?,?,?,?,?,?)",
                    lines,
                )
            print(f"  {start + len(rows):,} orders ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        levels, pushes = [], []
        for n in range(sku_count):
            sku, quantity = f"SKU-{n:05d}", rng.randrange(0, 200)
            levels.append((workspace_id, sku, quantity, n + 1, now, 0, now))
            outcome = "rejected" if n % 100 == 7 else "not_listed" if n % 100 == 8 else "accepted"
            pushes.append(
                (app_id, sku, quantity, n + 1, now, quantity, n + 1, now, outcome,
                 "the quantity is not valid" if outcome == "rejected" else "", 0)
            )  # fmt: skip
        with db.atomic():
            db.conn.executemany(
                "INSERT INTO desired_stock (workspace_id, sku, quantity, version, updated_at, reserved, counted_at) "
                "VALUES (?,?,?,?,?,?,?)",
                levels,
            )
            db.conn.executemany(
                "INSERT INTO stock_pushes (app_id, sku, pushed_quantity, pushed_version, pushed_at, "
                "attempt_quantity, attempt_version, attempt_at, outcome, message, retryable) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                pushes,
            )
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (home / "built").write_text(json.dumps({"orders": order_count, "skus": sku_count}))
    print(f"  built in {time.perf_counter() - started:.0f} s", file=sys.stderr)


# -- the processes -------------------------------------------------------------------------------------------------


class Simulator:
    """``python -m linkolis_amazon.simulator`` on the real clock, in a process of its own."""

    def __init__(self, workdir: Path) -> None:
        self.out = workdir / "simulator.out"
        command = [
            sys.executable, "-m", "linkolis_amazon.simulator", "--port", "0", "--seed", "22", "--orders", "200",
            "--new-orders-per-hour", "600", "--listing-delay", "0",
        ]  # fmt: skip
        with self.out.open("w") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.env: dict[str, str] = {}
        self.seller = ""
        deadline = time.monotonic() + 60
        while "Ctrl-C stops it." not in self.out.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the simulator did not start:\n{self.out.read_text()}")
            time.sleep(0.05)
        for line in self.out.read_text().splitlines():
            if line.startswith("export LINKOLIS_AMAZON_"):
                name, _, value = line.removeprefix("export ").partition("=")
                self.env[name] = shlex.split(value)[0]
            elif line.strip().startswith("seller "):
                self.seller = line.split()[1]
        self.env["LINKOLIS_AMAZON_FIRST_IMPORT_DAYS"] = "30"
        self.http = httpx.Client(base_url=self.env["LINKOLIS_AMAZON_ENDPOINT"], timeout=60)

    def refresh_token(self) -> str:
        response = self.http.post("/_sim/authorize", json={"selling_partner_id": self.seller})
        response.raise_for_status()
        return response.json()["refresh_token"]

    def stop(self) -> None:
        self.http.close()
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Served:
    """`linkolis serve` with its background sync, on a free loopback port."""

    def __init__(self, home: Path, env: dict[str, str], workdir: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.log = workdir / "serve.out"
        linkolis = str(Path(sys.executable).with_name("linkolis"))
        environment = {**os.environ, **env, "LINKOLIS_HOME": str(home), "LINKOLIS_LOAD_PLUGINS": "amazon"}
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [linkolis, "serve", "--port", str(port), "--base-url", self.url],
                env=environment,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(self.url + "/signin", timeout=2)
                return
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"linkolis serve did not start:\n{self.log.read_text()}") from None
                time.sleep(0.1)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def client(self) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=60)
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/signin").text).group(1)
        answer = client.post("/signin", data={"csrf": token, "email": EMAIL, "password": PASSWORD})
        if answer.status_code not in (200, 303):
            raise SystemExit(f"could not sign in: {answer.status_code}")
        return client

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Counting(threading.Thread):
    """The seller counting five SKUs again every second, through the host's functions: stock for the sync to push."""

    def __init__(self, home: Path, skus: int) -> None:
        super().__init__(daemon=True)
        self.home, self.skus, self.stopped, self.counted = home, skus, threading.Event(), 0

    def run(self) -> None:
        # Not a fixed seed: the data directory is kept between runs, and the same counts again would change nothing
        # (each SKU would already have been sent that quantity), so nothing would be pushed beside the pages.
        rng = random.Random(time.time_ns())
        with Host(self.home) as host:
            host.workspace_id = host.db.execute("SELECT id FROM workspaces").fetchone()[0]
            while not self.stopped.wait(1.0):
                for _ in range(5):
                    stock.set_stock(host, f"SKU-{rng.randrange(self.skus):05d}", rng.randrange(0, 200), by=EMAIL)
                    self.counted += 1


# -- the pages -----------------------------------------------------------------------------------------------------


def page_paths(home: Path) -> dict[str, str]:
    """The pages measured, found from the data as a seller's clicks would reach them (read before serving)."""
    with Host(home) as host:
        host.workspace_id = host.db.execute("SELECT id FROM workspaces").fetchone()[0]
        count = host.db.execute("SELECT MAX(id) FROM orders").fetchone()[0]
        deep = host.db.execute(  # the last order of page 999 (of a page near the end, in a smaller shop)
            "SELECT id, created_at FROM orders ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET ?",
            (min(25 * 999, count - 50) - 1,),
        ).fetchone()
        deep_key = orders._key({"id": deep[0], "created_at": deep[1]}, False)
        some = host.db.execute("SELECT id, marketplace_order_id FROM orders WHERE id = ?", (deep[0],)).fetchone()
    return {
        "orders list": "/orders",
        "orders page 1,000": f"/orders?after={deep_key}",
        "search by id prefix": f"/orders?q={some[1][:7]}",
        "an order": f"/orders/{some[0]}",
        "stock list": "/stock",
        "stock refused": "/stock?state=rejected",
        "stock by SKU prefix": "/stock?sku_prefix=SKU-123",
        "My applications": "/apps",
    }


def timed(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    answer = client.get(path)
    took = (time.perf_counter() - started) * 1000
    if answer.status_code != 200:
        raise SystemExit(f"{path}: {answer.status_code}")
    return took


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def measure(served: Served, paths: dict[str, str], requests: int) -> dict[str, dict]:
    one = served.client()
    idle_from, idle_cpu = time.perf_counter(), served.cpu_seconds()
    time.sleep(3)
    idle_rate = (served.cpu_seconds() - idle_cpu) / (time.perf_counter() - idle_from)
    results: dict[str, dict] = {}
    clients = [served.client() for _ in range(CLIENTS)]
    for name, path in paths.items():
        size = len(one.get(path).content)  # the warm-up
        cpu, wall = served.cpu_seconds(), time.perf_counter()
        alone = [timed(one, path) for _ in range(requests)]
        cpu_ms = max(0.0, (served.cpu_seconds() - cpu) - idle_rate * (time.perf_counter() - wall)) * 1000 / requests
        with ThreadPoolExecutor(CLIENTS) as pool:
            together = [
                t
                for ts in pool.map(lambda c: [timed(c, path) for _ in range(requests)], clients)  # noqa: B023
                for t in ts
            ]
        results[name] = {
            "path": path,
            "bytes": size,
            "one_p50_ms": round(statistics.median(alone), 1),
            "one_p95_ms": round(percentile(alone, 0.95), 1),
            "eight_p50_ms": round(statistics.median(together), 1),
            "eight_p95_ms": round(percentile(together, 0.95), 1),
            "cpu_ms_per_request": round(cpu_ms, 1),
        }
        print(f"  {name}: {results[name]}", file=sys.stderr)
    for client in [one, *clients]:
        client.close()
    results["_idle_cpu_share"] = {"value": round(idle_rate, 3)}
    return results


def latest_version(home: Path) -> int:
    with Host(home) as host:
        return host.db.execute("SELECT COALESCE(MAX(version), 0) FROM desired_stock").fetchone()[0]


def sync_did(home: Path, order_count: int, since: int) -> dict[str, int]:
    """What the background sync wrote while the pages were asked: orders imported, SKUs pushed (a quantity counted
    after ``since``, the latest stock version at the start, sent: ``attempt_version``; ``attempt_at`` moves only when
    a request went out, and the plugin answers a SKU it knows Amazon does not list without one)."""
    with Host(home) as host:
        return {
            "orders_imported": host.db.execute("SELECT COUNT(*) FROM orders WHERE id > ?", (order_count,)).fetchone()[
                0
            ],
            "skus_pushed": host.db.execute(
                "SELECT COUNT(*) FROM stock_pushes WHERE attempt_version > ?", (since,)
            ).fetchone()[0],
        }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--orders", type=int, default=1_000_000)
    p.add_argument("--skus", type=int, default=50_000)
    p.add_argument("--requests", type=int, default=40, help="requests per page, one at a time and per client at once")
    p.add_argument("--quick", action="store_true", help="20,000 orders, 2,000 SKUs, 10 requests: a smoke run")
    p.add_argument("--rebuild", action="store_true", help="build the data directory again")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = p.parse_args(argv)
    os.environ["LINKOLIS_LOAD_PLUGINS"] = "amazon"
    if args.quick:
        args.orders, args.skus, args.requests = 20_000, 2_000, 10
    home = Path(tempfile.gettempdir()) / f"linkolis-web-pages-{args.orders}-{args.skus}"
    if args.rebuild or not (home / "built").exists():
        subprocess.run(["rm", "-rf", str(home)], check=True)
        home.mkdir(parents=True, mode=0o700)
        print(f"building {home}: {args.orders:,} orders, {args.skus:,} SKUs", file=sys.stderr)
        build(home, args.orders, args.skus)
    paths = page_paths(home)
    workdir = Path(tempfile.mkdtemp(prefix="linkolis-web-pages-run-"))
    simulator = Simulator(workdir)
    served = counting = None
    try:
        with Host(home, env={**os.environ, **simulator.env}) as host:
            host.workspace_id = host.db.execute("SELECT id FROM workspaces").fetchone()[0]
            authorize_direct(
                host, APP, {"refresh_token": simulator.refresh_token(), "selling_partner_id": simulator.seller}
            )
        load_start = os.getloadavg()
        since = latest_version(home)
        served = Served(home, simulator.env, workdir)
        counting = Counting(home, args.skus)
        counting.start()
        started = time.perf_counter()
        pages = measure(served, paths, args.requests)
        seconds = time.perf_counter() - started
        load_end = os.getloadavg()
    finally:
        if counting is not None:
            counting.stopped.set()
            counting.join()
        if served is not None:
            served.stop()
        simulator.stop()
    idle = pages.pop("_idle_cpu_share")["value"]
    targets = {}
    for name, r in pages.items():
        targets[f"{name}: p95 one at a time ≤ {TARGET_ONE:g} ms"] = {
            "measured": r["one_p95_ms"],
            "met": r["one_p95_ms"] <= TARGET_ONE,
        }
        targets[f"{name}: p95 with {CLIENTS} at once ≤ {TARGET_EIGHT:g} ms"] = {
            "measured": r["eight_p95_ms"],
            "met": r["eight_p95_ms"] <= TARGET_EIGHT,
        }
    figures = {
        "orders": args.orders,
        "skus": args.skus,
        "requests_per_page": args.requests,
        "cpus": os.cpu_count(),
        "load_start": [round(x, 2) for x in load_start],
        "load_end": [round(x, 2) for x in load_end],
        "seconds": round(seconds, 1),
        "serve_idle_cpu_share": idle,
        "sync": {
            **sync_did(home, args.orders, since),
            "skus_counted_by_the_bench": counting.counted if counting else 0,
        },
        "pages": pages,
        "targets": targets,
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"{args.orders:,} orders, {args.skus:,} SKUs, one workspace; {args.requests} requests a page")
        print(f"  machine: {figures['cpus']} CPUs, load average {' '.join(map(str, figures['load_start']))} at start, "
              f"{' '.join(map(str, figures['load_end']))} at end")  # fmt: skip
        print(f"  the sync meanwhile: {figures['sync']}; serve's CPU while no page was asked: {idle:.0%} of a core")
        print(f"  {'page':24} {'1: p50':>8} {'p95':>8} {'8: p50':>8} {'p95':>8} {'CPU/req':>8} {'bytes':>9}")
        for name, r in pages.items():
            print(
                f"  {name:24} {r['one_p50_ms']:8.1f} {r['one_p95_ms']:8.1f} {r['eight_p50_ms']:8.1f} "
                f"{r['eight_p95_ms']:8.1f} {r['cpu_ms_per_request']:8.1f} {r['bytes']:9,}"
            )
        for name, t in targets.items():
            print(f"  target {name}: {'met' if t['met'] else 'MISSED'} ({t['measured']} ms)")
    return 0 if all(t["met"] for t in targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
