"""Many apps on a real clock: ``linkolis sync --watch`` in its own process, the Amazon simulator in another, and the
sellers' new orders and stock changes from this one at their planned moments.

    .venv/bin/python bench/many_apps.py --sweep 250,500,1000,2000 [--warmup 90] [--measure 180] [--json]

Per N: the simulator (``python -m linkolis_amazon.simulator --sellers N --request-log``, its rate limits on, a few
orders and SKUs per seller), N workspaces each with one authorized Amazon app in a fresh data directory, then
``linkolis sync --watch --workers W --interval I`` as a subprocess. Two driver threads here (not in linkolis's
process) place ``--orders-per-hour`` new orders per app (``POST /_sim/orders``) and make ``--changes-per-hour``
stock changes per app (``stock.set_stock`` through the host API on the same data directory, as ``linkolis stock
set`` would), each at a moment planned in advance (uniform at random over the run). After ``--warmup`` seconds
(every app's first import, its backlog, lands there) the next ``--measure`` seconds are measured:

- import round: seconds between an app's successive first pages of searchOrders, as the simulator's request log
  saw them arrive (``GET /_sim/requests``); p50/p95.
- import lag: from the unit's DUE time (``due_at`` of its ``scheduler_state`` row, read once a second: the end of
  its last import plus the interval) to its first page arriving at the simulator; p50/p95/max. Not from an order's
  placement: the plugin asks only for orders updated at least 2.5 minutes ago, so that would add a constant.
- due, not run, at the end: ``linkolis sync status --json``'s ``queue_depth`` once the window ends (with
  ``--processes``, the jobs its ``queue`` shows due and not yet taken).
- stock latency: from a change's PLANNED moment to the first listing patch or feed quantity for that seller and
  SKU arriving at the simulator after the change was committed; p50/p95/max; changes never sent are counted.
- linkolis CPU: utime+stime of the sync process over the window (``/proc``), as a share of a core, and per app
  round (one import and its pushes); peak RSS is the process's ``VmHWM``.
- write-lock waits are not seen inside linkolis (it has no counter for them); what is measured is their effect on
  another writer: the wall time of the driver's ``stock set`` (one short write transaction), p50/p95/max, and how
  many were refused (the lock not had within linkolis's busy timeout: the change is then not made).

``--latency S`` makes each of the simulator's marketplace calls (LWA, SP-API, feed documents) take S seconds once the
apps are set up, as a round trip to Amazon does (0.13 to 0.18 s for one order call, measured by a user of an SP-API
client: abuzuhri/Amazon-SP-API-CSharp issue 48): the simulator's ``slow`` fault on every call, which sleeps before
the call is taken, so the import lag and stock latency include it. Without it the simulator answers over loopback
at once, and a unit's wall time is its CPU and its writes.

With ``--processes P`` the store is a throwaway PostgreSQL server of this machine's (``testing.postgres``) and the
sync is P ``linkolis worker --concurrency W`` processes instead of ``sync --watch``; CPU is theirs summed (a killed
one's up to its kill), RSS the largest. The server is PostgreSQL's defaults as an operator runs it (fsync and
synchronous commit on: a commit waits for the disk), and it is watched from outside over the window: ten times a
second whether a transaction holds linkolis's write lock and how many wait for it (``pg_locks``: the lock's busy
share and mean queue), the commits (``pg_stat_database``, per second and per app round), and the server's CPU.
``--kill-every S`` kills a random worker with SIGKILL every S seconds and
starts another in its place (its jobs go to the others once its heartbeat is 30 s old). At the end the orders
stored are held against the simulator's truth: none twice, none the simulator does not have, and every order
settled (updated 2.5 minutes, plus two rounds, before the end) stored.

The clock is the machine's: everything here, the driver included, shares the two cores, so the load average is
printed beside every figure. The knee is the largest N whose round p50 is within 5 % of the interval, import lag
p95 <= 5 s and stock latency p95 <= 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from benchkit import interpolated_percentile as percentile

from linkolis_host import stock
from linkolis_host.apps import authorize_direct, install
from linkolis_host.errors import Busy
from linkolis_host.host import Host
from linkolis_host.workspaces import add_workspace

SIM = "linkolis_amazon.simulator"
LAG_BOUND = STOCK_BOUND = 5.0
BIN = Path(sys.executable).parent


def r2(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def load() -> float:
    return os.getloadavg()[0]


class Simulator:
    """``python -m linkolis_amazon.simulator`` in a process of its own, asked over its admin routes."""

    def __init__(self, args: argparse.Namespace, sellers: int) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", SIM, "--port", str(port), "--sellers", str(sellers), "--request-log"]
        command += ["--orders", str(args.orders), "--days", "2", "--skus", str(args.skus), "--new-orders-per-hour", "0"]
        command += ["--listing-delay", "0", "--feed-seconds", "5", "10"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.http = httpx.Client(base_url=self.base, timeout=120)
        for _ in range(600):
            try:
                self.http.get("/_sim/health").raise_for_status()
                break
            except httpx.HTTPError:
                if self.process.poll() is not None:
                    raise SystemExit(f"the simulator stopped: {self.process.stderr.read().decode()}") from None
                time.sleep(0.2)
        self.next = 0

    def get(self, path: str, **params) -> dict:
        response = self.http.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict) -> dict:
        response = self.http.post(path, json=body)
        response.raise_for_status()
        return response.json()

    def requests(self) -> list[list]:
        page = self.get("/_sim/requests", since=self.next)
        self.next = page["next"]
        return page["entries"]

    def stop(self) -> None:
        self.http.close()
        self.process.terminate()
        self.process.wait()


def set_up(args: argparse.Namespace, sim: Simulator, home: Path, env: dict[str, str]) -> tuple[Host, list[dict]]:
    """N workspaces, each with one authorized Amazon app and the merchant-fulfilled SKUs its seller lists."""
    host = Host(home, env=env)
    accounts = sim.get("/_sim/accounts")["accounts"]
    truth = sim.get("/_sim/stock")
    sellers = []
    for number, account in enumerate(accounts):
        seller_id = account["sellingPartnerId"]
        market = account["marketplaceIds"][0]
        space = add_workspace(host, f"Seller {number + 1}")
        host.workspace_id = space.id
        name = "Amazon"
        install(host, "amazon", {"name": name, "marketplace": _market_code(market), "stock_sync": True})
        token = sim.post("/_sim/authorize", {"selling_partner_id": seller_id})["refresh_token"]
        app = authorize_direct(host, name, {"refresh_token": token, "selling_partner_id": seller_id})
        skus = sorted(
            sku
            for sku, offers in truth.get(seller_id, {}).items()
            if any(o["fulfillment"] == "MFN" for o in offers.values())
        )
        sellers.append(
            {"seller_id": seller_id, "workspace_id": space.id, "app_id": app.id, "market": market, "skus": skus}
        )
    host.workspace_id = None
    return host, sellers


def _market_code(marketplace: str) -> str:
    from linkolis_amazon.simulator.marketplaces import MARKETPLACES

    return MARKETPLACES[marketplace].country


class Driver:
    """The sellers and their buyers, at planned moments of the real clock: one thread each, so a stock set that
    waits for the database's write lock delays no order."""

    def __init__(self, args, sim: Simulator, host: Host, sellers: list[dict], start: float, end: float) -> None:
        rng = random.Random(args.seed)
        hours = (end - start) / 3600
        self.orders = sorted(
            (start + rng.uniform(0, end - start), s, rng.choice(s["skus"]))
            for s in sellers
            for _ in range(_count(rng, args.orders_per_hour * hours))
            if s["skus"]
        )
        self.changes = sorted(
            (start + rng.uniform(0, end - start), s, rng.choice(s["skus"]), rng.randint(0, 500))
            for s in sellers
            for _ in range(_count(rng, args.changes_per_hour * hours))
            if s["skus"]
        )
        self.sim, self.host = sim, host
        self.placed: list[float] = []  # seconds after its planned moment each order was placed
        self.set: list[dict] = []  # per change: planned, committed, seller, sku, seconds the stock set took
        self.refused: list[float] = []  # seconds each refused stock set waited before it was refused
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._place, daemon=True), threading.Thread(target=self._change)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def _wait(self, at: float) -> bool:
        return not self.stop.wait(max(0.0, at - time.time()))

    def _place(self) -> None:
        http = httpx.Client(base_url=self.sim.base, timeout=60)
        for at, seller, sku in self.orders:
            if not self._wait(at):
                break
            body = {"items": [[sku, 1]], "marketplace": seller["market"], "seller_id": seller["seller_id"]}
            http.post("/_sim/orders", json=body).raise_for_status()
            self.placed.append(time.time() - at)
        http.close()

    def _change(self) -> None:
        for at, seller, sku, quantity in self.changes:
            if not self._wait(at):
                break
            self.host.workspace_id = seller["workspace_id"]
            began = time.time()
            try:
                stock.set_stock(self.host, sku, quantity)
            except (Busy, sqlite3.OperationalError):
                self.refused.append(time.time() - began)  # the write lock not had within linkolis's busy timeout
                continue
            done = time.time()
            self.set.append(
                {"planned": at, "committed": done, "seller": seller["seller_id"], "sku": sku, "took": done - began}
            )


def _count(rng: random.Random, mean: float) -> int:
    """A whole number of events with the given mean: the integer part, plus one with the fraction's chance."""
    whole = int(mean)
    return whole + (rng.random() < mean - whole)


class Workers:
    """``linkolis worker`` processes on the PostgreSQL database, one killed (SIGKILL) every ``kill_every`` seconds
    and replaced."""

    def __init__(self, args: argparse.Namespace, env: dict[str, str]) -> None:
        self.args, self.env = args, env
        self.alive: list[subprocess.Popen] = [self._start() for _ in range(args.processes)]
        self.cpu_spent = 0.0  # the CPU of killed workers, from their start to their kill
        self.cpu_from: dict[int, float] = {}  # pid -> its CPU when the window began (0 for one started later)
        self.kills = 0
        self.rss = 0.0
        self.rng = random.Random(args.seed)

    def _start(self) -> subprocess.Popen:
        command = [str(BIN / "linkolis"), "worker", "--concurrency", str(self.args.workers)]
        command += ["--interval", str(self.args.interval)]
        return subprocess.Popen(command, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def begin(self) -> None:
        self.cpu_from = {w.pid: cpu_seconds(w.pid) for w in self.alive}

    def kill_one(self) -> None:
        victim = self.rng.choice(self.alive)
        if victim.pid in self.cpu_from:
            self.cpu_spent += cpu_seconds(victim.pid) - self.cpu_from.pop(victim.pid)
        self.rss = max(self.rss, peak_rss_mb(victim.pid))
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        self.alive.remove(victim)
        fresh = self._start()
        self.alive.append(fresh)
        if self.cpu_from:
            self.cpu_from[fresh.pid] = 0.0
        self.kills += 1

    def cpu(self) -> float:
        return self.cpu_spent + sum(cpu_seconds(w.pid) - self.cpu_from.get(w.pid, 0.0) for w in self.alive)

    def peak_rss(self) -> float:
        return max([self.rss, *(peak_rss_mb(w.pid) for w in self.alive)])

    def stop(self) -> None:
        for w in self.alive:
            w.send_signal(signal.SIGTERM)
        for w in self.alive:
            try:
                w.wait(timeout=60)
            except subprocess.TimeoutExpired:
                w.kill()


class PgWatch:
    """The PostgreSQL server from outside, over the window: ten times a second whether a write transaction holds
    linkolis's write lock (``postgres.WRITE_LOCK``, an advisory lock) and how many wait for it (``pg_locks``); the
    transactions committed (``pg_stat_database``); the server's CPU (the postmaster's children, live and ended)."""

    def __init__(self, server, url: str) -> None:
        import psycopg

        from linkolis_host.postgres import WRITE_LOCK

        self.conn = psycopg.connect(url, autocommit=True)
        self.lock = WRITE_LOCK
        self.postmaster = int((server.folder / "data" / "postmaster.pid").read_text().split()[0])
        self.samples: list[tuple[int, int]] = []  # (held, waiting) per sample
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.start_figures: tuple[float, int] | None = None

    def _cpu(self) -> float:
        fields = Path(f"/proc/{self.postmaster}/stat").read_text().rsplit(")", 1)[1].split()
        ended = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # cutime + cstime
        live = 0.0
        for child in Path(f"/proc/{self.postmaster}/task/{self.postmaster}/children").read_text().split():
            try:
                live += cpu_seconds(int(child))
            except (FileNotFoundError, ProcessLookupError):
                continue  # ended between the listing and the read: counted in cutime next time
        return cpu_seconds(self.postmaster) + ended + live

    def _commits(self) -> int:
        return self.conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()[0]

    def begin(self) -> None:
        self.start_figures = (self._cpu(), self._commits())
        self.thread.start()

    def _sample(self) -> None:
        query = (
            "SELECT COUNT(*) FILTER (WHERE granted), COUNT(*) FILTER (WHERE NOT granted) FROM pg_locks "
            "WHERE locktype = 'advisory' AND classid = 0 AND objid = %s AND objsubid = 1"
        )
        while not self.stop.wait(0.1):
            self.samples.append(tuple(self.conn.execute(query, (self.lock,)).fetchone()))

    def end(self, seconds: float, imports: int) -> dict:
        self.stop.set()
        self.thread.join()
        cpu, commits = self._cpu() - self.start_figures[0], self._commits() - self.start_figures[1]
        self.conn.close()
        held = [h for h, _ in self.samples]
        waiting = [w for _, w in self.samples]
        return {
            "pg_cpu_share": r2(cpu / seconds),
            "pg_commits_per_s": r2(commits / seconds),
            "pg_commits_per_app_round": r2(commits / imports) if imports else None,
            "write_lock_busy": r2(statistics.mean(held)) if held else None,
            "write_lock_waiting_mean": r2(statistics.mean(waiting)) if waiting else None,
            "write_lock_waiting_max": max(waiting, default=None),
        }


def held_against_truth(sim: Simulator, host: Host, end: float, interval: float) -> dict:
    """The orders stored against the simulator's: twice, unknown to it, and settled but missing."""
    truth = {o["orderId"]: o for o in sim.get("/_sim/orders")["orders"]}
    rows = host.db.execute("SELECT marketplace_order_id, app_id FROM orders").fetchall()
    stored = [r[0] for r in rows]
    settled_by = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(end - 150 - 2 * interval))
    settled = {k for k, o in truth.items() if o["lastUpdatedTime"][:19] <= settled_by}
    return {
        "orders_stored": len(stored),
        "orders_twice": len(stored) - len(set(stored)),
        "orders_unknown": len(set(stored) - set(truth)),
        "orders_settled_missing": len(settled - set(stored)),
    }


def run_one(args: argparse.Namespace, n: int) -> dict:
    server = None
    if args.processes:
        from linkolis_host.testing.postgres import PostgresServer

        server = PostgresServer.start(durable=True)  # each commit waits for its WAL, as on an operator's server
        url = server.create_database("bench")
    try:
        return _run_one(args, n, url if server else None, server)
    finally:
        if server is not None:
            server.stop()


def _run_one(args: argparse.Namespace, n: int, url: str | None, server=None) -> dict:
    started_setup = time.time()
    sim = Simulator(args, n)
    from linkolis_amazon.simulator.lwa import DEFAULT_APPLICATION_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    env = {
        "LINKOLIS_AMAZON_ENDPOINT": sim.base,
        "LINKOLIS_AMAZON_CLIENT_ID": DEFAULT_CLIENT_ID,
        "LINKOLIS_AMAZON_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
        "LINKOLIS_AMAZON_APPLICATION_ID": DEFAULT_APPLICATION_ID,
        "LINKOLIS_AMAZON_FIRST_IMPORT_DAYS": "3",
    }
    if url:
        env["LINKOLIS_DATABASE_URL"] = url
    with tempfile.TemporaryDirectory() as home:
        host, sellers = set_up(args, sim, Path(home), env)
        seller_of = {s["app_id"]: s["seller_id"] for s in sellers}
        setup_s = time.time() - started_setup
        sim.requests()  # what setting up sent is not the run's
        if args.latency:  # from here on every call waits, before its answer, as a round trip to Amazon takes
            sim.post("/_sim/faults", {"kind": "slow", "delay": args.latency, "probability": 1.0})
        child_env = {**os.environ, **env, "LINKOLIS_HOME": home}
        workers = Workers(args, child_env) if url else None
        sync = (
            None
            if workers
            else subprocess.Popen(
                [
                    str(BIN / "linkolis"),
                    "sync",
                    "--watch",
                    "--workers",
                    str(args.workers),
                    "--interval",
                    str(args.interval),
                ],
                env=child_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        t0 = time.time()
        begin, end = t0 + args.warmup, t0 + args.warmup + args.measure
        # The driver writes on a connection of its own: sharing the poller's would share its read snapshot.
        driver = Driver(args, sim, Host(Path(home), env=env), sellers, t0, end)
        driver.start()
        log: list[list] = []
        due: dict[int, set[float]] = {}  # app id -> the import due times seen
        cpu_begin = None
        loads = []
        next_kill = t0 + args.kill_every if workers and args.kill_every else float("inf")
        while time.time() < end:
            time.sleep(1.0)
            log += sim.requests()
            for row in host.db.query("SELECT app_id, due_at FROM scheduler_state WHERE stream = 'import'"):
                due.setdefault(row["app_id"], set()).add(row["due_at"])
            if time.time() >= next_kill:
                workers.kill_one()
                next_kill += args.kill_every
            if cpu_begin is None and time.time() >= begin:
                cpu_begin = cpu_seconds(sync.pid) if sync else 0.0
                if workers:
                    workers.begin()
                    watch = PgWatch(server, url)
                    watch.begin()
                loads.append(load())
            elif cpu_begin is not None:
                loads.append(load())
        cpu = workers.cpu() if workers else cpu_seconds(sync.pid) - cpu_begin
        window = time.time() - begin
        in_window = sum(1 for entry in log if entry[1] == "searchOrders" and begin <= entry[0] < end)
        pg = watch.end(window, in_window) if workers else {}
        status = json.loads(
            subprocess.run(
                [str(BIN / "linkolis"), "sync", "status", "--json"], env=child_env, capture_output=True, text=True
            ).stdout
        )
        log += sim.requests()
        rss = workers.peak_rss() if workers else peak_rss_mb(sync.pid)
        driver.join()
        if workers:
            workers.stop()
        else:
            sync.send_signal(signal.SIGTERM)
            try:
                sync.wait(timeout=60)
            except subprocess.TimeoutExpired:
                sync.kill()
        truth = held_against_truth(sim, host, end, args.interval)
        truth["kills"] = workers.kills if workers else 0
        counters = sim.get("/_sim/counters")
        driver.host.close()
        host.close()
    sim.stop()
    result = figures(args, n, log, due, seller_of, driver, status, cpu, rss, begin, end, setup_s, loads, counters)
    result.update(truth, processes=args.processes)
    result.update(pg)
    result["within_bounds"] = result["within_bounds"] and not (
        truth["orders_twice"] or truth["orders_unknown"] or truth["orders_settled_missing"] or result["http_429"]
    )
    return result


def _due(status: dict) -> int | None:
    """Units due but not run: with ``linkolis worker``, the task queue's jobs due and not taken (the state rows of
    pushes that sent what was due are not queued again until the wake finds more); else the scheduler's depth."""
    queue = status.get("queue")
    if queue:
        return sum(q["due"] for q in queue["queues"].values())
    return status.get("queue_depth")


def figures(args, n, log, due, seller_of, driver, status, cpu, rss, begin, end, setup_s, loads, counters) -> dict:
    searches: dict[str, list[float]] = {}
    sent: dict[tuple[str, str], list[float]] = {}
    for at, op, seller, sku, _quantity in log:
        if op == "searchOrders":
            searches.setdefault(seller, []).append(at)
        else:
            sent.setdefault((seller, sku), []).append(at)
    rounds, lags, imports = [], [], 0
    for app_id, seller in seller_of.items():
        times = sorted(searches.get(seller, []))
        in_window = [t for t in times if begin <= t < end]
        imports += len(in_window)
        rounds += [b - a for a, b in zip(times, times[1:], strict=False) if begin <= b < end]
        for due_at in sorted(due.get(app_id, ())):
            if not begin <= due_at < end:
                continue
            after = [t for t in times if t >= due_at - 0.5]  # due_at is written rounded to the state row's float
            if after:
                lags.append(max(0.0, after[0] - due_at))
            else:
                lags.append(end - due_at)  # not run by the end: at least this late
    latencies, unsent = [], 0
    for change in driver.set:
        if not begin <= change["planned"] < end - STOCK_BOUND * 2:
            continue
        later = [t for t in sent.get((change["seller"], change["sku"]), []) if t >= change["committed"]]
        if later:
            latencies.append(later[0] - change["planned"])
        else:
            unsent += 1
    took = [c["took"] for c in driver.set]
    result = {
        "apps": n,
        "load_1min": r2(statistics.mean(loads)) if loads else None,
        "load_max": r2(max(loads, default=0.0)),
        "setup_s": round(setup_s, 1),
        "window_s": args.measure,
        "imports": imports,
        "round_p50_s": r2(percentile(rounds, 50)),
        "round_p95_s": r2(percentile(rounds, 95)),
        "lag_p50_s": r2(percentile(lags, 50)),
        "lag_p95_s": r2(percentile(lags, 95)),
        "lag_max_s": r2(max(lags, default=None)),
        "due_not_run": _due(status),
        "stock_changes": len(latencies) + unsent,
        "stock_p50_s": r2(percentile(latencies, 50)),
        "stock_p95_s": r2(percentile(latencies, 95)),
        "stock_max_s": r2(max(latencies, default=None)),
        "stock_unsent": unsent,
        "stock_set_p50_s": r2(percentile(took, 50)),
        "stock_set_p95_s": r2(percentile(took, 95)),
        "stock_set_max_s": r2(max(took, default=None)),
        "stock_set_refused": len(driver.refused),
        "orders_placed": len(driver.placed),
        "order_place_late_p95_s": r2(percentile(driver.placed, 95)),
        "cpu_share": r2(cpu / args.measure),
        "cpu_ms_per_app_round": r2(1000 * cpu / imports) if imports else None,
        "peak_rss_mb": round(rss, 1),
        "http_429": sum((counters.get("throttled") or {}).values())
        if isinstance(counters.get("throttled"), dict)
        else counters.get("throttled", 0),
    }
    result["within_bounds"] = bool(
        result["round_p50_s"] is not None
        and result["round_p50_s"] <= args.interval * 1.05
        and result["lag_p95_s"] is not None
        and result["lag_p95_s"] <= LAG_BOUND
        and result["stock_p95_s"] is not None
        and result["stock_p95_s"] <= STOCK_BOUND
        and unsent == 0
        and not driver.refused
    )
    return result


COLUMNS = [
    ("apps", "apps"),
    ("load_1min", "load"),
    ("round_p50_s", "rnd p50"),
    ("round_p95_s", "rnd p95"),
    ("lag_p50_s", "lag p50"),
    ("lag_p95_s", "lag p95"),
    ("lag_max_s", "lag max"),
    ("due_not_run", "due@end"),
    ("stock_p50_s", "stk p50"),
    ("stock_p95_s", "stk p95"),
    ("stock_unsent", "unsent"),
    ("stock_set_p95_s", "set p95"),
    ("stock_set_refused", "refused"),
    ("cpu_share", "cpu"),
    ("cpu_ms_per_app_round", "ms/round"),
    ("peak_rss_mb", "RSS MB"),
    ("http_429", "429s"),
    ("orders_twice", "twice"),
    ("orders_settled_missing", "missing"),
    ("kills", "kills"),
    ("pg_cpu_share", "pg cpu"),
    ("pg_commits_per_app_round", "pg tx/rnd"),
    ("write_lock_busy", "wl busy"),
    ("write_lock_waiting_mean", "wl wait"),
    ("within_bounds", "ok"),
]


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sweep", default="250,500,1000,2000", help="comma-separated app counts (default 250,...,2000)")
    p.add_argument("--workers", type=int, default=4, help="sync --watch's workers, or each worker's --concurrency")
    p.add_argument(
        "--processes", type=int, default=0, help="linkolis worker processes on PostgreSQL (0: sync --watch on SQLite)"
    )
    p.add_argument("--kill-every", type=float, default=0.0, help="with --processes: kill -9 a worker every S seconds")
    p.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="seconds each marketplace answer takes at the simulator (default 0: loopback; Amazon's are 0.13-0.18 s)",
    )
    p.add_argument("--interval", type=float, default=60.0)
    p.add_argument("--warmup", type=float, default=90.0, help="seconds before the window (default 90)")
    p.add_argument("--measure", type=float, default=180.0, help="seconds measured (default 180)")
    p.add_argument("--orders-per-hour", type=float, default=6.0, help="new orders per app per hour (default 6)")
    p.add_argument("--changes-per-hour", type=float, default=12.0, help="stock changes per app per hour (default 12)")
    p.add_argument("--orders", type=int, default=5, help="orders each seller has at the start (default 5)")
    p.add_argument("--skus", type=int, default=10, help="listings per seller (default 10)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print one JSON object per N")
    return p.parse_args(argv)


def main(argv: list[str]) -> None:
    args = parse(argv)
    results = []
    if not args.json:
        print(" ".join(f"{title:>9}" for _, title in COLUMNS), flush=True)
    for n in (int(v) for v in args.sweep.split(",")):
        result = run_one(args, n)
        results.append(result)
        if args.json:
            print(json.dumps(result), flush=True)
        else:
            print(" ".join(f"{_cell(result.get(key)):>9}" for key, _ in COLUMNS), flush=True)
    good = [r["apps"] for r in results if r["within_bounds"]]
    knee = max(good, default=None)
    engine = (
        f"{args.processes} worker processes of {args.workers} on PostgreSQL"
        if args.processes
        else f"sync --watch with {args.workers} workers on SQLite"
    )
    if args.kill_every:
        engine += f", one killed every {args.kill_every:g} s"
    if args.latency:
        engine += f", each marketplace answer after {args.latency:g} s"
    print(
        f"knee: {knee if knee else 'none'} apps within a {args.interval:g} s round, import lag p95 <= {LAG_BOUND:g} s "
        f"and stock latency p95 <= {STOCK_BOUND:g} s, no order twice or missing, no 429 ({engine}; load per row)",
        file=sys.stderr if args.json else sys.stdout,
    )


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


if __name__ == "__main__":
    main(sys.argv[1:])
