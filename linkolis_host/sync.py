"""Sync: import, push stock, then confirm due shipments for every authorized app, once or continuously
(``sync --watch``).

The units of work are ``orders.import_orders``, ``stock.push_stock`` and ``shipments.push_shipments``; this module
decides when each runs. Shipments go after the import, so an order cancelled meanwhile is seen before any of its
shipments is sent.

``sync --watch`` runs ``watch_scheduled``: the ``scheduler``, the one engine that keeps syncing (every app at once on
a pool of workers).
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
from .shipments import push_shipments
from .stock import push_stock

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
