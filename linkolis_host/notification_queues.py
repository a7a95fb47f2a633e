"""The operator's view of the notification queues (``linkolis notifications``): per plugin with a queue, its depth
at SQS and what the host did with its messages; the messages set aside, sent back or discarded; one read now.

The queues are the operators' (``notifications_queue_url`` in each plugin's operator settings); reading them and the
table ``notifications`` belong to ``notifications``, storing the orders a message names to ``order_notifications``.
"""

from __future__ import annotations

from typing import Any

from . import notifications
from .errors import LinkolisError
from .host import Host
from .notifications import QueueError
from .order_notifications import import_notified, queue_url

HOUR = 3600.0
DAY = 24 * HOUR


def queues(host: Host) -> list[dict[str, Any]]:
    """Each plugin whose operator settings name a queue: ``kind``, ``title``, ``queue_url``; or, for a plugin whose
    settings cannot be read, ``error`` (as data) in place of the URL."""
    found: list[dict[str, Any]] = []
    for kind, app_kind in sorted(host.registry.kinds.items()):
        try:
            url = queue_url(host, kind)
        except LinkolisError as exc:
            found.append({"kind": kind, "title": app_kind.title, "queue_url": None, "error": exc.as_data()})
            continue
        if url:
            found.append({"kind": kind, "title": app_kind.title, "queue_url": url})
    return found


def no_queue() -> QueueError:
    return QueueError(
        "no plugin has a notification queue, so orders are only polled: set notifications_queue_url under "
        "[plugins.KIND] in linkolis.toml, or LINKOLIS_KIND_NOTIFICATIONS_QUEUE_URL (docs/operations.md)",
        code="no_notification_queue",
        param="notifications_queue_url",
    )


def status(host: Host, sqs: Any = None) -> list[dict[str, Any]]:
    """Per plugin with a queue: its URL, its depth at SQS (``messages``, ``in_flight``, ``delayed``; None with an
    ``error`` when SQS cannot be read), the notifications handled in the last hour and day, and how many of its
    messages are set aside.

    :raises QueueError: no plugin has a queue.
    """
    found = queues(host)
    if not found:
        raise no_queue()
    now = host.clock.time()
    client = sqs
    rows = []
    for queue in found:
        url = queue["queue_url"]
        row: dict[str, Any] = {**queue, "messages": None, "in_flight": None, "delayed": None}
        if url:
            try:
                if client is None:
                    client = notifications.sqs_client()
                row.update(notifications.depth(url, client))
            except QueueError as exc:
                row["error"] = exc.as_data()
            row["handled_last_hour"] = notifications.handled_since(host.db, url, now - HOUR)
            row["handled_last_day"] = notifications.handled_since(host.db, url, now - DAY)
            row["set_aside"] = len(notifications.set_aside(host.db, url))
        row.setdefault("error", None)
        rows.append(row)
    return rows


def read_now(host: Host, kind: str | None = None, wait_seconds: int = 0, sqs: Any = None) -> list[dict[str, Any]]:
    """One pass over the queue of ``kind``'s plugin (of every plugin with a queue when None): what each read
    (``received``, ``handled``, ``duplicates``, ``failed``, ``poisoned``) and stored (``new``, ``updated``,
    ``unchanged``).

    :raises QueueError: no queue is set (for ``kind``), or one cannot be read.
    """
    if kind is not None:
        host.registry.kind(kind)  # an unknown kind is refused with the kinds there are
        kinds = [kind]
    else:
        found = [q for q in queues(host) if q["queue_url"]]
        if not found:
            raise no_queue()
        kinds = [q["kind"] for q in found]
    return [{"kind": k, **import_notified(host, k, wait_seconds=wait_seconds, sqs=sqs)} for k in kinds]
