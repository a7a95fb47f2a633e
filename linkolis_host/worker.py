"""``linkolis worker``: the sync's units as jobs of a task queue kept in the PostgreSQL database (Procrastinate), so
any number of worker processes on any number of machines share the work of one installation.

The units are the scheduler's (``Scheduler.run_unit``: an app's import; its push of due shipments, then stock), run
as the job ``linkolis.unit(app_id, stream)``:

- **Queues.** Pushes go to the queue ``push`` and imports to ``import``; each worker process runs one Procrastinate
  worker per queue (``--push-concurrency`` and ``--concurrency`` jobs at once), so a push never waits behind
  imports. The notification readers (one job per plugin with a queue, ``linkolis.notifications(kind)``) go to
  ``notifications``, served beside the imports.
- **One at a time.** A job holds the lock ``app-<id>-<stream>`` (Procrastinate runs no two jobs of one lock at once,
  across processes) and the unit takes the app's advisory lock as always; ``queueing_lock`` keeps at most one job
  of a unit waiting, so a unit is never queued twice.
- **Its next time.** An import ends by queueing itself for ``interval`` seconds later. A unit whose next request
  would wait for quota longer than ``defer_over`` seconds ends (``http.Deferred``; what it imported is committed
  and its cursor resumes) and queues itself for the moment its token is due. A unit that fails, is busy, or meets
  a database it cannot write queues itself for the scheduler's retry time.
- **Wake.** One process of all leads the wake (``Wake``, an advisory lock the next process takes when the leader
  dies): every ``poll`` seconds it asks which apps have something to push (the scheduler's queries: stock changed,
  stock unsettled, shipments due) and queues their push; every ``refresh`` seconds it queues the import of every
  authorized app that has none waiting or running (a new app, or one whose job was lost), and the reader of every
  plugin with a notification queue. The other processes make a pass only when an import of theirs stored orders,
  for those orders' pushes at once: N processes do not ask the same questions N times a second.
- **A killed worker.** Procrastinate notes each worker's heartbeat; each process gives the jobs of a worker silent
  for ``STALLED_AFTER`` seconds back to the queue (``retry_job``), and the unit resumes from what it committed.
- **What the seller sees.** Each job writes its unit's row in ``scheduler_state`` when it starts and ends, as the
  scheduler does, so ``sync status`` and My applications read the same table; ``sync status`` adds the queue's
  counts (``queue_status``). A push that sent what was due is ``idle``: no job waits for it until the wake finds
  more (``sync --watch`` instead runs every push again an interval later, and shows when).

SIGTERM or Ctrl-C stops fetching jobs and ends the running units at their next request (``grace`` seconds at
most); their jobs were committed as far as they went and are queued again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Callable

from sqlite_utils.db import NotFoundError

from . import installed, locks, metrics, order_notifications, shipments, stock, store
from .errors import Action, LinkolisError, UserError
from .host import Host
from .notifications import sqs_client
from .scheduler import IDLE, IMPORT, PUSH, QUEUE_RETRY, QUEUE_WAIT, Scheduler

log = logging.getLogger("linkolis.worker")

PUSH_QUEUE, IMPORT_QUEUE, NOTIFICATIONS_QUEUE = "push", "import", "notifications"
QUEUE_WORKERS_PER_PROCESS = 2  # `run` starts one for the pushes and one for the imports and readers
UNIT, READER = "linkolis.unit", "linkolis.notifications"
STALLED_AFTER = 30.0  # seconds without a worker's heartbeat before its jobs are given to another (--stalled-after)
WAKE_LEAD = 0x4C4B5741  # "LKWA": the one-key advisory lock of the process that leads the wake (see Wake.run)
POOL_TIMEOUT = 10.0  # seconds a worker's queue waits for a database connection before its worker stops
READ_FOR = 60.0  # seconds a notification reader job reads before it queues its successor and ends

try:  # an optional dependency: linkolis-host[postgresql]
    import procrastinate
    from procrastinate.exceptions import AlreadyEnqueued, UniqueViolation
    from procrastinate.worker import Worker as ProcrastinateWorker
except ImportError:  # pragma: no cover - the message says what to install
    procrastinate = None  # type: ignore[assignment]


def _needs_procrastinate() -> Any:
    if procrastinate is None:
        raise UserError(
            "the worker needs the task queue's library: pip install 'linkolis-host[postgresql]'",
            code="queue_library_missing",
            action=Action.OPERATOR,
        )
    return procrastinate


# The worker serving this process's jobs: the job functions below run on it.
_current: Worker | None = None


def _unit(app_id: int, stream: str) -> None:
    assert _current is not None, "a linkolis job runs only in `linkolis worker`"
    _current.unit(app_id, stream)


def _reader(kind: str) -> None:
    assert _current is not None, "a linkolis job runs only in `linkolis worker`"
    _current.read(kind)


def queue_app(url: str, *, sync: bool = False) -> Any:
    """The Procrastinate app of the database at ``url`` with linkolis's two jobs: its async connector for a worker,
    or (``sync``) the connector of plain threads, which queue jobs."""
    pc = _needs_procrastinate()
    # A worker's pool gives up on a connection after POOL_TIMEOUT s (psycopg's default: 30): a database gone makes
    # the worker exit that much sooner (see ``_serve``); its jobs hold no pool connection while they run.
    connector = (
        pc.SyncPsycopgConnector(conninfo=url) if sync else pc.PsycopgConnector(conninfo=url, timeout=POOL_TIMEOUT)
    )
    app = pc.App(connector=connector)
    app.task(name=UNIT, pass_context=False)(_unit)
    app.task(name=READER, pass_context=False)(_reader)
    return app


def ensure_schema(url: str) -> None:
    """The queue's tables in the database, made by the first process that needs them (under the migration lock)."""
    from . import postgres

    conn = postgres.open_connection(url)
    try:
        conn.execute("BEGIN")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (postgres.MIGRATE_LOCK,))
        if conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()[0] is None:
            conn.execute(_needs_procrastinate().schema.SchemaManager.get_schema())
        conn.execute("COMMIT")
    finally:
        conn.close()


def _wall(at: datetime | None) -> float | None:
    return None if at is None else at.timestamp()


class Queue:
    """Queueing linkolis's jobs from plain threads (the workers' units and wake loops, ``serve``)."""

    def __init__(self, url: str) -> None:
        ensure_schema(url)
        self.app = queue_app(url, sync=True)
        self.app.open()

    def close(self) -> None:
        self.app.close()

    def unit(self, app_id: int, stream: str, at: float | None = None) -> bool:
        """Queue ``stream`` of app ``app_id`` for the wall time ``at`` (now when None); False when one is already
        waiting: that one runs at its time (a push waiting for a quota's token runs no sooner; one waiting out an
        error's retry the wake brings forward, ``forward``)."""
        when = None if at is None or at <= time.time() else datetime.fromtimestamp(at, tz=UTC)
        lock = f"app-{app_id}-{stream}"
        try:
            self.app.configure_task(
                UNIT,
                queue=PUSH_QUEUE if stream == PUSH else IMPORT_QUEUE,
                lock=lock,
                queueing_lock=lock,
                schedule_at=when,
            ).defer(app_id=app_id, stream=stream)
        except AlreadyEnqueued:
            return False
        return True

    def forward(self, app_ids: list[int], stream: str) -> int:
        """Bring the waiting jobs of ``stream`` of these apps forward to now: how many were later. (The wake: stock
        changed for a push that waits ``interval`` after an error, as ``sync --watch`` runs it again at once.)"""
        moved = self.app.connector.execute_query_all(
            "UPDATE procrastinate_jobs SET scheduled_at = now() "
            "WHERE status = 'todo' AND scheduled_at > now() AND queueing_lock = ANY(%(locks)s) RETURNING id",
            locks=[f"app-{app_id}-{stream}" for app_id in app_ids],
        )
        return len(moved)

    def reader(self, kind: str, at: float | None = None) -> bool:
        """Queue the reader of ``kind``'s notification queue for the wall time ``at`` (now when None)."""
        when = None if at is None or at <= time.time() else datetime.fromtimestamp(at, tz=UTC)
        try:
            self.app.configure_task(
                READER,
                queue=NOTIFICATIONS_QUEUE,
                lock=f"reader-{kind}",
                queueing_lock=f"reader-{kind}",
                schedule_at=when,
            ).defer(kind=kind)
        except AlreadyEnqueued:
            return False
        return True


def one_line(exc: BaseException) -> str:
    """An error as the operator reads it, on one line: linkolis's own message, else the type and first line of what
    caused it (the queue's ``ConnectorException`` says only "Database error"; its cause says which)."""
    if isinstance(exc, LinkolisError):
        return str(exc)
    cause = exc.__cause__ or exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__


def readers_queued(host: Host) -> set[str]:
    """The plugins whose notification reader has a job waiting or running."""
    rows = host.db.execute(
        "SELECT queueing_lock FROM procrastinate_jobs WHERE task_name = ? AND status IN ('todo', 'doing')", (READER,)
    ).fetchall()
    return {lock.removeprefix("reader-") for (lock,) in rows if lock}


def queued(host: Host) -> dict[tuple[int, str], dict[str, Any]]:
    """The units with a job waiting or running: (app id, stream) -> its status and when it is due (wall time)."""
    rows = host.db.execute(
        "SELECT queueing_lock, lock, status, scheduled_at FROM procrastinate_jobs "
        "WHERE task_name = ? AND status IN ('todo', 'doing')",
        (UNIT,),
    ).fetchall()
    found: dict[tuple[int, str], dict[str, Any]] = {}
    for queueing_lock, lock, status, scheduled_at in rows:
        _, app_id, stream = (queueing_lock or lock).split("-", 2)
        key = (int(app_id), stream)
        if status == "doing" or key not in found:
            found[key] = {"status": status, "due_at": _wall(scheduled_at)}
    return found


def queue_status(host: Host) -> dict[str, Any] | None:
    """The queue as ``sync status`` shows it: per queue the jobs waiting (due now, and later) and running, and the
    workers alive; None when the database has no queue (SQLite, or no worker ever ran)."""
    if host.db.dialect != "postgresql":
        return None
    if host.db.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()[0] is None:
        return None
    counts = {name: {"due": 0, "later": 0, "running": 0} for name in (PUSH_QUEUE, IMPORT_QUEUE, NOTIFICATIONS_QUEUE)}
    for queue, status, later, n in host.db.execute(
        "SELECT queue_name, status, COALESCE(scheduled_at > now(), false), COUNT(*) FROM procrastinate_jobs "
        "WHERE status IN ('todo', 'doing') GROUP BY queue_name, status, 3"
    ):
        entry = counts.setdefault(queue, {"due": 0, "later": 0, "running": 0})
        entry["running" if status == "doing" else "later" if later else "due"] += n
    beating = host.db.execute(
        "SELECT COUNT(*) FROM procrastinate_workers WHERE last_heartbeat > now() - make_interval(secs => ?)",
        (STALLED_AFTER,),
    ).fetchone()[0]
    # A `linkolis worker` process runs two queue workers (its pushes', its imports'; the queue's table names no
    # process): processes, not queue workers, are what an operator started.
    return {"queues": counts, "workers": (beating + 1) // QUEUE_WORKERS_PER_PROCESS}


class Worker:
    """What this process's jobs run on: the scheduler's ``run_unit`` on a fork of the host per thread."""

    def __init__(
        self,
        host: Host,
        queue: Queue,
        *,
        interval: float,
        poll: float,
        defer_over: float = 1.0,
        report: Callable[[str], None] | None = None,
    ) -> None:
        self.host = host
        self.queue = queue
        self.report = report or (lambda message: None)
        self.runner = Scheduler(host, interval=interval, poll=poll, defer_over=defer_over, report=self.report)
        self.stop = self.runner.stop  # set: running units end at their next request
        self.woken = threading.Event()  # an import stored orders: wake the pushes now
        self._local = threading.local()
        self._forks: list[Host] = []
        self._forks_lock = threading.Lock()

    def _host(self) -> Host:
        twin = getattr(self._local, "host", None)
        if twin is not None and getattr(twin.db, "broken", False):  # the server restarted: a new connection
            with self._forks_lock:
                self._forks.remove(twin)
            with contextlib.suppress(Exception):
                twin.close()
            twin = None
        if twin is None:
            twin = self._local.host = self.host.fork()
            with self._forks_lock:
                self._forks.append(twin)
        return twin

    def close(self) -> None:
        with self._forks_lock:
            for twin in self._forks:
                twin.close()
            self._forks.clear()

    def unit(self, app_id: int, stream: str) -> None:
        """The job ``linkolis.unit``: run the unit and queue its next time. Whatever fails on the way (the database
        gone a moment, a fork it could not open) is said and the unit queued again ``write_retry`` seconds later:
        a unit is never left without a job."""
        try:
            self._unit(app_id, stream)
        except Exception as exc:
            log.error("%s of app %s failed before it was queued again: %s", stream, app_id, one_line(exc))
            # Raises when the queue cannot be reached either: the job fails, and the wake queues the unit again.
            self.queue.unit(app_id, stream, time.time() + self.runner.write_retry)

    def _unit(self, app_id: int, stream: str) -> None:
        host = self._host()
        app = self._app(host, app_id)
        if app is None:
            return
        self._note(host, app, stream, "running", host.clock.time(), "")
        done = self.runner.run_unit(host, (app_id, stream), app)
        metrics.unit_ran(stream, done.outcome)
        if done.outcome == "removed":
            host.db.execute("DELETE FROM scheduler_state WHERE app_id = ? AND stream = ?", (app_id, stream))
            return
        wait = max(0.0, done.next_at - host.clock.monotonic())
        if stream == IMPORT and done.outcome == "done":
            wait = self._poll_every(host, app)
        error = done.message if done.outcome in ("error", "stalled") else ""
        if stream == IMPORT or done.outcome != "done" or self.stop.is_set():
            self.queue.unit(app_id, stream, time.time() + wait)  # due by the server's clock: keep NTP on
            state = "stalled" if done.outcome == "stalled" else "waiting"
            self._note(host, app, stream, state, host.clock.time() + wait, error)
        else:  # a push that sent what was due: idle until the wake finds more and queues it
            self._note(host, app, stream, IDLE, host.clock.time(), error)
        if done.stored:
            self.woken.set()

    def _poll_every(self, host: Host, app: installed.App) -> float:
        """Seconds to the app's next import: the interval; for an app on notifications whose queue a reader reads
        (read within the last ``READ_FOR`` and a wait), its ``order_poll_minutes``, else ``net_interval``: the net."""
        row = order_notifications.on_notifications(host).get(app.id)
        if row is None:
            return self.runner.interval
        reader = order_notifications.readers(host).get(row["kind"])
        if not reader or reader["state"] != "reading" or time.time() - (reader.get("read_at") or 0) > READ_FOR + 30:
            return self.runner.interval
        minutes = host.app_info(app).settings.order_poll_minutes
        return minutes * 60.0 if minutes else self.runner.net_interval

    def _app(self, host: Host, app_id: int) -> installed.App | None:
        try:
            return installed.App.from_row(host.db["apps"].get(app_id))
        except NotFoundError:
            return None

    def _note(self, host: Host, app: installed.App, stream: str, state: str, due_at: float, error: str) -> None:
        """The unit's row in ``scheduler_state``, as the scheduler writes it: what ``sync status`` shows."""
        try:
            host.db["scheduler_state"].upsert(
                {
                    "app_id": app.id,
                    "stream": stream,
                    "app_name": app.name,
                    "workspace_id": app.workspace_id,
                    "state": state,
                    "due_at": due_at,
                    "last_error": error,
                    "updated_at": time.time(),
                    "pid": os.getpid(),
                },
                pk=("app_id", "stream"),
            )
        except (*store.ERRORS, LinkolisError) as exc:  # only what is shown: never what ends a unit
            log.debug("could not note %s of %s: %r", stream, app.name, exc)

    def read(self, kind: str) -> None:
        """Read ``kind``'s notification queue for ``READ_FOR`` seconds, then queue the next reader and end."""
        host = self._host()
        ends = time.monotonic() + READ_FOR
        noted = False  # "reading" is written once a job (a minute), not at every pass
        again = None  # when the next reader goes: at once, or QUEUE_RETRY later after a failure
        try:
            sqs = sqs_client()
            while time.monotonic() < ends and not self.stop.is_set():
                result = order_notifications.import_notified(host, kind, wait_seconds=QUEUE_WAIT, sqs=sqs)
                if not noted:
                    order_notifications.note_reader(host, kind, "reading", None, read=True)
                    noted = True
                if result["new"] or result["updated"]:
                    self.woken.set()
        except Exception as exc:  # noted, and said once a QUEUE_RETRY: no failed job kept for each try
            message = one_line(exc)
            log.warning("the %s notification queue cannot be read: %s", kind, message)
            with contextlib.suppress(Exception):
                order_notifications.note_reader(host, kind, "failing", message)
            again = time.time() + QUEUE_RETRY  # a queue that fails is tried every QUEUE_RETRY s, not in a loop
        finally:
            if not self.stop.is_set():
                self.queue.reader(kind, again)


class Wake:
    """The wake loop of one worker process (see the module)."""

    def __init__(self, worker: Worker, poll: float, refresh: float = 10.0) -> None:
        self.worker = worker
        self.poll = poll
        self.refresh = refresh
        self.version = 0
        self._refreshed_at = -refresh
        self.apps: dict[int, installed.App] = {}
        self.host = worker.host.fork()
        self._said_at = -60.0  # when a failure of the wake was last said

    def once(self, lead: bool = True) -> None:
        """One pass: the pushes due; and, when this process leads (``lead``), every ``refresh`` seconds the imports
        and readers without a job."""
        host = self.host
        now = time.monotonic()
        refresh = lead and now - self._refreshed_at >= self.refresh
        if refresh:  # the apps, every ``refresh`` seconds: a list of thousands is not read every second
            self._refreshed_at = now
            self.apps = {a.id: a for a in installed.list_apps(host, every_workspace=True) if a.authorized}
        apps = self.apps
        changed, version = stock.changed_workspaces(host, self.version)
        ids = stock.unsettled_apps(host) | shipments.apps_with_due(host)
        if changed:
            ids |= {app_id for app_id, app in apps.items() if app.workspace_id in changed}
        waiting = [app_id for app_id in ids & set(apps) if not self.worker.queue.unit(app_id, PUSH)]
        if changed and waiting:
            self._forward_errored(host, [a for a in waiting if apps[a].workspace_id in changed])
        self.version = version  # only now: a wake that failed halfway asks for the same changes again
        if refresh:
            waiting = queued(host)
            for app_id in apps:
                if (app_id, IMPORT) not in waiting:
                    self.worker.queue.unit(app_id, IMPORT)
            reading = readers_queued(host)  # a reader waiting (maybe QUEUE_RETRY later) or reading: no other
            for kind in host.registry.kinds:
                if kind not in reading and host.registry.implements(kind, "read_notification"):
                    try:
                        url = order_notifications.queue_url(host, kind)
                    except LinkolisError:
                        continue
                    if url:
                        self.worker.queue.reader(kind)

    def _forward_errored(self, host: Host, app_ids: list[int]) -> None:
        """Of these apps whose stock changed and whose push already waits, those waiting out an error's retry (their
        state row has the error) run now: the change may be what cures it, as ``sync --watch`` has it. A push waiting
        for a quota's token is left to its time: sooner, it would only wait again."""
        if not app_ids:
            return
        errored = [
            row[0]
            for row in host.db.execute(
                f"SELECT app_id FROM scheduler_state WHERE stream = ? AND last_error != '' "
                f"AND app_id IN ({', '.join('?' * len(app_ids))})",
                (PUSH, *app_ids),
            )
        ]
        if errored:
            self.worker.queue.forward(errored, PUSH)

    def run(self, stop: threading.Event) -> None:
        """Until ``stop``: one process of all leads the wake (``locks.lead``) and makes a pass every ``poll``; the
        others only when an import of theirs stored orders (``woken``), for those orders' pushes at once. A process
        that comes to lead (the first, or the next when the leader died) starts from no version: every app's push
        once, for the stock changed while no process led."""
        leading, woken = False, False
        while not stop.is_set():
            try:
                if not self.version and not leading:  # a process that does not lead: the changes from now on
                    self.version = stock.latest_version(self.host)
                lead = locks.lead(self.host.database, WAKE_LEAD)
                if lead and not leading:
                    self.version = 0
                leading = lead
                if lead or woken:
                    self.once(lead)
            except Exception as exc:  # the database gone a moment: said (once a minute at most), and tried again
                failing = time.monotonic()
                if failing - self._said_at >= 60:
                    self._said_at = failing
                    log.warning("the wake of the queue failed: %s", one_line(exc))
                if getattr(self.host.db, "broken", False):  # the server restarted: a new connection next time
                    with contextlib.suppress(Exception):
                        self.host.close()
                    with contextlib.suppress(Exception):
                        self.host = self.worker.host.fork()
            woken = self.worker.woken.wait(self.poll)
            self.worker.woken.clear()
        self.host.close()


# A stalled worker's job goes back to the queue only while it is still that worker's and still running: two
# processes rescuing at once, or a job another worker took meanwhile, are left alone.
RETRY_STALLED = (
    "UPDATE procrastinate_jobs SET status = 'todo', attempts = attempts + 1, scheduled_at = now() "
    "WHERE id = %(job_id)s AND status = 'doing' AND worker_id IS NOT DISTINCT FROM %(worker_id)s"
)
ABORT_STALLED = (
    "UPDATE procrastinate_jobs SET status = 'aborted', attempts = attempts + 1 "
    "WHERE id = %(job_id)s AND status = 'doing' AND worker_id IS NOT DISTINCT FROM %(worker_id)s"
)


async def _rescue(app: Any, stop: asyncio.Event, stalled_after: float) -> None:
    """Give the jobs of workers silent for ``STALLED_AFTER`` seconds (killed, or their machine gone) back to the
    queue; one whose unit has another job waiting already (the wake queued the push again meanwhile) ends as
    aborted instead: that job runs the unit, once the stalled one no longer holds its lock."""
    while not stop.is_set():
        try:
            stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after)
        except Exception as exc:
            log.warning("could not look for stalled jobs: %s", one_line(exc))
            stalled = []
        for job in stalled:
            await _give_back(app, job)
        try:
            await asyncio.wait_for(stop.wait(), stalled_after / 3)
        except TimeoutError:
            pass


async def _give_back(app: Any, job: Any) -> None:
    args = {"job_id": job.id, "worker_id": job.worker_id}
    try:
        try:
            await app.connector.execute_query_async(RETRY_STALLED, **args)
            log.info("job %s (%s) of a stalled worker goes back to the queue", job.id, job.queueing_lock)
        except UniqueViolation:
            await app.connector.execute_query_async(ABORT_STALLED, **args)
            log.info("job %s (%s) of a stalled worker ends: another waits for its unit", job.id, job.queueing_lock)
    except Exception as exc:  # tried again at the next look, if it is still stalled
        log.warning("could not give back job %s of a stalled worker: %s", job.id, one_line(exc))


async def _keep_alive(app: Any, workers: list[Any], every: float) -> None:
    """The workers' heartbeats while they stop: Procrastinate stops beating first and then waits for the running
    jobs, which another process would take for a stalled worker's and run a second time."""
    while True:
        for w in workers:
            if w.worker_id is not None:
                with contextlib.suppress(Exception):
                    await app.job_manager.update_heartbeat(w.worker_id)
        await asyncio.sleep(every)


def run(
    host: Host,
    *,
    concurrency: int = 4,
    push_concurrency: int = 2,
    interval: float = 60.0,
    poll: float = 1.0,
    grace: float = 30.0,
    stalled_after: float = STALLED_AFTER,
    report: Callable[[str], None] | None = None,
    ready: Callable[[], None] | None = None,
) -> None:
    """``linkolis worker``: serve the queue until SIGTERM or Ctrl-C. A worker silent ``stalled_after`` seconds
    (every worker of an installation should say the same) has its jobs given to the others."""
    url = host.database
    if not isinstance(url, str):
        raise UserError(
            "the worker runs the sync for many processes sharing one PostgreSQL database: set "
            "LINKOLIS_DATABASE_URL (or [database] url); on one machine, sync --watch does the same",
            code="worker_needs_postgres",
            action=Action.OPERATOR,
        )
    asyncio.run(_serve(host, url, concurrency, push_concurrency, interval, poll, grace, stalled_after, report, ready))


async def _serve(
    host: Host,
    url: str,
    concurrency: int,
    push_concurrency: int,
    interval: float,
    poll: float,
    grace: float,
    stalled_after: float,
    report: Callable[[str], None] | None,
    ready: Callable[[], None] | None,
) -> None:
    global _current
    _needs_procrastinate()
    loop = asyncio.get_running_loop()
    # Sync jobs run on the loop's default pool, capped at min(32, cores + 4) threads: one per job it may run.
    loop.set_default_executor(ThreadPoolExecutor(concurrency + push_concurrency + 2, thread_name_prefix="linkolis-job"))
    queue = await asyncio.to_thread(Queue, url)
    worker = Worker(host, queue, interval=interval, poll=poll, report=report)
    _current = worker
    app = queue_app(url)
    stop = asyncio.Event()
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    wake = Wake(worker, poll)
    wake_thread = threading.Thread(target=wake.run, args=(stopping,), name="linkolis-wake", daemon=True)
    async with app.open_async():
        options = dict(
            install_signal_handlers=False,
            shutdown_graceful_timeout=grace,
            update_heartbeat_interval=stalled_after / 6,
            stalled_worker_timeout=stalled_after,
            fetch_job_polling_interval=poll,
            delete_jobs="successful",
        )
        workers = [
            ProcrastinateWorker(app, queues=[PUSH_QUEUE], concurrency=push_concurrency, name="push", **options),
            ProcrastinateWorker(
                app, queues=[IMPORT_QUEUE, NOTIFICATIONS_QUEUE], concurrency=concurrency, name="import", **options
            ),
        ]
        running = [asyncio.create_task(w.run()) for w in workers]
        rescue = asyncio.create_task(_rescue(app, stop, stalled_after))
        wake_thread.start()
        if report:
            report(
                f"worker pid {os.getpid()}: {concurrency} import and {push_concurrency} push jobs at once; "
                "Ctrl-C or SIGTERM stops it"
            )
        if ready:
            ready()
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait([stopped, *running], return_when=asyncio.FIRST_COMPLETED)
        lost = None if stop.is_set() else next(t for t in running if t.done())
        if lost is not None:  # a queue worker ended by itself: the database went away under it (a restart)
            problem = lost.exception() if not lost.cancelled() else None
            said = one_line(problem) if problem else "ended"
            log.error("the task queue stopped serving (%s): the worker stops", said)
        elif report:
            report("stopping: the running units end at their next request")
        beating = asyncio.create_task(_keep_alive(app, workers, stalled_after / 6))
        stop.set()
        stopping.set()
        worker.stop.set()
        for w in workers:
            w.stop()
        if lost is not None:
            rescue.cancel()  # it waits for the pool that is gone: nothing left to rescue from here
        await asyncio.gather(*running, rescue, return_exceptions=True)
        beating.cancel()
        stopped.cancel()
    wake_thread.join(timeout=poll + 5)
    worker.close()
    queue.close()
    _current = None
    if lost is not None:
        raise UserError(
            "the task queue stopped serving: the database went away (restarted, or the network to it); the worker "
            "exits so that its supervisor starts it again (systemd's Restart=on-failure)",
            code="queue_lost",
            action=Action.OPERATOR,
        )
