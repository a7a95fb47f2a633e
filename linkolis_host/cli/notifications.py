"""`linkolis notifications`: the operator's view of the marketplaces' notification queues (SQS): their depth and
what the host did with their messages, the messages set aside, sending one back or discarding it, one read now."""

from __future__ import annotations

import sys
from typing import Any

import click

from .. import notification_queues, notifications
from ..host import Host
from ..tables import column, print_table, when
from ..terminal import plural
from . import base
from .base import CONTEXT, LinkolisGroup, echo, emit, json_option, secho, with_host


@click.group("notifications", cls=LinkolisGroup, context_settings=CONTEXT)
def notifications_group() -> None:
    """The marketplaces' order notifications: the SQS queue each plugin reads, and the messages set aside.

    A plugin reads a queue when its operator settings name one (`notifications_queue_url`, see
    docs/operations.md); credentials, region and endpoint are boto3's (AWS_PROFILE, AWS_REGION,
    AWS_ENDPOINT_URL_SQS...). A message that keeps failing is set aside after its last try: list those with
    `set-aside`, then `retry` or `discard` each."""


@notifications_group.command("status")
@json_option
@with_host
def notifications_status(host: Host, as_json: bool) -> None:
    """Per plugin with a queue: its URL, the messages waiting and in flight at SQS, those handled in the last hour
    and day, and those set aside. Exits 1 when a queue cannot be read (the message says why: credentials, region,
    endpoint)."""
    rows = notification_queues.status(host)

    def human(data: list[dict[str, Any]]) -> None:
        print_table(
            [
                column("plugin"),
                column("queue", wrap=True),
                column("waiting", right=True),
                column("in flight", right=True),
                column("last hour", right=True),
                column("last day", right=True),
                column("set aside", right=True),
            ],
            [
                [r["title"], r["queue_url"], r["messages"], r["in_flight"]]
                + [r.get("handled_last_hour"), r.get("handled_last_day"), r.get("set_aside")]
                for r in data
            ],
        )
        for r in data:
            if r["error"]:
                secho(f"{r['title']}: {r['error']['message']} [{r['error']['code']}]", err=True, fg="red")
        if any(r.get("set_aside") for r in data):
            echo("Messages set aside: `linkolis notifications set-aside`.", err=True)

    emit(rows, as_json, human)
    if any(r["error"] for r in rows):
        sys.exit(1)


@notifications_group.command("set-aside")
@click.option("--show-body", is_flag=True, help="Also print each message's body (it may name buyers' orders).")
@json_option
@with_host
def notifications_set_aside(host: Host, show_body: bool, as_json: bool) -> None:
    """The messages set aside after failing their last try, oldest first: id (for `retry` and `discard`), queue,
    message id, notification id, receives, last error and when. Their bodies only with --show-body."""
    found = [{k: v for k, v in vars(m).items() if show_body or k != "body"} for m in notifications.set_aside(host.db)]

    def human(data: list[dict[str, Any]]) -> None:
        if not data:
            echo("No message is set aside.")
            return
        print_table(
            [
                column("id", right=True),
                column("queue", wrap=True),
                column("message id"),
                column("notification id"),
                column("receives", right=True),
                column("last error", wrap=True),
                column("set aside"),
            ],
            [
                [m["id"], m["queue_url"], m["message_id"], m["notification_id"], m["receives"], m["last_error"]]
                + [when(m["at"])]
                for m in data
            ],
        )
        for m in data:
            if show_body:
                echo(f"--- {m['id']}\n{m['body']}")

    emit(found, as_json, human)


@notifications_group.command("retry")
@click.argument("id", type=int)
@json_option
@with_host
def notifications_retry(host: Host, id: int, as_json: bool) -> None:
    """Send the message set aside under ID back onto its queue, as a new message, and forget it: the reader handles
    it again (and sets it aside again if it still fails). It stays set aside when SQS cannot take it."""
    message = notifications.set_aside_one(host.db, id)
    sent = notifications.retry(host.db, id)
    emit(
        {"id": id, "queue_url": message.queue_url, "message_id": sent},
        as_json,
        lambda d: echo(f"Sent message {id} back onto {d['queue_url']} (now message {d['message_id']})."),
    )


@notifications_group.command("discard")
@click.argument("id", type=int)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
@with_host
def notifications_discard(host: Host, id: int, yes: bool, as_json: bool) -> None:
    """Forget the message set aside under ID for good. The orders it named are left to the polling import (`sync`),
    which finds them at its next run."""
    message = notifications.set_aside_one(host.db, id)
    if not yes:
        if not base.stdin_is_terminal():
            raise click.UsageError("discarding a message needs --yes when not run from a terminal")
        click.confirm(
            f"Discard message {id} of {message.queue_url} (set aside after {plural(message.receives, 'receive')})?",
            abort=True,
            err=True,
        )
    notifications.discard(host.db, id)
    emit(
        {"id": id, "queue_url": message.queue_url, "message_id": message.message_id, "discarded": True},
        as_json,
        lambda d: echo(f"Discarded message {id} of {d['queue_url']}."),
    )


@notifications_group.command("read")
@click.option("--kind", metavar="KIND", help="Read only this plugin's queue [default: every plugin with a queue].")
@click.option(
    "--wait",
    type=click.IntRange(0, 20),
    default=0,
    show_default=True,
    help="Seconds to wait for a message (SQS's long polling, 20 at most).",
)
@json_option
@with_host
def notifications_read(host: Host, kind: str | None, wait: int, as_json: bool) -> None:
    """Read each queue once now and store the orders its messages name, as `sync --watch` does on and on: to check
    a new set-up. Prints what was read (handled, copies skipped, failed and left to come back, set aside) and
    stored (new, updated, unchanged orders)."""
    results = notification_queues.read_now(host, kind, wait)

    def human(data: list[dict[str, Any]]) -> None:
        for r in data:
            title = host.registry.kind(r["kind"]).title
            echo(
                f"{title}: read {plural(r['received'], 'message')} ({r['handled']} handled, {r['duplicates']} "
                f"copies skipped, {r['failed']} failed, {r['poisoned']} set aside); orders: {r['new']} new, "
                f"{r['updated']} updated, {r['unchanged']} unchanged"
            )

    emit(results, as_json, human)
