"""Orders by notification: subscribing an app to its marketplace's order notifications, and storing the orders a
notification names, in seconds rather than at the next poll.

The queue is the operator's (``notifications_queue_url`` in a plugin's operator settings); the host reads it with a
``QueueReader`` (``notifications``), each message handed to the plugin's ``read_notification``, its account mapped to
the installed apps of that kind connected to it, the orders fetched by the plugin's ``fetch_orders`` and stored
through ``orders.store_orders``, the path the polling import takes, which reserves stock in the same transaction.
Polling stays the net for what a lost notification missed: the scheduler polls an app on notifications every
``[sync] net_interval`` seconds (or its own ``order_poll_minutes``) rather than every round.

Owns the tables ``app_notifications`` (per app: its subscription, or why subscribing failed, and when its last
notification came) and ``notification_readers`` (per plugin: what its queue's reader last did), which ``sync
status`` and the web read from any process.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any

from . import installed, orders
from .errors import LinkolisError
from .host import Host
from .installed import REMOVED, App
from .models import NotificationEvent
from .notifications import QueueError, QueueReader, sqs_client

log = logging.getLogger("linkolis.notifications")


def queue_url(host: Host, kind: str) -> str | None:
    """The queue the operator named for the plugin of ``kind``, or None."""
    return host.operator_settings(kind).notifications_queue_url or None


def queue_arn(url: str, sqs: Any = None) -> str:
    """The queue's ARN, read from its attributes (what a marketplace's subscription names)."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = sqs if sqs is not None else sqs_client()
    try:
        return client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    except (BotoCoreError, ClientError, KeyError) as exc:
        raise QueueError(f"cannot read the ARN of the notification queue {url}: {exc}") from None


def subscribe(host: Host, app: App) -> str | None:
    """Subscribe ``app`` to its marketplace's order notifications when its plugin has a queue and the hook; return
    None when there is nothing to do, else a warning when subscribing failed (logged, audited and kept for ``sync
    status``, never raised: the app stays authorized and is polled)."""
    try:
        url = queue_url(host, app.kind)
    except LinkolisError:
        return None  # the operator's settings are refused elsewhere, with their own message
    if not url or not host.registry.implements(app.kind, "subscribe_notifications"):
        return None
    try:
        arn = queue_arn(url)
        with installed.run(host, app) as ctx:
            subscription = host.registry.subscribe_notifications(app.kind, ctx, arn)
    except Exception as exc:  # any failure here is a warning: the authorization stands, polling goes on
        error = f"{type(exc).__name__}: {exc}"
        warning = f"could not subscribe {app.name!r} to order notifications ({error})"
        log.warning("%s; its orders are polled", warning)
        with host.db.atomic():
            installed.require_present(host, app.id, app.name)
            _upsert(host, app.id, {"subscription": None, "subscribed_at": None, "error": error[:300]})
            installed.audit(host, app, "notifications_subscribe_failed", error=error)
        return warning
    with host.db.atomic():
        installed.require_present(host, app.id, app.name)
        _upsert(host, app.id, {"subscription": subscription, "subscribed_at": host.clock.time(), "error": None})
        installed.audit(host, app, "notifications_subscribed", queue=arn, subscription=subscription)
    return None


def unsubscribe(host: Host, app: App) -> str | None:
    """Delete ``app``'s subscription at the marketplace when it has one, its plugin the hook, and no other installed
    app of its kind shares it (two apps of one Amazon seller do); forget it here. Called before the app's
    credentials go. Returns a warning when the marketplace refused (logged and audited, never raised: the app is
    removed all the same, and its account's notifications are deleted unhandled)."""
    row = host.db.execute("SELECT subscription FROM app_notifications WHERE app_id = ?", (app.id,)).fetchone()
    subscription = row[0] if row else None
    if not subscription:
        return None
    shared = host.db.execute(
        "SELECT 1 FROM app_notifications n JOIN apps a ON a.id = n.app_id WHERE n.subscription = ? AND a.kind = ? "
        "AND a.id != ? AND a.status != ?",
        (subscription, app.kind, app.id, REMOVED),
    ).fetchone()
    warning = None
    if not shared and host.registry.implements(app.kind, "unsubscribe_notifications"):
        try:
            with installed.run(host, app) as ctx:
                host.registry.unsubscribe_notifications(app.kind, ctx, subscription)
        except Exception as exc:  # a warning: the seller removes the app all the same
            error = f"{type(exc).__name__}: {exc}"
            warning = f"could not delete the order notification subscription of {app.name!r} ({error})"
            log.warning("%s", warning)
            with host.db.atomic():
                installed.audit(host, app, "notifications_unsubscribe_failed", error=error)
    with host.db.atomic():
        host.db.execute("DELETE FROM app_notifications WHERE app_id = ?", (app.id,))
        if warning is None:
            installed.audit(host, app, "notifications_unsubscribed", subscription=subscription, kept=bool(shared))
    return warning


def _upsert(host: Host, app_id: int, values: dict[str, Any]) -> None:
    host.db["app_notifications"].upsert({"app_id": app_id, **values}, pk="app_id")


def on_notifications(host: Host) -> dict[int, dict[str, Any]]:
    """Every app subscribed to its marketplace's notifications whose plugin's queue is set: app id → its row
    (``subscription``, ``subscribed_at``, ``last_at``, ``received``)."""
    rows = host.db.query(
        "SELECT n.*, a.kind FROM app_notifications n JOIN apps a ON a.id = n.app_id "
        "WHERE n.subscription IS NOT NULL AND a.status != ?",
        [REMOVED],
    )
    queued: dict[str, bool] = {}
    found = {}
    for row in rows:
        if row["kind"] not in queued:
            try:
                queued[row["kind"]] = bool(queue_url(host, row["kind"]))
            except LinkolisError:
                queued[row["kind"]] = False
        if queued[row["kind"]]:
            found[row["app_id"]] = row
    return found


def readers(host: Host) -> dict[str, dict[str, Any]]:
    """What each plugin's queue reader last did: kind → ``state`` (``reading``, ``failing``, ``stopped``),
    ``error``, ``read_at`` (wall time of its last pass that reached the queue), ``pid``."""
    return {row["kind"]: row for row in host.db.query("SELECT * FROM notification_readers")}


def note_reader(host: Host, kind: str, state: str, error: str | None = None, read: bool = False) -> None:
    """Record what the reader of ``kind``'s queue does (its own transaction)."""
    now = host.clock.time()
    values = {"kind": kind, "pid": os.getpid(), "state": state, "error": error, "updated_at": now}
    if read:
        values["read_at"] = now
    with host.db.atomic():
        host.db["notification_readers"].upsert(values, pk="kind")


def _apps_of(host: Host, kind: str, event: NotificationEvent) -> tuple[list[App], bool]:
    """The installed apps of ``kind`` the notification's account names, and whether they are only candidates to ask
    (an alias no app is known by yet: every authorized app of the kind not known by another alias)."""
    if not event.alias:
        rows = host.db.query(
            "SELECT * FROM apps WHERE kind = ? AND account_id = ? AND status != ? ORDER BY id",
            [kind, event.account_id, REMOVED],
        )
        return [App.from_row(row) for row in rows], False
    rows = list(
        host.db.query(
            "SELECT a.* FROM apps a JOIN app_notifications n ON n.app_id = a.id "
            "WHERE a.kind = ? AND n.alias = ? AND a.status != ? ORDER BY a.id",
            [kind, event.account_id, REMOVED],
        )
    )
    if rows:
        return [App.from_row(row) for row in rows], False
    rows = host.db.query(
        "SELECT a.* FROM apps a LEFT JOIN app_notifications n ON n.app_id = a.id "
        "WHERE a.kind = ? AND a.status != ? AND a.account_id IS NOT NULL AND n.alias IS NULL ORDER BY a.id",
        [kind, REMOVED],
    )
    return [App.from_row(row) for row in rows], True


def import_notified(host: Host, kind: str, *, wait_seconds: int = 0, sqs: Any = None) -> dict[str, Any]:
    """Read the queue of ``kind``'s plugin once and store the orders its messages name, for every installed app of
    the account each names; return what was read (``Counts``' fields) and stored (new, updated, unchanged).

    A message is deleted only once its orders are committed; a copy of a handled one is skipped; one that keeps
    failing is set aside (``QueueReader``).
    :raises QueueError: no queue is set for the plugin, or it cannot be read.
    """
    url = queue_url(host, kind)
    if not url:
        raise QueueError(
            f"no notification queue is set for {host.registry.kind(kind).title}: set notifications_queue_url "
            f"under [plugins.{kind}]"
        )
    stored = {"new": 0, "updated": 0, "unchanged": 0}
    events: dict[str, NotificationEvent] = {}

    def read(body: str) -> NotificationEvent:
        if body not in events:
            event = host.registry.read_notification(kind, body)
            if event is None:
                raise ValueError(f"the {kind} plugin does not read this message")
            events[body] = event
        return events[body]

    def handle(body: str) -> None:
        event = read(body)
        found, asking = _apps_of(host, kind, event)
        for app in found:
            if not app.authorized:
                continue
            with installed.run(host, app) as ctx:
                fetched = list(host.registry.fetch_orders(kind, ctx, event.order_ids))
            if asking and not fetched:
                continue  # not this app's account
            with host.db.atomic():
                installed.require_present(host, app.id, app.name)
                counts = orders.store_orders(host, app.id, fetched)
                host.db.execute(
                    "UPDATE app_notifications SET last_at = ?, received = received + 1 WHERE app_id = ?",
                    (host.clock.time(), app.id),
                )
                if asking:
                    _upsert(host, app.id, {"alias": event.account_id})
                    installed.audit(host, app, "notifications_alias", alias=event.account_id)
            for key, value in counts.items():
                stored[key] += value
            if asking:
                return  # the account's app is found: the others are not asked

    reader = QueueReader(
        host.db,
        url,
        handle,
        notification_id=lambda body: read(body).notification_id,
        wait_seconds=wait_seconds,
        sqs=sqs,
        clock=host.clock,
    )
    counts = reader.read_once()
    return {**vars(counts), **stored}


def status(host: Host, workspace_id: int | None = None) -> dict[str, Any]:
    """What ``sync status`` shows of notifications: ``readers`` (per plugin with a queue: what its reader last did)
    and ``apps`` (per installed app of such a plugin, of the workspace when given: on notifications or not, why
    subscribing failed, when its last notification came, how many came). Times as ISO text, None when never."""
    kinds = []
    for kind in sorted(host.registry.kinds):
        try:
            if queue_url(host, kind) and host.registry.implements(kind, "read_notification"):
                kinds.append(kind)
        except LinkolisError:
            continue
    known = readers(host)
    shown = [
        {
            "kind": kind,
            "state": known[kind]["state"] if kind in known else "stopped",
            "error": known[kind]["error"] if kind in known else None,
            "read_at": _iso(known[kind]["read_at"]) if kind in known else None,
        }
        for kind in kinds
    ]
    apps = []
    if kinds:
        where = " AND a.workspace_id = ?" if workspace_id is not None else ""
        marks = ",".join("?" * len(kinds))
        rows = host.db.query(
            "SELECT a.id, a.name, a.workspace_id, a.kind, n.subscription, n.error, n.last_at, n.received "
            "FROM apps a LEFT JOIN app_notifications n ON n.app_id = a.id "
            f"WHERE a.status != ? AND a.account_id IS NOT NULL AND a.kind IN ({marks}){where} ORDER BY a.name",
            [REMOVED, *kinds, *([workspace_id] if workspace_id is not None else [])],
        )
        apps = [
            {
                "app_id": r["id"],
                "app": r["name"],
                "workspace_id": r["workspace_id"],
                "kind": r["kind"],
                "on": bool(r["subscription"]),
                "error": r["error"],
                "last_at": _iso(r["last_at"]),
                "received": r["received"] or 0,
            }
            for r in rows
        ]
    return {"readers": shown, "apps": apps}


def _iso(at: float | None) -> str | None:
    return None if at is None else datetime.fromtimestamp(at, tz=UTC).isoformat(timespec="seconds")
