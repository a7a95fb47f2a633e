"""The operator's view of the notification queue, `linkolis notifications`: how deep each plugin's queue is and what
the host did with its messages, the messages set aside after their last try (sent back or discarded), and one read
now to check a new set-up. moto's SQS on 127.0.0.1 is the queue."""

from __future__ import annotations

import json

import boto3
import pytest
from helpers import authorize_app, install_app

from linkolis_host.cli import base

QUEUE_VARIABLE = "LINKOLIS_TESTMARKET_NOTIFICATIONS_QUEUE_URL"


@pytest.fixture
def operator_env(sqs_queue):
    return {QUEUE_VARIABLE: sqs_queue}


@pytest.fixture
def shop(run, market):
    install_app(run, "Shop EU", "EU", "--stock-sync")
    authorize_app(run, "Shop EU", "SELLER1")
    return "Shop EU"


def notify(sqs, queue: str, notification_id: str, *orders: str, account: str = "SELLER1") -> None:
    body = {"market": "testmarket", "id": notification_id, "account": account, "orders": list(orders)}
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(body))


def poison(sqs, queue: str, run, tries: int = 5) -> None:
    """A message the market's plugin cannot read, received ``tries`` times (the host's last try sets it aside):
    the queue hands it back at once, as after a visibility timeout."""
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "0"})
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"from": "another sender", "buyer": "Ann"}))
    for _ in range(tries):
        run("notifications", "read")


def test_an_operator_reads_the_queue_once_to_check_a_new_set_up(run, shop, market, sqs, sqs_queue):
    market.add_order("O-1")
    notify(sqs, sqs_queue, "N-1", "O-1")
    notify(sqs, sqs_queue, "N-1", "O-1")  # SQS delivers at least once

    [read] = run.json("notifications", "read", "--kind", "testmarket")
    assert (read["kind"], read["received"], read["handled"], read["duplicates"], read["new"]) == (
        "testmarket",
        2,
        1,
        1,
        1,
    )
    assert [o["marketplace_order_id"] for o in run.json("orders", "list")] == ["O-1"]

    text = run("notifications", "read").stdout
    assert text.strip() == (
        "Test Market: read 0 messages (0 handled, 0 copies skipped, 0 failed, 0 set aside); "
        "orders: 0 new, 0 updated, 0 unchanged"
    )


def test_status_shows_the_queue_its_depth_and_what_was_handled(run, shop, market, sqs, sqs_queue):
    market.add_order("O-1")
    market.add_order("O-2")
    notify(sqs, sqs_queue, "N-1", "O-1")
    notify(sqs, sqs_queue, "N-2", "O-2")
    run("notifications", "read")
    notify(sqs, sqs_queue, "N-3", "O-1")  # not read yet

    [row] = run.json("notifications", "status")
    assert row["kind"] == "testmarket" and row["queue_url"] == sqs_queue
    assert (row["messages"], row["in_flight"]) == (1, 0)
    assert (row["handled_last_hour"], row["handled_last_day"], row["set_aside"]) == (2, 2, 0)
    assert row["error"] is None

    run.host.clock.advance(2 * 3600)  # two hours on: handled within the day, not within the hour
    [row] = run.json("notifications", "status")
    assert (row["handled_last_hour"], row["handled_last_day"]) == (0, 2)

    text = run("notifications", "status").stdout
    assert "Test Market" in text and sqs_queue in text


def test_without_a_queue_the_operator_is_told_which_setting_to_set(run, market):
    run.host.env.pop(QUEUE_VARIABLE)
    for command in (("status",), ("read",)):
        result = run("notifications", *command, code=1)
        assert "no plugin has a notification queue, so orders are only polled" in result.stderr
        assert "notifications_queue_url" in result.stderr and "LINKOLIS_KIND_NOTIFICATIONS_QUEUE_URL" in result.stderr
        assert "Traceback" not in result.output


def test_when_sqs_cannot_be_read_status_says_why_and_never_shows_a_secret(run, market, sqs_queue, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SECRET-marker-0123456789")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    run.host.env[QUEUE_VARIABLE] = sqs_queue.rsplit("/", 1)[0] + "/no-such-queue"
    [row] = json.loads(run("notifications", "status", "--json", code=1).stdout)
    assert row["error"]["code"] == "no_such_queue" and row["error"]["action"] == "operator"
    assert "SQS has no such queue; check notifications_queue_url, the region" in row["error"]["message"]
    assert row["messages"] is None

    run.host.env[QUEUE_VARIABLE] = sqs_queue
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9")  # nothing listens there
    result = run("notifications", "status", code=1)
    assert "[queue_unreachable]" in result.stderr
    assert "endpoint http://127.0.0.1:9" in result.stderr and "region eu-west-1" in result.stderr

    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # a fresh process: boto3 keeps what it found in a session
    [row] = json.loads(run("notifications", "status", "--json", code=1).stdout)
    assert row["error"]["code"] == "no_aws_credentials"
    assert "AWS_PROFILE" in row["error"]["message"]

    for output in (result.output, json.dumps(row)):
        assert "SECRET-marker" not in output and "Traceback" not in output


def test_a_message_set_aside_is_listed_without_its_body_unless_asked(run, shop, sqs, sqs_queue):
    poison(sqs, sqs_queue, run)

    [message] = run.json("notifications", "set-aside")
    assert message["queue_url"] == sqs_queue and message["receives"] == 5
    assert message["notification_id"] is None and "does not read this message" in message["last_error"]
    assert "body" not in message
    assert "Ann" not in run("notifications", "set-aside").stdout

    [shown] = run.json("notifications", "set-aside", "--show-body")
    assert json.loads(shown["body"]) == {"from": "another sender", "buyer": "Ann"}

    [row] = run.json("notifications", "status")
    assert (row["set_aside"], row["messages"], row["in_flight"]) == (1, 0, 0), "set aside, it left the queue"
    assert "`linkolis notifications set-aside`" in run("notifications", "status").stderr


def test_retry_sends_a_set_aside_message_back_for_the_reader_to_handle_again(run, shop, sqs, sqs_queue):
    poison(sqs, sqs_queue, run)
    [message] = run.json("notifications", "set-aside")

    sent = run.json("notifications", "retry", str(message["id"]))
    assert sent["queue_url"] == sqs_queue and sent["message_id"] != message["message_id"]
    assert run.json("notifications", "set-aside") == [], "forgotten once SQS has it back"

    [read] = run.json("notifications", "read")
    assert (read["received"], read["failed"]) == (1, 1), "the reader handles it again, from its first try"

    result = run("notifications", "retry", str(message["id"]), code=1)
    assert f"no notification message is set aside under id {message['id']}" in result.stderr


def test_discard_asks_first_then_forgets_the_message(run, shop, sqs, sqs_queue, monkeypatch):
    poison(sqs, sqs_queue, run)
    [message] = run.json("notifications", "set-aside")
    id = str(message["id"])

    result = run("notifications", "discard", id, code=2)
    assert "needs --yes when not run from a terminal" in result.stderr

    monkeypatch.setattr(base, "stdin_is_terminal", lambda: True)
    result = run("notifications", "discard", id, input="n\n", code=1)
    assert f"Discard message {id} of {sqs_queue} (set aside after 5 receives)?" in result.stderr
    assert len(run.json("notifications", "set-aside")) == 1, "answered no: kept"

    run("notifications", "discard", id, input="y\n")
    assert run.json("notifications", "set-aside") == []
    [row] = run.json("notifications", "status")
    assert (row["set_aside"], row["messages"]) == (0, 0), "discarded, not sent back"


def test_each_command_explains_itself(run, market):
    text = run("notifications", "--help").stdout
    for command in ("status", "set-aside", "retry", "discard", "read"):
        assert command in text
    assert "--show-body" in run("notifications", "set-aside", "--help").stdout
    assert "--yes" in run("notifications", "discard", "--help").stdout
