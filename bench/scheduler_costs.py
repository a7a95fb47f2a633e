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

What the clock hides: only the coordinator's in-memory bookkeeping is timed (``time.perf_counter`` around each call,
CPU of this one thread, the GIL uncontended); the state rows ``_write`` notes are never flushed, and a real run adds
the units themselves, the state table's commits and ``_wake``'s queries. ``ready_us`` is the part of a dispatch
spent in ``ready()``.
"""

from __future__ import annotations

import argparse
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


def build(apps: int, spread: bool, rng: random.Random) -> Scheduler:
    clock = VirtualClock(1_000_000.0)
    host = SimpleNamespace(clock=clock, config=SimpleNamespace(sync=SimpleNamespace(net_interval=600.0)))
    scheduler = Scheduler(host, workers=WORKERS, interval=ROUND, notifications=False)  # type: ignore[arg-type]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, nargs="+", default=[1000, 2000, 5000])
    parser.add_argument("--rounds", type=int, default=3000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    source = os.path.dirname(os.path.dirname(linkolis_host.__file__))
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
