"""`linkolis sync`: import, push and confirm shipments for every app, once or on and on, and `sync status`."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

import click

from .. import installed, metrics, scheduler, sync, worker
from ..host import Host
from ..http import duration_text
from ..progress import StderrProgress
from ..tables import column, print_table, value, when
from ..terminal import plural
from . import advice
from .base import (
    CONTEXT,
    STATUS_STYLES,
    LinkolisCommand,
    complete_app_names,
    echo,
    emit,
    json_option,
    metrics_port_option,
    secho,
    stops_on_sigterm,
    with_host,
)
from .orders import import_summary
from .shipments import shipments_summary
from .stock import push_summary


@click.command("sync", cls=LinkolisCommand, context_settings=CONTEXT)
@click.argument("names", nargs=-1, metavar="[NAME]... | status", shell_complete=complete_app_names)
@click.option("--watch", is_flag=True, help="Keep going: push stock changes within seconds, import on --interval.")
@click.option(
    "--interval",
    type=click.FloatRange(1, 86400),
    default=None,
    help="Seconds between order imports under --watch [default: [sync] interval, 60].",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Under --watch: how many apps' units run at once.",
)
@metrics_port_option
@json_option
@with_host
@stops_on_sigterm
def sync_command(
    host: Host,
    names: tuple[str, ...],
    watch: bool,
    interval: float | None,
    workers: int,
    metrics_port: int | None,
    as_json: bool,
) -> None:
    """Import orders, push stock, then confirm due shipments, for every authorized app (or those named).

    `linkolis sync status` shows what a running `sync --watch` does: per app what runs, what waits and until when,
    the last error, how many units are ready and waiting for a worker, and what keeps it from writing the database
    (a full disk, say: it waits and tries again)."""
    if names == ("status",) and not watch:
        _sync_status(host, as_json)
        return
    progress = StderrProgress(quiet=as_json)
    if metrics_port is not None and not watch:
        raise click.UsageError("--metrics-port is for --watch, which keeps running to be scraped")
    if not watch:
        results = sync.sync_once(host, list(names) or None, progress=progress)
        emit(results, as_json, _sync_summary)
        if any("error" in r.get(step, {}) for r in results for step in ("import", "push", "shipments")):
            sys.exit(1)
        return
    for name in names:
        installed.get(host, name)  # an unknown name is refused before anything runs
    if metrics_port is not None:
        metrics.serve(host, metrics_port, queue=worker.queue_status)
    stop = threading.Event()
    echo(f"Syncing with {plural(workers, 'worker')}; stock changes are pushed within seconds. Ctrl-C stops.", err=True)
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set()) if _main_thread() else None
    try:
        sync.watch_scheduled(
            host,
            list(names) or None,
            interval or host.config.sync.interval,
            host.config.sync.push_interval,
            stop,
            report=lambda message: echo(message, err=True),
            workers=workers,
        )
    except KeyboardInterrupt:
        stop.set()
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    echo("Stopped.", err=True)


def _sync_summary(results: list[dict[str, Any]]) -> None:
    """Per app one line a step: what was imported, pushed and confirmed, or the step's error."""
    if not results:
        echo("No authorized app to sync: run `linkolis apps authorize NAME` first.")
    for r in results:
        steps = (("import", import_summary), ("push", push_summary), ("shipments", shipments_summary))
        for step, summary in steps:
            outcome = r.get(step) or {}
            if "error" in outcome:
                secho(f"{r['app']}: {step} failed: {outcome['error']}", fg="red")
            elif outcome.get("note"):
                echo(f"{r['app']}: {step}: {advice.noted(None, r['app'], outcome)}")
            elif outcome:
                try:
                    echo(f"{step:<10} {summary({'app': r['app'], **outcome})}")
                except KeyError:  # a step that did nothing says so in its own words
                    echo(f"{step:<10} {r['app']}: {value(outcome)}")


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _queue_status(queue: dict[str, Any]) -> None:
    """The task queue of `linkolis worker` (PostgreSQL): per queue the jobs due, later and running."""
    parts = [
        f"{name} {q['due']} due, {q['later']} later, {q['running']} running" for name, q in queue["queues"].items()
    ]
    echo(f"Task queue ({plural(queue['workers'], 'worker')} alive): " + "; ".join(parts) + ".")


def _notifications_status(data: dict[str, Any]) -> None:
    """Per plugin with a notification queue what its reader does; per app whether its orders come by notification."""
    for reader in data["readers"]:
        read = f", last read {when(reader['read_at'])}" if reader["read_at"] else ""
        line = f"Order notifications ({reader['kind']}): {reader['state']}{read}"
        if reader["error"]:
            secho(f"{line}: {reader['error']}; its apps are polled meanwhile.", fg="red")
        else:
            echo(f"{line}.")
    for app in data["apps"]:
        if app["on"]:
            last = f"the last {when(app['last_at'])}" if app["last_at"] else "none yet"
            echo(
                f"  {app['app']}: orders by notification ({plural(app['received'], 'received')}, {last}); "
                "polled as the net"
            )
        elif app["error"]:
            secho(f"  {app['app']}: polled only, subscribing failed: {app['error']}", fg="yellow")
        else:
            echo(f"  {app['app']}: polled only (not subscribed: verify the app to subscribe it)")


def _sync_status(host: Host, as_json: bool) -> None:
    state = scheduler.status(host)
    state["queue"] = worker.queue_status(host)  # on PostgreSQL: the task queue of `linkolis worker`

    def human(data: dict) -> None:
        if not data["units"]:
            if data.get("queue"):
                _queue_status(data["queue"])
                return
            echo("No scheduler has run on this data directory yet; start one with `linkolis sync --watch`.")
            return
        print_table(
            [
                column("app"),
                column("unit"),
                column("state", styles=STATUS_STYLES),
                column("next run"),
                column("last error", wrap=True),
            ],
            [
                [
                    u["app"],
                    u["stream"],
                    u["state"],
                    f"{when(u['due_at'])} (in {duration_text(u['waits_s'])})"
                    if u["state"] in scheduler.WAITING
                    else None,
                    u["last_error"],
                ]
                for u in data["units"]
            ],
        )
        echo(f"Queue: {plural(data['queue_depth'], 'unit')} ready, {data['running']} running.")
        if data.get("queue"):
            _queue_status(data["queue"])
        if data["database"]:
            secho(f"Database: {data['database']}.", fg="red")
        _notifications_status(data["notifications"])

    emit(state, as_json, human)
