"""Delivering a simulated marketplace's notifications to an SQS queue, with the faults at-least-once delivery has.

A simulator hands ``SqsDelivery.enqueue`` a message body (a JSON-ready dict) and the queue it goes to, named by its ARN
(``arn:aws:sqs:REGION:ACCOUNT:NAME``, as Amazon's destinations do) or its URL (``https://sqs.REGION.amazonaws.com/
ACCOUNT/NAME``, as bol's subscriptions do). With ``sqs_endpoint`` set (a local SQS: moto's server) each message due is
sent there with boto3 (credentials as boto3 reads them) to the queue of that account and name; without it nothing is
sent, and ``sent`` still keeps every message that would have gone, in order, so a test can read them.

The faults (``NotifyFaults``: shares between 0 and 1, drawn from a generator seeded by the simulator's seed) do what
SQS standard queues and a marketplace's at-least-once delivery can do: duplicate a message, delay it, hold it back
behind the next one (the two arrive swapped), or drop it. ``add_notify_options`` and ``notify_faults`` give a
simulator's ``python -m`` line the same ``--sqs-endpoint`` and ``--notify-*`` options as every other's.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

DEFAULT_REGION = "eu-west-1"


@dataclass
class NotifyFaults:
    """Shares of messages duplicated, delayed (by ``delay_seconds``), held back behind the next one, or dropped."""

    duplicate: float = 0.0
    delay: float = 0.0
    reorder: float = 0.0
    drop: float = 0.0
    delay_seconds: float = 30.0


def queue_of(target: str) -> tuple[str, str, str]:
    """(region, account, name) of the queue an ARN or a queue URL names. ``ValueError`` for anything else."""
    if target.startswith("arn:"):
        parts = target.split(":", 5)
        if len(parts) != 6 or parts[2] != "sqs" or not all(parts[3:]):
            raise ValueError(f"not an SQS queue's ARN: {target}")
        return parts[3], parts[4], parts[5]
    url = urlsplit(target)
    path = [p for p in url.path.split("/") if p]
    if url.scheme not in ("http", "https") or len(path) != 2:
        raise ValueError(f"not an SQS queue's ARN or URL: {target}")
    host = url.hostname or ""
    region = host.split(".")[1] if host.startswith("sqs.") and host.count(".") >= 3 else DEFAULT_REGION
    return region, path[0], path[1]


@dataclass
class SqsDelivery:
    """Messages on their way to SQS queues: faults applied when they are enqueued, sent when they are due."""

    sqs_endpoint: str | None = None
    faults: NotifyFaults = field(default_factory=NotifyFaults)
    seed: str = "notifications:0"
    sent: list[dict[str, Any]] = field(default_factory=list)  # every message sent (or due) to a queue, in order
    _pending: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)  # (due, queue, message)
    _held: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # held back until the next message
    _rng: random.Random = field(init=False)
    _clients: dict[str, Any] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def enqueue(self, queue: str, msg: dict[str, Any], now: float) -> None:
        """One message for the queue ``queue`` (ARN or URL) at ``now``, as the faults let it through."""
        with self._lock:
            f, rng = self.faults, self._rng
            if rng.random() < f.drop:
                return
            copies = 2 if rng.random() < f.duplicate else 1
            for _ in range(copies):
                if rng.random() < f.reorder:
                    self._held.append((queue, msg))
                    continue
                due = now + f.delay_seconds if rng.random() < f.delay else now
                self._pending.append((due, queue, msg))
                # A message held back goes out just after the next one: the two arrive swapped.
                self._pending.extend((due, q, m) for q, m in self._held)
                self._held.clear()

    def flush(self, now: float, release_held: bool = True) -> int:
        """Send every message due by ``now`` (delayed ones wait for the clock; held ones go now unless
        ``release_held`` is false). Returns how many went."""
        with self._lock:
            if release_held:
                self._pending.extend((now, q, m) for q, m in self._held)
                self._held.clear()
            due = [p for p in self._pending if p[0] <= now]
            self._pending = [p for p in self._pending if p[0] > now]
            for _, queue, msg in due:
                self.sent.append(msg)
                if self.sqs_endpoint:
                    self._send(queue, msg)
            return len(due)

    def _send(self, queue: str, msg: dict[str, Any]) -> None:
        region, account, name = queue_of(queue)
        client = self._clients.get(region)
        if client is None:
            import boto3

            client = boto3.client("sqs", region_name=region, endpoint_url=self.sqs_endpoint)
            self._clients[region] = client
        url = client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        client.send_message(QueueUrl=url, MessageBody=json.dumps(msg))


def add_notify_options(parser: argparse.ArgumentParser, what: str) -> None:
    """``--sqs-endpoint`` and the ``--notify-*`` fault options on a simulator's command line; ``what`` names the
    notifications and where each goes ("ORDER_CHANGE notifications go to the queue its destination's ARN names")."""
    parser.add_argument(
        "--sqs-endpoint",
        default=None,
        metavar="URL",
        help=f"the SQS that {what} (AWS credentials as boto3 reads them); without it no notification is delivered",
    )
    for fault, effect in (
        ("duplicate", "sent twice"),
        ("delay", "held back --notify-delay-seconds"),
        ("reorder", "sent after the next one"),
        ("drop", "never sent"),
    ):
        parser.add_argument(
            f"--notify-{fault}",
            type=float,
            default=0.0,
            metavar="SHARE",
            help=f"share of notifications {effect} (0 to 1, seeded by --seed; default 0)",
        )
    parser.add_argument(
        "--notify-delay-seconds", type=float, default=30.0, help="how long a delayed notification waits (default 30)"
    )


def notify_faults(args: argparse.Namespace) -> NotifyFaults:
    """The faults the ``--notify-*`` options asked for."""
    return NotifyFaults(
        args.notify_duplicate, args.notify_delay, args.notify_reorder, args.notify_drop, args.notify_delay_seconds
    )


def loopback_sqs_endpoint() -> str | None:
    """The demo's local SQS (``AWS_ENDPOINT_URL_SQS`` while the host's demo runs one), never one off this machine:
    what a demo's simulator delivers its notifications to, or None."""
    import os

    endpoint = os.environ.get("AWS_ENDPOINT_URL_SQS") or ""
    return endpoint if urlsplit(endpoint).hostname in ("127.0.0.1", "localhost") else None
