"""The scheduler coordinator's own cost per dispatch, at N apps: ``Scheduler._dispatch`` (which asks ``ready()`` for
the units to run) and ``_finish``, on a virtual clock, with no database, no HTTP and no worker threads.

    .venv/bin/python bench/scheduler_costs.py [--apps 2000 5000] [--rounds 3000] [--json]
    PYTHONPATH=/work/main .venv/bin/python bench/scheduler_costs.py      # the same against another checkout

Two shapes per N (2 N units: an import and a push per app, 4 workers):

- ``backlog``: every unit due at once, more than the workers can take (the knee: "due, not run" in the
  thousands); each round dispatches what the free workers take, ends those units (due again a 60 s round later)
  and wakes the push of one app in a hundred, as a stock change would.
- ``steady``: the units' due times spread over a 60 s round; the clock moves 60 / rounds s a round, so a few units
  come due at a time.

``--rows``: the state rows the coordinator writes for ``sync status`` per minute, and its commits, over ``--minutes``
virtual minutes of the ``steady`` shape with ``--workers`` (16), each unit running 0.05-0.6 s (drawn), and one app
in a thousand a second with a stock change (its push due at once); ``_flush`` is called every 0.5 virtual s, as the
real clock would, into a stand-in database that counts what ``upsert_all`` is given (no SQLite).

What the clock hides: only the coordinator's in-memory bookkeeping is timed (``time.perf_counter`` around each call,
CPU of this one thread, the GIL uncontended); the state rows ``_write`` notes are never flushed, and a real run adds
the units themselves, the state table's commits and ``_wake``'s queries. ``ready_us`` is the part of a dispatch
spent in ``ready()``.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import os
import random
import statistics
import time
from types import SimpleNamespace

import linkolis_host
from linkolis_host import VirtualClock
from linkolis_host.scheduler import IMPORT, PUSH, Done, Scheduler

WORKERS = 4
ROUND = 60.0


def fake_app(app_id: int) -> SimpleNamespace:
    return SimpleNamespace(id=app_id, name=f"Shop {app_id}", workspace_id=app_id)


def build(apps: int, spread: bool, rng: random.Random, workers: int = WORKERS) -> Scheduler:
    clock = VirtualClock(1_000_000.0)
    host = SimpleNamespace(clock=clock, config=SimpleNamespace(sync=SimpleNamespace(net_interval=600.0)))
    scheduler = Scheduler(host, workers=workers, interval=ROUND, notifications=False)  # type: ignore[arg-type]
    now = clock.monotonic()
    for app_id in range(1, apps + 1):
        scheduler.apps[app_id] = fake_app(app_id)  # type: ignore[assignment]
        for stream in (PUSH, IMPORT):
            scheduler.due[(app_id, stream)] = now + (rng.uniform(0, ROUND) if spread else 0.0)
    return scheduler


def run(apps: int, rounds: int, spread: bool, seed: int = 25) -> dict:
    rng = random.Random(seed)
    scheduler = build(apps, spread, rng)
    clock = scheduler.clock
    bounded = "limit" in inspect.signature(scheduler.ready).parameters
    real_ready = scheduler.ready
    in_ready: list[float] = []

    def timed_ready(*args):
        started = time.perf_counter()
        try:
            return real_ready(*args)
        finally:
            in_ready.append(time.perf_counter() - started)

    scheduler.ready = timed_ready  # type: ignore[method-assign]
    dispatch, finish, dispatched = [], [], 0
    step = ROUND / rounds if spread else 0.001
    for _ in range(rounds):
        started = time.perf_counter()
        scheduler._dispatch()
        dispatch.append(time.perf_counter() - started)
        running = list(scheduler.running)
        dispatched += len(running)
        while not scheduler._work.empty():
            scheduler._work.get_nowait()
        clock.advance(step)
        now = clock.monotonic()
        started = time.perf_counter()
        for key in running:
            scheduler._finish(Done(key, "done", now + ROUND))
        if not spread:  # a stock change: one app in a hundred has something to send now
            for app_id in rng.sample(range(1, apps + 1), max(1, apps // 100 // WORKERS)):
                key = (app_id, PUSH)
                if key not in scheduler.running and now < scheduler.due.get(key, float("inf")):
                    scheduler.due[key] = now
        finish.append(time.perf_counter() - started)
    due_now = sum(1 for at in scheduler.due.values() if at <= clock.monotonic())
    return {
        "apps": apps,
        "shape": "steady" if spread else "backlog",
        "rounds": rounds,
        "units_dispatched": dispatched,
        "due_at_end": due_now,
        "dispatch_us_mean": round(statistics.mean(dispatch) * 1e6, 1),
        "dispatch_us_p95": round(statistics.quantiles(dispatch, n=20)[18] * 1e6, 1),
        "ready_us_mean": round(statistics.mean(in_ready) * 1e6, 1),
        "finish_us_per_unit": round(sum(finish) / max(1, dispatched) * 1e6, 1),
        "ready_bounded": bounded,
    }


class CountingDb:
    """Stands in for the host's database in ``_flush``: counts the rows upserted and the commits."""

    def __init__(self) -> None:
        self.rows = self.commits = 0
        self.conn = SimpleNamespace(executemany=lambda sql, params: None)

    @contextlib.contextmanager
    def atomic(self):
        yield
        self.commits += 1

    def __getitem__(self, table: str) -> SimpleNamespace:
        return SimpleNamespace(upsert_all=self._upsert_all)

    def _upsert_all(self, rows: list, pk: tuple) -> None:
        self.rows += len(rows)


def state_rows(apps: int, minutes: float, workers: int, seed: int = 25) -> dict:
    rng = random.Random(seed)
    scheduler = build(apps, True, rng, workers)
    db = scheduler.host.db = CountingDb()
    clock, step, ends = scheduler.clock, 0.05, {}
    start = clock.monotonic()
    next_flush, next_change, runs = start, start, 0
    while clock.monotonic() - start < minutes * 60:
        now = clock.monotonic()
        scheduler._dispatch()
        while not scheduler._work.empty():
            key = scheduler._work.get_nowait()
            ends[key] = now + rng.uniform(0.05, 0.6)
            runs += 1
        if now >= next_change:  # a stock change: the push of one app in a thousand a second is due now
            next_change += 1.0
            for app_id in rng.sample(range(1, apps + 1), max(1, apps // 1000)):
                key = (app_id, PUSH)
                if key not in scheduler.running and now < scheduler.due.get(key, float("inf")):
                    scheduler.due[key] = now
                    scheduler._write(scheduler.apps[app_id], PUSH, "waiting", now)
        clock.advance(step)
        now = clock.monotonic()
        for key in [k for k, end in ends.items() if end <= now]:
            del ends[key]
            scheduler._finish(Done(key, "done", now + ROUND))
        if now >= next_flush:
            next_flush += 0.5
            scheduler._flushed_at = float("-inf")  # the real clock's half second has passed
            scheduler._flush()
    return {
        "apps": apps,
        "minutes": minutes,
        "workers": workers,
        "units_run": runs,
        "state_rows_per_minute": round(db.rows / minutes),
        "commits_per_minute": round(db.commits / minutes),
        "rows_per_unit_run": round(db.rows / max(1, runs), 2),
        "load_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, nargs="+", default=[1000, 2000, 5000])
    parser.add_argument("--rounds", type=int, default=3000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rows", action="store_true", help="count the state rows written a minute instead")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=16, help="with --rows")
    args = parser.parse_args()
    source = os.path.dirname(os.path.dirname(linkolis_host.__file__))
    if args.rows:
        rows = [state_rows(apps, args.minutes, args.workers) for apps in args.apps]
        if args.json:
            print(json.dumps({"source": source, "results": rows}))
            return
        for r in rows:
            print(
                f"{r['apps']:>6} apps, {r['workers']} workers: {r['state_rows_per_minute']} state rows a minute in "
                f"{r['commits_per_minute']} "
                f"commits ({r['rows_per_unit_run']} a unit run, {r['units_run']} runs in {r['minutes']} min); "
                f"load {r['load_1m']}"
            )
        print(f"(linkolis_host from {source})")
        return
    results = []
    for apps in args.apps:
        for spread in (False, True):
            result = run(apps, args.rounds, spread)
            result["load_1m"] = round(os.getloadavg()[0], 2)
            results.append(result)
            if not args.json:
                print(
                    f"{apps:>6} apps {result['shape']:>7}: dispatch {result['dispatch_us_mean']:>8} µs mean "
                    f"(p95 {result['dispatch_us_p95']}), ready() {result['ready_us_mean']} µs, finish "
                    f"{result['finish_us_per_unit']} µs a unit; {result['units_dispatched']} units run, "
                    f"{result['due_at_end']} due at the end; load {result['load_1m']}"
                )
    if args.json:
        print(json.dumps({"source": source, "results": results}))
    else:
        print(f"(linkolis_host from {source})")


if __name__ == "__main__":
    main()
