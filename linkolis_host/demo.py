"""``linkolis demo``: the seller's whole story against every plugin's local stand-in for its marketplace.

The host walks the same code paths as the real commands (apps, orders, stock, shipments); each plugin only provides
its stand-in through the ``demo_environment`` hook, and the demo installs one app per stand-in. Nothing leaves this
machine: the data directory's linkolis.toml points at the stand-ins, so a later command there reaches them while a
demo runs, or says that they have stopped.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
import webbrowser
from pathlib import Path
from typing import Any

import click

from . import apps, orders, shipments, stock, stock_files
from .apps import BANNER
from .config import write_demo_config
from .errors import Action, UserError
from .host import Host
from .models import DemoEnvironment
from .progress import StderrProgress
from .terminal import plural


def say(step: str) -> None:
    click.secho(f"\n== {step}", bold=True)


def start_stand_ins(home: Path) -> list[DemoEnvironment]:
    """Start every enabled plugin's stand-in and point the data directory ``home`` at them (linkolis.toml)."""
    with Host(home) as probe:
        environments = probe.registry.demo_environments(home)
        if not environments:
            raise UserError(
                "no enabled plugin offers a demo stand-in", code="no_demo_plugin", action=Action.LIST_PLUGINS
            )
        sections = {probe.registry.plugin_name(e.kind): e.config for e in environments if e.config}
    try:
        write_demo_config(home, sections, [e.endpoint for e in environments if e.endpoint])
    except BaseException:
        stop_stand_ins(environments)
        raise
    return environments


def stop_stand_ins(environments: list[DemoEnvironment]) -> None:
    for environment in environments:
        environment.close()


def demo_env(environments: list[DemoEnvironment]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for environment in environments:
        merged.update(environment.env)
    return merged


def run_demo(home: Path | None, interactive: bool) -> None:
    home = Path(home) if home else Path(tempfile.mkdtemp(prefix="linkolis-demo-"))
    environments = start_stand_ins(home)
    try:
        host = Host(home)
        host.env.update(demo_env(environments))
        try:
            for environment in environments:
                click.echo(environment.describe or f"A local stand-in for {environment.kind} is running.")
            say("My applications → All applications")
            for entry in apps.catalog(host):
                click.echo(f"  {entry['title']}: {entry['description']}")
            figures = [_story(host, environment, interactive) for environment in environments]
            say("What the demo did")
            for figure in figures:
                click.echo(
                    f"  {figure['app']}: {plural(figure['orders'], 'order')} imported, "
                    f"{plural(figure['stock'], 'stock level')} accepted, "
                    f"{plural(figure['shipped'], 'shipment')} confirmed"
                )
        finally:
            host.close()
    finally:
        stop_stand_ins(environments)
    click.echo(f"\nThe demo's data directory is {home} (database: {home / 'linkolis.db'}).")
    script = Path(sys.executable).with_name("linkolis")
    command = str(script) if script.exists() else "linkolis"
    click.echo(f"Look around with: LINKOLIS_HOME={home} {command} orders list")
    click.echo(
        "(the stand-ins have stopped: a command there that calls a marketplace says so, and never reaches a "
        "real one; run `linkolis demo` again to start them)"
    )


def _story(host: Host, env: DemoEnvironment, interactive: bool) -> dict[str, Any]:
    """Install → authorize → verify → import → stock push → ship, for one stand-in; what it did, in figures."""
    kind = host.registry.kind(env.kind)
    settings = env.install
    say(f"Install {kind.title} as {settings.get('name')!r} ({', '.join(f'{k}={v}' for k, v in settings.items())})")
    row = apps.install(host, env.kind, settings)
    click.echo(f"  installed; status: {row.status_text}")
    row = _authorize(host, row, env, kind.oauth, interactive)
    click.echo(f"  authorized for account {row.account_id}")

    say(f"Verify {row.name}")
    row, checks, ok = apps.verify(host, row)
    for check in checks:
        click.echo(f"  [{check.status:>7}] {check.name}" + (f": {check.detail}" if check.detail else ""))
    if not ok:
        raise UserError(f"the demo app {row.name} did not verify; see the checks above")
    click.secho(f"  {BANNER}", fg="blue", bold=True)

    say(f"Import orders from {row.name}")
    summary = orders.import_orders(host, row, progress=StderrProgress())
    click.echo(
        f"  {plural(summary['new'], 'new order')} in {plural(summary['batches'], 'page')}, {summary['seconds']} s"
    )
    for order in orders.list_orders(host, row, limit=5):
        click.echo(
            f"  {order['marketplace_order_id']}  {order['status']:<10} {order['total'] or '-':>9} "
            f"{order['currency'] or ''}  {plural(order['line_count'], 'line')}"
        )
    figures = {"app": row.name, "orders": summary["new"], "stock": 0, "shipped": 0}

    if env.stock or env.bulk_stock:
        if not host.app_info(row).settings.stock_sync:
            row, _ = apps.configure(host, row, {"stock_sync": True})
        say(f"Change stock levels and push them to {row.name}")
        for sku, qty in env.stock:
            stock.set_stock(host, sku, qty)
            click.echo(f"  stock set {sku} {qty}")
        _push_until_decided(host, row)
        if env.bulk_stock:
            say(f"Bulk load of {len(env.bulk_stock)} stock levels")
            csv_path = host.home / f"demo-stock-{env.kind}.csv"
            csv_path.write_text("sku,quantity\n" + "".join(f"{s},{q}\n" for s, q in env.bulk_stock), encoding="utf-8")
            click.echo(f"  stock load {csv_path}: {plural(stock_files.load_stock(host, csv_path), 'level')} recorded")
            _push_until_decided(host, row)
        levels = stock.list_stock(host, row)
        figures["stock"] = sum(1 for r in levels if r["outcome"] == "accepted")
        elsewhere = [r for r in levels if r["outcome"] == "not listed here"]
        uncounted = [r for r in levels if r["outcome"] == "not counted"]
        held = [r for r in levels if r["reserved"] and r["on_hand"] is not None]
        for r in held[:3]:
            click.echo(
                f"  {r['sku']}: {r['on_hand']} on hand, {r['reserved']} reserved by open orders, "
                f"{r['available']} offered to {row.name}"
            )
        quiet = ("accepted", "not listed here", "not counted")
        for r in [r for r in levels if r["outcome"] not in quiet][:8]:
            click.echo(f"  {r['sku']}: {r['outcome']} {r.get('message') or ''}".rstrip())
        if elsewhere:
            click.echo(f"  {plural(len(elsewhere), 'SKU')} not listed on {kind.title} (another app's): not pushed here")
        if uncounted:
            click.echo(f"  {plural(len(uncounted), 'SKU')} reserved by open orders but never counted: offered nowhere")

    figures["shipped"] = _ship_one(host, row, kind)
    return figures


def _authorize(host: Host, row: apps.App, env: DemoEnvironment, oauth: bool, interactive: bool) -> apps.App:
    if not oauth:
        kind = host.registry.kind(row.kind)
        labels = [f.label for f in kind.direct_credentials if f.name in env.credentials]
        say(f"Paste the {' and '.join(labels)} from {kind.title} into the panel")
        click.echo("  (the demo pastes the stand-in's; they are checked at once and stored encrypted)")
        return apps.authorize_direct(host, row, env.credentials)
    say("Authorize on the marketplace: sign in, review the permissions, confirm")
    click.echo(
        "  (the development path: a loopback receiver on 127.0.0.1, which only a stand-in such as the "
        "simulator accepts; a real marketplace sends the seller back to `linkolis serve`'s callback — "
        "see docs/operations.md)"
    )

    def open_url(url: str) -> None:
        click.echo(f"  consent page: {url}")
        if interactive or env.browser is None:
            click.echo("  opening your browser: confirm there")
            webbrowser.open(url)
        else:
            click.echo("  confirming for you (use --interactive to click Confirm yourself)")
            threading.Thread(target=env.browser, args=(url,), daemon=True).start()

    authorized = apps.authorize_in_browser(
        host,
        row,
        port=0,
        timeout=600 if interactive or env.browser is None else 60,
        open_url=open_url,
        paste=lambda _: None,
        say=lambda m: click.echo(f"  {m}"),
    )
    if authorized is None:
        raise UserError("the demo's stand-in redirected outside the loopback receiver")
    return authorized


def _ship_one(host: Host, row: apps.App, kind: Any, limit: float = 120.0) -> int:
    """Mark the newest open order the seller ships shipped (one whose buyer did not ask to cancel it), and push it
    until the marketplace has decided."""
    if not kind.carriers or not host.registry.implements(row.kind, "push_shipments"):
        return 0
    open_orders = [
        o
        for o in orders.list_orders(host, row, status="unshipped", limit=50)
        if o["fulfilled_by"] != "marketplace" and not o["cancellation_requested"]
    ]
    if not open_orders:
        return 0
    order, carrier = open_orders[0], kind.carriers[0]
    say(f"Ship order {order['marketplace_order_id']} of {row.name} with {carrier.name}")
    tracking = f"DEMO{order['id']:06d}"
    shipments.ship_order(host, order["marketplace_order_id"], carrier=carrier.code, tracking=tracking, app=row)
    click.echo(f"  recorded: {carrier.name}, tracking {tracking}")
    deadline = time.monotonic() + limit
    while True:
        result = shipments.push_shipments(host, row)
        if result["accepted"] or result["rejected"] or time.monotonic() > deadline:
            break
        time.sleep(1)
    for message in result["messages"]:
        click.echo(f"  {message}")
    if result["accepted"]:
        shown = orders.get_order(host, order["marketplace_order_id"])
        click.echo(f"  confirmed by the marketplace; the order is now {shown['status']}")
    elif not result["rejected"]:
        click.echo("  still pending; a later `linkolis shipments push` collects it")
    return int(result["accepted"])


def _push_until_decided(host: Host, app: apps.App, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    result = stock.push_stock(host, app)
    click.echo(
        f"  pushed {result['sent']}: {result['accepted']} accepted, {result['rejected']} rejected, "
        f"{result['pending']} pending, {result['skipped']} skipped"
        + (f", {result['not_listed']} not listed here" if result.get("not_listed") else "")
    )
    while result["pending"] or stock.has_pending(host, app.id):
        if time.monotonic() > deadline:
            click.echo("  some pushes are still pending; a later `linkolis stock push` collects them")
            return
        time.sleep(1)
        result = stock.push_stock(host, app)
        if result["accepted"] or result["rejected"]:
            click.echo(
                f"  decided: {result['accepted']} accepted, {result['rejected']} rejected, "
                f"{result['pending']} still pending"
            )
