"""`linkolis orders`: import orders, look at them, mark them shipped, and cancel them."""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Any

import click

from .. import apps, orders, shipments
from ..errors import LinkolisError
from ..host import Host
from ..models import CANCELLATION_REASONS
from ..progress import StderrProgress
from ..tables import column, money, print_table, value, when
from ..terminal import plural
from . import base
from .base import (
    CONTEXT,
    LinkolisGroup,
    authorized_apps,
    complete_app_names,
    echo,
    emit,
    json_option,
    stops_on_sigterm,
    with_host,
)


@click.group("orders", cls=LinkolisGroup, context_settings=CONTEXT)
def orders_group() -> None:
    """Import and look at orders."""


def import_summary(r: dict[str, Any]) -> str:
    return (
        f"{r['app']}: {r['new']} new, {r['updated']} updated, {r['unchanged']} unchanged "
        f"({plural(r['batches'], 'batch')}, {r['seconds']} s)"
    )


@orders_group.command("import")
@click.argument("names", nargs=-1, metavar="[NAME]...", shell_complete=complete_app_names)
@json_option
@with_host
@stops_on_sigterm
def orders_import(host: Host, names: tuple[str, ...], as_json: bool) -> None:
    """Import new and changed orders from the named apps (default: every authorized app)."""
    progress = StderrProgress(quiet=as_json)
    results = [orders.import_orders(host, a, progress=progress) for a in authorized_apps(host, names)]

    def human(rs: list[dict]) -> None:
        for r in rs:
            echo(import_summary(r))

    emit(results if len(results) != 1 else results[0], as_json, lambda _: human(results))


ORDER_STYLES = {
    "unshipped": "yellow",
    "pending": "yellow",
    "shipped": "green",
    "cancelled": "dim",
    "unfulfillable": "red",
}


@orders_group.command("list")
@click.option("--app", shell_complete=complete_app_names, help="Only this app's orders.")
@click.option(
    "--status",
    type=click.Choice(["pending", "unshipped", "partially_shipped", "shipped", "cancelled", "unfulfillable", "other"]),
    help="Only orders with this status.",
)
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, help="Skip this many (reads the orders it skips).")
@click.option("--after", metavar="ORDER", help="Only orders older than ORDER (the next page: the last order shown).")
@click.option(
    "--search",
    metavar="TEXT",
    help="Only orders whose order id (or your own order id) starts with TEXT, in the order of that id (3 characters "
    "at least; a shorter TEXT finds the order of exactly that id).",
)
@json_option
@with_host
def orders_list(
    host: Host,
    app: str | None,
    status: str | None,
    limit: int,
    offset: int,
    after: str | None,
    search: str | None,
    as_json: bool,
) -> None:
    """Imported orders, newest first. BUYER ASKS says "cancel" where the buyer asked to cancel an open order."""
    rows = orders.list_orders(host, app, status, limit, offset=offset, search=search, after=after)

    def human(rs: list[dict]) -> None:
        if not rs:
            echo("No orders. Run `linkolis orders import`.")
            return
        print_table(
            [
                column("order"),
                column("app"),
                column("status", styles=ORDER_STYLES),
                column("created"),
                column("total", right=True),
                column("lines", right=True),
                column("buyer asks", styles={"cancel": "red"}),
            ],
            [
                [
                    r["marketplace_order_id"],
                    r["app"],
                    r["status"],
                    when(r["created_at"]),
                    money(r["total"], r["currency"]),
                    r["line_count"],
                    "cancel" if r["cancellation_requested"] else "",
                ]
                for r in rs
            ],
        )

    emit(rows, as_json, human)


def _marketplace_typed(host: Host, order: dict[str, Any]) -> str:
    """The marketplace as the seller chose it for the app ("DE"), not the marketplace's id for it."""
    try:
        settings = apps.get(host, order["app"]).settings
    except LinkolisError:
        return order["marketplace"] or "-"
    return str(settings.get("marketplace") or order["marketplace"] or "-")


@orders_group.command("show")
@click.argument("order_id", metavar="ID")
@json_option
@with_host
def orders_show(host: Host, order_id: str, as_json: bool) -> None:
    """One order with its lines and status history (ID: the marketplace's order id or the host's id), and whether
    its buyer asked to cancel it, with the marketplace's reason."""
    order = orders.get_order(host, order_id)

    def human(o: dict) -> None:
        echo(
            f"{o['marketplace_order_id']} ({o['app']}, {_marketplace_typed(host, o)}) {o['status']} "
            f"[{o['marketplace_status']}], {o['fulfilled_by']}-fulfilled"
        )
        echo(
            f"created {when(o['created_at'])}, updated {when(o['updated_at'])}, "
            f"total {money(o['total'], o['currency'])}"
        )
        buyer, refs = o["buyer"] or {}, []
        if o["seller_order_id"]:
            refs.append(f"seller order id {o['seller_order_id']}")
        if o["original_order_id"]:
            relation = f" ({o['original_order_relation']})" if o["original_order_relation"] else ""
            refs.append(f"original order {o['original_order_id']}{relation}")
        if buyer.get("purchase_order_number"):
            refs.append(f"PO {buyer['purchase_order_number']}")
        if o["programs"]:
            refs.append(f"programs {', '.join(o['programs'])}")
        if refs:
            echo("; ".join(refs))
        if o["cancellation_requested"]:
            reason = f": {o['cancellation_reason']}" if o["cancellation_reason"] else " (no reason given)"
            echo(f"The buyer asked to cancel this order{reason}.")
            if orders.cancels_here(host, o):
                echo(
                    f"Accept it with `linkolis orders cancel {o['marketplace_order_id']}`, or ship it anyway "
                    "(`linkolis orders ship` asks you to confirm).",
                    err=True,
                )
            else:
                echo("Cancel it on the marketplace's own site; the next import shows it cancelled.", err=True)
        for line in o["lines"]:
            extras = "".join(
                f", {name} {line[name]}"
                for name in ("tax", "shipping", "discount")
                if line[name] is not None and Decimal(line[name]) != 0
            )
            echo(
                f"  {line['quantity_ordered']} x {line['sku']} {line['title'] or ''} @ {value(line['unit_price'])}"
                f" = {value(line['subtotal'])}{extras}, total {money(line['total'], o['currency'])}"
                f" (shipped {line['quantity_shipped']})"
                + (", the buyer asks to cancel" if line["cancellation_requested"] else "")
            )
        for h in o["history"]:
            echo(f"  status {h['marketplace_status']} at {when(h['marketplace_updated_at'])}")

    emit(order, as_json, human)


def _shipment_line(r: dict[str, Any]) -> str:
    items = ", ".join(f"{line['quantity']} x {line['line_id']}" for line in r["lines"])
    message = f": {r['message']}" if r["message"] else ""
    return (
        f"{r['order']} package {r['package_reference']} ({r['app']}): {r['carrier']} {r['tracking_number']}, "
        f"{items}; {r['status']}{message}"
    )


@orders_group.command("ship")
@click.argument("order_ref", metavar="ORDER")
@click.option(
    "--carrier",
    required=True,
    metavar="CODE",
    help="The carrier (DHL, DPD, PostNL, UPS, GLS…; any other name is sent as it is).",
)
@click.option("--tracking", required=True, metavar="NUMBER", help="The parcel's tracking number.")
@click.option("--method", metavar="M", help="The shipping method or service (Paket, Standard…).")
@click.option(
    "--date", "ship_date", metavar="D", help="When it left: YYYY-MM-DD or an ISO date and time [default: now]."
)
@click.option(
    "--line",
    "lines",
    multiple=True,
    metavar="ITEM=QTY",
    help="An item of the package (the order line's "
    "id or SKU) and how many; repeat it. Default: everything left to ship.",
)
@click.option(
    "--app",
    shell_complete=complete_app_names,
    help="The app whose order it is (when two apps imported the same order id).",
)
@click.option("--yes", "-y", is_flag=True, help="Ship even though the buyer asked to cancel, without asking.")
@json_option
@with_host
def orders_ship(
    host: Host,
    order_ref: str,
    carrier: str,
    tracking: str,
    method: str | None,
    ship_date: str | None,
    lines: tuple[str, ...],
    app: str | None,
    yes: bool,
    as_json: bool,
) -> None:
    """Mark an order (or part of it) shipped; the tracking number reaches the marketplace on the next push or sync.

    When the buyer asked to cancel the order, it asks you to confirm first (off a terminal it needs --yes).
    """
    order = orders.find_order(host, order_ref, app)
    if order["cancellation_requested"] and not yes:
        oid = order["marketplace_order_id"]
        if not base.stdin_is_terminal():
            raise click.UsageError(
                f"the buyer of order {oid} asked to cancel it; shipping it anyway needs --yes when not run from a "
                f"terminal (or accept the request: `linkolis orders cancel {oid}`)"
            )
        reason = f" ({order['cancellation_reason']})" if order["cancellation_reason"] else ""
        click.confirm(f"The buyer of order {oid} asked to cancel it{reason}. Ship it anyway?", abort=True, err=True)
    result = shipments.ship_order(
        host,
        order_ref,
        carrier=carrier,
        tracking=tracking,
        method=method,
        ship_date=ship_date,
        lines=[shipments.parse_line(t) for t in lines] or None,
        app=app,
    )

    def human(r: dict) -> None:
        if r["existing"]:
            echo(f"Already recorded, nothing changed: {_shipment_line(r)}")
        else:
            echo(f"Recorded: {_shipment_line(r)}")
            echo("It is sent with `linkolis shipments push` or the next `linkolis sync`.", err=True)

    emit(result, as_json, human)


@orders_group.command("cancel")
@click.argument("order_ref", metavar="ORDER")
@click.option(
    "--reason",
    type=click.Choice(CANCELLATION_REASONS),
    help="Why you cancel it [default: requested_by_buyer when the buyer asked, else required].",
)
@click.option(
    "--app",
    shell_complete=complete_app_names,
    help="The app whose order it is (when two apps imported the same order id).",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
@with_host
def orders_cancel(host: Host, order_ref: str, reason: str | None, app: str | None, yes: bool, as_json: bool) -> None:
    """Cancel an order at its marketplace: accept the buyer's request to cancel, or cancel it yourself.

    Every item not yet shipped is cancelled at the marketplace (accepting a request: the items the buyer asked
    about), and once it accepts, the order is cancelled here at once and the units it held are released. Without
    --reason it accepts the buyer's request; cancelling an order whose buyer did not ask needs a reason
    (out_of_stock, price_error, other). A shipped order cannot be cancelled (the buyer returns it). Where the app
    cannot cancel orders (Amazon), cancel it on the marketplace's own site: the next import shows it cancelled. It
    asks you to confirm (off a terminal it needs --yes).
    """
    plan = orders.plan_cancellation(host, order_ref, reason, app)  # what cannot be cancelled is refused first
    if not yes:
        if not base.stdin_is_terminal():
            raise click.UsageError("cancelling an order needs --yes when not run from a terminal")
        oid = plan["order"]["marketplace_order_id"]
        lines = ", ".join(line["line_id"] for line in plan["lines"])
        what = f"order {oid}" if plan["whole_order"] else f"line {lines} of order {oid}"
        asked = " as its buyer asked" if plan["reason"] == "requested_by_buyer" else ""
        click.confirm(f"Cancel {what} ({plan['order']['app']}){asked}? This cannot be undone.", abort=True, err=True)
    result = orders.cancel_order(host, order_ref, reason=reason, app=app)

    def human(r: dict) -> None:
        items = plural(sum(line["quantity"] for line in r["lines"]), "item")
        if r["status"] == "accepted" and r["whole_order"]:
            echo(f"Cancelled order {r['order']} at {r['app']} ({items}, {r['reason']}); its units are released.")
        elif r["status"] == "accepted":
            lines = ", ".join(line["line_id"] for line in r["lines"])
            echo(
                f"Cancelled what the buyer asked about of order {r['order']} at {r['app']} (line {lines}, {items}); "
                "the rest of the order stays open. The next import shows the marketplace's view."
            )
        elif r["status"] == "pending":
            message = f": {r['message']}" if r["message"] else ""
            echo(f"{r['app']} is still processing the cancellation of order {r['order']}{message}.")
            echo(
                "Run the same command again later to learn the outcome; the next import shows the order cancelled "
                "once it is.",
                err=True,
            )
        else:
            again = " Asking again later may help." if r["retryable"] else ""
            why = (r["message"] or "no reason given").rstrip(".")
            echo(f"{r['app']} refused to cancel order {r['order']}: {why}.{again}", err=True)

    emit(result, as_json, human)
    if result["status"] == "rejected":
        sys.exit(1)
