"""Reading a marketplace's notification queue: against moto's SQS server on 127.0.0.1, each message is handled
once, deleted only once handled, comes back when its handling failed, and is set aside (kept, logged) after its
last try. Nothing is lost, and a copy of a notification is never handled twice, even by a reader started anew."""

from __future__ import annotations

import json
import logging

import pytest
from botocore.exceptions import EndpointConnectionError

from linkolis_host import store
from linkolis_host.clock import VirtualClock
from linkolis_host.notifications import Counts, QueueError, QueueReader, set_aside


@pytest.fixture(autouse=True)
def _aws(aws):
    """Every test here with boto3 on moto (the host's ``aws`` fixture)."""


@pytest.fixture
def queue(sqs_queue):
    """The operator's queue (the host's pytest plugin makes a fresh one at moto for each test)."""
    return sqs_queue


@pytest.fixture
def db(tmp_path):
    return store.connect(tmp_path / "linkolis.db")


def order_change(notification_id: str, order_id: str, **extra) -> str:
    """An ORDER_CHANGE notification as Amazon sends it (the parts the reader and the handler read)."""
    return json.dumps(
        {
            "NotificationVersion": "1.0",
            "NotificationType": "ORDER_CHANGE",
            "NotificationMetadata": {"NotificationId": notification_id, "ApplicationId": "amzn1.sp.solution.x"},
            "Payload": {"OrderChangeNotification": {"AmazonOrderId": order_id, **extra}},
        }
    )


def notification_id(body: str) -> str:
    return json.loads(body)["NotificationMetadata"]["NotificationId"]


class Orders:
    """The handler: commits the order a notification names, or fails as told (``fail``: order id -> how many
    times more; ``None`` for always)."""

    def __init__(self, sqs, queue_url):
        self.sqs, self.queue_url = sqs, queue_url
        self.committed: list[str] = []
        self.tries: dict[str, int] = {}
        self.fail: dict[str, int | None] = {}
        self.on_queue_while_handled: list[int] = []

    def __call__(self, body: str) -> None:
        order_id = json.loads(body)["Payload"]["OrderChangeNotification"]["AmazonOrderId"]
        self.tries[order_id] = self.tries.get(order_id, 0) + 1
        self.on_queue_while_handled.append(messages_on(self.sqs, self.queue_url))
        if order_id in self.fail and self.fail[order_id] != 0:
            if self.fail[order_id] is not None:
                self.fail[order_id] -= 1
            raise RuntimeError(f"the marketplace refused to look up order {order_id}")
        self.committed.append(order_id)


def messages_on(sqs, queue_url) -> int:
    """Messages still on the queue, visible or being handled."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def reader(db, queue_url, handle, **settings) -> QueueReader:
    settings = {"wait_seconds": 1, "visibility_timeout": 1, "max_tries": 3, **settings}
    return QueueReader(db, queue_url, handle, notification_id=notification_id, **settings)


def read_until_empty(queue_reader: QueueReader, sqs, passes: int = 30) -> Counts:
    """Passes of the reader until the queue holds nothing (each waits at most a second for a message)."""
    total = Counts()
    for _ in range(passes):
        if messages_on(sqs, queue_reader.queue_url) == 0:
            return total
        counts = queue_reader.read_once()
        for field in vars(total):
            setattr(total, field, getattr(total, field) + getattr(counts, field))
    raise AssertionError(f"the queue still holds messages after {passes} passes: {total}")


def test_a_message_is_handled_then_deleted(sqs, queue, db):
    orders = Orders(sqs, queue)
    sqs.send_message(QueueUrl=queue, MessageBody=order_change("n-1", "028-1111111-1111111"))

    counts = reader(db, queue, orders).read_once()

    assert counts == Counts(received=1, handled=1)
    assert orders.committed == ["028-1111111-1111111"]
    assert orders.on_queue_while_handled == [1], "the message was deleted before its order was committed"
    assert messages_on(sqs, queue) == 0


def test_the_endpoint_can_be_given_instead_of_read_from_the_environment(sqs, queue, db, monkeypatch, moto_endpoint):
    monkeypatch.delenv("AWS_ENDPOINT_URL_SQS")
    orders = Orders(sqs, queue)
    sqs.send_message(QueueUrl=queue, MessageBody=order_change("n-1", "028-1111111-1111111"))

    counts = reader(db, queue, orders, endpoint_url=moto_endpoint).read_once()

    assert counts == Counts(received=1, handled=1)


def test_a_notification_delivered_twice_is_handled_once_even_by_a_reader_started_anew(sqs, queue, db, tmp_path):
    orders = Orders(sqs, queue)
    body = order_change("n-7", "028-7777777-7777777")
    sqs.send_message(QueueUrl=queue, MessageBody=body)
    sqs.send_message(QueueUrl=queue, MessageBody=body)

    counts = read_until_empty(reader(db, queue, orders), sqs)

    assert counts == Counts(received=2, handled=1, duplicates=1)
    assert orders.committed == ["028-7777777-7777777"]

    # The host restarts: a new connection to the same database, a new reader; a third copy arrives.
    db.close()
    sqs.send_message(QueueUrl=queue, MessageBody=body)
    counts = read_until_empty(reader(store.connect(tmp_path / "linkolis.db"), queue, orders), sqs)

    assert counts == Counts(received=1, duplicates=1)
    assert orders.committed == ["028-7777777-7777777"]
    assert messages_on(sqs, queue) == 0


def test_a_message_whose_handling_failed_comes_back_after_the_visibility_timeout(sqs, queue, db):
    orders = Orders(sqs, queue)
    orders.fail["028-2222222-2222222"] = 1
    sqs.send_message(QueueUrl=queue, MessageBody=order_change("n-2", "028-2222222-2222222"))
    queue_reader = reader(db, queue, orders)

    first = queue_reader.read_once()

    assert first == Counts(received=1, failed=1)
    assert orders.committed == []
    assert messages_on(sqs, queue) == 1, "a message whose orders were not committed was deleted"

    later = read_until_empty(queue_reader, sqs)

    assert later == Counts(received=1, handled=1)
    assert orders.committed == ["028-2222222-2222222"]
    assert orders.tries == {"028-2222222-2222222": 2}


def test_a_message_failing_its_last_try_is_set_aside_kept_and_named_in_the_log(sqs, queue, db, caplog):
    orders = Orders(sqs, queue)
    orders.fail["028-3333333-3333333"] = None
    # A body may carry what must not reach a log (a token a handler would have used, a buyer's name).
    body = order_change("n-3", "028-3333333-3333333", BuyerName="Jane Buyer", Token="Atza|secret-of-the-seller")
    message_id = sqs.send_message(QueueUrl=queue, MessageBody=body)["MessageId"]

    with caplog.at_level(logging.WARNING, logger="linkolis.notifications"):
        counts = read_until_empty(reader(db, queue, orders, max_tries=3), sqs)

    assert counts == Counts(received=3, failed=2, poisoned=1)
    assert orders.tries == {"028-3333333-3333333": 3}
    assert messages_on(sqs, queue) == 0
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert queue in errors[0] and message_id in errors[0]
    assert "RuntimeError: the marketplace refused to look up order 028-3333333-3333333" in errors[0]
    assert "Atza|" not in caplog.text and "Jane Buyer" not in caplog.text

    [kept] = set_aside(db, queue)
    assert (kept.message_id, kept.notification_id, kept.receives, kept.body) == (message_id, "n-3", 3, body)
    assert kept.last_error == "RuntimeError: the marketplace refused to look up order 028-3333333-3333333"


def test_nothing_is_lost_among_failures_copies_and_an_unreadable_body(sqs, queue, db):
    orders = Orders(sqs, queue)
    orders.fail["A-2"] = 1  # fails once, then goes through
    orders.fail["A-4"] = None  # never goes through
    for n in (1, 2, 3, 4, 5):
        sqs.send_message(QueueUrl=queue, MessageBody=order_change(f"n-{n}", f"A-{n}"))
    sqs.send_message(QueueUrl=queue, MessageBody=order_change("n-5", "A-5"))  # a copy
    garbled = sqs.send_message(QueueUrl=queue, MessageBody="{not json")["MessageId"]

    counts = read_until_empty(reader(db, queue, orders), sqs)

    assert sorted(orders.committed) == ["A-1", "A-2", "A-3", "A-5"]
    kept = {message.notification_id: message for message in set_aside(db, queue)}
    assert set(kept) == {"n-4", None}
    assert kept["n-4"].body == order_change("n-4", "A-4")
    assert (kept[None].message_id, kept[None].body) == (garbled, "{not json")
    assert kept[None].last_error.startswith("JSONDecodeError: ")
    assert (counts.handled, counts.duplicates, counts.poisoned) == (4, 1, 2)
    assert counts.received == counts.handled + counts.duplicates + counts.failed + counts.poisoned
    assert messages_on(sqs, queue) == 0


def test_the_ids_of_notifications_are_forgotten_once_no_copy_can_come_any_more(sqs, queue, db):
    clock = VirtualClock(start=1_800_000_000)
    orders = Orders(sqs, queue)
    body = order_change("n-9", "028-9999999-9999999")
    queue_reader = reader(db, queue, orders, clock=clock)
    sqs.send_message(QueueUrl=queue, MessageBody=body)
    read_until_empty(queue_reader, sqs)

    clock.advance(13 * 24 * 3600)  # within SQS's 14 days: still a copy
    sqs.send_message(QueueUrl=queue, MessageBody=body)
    assert read_until_empty(queue_reader, sqs) == Counts(received=1, duplicates=1)

    clock.advance(2 * 24 * 3600)  # 15 days on: the id is pruned, a message with it is new
    sqs.send_message(QueueUrl=queue, MessageBody=body)
    assert read_until_empty(queue_reader, sqs) == Counts(received=1, handled=1)
    assert db.execute("SELECT COUNT(*) FROM notifications").fetchone()[0] == 1


def test_a_queue_that_cannot_be_read_is_a_clear_error(sqs, db, moto_endpoint):
    missing = f"{moto_endpoint}/123456789012/no-such-queue"
    with pytest.raises(QueueError, match="cannot read the notification queue .*no-such-queue"):
        reader(db, missing, Orders(sqs, missing)).read_once()


class DeleteFailsOnce:
    """An SQS client whose first delete never reaches the queue (the connection dropped)."""

    def __init__(self, sqs):
        self.sqs, self.deletes_failed = sqs, 0

    def receive_message(self, **request):
        return self.sqs.receive_message(**request)

    def delete_message_batch(self, **request):
        if not self.deletes_failed:
            self.deletes_failed += 1
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1")
        return self.sqs.delete_message_batch(**request)


def test_a_handled_message_whose_delete_failed_comes_back_as_a_copy_and_is_not_handled_again(sqs, queue, db, caplog):
    orders = Orders(sqs, queue)
    sqs.send_message(QueueUrl=queue, MessageBody=order_change("n-5", "028-5555555-5555555"))
    queue_reader = reader(db, queue, orders, sqs=DeleteFailsOnce(sqs))

    with caplog.at_level(logging.WARNING, logger="linkolis.notifications"):
        assert queue_reader.read_once() == Counts(received=1, handled=1)
    assert f"could not delete the messages done with (1) from queue {queue}" in caplog.text
    assert messages_on(sqs, queue) == 1

    assert read_until_empty(queue_reader, sqs) == Counts(received=1, duplicates=1)
    assert orders.committed == ["028-5555555-5555555"]
