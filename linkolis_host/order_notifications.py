"""Orders by notification: subscribing an app to its marketplace's order notifications, and storing the orders a
notification names, in seconds rather than at the next poll.

The queue is the operator's (``notifications_queue_url`` in a plugin's operator settings); the host reads it with a
``QueueReader`` (``notifications``), each message handed to the plugin's ``read_notification``, its account mapped to
the installed apps of that kind connected to it, the orders fetched by the plugin's ``fetch_orders`` and stored
through ``orders.store_orders``, the path the polling import takes, which reserves stock in the same transaction.
Polling stays the net for what a lost notification missed.
"""

from __future__ import annotations

import logging
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
    None when there is nothing to do, else a warning when subscribing failed (logged and audited, never raised: the
    app stays authorized and is polled)."""
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
        warning = f"could not subscribe {app.name!r} to order notifications ({type(exc).__name__}: {exc})"
        log.warning("%s; its orders are polled", warning)
        with host.db.atomic():
            installed.audit(host, app, "notifications_subscribe_failed", error=f"{type(exc).__name__}: {exc}")
        return warning
    with host.db.atomic():
        installed.audit(host, app, "notifications_subscribed", queue=arn, subscription=subscription)
    return None


def _apps_of(host: Host, kind: str, account_id: str) -> list[App]:
    rows = host.db.query(
        "SELECT * FROM apps WHERE kind = ? AND account_id = ? AND status != ? ORDER BY id", [kind, account_id, REMOVED]
    )
    return [App.from_row(row) for row in rows]


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
        for app in _apps_of(host, kind, event.account_id):
            if not app.authorized:
                continue
            with installed.run(host, app) as ctx:
                fetched = list(host.registry.fetch_orders(kind, ctx, event.order_ids))
            with host.db.atomic():
                installed.require_present(host, app.id, app.name)
                counts = orders.store_orders(host, app.id, fetched)
            for key, value in counts.items():
                stored[key] += value

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
