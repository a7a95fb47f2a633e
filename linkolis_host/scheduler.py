"""The scheduler of ``sync --watch``: every authorized app of every workspace served at once, none waiting for another.

Per app two units of work: ``push`` (due shipments, then stock changes: ``shipments.push_shipments`` and
``stock.push_stock``) and ``import`` (``orders.import_orders``) every ``interval`` seconds. A push is also woken
within ``poll`` seconds of there being something to send: once a ``poll`` the coordinator asks, for all apps at
once, which workspaces have new desired quantities and which apps have stock interrupted, to send again or pending
at the marketplace, or shipments due (a few index seeks: ``stock.changed_workspaces``, ``stock.unsettled_apps``,
``shipments.apps_with_due``), so an idle app costs nothing between its rounds, at any number of apps. Each unit
runs under the app's lock as it always did (a ``Busy`` from another process: skip this round), on one of
``workers`` threads, each with its own database connection.

A unit whose next request would wait for quota longer than ``defer_over`` seconds raises ``http.Deferred`` instead
of sleeping (``http.deferring``): it ends there (imports commit per batch, the cursor resumes), gives its worker
back, and is queued again for the moment its token is due. Ready pushes go before ready imports; among equals the
app served least recently goes first, so one app's backlog never starves another.

The coordinator (the thread calling ``run``) alone decides and writes the state table ``scheduler_state``, which
``sync status`` reads from another process (written at most every ``FLUSH_EVERY`` real seconds, in one
transaction). Memory is one entry per app and stream.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Callable, Iterator

from sqlite_utils.db import NotFoundError

from . import installed, shipments, stock
from .errors import Busy, LinkolisError
from .host import Host
from .http import Deferred, deferring
from .installed import App
from .orders import import_orders
from .terminal import plural

log = logging.getLogger("linkolis.scheduler")

PUSH, IMPORT = "push", "import"
FLUSH_EVERY = 0.5  # real seconds between writes of the state table
STREAMS = (PUSH, IMPORT)


@dataclass
class Done:
    """What a worker tells the coordinator when a unit ends."""

    key: tuple[int, str]
    outcome: str  # "done", "deferred", "busy", "error", "removed"
    next_at: float
    message: str = ""


class Scheduler:
    def __init__(
        self,
        host: Host,
        *,
        workers: int = 4,
        names: list[str] | None = None,
        interval: float = 60.0,
        poll: float = 1.0,
        defer_over: float = 1.0,
        refresh: float = 10.0,
        report: Callable[[str], None] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.host = host
        self.clock = host.clock
        self.workers = workers
        self.names = names
        self.interval = interval
        self.poll = poll
        self.defer_over = defer_over
        self.refresh = refresh
        self.report = report or (lambda message: None)
        self.stop = threading.Event()
        self.apps: dict[int, App] = {}
        self.due: dict[tuple[int, str], float] = {}
        self.running: set[tuple[int, str]] = set()
        self.errors: dict[tuple[int, str], str] = {}
        self.served: dict[int, int] = {}  # app id -> the dispatch number it was last served at
        self.events: deque[tuple[float, str, str, str]] = deque(maxlen=10_000)  # (clock time, app, stream, what)
        self.peak_running = 0
        self._dispatched = 0
        self._refreshed_at: float | None = None
        self._woke_at: float | None = None
        self._version = 0  # the newest desired stock version the last wake saw
        self._not_before: dict[tuple[int, str], float] = {}  # a deferred unit's token time: waking it sooner is waste
        self._dirty: dict[tuple[int, str], dict[str, Any]] = {}  # state rows to write, in one transaction
        self._flushed_at = 0.0
        self._work: queue.Queue[tuple[int, str] | None] = queue.Queue()
        self._done: queue.Queue[Done] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._pid = os.getpid()

    # -- the coordinator ------------------------------------------------------------------------------------

    def _refresh(self) -> None:
        now = self.clock.time()
        if self._refreshed_at is not None and now - self._refreshed_at < self.refresh:
            return
        self._refreshed_at = now
        rows = installed.list_apps(self.host, every_workspace=True)
        if self.names:
            wanted = {installed.name_key(n) for n in self.names}
            rows = [r for r in rows if r.name_key in wanted]
        current = {r.id: r for r in rows if r.authorized}
        for app_id in set(self.apps) - set(current):
            for stream in STREAMS:
                if (app_id, stream) not in self.running:
                    self.due.pop((app_id, stream), None)
                    self._forget(app_id, stream)
        for app_id, app in current.items():
            for stream in STREAMS:
                if (app_id, stream) not in self.due and (app_id, stream) not in self.running:
                    self.due[(app_id, stream)] = now
                    self._write(app, stream, "waiting", now)
        self.apps = current

    def _wake(self) -> None:
        """Due now: the push of every app with something to send (see the module's docstring)."""
        now = self.clock.time()
        if self._woke_at is not None and now - self._woke_at < self.poll:
            return
        self._woke_at = now
        changed, self._version = stock.changed_workspaces(self.host, self._version)
        ids = stock.unsettled_apps(self.host) | shipments.apps_with_due(self.host)
        if changed:
            ids |= {app.id for app in self.apps.values() if app.workspace_id in changed}
        for app_id in ids:
            key = (app_id, PUSH)
            if app_id in self.apps and key not in self.running:
                at = max(now, self._not_before.get(key, now))
                if at < self.due.get(key, float("inf")):
                    self.due[key] = at
                    self._write(self.apps[app_id], PUSH, "waiting", at)

    def ready(self) -> list[tuple[int, str]]:
        """The units that may run now, in the order they should: pushes first, then the app served least recently."""
        now = self.clock.time()
        keys = [k for k, at in self.due.items() if at <= now and k not in self.running and k[0] in self.apps]
        return sorted(keys, key=lambda k: (k[1] != PUSH, self.served.get(k[0], -1), self.due[k]))

    def _dispatch(self) -> None:
        for key in self.ready():
            if len(self.running) >= self.workers:
                return
            self.due.pop(key)
            self.running.add(key)
            self.peak_running = max(self.peak_running, len(self.running))
            self._dispatched += 1
            self.served[key[0]] = self._dispatched
            self._write(self.apps[key[0]], key[1], "running", self.clock.time())
            self._work.put(key)

    def _finish(self, done: Done) -> None:
        self.running.discard(done.key)
        app = self.apps.get(done.key[0])
        self.events.append((self.clock.time(), app.name if app else str(done.key[0]), done.key[1], done.outcome))
        if done.outcome == "deferred":
            self._not_before[done.key] = done.next_at
        else:
            self._not_before.pop(done.key, None)
        if done.outcome == "error":
            self.errors[done.key] = done.message
        elif done.outcome == "done":
            self.errors.pop(done.key, None)
        if app is None or done.outcome == "removed":
            self.apps.pop(done.key[0], None)
            self._not_before.pop(done.key, None)
            self._forget(*done.key)
            return
        self.due[done.key] = done.next_at
        self._write(app, done.key[1], "waiting", done.next_at)

    def run(self, stop: threading.Event | None = None, grace: float = 30.0) -> None:
        """Serve the apps until ``stop`` (or ``self.stop``) is set; then take no more work and let the running units
        end at their next request (the page they store is committed), waiting at most ``grace`` real seconds."""
        if stop is not None:
            self.stop = stop
        for number in range(self.workers):
            thread = threading.Thread(target=self._worker, name=f"linkolis-worker-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)
        try:
            while not self.stop.is_set():
                self._refresh()
                self._drain(0)
                self._wake()
                self._dispatch()
                self._flush()
                if self.running:
                    self._drain(0.05)
                    continue
                upcoming = min(self.due.values(), default=self.clock.time() + self.poll)
                wait = min(max(0.0, upcoming - self.clock.time()), self.poll)
                if wait > 0:
                    self.clock.sleep(wait)
        finally:
            self.stop.set()
            for _ in self._threads:
                self._work.put(None)
            for thread in self._threads:
                thread.join(timeout=grace)
            self._drain(0)
            self._flush(force=True)
            self._stopped()

    def _drain(self, timeout: float) -> None:
        try:
            done = self._done.get(timeout=timeout) if timeout else self._done.get_nowait()
        except queue.Empty:
            return
        self._finish(done)
        while True:
            try:
                self._finish(self._done.get_nowait())
            except queue.Empty:
                return

    # -- the workers ----------------------------------------------------------------------------------------

    def _worker(self) -> None:
        twin = self.host.fork()
        try:
            while True:
                key = self._work.get()
                if key is None:
                    return
                self._done.put(self._run_unit(twin, key))
        finally:
            twin.close()

    def _run_unit(self, host: Host, key: tuple[int, str]) -> Done:
        app_id, stream = key
        now = self.clock.time
        try:
            row = host.db["apps"].get(app_id)
        except NotFoundError:
            return Done(key, "removed", now())
        app = App.from_row(row)
        if app.status == installed.REMOVED or not app.authorized:
            return Done(key, "removed", now())
        try:
            with deferring(self.defer_over, self.stop):
                if stream == PUSH:
                    self._push(host, app)
                    return Done(key, "done", now() + self.interval)
                result = import_orders(host, app)
                if result["new"] or result["updated"]:
                    self.report(f"{app.name}: {result['new']} new, {plural(result['updated'], 'updated order')}")
                return Done(key, "done", now() + self.interval)
        except Deferred as exc:
            return Done(key, "deferred", max(exc.until, now()))
        except Busy:
            return Done(key, "busy", now() + self.poll)
        except LinkolisError as exc:
            self.report(f"{app.name}: {stream}: {exc}")
            return Done(key, "error", now() + self.interval, str(exc))
        except Exception:  # noqa: BLE001 - keep serving the others; the log has the traceback
            log.exception("%s of %s failed", stream, app.name)
            self.report(f"{app.name}: {stream} failed unexpectedly (run with -v for details)")
            return Done(key, "error", now() + self.interval, f"{stream} failed unexpectedly")

    def _push(self, host: Host, app: App) -> None:
        if shipments.has_due(host, app.id):
            sent = shipments.push_shipments(host, app)
            if sent["sent"] or sent["refused"]:
                self.report(
                    f"{app.name}: {plural(sent['sent'], 'shipment')} sent, {sent['accepted']} accepted, "
                    f"{sent['rejected']} rejected, {sent['refused']} refused"
                )
        if not host.app_info(app).settings.stock_sync:
            return
        result = stock.push_stock(host, app)  # cheap when nothing is due: it asks an index first
        if result["sent"] or result["accepted"] or result["rejected"]:
            self.report(
                f"{app.name}: {result['sent']} sent, {result['accepted']} accepted, "
                f"{result['rejected']} rejected, {result['pending']} pending"
            )

    # -- the state table ------------------------------------------------------------------------------------

    def _write(self, app: App, stream: str, state: str, due_at: float) -> None:
        self._dirty[(app.id, stream)] = {
            "app_id": app.id,
            "stream": stream,
            "app_name": app.name,
            "workspace_id": app.workspace_id,
            "state": state,
            "due_at": due_at,
            "last_error": self.errors.get((app.id, stream), ""),
            "updated_at": self.clock.time(),
            "pid": self._pid,
        }

    def _flush(self, force: bool = False) -> None:
        """Write the changed state rows, in one transaction at most every half a real second: ``sync status`` is
        that fresh, and a thousand apps cost one commit, not two per unit."""
        if not self._dirty or (not force and time.monotonic() - self._flushed_at < FLUSH_EVERY):
            return
        rows, self._dirty = list(self._dirty.values()), {}
        with self.host.db.atomic():
            self.host.db["scheduler_state"].upsert_all(rows, pk=("app_id", "stream"))
        self._flushed_at = time.monotonic()

    def _forget(self, app_id: int, stream: str) -> None:
        self._dirty.pop((app_id, stream), None)
        with self.host.db.atomic():
            self.host.db.execute(
                "DELETE FROM scheduler_state WHERE app_id = ? AND stream = ? AND pid = ?", (app_id, stream, self._pid)
            )

    def _stopped(self) -> None:
        with self.host.db.atomic():
            self.host.db.execute(
                "UPDATE scheduler_state SET state = 'stopped', updated_at = ? WHERE pid = ?",
                (self.clock.time(), self._pid),
            )


@contextmanager
def background(host: Host, grace: float = 30.0, **options: Any) -> Iterator[Scheduler]:
    """A scheduler serving the apps in a thread of its own while the block runs (``linkolis serve``), on its own
    fork of ``host``; leaving the block stops it as Ctrl-C stops ``sync --watch``: no more work, and the running
    units end at their next request, within ``grace`` real seconds."""
    twin = host.fork()
    scheduler = Scheduler(twin, **options)
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run, args=(stop, grace), name="linkolis-scheduler", daemon=True)
    thread.start()
    try:
        yield scheduler
    finally:
        stop.set()
        thread.join(timeout=grace + 5)
        if not thread.is_alive():
            twin.close()


def status(host: Host, workspace_id: int | None = None) -> dict[str, Any]:
    """What the schedulers on this data directory do: per app and stream its state, when it is next due, its last
    error; and the queue depth (units waiting whose time has come). ``workspace_id``: that workspace's apps only."""
    now = host.clock.time()
    where, params = ("WHERE workspace_id = ? ", (workspace_id,)) if workspace_id is not None else ("", ())
    rows = list(
        host.db.query(
            "SELECT app_id, app_name, workspace_id, stream, state, due_at, last_error, pid, updated_at "
            f"FROM scheduler_state {where}ORDER BY workspace_id, app_name, stream",
            params,
        )
    )
    units = [
        {
            "app_id": r["app_id"],
            "app": r["app_name"],
            "workspace_id": r["workspace_id"],
            "stream": r["stream"],
            "state": r["state"],
            "waits_s": round(max(0.0, r["due_at"] - now), 1) if r["state"] == "waiting" else 0.0,
            "due_at": datetime.fromtimestamp(r["due_at"], tz=UTC).isoformat(timespec="seconds"),
            "last_error": r["last_error"] or None,
            "pid": r["pid"],
        }
        for r in rows
    ]
    depth = sum(1 for r in rows if r["state"] == "waiting" and r["due_at"] <= now)
    return {"units": units, "queue_depth": depth, "running": sum(1 for r in rows if r["state"] == "running")}
