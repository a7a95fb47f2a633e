"""Amazon stock pushes against the simulator: calls, 429s, time to the last outcome against the quota bound, and
the latency from `stock set` to Amazon showing the quantity under `sync --watch`.

    .venv/bin/python bench/amazon_stock.py [M ...]       (default: 10 1000 10000 50000)
    .venv/bin/python bench/amazon_stock.py --latency     (only the real-clock latency)

Each M runs in a fresh process on a virtual clock (waits cost no real time), the simulator in a process of its
own reading that clock (``benchkit.Remote``), so the peak RSS printed is linkolis's alone and "local s" is
linkolis's CPU inside its pushes. The simulator holds M merchant listings in Amazon DE; linkolis pushes a new
quantity for each, cold (no listing facts cached: product types are read first) and then warm three times (every
quantity changed again, facts cached; the median run is shown, and each must meet the targets). After a push the
clock moves on a second at a time, pushing again as `sync --watch` does, until no outcome is pending: "virtual
seconds" is the time to the last outcome. Before each run the clock moves on ten minutes, so it starts with
Amazon's buckets full, as the bound assumes. The floor (``push_floor``) is timed right after each warm run, in
CPU seconds as linkolis's side is; the ratio printed is the median of the three pairs'.

The bound (DESIGN.md, "Performance model"): an operation with rate r and burst b needs max(0, n - b) / r seconds
for n calls; the path's bound sums that over the operations it calls in sequence. The feed path adds, as a floor,
the simulator's configured feed time: the queue wait plus the processing time of each feed (the simulator works
through one seller's feeds one after another), no feed created before JSON_LISTINGS_FEED's window of 5 per 5
minutes allows; getFeed's polls fall within that floor and are not added.

The latency part serves the simulator over HTTP on 127.0.0.1 with the real clock and no visibility delay, runs
the scheduler of `sync --watch` (`linkolis_host.scheduler.Scheduler`) in a thread (its poll is the config's push
interval, 1 s by default) and sets a quantity 20 times, each time polling the simulator until Amazon shows it.
"""

from __future__ import annotations

import json
import math
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchkit import Remote, SharedClock, one_run, rss_mb

START = 1_780_000_000.0
# Amazon's published rate, burst of each operation a path calls (searchListingsItems reads the listing facts).
RATES = {
    "searchListingsItems": (5.0, 5),
    "patchListingsItem": (5.0, 5),
    "createFeedDocument": (0.5, 15),
    "createFeed": (0.0083, 15),
    "getFeed": (2.0, 15),
    "getFeedDocument": (0.0222, 10),
}
# getFeed is not in the feed path's sequence: its polls run while Amazon processes the feed (the floor).
PATH_OPERATIONS = {
    "patch": ["searchListingsItems", "patchListingsItem"],
    "feed": ["searchListingsItems", "createFeedDocument", "createFeed", "getFeedDocument"],
}
QUEUE_SECONDS, PROCESSING_SECONDS = 30.0, 60.0  # the simulator's feed_queue_seconds, feed_processing_seconds
FEED_WINDOW_CALLS, FEED_WINDOW_SECONDS = 5, 300.0  # JSON_LISTINGS_FEED: 5 submissions in any 5 minutes
FEED_MESSAGES = 25_000  # a feed's most messages
DE = "A1PA6795UKMFR9"


def operator_env(sim, endpoint: str) -> dict[str, str]:
    return {
        "LINKOLIS_AMAZON_ENDPOINT": endpoint,
        "LINKOLIS_AMAZON_CLIENT_ID": sim.client_id,
        "LINKOLIS_AMAZON_CLIENT_SECRET": sim.client_secret,
        "LINKOLIS_AMAZON_APPLICATION_ID": sim.application_id,
    }


def install_amazon_de(host, sim) -> None:
    from linkolis_host.apps import authorize_direct, install

    install(host, "amazon", {"name": "Amazon DE", "marketplace": "DE", "stock_sync": True})
    seller = sim.seller_ids[0]
    authorize_direct(host, "Amazon DE", {"refresh_token": sim.authorize(seller), "selling_partner_id": seller})


def bound(calls: dict[str, int], path: str, feeds: int) -> tuple[float, float]:
    """(quota bound, feed floor) in seconds for the calls a push made."""
    quota = 0.0
    for operation in PATH_OPERATIONS[path]:
        rate, burst = RATES[operation]
        quota += max(0, calls.get(operation, 0) - burst) / rate
    floor = 0.0
    if path == "feed":
        # Feed k (from 0) is created no earlier than JSON_LISTINGS_FEED's window allows; the simulator queues each
        # feed, then processes one seller's feeds one after another.
        for k in range(feeds):
            created = (k // FEED_WINDOW_CALLS) * FEED_WINDOW_SECONDS
            floor = max(floor, created + QUEUE_SECONDS) + PROCESSING_SECONDS
    return quota, floor


def add_listings(m: int):
    """What the simulator's process does before serving: M merchant listings in Amazon DE."""

    def setup(sim) -> None:
        for n in range(m):
            sim.add_listing(f"SKU-{n:06d}", ["DE"], quantity=1)

    return setup


def one(m: int) -> dict:
    from linkolis_host import stock
    from linkolis_host.host import Host

    clock = SharedClock(START)
    options = {
        "orders": 0,
        "skus": 0,
        "new_orders_per_hour": 0,
        "marketplaces": ("DE",),
        "listing_visibility_delay": 0,
        "feed_queue_seconds": QUEUE_SECONDS,
        "feed_processing_seconds": PROCESSING_SECONDS,
    }
    sim = Remote(options, clock, setup=add_listings(m))
    seller = sim.seller_ids[0]
    skus = [f"SKU-{n:06d}" for n in range(m)]
    results = {"M": m, "simulator_rss_mb": round(sim.rss, 1), "rss_before_linkolis_mb": round(rss_mb(), 1)}
    with tempfile.TemporaryDirectory() as home:
        # The simulator processes every feed whose time is up inside the first request after it, and a virtual
        # wait of minutes (createFeed's window) makes several of 25,000 due at once: its requests get 5 minutes.
        (Path(home) / "linkolis.toml").write_text("[http]\ntimeout = 300\n")
        host = Host(Path(home), clock=clock, env=operator_env(sim, sim.base))
        install_amazon_de(host, sim)
        app_id = host.db.execute("SELECT id FROM apps").fetchone()[0]
        warm_runs: list[dict] = []
        # three warm pushes, each changing every quantity again: one run of linkolis's CPU moves by a tenth
        for run, base in (("cold", 10), ("warm", 20), ("warm", 30), ("warm", 40)):
            clock.advance(600)  # buckets full again, earlier changes visible
            csv = Path(home) / f"{run}.csv"
            csv.write_text("sku,quantity\n" + "".join(f"{sku},{base + n % 7}\n" for n, sku in enumerate(skus)))
            stock.load_stock(host, csv)
            before = sim.counters_snapshot()
            started_at, wall, cpu = clock.time(), time.perf_counter(), time.process_time()
            summary = stock.push_stock(host, "Amazon DE")
            first_push = time.perf_counter() - wall
            # linkolis's CPU inside its pushes: the simulator runs in a process of its own, and the loop's own
            # "anything left?" is the bench's
            in_pushes = time.process_time() - cpu
            pushes = 1
            while host.db.execute(
                "SELECT COUNT(*) FROM stock_pushes WHERE app_id = ? AND outcome IN ('pending', 'sending')", (app_id,)
            ).fetchone()[0]:
                clock.advance(1.0)  # what `sync --watch` does: push again a second later
                push_cpu = time.process_time()
                stock.push_stock(host, "Amazon DE")
                in_pushes += time.process_time() - push_cpu
                pushes += 1
            virtual = clock.time() - started_at
            wall_seconds = time.perf_counter() - wall  # before reading the simulator's truth, which is not a push
            after = sim.counters_snapshot()
            calls = {
                op: n - before["calls"].get(op, 0)
                for op, n in after["calls"].items()
                if n - before["calls"].get(op, 0) and op != "lwaToken"
            }
            throttled = (
                sum(after["throttled"].values())
                - sum(before["throttled"].values())
                + after["feed_type_throttled"]
                - before["feed_type_throttled"]
            )
            path = "feed" if calls.get("createFeed") else "patch"
            quota, floor = bound(calls, path, calls.get("createFeed", 0))
            outcomes = dict(
                host.db.execute(
                    "SELECT outcome, COUNT(*) FROM stock_pushes WHERE app_id = ? GROUP BY outcome", (app_id,)
                ).fetchall()
            )
            expected = {sku: base + n % 7 for n, sku in enumerate(skus)}
            wrong = 0
            for page in sim.stock_pages(seller):  # a page at a time: the check is the bench's, not linkolis's
                wrong += sum(1 for sku, at in page.items() if at[DE]["quantity"] != expected.pop(sku, None))
            wrong += len(expected)  # a listing the simulator does not show differs too
            del expected
            result = {
                "path": path,
                "calls": calls,
                "429s": throttled,
                "feeds": calls.get("createFeed", 0),
                "virtual_seconds": round(virtual, 1),
                "bound_seconds": round(quota + floor, 1),
                "of_which_feed_floor": floor,
                "ratio": round(virtual / (quota + floor), 3) if quota + floor else None,
                "outcomes": outcomes,
                "amazon_differs": wrong,
                "sent": summary["sent"],
                "pushes": pushes,
                "wall_first_push": round(first_push, 2),
                "wall_seconds": round(wall_seconds, 2),
                "linkolis_seconds": round(in_pushes, 2),
            }
            results[f"peak_rss_after_{run}_mb"] = round(rss_mb(), 1)
            if run == "cold":
                results["cold"] = result
            else:
                results.setdefault("peak_rss_mb", results["peak_rss_after_warm_mb"])  # before any floor's timing
                # The floor right after: paired, as this machine's speed drifts by half over minutes
                result["floor"] = push_floor(host, app_id)
                result["to_floor"] = round(result["linkolis_seconds"] / result["floor"]["total"], 2)
                warm_runs.append(result)
        results["warm"] = sorted(warm_runs, key=lambda r: r["to_floor"])[len(warm_runs) // 2]  # the median pair
        results["warm_local_runs"] = [r["linkolis_seconds"] for r in warm_runs]
        results["warm_missed"] = sorted({name for r in warm_runs for name in missed(r, m)})
        results["floor"] = results["warm"]["floor"]
        results["floor_runs"] = [r["floor"]["total"] for r in warm_runs]
        results["warm_to_floor_runs"] = [r["to_floor"] for r in warm_runs]
        results["warm_to_floor"] = sorted(results["warm_to_floor_runs"])[len(warm_runs) // 2]  # the median pair
        host.close()
    results["simulator_cpu_s"] = round(sim.stop(), 1)
    return results


def push_floor(host, app_id: int) -> dict:
    """What a warm push of m SKUs cannot do without, timed on the real schema after the run: select what is due,
    read the listing facts, build and encode the feeds (25,000 messages each), record two outcomes per SKU
    (sending, then the result) in single transactions, and validate every item and outcome with pydantic. In CPU
    seconds, as linkolis's side is counted."""
    from linkolis_amazon.stock import FEED_MAX_MESSAGES, feed_document

    from linkolis_host.models import StockItem, StockOutcome
    from linkolis_host.store import loads

    timings = {}
    started = time.process_time()
    host.db.execute(
        "SELECT d.sku, d.quantity, d.version FROM desired_stock d LEFT JOIN stock_pushes p ON "
        "p.app_id = ? AND p.sku = d.sku WHERE p.sku IS NULL OR p.attempt_quantity IS NOT d.quantity "
        "OR p.outcome = 'sending' OR (p.outcome = 'rejected' AND p.retryable = 1) ORDER BY d.version",
        (app_id,),
    ).fetchall()
    skus = [r[0] for r in host.db.execute("SELECT sku FROM desired_stock ORDER BY version")]
    timings["select_due"] = time.process_time() - started
    started = time.process_time()
    facts: dict = {}
    for start in range(0, len(skus), 500):
        chunk = [f"listing:{sku}" for sku in skus[start : start + 500]]
        facts = {
            k: loads(v)
            for k, v in host.db.execute(
                f"SELECT key, value FROM plugin_state WHERE app_id = ? AND key IN ({','.join('?' * len(chunk))})",
                [app_id, *chunk],
            )
        }
    del facts
    timings["read_listing_facts"] = time.process_time() - started
    started = time.process_time()
    for start in range(0, len(skus), FEED_MAX_MESSAGES):
        feed_document("SELLER", ((sku, "HOME", 5) for sku in skus[start : start + FEED_MAX_MESSAGES]))
    timings["build_feeds"] = time.process_time() - started
    started = time.process_time()
    for outcome in ("sending", "accepted"):
        host.db.execute("BEGIN IMMEDIATE")
        host.db.conn.executemany(
            "UPDATE stock_pushes SET outcome = ?, attempt_quantity = 5 WHERE app_id = ? AND sku = ?",
            ((outcome, app_id, sku) for sku in skus),
        )
        host.db.execute("ROLLBACK")  # timed like a commit would be, and the run's records stay as they were
    timings["record_outcomes"] = time.process_time() - started
    started = time.process_time()
    for sku in skus:
        StockItem(sku=sku, quantity=5)
        StockOutcome(sku=sku, quantity=5, status="pending", reference="F1", message="in feed F1")
        StockOutcome(sku=sku, quantity=5, status="accepted", reference="F1")
    timings["validation"] = time.process_time() - started
    timings = {k: round(v, 3) for k, v in timings.items()}
    timings["total"] = round(sum(timings.values()), 3)
    return timings


def latency(samples: int = 20) -> dict:
    """Real clock: `stock set` to the quantity visible at the simulator, under `sync --watch`."""
    from linkolis_amazon.simulator import Simulator

    from linkolis_host import SystemClock, stock
    from linkolis_host.host import Host
    from linkolis_host.scheduler import Scheduler

    sim = Simulator(
        SystemClock(), orders=0, skus=0, new_orders_per_hour=0, marketplaces=("DE",), listing_visibility_delay=0
    )
    sim.add_listing("LATENCY-1", ["DE"], quantity=1)
    seller = sim.default_seller_id
    with sim.serve() as base_url, tempfile.TemporaryDirectory() as home:
        env = operator_env(sim, base_url)
        setter = Host(Path(home), env=env)
        install_amazon_de(setter, sim)
        watcher = Host(Path(home), env=env)
        push_interval = watcher.config.sync.push_interval
        stop = threading.Event()
        messages: list[str] = []
        scheduler = Scheduler(
            watcher, interval=watcher.config.sync.interval, poll=push_interval, report=messages.append
        )
        thread = threading.Thread(target=scheduler.run, args=(stop,), daemon=True)
        thread.start()
        waits = []
        gaps = random.Random(20261126)
        try:
            for n in range(samples):
                quantity = 100 + n
                stock.set_stock(setter, "LATENCY-1", quantity)
                started = time.perf_counter()
                while sim.stock_truth(seller)[seller]["LATENCY-1"][DE]["quantity"] != quantity:
                    if time.perf_counter() - started > 30:
                        raise RuntimeError(f"quantity {quantity} not shown after 30 s; watch said: {messages[-5:]}")
                    time.sleep(0.005)
                waits.append(time.perf_counter() - started)
                time.sleep(gaps.uniform(0.05, 1.5))  # the seller's next change lands anywhere in the push cycle
        finally:
            stop.set()
            thread.join(timeout=10)
            setter.close()
            watcher.close()
    waits.sort()
    return {
        "samples": len(waits),
        "push_interval": push_interval,
        "p50_seconds": round(statistics.median(waits), 3),
        "p95_seconds": round(waits[math.ceil(0.95 * len(waits)) - 1], 3),
        "max_seconds": round(waits[-1], 3),
        "429s": sum(sim.counters_snapshot()["throttled"].values()),
    }


def missed(run: dict, m: int) -> list[str]:
    feeds = math.ceil(m / FEED_MESSAGES)
    checks = {
        "429s": run["429s"] > 0,
        "ratio > 1.1": (run["ratio"] or 0) > 1.1,
        f"more than {feeds} feeds": run["feeds"] > feeds and run["path"] == "feed",
        "Amazon differs from desired": run["amazon_differs"] > 0,
    }
    return [name for name, failed in checks.items() if failed]


def table(rows: list[dict]) -> None:
    head = (
        f"{'M':>7} {'run':<5} {'path':<6} {'feeds':>5} {'429s':>5} {'virtual s':>10} {'bound s':>9} "
        f"{'ratio':>6} {'wall s':>7} {'local s':>7}  calls"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        for run in ("cold", "warm"):
            r = row[run]
            ratio = "-" if r["ratio"] is None else f"{r['ratio']:.3f}"
            floor = f" (floor {r['of_which_feed_floor']:.0f})" if r["of_which_feed_floor"] else ""
            print(
                f"{row['M']:>7,} {run:<5} {r['path']:<6} {r['feeds']:>5} {r['429s']:>5} "
                f"{r['virtual_seconds']:>10.1f} {r['bound_seconds']:>9.1f} {ratio:>6} {r['wall_seconds']:>7.1f} "
                f"{r['linkolis_seconds']:>7.1f}  "
                f"{json.dumps(r['calls'], separators=(',', ':'))}{floor}"
            )


def main(argv: list[str]) -> None:
    if "--skus" in argv:  # `--skus 200000`: that size only
        at = argv.index("--skus")
        argv = argv[:at] + [argv[at + 1]] + argv[at + 2 :]
    if argv and argv[0] == "--one":
        print(json.dumps(one(int(argv[1]))))
        return
    if argv and argv[0] == "--latency-one":
        print(json.dumps(latency()))
        return
    only_latency = argv == ["--latency"]
    sizes = [] if only_latency else [int(a) for a in argv] or [10, 1000, 10000, 50000]
    rows = []
    for m in sizes:
        row = one_run(__file__, "--one", str(m))
        rows.append(row)
        print(f"M={m:,}: " + json.dumps(row), file=sys.stderr)
    if rows:
        table(rows)
        print(
            "bound = sum over the path's operations of max(0, calls - burst) / rate; the feed path adds the "
            f"simulator's feed time as a floor ({QUEUE_SECONDS:.0f} s queue + {PROCESSING_SECONDS:.0f} s per feed)."
        )
        print("wall s: real time of the run; local s: linkolis's own work inside its pushes (not the simulator's,")
        print("nor the bench's own check between pushes of whether anything is left to wait for).")
        print(
            "peak RSS (MB): "
            + ", ".join(
                f"M={r['M']:,}: {r['peak_rss_mb']} linkolis alone (the simulator's process: {r['simulator_rss_mb']})"
                for r in rows
            )
            + "; target at 200,000 SKUs: under 250 MB"
            + "".join(
                f" ({'met' if r['peak_rss_mb'] < 250 else 'MISSED'}: {r['peak_rss_mb']})"
                for r in rows
                if r["M"] >= 200_000
            )
        )
        for r in rows:
            f = r["floor"]
            print(
                f"M={r['M']:,} floor {f['total']:.2f} s ({', '.join(f'{k} {v}' for k, v in f.items() if k != 'total')})"
                f"; warm push local {r['warm']['linkolis_seconds']:.2f} s = {r['warm_to_floor']}x the floor (the "
                f"median of three runs, each timed with the floor right after: local {r['warm_local_runs']}, floor "
                f"{r['floor_runs']}, ratio {r['warm_to_floor_runs']}) "
                + (
                    f"(target <= 3x at 50,000 SKUs: {'met' if r['warm_to_floor'] <= 3 else 'MISSED'})"
                    if r["M"] == 50_000
                    else "(the target is for 50,000 SKUs; fixed costs weigh more below)"
                )
            )
        problems = [
            f"M={r['M']:,} {run}: {', '.join(missed(r[run], r['M']))}"
            for r in rows
            for run in ("cold", "warm")
            if missed(r[run], r["M"])
        ] + [f"M={r['M']:,} a warm run: {', '.join(r['warm_missed'])}" for r in rows if r["warm_missed"]]
        print(
            "targets (0 429s, one feed per 25,000 SKUs, ratio <= 1.1, Amazon shows every desired quantity): "
            + ("met" if not problems else "MISSED: " + "; ".join(problems))
        )
    lat = one_run(__file__, "--latency-one")
    print(
        f"latency stock set -> shown on Amazon under sync --watch (real clock, push interval "
        f"{lat['push_interval']} s, {lat['samples']} samples): "
        f"p50 {lat['p50_seconds']} s, p95 {lat['p95_seconds']} s, max {lat['max_seconds']} s, 429s {lat['429s']} "
        f"(target p50 < 5 s: {'met' if lat['p50_seconds'] < 5 else 'MISSED'})"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
