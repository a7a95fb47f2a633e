"""Marketplace notifications: reading the Amazon SQS queue a marketplace pushes to (Amazon's ORDER_CHANGE, bol's
subscriptions), so that an order reaches the host in seconds instead of at the next poll.

A ``QueueReader`` long-polls one queue with boto3 and hands each message's body to ``handle``, which commits the
orders it names. SQS delivers at least once and in any order, so:

- a message is deleted only after ``handle`` returned (its orders are committed); one whose ``handle`` raised is
  left alone and comes back after the visibility timeout;
- each notification's id (``notification_id(body)``, which the caller reads out of the body) is kept once handled,
  in the database, so a second copy, even after a restart, is deleted without being handled again; ids older than
  ``keep_seconds`` (SQS keeps a message 14 days at most) are pruned;
- a message whose ``handle`` has failed on its ``max_tries``-th receive is set aside: kept in the database (body,
  receives, last error), deleted from the queue, and named in an error log line (queue, message id, last error,
  never the body). ``set_aside`` lists them. Nothing is dropped silently.

``handle`` may be called twice for one notification (the process ends between committing and recording the id, or
a copy is received by another reader while the first is handled): it must be idempotent, as the orders import is.

Credentials, region and endpoint are boto3's, read the standard AWS way (``AWS_ACCESS_KEY_ID``, ``AWS_PROFILE``,
``AWS_REGION``... and ``AWS_ENDPOINT_URL_SQS`` for a local SQS), or an explicit ``endpoint_url``.

Owns the table ``notifications``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Callable

from botocore.exceptions import BotoCoreError, ClientError

from .clock import Clock, SystemClock
from .errors import Action, LinkolisError, UserError
from .terminal import safe

if TYPE_CHECKING:
    from sqlite_utils import Database

log = logging.getLogger("linkolis.notifications")

MAX_MESSAGES = 10  # SQS's most per receive
KEEP_SECONDS = 14 * 24 * 3600.0  # SQS keeps a message 14 days at most: no copy of an older one can still come
PRUNE_EVERY = 3600.0  # seconds (monotonic) between two prunings of old ids
ERROR_CHARS = 300  # of an error's text kept and logged: enough to tell what went wrong, short of a whole body


class QueueError(LinkolisError):
    """The notification queue cannot be read (no credentials or region, no such queue, SQS unreachable)."""

    code = "notification_queue"
    action = Action.OPERATOR


@dataclass
class Counts:
    """What one pass did with the messages it received: ``received`` is the sum of the other four.

    ``handled``: handled and deleted; ``duplicates``: already handled before, deleted unhandled; ``failed``: left
    on the queue to come back; ``poisoned``: failed its last try, set aside and deleted."""

    received: int = 0
    handled: int = 0
    duplicates: int = 0
    failed: int = 0
    poisoned: int = 0


@dataclass(frozen=True)
class SetAside:
    """A message set aside after failing ``receives`` times: everything needed to handle it by hand later."""

    id: int
    queue_url: str
    message_id: str
    notification_id: str | None
    receives: int
    last_error: str
    body: str
    at: str


def sqs_client(endpoint_url: str | None = None) -> Any:
    """A boto3 SQS client: credentials and region the standard AWS way; ``endpoint_url`` (else boto3's own
    ``AWS_ENDPOINT_URL_SQS``) for a local SQS."""
    import boto3  # a third of a second to import: only for a host that reads a queue

    try:
        return boto3.client("sqs", endpoint_url=endpoint_url)
    except BotoCoreError as exc:
        raise QueueError(
            f"cannot make an SQS client: {exc} (set AWS_REGION or AWS_DEFAULT_REGION, or a region in ~/.aws/config)",
            code="no_aws_region",
        ) from None


class QueueReader:
    """Reads one SQS queue of marketplace notifications, one ``read_once()`` pass at a time.

    ``db``: the host's database (the ``notifications`` table); ``handle(body)`` commits the orders a message
    names, raising if it did not; ``notification_id(body)`` reads the notification's own id out of the body (what
    two copies of one notification share). ``wait_seconds``: how long a receive waits for a message (long polling,
    20 at most); ``visibility_timeout``: seconds a received message stays hidden from other receives (None: the
    queue's own), longer than handling ten messages takes; ``max_tries``: receives before a failing message is set
    aside.
    """

    def __init__(
        self,
        db: Database,
        queue_url: str,
        handle: Callable[[str], None],
        *,
        notification_id: Callable[[str], str | None],
        wait_seconds: int = 20,
        visibility_timeout: int | None = None,
        max_tries: int = 5,
        keep_seconds: float = KEEP_SECONDS,
        endpoint_url: str | None = None,
        sqs: Any = None,
        clock: Clock | None = None,
    ) -> None:
        if max_tries < 1:
            raise ValueError("max_tries must be at least 1")
        self.db = db
        self.queue_url = queue_url
        self.handle = handle
        self.notification_id = notification_id
        self.wait_seconds = wait_seconds
        self.visibility_timeout = visibility_timeout
        self.max_tries = max_tries
        self.keep_seconds = keep_seconds
        self.sqs = sqs if sqs is not None else sqs_client(endpoint_url)
        self.clock = clock or SystemClock()
        self._pruned_at: float | None = None

    def read_once(self) -> Counts:
        """One receive (waiting up to ``wait_seconds`` for a message) and what follows: each message handled,
        skipped as a duplicate, left to come back, or set aside; the done ones deleted."""
        self._prune_when_due()
        messages = self._receive()
        counts = Counts(received=len(messages))
        done = []
        for message in messages:
            outcome = self._one(message)
            setattr(counts, outcome, getattr(counts, outcome) + 1)
            if outcome != "failed":
                done.append(message)
        self._delete(done)
        return counts

    # -- one message

    def _one(self, message: dict[str, Any]) -> str:
        body = message.get("Body", "")
        receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1))
        try:
            notification = self.notification_id(body)
            if not notification:
                raise ValueError("no notification id in the message")
        except Exception as exc:  # a body the caller cannot read is a failure like any other: tried, then set aside
            return self._failed(message, None, receives, exc)
        if self._handled_before(notification):
            return "duplicates"
        try:
            self.handle(body)
        except Exception as exc:
            return self._failed(message, notification, receives, exc)
        with self.db.atomic():  # type: ignore[attr-defined]
            self.db.execute(
                "INSERT INTO notifications (queue_url, notification_id, message_id, outcome, at, receives) "
                "VALUES (?, ?, ?, 'handled', ?, ?) ON CONFLICT DO NOTHING",
                (self.queue_url, notification, message["MessageId"], self._now(), receives),
            )
        return "handled"

    def _handled_before(self, notification: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM notifications WHERE queue_url = ? AND notification_id = ? AND outcome = 'handled'",
            (self.queue_url, notification),
        ).fetchone()
        return row is not None

    def _failed(self, message: dict[str, Any], notification: str | None, receives: int, exc: Exception) -> str:
        error = _error_text(exc)
        message_id = message["MessageId"]
        if receives < self.max_tries:
            log.warning(
                "notification message %s of queue %s failed (receive %d of %d), it comes back after the visibility "
                "timeout: %s",
                message_id,
                self.queue_url,
                receives,
                self.max_tries,
                error,
            )
            return "failed"
        with self.db.atomic():  # type: ignore[attr-defined]
            # A message set aside whose delete failed comes back and fails again: one row for it, brought up to date.
            self.db.execute(
                "INSERT INTO notifications (queue_url, notification_id, message_id, outcome, at, receives, last_error, "
                "body) VALUES (?, ?, ?, 'set_aside', ?, ?, ?, ?) "
                "ON CONFLICT (queue_url, message_id) WHERE outcome = 'set_aside' DO UPDATE SET at = excluded.at, "
                "receives = excluded.receives, last_error = excluded.last_error",
                (self.queue_url, notification, message_id, self._now(), receives, error, message.get("Body", "")),
            )
        log.error(
            "set aside notification message %s of queue %s after %d receives (kept in the database, table "
            "notifications); last error: %s",
            message_id,
            self.queue_url,
            receives,
            error,
        )
        return "poisoned"

    # -- SQS

    def _receive(self) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            "QueueUrl": self.queue_url,
            "MaxNumberOfMessages": MAX_MESSAGES,
            "WaitTimeSeconds": self.wait_seconds,
            "AttributeNames": ["ApproximateReceiveCount"],
        }
        if self.visibility_timeout is not None:
            request["VisibilityTimeout"] = self.visibility_timeout
        try:
            return self.sqs.receive_message(**request).get("Messages", [])
        except (BotoCoreError, ClientError) as exc:
            raise queue_error(self.sqs, self.queue_url, exc) from None

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        """Delete what is done. A delete that fails loses nothing: the message comes back, and is a duplicate (or is
        set aside again, onto its own row)."""
        if not messages:
            return
        entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)]
        try:
            answer = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        except (BotoCoreError, ClientError) as exc:
            log.warning(
                "could not delete the messages done with (%d) from queue %s, they come back and are skipped: %s",
                len(entries),
                self.queue_url,
                _error_text(exc),
            )
            return
        for failed in answer.get("Failed", []):
            log.warning(
                "could not delete notification message %s of queue %s: %s",
                messages[int(failed["Id"])]["MessageId"],
                self.queue_url,
                safe(str(failed.get("Message") or failed.get("Code")), keep_newlines=False),
            )

    # -- keeping the table small

    def _prune_when_due(self) -> None:
        now = self.clock.monotonic()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        before = _iso(self.clock.time() - self.keep_seconds)
        with self.db.atomic():  # type: ignore[attr-defined]
            self.db.execute(
                "DELETE FROM notifications WHERE queue_url = ? AND outcome = 'handled' AND at < ?",
                (self.queue_url, before),
            )

    def _now(self) -> str:
        return _iso(self.clock.time())


def set_aside(db: Database, queue_url: str | None = None) -> list[SetAside]:
    """The messages set aside (of one queue, or of all), oldest first."""
    where, params = ("AND queue_url = ?", (queue_url,)) if queue_url else ("", ())
    rows = db.execute(
        "SELECT id, queue_url, message_id, notification_id, receives, last_error, body, at FROM notifications "
        f"WHERE outcome = 'set_aside' {where} ORDER BY at, id",
        params,
    ).fetchall()
    return [SetAside(*row) for row in rows]


def set_aside_one(db: Database, id: int) -> SetAside:
    """The message set aside under ``id`` (as ``set_aside`` lists it).

    :raises UserError: there is none (retried or discarded already, or a wrong id).
    """
    for message in set_aside(db):
        if message.id == id:
            return message
    raise UserError(
        f"no notification message is set aside under id {id}: see `linkolis notifications set-aside`",
        code="no_such_set_aside",
        param="id",
        values={"id": id},
    )


def retry(db: Database, id: int, sqs: Any = None) -> str:
    """Send the message set aside under ``id`` back onto its queue (a new message, with the body it had) and forget
    it, so that a reader handles it again; return the new message's id. It is forgotten only once SQS has it.

    :raises UserError: no message is set aside under ``id``.
    :raises QueueError: SQS refused it or cannot be reached (the message stays set aside).
    """
    message = set_aside_one(db, id)
    client = sqs if sqs is not None else sqs_client()
    try:
        sent = client.send_message(QueueUrl=message.queue_url, MessageBody=message.body)
    except (BotoCoreError, ClientError) as exc:
        raise queue_error(client, message.queue_url, exc) from None
    with db.atomic():  # type: ignore[attr-defined]
        db.execute("DELETE FROM notifications WHERE id = ? AND outcome = 'set_aside'", (id,))
    log.warning(
        "sent notification message %s of queue %s (set aside after %d receives) back onto its queue as %s",
        message.message_id,
        message.queue_url,
        message.receives,
        sent["MessageId"],
    )
    return str(sent["MessageId"])


def discard(db: Database, id: int) -> SetAside:
    """Forget the message set aside under ``id`` for good (its orders are left to the polling import); return it.

    :raises UserError: no message is set aside under ``id``.
    """
    message = set_aside_one(db, id)
    with db.atomic():  # type: ignore[attr-defined]
        db.execute("DELETE FROM notifications WHERE id = ? AND outcome = 'set_aside'", (id,))
    log.warning(
        "discarded notification message %s of queue %s (set aside after %d receives; last error: %s)",
        message.message_id,
        message.queue_url,
        message.receives,
        message.last_error,
    )
    return message


def handled_since(db: Database, queue_url: str, epoch: float) -> int:
    """How many notifications of the queue were handled since ``epoch`` (those of the last 14 days are kept)."""
    row = db.execute(
        "SELECT count(*) FROM notifications WHERE queue_url = ? AND outcome = 'handled' AND at >= ?",
        (queue_url, _iso(epoch)),
    ).fetchone()
    return int(row[0])


def depth(queue_url: str, sqs: Any = None) -> dict[str, int]:
    """The queue's approximate depth as SQS counts it: ``messages`` waiting to be received, ``in_flight`` (received
    and not yet deleted nor back), ``delayed``.

    :raises QueueError: the queue cannot be read (no credentials or region, no such queue, SQS unreachable).
    """
    client = sqs if sqs is not None else sqs_client()
    names = {
        "messages": "ApproximateNumberOfMessages",
        "in_flight": "ApproximateNumberOfMessagesNotVisible",
        "delayed": "ApproximateNumberOfMessagesDelayed",
    }
    try:
        found = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=list(names.values()))["Attributes"]
    except (BotoCoreError, ClientError) as exc:
        raise queue_error(client, queue_url, exc) from None
    return {key: int(found.get(name, 0)) for key, name in names.items()}


_MISSING_QUEUE = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}
_REFUSED = {
    "AccessDenied",
    "AccessDeniedException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "ExpiredToken",
    "InvalidSecurity",
}


def queue_error(sqs: Any, queue_url: str, exc: BaseException) -> QueueError:
    """What went wrong reaching ``queue_url`` as an operator reads it: the region, the endpoint and where boto3 found
    credentials (never the credentials), with a code (``no_aws_credentials``, ``queue_refused``, ``no_such_queue``,
    ``queue_unreachable``) and the operator's action."""
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError

    head = f"cannot read the notification queue {queue_url} (region {sqs.meta.region_name or 'unset'}, endpoint "
    head += f"{sqs.meta.endpoint_url})"
    error = _error_text(exc)
    code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
    if isinstance(exc, NoCredentialsError):
        return QueueError(
            f"{head}: boto3 found no AWS credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
            "AWS_PROFILE, or run on an instance or task with an IAM role",
            code="no_aws_credentials",
        )
    if code in _REFUSED:
        return QueueError(
            f"{head}: SQS refused the credentials boto3 found in {_credentials_source()} ({error}); they need "
            "sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes and sqs:SendMessage on the queue "
            "(docs/operations.md)",
            code="queue_refused",
        )
    if code in _MISSING_QUEUE:
        return QueueError(
            f"{head}: SQS has no such queue; check notifications_queue_url, the region and AWS_ENDPOINT_URL_SQS",
            code="no_such_queue",
            param="notifications_queue_url",
        )
    if isinstance(exc, EndpointConnectionError):
        return QueueError(
            f"{head}: SQS cannot be reached ({error}); check the network, the region, and AWS_ENDPOINT_URL_SQS "
            "when SQS is a local one",
            code="queue_unreachable",
        )
    return QueueError(f"{head}: {error}", code="queue_unreachable")


def _credentials_source() -> str:
    """Where boto3 finds credentials ("env", "shared-credentials-file", "iam-role"...), never what they are."""
    import boto3

    try:
        found = boto3.Session().get_credentials()
    except BotoCoreError:
        return "an unreadable AWS configuration"
    return f"'{found.method}'" if found is not None else "nowhere"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="seconds")


def _error_text(exc: BaseException) -> str:
    """An error as one short line: its type and the start of its text, escaped for a terminal."""
    text = safe(f"{type(exc).__name__}: {exc}", keep_newlines=False)
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"
