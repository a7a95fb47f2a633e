"""`linkolis worker`: serve the sync's units from the task queue in the PostgreSQL database, beside any number of
other workers on any number of machines."""

from __future__ import annotations

import logging

import click

from .. import metrics, worker
from ..context import REDACTOR
from ..host import Host
from .base import CONTEXT, LinkolisCommand, LogHandler, echo, json_logs, metrics_port_option, with_host


class OneLine(logging.Formatter):
    """The task queue's and the driver's warnings as one line each, their exception's cause at the end: a database
    gone a moment is said, not shown as a traceback per try."""

    def format(self, record: logging.LogRecord) -> str:
        text = (record.getMessage().strip().splitlines() or [""])[0]
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({worker.one_line(record.exc_info[1])})"
        return f"{record.levelname.lower()}: {record.name}: {text}"


def _libraries_say_one_line() -> None:
    if json_logs():
        return  # --log-format json: their lines are JSON lines already
    handler = LogHandler()
    handler.addFilter(REDACTOR)
    handler.setFormatter(OneLine())
    for name in ("procrastinate", "psycopg"):
        library = logging.getLogger(name)
        if not any(isinstance(h.formatter, OneLine) for h in library.handlers):
            library.addHandler(handler)
            library.setLevel(logging.WARNING)
            library.propagate = False


@click.command("worker", cls=LinkolisCommand, context_settings=CONTEXT)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="How many imports (and notification readers) this process runs at once.",
)
@click.option(
    "--push-concurrency",
    type=click.IntRange(1, 64),
    default=2,
    show_default=True,
    help="How many pushes (stock, shipments) it runs at once, beside the imports: a push never waits behind them.",
)
@click.option(
    "--interval",
    type=click.FloatRange(1, 86400),
    default=None,
    help="Seconds between an app's order imports [default: [sync] interval, 60].",
)
@click.option(
    "--grace",
    type=click.FloatRange(0, 600),
    default=30.0,
    show_default=True,
    help="On SIGTERM or Ctrl-C: seconds the running units get to end at their next request.",
)
@click.option(
    "--stalled-after",
    type=click.FloatRange(6, 3600),
    default=worker.STALLED_AFTER,
    show_default=True,
    help="Seconds a worker may go without its heartbeat before its jobs go to the others (give every worker the same).",
)
@metrics_port_option
@with_host
def worker_command(
    host: Host,
    concurrency: int,
    push_concurrency: int,
    interval: float | None,
    grace: float,
    stalled_after: float,
    metrics_port: int | None,
) -> None:
    """Run the sync (imports, stock and shipment pushes, notification readers) as jobs of the task queue kept in
    the PostgreSQL database of LINKOLIS_DATABASE_URL.

    Start as many workers as you like, on as many machines as share the database (each with the same secret key):
    they share the work, no app's import or push ever runs twice at once, and the jobs of a worker that dies (kill
    -9, a machine lost) go to the others within a minute, resuming from what was committed. `linkolis sync status`
    shows the queue. On one machine with the SQLite file, `linkolis sync --watch` does the same in one process."""
    _libraries_say_one_line()
    if metrics_port is not None:
        metrics.serve(host, metrics_port, queue=worker.queue_status)
    worker.run(
        host,
        concurrency=concurrency,
        push_concurrency=push_concurrency,
        interval=interval or host.config.sync.interval,
        poll=host.config.sync.push_interval,
        grace=grace,
        stalled_after=stalled_after,
        report=lambda message: echo(message, err=True),
    )
    echo("Stopped.", err=True)
