"""What the Amazon benchmarks share: the simulator in-process with its own time measured, or in a process of its
own on a shared virtual clock (so the benchmark's peak RSS is linkolis's alone); and peak RSS."""

from __future__ import annotations

import json
import math
import multiprocessing
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

from linkolis_host import VirtualClock


def one_run(script: str, *args: str) -> dict:
    """Run ``script`` with ``args`` in a fresh process and read the JSON object it prints last; when it fails, show
    what it said on stderr and stop."""
    out = subprocess.run([sys.executable, script, *args], capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"{script} {' '.join(args)} failed (exit {out.returncode}); its stderr is above")
    return json.loads(out.stdout.strip().splitlines()[-1])


def rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class TimedTransport(httpx.BaseTransport):
    """The simulator's in-process transport, adding up the real seconds spent inside it (``.seconds``), so a
    benchmark can tell linkolis's own work from the stand-in's."""

    def __init__(self, sim) -> None:
        self.inner = sim.transport()
        self.seconds = 0.0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        try:
            return self.inner.handle_request(request)
        finally:
            self.seconds += time.perf_counter() - started


class SharedClock(VirtualClock):
    """linkolis's virtual clock, its time also written where the simulator's process reads it."""

    def __init__(self, start: float) -> None:
        super().__init__(start)
        self.shared = multiprocessing.get_context("fork").RawValue("d", start)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self._now += seconds
                self.slept += seconds
                self.shared.value = self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
            self.shared.value = self._now


class ReadClock:
    """The simulator's view of that clock."""

    def __init__(self, shared) -> None:
        self.shared = shared

    def time(self) -> float:
        return self.shared.value

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), tz=UTC)

    def monotonic(self) -> float:
        return self.shared.value  # the bench never sets the shared clock back

    def sleep(self, seconds: float) -> None:
        raise RuntimeError("the simulator never sleeps")


def serve_simulator(options: dict, shared, pipe, setup=None) -> None:
    """The child process: the simulator on the shared clock (``setup(sim)`` first), over HTTP on loopback, until
    terminated."""
    import gc

    from linkolis_amazon.simulator import Simulator

    from linkolis_host.testing.simulator import base_url_of, make_server

    sim = Simulator(ReadClock(shared), **options)
    if setup is not None:
        setup(sim)
    gc.collect()
    gc.freeze()  # the catalogue lives to the end: out of the collector's sight
    server = make_server(sim)
    pipe.send((base_url_of(server), sim.seller_ids, sim.client_id, sim.client_secret, sim.application_id, rss_mb()))
    server.serve_forever()


class Remote:
    """The simulator in its own process, asked over its admin API: the bench's linkolis process holds only
    linkolis, so its peak RSS is linkolis's own."""

    def __init__(self, options: dict, clock: SharedClock, setup=None) -> None:
        ctx = multiprocessing.get_context("fork")
        ours, theirs = ctx.Pipe()
        self.process = ctx.Process(target=serve_simulator, args=(options, clock.shared, theirs, setup), daemon=True)
        self.process.start()
        self.base, self.seller_ids, self.client_id, self.client_secret, self.application_id, self.rss = ours.recv()
        self.http = httpx.Client(base_url=self.base, timeout=120)

    def _get(self, path: str, **params) -> dict:
        response = self.http.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def _post(self, path: str, body: dict) -> dict:
        response = self.http.post(path, json=body)
        response.raise_for_status()
        return response.json()

    def orders_truth(self, seller: str) -> list[dict]:
        return self._get("/_sim/orders", seller_id=seller)["orders"]

    def stock_truth(self, seller: str | None = None, offset: int = 0, limit: int | None = None) -> dict:
        page = {"offset": offset, **({"limit": limit} if limit is not None else {})}
        return self._get("/_sim/stock", **({"seller_id": seller} if seller else {}), **page)

    def stock_pages(self, seller: str, size: int = 5000) -> Iterator[dict]:
        """The seller's stock truth a page of ``size`` SKUs at a time: checking 200,000 SKUs at once would hold
        250 MB of them in the benchmark's process, whose peak RSS is meant to be linkolis's."""
        offset = 0
        while True:
            page = self.stock_truth(seller, offset, size).get(seller, {})
            yield page
            if len(page) < size:
                return
            offset += size

    def counters_snapshot(self) -> dict:
        return self._get("/_sim/counters")

    def authorize(self, seller: str) -> str:
        return self._post("/_sim/authorize", {"selling_partner_id": seller})["refresh_token"]

    def add_order(self, items: list[tuple[str, int]], market: str, seller_id: str) -> str:
        body = {"items": [[sku, qty] for sku, qty in items], "marketplace": market, "seller_id": seller_id}
        return self._post("/_sim/orders", body)["orderId"]

    def stop(self) -> float:
        """Stop the simulator; its CPU seconds."""
        self.http.close()
        self.process.terminate()
        self.process.join()
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        return used.ru_utime + used.ru_stime


def say(args: Any, message: str) -> None:
    """A progress line on stderr, unless the bench prints ``--json``."""
    if not args.json:
        print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest rank: the smallest value with at least q% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def interpolated_percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile between the two nearest values (``statistics.quantiles``' inclusive method)."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def spread(values: list[float], digits: int = 3) -> dict[str, Any]:
    """``n``, ``p50``, ``p95`` and ``max`` of ``values``, rounded to ``digits``."""

    def r(v: float | None) -> float | None:
        return None if v is None else round(v, digits)

    return {
        "n": len(values),
        "p50": r(percentile(values, 50)),
        "p95": r(percentile(values, 95)),
        "max": r(max(values, default=None)),
    }
