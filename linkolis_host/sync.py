"""Sync: import, push stock, then confirm due shipments for every authorized app, once or continuously
(``sync --watch``).

The units of work are ``orders.import_orders``, ``stock.push_stock`` and ``shipments.push_shipments``; this module
decides when each runs. Shipments go after the import, so an order cancelled meanwhile is seen before any of its
shipments is sent.

``sync --watch`` runs ``watch_scheduled`` (the ``scheduler``: every app at once on a pool of workers); ``watch`` is
the older loop of one import thread and one push loop over every app in turn.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from . import installed
from .errors import LinkolisError
from .host import Host
from .installed import App
from .orders import import_orders
from .scheduler import Scheduler
from .shipments import has_due, push_shipments
from .stock import has_pending, push_stock, stock_due
from .terminal import plural

log = logging.getLogger("linkolis.sync")


def _every_app(host: Host) -> list[App]:
    return installed.list_apps(host, every_workspace=host.workspace_id is None)


def sync_once(host: Host, names: list[str] | None = None, progress: Any = None) -> list[dict[str, Any]]:
    """Import then push for every authorized app (or those named); one app's failure does not stop the others.

    Without names: the apps of every workspace, unless the host acts for one (``--workspace``); each push hands an
    app its own workspace's desired quantities."""
    rows = [installed.get(host, n) for n in names] if names else [a for a in _every_app(host) if a.authorized]
    results = []
    for row in rows:
        result: dict[str, Any] = {"app": row.name}
        for step, run in (("import", import_orders), ("push", push_stock), ("shipments", push_shipments)):
            try:
                result[step] = run(host, installed.reload(host, row), progress=progress)
            except LinkolisError as exc:  # one app's failure must not stop the others
                result[step] = {"error": str(exc)}
        results.append(result)
    return results


def watch(
    host: Host,
    names: list[str] | None,
    interval: float,
    push_interval: float,
    stop: threading.Event,
    report: Callable[[str], None],
) -> None:
    """Keep syncing until ``stop`` is set: imports every ``interval`` seconds in a thread of their own (so a
    marketplace's slow order quota never delays stock), and stock pushes every ``push_interval`` seconds."""

    def targets(h: Host) -> list[App]:
        rows = [installed.get(h, n) for n in names] if names else _every_app(h)
        return [r for r in rows if r.authorized]

    def import_loop() -> None:
        twin = host.fork()
        try:
            while not stop.is_set():
                for row in targets(twin):
                    try:
                        result = import_orders(twin, row)
                        if result["new"] or result["updated"]:
                            report(f"{row.name}: {result['new']} new, {plural(result['updated'], 'updated order')}")
                    except LinkolisError as exc:
                        report(f"{row.name}: import: {exc}")
                    except Exception:  # keep watching; the log has the traceback
                        log.exception("import of %s failed", row.name)
                        report(f"{row.name}: import failed unexpectedly (run with -v for details)")
                stop.wait(interval)
        finally:
            twin.close()

    importer = threading.Thread(target=import_loop, name="linkolis-import", daemon=True)
    importer.start()
    try:
        while not stop.is_set():
            for row in targets(host):
                if has_due(host, row.id):
                    try:
                        sent = push_shipments(host, row)
                        if sent["sent"] or sent["refused"]:
                            report(
                                f"{row.name}: {plural(sent['sent'], 'shipment')} sent, {sent['accepted']} accepted, "
                                f"{sent['rejected']} rejected, {sent['refused']} refused"
                            )
                    except LinkolisError as exc:
                        report(f"{row.name}: shipments: {exc}")
                    except Exception:
                        log.exception("shipments to %s failed", row.name)
                        report(f"{row.name}: shipments failed unexpectedly (run with -v for details)")
                if not host.app_info(row).settings.stock_sync:
                    continue
                if not stock_due(host, row.id) and not has_pending(host, row.id):
                    continue
                try:
                    result = push_stock(host, row)
                    if result["sent"] or result["accepted"] or result["rejected"]:
                        report(
                            f"{row.name}: {result['sent']} sent, {result['accepted']} accepted, "
                            f"{result['rejected']} rejected, {result['pending']} pending"
                        )
                except LinkolisError as exc:
                    report(f"{row.name}: push: {exc}")
                except Exception:
                    log.exception("push to %s failed", row.name)
                    report(f"{row.name}: push failed unexpectedly (run with -v for details)")
            stop.wait(push_interval)
    finally:
        # Ctrl-C lands here too: let an import finish the page it is storing (each page commits on its own).
        stop.set()
        importer.join(timeout=10)


def watch_scheduled(
    host: Host,
    names: list[str] | None,
    interval: float,
    push_interval: float,
    stop: threading.Event,
    report: Callable[[str], None],
    workers: int = 4,
) -> None:
    """``sync --watch``: serve every authorized app of every workspace (or those named) at once on ``workers``
    threads, until ``stop`` is set (see ``scheduler``)."""
    Scheduler(host, workers=workers, names=names, interval=interval, poll=push_interval, report=report).run(stop)
