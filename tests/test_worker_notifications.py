"""`linkolis worker`'s notification reader, without a task queue: the job reads the plugin's queue for its minute,
stores the orders the messages name, says it is reading, and queues the next reader; a queue it cannot read is
noted as failing (the job itself ends: no failed job kept per try) and tried again QUEUE_RETRY seconds later, not
in a loop. moto's SQS on 127.0.0.1 is the queue."""

from __future__ import annotations

import json
import time

import pytest
from helpers import KeptQueue, authorize_app, install_app

from linkolis_host import order_notifications, worker
from linkolis_host.scheduler import QUEUE_RETRY


@pytest.fixture
def operator_env(sqs_queue):
    return {"LINKOLIS_TESTMARKET_NOTIFICATIONS_QUEUE_URL": sqs_queue}


@pytest.fixture
def reader(host, monkeypatch):
    """A worker whose reader job reads for a second (a minute in `linkolis worker`), its queue kept."""
    monkeypatch.setattr(worker, "READ_FOR", 1.0)
    queue = KeptQueue()
    runner = worker.Worker(host, queue, interval=60.0, poll=1.0)
    yield runner, queue
    runner.close()


def test_the_reader_job_stores_the_notified_order_and_queues_the_next_reader(run, host, market, sqs, sqs_queue, reader):
    runner, queue = reader
    install_app(run, "Shop EU", "EU", "--stock-sync")
    authorize_app(run, "Shop EU", "SELLER1")
    market.add_order("O-1")
    body = {"market": "testmarket", "id": "N-1", "account": "SELLER1", "orders": ["O-1"], "alias": False}
    sqs.send_message(QueueUrl=sqs_queue, MessageBody=json.dumps(body))

    runner.read("testmarket")

    assert [o["marketplace_order_id"] for o in run.json("orders", "list")] == ["O-1"]
    assert runner.woken.is_set(), "a new order wakes the pushes: the other marketplaces are offered one less"
    assert order_notifications.readers(host)["testmarket"]["state"] == "reading"
    assert queue.readers == [("testmarket", None)], "the next reader is queued at once"
    shown = run.json("sync", "status")["notifications"]
    assert [r["state"] for r in shown["readers"]] == ["reading"]


def test_a_queue_that_cannot_be_read_is_noted_and_tried_again_later_not_in_a_loop(run, host, sqs, sqs_queue, reader):
    runner, queue = reader
    sqs.delete_queue(QueueUrl=sqs_queue)  # the operator's queue is gone

    runner.read("testmarket")  # the job ends: no failed job is kept for each try

    noted = order_notifications.readers(host)["testmarket"]
    assert noted["state"] == "failing" and "SQS has no such queue" in noted["error"]  # what `sync status` shows
    [(kind, at)] = queue.readers
    assert kind == "testmarket" and at == pytest.approx(time.time() + QUEUE_RETRY, abs=2.0)
