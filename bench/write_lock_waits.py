"""How long a write waits for SQLite's one write lock when the workers of ``sync --watch`` write at once: threads
(and optionally processes) each on its own connection, each taking ``HostDatabase.atomic()`` over and over.

    .venv/bin/python bench/write_lock_waits.py [--threads 4 16] [--processes 1 2] [--seconds 8] [--json]
    PYTHONPATH=/work/main .venv/bin/python bench/write_lock_waits.py      # the same against another checkout

Each writer loops: a pause of 0-4 ms (a round trip, drawn at random), then one write transaction of 20 small
inserts, as a unit's batch would be. Per (processes, threads): transactions a second, the wait to enter
``atomic()`` (p50 / p95 / max, and the sum over the run), and the load average.

What the clock hides: ``time.perf_counter`` around ``atomic()``'s entry, so a wait includes the Python it runs
(the GIL shared by the threads of a process) as well as the lock; the database sits on this machine's disk with
linkolis's own pragmas (WAL), and the inserts are cheaper than a unit's real writes.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

import linkolis_host
from linkolis_host import store

INSERTS = 20


def writer(path: Path, until: float, seed: int, waits: list[float]) -> None:
    db = store.connect(path)
    rng = random.Random(seed)
    try:
        while time.perf_counter() < until:
            time.sleep(rng.uniform(0, 0.004))
            started = time.perf_counter()
            with db.atomic():
                waits.append(time.perf_counter() - started)
                db.conn.executemany(
                    "INSERT INTO bench_writes (writer, n) VALUES (?, ?)", [(seed, n) for n in range(INSERTS)]
                )
    finally:
        db.close()


def one_process(path: Path, threads: int, until: float, first_seed: int, out) -> None:
    waits: list[float] = []
    pool = [
        threading.Thread(target=writer, args=(path, until, first_seed + n, waits), name=f"linkolis-worker-{n}")
        for n in range(threads)
    ]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    out.put(waits)


def run(processes: int, threads: int, seconds: float) -> dict:
    with tempfile.TemporaryDirectory() as home:
        path = Path(home) / store.DB_FILE
        db = store.connect(path)
        db.execute("CREATE TABLE bench_writes (writer INTEGER, n INTEGER)")
        db.close()
        context = multiprocessing.get_context("fork")
        out = context.Queue()
        until = time.perf_counter() + seconds
        workers = [
            context.Process(target=one_process, args=(path, threads, until, p * 1000, out)) for p in range(processes)
        ]
        for worker in workers:
            worker.start()
        waits = [w for _ in workers for w in out.get()]
        for worker in workers:
            worker.join()
    waits.sort()
    return {
        "processes": processes,
        "threads": threads,
        "transactions_per_s": round(len(waits) / seconds),
        "wait_ms_p50": round(statistics.median(waits) * 1000, 2),
        "wait_ms_p95": round(waits[int(0.95 * (len(waits) - 1))] * 1000, 2),
        "wait_ms_max": round(waits[-1] * 1000, 1),
        "wait_s_sum": round(sum(waits), 2),
        "load_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    source = os.path.dirname(os.path.dirname(linkolis_host.__file__))
    results = []
    for processes in args.processes:
        for threads in args.threads:
            result = run(processes, threads, args.seconds)
            results.append(result)
            if not args.json:
                print(
                    f"{processes} process(es) x {threads:>2} threads: {result['transactions_per_s']:>5} "
                    "transactions/s, "
                    f"wait p50 {result['wait_ms_p50']} ms, p95 {result['wait_ms_p95']} ms, max {result['wait_ms_max']} "
                    f"ms, {result['wait_s_sum']} s waited in {args.seconds:g} s; load {result['load_1m']}"
                )
    if args.json:
        print(json.dumps({"source": source, "results": results}))
    else:
        print(f"(linkolis_host from {source})")


if __name__ == "__main__":
    main()
