"""The hook contract between the host and a marketplace plugin.

Each hook but ``configure_fields`` and ``demo_environment`` is called by the host only for the plugin that
owns the app, with a ``Context`` that carries everything the plugin may use (HTTP client, credentials,
state, clock, logger, progress). Parameters are only ever added at the end; none is ever renamed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Iterator, Literal, Sequence

import pluggy

if TYPE_CHECKING:
    from pathlib import Path

    from .context import Context
    from .models import (
        AppKind,
        AuthorizationStart,
        Cancellation,
        CancellationOutcome,
        CheckAgain,
        Credentials,
        DemoEnvironment,
        HealthCheck,
        NotificationEvent,
        Order,
        OrderBatch,
        Shipment,
        ShipmentOutcome,
        StockItem,
        StockLevel,
        StockOutcome,
    )

hookspec = pluggy.HookspecMarker("linkolis")
hookimpl = pluggy.HookimplMarker("linkolis")


@hookspec
def configure_fields() -> AppKind:
    """Describe the app this plugin offers: its catalog entry and the fields of its panel.

    Returns an ``AppKind``: ``kind`` (the id sellers type, unique among plugins), ``title``, ``description``,
    ``settings`` (an ``AppSettings`` subclass whose fields are the panel: label, help, default, choices),
    ``rate_limits`` (the marketplace's quota per operation, which the host enforces), whether the app is
    authorized by OAuth redirect (``oauth``) and which credentials a seller may paste instead
    (``direct_credentials``). Called once per plugin when the plugin manager is built.
    """


@hookspec
def authorize(
    ctx: Context, step: Literal["start", "continue", "complete", "direct"], params: dict[str, str]
) -> AuthorizationStart | Credentials:
    """Authorize the app against the seller's marketplace account, in two steps or one.

    :param ctx: the app's context (``ctx.credentials`` is None or the previous authorization's).
    :param step: ``"start"``: ``params`` holds ``state`` and ``redirect_uri`` (the host's receiver);
        return an ``AuthorizationStart`` with the URL to send the seller to, carrying ``state``, and the
        redirect URI actually used. ``"complete"``: ``params`` is the redirect's query (the host has already
        checked ``state``); exchange what it carries and return ``Credentials``. ``"continue"``: a redirect
        that carries no state of ours reached the host's receiver (a marketplace's log-in page step);
        ``params`` is its query plus the pending ``state``; return an ``AuthorizationStart`` whose ``url`` the
        browser is sent on to. ``"direct"``: ``params``
        holds the ``direct_credentials`` the seller gave; check them and return ``Credentials``.
    :raises AuthorizationError: the seller refused, a code expired, pasted credentials are wrong.
    :raises NeedsAttention: the operator's settings are missing or wrong.
    """


@hookspec
def import_orders(ctx: Context, cursor: dict | None) -> Iterator[OrderBatch]:
    """Fetch orders created or changed since ``cursor``, as batches.

    :param cursor: what the last committed batch returned, or None for a first import.
    :returns: an iterator of ``OrderBatch``; the host commits each batch with its cursor in one transaction
        before asking for the next, so a crash loses nothing and repeats nothing. An order may come again in
        a later batch or run (overlapping windows are fine): the host updates it, never duplicates it.
    :raises AuthorizationRevoked: the grant is gone; committed batches stay, the cursor stays where it was.
    """


@hookspec
def push_stock(ctx: Context, items: Sequence[StockItem]) -> Iterable[StockOutcome | CheckAgain]:
    """Push merchant quantities to the marketplace's listings.

    :param items: one quantity per SKU, each differing from what was last pushed: the quantity to offer now, with
        known open orders already taken off (on hand less every app's open orders, less this app's buffer, at most
        its cap); send it as the marketplace's "available to sell now", never as a count it subtracts open orders
        from again. May be empty when the host
        only collects outcomes of earlier pending pushes. A read-only sequence (``len``, indexing, slices,
        iteration) whose items are made as they are read: take it a chunk at a time, and 200,000 SKUs never
        exist as objects at once (``list(items)`` would make them all).
    :returns: one ``StockOutcome`` per SKU in ``items`` (accepted, rejected with the marketplace's message,
        pending with what to check later, or skipped with why), plus outcomes of earlier pending pushes that
        have since been decided. A pending push must be decided by a later call, never forgotten. Last, when pushes
        are left pending, optionally one ``CheckAgain``: the moment before which asking about them is pointless.
    :contract: every outcome yielded is recorded before the plugin's next write to ``ctx.state`` (the host flushes
        them from inside the write): yield a pending push's outcomes, then forget it in the state, and a crash in
        between loses none of them. Write only through this call's ``ctx.state``, never through a store kept from
        another call, and yield each outcome as it is decided, not held back past a write.
    """


@hookspec
def read_stock(ctx: Context, skus: list[str] | None) -> Iterable[StockLevel]:
    """Read the quantities the marketplace shows now, for ``skus`` (or every listing when None).

    Used by ``stock push --dry-run`` and ``stock verify``. Optional: a plugin without it cannot verify.
    """


@hookspec
def push_shipments(ctx: Context, shipments: list[Shipment]) -> Iterable[ShipmentOutcome]:
    """Confirm packages the seller shipped to the marketplace: carrier, tracking number, the lines in each.

    :param shipments: the app's shipments due, each for a seller-fulfilled order the host has not seen cancelled,
        never more of a line than was ordered. One the host sent before without learning the outcome comes again
        with ``resent`` set: the marketplace may already have it, and must then be answered ``accepted``, not sent
        twice (a package reference is used once per order).
    :returns: one ``ShipmentOutcome`` per shipment, keyed by order and package reference: accepted, rejected with
        the marketplace's message (``retryable`` when sending again could help), or pending. The host records each
        as it comes, so a plugin should yield them as it goes.
    :raises AuthorizationRevoked: the grant is gone; what was answered stays answered, the rest is sent again.

    Optional: the host refuses to record shipments for an app whose plugin does not implement it.
    """


@hookspec
def cancel_order(ctx: Context, cancellation: Cancellation) -> CancellationOutcome:
    """Cancel lines of an order at the marketplace: accept the buyer's request, or cancel on the seller's initiative.

    :param cancellation: the marketplace's order id, the lines and quantities to cancel (what is left to ship of
        each open line; accepting a buyer's request, of the lines the buyer asked about), and the host's reason
        (``requested_by_buyer``, ``out_of_stock``, ``price_error``, ``other``), which the plugin maps to its
        marketplace's reason codes. The host hands over only a seller-fulfilled order it has not seen cancelled, and
        ``requested_by_buyer`` only when the buyer asked.
    :returns: a ``CancellationOutcome``: accepted (the lines are cancelled at the marketplace, also when they were
        already: after an interruption the same cancellation may come again and must not be refused), rejected
        with the marketplace's message (``retryable`` when asking again could help), or pending (the marketplace
        is still deciding; the host asks again when the seller does). On accepted the host cancels the lines
        locally at once (the whole order when they were all its open lines) and releases their units.
    :raises AuthorizationRevoked: the grant is gone; nothing is cancelled locally.

    Optional: without it the host tells the seller to cancel on the marketplace's own site, which the next import
    then shows.
    """


@hookspec
def health_check(ctx: Context) -> list[HealthCheck]:
    """Check that the installed app works: credentials, token refresh, access to orders and stock.

    :returns: named checks, each ``ok``, ``failed``, ``skipped`` or ``warning``, with the step the seller can
        take as an ``action`` (``Action.AUTHORIZE``, ``CONFIGURE`` with ``param``, ``REINSTALL``, ``OPERATOR``,
        ``VERIFY``) and any more it needs said as a ``remedy`` without a command in it (the CLI words the action as a
        command, the web as a button). When none failed the host shows "Module correctly installed" and marks the
        app verified.
    """


@hookspec
def demo_environment(home: Path) -> DemoEnvironment | None:
    """Start a local stand-in for the plugin's marketplace for ``linkolis demo``; every plugin's answer is used
    (the demo installs one app per stand-in, in the order the plugins were loaded).

    :param home: the demo's throw-away data directory.
    :returns: a ``DemoEnvironment``, or None when the plugin has no stand-in.
    """


@hookspec
def subscribe_notifications(ctx: Context, queue_arn: str) -> str | None:
    """Subscribe the app at the marketplace to order notifications sent to the queue ``queue_arn``.

    Called after the app is authorized or verified, only when the plugin's operator settings name a queue
    (``notifications_queue_url``); the host derives the queue's ARN from its URL. Must be idempotent: a destination
    or subscription that exists already is fine, and is used.

    :param queue_arn: the SQS queue's ARN (``arn:aws:sqs:<region>:<account>:<name>``).
    :returns: the marketplace's id of the subscription, or None when the plugin has nothing to subscribe to.
    :raises: anything: the host logs it and shows it as a warning; the authorization or verification stands.

    Optional: without it the app is only polled.
    """


@hookspec
def unsubscribe_notifications(ctx: Context, subscription: str) -> None:
    """Delete the app's subscription ``subscription`` (what ``subscribe_notifications`` answered) at the marketplace.

    Called when the app is removed, before its credentials are forgotten, and only when no other installed app of
    this kind uses the same subscription (two apps of one seller in two marketplaces share Amazon's). A subscription
    the marketplace no longer has is fine.

    :raises: anything: the host logs it and shows it as a warning; the app is removed all the same.

    Optional: without it a removed app's subscription stays at the marketplace, and its notifications are set aside
    by no one: the host reads them, finds no app for their account, and deletes them.
    """


@hookspec
def read_notification(body: str) -> NotificationEvent | None:
    """Read one message of the notification queue: which account's orders it names.

    :param body: the message's body as it came from the queue.
    :returns: a ``NotificationEvent`` (the notification's id, the seller's account, the order ids), or None when
        the message is not one this plugin reads (the host tries it again, then sets it aside). No context: the
        host maps the account to the installed apps of this kind connected to it.
    :raises: anything when the body is this plugin's but cannot be read: the message is tried again, then set aside.
    """


@hookspec
def fetch_orders(ctx: Context, order_ids: list[str]) -> Iterable[Order]:
    """Fetch the orders ``order_ids`` names, as ``import_orders`` gives them.

    :param order_ids: marketplace order ids a notification named.
    :returns: those of the orders that belong to this app (one of a seller's other marketplaces is left out), each as
        the polling import would give it; the host stores them through the same idempotent path, so an order fetched
        twice is stored once.
    :raises AuthorizationRevoked: the grant is gone; the message is tried again later.
    """
