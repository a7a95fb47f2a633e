"""`linkolis orders`: import orders, look at them, and mark them shipped."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click

from .. import apps, orders, shipments
from ..errors import LinkolisError
from ..host import Host
from ..progress import StderrProgress
from ..tables import column, money, print_table, value, when
from ..terminal import plural
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
@click.option("--offset", type=click.IntRange(0), default=0, help="Skip this many (the next page: --offset 50).")
@click.option("--search", metavar="TEXT", help="Only orders whose order id (or your own order id) contains TEXT.")
@json_option
@with_host
def orders_list(
    host: Host, app: str | None, status: str | None, limit: int, offset: int, search: str | None, as_json: bool
) -> None:
    """Imported orders, newest first."""
    rows = orders.list_orders(host, app, status, limit, offset=offset, search=search)

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
            ],
            [
                [
                    r["marketplace_order_id"],
                    r["app"],
                    r["status"],
                    when(r["created_at"]),
                    money(r["total"], r["currency"]),
                    r["line_count"],
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
    """One order with its lines and status history (ID: the marketplace's order id or the host's id)."""
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
    as_json: bool,
) -> None:
    """Mark an order (or part of it) shipped; the tracking number reaches the marketplace on the next push or sync."""
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
