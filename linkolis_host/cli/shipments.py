"""`linkolis shipments`: tracking numbers sent back to the marketplaces."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .. import shipments
from ..host import Host
from ..progress import StderrProgress
from ..tables import column, print_table
from ..terminal import plural
from .base import (
    CONTEXT,
    STATUS_STYLES,
    LinkolisGroup,
    authorized_apps,
    complete_app_names,
    echo,
    emit,
    json_option,
    stops_on_sigterm,
    with_host,
)


def shipments_summary(r: dict[str, Any]) -> str:
    refused = f", {r['refused']} refused (order cancelled)" if r.get("refused") else ""
    return (
        f"{r['app']}: {plural(r['sent'], 'shipment')} sent: {r['accepted']} accepted, {r['rejected']} rejected, "
        f"{r['pending']} pending{refused}"
    )


@click.group("shipments", cls=LinkolisGroup, context_settings=CONTEXT)
def shipments_group() -> None:
    """Shipments: tracking numbers sent back to the marketplaces, once each."""


@shipments_group.command("load")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@with_host
def shipments_load(host: Host, file: Path, as_json: bool) -> None:
    """Record shipments from a CSV with the header order,carrier,tracking (and optionally item,quantity,method,date).

    Rows with the same order and tracking number are one package; a row without an item ships everything left of
    the order. A bad row applies nothing; a shipment recorded before is left as it is.
    """
    result = shipments.load_shipments(host, file)
    emit(
        result,
        as_json,
        lambda r: echo(f"Recorded {plural(r['recorded'], 'shipment')}; {r['unchanged']} recorded before, unchanged."),
    )


@shipments_group.command("list")
@click.option("--app", shell_complete=complete_app_names, help="Only this app's shipments.")
@click.option(
    "--status",
    type=click.Choice(["due", "sending", "accepted", "rejected", "pending", "refused"]),
    help="Only shipments with this status.",
)
@json_option
@with_host
def shipments_list(host: Host, app: str | None, status: str | None, as_json: bool) -> None:
    """Recorded shipments and what became of them."""
    rows = shipments.list_shipments(host, app, status)

    def human(rs: list[dict]) -> None:
        if not rs:
            echo("No shipments. Record one with `linkolis orders ship ORDER --carrier … --tracking …`.")
            return
        print_table(
            [
                column("order"),
                column("package"),
                column("app"),
                column("carrier"),
                column("tracking"),
                column("items"),
                column("status", styles=STATUS_STYLES),
                column("message", wrap=True),
            ],
            [
                [
                    r["order"],
                    r["package_reference"],
                    r["app"],
                    r["carrier"],
                    r["tracking_number"],
                    ", ".join(f"{line['quantity']} x {line['line_id']}" for line in r["lines"]),
                    r["status"],
                    r["message"],
                ]
                for r in rs
            ],
        )

    emit(rows, as_json, human)


@shipments_group.command("push")
@click.argument("names", nargs=-1, metavar="[NAME]...", shell_complete=complete_app_names)
@json_option
@with_host
@stops_on_sigterm
def shipments_push(host: Host, names: tuple[str, ...], as_json: bool) -> None:
    """Send due shipments to the named apps' marketplaces (default: every authorized app)."""
    progress = StderrProgress(quiet=as_json)
    results = [shipments.push_shipments(host, a, progress=progress) for a in authorized_apps(host, names)]

    def human(rs: list[dict]) -> None:
        for r in rs:
            echo(shipments_summary(r))
            for message in r["messages"][:20]:
                echo(f"  {message}")

    emit(results if len(results) != 1 else results[0], as_json, lambda _: human(results))
