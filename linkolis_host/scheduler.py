"""The scheduler of ``sync --watch``: every authorized app of every workspace served at once, none waiting for another.

Per app two units of work: ``push`` (due shipments, then stock changes: ``shipments.push_shipments`` and
``stock.push_stock``) and ``import`` (``orders.import_orders``) every ``interval`` seconds. A push is also woken
within ``poll`` seconds of there being something to send: once a ``poll`` the coordinator asks, for all apps at
once, which workspaces have new desired quantities and which apps have stock interrupted, to send again or pending
at the marketplace, or shipments due (a few index seeks: ``stock.changed_workspaces``, ``stock.unsettled_apps``,
``shipments.apps_with_due``), so an idle app costs nothing between its rounds, at any number of apps. Each unit
runs under the app's lock as it always did (a ``Busy`` from another process: skip this round), on one of
``workers`` threads, each with its own database connection.

A push that is running when a wake finds its app has something to send runs again as soon as it ends (it may have
read what was due before the change); an import that stored orders wakes the pushes at once, not a poll later
(what its orders reserve lowers what every other app of the workspace is offered).

Orders by notification: for every plugin whose operator settings name a queue (``notifications_queue_url``) and
that reads notifications, a reader thread long-polls the queue (``order_notifications.import_notified``) while the
scheduler runs; an order it stores wakes the pushes at once, as an import's does. An app subscribed to notifications
is then polled every ``net_interval`` seconds (its ``order_poll_minutes`` when set) instead of every ``interval``:
the poll is the net for a notification lost on the way. A reader that cannot reach its queue says so once, keeps
trying every ``QUEUE_RETRY`` seconds, and its apps are polled every ``interval`` meanwhile.

A unit whose next request would wait for quota longer than ``defer_over`` seconds raises ``http.Deferred`` instead
of sleeping (``http.deferring``): it ends there (imports commit per batch, the cursor resumes), gives its worker
back, and is queued again for the moment its token is due. Ready pushes go before ready imports; among equals the
app served least recently goes first (then the one due first), so one app's backlog never starves another. The due
units wait in heaps (``DueTimes``: one by due time, then one per stream of those whose time has come, by when their
app was last served), so a dispatch costs a few heap operations, not a sort of every due unit.

The coordinator (the thread calling ``run``) alone decides and writes the state table ``scheduler_state``, which
``sync status`` reads from another process (written at most every ``FLUSH_EVERY`` real seconds, in one
transaction). Memory is one entry per app and stream.

Every due time, interval and wait is measured on the clock's monotonic time, so a wall clock set back (NTP, a VM
resumed) delays nothing; the wall time is only what is shown: the due times written for ``sync status`` (wall now
plus what is left to wait, written again when the wall clock jumps) and the times of ``events``.

A write the machine refuses (``store.cannot_write``: the disk full, the database read-only or failing, locked too
long) never ends the run: a unit that meets one is ``stalled`` and tried again after ``WRITE_RETRY`` seconds (what
it stored before stays stored; what it had not recorded is sent again), and the coordinator keeps the state rows it
could not write until it can. The condition is said once (the log and ``report``), shown by ``sync status``, and a
line says when writes go through again.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import queue
import shutil
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Callable, Iterator

from sqlite_utils.db import NotFoundError

from . import installed, logs, metrics, order_notifications, shipments, stock, store
from .errors import Busy, LinkolisError
from .host import Host
from .http import Deferred, deferring
from .installed import App
from .notifications import sqs_client
from .orders import import_orders
from .terminal import plural

log = logging.getLogger("linkolis.scheduler")

PUSH, IMPORT = "push", "import"
FLUSH_EVERY = 0.5  # real seconds between writes of the state table
# A state row is written again only when what ``sync status`` shows of it changed: its state or error, or its due
# time moved by more than this many seconds (a wake that moves a push a few tenths sooner is not news).
SHOWN_DUE_SLACK = 1.0
WRITE_RETRY = 10.0  # seconds between tries while the database cannot be written (a full disk, say)
CLOCK_JUMP = 1.0  # a wall clock that moves this much against the monotonic one was set: due times are shown anew
STREAMS = (PUSH, IMPORT)
WAITING = ("waiting", "stalled")  # the states of a unit that waits for its due time
IDLE = "idle"  # a push of `linkolis worker` that sent what was due: it runs again when there is more, not at a time
LOW_SPACE = 1 << 20  # bytes free under which the disk holding the database counts as full
QUEUE_WAIT = 5  # seconds a notification queue's receive waits for a message: a stop waits no longer than this
QUEUE_RETRY = 10.0  # seconds between tries of a notification queue that cannot be read


class DueTimes(dict[tuple[int, str], float]):
    """The units' due times on the monotonic clock, as a dict; each time set is also pushed on ``heap`` as
    (due, place, sequence, key). ``place`` is the key's place in the dict's order (kept while the key stays, as a
    dict keeps it), so ties go as a sort of the dict would; an entry whose sequence is not its key's newest
    (``latest``: set again, or popped) is stale and dropped when it surfaces (lazy deletion)."""

    def __init__(self) -> None:
        super().__init__()
        self.heap: list[tuple[float, int, int, tuple[int, str]]] = []
        self.latest: dict[tuple[int, str], int] = {}
        self.place: dict[tuple[int, str], int] = {}
        self._sequence = itertools.count()

    def __setitem__(self, key: tuple[int, str], at: float) -> None:
        sequence = next(self._sequence)
        if key not in self:
            self.place[key] = sequence
        super().__setitem__(key, at)
        self.latest[key] = sequence
        heapq.heappush(self.heap, (at, self.place[key], sequence, key))
        if len(self.heap) > 2 * len(self) + 1024:  # stale entries far in the future: drop them now
            self.heap = [e for e in self.heap if self.current(e[3], e[2])]
            heapq.heapify(self.heap)

    def __delitem__(self, key: tuple[int, str]) -> None:
        super().__delitem__(key)
        self.place.pop(key, None)

    def pop(self, key: tuple[int, str], *default: Any) -> Any:
        self.place.pop(key, None)
        return super().pop(key, *default)

    def current(self, key: tuple[int, str], sequence: int) -> bool:
        return key in self and self.latest.get(key) == sequence


@dataclass
class Done:
    """What a worker tells the coordinator when a unit ends."""

    key: tuple[int, str]
    outcome: str  # "done", "deferred", "busy", "error", "stalled" (the database refused a write), "removed"
    next_at: float  # on the clock's monotonic time
    message: str = ""
    stored: bool = False  # an import that stored new or changed orders: what they reserve may wake other pushes


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
        net_interval: float | None = None,
        notifications: bool = True,
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
        self.net_interval = net_interval if net_interval is not None else host.config.sync.net_interval
        self.notifications = notifications
        self.readers: dict[str, threading.Thread] = {}  # plugin kind -> the thread reading its notification queue
        self.reading: set[str] = set()  # the kinds whose queue the last pass reached (read by the coordinator)
        self.notified: dict[int, float] = {}  # app id -> seconds between its polls while it is on notifications
        self._notified_wake = threading.Event()  # a reader stored orders: wake the pushes they concern
        self._reader_notes: dict[str, tuple[str, str | None, float]] = {}  # kind -> (state, error, when) written
        self.report = report or (lambda message: None)
        self.stop = threading.Event()
        self.apps: dict[int, App] = {}
        self.due = DueTimes()
        # Per stream, the units whose due time has come: (their app's ``served`` when queued, due, place, seq, key).
        self._ready: dict[str, list[tuple[int, float, int, int, tuple[int, str]]]] = {PUSH: [], IMPORT: []}
        self.running: set[tuple[int, str]] = set()
        self.errors: dict[tuple[int, str], str] = {}
        self.served: dict[int, int] = {}  # app id -> the dispatch number it was last served at
        self.events: deque[tuple[float, str, str, str]] = deque(maxlen=10_000)  # (clock time, app, stream, what)
        self.peak_running = 0
        self._dispatched = 0
        self._refreshed_at: float | None = None
        self._woke_at: float | None = None
        self._version = 0  # the newest desired stock version the last wake saw
        self._not_before: dict[tuple[int, str], float] = {}  # a deferred or stalled unit's time: sooner is waste
        self._dirty: dict[tuple[int, str], dict[str, Any]] = {}  # state rows to write, in one transaction
        self._gone: set[tuple[int, str]] = set()  # state rows to delete, in the same transaction
        self._shown: dict[tuple[int, str], dict[str, Any]] = {}  # the state rows as last written
        self._flushed_at = 0.0
        self._flush_again_at = 0.0  # monotonic: after a refused write of the state rows, the next try
        self._stalled: set[tuple[int, str]] = set()  # units whose last run the database refused to store
        self._missed: set[tuple[int, str]] = set()  # pushes running when a wake would have queued them
        self.trouble: str | None = None  # what keeps the database from being written, while it lasts
        self._offset = self.clock.time() - self.clock.monotonic()  # wall less monotonic: moves when the wall jumps
        self._work: queue.Queue[tuple[int, str] | None] = queue.Queue()
        self._done: queue.Queue[Done] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._pid = os.getpid()

    # -- the coordinator ------------------------------------------------------------------------------------

    def _refresh(self) -> None:
        now = self.clock.monotonic()
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
        self._refresh_notified()

    def _refresh_notified(self) -> None:
        """Start a reader for each plugin with a queue; note which apps are on notifications, and their net."""
        if not self.notifications:
            return
        for kind in self.host.registry.kinds:
            if kind in self.readers or not self.host.registry.implements(kind, "read_notification"):
                continue
            try:
                url = order_notifications.queue_url(self.host, kind)
            except LinkolisError:
                continue  # the operator's settings are refused elsewhere, with their own message
            if url:
                thread = threading.Thread(
                    target=self._read_queue, args=(kind,), name=f"linkolis-notifications-{kind}", daemon=True
                )
                self.readers[kind] = thread
                thread.start()
        rows = order_notifications.on_notifications(self.host) if self.readers else {}
        was, self.notified = self.notified, {}
        for app_id, row in rows.items():
            app = self.apps.get(app_id)
            if app is not None and row["kind"] in self.reading:
                minutes = self.host.app_info(app).settings.order_poll_minutes
                self.notified[app_id] = minutes * 60.0 if minutes else self.net_interval
        now = self.clock.monotonic()
        for app_id in set(was) - set(self.notified):  # its queue fails, or it was unsubscribed: polled now
            key = (app_id, IMPORT)
            if app_id in self.apps and self.due.get(key, now) > now:
                self.due[key] = now
                self._write(self.apps[app_id], IMPORT, "waiting", now)

    def _wake(self) -> None:
        """Due now: the push of every app with something to send (see the module's docstring)."""
        now = self.clock.monotonic()
        if self._notified_wake.is_set():
            self._notified_wake.clear()
            self._woke_at = None  # a reader stored orders: what they reserve may lower other apps' quantities
        if self._woke_at is not None and now - self._woke_at < self.poll:
            return
        self._woke_at = now
        changed, self._version = stock.changed_workspaces(self.host, self._version)
        ids = stock.unsettled_apps(self.host) | shipments.apps_with_due(self.host)
        if changed:
            ids |= {app.id for app in self.apps.values() if app.workspace_id in changed}
        for app_id in ids:
            key = (app_id, PUSH)
            if key in self.running:
                # It may have read its due list before this change: once it ends, it runs again at once.
                self._missed.add(key)
            elif app_id in self.apps:
                at = max(now, self._not_before.get(key, now))
                if at < self.due.get(key, float("inf")):
                    self.due[key] = at
                    self._write(self.apps[app_id], PUSH, "waiting", at)

    def ready(self, limit: int | None = None) -> list[tuple[int, str]]:
        """The units that may run now (at most ``limit``), in the order they should: pushes first, then the app
        served least recently, then the one due first."""
        now = self.clock.monotonic()
        waiting = self.due.heap
        while waiting and waiting[0][0] <= now:
            at, place, sequence, key = heapq.heappop(waiting)
            if self.due.current(key, sequence):
                heapq.heappush(self._ready[key[1]], (self.served.get(key[0], -1), at, place, sequence, key))
        found: list[tuple[int, str]] = []
        for stream in STREAMS:
            heap, kept = self._ready[stream], []
            while heap and (limit is None or len(found) < limit):
                entry = heapq.heappop(heap)
                served, at, place, sequence, key = entry
                if not self.due.current(key, sequence):
                    continue  # dispatched, or due again at another time (queued again then)
                if key in self.running or key[0] not in self.apps:
                    kept.append(entry)
                    continue
                if served != self.served.get(key[0], -1):  # its app's other stream was served since it was queued
                    heapq.heappush(heap, (self.served.get(key[0], -1), at, place, sequence, key))
                    continue
                found.append(key)
                kept.append(entry)  # still due: dispatching pops it from ``due``, which makes this entry stale
            for entry in kept:
                heapq.heappush(heap, entry)
        return found

    def _dispatch(self) -> None:
        if len(self.running) >= self.workers:
            return
        for key in self.ready(self.workers - len(self.running)):
            self.due.pop(key)
            self.running.add(key)
            self.peak_running = max(self.peak_running, len(self.running))
            self._dispatched += 1
            self.served[key[0]] = self._dispatched
            self._write(self.apps[key[0]], key[1], "running", self.clock.monotonic())
            self._work.put(key)

    def _finish(self, done: Done) -> None:
        self.running.discard(done.key)
        metrics.unit_ran(done.key[1], done.outcome)
        app = self.apps.get(done.key[0])
        self.events.append((self.clock.time(), app.name if app else str(done.key[0]), done.key[1], done.outcome))
        if done.outcome in ("deferred", "stalled"):  # waking it sooner is waste
            self._not_before[done.key] = done.next_at
        else:
            self._not_before.pop(done.key, None)
        if done.outcome in ("error", "stalled"):
            self.errors[done.key] = done.message
        elif done.outcome == "done":
            self.errors.pop(done.key, None)
        if done.outcome == "stalled":
            self._stalled.add(done.key)
            self._troubled(done.message)
        elif done.key in self._stalled:
            self._stalled.discard(done.key)
            if done.outcome == "done":
                self._untroubled()  # what it could not store, it has stored now
        if done.stored:
            self._woke_at = None  # the next pass wakes the pushes its orders concern, not a poll later
        missed = done.key in self._missed
        self._missed.discard(done.key)
        if app is None or done.outcome == "removed":
            self.apps.pop(done.key[0], None)
            self._not_before.pop(done.key, None)
            self._forget(*done.key)
            return
        if missed and done.outcome == "done":
            done.next_at = min(done.next_at, self.clock.monotonic())  # a change came while it ran
        if done.key[1] == IMPORT and done.outcome == "done" and done.key[0] in self.notified:
            # Its orders come by notification: this poll is only the net for one lost on the way.
            done.next_at += self.notified[done.key[0]] - self.interval
        self.due[done.key] = done.next_at
        self._write(app, done.key[1], "stalled" if done.outcome == "stalled" else "waiting", done.next_at)

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
                self._mind_the_wall_clock()
                self._flush()
                if self.running:
                    self._drain(0.05)
                    continue
                now = self.clock.monotonic()
                upcoming = min(self.due.values(), default=now + self.poll)
                wait = min(max(0.0, upcoming - now), self.poll)
                if wait > 0:
                    self.clock.sleep(wait)
        finally:
            self.stop.set()
            for _ in self._threads:
                self._work.put(None)
            for thread in [*self._threads, *self.readers.values()]:
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
                self._done.put(self.run_unit(twin, key))
        finally:
            twin.close()

    def run_unit(self, host: Host, key: tuple[int, str], app: App | None = None) -> Done:
        """Run one unit on ``host`` (a fork of its own thread): what a worker thread, and a job of `linkolis worker`,
        runs; ``app``: its row as just read (else read here). Never raises for what the marketplace or the machine
        does: the outcome says it."""
        app_id, stream = key
        now = self.clock.monotonic
        if app is None:
            try:
                app = App.from_row(host.db["apps"].get(app_id))
            except NotFoundError:
                return Done(key, "removed", now())
        if app.status == installed.REMOVED or not app.authorized:
            return Done(key, "removed", now())
        with logs.about(app.name, app.workspace_id):
            return self._run(host, app, stream)

    def _run(self, host: Host, app: App, stream: str) -> Done:
        key, now = (app.id, stream), self.clock.monotonic
        try:
            with deferring(self.defer_over, self.stop):
                if stream == PUSH:
                    self._push(host, app)
                    return Done(key, "done", now() + self.interval)
                result = import_orders(host, app)
                stored = bool(result["new"] or result["updated"])
                if stored:
                    self.report(f"{app.name}: {result['new']} new, {plural(result['updated'], 'updated order')}")
                return Done(key, "done", now() + self.interval, stored=stored)
        except Deferred as exc:
            # ``until`` is a wall time: what is left of the wait, on the monotonic clock.
            return Done(key, "deferred", now() + max(0.0, exc.until - self.clock.time()))
        except Busy:
            return Done(key, "busy", now() + self.poll)
        except Exception as exc:  # keep serving the others; the log has the traceback
            trouble = store.cannot_write(exc, host.db_path)
            if trouble is not None:  # the machine's doing: what was stored stays, the rest is tried again soon
                log.debug("%s of %s could not write: %r", stream, app.name, exc)
                return Done(key, "stalled", now() + self.write_retry, self._trouble_text(trouble))
            if isinstance(exc, LinkolisError):
                self.report(f"{app.name}: {stream}: {exc}")
                return Done(key, "error", now() + self.interval, str(exc))
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

    # -- the notification queues ----------------------------------------------------------------------------

    def _read_queue(self, kind: str) -> None:
        """Read ``kind``'s notification queue until the scheduler stops, on a fork of the host of its own."""
        twin = self.host.fork()
        trouble: str | None = None
        try:
            sqs = None  # one boto3 client for the reader's life: making one costs more than a pass
            while not self.stop.is_set():
                try:
                    if sqs is None:
                        sqs = sqs_client()
                    # The first pass does not wait: its apps' polls become the net as soon as the queue answers.
                    wait = QUEUE_WAIT if kind in self.reading else 0
                    result = order_notifications.import_notified(twin, kind, wait_seconds=wait, sqs=sqs)
                except Exception as exc:  # the queue unreachable, or the database: said once, tried again
                    message = str(exc) if isinstance(exc, LinkolisError) else f"{type(exc).__name__}: {exc}"
                    if not isinstance(exc, LinkolisError):
                        log.exception("reading the %s notification queue failed", kind)
                    self.reading.discard(kind)
                    if message != trouble:
                        trouble = message
                        self.report(f"{kind} notifications: {message}; its apps are polled meanwhile")
                        self._note_reader(twin, kind, "failing", message)
                    self.stop.wait(QUEUE_RETRY)
                    continue
                if kind not in self.reading or trouble is not None:
                    if trouble is not None:
                        self.report(f"{kind} notifications: the queue is read again")
                    trouble = None
                    self.reading.add(kind)
                    self._refreshed_at = None  # its apps' polls become the net at the next pass
                self._note_reader(twin, kind, "reading", None, read=True)
                if result["new"] or result["updated"]:
                    self._notified_wake.set()
                    self.report(
                        f"{kind} notifications: {result['new']} new, {plural(result['updated'], 'updated order')}"
                    )
        finally:
            self.reading.discard(kind)
            self._note_reader(twin, kind, "stopped", None)
            twin.close()

    def _note_reader(self, host: Host, kind: str, state: str, error: str | None, read: bool = False) -> None:
        """What the reader does, for ``sync status``: written when it changes, and at most once a minute while it
        reads (a pass every few seconds need not be a write every few seconds)."""
        last = self._reader_notes.get(kind)
        now = time.monotonic()
        if last is not None and last[0] == state and last[1] == error and now - last[2] < 60:
            return
        try:
            order_notifications.note_reader(host, kind, state, error, read=read)
        except (*store.ERRORS, LinkolisError) as exc:
            log.debug("could not note the %s reader's state: %r", kind, exc)
            return
        self._reader_notes[kind] = (state, error, now)

    # -- a database that cannot be written -----------------------------------------------------------------

    @property
    def write_retry(self) -> float:
        """Seconds between tries while the database cannot be written: ``WRITE_RETRY``, never more than a round."""
        return min(WRITE_RETRY, self.interval)

    def _trouble_text(self, trouble: str) -> str:
        return f"{trouble}: the sync waits and tries again every {self.write_retry:g} s"

    def _troubled(self, message: str) -> None:
        """Say once what keeps the database from being written (again when it changes): in the log, and through
        ``report`` (the CLI's stderr)."""
        if message != self.trouble:
            self.trouble = message
            log.info("%s", message)
            self.report(message)

    def _untroubled(self) -> None:
        if self.trouble is not None:
            self.trouble = None
            message = f"{self.host.db_path} can be written again: the sync carries on"
            log.info("%s", message)
            self.report(message)

    # -- the state table ------------------------------------------------------------------------------------

    def _write(self, app: App, stream: str, state: str, due_at: float) -> None:
        """Note a state row to write; ``due_at`` on the monotonic clock, written as the wall time it falls at. A row
        that would show what the one last written shows (``SHOWN_DUE_SLACK``) is not written again."""
        wall = self.clock.time()
        key = (app.id, stream)
        self._gone.discard(key)
        row = {
            "app_id": app.id,
            "stream": stream,
            "app_name": app.name,
            "workspace_id": app.workspace_id,
            "state": state,
            "due_at": wall + (due_at - self.clock.monotonic()),
            "last_error": self.errors.get(key, ""),
            "updated_at": wall,
            "pid": self._pid,
        }
        shown = self._shown.get(key)
        if shown is not None and _shows_the_same(shown, row):
            self._dirty.pop(key, None)  # back to what is shown before the next flush: nothing to write
            return
        self._dirty[key] = row

    def _mind_the_wall_clock(self) -> None:
        """The wall clock was set (NTP, a VM resumed): the due times shown are written again, as wall times now."""
        offset = self.clock.time() - self.clock.monotonic()
        if abs(offset - self._offset) < CLOCK_JUMP:
            return
        log.info("the wall clock moved %+.0f s; the due times shown follow it", offset - self._offset)
        self._offset = offset
        for key, at in self.due.items():
            if key[0] in self.apps and key not in self.running:
                self._write(self.apps[key[0]], key[1], "stalled" if key in self._stalled else "waiting", at)

    def _flush(self, force: bool = False) -> None:
        """Write the changed state rows, in one transaction at most every half a real second: ``sync status`` is
        that fresh (a unit running, a second), and a thousand apps cost one commit, not two per unit. Rows the
        database refuses are kept, to be written with the next ones, ``write_retry`` seconds later at the earliest."""
        if not self._dirty and not self._gone:
            return
        if not force and (
            time.monotonic() - self._flushed_at < FLUSH_EVERY or self.clock.monotonic() < self._flush_again_at
        ):
            return
        dirty, gone = self._dirty, self._gone
        self._dirty, self._gone = {}, set()
        if not force:
            # A unit that began less than FLUSH_EVERY ago is shown running at the next flush, if it still is: most
            # end before, and their row is then written once, not twice (running, then waiting again).
            young = self.clock.time() - FLUSH_EVERY
            for key in [k for k, row in dirty.items() if row["state"] == "running" and row["updated_at"] > young]:
                self._dirty[key] = dirty.pop(key)
        try:
            with self.host.db.atomic():
                self.host.db.conn.executemany(
                    "DELETE FROM scheduler_state WHERE app_id = ? AND stream = ? AND pid = ?",
                    [(app_id, stream, self._pid) for app_id, stream in gone],
                )
                if dirty:
                    self.host.db["scheduler_state"].upsert_all(list(dirty.values()), pk=("app_id", "stream"))
        except (*store.ERRORS, LinkolisError) as exc:
            trouble = store.cannot_write(exc, self.host.db_path)
            if trouble is None:
                raise
            self._dirty, self._gone = dirty, gone  # kept for the next try
            self._flush_again_at = self.clock.monotonic() + self.write_retry
            self._troubled(self._trouble_text(trouble))
            return
        finally:
            self._flushed_at = time.monotonic()
        for key in gone:
            self._shown.pop(key, None)
        self._shown.update(dirty)
        if not self._stalled:
            self._untroubled()

    def _forget(self, app_id: int, stream: str) -> None:
        """The row of a unit no longer served goes, with the next rows written."""
        self._dirty.pop((app_id, stream), None)
        self._stalled.discard((app_id, stream))
        self._gone.add((app_id, stream))
        self._shown.pop((app_id, stream), None)

    def _stopped(self) -> None:
        try:
            with self.host.db.atomic():
                self.host.db.execute(
                    "UPDATE scheduler_state SET state = 'stopped', updated_at = ? WHERE pid = ?",
                    (self.clock.time(), self._pid),
                )
        except (*store.ERRORS, LinkolisError) as exc:
            trouble = store.cannot_write(exc, self.host.db_path)
            if trouble is None:
                raise
            self.report(f"stopped; {trouble}, so `sync status` shows the units as they were last written")


def _shows_the_same(shown: dict[str, Any], row: dict[str, Any]) -> bool:
    """Whether ``row`` shows in ``sync status`` what the written ``shown`` does."""
    same = ("state", "last_error", "app_name", "workspace_id", "pid")
    return all(shown[f] == row[f] for f in same) and abs(shown["due_at"] - row["due_at"]) <= SHOWN_DUE_SLACK


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
    error; the queue depth (units waiting whose time has come); ``database``, what keeps a scheduler from
    writing the database (None when nothing does): as its stalled units last said, or the disk found full; and
    ``notifications`` (``order_notifications.status``): the queue readers, and which apps are on notifications."""

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
            "waits_s": round(max(0.0, r["due_at"] - now), 1) if r["state"] in WAITING else 0.0,
            "due_at": datetime.fromtimestamp(r["due_at"], tz=UTC).isoformat(timespec="seconds"),
            "last_error": r["last_error"] or None,
            "pid": r["pid"],
        }
        for r in rows
    ]
    depth = sum(1 for r in rows if r["state"] in WAITING and r["due_at"] <= now)
    stalled = [u["last_error"] for u in units if u["state"] == "stalled" and u["last_error"]]
    return {
        "units": units,
        "queue_depth": depth,
        "running": sum(1 for r in rows if r["state"] == "running"),
        "database": stalled[0] if stalled else _disk_full(host),
        "notifications": order_notifications.status(host, workspace_id),
    }


def _disk_full(host: Host) -> str | None:
    """The disk holding the database, when it is full: then not even the state rows can be written, and those
    shown are as they were last written."""
    try:
        free = shutil.disk_usage(host.db_path.parent).free
    except OSError:
        return None
    if free >= LOW_SPACE:
        return None
    return f"the disk holding {host.db_path} is full ({free // 1024} KB free): the sync waits for space"
