"""What an operator graphs and alerts on, in Prometheus' text format (``prometheus-client``): ``GET /metrics`` of
`linkolis serve` (behind a token) and ``--metrics-port`` of `linkolis sync --watch` and `linkolis worker`.

Two kinds of figure, each where it is true:

- **This process's counters** (``REGISTRY``), counted where the thing happens: units run per stream and outcome
  (``scheduler`` and ``worker``), marketplace calls, 429s and seconds waited for quota per marketplace and
  operation (``http``). They start at zero when the process starts, as Prometheus' counters do.
- **The store's gauges** (``StoreCollector``), read from the database at each scrape, so every process on one
  database tells the same: apps per marketplace and state, orders stored, stock outcomes, the sync's queue depth
  and lag, the notification readers, and the task queue's jobs on PostgreSQL.

Nothing here names a seller, an app or a workspace: labels are marketplaces, operations, streams and states.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, disable_created_metrics, generate_latest, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric

from . import store
from .errors import LinkolisError, UserError

log = logging.getLogger("linkolis.metrics")
disable_created_metrics()  # no ``*_created`` series beside every counter: a series per label set is enough
STORE_TTL = 10.0  # seconds a read of the store's gauges serves the scrapes that follow

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REGISTRY = CollectorRegistry(auto_describe=True)
UNITS = Counter(
    "linkolis_units",
    "Sync units this process ran, per stream (import, push) and outcome (done, deferred, busy, stalled, error, "
    "removed)",
    ["stream", "outcome"],
    registry=REGISTRY,
)


def _per_operation(name: str, documentation: str) -> Counter:
    return Counter(name, documentation, ["marketplace", "operation"], registry=REGISTRY)


CALLS = _per_operation("linkolis_marketplace_calls", "Requests this process sent to a marketplace, per operation")
THROTTLED = _per_operation(
    "linkolis_marketplace_throttled", "429 (too many requests) answers a marketplace gave this process, per operation"
)
QUOTA_WAITS = _per_operation(
    "linkolis_quota_waits", "Requests of this process that waited for a rate-limit token before they were sent"
)
QUOTA_WAITED = _per_operation(
    "linkolis_quota_waited_seconds", "Seconds this process's requests waited for rate-limit tokens"
)


def unit_ran(stream: str, outcome: str) -> None:
    UNITS.labels(stream, outcome).inc()


def called(marketplace: str | None, operation: str) -> None:
    CALLS.labels(marketplace or "", operation).inc()


def throttled(marketplace: str | None, operation: str) -> None:
    THROTTLED.labels(marketplace or "", operation).inc()


def waited(marketplace: str | None, operation: str, seconds: float) -> None:
    if seconds > 0:
        QUOTA_WAITS.labels(marketplace or "", operation).inc()
        QUOTA_WAITED.labels(marketplace or "", operation).inc(seconds)


# ``worker.queue_status``, given by the callers (this module is below the worker, which it would import round a loop)
QueueStatus = Callable[[Any], "dict[str, Any] | None"]


class StoreCollector:
    """The store's gauges, read at each scrape through ``host`` (a connection of the scraping thread's own), with
    the task queue's as ``queue`` reads them."""

    def __init__(self, host: Any, queue: QueueStatus | None = None) -> None:
        self.host = host
        self.queue = queue

    def collect(self) -> Iterator[Metric]:
        db = self.host.db
        now = self.host.clock.time()

        apps = GaugeMetricFamily("linkolis_apps", "Apps installed, per marketplace and state", labels=["kind", "state"])
        for kind, state, count in db.execute("SELECT kind, status, COUNT(*) FROM apps GROUP BY kind, status"):
            apps.add_metric([kind, state], count)
        yield apps

        # Counted per app first (a seek of each app's index), then summed per marketplace: no app is named.
        orders = GaugeMetricFamily("linkolis_orders", "Orders stored, per marketplace", labels=["kind"])
        for kind, count in db.execute(
            "SELECT a.kind, SUM(o.n) FROM (SELECT app_id, COUNT(*) AS n FROM orders GROUP BY app_id) o "
            "JOIN apps a ON a.id = o.app_id GROUP BY a.kind ORDER BY a.kind"
        ):
            orders.add_metric([kind], int(count))
        yield orders

        outcomes = GaugeMetricFamily(
            "linkolis_stock_outcomes",
            "SKUs per marketplace by the outcome of the last stock sent for them (accepted, rejected, pending...)",
            labels=["kind", "outcome"],
        )
        for kind, outcome, count in db.execute(
            "SELECT a.kind, p.outcome, SUM(p.n) FROM (SELECT app_id, outcome, COUNT(*) AS n FROM stock_pushes "
            "GROUP BY app_id, outcome) p JOIN apps a ON a.id = p.app_id GROUP BY a.kind, p.outcome "
            "ORDER BY a.kind, p.outcome"
        ):
            outcomes.add_metric([kind, outcome or ""], int(count))
        yield outcomes

        yield from self._sync(db, now)
        yield from self._notifications(db)
        yield from self._queue()

    def _sync(self, db: Any, now: float) -> Iterable[Metric]:
        units = GaugeMetricFamily("linkolis_sync_units", "Sync units per stream and state", labels=["stream", "state"])
        for stream, state, count in db.execute(
            "SELECT stream, state, COUNT(*) FROM scheduler_state GROUP BY stream, state"
        ):
            units.add_metric([stream, state], count)
        yield units
        due, oldest = db.execute(
            "SELECT COUNT(*), MIN(due_at) FROM scheduler_state WHERE state IN ('waiting', 'stalled') AND due_at <= ?",
            (now,),
        ).fetchone()
        yield GaugeMetricFamily(
            "linkolis_sync_queue_depth", "Sync units whose time has come and that no worker runs yet", value=due
        )
        yield GaugeMetricFamily(
            "linkolis_sync_lag_seconds",
            "How long the most overdue sync unit has waited past its time (0: none is overdue)",
            value=round(max(0.0, now - oldest), 3) if oldest is not None else 0.0,
        )
        last = db.execute("SELECT MAX(updated_at) FROM scheduler_state").fetchone()[0]
        if last is not None:
            yield GaugeMetricFamily(
                "linkolis_sync_last_update_seconds",
                "When a sync unit last changed state (Unix time): a sync that stopped stops moving it",
                value=last,
            )

    def _notifications(self, db: Any) -> Iterable[Metric]:
        readers = GaugeMetricFamily(
            "linkolis_notification_readers",
            "Notification queue readers per marketplace and state",
            labels=["kind", "state"],
        )
        for kind, state in db.execute("SELECT kind, state FROM notification_readers"):
            readers.add_metric([kind, state], 1)
        yield readers
        stored = GaugeMetricFamily(
            "linkolis_notifications", "Marketplace notifications kept, per outcome", labels=["outcome"]
        )
        for outcome, count in db.execute("SELECT outcome, COUNT(*) FROM notifications GROUP BY outcome"):
            stored.add_metric([outcome], count)
        yield stored

    def _queue(self) -> Iterable[Metric]:
        status = self.queue(self.host) if self.queue is not None else None
        if status is None:
            return  # the SQLite file, or no worker ever ran: no task queue
        jobs = GaugeMetricFamily(
            "linkolis_queue_jobs",
            "Task queue jobs per queue: due (their time has come), later, running",
            labels=["queue", "state"],
        )
        for queue, counts in sorted(status["queues"].items()):
            for state, count in counts.items():
                jobs.add_metric([queue, state], count)
        yield jobs
        yield GaugeMetricFamily("linkolis_queue_workers", "`linkolis worker` processes alive", value=status["workers"])


class StoreGauges:
    """The store's gauges as one collector that never fails the scrape: read in full first, and when the store
    cannot be read, none of them but ``linkolis_store_up 0``. ``open`` gives a host for the read (opening it is
    part of it) and ``close`` puts it back. A read is kept ``ttl`` seconds: scrapes in between (several Prometheus
    servers, a dashboard) cost no query, as counting a million orders takes tens of milliseconds."""

    def __init__(
        self,
        open: Callable[[], Any],
        close: Callable[[Any], None] = lambda host: None,
        queue: QueueStatus | None = None,
        ttl: float = STORE_TTL,
    ) -> None:
        self.open, self.close, self.queue, self.ttl = open, close, queue, ttl
        self._kept: tuple[float, list[Metric]] | None = None
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if self._kept is None or time.monotonic() - self._kept[0] >= self.ttl:
                self._kept = (time.monotonic(), self._read())
            metrics = self._kept[1]
        yield from metrics

    def _read(self) -> list[Metric]:
        gauges: list[Metric] = []
        up = 0
        try:
            host = self.open()
            try:
                gauges = list(StoreCollector(host, self.queue).collect())
                up = 1
            finally:
                self.close(host)
        except store.ERRORS as exc:
            log.warning("metrics: the store could not be read: %s", type(exc).__name__)
        except LinkolisError as exc:
            log.warning("metrics: the store could not be read: %s", exc.code)
        up_gauge = GaugeMetricFamily(
            "linkolis_store_up", "Whether the store answered the last read (1) or not (0)", value=up
        )
        return [*gauges, up_gauge]


class _Scrape:
    """Collectors read as one registry (``generate_latest`` asks only for ``collect``)."""

    def __init__(self, *collectors: Any) -> None:
        self.collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


def counters() -> str:
    """This process's counters alone, as text."""
    return generate_latest(REGISTRY).decode()


def exposition(gauges: StoreGauges) -> bytes:
    """The text Prometheus scrapes: this process's counters and the store's ``gauges``."""
    return generate_latest(_Scrape(REGISTRY, gauges))  # type: ignore[arg-type]


def serve(host: Any, port: int, address: str = "127.0.0.1", queue: QueueStatus | None = None) -> None:
    """Serve ``exposition`` on ``http://address:port/metrics`` from a thread of its own (`sync --watch` and
    `linkolis worker` ``--metrics-port``), each scrape on a fork of ``host`` closed after it. No token: bind it
    to an address only the scraper reaches (loopback by default).

    :raises UserError: the port cannot be listened on (in use, privileged)."""
    scrape = _Scrape(REGISTRY, StoreGauges(host.fork, lambda twin: twin.close(), queue))
    try:
        start_http_server(port, address, registry=scrape)  # type: ignore[arg-type]
    except OSError as exc:
        raise UserError(
            f"cannot serve metrics on {address}:{port} ({exc.strerror or exc}): give another --metrics-port"
        ) from None
