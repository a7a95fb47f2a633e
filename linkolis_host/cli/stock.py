"""`linkolis stock`: stock levels, pushing them to apps, reading them back, and SKU mappings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .. import apps, stock, stock_files, stock_reads
from ..host import Host
from ..progress import StderrProgress
from ..tables import column, print_table, value, when
from ..terminal import plural
from . import advice, base
from .base import (
    CONTEXT,
    STATUS_STYLES,
    LinkolisGroup,
    complete_app_names,
    echo,
    emit,
    json_option,
    stops_on_sigterm,
    with_host,
)


@click.group("stock", cls=LinkolisGroup, context_settings=CONTEXT)
def stock_group() -> None:
    """What you have, what open orders hold of it, and what each app is offered.

    On hand is what you counted (`stock set`, `stock load`, the web), less what shipped since. Reserved is what
    open orders of any app of your workspace still have to ship (orders fulfilled by the marketplace reserve
    nothing). Each app with stock sync on is offered what is available: on hand - reserved - the app's buffer, at
    most its cap (`apps configure NAME --stock-buffer N --stock-max N`), and every app hears of an order on another
    within seconds under `sync --watch`."""


@stock_group.command("set", context_settings={**CONTEXT, "ignore_unknown_options": True})  # so -5 is a quantity
@click.argument("sku")
@click.argument("quantity")
@json_option
@with_host
def stock_set(host: Host, sku: str, quantity: str, as_json: bool) -> None:
    """Record how many units of SKU you have on hand, counted now.

    Count what is on your shelf, units of open orders not yet shipped included: open orders are taken off for you
    (reserved), and each app is offered what is left. The next `stock push` or `sync` sends it."""
    result = stock.set_stock(host, sku, quantity)
    emit(result, as_json, lambda r: echo(f"{r['sku']}: {r['quantity']} on hand"))


@stock_group.command("load")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@json_option
@with_host
def stock_load(host: Host, file: Path, as_json: bool) -> None:
    """Record on hand from a CSV with the header `sku,quantity` (FILE '-': standard input), counted now.

    Comma- or semicolon-separated (as Excel saves it in many countries); a bad row applies nothing. Each quantity
    is what is on your shelf, as for `stock set`.
    """
    if str(file) == "-":
        if base.stdin_is_terminal():
            echo("Reading sku,quantity lines from standard input; end with Ctrl-D.", err=True)
        count = stock_files.load_stock(host, file, stdin=sys.stdin.buffer)
    else:
        count = stock_files.load_stock(host, file)
    emit({"loaded": count}, as_json, lambda r: echo(f"Recorded {plural(r['loaded'], 'stock level')}."))


def push_summary(r: dict[str, Any]) -> str:
    earlier = f"; {r['pending_earlier']} still pending from an earlier push" if r.get("pending_earlier") else ""
    return (
        f"{r['app']}: {plural(r['sent'], 'SKU')} sent: {r['accepted']} accepted, {r['rejected']} rejected, "
        f"{r['pending']} pending, {r['skipped']} skipped"
        + (f", {r['not_listed']} not listed here" if r.get("not_listed") else "")
        + earlier
    )


def _stock_apps(host: Host, names: tuple[str, ...]) -> list[apps.App]:
    if names:
        return [apps.get(host, n) for n in names]
    return [a for a in apps.list_apps(host) if a.authorized and host.app_info(a).settings.stock_sync]


@stock_group.command("push")
@click.argument("names", nargs=-1, metavar="[NAME]...", shell_complete=complete_app_names)
@click.option(
    "--dry-run", is_flag=True, help="Show the marketplace's quantity -> the one that would be sent; write nothing."
)
@json_option
@with_host
@stops_on_sigterm
def stock_push(host: Host, names: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Push changed stock levels to the named apps (default: every authorized app with stock sync on)."""
    targets = _stock_apps(host, names)
    if not targets:
        raise click.ClickException("no authorized app has stock sync on (`linkolis apps configure NAME --stock-sync`)")
    progress = StderrProgress(quiet=as_json)
    results = [stock.push_stock(host, a, dry_run=dry_run, progress=progress) for a in targets]

    def human(rs: list[dict]) -> None:
        for r in rs:
            if r.get("note"):
                echo(f"{r['app']}: {advice.noted(host, r['app'], r)}")
            elif dry_run:
                echo(f"{r['app']}: {plural(r['due'], 'SKU')} would be sent")
                for p in r["preview"]:
                    current = "?" if p["current"] is None else p["current"]
                    echo(f"  {p['sku']}: {current} -> {p['send']}" + (f" ({p['note']})" if p["note"] else ""))
            else:
                echo(push_summary(r))

    emit(results if len(results) != 1 else results[0], as_json, lambda _: human(results))
    rejected = sum(r.get("rejected") or 0 for r in results)
    if rejected and not dry_run:
        echo(f"{plural(rejected, 'SKU')} rejected: `linkolis stock list` shows why; fix and push again.", err=True)
        sys.exit(1)


@stock_group.command("list")
@click.option("--app", shell_complete=complete_app_names, help="Only this app.")
@click.option("--sku", "prefix", metavar="PREFIX", help="Only the SKUs that start with PREFIX.")
@click.option(
    "--state",
    type=click.Choice(stock_reads.STOCK_STATES),
    help="Only the SKUs an app does not list, refused, or does not show as offered yet (drift).",
)
@click.option("--limit", type=click.IntRange(1), help="At most this many SKUs (default: every one).")
@click.option("--after", metavar="SKU", help="Only the SKUs after SKU (the next page: the last SKU shown).")
@json_option
@with_host
def stock_list(
    host: Host,
    app: str | None,
    prefix: str | None,
    state: str | None,
    limit: int | None,
    after: str | None,
    as_json: bool,
) -> None:
    """On hand, reserved and available per SKU and app, with what was last pushed and its outcome.

    Available is what the app is offered: on hand - reserved - its buffer, at most its cap."""
    if prefix or state or limit or after:
        rows = _stock_pages(host, app, prefix, state, limit, after)
    else:
        rows = stock.list_stock(host, app)

    def human(rs: list[dict]) -> None:
        if not rs:
            echo("No stock levels recorded. Use `linkolis stock set SKU QTY` or `linkolis stock load FILE`.")
            return

        def note(r: dict) -> str:
            mapped = f"sent as {r['marketplace_reference']}" if r.get("marketplace_reference") else ""
            warning = f"warning: {r['warning']}" if r.get("warning") else ""
            return "; ".join(x for x in (mapped, r.get("message") or "", warning) if x)

        print_table(
            [
                column("app"),
                column("sku"),
                column("on hand", right=True),
                column("reserved", right=True),
                column("available", right=True),
                column("pushed", right=True),
                column("outcome", styles=STATUS_STYLES),
                column("message", wrap=True),
            ],
            [
                [
                    r["app"],
                    r["sku"],
                    r["on_hand"],
                    r["reserved"],
                    r["available"],
                    r.get("pushed_quantity"),
                    r["outcome"],
                    note(r),
                ]  # fmt: skip
                for r in rs
            ],
        )

    emit(rows, as_json, human)


def _stock_pages(
    host: Host, app: str | None, prefix: str | None, state: str | None, limit: int | None, after: str | None
) -> list[dict[str, Any]]:
    """``stock list``'s rows for ``limit`` SKUs (every one: None) after ``after``, read a page at a time."""
    only = apps.get(host, app).name if app else None
    rows: list[dict[str, Any]] = []
    skus, key = 0, stock_reads.sku_key(after) if after else None
    while limit is None or skus < limit:
        page = stock_reads.stock_page(host, prefix, state, after=key, limit=min(500, limit - skus if limit else 500))
        for entry in page.rows:
            rows.extend(r for r in entry["listed"] if only is None or r["app"] == only)
        skus += len(page.rows)
        if page.next is None:
            break
        key = page.next
    return rows


CAUSE_WORDS = {
    "counted": "counted",
    "loaded": "loaded from a file",
    "reserved": "reserved by an order",
    "released": "released",
    "shipped": "shipped",
    "shipped_uncounted": "shipped before the last count",
    "migrated": "open orders when reservations began",
}


@stock_group.command("show")
@click.argument("sku")
@click.option("--read/--no-read", default=True, help="Ask each app's marketplace what it shows now [on].")
@json_option
@with_host
def stock_show(host: Host, sku: str, read: bool, as_json: bool) -> None:
    """Why SKU is what it is: on hand, reserved and by which open orders, per app what it is offered, was last sent
    and shows, and the history of every change with its cause."""
    shown = stock_reads.show_stock(host, sku, read=read)

    def human(r: dict) -> None:
        counted = f" (counted {when(r['counted_at'])})" if r["counted_at"] else " (never counted)"
        echo(f"{r['sku']}: {value(r['on_hand'])} on hand{counted}, {r['reserved']} reserved, "
             f"{value(r['available'])} available")  # fmt: skip
        if r["reserved_by"]:
            echo("Reserved by open orders:")
            print_table(
                [column("app"), column("order"), column("status"), column("units", right=True)],
                [[o["app"], o["marketplace_order_id"], o["status"], o["reserved"]] for o in r["reserved_by"]],
            )
        if r["apps"]:
            echo("Per app:")
            print_table(
                [
                    column("app"),
                    column("buffer", right=True),
                    column("max", right=True),
                    column("offered", right=True),
                    column("pushed", right=True),
                    column("shows", right=True),
                    column("outcome", styles=STATUS_STYLES),
                ],
                [
                    [
                        a["app"],
                        a["buffer"],
                        a["max"],
                        a["available"],
                        a["pushed"],
                        a["shown"],
                        "; ".join(x for x in (a["outcome"], a["message"], a["shown_detail"]) if x),
                    ]  # fmt: skip
                    for a in r["apps"]
                ],
            )
        if r["history"]:
            echo("History (newest first):")
            print_table(
                [
                    column("when"),
                    column("what"),
                    column("on hand", right=True),
                    column("reserved", right=True),
                    column("by"),
                    column("detail", wrap=True),
                ],
                [
                    [
                        when(h["at"]),
                        CAUSE_WORDS.get(h["cause"], h["cause"]),
                        _change(h["on_hand_change"], h["on_hand"]),
                        _change(h["reserved_change"], h["reserved"]),
                        h["app"] or h["actor"],
                        h["detail"],
                    ]  # fmt: skip
                    for h in r["history"]
                ],
            )

    emit(shown, as_json, human)


def _change(delta: int, after: int | None) -> str:
    """``-2 → 3``: a change and what it left; only what it left when nothing changed."""
    left = "-" if after is None else str(after)
    return f"{delta:+d} → {left}" if delta else left


VERIFY_STYLES = {
    "drift": "red",
    "not listed": "yellow",
    "accepted, not yet visible": "yellow",
    "lowered by the marketplace": "yellow",
    "in sync": "green",
}


@stock_group.command("verify")
@click.argument("name", required=False, shell_complete=complete_app_names)
@json_option
@with_host
def stock_verify(host: Host, name: str | None, as_json: bool) -> None:
    """Read back the quantities the marketplace shows; report drift from what the app is offered and was pushed.

    A quantity accepted within the marketplace's publication delay is "accepted, not yet visible"; one lower than
    what was pushed is "lowered by the marketplace" (it lowers its own quantity when an order is placed, before it
    is imported here); a SKU whose last push was refused is "rejected: <why>". Exits 1 on drift or a rejection.
    """
    targets = [apps.get(host, name)] if name else _stock_apps(host, ())
    report = {a.name: stock_reads.verify_stock(host, a) for a in targets}

    def wrong(e: dict) -> bool:
        return e["state"] == "drift" or e["state"].startswith("rejected")

    def human(r: dict) -> None:
        for app_name, entries in r.items():
            attention = [e for e in entries if wrong(e) or e["state"] == "not listed" or e.get("warning")]
            need = "needs" if len(attention) == 1 else "need"
            echo(f"{app_name}: {plural(len(entries), 'SKU')} read, {len(attention)} {need} attention")
            shown = [e for e in entries if e["state"] != "in sync" or e.get("warning")]
            if shown:
                print_table(
                    [
                        column("sku"),
                        column("offered", right=True),
                        column("pushed", right=True),
                        column("shown", right=True),
                        column("state", styles=VERIFY_STYLES),
                        column("warning", wrap=True),
                    ],
                    [[e["sku"], e["available"], e["pushed"], e["shown"], e["state"], e.get("warning")] for e in shown],
                )

    emit(report, as_json, human)
    if any(wrong(e) for entries in report.values() for e in entries):
        sys.exit(1)


@stock_group.command("map")
@click.argument("sku")
@click.option(
    "--app",
    "app_name",
    shell_complete=complete_app_names,
    required=True,
    help="The app whose marketplace knows the SKU by another name.",
)
@click.option("--reference", required=True, help="The marketplace's reference for it (an EAN, the SKU listed there).")
@json_option
@with_host
def stock_map(host: Host, sku: str, app_name: str, reference: str, as_json: bool) -> None:
    """Send SKU to one app under the marketplace's own reference (sent again on the next push)."""
    result = stock.map_sku(host, sku, app_name, reference)
    emit(result, as_json, lambda r: echo(f"{r['app']}: {r['sku']} goes out as {r['reference']}"))


@stock_group.command("unmap")
@click.argument("sku")
@click.option(
    "--app",
    "app_name",
    shell_complete=complete_app_names,
    required=True,
    help="The app to send the SKU to under its own name again.",
)
@json_option
@with_host
def stock_unmap(host: Host, sku: str, app_name: str, as_json: bool) -> None:
    """Send SKU to one app under its own name again (no longer as its mapped reference)."""
    result = stock.unmap_sku(host, sku, app_name)
    emit(result, as_json, lambda r: echo(f"{r['app']}: {r['sku']} goes out under its own name (was {r['was']})"))
