"""Orders and stock as one loop (issue 21), on a real clock: S Amazon apps over two or three marketplaces in one
workspace, N SKUs, buyers ordering on every app while `linkolis sync --watch` runs. How long until every other app
is offered what is left; whether any marketplace offers units that do not exist once linkolis knows of the order.

    .venv/bin/python bench/stock_loop.py                  (3 apps: DE, NL, FR of one account; 20 SKUs; ~8 minutes)
    .venv/bin/python bench/stock_loop.py --quick          (a smoke run of about 4 minutes)
    .venv/bin/python bench/stock_loop.py --apps 6 --skus 50 --rate 6 --minutes 4 --json

Three kinds of process, each on the machine's real clock. The Amazon simulator (`python -m linkolis_amazon.simulator`,
SystemClock, rate limits on as Amazon publishes them, listing changes visible at once, feeds queued 2 s and processed
5 s) holds one selling account per three apps, each listing the N SKUs merchant-fulfilled in its apps' marketplaces
with the on hand the bench chose. linkolis (`python -m linkolis_host sync --watch`: the real scheduler, its default
poll of 1 s, the import interval given here) serves one workspace with S Amazon apps, stock sync on, on hand set for
every SKU. The bench process is the buyers and the observer: after linkolis's first push has settled it places
orders through the simulator's admin route (POST /_sim/orders) at ``--rate`` a minute on every app (Poisson
arrivals; a random SKU, 1 or 2 units, never more than that marketplace offers and never more than on hand less the
open orders: a phantom unit a marketplace offers is counted, not bought), cancels some of them in Seller Central
(``--cancel``: some before linkolis imports them, some after, which it then releases), stops ordering after
``--minutes`` and waits until every order and cancellation is imported and pushed.

Every figure is taken from outside linkolis, so none is zero by construction:

- **commit**: linkolis's database is read (read-only, one read transaction) every 50 ms; a change of a SKU's
  reservation is the first poll that finds its ``stock_ledger`` line. That is an upper bound on the commit: the
  latencies below look up to 50 ms shorter than they are.
- **commit → every other app**: the simulator's ground truth (GET /_sim/stock) is read every 100 ms; a marketplace
  has the new available quantity when it shows it with a listing change made after the commit (Amazon's
  ``lastUpdatedDate``; visibility delay 0, so that is when Amazon processed the request). This adds up to 100 ms
  plus a ground-truth read (a few ms); ``lastUpdatedDate`` is in whole seconds, so a listing change counts from
  the second the previous database poll began in. Per change, the figure is the slowest of the other apps
  ("every other app"); each app's own figures are printed too. A change that needs no request (the marketplace
  already showed that quantity) is counted apart. The app where the order was placed is left out: Amazon lowered
  it itself.
- **oversell**: once a second, from the simulator's ground truth only (its offered quantity per marketplace and its
  open MERCHANT orders): per SKU, the sum over marketplaces of max(0, offered − (on hand − open orders)). A sample
  is "in the window" when an order placed but not yet seen in linkolis touches the SKU (expected > 0: the other
  marketplaces cannot know yet), "not shown yet" when linkolis committed a change of the SKU less than 30 s ago
  that some marketplace does not show yet (the latency above), else "settled": that must be 0. A buyer who finds
  a marketplace offering a unit that does not exist is counted as a phantom (and buys only what exists).
- **window**: an order placed at the marketplace → first seen in linkolis's database (Amazon lists an order only
  once it is 2 minutes old, and the plugin asks for orders updated at least 2.5 minutes ago, so it is at least
  150 s plus up to one import interval).
- **moved twice or never**: at the end, per SKU linkolis's reserved against the open orders the simulator holds,
  and per order its ledger lines: each line reserved exactly once, a cancelled one released exactly once. (The
  simulator gives a cancelled order's units back to its own marketplace's quantity, as Amazon does for a buyer's
  cancellation; linkolis releases them and pushes the larger quantity to the others, which the latency figures
  count as a change like any other.)
- **where the time goes**: commit → the first other app showing the change (the scheduler noticing it, one
  request), then → the last (the requests queued behind it); ``--details FILE`` runs linkolis with ``-vv`` (each
  request it sends logged, a cost of its own) and writes every change, order and log line with its moment.
- **Amazon's quota floor**: per change, the least time after its commit at which the last of its requests could
  have gone out had linkolis sent one patchListingsItem per other app the moment each change was committed, as
  fast as the account's bucket (5 a second, burst 5, shared by its marketplaces) allows: a lower bound no scheduler
  can beat when an import brings many SKUs' changes at once. "Beyond that floor" (latency less floor, per change)
  is an upper bound on the time linkolis itself added.
- **local cost of a reservation**: on a copy of the run's database, ``orders.store_orders`` of a few thousand
  orders in pages of 100 (as an import stores them) and one at a time, with ``reservations.settle_orders`` timed
  inside it; per order line, wall and CPU.

Targets (issue 21): 0 oversold units in the settled samples, and no unit sold beyond on hand; import → every other
app p95 <= 2 s, and no change that never shows; orders moved twice or never: 0 (with Amazon's open orders and the
reserved per SKU agreeing); the local cost of a reservation (``settle_orders``, pages of 100) under 1 ms per order
line. Each is printed as met or MISSED, and the exit status is 1 when one is missed.

Import interval: searchOrders allows 0.0056 calls a second with a burst of 20, per selling account, and the three
apps of an account share it (Amazon counts per selling partner and application). The default interval (90 s) keeps
a run inside the burst; sustained, an account's three apps can import only every 3 / 0.0056 = 536 s each, and the
window grows to match: the output says how many calls the run made and what the sustained interval would be.

What this clock hides. It is the machine's real clock, so the figures include what the machine does besides
linkolis: the simulator, the bench's own polling (three loops in another process) and whatever else runs (the load
average at start and end is printed; on a busy two-core machine a wake can wait for a core). It does not include
the internet: the simulator answers on loopback in milliseconds where Amazon takes 100-500 ms a call from Europe,
and it shows an accepted quantity at once where Amazon documents up to 15 minutes; so the real window in which a
marketplace still offers sold units is longer than measured here by Amazon's publication delay, and the latency is
longer by the round trips. The 50 ms database poll makes latencies look up to 50 ms shorter, the 100 ms truth poll
up to ~110 ms longer. The oversell is sampled once a second: a violation shorter than a second can be missed (one
that lasts, a wrong quantity, cannot). The window is Amazon's rule, not linkolis's work; and a run this short lives
on the searchOrders burst, which a longer one would not.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import heapq
import itertools
import json
import math
import os
import random
import shlex
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from benchkit import say, spread

ROOT = Path(__file__).resolve().parent.parent
OPEN = ("PENDING_AVAILABILITY", "PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED")  # Amazon's statuses that hold units
DB_POLL, TRUTH_POLL, SAMPLE_EVERY = 0.05, 0.1, 1.0
FEED_SECONDS = ("2", "5")  # the simulator's feed queue and processing seconds: quick, not what is measured
TARGET_LATENCY_P95 = 2.0
LATE = 30.0  # a change not shown everywhere this long after its commit no longer excuses an oversell
TARGET_RESERVATION_MS = 1.0
MARKETS_DEFAULT = ("DE", "NL", "FR")
CODE_UNDER_TEST = (
    "linkolis_host/stock.py",
    "linkolis_host/reservations.py",
    "linkolis_host/ledger.py",
    "linkolis_host/orders.py",
    "linkolis_host/scheduler.py",
    "plugins/amazon/linkolis_amazon/stock.py",
    "plugins/amazon/linkolis_amazon/orders.py",
)


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# -- the processes ----------------------------------------------------------------------------------------------


def _wait(process: subprocess.Popen, grace: float) -> dict[str, float]:
    """Reap ``process`` (killed after ``grace`` seconds) and return its own CPU seconds and peak RSS in MB."""
    deadline = time.monotonic() + grace
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return {
                "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
                "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
                "exit": process.returncode,
            }
        if time.monotonic() > deadline:
            process.kill()
            deadline = time.monotonic() + 10
        time.sleep(0.05)


class SimulatorProcess:
    """``python -m linkolis_amazon.simulator`` on the real clock, in a process of its own, asked over HTTP."""

    def __init__(self, workdir: Path, seed: int) -> None:
        self.out, self.err = workdir / "simulator.out", workdir / "simulator.err"
        command = [
            sys.executable, "-m", "linkolis_amazon.simulator", "--port", "0", "--seed", str(seed),
            "--orders", "0", "--skus", "0", "--new-orders-per-hour", "0", "--listing-delay", "0",
            "--feed-seconds", *FEED_SECONDS,
        ]  # fmt: skip
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        self.env: dict[str, str] = {}
        self.seller = ""
        deadline = time.monotonic() + 60
        while "Ctrl-C stops it." not in self.out.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                sys.stderr.write(self.err.read_text())
                raise SystemExit("the simulator did not start; its stderr is above")
            time.sleep(0.05)
        for line in self.out.read_text().splitlines():
            if line.startswith("export LINKOLIS_AMAZON_"):
                name, _, value = line.removeprefix("export ").partition("=")
                self.env[name] = shlex.split(value)[0]
            elif line.strip().startswith("seller "):
                self.seller = line.split()[1]
        self.base = self.env["LINKOLIS_AMAZON_ENDPOINT"]
        self.http = httpx.Client(base_url=self.base, timeout=60)

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.http.post(path, json=body)
        if response.status_code != 200:
            raise RuntimeError(f"POST {path} {body}: {response.status_code} {response.text}")
        return response.json()

    def stop(self) -> dict[str, float]:
        self.http.close()
        self.process.send_signal(signal.SIGINT)  # its KeyboardInterrupt shuts the server down
        return _wait(self.process, 10)


class LinkolisProcess:
    """``linkolis sync --watch`` in a process of its own; its stderr lines kept with the moment each was read."""

    def __init__(self, home: Path, env: dict[str, str], interval: float, workers: int, verbose: bool) -> None:
        command = [
            sys.executable, "-m", "linkolis_host", *(["-vv"] if verbose else []), "sync", "--watch",
            "--interval", str(interval), "--workers", str(workers),
        ]  # fmt: skip
        self.lines: list[tuple[float, str]] = []
        self.process = subprocess.Popen(
            command,
            env={**os.environ, **env, "LINKOLIS_HOME": str(home)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append((time.time(), line.rstrip("\n")))

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> dict[str, float]:
        self.process.send_signal(signal.SIGTERM)  # as Ctrl-C: running units end at their next request
        usage = _wait(self.process, 45)
        self.reader.join(timeout=5)
        return usage


# -- the world --------------------------------------------------------------------------------------------------


@dataclass
class Channel:
    """One app: a marketplace of one selling account."""

    app: str
    seller: str
    market: str
    mid: str
    app_id: int = 0


@dataclass
class Placed:
    ref: str
    channel: Channel
    sku: str
    quantity: int
    at: float
    cancelled_at: float | None = None
    cancel_after_import: bool = False  # the seller cancels it once linkolis has it (it then releases units)
    cancel_planned: bool = False


@dataclass
class Change:
    """A change of a SKU's available quantity that linkolis committed (first seen at ``seen``, not before
    ``after``), and when each marketplace showed it: ``right`` (the quantity, however it got there) and ``sent``
    (the quantity, with a listing change made after the commit: the request that carried it)."""

    sku: str
    seen: float
    after: float
    available: int
    origin: Channel | None
    causes: list[str]
    acceptable: set[int]
    others: list[Channel]
    every: list[Channel]
    right: dict[str, float] = field(default_factory=dict)
    sent: dict[str, float] = field(default_factory=dict)

    def settled(self) -> bool:
        return all(c.app in self.right for c in self.every)


class Loop:
    """What the bench knows, shared by its threads: orders placed, what linkolis committed, what Amazon shows."""

    def __init__(self, channels: list[Channel], on_hand: dict[str, int]) -> None:
        self.channels = channels
        self.by_app_id = {c.app_id: c for c in channels}
        self.on_hand = on_hand
        self.lock = threading.Lock()
        self.placed: dict[str, Placed] = {}
        self.imported: dict[str, float] = {}  # order ref -> first seen in linkolis's database
        self.cancel_seen: dict[str, float] = {}
        self.unexpected: list[str] = []
        self.order_refs: dict[int, str] = {}
        self.changes: list[Change] = []
        self.no_change = 0
        self.last_ledger_id = 0
        self.last_order_id = 0
        self.db_polls = 0
        self.failed: str | None = None  # a watcher that died: the run stops
        self.truth_polls = 0

    # from linkolis's database
    def observe(self, after: float, seen: float, orders: list[tuple], cancelled: list[tuple], ledger: list[tuple]):
        with self.lock:
            self.db_polls += 1
            for order_id, ref in orders:
                self.order_refs[order_id] = ref
                self.last_order_id = max(self.last_order_id, order_id)
                if ref in self.placed:
                    self.imported.setdefault(ref, seen)
                else:
                    self.unexpected.append(ref)
            for (ref,) in cancelled:
                self.cancel_seen.setdefault(ref, seen)
            by_sku: dict[str, list[tuple]] = {}
            for row in ledger:
                self.last_ledger_id = max(self.last_ledger_id, row[0])
                by_sku.setdefault(row[1], []).append(row)
            for sku, rows in by_sku.items():
                self._changed(sku, rows, after, seen)

    def _changed(self, sku: str, rows: list[tuple], after: float, seen: float) -> None:
        _, _, _, first_hand_change, first_reserved_change, first_hand, first_reserved, _ = rows[0]
        _, _, _, _, _, on_hand, reserved, _ = rows[-1]
        if on_hand is None or first_hand is None:
            return
        before = max(0, (first_hand - first_hand_change) - (first_reserved - first_reserved_change))
        now = max(0, on_hand - reserved)
        for earlier in self.changes:
            if earlier.sku == sku and not earlier.settled():
                earlier.acceptable.add(now)  # a later quantity carries an earlier one
        if now == before:
            self.no_change += 1
            return
        origins = {r[7] for r in rows}
        origin = self.by_app_id.get(next(iter(origins))) if len(origins) == 1 else None
        self.changes.append(
            Change(
                sku=sku,
                seen=seen,
                after=after,
                available=now,
                origin=origin,
                causes=[r[2] for r in rows],
                acceptable={now},
                others=[c for c in self.channels if c is not origin],
                every=list(self.channels),
            )
        )

    # from the simulator's ground truth
    def shown(self, truth: dict[str, Any], at: float) -> None:
        with self.lock:
            self.truth_polls += 1
            for change in self.changes:
                if change.settled() and all(c.app in change.sent for c in change.others):
                    continue
                for channel in change.every:
                    offer = truth.get(channel.seller, {}).get(change.sku, {}).get(channel.mid)
                    if offer is None or offer["quantity"] not in change.acceptable:
                        continue
                    change.right.setdefault(channel.app, at)
                    if channel is not change.origin and epoch(offer["lastUpdatedDate"]) >= math.floor(change.after):
                        change.sent.setdefault(channel.app, at)

    def in_window(self, sku: str) -> bool:
        return any(p.sku == sku and p.ref not in self.imported for p in self.placed.values())

    def unsettled(self, sku: str, now: float) -> bool:
        """A change of the SKU committed less than ``LATE`` seconds ago is not shown everywhere yet."""
        return any(c.sku == sku and not c.settled() and now - c.seen < LATE for c in self.changes)


class DatabaseWatcher(threading.Thread):
    """linkolis's database, read-only, every 50 ms: orders first seen, cancellations, new ledger lines."""

    def __init__(self, path: Path, loop: Loop, stop: threading.Event) -> None:
        super().__init__(daemon=True, name="database-watcher")
        self.path, self.loop, self.stop = path, loop, stop

    def run(self) -> None:
        try:
            self._watch()
        except BaseException as exc:
            self.loop.failed = f"{self.name}: {exc!r}"
            raise

    def _watch(self) -> None:
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 5000")
        previous = time.time()
        while not self.stop.is_set():
            started = time.time()
            conn.execute("BEGIN")
            orders = conn.execute(
                "SELECT id, marketplace_order_id FROM orders WHERE id > ? ORDER BY id", (self.loop.last_order_id,)
            ).fetchall()
            cancelled = conn.execute("SELECT marketplace_order_id FROM orders WHERE status = 'cancelled'").fetchall()
            ledger = conn.execute(
                "SELECT id, sku, cause, on_hand_change, reserved_change, on_hand, reserved, app_id FROM stock_ledger "
                "WHERE id > ? ORDER BY id",
                (self.loop.last_ledger_id,),
            ).fetchall()
            conn.execute("COMMIT")
            # What this read found was committed after the previous read began and before this one ended.
            self.loop.observe(previous, time.time(), orders, cancelled, ledger)
            previous = started
            self.stop.wait(max(0.0, DB_POLL - (time.time() - started)))
        conn.close()


class TruthWatcher(threading.Thread):
    """The simulator's ground truth (every seller's offers) every 100 ms."""

    def __init__(self, base: str, loop: Loop, stop: threading.Event) -> None:
        super().__init__(daemon=True, name="truth-watcher")
        self.base, self.loop, self.stop = base, loop, stop

    def run(self) -> None:
        try:
            self._watch()
        except BaseException as exc:
            self.loop.failed = f"{self.name}: {exc!r}"
            raise

    def _watch(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as http:
            while not self.stop.is_set():
                started = time.time()
                truth = http.get("/_sim/stock").json()
                self.loop.shown(truth, time.time())
                self.stop.wait(max(0.0, TRUTH_POLL - (time.time() - started)))


# -- setting up -------------------------------------------------------------------------------------------------


def plan_channels(apps: int, markets: list[str]) -> tuple[list[Channel], list[str]]:
    """App k sells in marketplace k mod M of account k div M; the first account is the simulator's default one."""
    from linkolis_amazon.simulator.marketplaces import resolve

    sellers: list[str] = []
    channels = []
    for k in range(apps):
        account = k // len(markets)
        market = markets[k % len(markets)]
        if account == len(sellers):
            sellers.append("" if account == 0 else f"A1SIMS{account + 1:08d}")
        name = f"Amazon {market}" + ("" if account == 0 else f" {account + 1}")
        channels.append(Channel(name, sellers[account], market, resolve(market).id))
    return channels, sellers


def set_up(args: argparse.Namespace, sim: SimulatorProcess, home: Path) -> tuple[list[Channel], dict[str, int]]:
    from linkolis_host import stock
    from linkolis_host.apps import authorize_direct, install
    from linkolis_host.host import Host

    channels, sellers = plan_channels(args.apps, args.marketplaces)
    sellers[0] = sim.seller
    for channel in channels:
        channel.seller = channel.seller or sim.seller
    rng = random.Random(args.seed)
    skus = [f"LOOP-{n:05d}" for n in range(args.skus)]
    low, high = args.on_hand
    on_hand = {sku: rng.randint(low, high) for sku in skus}
    tokens = {}
    for seller in sellers:
        markets = [c.market for c in channels if c.seller == seller]
        if seller != sim.seller:
            sim.post("/_sim/accounts", {"selling_partner_id": seller, "marketplaces": markets})
        for sku in skus:
            sim.post(
                "/_sim/listings", {"sku": sku, "marketplaces": markets, "quantity": on_hand[sku], "seller_id": seller}
            )
        tokens[seller] = sim.post("/_sim/authorize", {"selling_partner_id": seller})["refresh_token"]
    host = Host(home, env=sim.env)
    try:
        for channel in channels:
            install(host, "amazon", {"name": channel.app, "marketplace": channel.market, "stock_sync": True})
            authorize_direct(
                host, channel.app, {"refresh_token": tokens[channel.seller], "selling_partner_id": channel.seller}
            )
        for sku in skus:
            stock.set_stock(host, sku, on_hand[sku], by="bench")
        ids = dict(host.db.execute("SELECT name, id FROM apps").fetchall())
    finally:
        host.close()
    for channel in channels:
        channel.app_id = ids[channel.app]
    return channels, on_hand


def wait_first_sync(args, db_path: Path, linkolis: LinkolisProcess, channels: list[Channel], skus: int) -> float:
    """Until every app has imported once and every SKU was pushed to it and accepted; returns the seconds taken."""
    started = time.time()
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None)
    try:
        while True:
            accepted = conn.execute("SELECT COUNT(*) FROM stock_pushes WHERE outcome = 'accepted'").fetchone()[0]
            imported = conn.execute("SELECT COUNT(DISTINCT app_id) FROM sync_cursors").fetchone()[0]
            if accepted >= skus * len(channels) and imported >= len(channels):
                return time.time() - started
            if not linkolis.alive() or time.time() - started > 300:
                sys.stderr.write("\n".join(line for _, line in linkolis.lines[-30:]) + "\n")
                raise SystemExit(f"linkolis's first sync did not finish ({accepted} pushes accepted, {imported} apps "
                                 "imported); its last lines are above")  # fmt: skip
            time.sleep(0.2)
    finally:
        conn.close()


# -- the buyers and the observer --------------------------------------------------------------------------------


class Buyers:
    """Orders on every app at Poisson moments, some cancelled later in Seller Central; and once a second the
    oversell, from the simulator's ground truth only."""

    def __init__(self, args: argparse.Namespace, sim: SimulatorProcess, loop: Loop) -> None:
        self.args, self.sim, self.loop = args, sim, loop
        self.rng = random.Random(args.seed + 1)
        self.tie = itertools.count()  # heap order among events at one moment
        self.skus = sorted(loop.on_hand)
        self.open_units = dict.fromkeys(self.skus, 0)  # the bench's own book of open orders, checked at the end
        self.not_offered = 0
        self.phantom_orders = 0
        self.phantom_units = 0
        self.samples: dict[str, dict[str, float]] = {
            name: {"sku_samples": 0, "with_oversell": 0, "unit_samples": 0, "max_units": 0}
            for name in ("window", "before_push", "settled")
        }
        self.sold_beyond_on_hand = 0
        self.settled_violations: list[dict[str, Any]] = []

    def plan(self, start: float) -> list[tuple[float, int, str, Any]]:
        events: list[tuple[float, int, str, Any]] = []
        length = self.args.minutes * 60
        for channel in self.loop.channels:
            at = start
            while True:
                at += self.rng.expovariate(self.args.rate / 60)
                if at >= start + length:
                    break
                events.append((at, next(self.tie), "order", channel))
        heapq.heapify(events)
        return events

    def order(self, channel: Channel, events: list, end: float) -> None:
        sku = self.rng.choice(self.skus)
        want = self.rng.randint(1, 2)
        offers = self.sim.get("/_sim/stock", seller_id=channel.seller)[channel.seller]
        offered = offers[sku][channel.mid]["quantity"]
        exists = self.loop.on_hand[sku] - self.open_units[sku]
        if offered <= 0:
            self.not_offered += 1
            return
        buy = min(want, offered)
        if buy > exists:  # the marketplace offers units that do not exist: a real buyer would buy them
            self.phantom_orders += 1
            self.phantom_units += buy - max(0, exists)
            buy = exists
        if buy <= 0:
            return
        at = time.time()
        ref = self.sim.post(
            "/_sim/orders", {"items": [[sku, buy]], "marketplace": channel.market, "seller_id": channel.seller}
        )["orderId"]
        self.open_units[sku] += buy
        placed = Placed(ref, channel, sku, buy, at)
        with self.loop.lock:
            self.loop.placed[ref] = placed
        # Every 1/cancel-th order, so a short run has its share: one placed in the first half of the ordering is
        # cancelled once linkolis has it (it is imported early enough), a later one before linkolis imports it.
        number = len(self.loop.placed) - 1
        if int((number + 1) * self.args.cancel) > int(number * self.args.cancel):
            if at < end - self.args.minutes * 30:
                placed.cancel_after_import = True
            elif end - at > 10:
                heapq.heappush(events, (at + self.rng.uniform(10, min(90, end - at)), next(self.tie), "cancel", ref))

    def plan_cancellations(self, events: list, until: float) -> None:
        """Orders to cancel once imported: 2-20 s after linkolis has them, if that is before ``until``."""
        with self.loop.lock:
            for ref, placed in self.loop.placed.items():
                if placed.cancel_after_import and not placed.cancel_planned and ref in self.loop.imported:
                    placed.cancel_planned = True
                    cancel_at = self.loop.imported[ref] + self.rng.uniform(2, 20)
                    if cancel_at < until:
                        heapq.heappush(events, (cancel_at, next(self.tie), "cancel", ref))

    def cancel(self, ref: str) -> None:
        placed = self.loop.placed[ref]
        self.sim.post(f"/_sim/orders/{ref}/cancel", {})
        placed.cancelled_at = time.time()
        self.open_units[placed.sku] -= placed.quantity

    def sample(self) -> None:
        orders = self.sim.get("/_sim/orders")["orders"]
        truth = self.sim.get("/_sim/stock")
        now = time.time()
        held = dict.fromkeys(self.skus, 0)
        for order in orders:
            if order["status"] in OPEN and order["fulfilledBy"] == "MERCHANT":
                for item in order["items"]:
                    held[item["sku"]] = held.get(item["sku"], 0) + item["quantity"]
        with self.loop.lock:
            for sku in self.skus:
                exists = self.loop.on_hand[sku] - held[sku]
                self.sold_beyond_on_hand = max(self.sold_beyond_on_hand, -exists)
                offered = {c.app: truth[c.seller][sku][c.mid]["quantity"] for c in self.loop.channels}
                units = sum(max(0, q - max(0, exists)) for q in offered.values())
                if self.loop.in_window(sku):
                    kind = "window"
                elif self.loop.unsettled(sku, now):
                    kind = "before_push"
                else:
                    kind = "settled"
                    if units:
                        self.settled_violations.append(
                            {"at": round(now, 1), "sku": sku, "exists": exists, "offered": offered}
                        )
                tally = self.samples[kind]
                tally["sku_samples"] += 1
                tally["with_oversell"] += bool(units)
                tally["unit_samples"] += units
                tally["max_units"] = max(tally["max_units"], units)

    def drained(self) -> bool:
        with self.loop.lock:
            return (
                all(ref in self.loop.imported for ref in self.loop.placed)
                and all(ref in self.loop.cancel_seen for ref, p in self.loop.placed.items() if p.cancelled_at)
                and all(c.settled() for c in self.loop.changes)
            )

    def run(self, linkolis: LinkolisProcess) -> dict[str, float]:
        start = time.time()
        end = start + self.args.minutes * 60
        events = self.plan(start)
        give_up = end + self.args.settle + 2 * self.args.interval + 180
        next_sample = start
        next_word = start + 30
        drained_at = None
        while True:
            now = time.time()
            # A cancellation of an imported order lands at most one import round after the last orders.
            self.plan_cancellations(events, end + self.args.interval)
            while events and events[0][0] <= now:
                _, _, kind, what = heapq.heappop(events)
                if kind == "order":
                    self.order(what, events, end)
                else:
                    self.cancel(what)
            if now >= next_sample:
                self.sample()
                next_sample += SAMPLE_EVERY
                if now >= end and not events:
                    if drained_at is None and self.drained():
                        drained_at = now
                    if drained_at is not None and now - drained_at >= 5:  # a few settled samples after the last
                        break
                    if now > give_up:
                        break
            if now >= next_word:
                next_word += 30
                with self.loop.lock:
                    placed, seen = len(self.loop.placed), len(self.loop.imported)
                    open_changes = sum(1 for c in self.loop.changes if not c.settled())
                phase = "ordering" if now < end else "waiting for the last imports"
                say(self.args, f"  {now - start:5.0f} s {phase}: {placed} orders placed, {seen} imported, "
                               f"{open_changes} changes not shown everywhere yet")  # fmt: skip
            if self.loop.failed:
                raise SystemExit(f"the bench's {self.loop.failed}")
            if not linkolis.alive():
                tail = "\n".join(line for _, line in linkolis.lines[-20:])
                raise SystemExit(f"linkolis stopped during the run; its last lines:\n{tail}")
            wait = min([next_sample, next_word] + ([events[0][0]] if events else [])) - time.time()
            if wait > 0:
                time.sleep(wait)
        return {"ordering_s": round(end - start, 1), "waited_s": round(time.time() - end, 1),
                "drained": drained_at is not None}  # fmt: skip


# -- after the run ----------------------------------------------------------------------------------------------


def reconcile(db_path: Path, sim: SimulatorProcess, loop: Loop, buyers: Buyers) -> dict[str, Any]:
    """Orders moved twice or never: linkolis's reserved per SKU against the simulator's open orders, each order's
    ledger lines against what the order is at Amazon."""
    truth = {o["orderId"]: o for o in sim.get("/_sim/orders")["orders"]}
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        levels = {sku: (q, r) for sku, q, r in conn.execute("SELECT sku, quantity, reserved FROM desired_stock")}
        lines: dict[str, list[tuple[str, int]]] = {}
        for ref, cause, change in conn.execute(
            "SELECT o.marketplace_order_id, l.cause, l.reserved_change FROM stock_ledger l JOIN orders o "
            "ON o.id = l.order_id ORDER BY l.id"
        ):
            lines.setdefault(ref, []).append((cause, change))
        held = dict(
            conn.execute(
                "SELECT o.marketplace_order_id, SUM(s.reserved) FROM line_stock s JOIN orders o ON o.id = s.order_id "
                "GROUP BY o.id"
            ).fetchall()
        )
        imported = {r for (r,) in conn.execute("SELECT marketplace_order_id FROM orders")}
    finally:
        conn.close()
    held_open = dict.fromkeys(loop.on_hand, 0)
    twice, never, not_imported = [], [], []
    for ref, order in truth.items():
        quantity = sum(i["quantity"] for i in order["items"])
        is_open = order["status"] in OPEN
        if is_open:
            for item in order["items"]:
                held_open[item["sku"]] += item["quantity"]
        if ref not in imported:
            not_imported.append(ref)
            continue
        mine = lines.get(ref, [])
        reserved = sum(c for cause, c in mine if cause == "reserved")
        released = -sum(c for cause, c in mine if cause == "released")
        reserving_lines = sum(1 for cause, _ in mine if cause == "reserved")
        releasing_lines = sum(1 for cause, _ in mine if cause == "released")
        net = sum(c for _, c in mine)
        expected = quantity if is_open else 0
        if reserving_lines > 1 or releasing_lines > 1 or reserved > quantity or released > quantity or net > expected:
            twice.append({"order": ref, "status": order["status"], "ledger": mine})
        elif net < expected or (is_open and held.get(ref, 0) != quantity):
            never.append({"order": ref, "status": order["status"], "ledger": mine, "line_stock": held.get(ref)})
    wrong_skus = [
        {"sku": sku, "linkolis": levels.get(sku), "on_hand": loop.on_hand[sku], "open_at_amazon": held_open[sku]}
        for sku in loop.on_hand
        if levels.get(sku) != (loop.on_hand[sku], held_open[sku])
    ]
    book = [sku for sku in loop.on_hand if held_open[sku] != buyers.open_units[sku]]
    return {
        "orders_at_amazon": len(truth),
        "cancelled_at_amazon": sum(1 for o in truth.values() if o["status"] == "CANCELLED"),
        "moved_twice": len(twice),
        "moved_never": len(never),
        "never_imported": len(not_imported),
        "imported_not_placed": len(loop.unexpected),
        "skus_reserved_wrong": len(wrong_skus),
        "bench_book_differs": len(book),  # the bench's own bookkeeping against Amazon's: must be 0 to trust the rest
        "details": {"twice": twice[:5], "never": never[:5], "not_imported": not_imported[:5], "skus": wrong_skus[:5]},
    }


def reservation_cost(db_path: Path, env: dict[str, str], app_id: int, skus: list[str], count: int) -> dict[str, Any]:
    """``orders.store_orders`` on a copy of the run's database, as an import stores pages, with
    ``reservations.settle_orders`` timed inside it (wall and CPU), per order line."""
    from decimal import Decimal

    from linkolis_host import orders, reservations
    from linkolis_host.host import Host
    from linkolis_host.models import Order, OrderLine

    rng = random.Random(7)
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as copy:
        source = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        target = sqlite3.connect(Path(copy) / db_path.name)
        source.backup(target)
        source.close()
        target.close()
        host = Host(Path(copy), env=env)
        settle = {"wall": 0.0, "cpu": 0.0}
        original = reservations.settle_orders

        def timed(*a: Any, **k: Any) -> Any:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return original(*a, **k)
            finally:
                settle["wall"] += time.perf_counter() - wall
                settle["cpu"] += time.thread_time() - cpu

        def made(n: int, prefix: str) -> list[Order]:
            return [
                Order(
                    marketplace_order_id=f"{prefix}-{k:06d}",
                    marketplace="A1PA6795UKMFR9",
                    status="pending",
                    marketplace_status="Pending",
                    fulfilled_by="merchant",
                    created_at=now - timedelta(seconds=n - k),
                    updated_at=now - timedelta(seconds=n - k),
                    currency="EUR",
                    total=Decimal("19.99"),
                    lines=[OrderLine(line_id=f"{k:06d}01", sku=rng.choice(skus), quantity_ordered=rng.randint(1, 2))],
                )
                for k in range(n)
            ]

        results = {}
        reservations.settle_orders = timed
        try:
            for label, page, n in (("pages_of_100", 100, count), ("one_at_a_time", 1, max(100, count // 10))):
                batch = made(n, f"COST-{page}")
                settle["wall"] = settle["cpu"] = 0.0
                wall, cpu = time.perf_counter(), time.process_time()
                for start in range(0, n, page):
                    with host.db.atomic():
                        orders.store_orders(host, app_id, batch[start : start + page])
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                results[label] = {
                    "orders": n,
                    "settle_ms_per_line": round(1000 * settle["wall"] / n, 3),
                    "settle_cpu_ms_per_line": round(1000 * settle["cpu"] / n, 3),
                    "store_ms_per_order": round(1000 * wall / n, 3),
                    "store_cpu_ms_per_order": round(1000 * cpu / n, 3),
                }
        finally:
            reservations.settle_orders = original
            host.close()
    return results


def write_details(path: Path, loop: Loop, linkolis: LinkolisProcess) -> None:
    """Everything the figures come from, for finding where a slow change's time went."""
    changes = [
        {
            "sku": c.sku,
            "after": c.after,
            "seen": c.seen,
            "available": c.available,
            "origin": c.origin.app if c.origin else None,
            "causes": c.causes,
            "acceptable": sorted(c.acceptable),
            "sent": c.sent,
            "right": c.right,
        }
        for c in loop.changes
    ]
    orders = [
        {
            "ref": p.ref,
            "app": p.channel.app,
            "sku": p.sku,
            "quantity": p.quantity,
            "at": p.at,
            "imported": loop.imported.get(p.ref),
            "cancelled_at": p.cancelled_at,
            "cancel_seen": loop.cancel_seen.get(p.ref),
        }
        for p in loop.placed.values()
    ]
    path.write_text(json.dumps({"changes": changes, "orders": orders, "linkolis": linkolis.lines}, indent=1))


def fingerprint() -> str:
    """The code measured, as it was (the working tree moves under other hands): a hash of its files."""
    digest = hashlib.sha256()
    for name in CODE_UNDER_TEST:
        path = ROOT / name
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:12]


def profile(loop: Loop, linkolis: LinkolisProcess) -> dict[str, Any]:
    """Where a change's time goes, seen from outside: commit → the first other app showing it (the scheduler noticing
    the change, and one request), then → the last one (the requests queued behind it); and, when linkolis logs its
    requests (``--details``), commit → the first PATCH it logged as answered after the commit."""
    first, rest = [], []
    for change in loop.changes:
        waits = [change.sent[c.app] - change.seen for c in change.others if c.app in change.sent]
        if waits and len(waits) == len(change.others):
            first.append(min(waits))
            rest.append(max(waits) - min(waits))
    patches = sorted(at for at, line in linkolis.lines if "PATCH /listings/" in line)
    to_patch = []
    for change in loop.changes if patches else []:
        at = bisect.bisect_left(patches, change.after)
        if at < len(patches):
            to_patch.append(patches[at] - change.seen)
    return {
        "commit_to_first_other_app_s": spread(first),
        "first_to_last_other_app_s": spread(rest),
        "commit_to_first_patch_logged_s": spread(to_patch),
    }


# -- the run ----------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    from linkolis_amazon.client import RATE_LIMITS
    from linkolis_amazon.orders import SETTLE

    args.settle = SETTLE.total_seconds()
    figures: dict[str, Any] = {
        "apps": args.apps,
        "marketplaces": args.marketplaces,
        "skus": args.skus,
        "rate_per_min_per_app": args.rate,
        "minutes": args.minutes,
        "import_interval_s": args.interval,
        "poll_s": None,
        "workers": args.workers,
        "cancel_share": args.cancel,
        "on_hand_range": list(args.on_hand),
        "code": fingerprint(),
        "cpus": os.cpu_count(),
        "load_start": [round(x, 2) for x in os.getloadavg()],
    }
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="stock-loop-") as work:
        work_dir = Path(work)
        home = work_dir / "home"
        home.mkdir()
        say(args, "starting the simulator")
        sim = SimulatorProcess(work_dir, args.seed)
        linkolis = None
        stop = threading.Event()
        try:
            say(args, f"setting up {args.apps} apps, {args.skus} SKUs")
            channels, on_hand = set_up(args, sim, home)
            from linkolis_host.host import Host

            with Host(home, env=sim.env) as host:
                figures["poll_s"] = host.config.sync.push_interval
            db_path = home / "linkolis.db"
            linkolis = LinkolisProcess(home, sim.env, args.interval, args.workers, verbose=args.details is not None)
            say(args, "linkolis sync --watch started; waiting for its first import and push")
            figures["first_sync_s"] = round(wait_first_sync(args, db_path, linkolis, channels, args.skus), 1)
            loop = Loop(channels, on_hand)
            conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
            loop.last_ledger_id = conn.execute("SELECT COALESCE(MAX(id), 0) FROM stock_ledger").fetchone()[0]
            loop.last_order_id = conn.execute("SELECT COALESCE(MAX(id), 0) FROM orders").fetchone()[0]
            conn.close()
            counters_before = sim.get("/_sim/counters")
            watchers = [DatabaseWatcher(db_path, loop, stop), TruthWatcher(sim.base, loop, stop)]
            for watcher in watchers:
                watcher.start()
            say(args, f"ordering for {args.minutes} min, then waiting until every order is imported and pushed")
            buyers = Buyers(args, sim, loop)
            figures["phases"] = buyers.run(linkolis)
            stop.set()
            for watcher in watchers:
                watcher.join(timeout=10)
            figures["load_end"] = [round(x, 2) for x in os.getloadavg()]
            counters = sim.get("/_sim/counters")
            args.run_seconds = time.time() - started
            figures["linkolis"] = linkolis.stop()
            figures["reconcile"] = reconcile(db_path, sim, loop, buyers)
        finally:
            stop.set()
            if linkolis is not None and linkolis.alive():
                linkolis.stop()
            figures["simulator"] = sim.stop()
        figures.update(summarize(loop, buyers, counters, counters_before, channels, RATE_LIMITS, args))
        figures["profile"] = profile(loop, linkolis)
        if args.details:
            write_details(args.details, loop, linkolis)
        troubles = [line for _, line in linkolis.lines if ("failed" in line or "rror" in line) and "DEBUG" not in line]
        figures["linkolis_troubles"] = troubles[:10]
        say(args, f"timing reservations on a copy of the database ({args.cost_orders:,} orders)")
        figures["reservation_cost"] = reservation_cost(
            db_path, sim.env, channels[0].app_id, sorted(on_hand), args.cost_orders
        )
    figures["run_s"] = round(time.time() - started, 1)
    figures["targets"] = targets(figures)
    return figures


def summarize(loop, buyers, counters, before, channels, limits, args) -> dict[str, Any]:
    every_other, per_app, needed_none, never_shown = [], {c.app: [] for c in channels}, 0, 0
    by_cause = {"reserved": [], "released": []}
    for change in loop.changes:
        waits = []
        for channel in change.others:
            if channel.app in change.sent:
                waits.append(change.sent[channel.app] - change.seen)
                per_app[channel.app].append(change.sent[channel.app] - change.seen)
            elif channel.app in change.right:
                needed_none += 1  # shown already (or by a later quantity) with no request after the commit
            else:
                never_shown += 1
        if waits and len(waits) == len(change.others):
            every_other.append(max(waits))
            cause = "released" if all(c == "released" for c in change.causes) else "reserved"
            by_cause[cause].append(max(waits))
    floors = quota_floors(loop, limits["patchListingsItem"])
    beyond = [
        max(waits) - floors[id(change)]
        for change in loop.changes
        if len(waits := [change.sent[c.app] - change.seen for c in change.others if c.app in change.sent])
        == len(change.others)
    ]
    # An order cancelled before it was imported is listed only once its cancellation is 2.5 minutes old: not a window.
    window = [
        loop.imported[ref] - p.at
        for ref, p in loop.placed.items()
        if ref in loop.imported and not (p.cancelled_at and p.cancelled_at < loop.imported[ref])
    ]
    cancel_window = [
        loop.cancel_seen[ref] - p.cancelled_at
        for ref, p in loop.placed.items()
        if p.cancelled_at and ref in loop.cancel_seen and ref in loop.imported
    ]

    def calls(name: str) -> int:
        return counters["calls"].get(name, 0) - before["calls"].get(name, 0)

    search = limits["searchOrders"]
    accounts = len({c.seller for c in channels})
    per_account = math.ceil(len(channels) / accounts)
    return {
        "orders_placed": len(loop.placed),
        "orders_cancelled": sum(1 for p in loop.placed.values() if p.cancelled_at),
        "held_back_not_offered": buyers.not_offered,
        "phantom_orders": buyers.phantom_orders,
        "phantom_units": buyers.phantom_units,
        "changes": len(loop.changes),
        "changes_without_effect": loop.no_change,
        "latency_every_other_app_s": spread(every_other),
        "latency_every_other_app_by_cause_s": {k: spread(v) for k, v in by_cause.items()},
        "quota_floor_every_other_app_s": spread([floors[id(c)] for c in loop.changes if c.others]),
        "beyond_quota_floor_every_other_app_s": spread(beyond),
        "latency_per_app_s": {app: spread(v) for app, v in per_app.items()},
        "shown_without_own_request": needed_none,
        "never_shown": never_shown,
        "window_placed_to_imported_s": spread(window),
        "cancellation_to_imported_s": spread(cancel_window),
        "oversell": buyers.samples,
        "settled_violations": buyers.settled_violations[:10],
        "sold_beyond_on_hand": buyers.sold_beyond_on_hand,
        "polls": {"database": loop.db_polls, "truth": loop.truth_polls},
        "amazon_calls_during_run": {
            name: calls(name)
            for name in ("searchOrders", "searchListingsItems", "patchListingsItem", "createFeed", "lwaToken")
        },
        "amazon_429s_first_sync": before.get("throttled", {}),
        "amazon_429s_during_run": {
            op: n - before["throttled"].get(op, 0)
            for op, n in counters.get("throttled", {}).items()
            if n - before["throttled"].get(op, 0)
        },
        "search_orders_quota": {
            "rate": search.rate,
            "burst": search.burst,
            "accounts": accounts,
            "apps_per_account": per_account,
            "sustained_interval_s": round(per_account / search.rate, 1),
            "calls_whole_run": counters["calls"].get("searchOrders", 0),
            "allowed_whole_run": round(accounts * (search.burst + search.rate * args.run_seconds), 1),
        },
    }


def quota_floors(loop: Loop, patch: Any) -> dict[int, float]:
    """Per change, the least time after its commit at which its last request could go out, had linkolis sent one
    patchListingsItem per other app and change the moment each change was committed, oldest change first, as fast
    as the account's bucket allows (``patch.rate`` a second, ``patch.burst`` at once, full when the first change
    is committed, shared by the account's marketplaces). A lower bound on what any scheduler could do with
    Amazon's published quota: ``latency - floor`` is an upper bound on the time linkolis itself added."""
    floors: dict[int, float] = {}
    buckets: dict[str, list[float]] = {}  # seller -> [tokens, at, last send]
    for change in sorted(loop.changes, key=lambda c: c.seen):
        last = change.seen
        for channel in change.others:
            tokens, at, sent = buckets.setdefault(channel.seller, [float(patch.burst), change.seen, 0.0])
            t = max(change.seen, sent)
            tokens = min(float(patch.burst), tokens + (t - at) * patch.rate)
            if tokens < 1:
                t += (1 - tokens) / patch.rate
                tokens = 1.0
            buckets[channel.seller] = [tokens - 1, t, t]
            last = max(last, t)
        floors[id(change)] = last - change.seen
    return floors


def targets(f: dict[str, Any]) -> dict[str, dict[str, Any]]:
    settled = f["oversell"]["settled"]
    latency = f["latency_every_other_app_s"]["p95"]
    cost = f["reservation_cost"]["pages_of_100"]["settle_ms_per_line"]
    r = f["reconcile"]
    wrong = r["moved_twice"] + r["moved_never"] + r["never_imported"] + r["skus_reserved_wrong"]
    return {
        "0 oversold units once an order is imported (settled samples)": {
            "measured": settled["unit_samples"],
            "met": settled["unit_samples"] == 0 and f["sold_beyond_on_hand"] == 0,
        },
        f"import -> every other app p95 <= {TARGET_LATENCY_P95:g} s": {
            "measured": latency,
            "met": latency is not None and latency <= TARGET_LATENCY_P95 and f["never_shown"] == 0,
        },
        "orders moved twice or never: 0": {"measured": wrong, "met": wrong == 0 and r["bench_book_differs"] == 0},
        f"local cost of a reservation < {TARGET_RESERVATION_MS:g} ms (per line, pages of 100)": {
            "measured": cost,
            "met": cost < TARGET_RESERVATION_MS,
        },
    }


# -- output -----------------------------------------------------------------------------------------------------


def show(f: dict[str, Any]) -> None:
    def row(name: str, s: dict[str, Any], unit: str = "s") -> str:
        cells = "".join(f"{'-' if s[k] is None else format(s[k], '.3f'):>9}" for k in ("p50", "p95", "max"))
        return f"  {name:<50}{cells}{s['n']:>7}  {unit}"

    quota = f["search_orders_quota"]
    print(
        f"stock loop: {f['apps']} Amazon apps ({', '.join(f['marketplaces'])}; {quota['accounts']} selling "
        f"account(s)), {f['skus']} SKUs (on hand {f['on_hand_range'][0]}-{f['on_hand_range'][1]}), "
        f"{f['rate_per_min_per_app']:g} orders/min per app for {f['minutes']:g} min, "
        f"{f['cancel_share']:.0%} cancelled later"
    )
    print(
        f"  sync --watch: import every {f['import_interval_s']:g} s, poll {f['poll_s']:g} s, {f['workers']} workers; "
        f"first sync {f['first_sync_s']} s; whole run {f['run_s']:.0f} s; code {f['code']}"
    )
    phases = f["phases"]
    print(
        f"  ordering {phases['ordering_s']:.0f} s, then {phases['waited_s']:.0f} s until every order and change was "
        "imported and shown" + ("" if phases["drained"] else " -- GAVE UP waiting: see never imported / never shown")
    )
    print(
        f"  machine: {f['cpus']} CPUs, load average {' '.join(map(str, f['load_start']))} at start, "
        f"{' '.join(map(str, f['load_end']))} at end"
    )
    print(
        f"  orders placed {f['orders_placed']} ({f['orders_cancelled']} cancelled); buyers who found nothing offered "
        f"{f['held_back_not_offered']}; phantom units offered and held back {f['phantom_units']} "
        f"({f['phantom_orders']} orders)"
    )
    print()
    print(f"  {'':<50}{'p50':>9}{'p95':>9}{'max':>9}{'n':>7}")
    p = f["profile"]
    print(row("commit -> every other app shows it", f["latency_every_other_app_s"]))
    print(row("  commit -> the first other app shows it", p["commit_to_first_other_app_s"]))
    print(row("  then -> the last other app shows it", p["first_to_last_other_app_s"]))
    if p["commit_to_first_patch_logged_s"]["n"]:
        print(row("  commit -> linkolis's first PATCH answered (-vv)", p["commit_to_first_patch_logged_s"]))
    print(row("  Amazon's quota floor for it (patchListingsItem)", f["quota_floor_every_other_app_s"]))
    print(row("  beyond that floor: linkolis's own time", f["beyond_quota_floor_every_other_app_s"]))
    for cause, s in f["latency_every_other_app_by_cause_s"].items():
        print(row(f"  changes that {cause} units", s))
    for app, s in f["latency_per_app_s"].items():
        print(row(f"commit -> {app} shows it", s))
    print(row("window: placed at Amazon -> imported", f["window_placed_to_imported_s"]))
    print(row("cancelled in Seller Central -> seen in linkolis", f["cancellation_to_imported_s"]))
    print(
        f"  changes committed {f['changes']} (+{f['changes_without_effect']} that left available as it was); "
        f"shown without a request of their own {f['shown_without_own_request']}; never shown {f['never_shown']}"
    )
    print()
    print("  oversell (units offered beyond on hand - open orders, once a second per SKU)")
    print(f"  {'':<30}{'SKU-samples':>12}{'oversold':>10}{'unit-samples':>14}{'max units':>11}")
    for kind, label in (
        ("window", "in the window (not imported)"),
        ("before_push", f"imported, not shown (< {LATE:g} s)"),
        ("settled", "settled (must be 0)"),
    ):
        t = f["oversell"][kind]
        print(f"  {label:<30}{t['sku_samples']:>12}{t['with_oversell']:>10}{t['unit_samples']:>14}{t['max_units']:>11}")
    r = f["reconcile"]
    print(
        f"  units sold beyond on hand: {f['sold_beyond_on_hand']}; orders moved twice {r['moved_twice']}, never "
        f"{r['moved_never']}, never imported {r['never_imported']}; SKUs whose reserved differs from Amazon's open "
        f"orders {r['skus_reserved_wrong']}; bench's book differs from Amazon's {r['bench_book_differs']}"
    )
    c = f["reservation_cost"]
    for label, x in c.items():
        print(
            f"  reservation, {label.replace('_', ' ')} ({x['orders']:,} orders): settle_orders "
            f"{x['settle_ms_per_line']} ms per line ({x['settle_cpu_ms_per_line']} CPU); store_orders "
            f"{x['store_ms_per_order']} ms per order ({x['store_cpu_ms_per_order']} CPU)"
        )
    print(
        f"  linkolis process: peak RSS {f['linkolis']['peak_rss_mb']} MB, CPU {f['linkolis']['cpu_s']} s; simulator "
        f"CPU {f['simulator']['cpu_s']} s, peak RSS {f['simulator']['peak_rss_mb']} MB"
    )
    print(
        f"  Amazon calls from the first order on: {json.dumps(f['amazon_calls_during_run'])}; 429s then "
        f"{json.dumps(f['amazon_429s_during_run'])}, in the first sync {json.dumps(f['amazon_429s_first_sync'])}"
    )
    print(
        f"  searchOrders: {quota['rate']}/s, burst {quota['burst']} per account shared by its "
        f"{quota['apps_per_account']} apps; sustained, each could import only every "
        f"{quota['sustained_interval_s']} s; this run called it {quota['calls_whole_run']} times where the "
        f"quota allowed {quota['allowed_whole_run']:g} (burst and refill)"
    )
    print()
    for name, t in f["targets"].items():
        print(f"  target {name}: {'met' if t['met'] else 'MISSED'} ({t['measured']})")


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--apps", type=int, default=3, help="Amazon apps, one per marketplace per selling account; "
                   "more than the marketplaces adds accounts (default 3)")  # fmt: skip
    p.add_argument("--marketplaces", default=",".join(MARKETS_DEFAULT),
                   help="marketplaces of each account, comma-separated (default DE,NL,FR)")  # fmt: skip
    p.add_argument("--skus", type=int, default=20, help="SKUs, listed in every app's marketplace (default 20)")
    p.add_argument("--on-hand", default="4-12", help="on hand of each SKU, drawn from LOW-HIGH (default 4-12)")
    p.add_argument("--rate", type=float, default=4.0, help="orders a minute on each app (default 4)")
    p.add_argument("--minutes", type=float, default=3.5, help="minutes of ordering; then the run waits until "
                   "every order is imported and pushed, 150 s + an import interval or more (default 3.5)")  # fmt: skip
    p.add_argument("--interval", type=float, default=90.0, help="sync --watch's import interval in seconds "
                   "(default 90: inside searchOrders' burst of 20 for three apps of one account)")  # fmt: skip
    p.add_argument("--workers", type=int, default=4, help="sync --watch's workers (default 4, its own default)")
    p.add_argument("--cancel", type=float, default=0.2, help="share of orders the seller cancels in Seller "
                   "Central (every 1/share-th order): one placed in the first half of the ordering 2-20 s after "
                   "linkolis imported it (it releases the units and pushes again), if that is at most one import "
                   "interval after ordering stops; a later one 10-90 s after it was placed, before linkolis "
                   "imports it (nothing to release), if ordering still goes on then (default 0.2)")  # fmt: skip
    p.add_argument("--cost-orders", type=int, default=3000, help="orders stored to time a reservation (default 3000)")
    p.add_argument("--seed", type=int, default=1, help="seed of the on hand drawn, the orders and cancellations")
    p.add_argument("--quick", action="store_true", help="a smoke run of about 4 minutes: 10 SKUs, 12 orders a "
                   "minute per app for 0.75 min, import every 45 s, 1,000 orders timed")  # fmt: skip
    p.add_argument("--details", type=Path, metavar="FILE", help="also write every change (when committed, when "
                   "each app showed it), every order and linkolis's stderr lines with their moments, as JSON; with "
                   "it linkolis runs with -vv, logging each request it sends (a cost of its own)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout, nothing on stderr")
    args = p.parse_args(argv)
    if args.quick:
        args.skus, args.rate, args.minutes, args.interval, args.cost_orders = 10, 12.0, 0.75, 45.0, 1000
    args.marketplaces = [m.strip().upper() for m in args.marketplaces.split(",") if m.strip()]
    if not 2 <= len(args.marketplaces) or len(set(args.marketplaces)) != len(args.marketplaces):
        p.error("--marketplaces: two or more different marketplaces")
    if args.apps < len(args.marketplaces):
        p.error("--apps: at least one per marketplace")
    low, _, high = args.on_hand.partition("-")
    args.on_hand = (int(low), int(high or low))
    if not 0 < args.on_hand[0] <= args.on_hand[1]:
        p.error("--on-hand: LOW-HIGH with 0 < LOW <= HIGH")
    return args


def main(argv: list[str]) -> None:
    args = parse(argv)
    # Stopped from outside: the simulator and linkolis are stopped too (run's finally), not left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped (SIGTERM)"))
    figures = run(args)
    if args.json:
        print(json.dumps(figures))
    else:
        show(figures)
    if not all(t["met"] for t in figures["targets"].values()):
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
