"""``linkolis demo``: the seller's whole story against a plugin's local stand-in for its marketplace.

The host walks the same code paths as the real commands (apps, sync); the plugin only provides the stand-in
through the ``demo_environment`` hook. Nothing leaves this machine.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
import webbrowser
from pathlib import Path

import click

from . import apps, orders, stock
from .apps import BANNER
from .errors import UserError
from .host import Host
from .progress import StderrProgress


def say(step: str) -> None:
    click.secho(f"\n== {step}", bold=True)


def run_demo(home: Path | None, interactive: bool) -> None:
    home = Path(home) if home else Path(tempfile.mkdtemp(prefix="linkolis-demo-"))
    host = Host(home)
    environment = host.registry.demo_environment(home)
    if environment is None:
        raise UserError("no enabled plugin offers a demo stand-in (see `linkolis plugins`)")
    host.env.update(environment.env)
    try:
        _story(host, environment, interactive)
    finally:
        environment.close()
        host.close()
    click.echo(f"\nThe demo's data directory is {home} (database: {home / 'linkolis.db'}).")
    script = Path(sys.executable).with_name("linkolis")
    command = str(script) if script.exists() else "linkolis"
    click.echo(f"Look around with: LINKOLIS_HOME={home} {command} orders list")
    click.echo("(the stand-in has stopped: commands that call the marketplace will not answer)")


def _story(host: Host, env, interactive: bool) -> None:  # noqa: ANN001
    kind = host.registry.kind(env.kind)
    click.echo(env.describe or f"A local stand-in for {kind.title} is running.")

    say("My applications → All applications")
    for entry in apps.catalog(host):
        click.echo(f"  {entry['title']}: {entry['description']}")

    settings = env.install
    say(f"Install {kind.title} as {settings.get('name')!r} ({', '.join(f'{k}={v}' for k, v in settings.items())})")
    row = apps.install(host, env.kind, settings)
    click.echo(f"  installed; status: {row.status_text}")

    say("Authorize on the marketplace: sign in, review the permissions, confirm")
    click.echo(
        "  (the development path: a loopback receiver on 127.0.0.1, which only a stand-in such as the "
        "simulator accepts; a real marketplace sends the seller back to `linkolis serve`'s callback — "
        "see docs/operations.md)"
    )

    def open_url(url: str) -> None:
        click.echo(f"  consent page: {url}")
        if interactive:
            click.echo("  opening your browser: confirm there")
            webbrowser.open(url)
        else:
            click.echo("  confirming for you (use --interactive to click Confirm yourself)")
            threading.Thread(target=env.browser, args=(url,), daemon=True).start()

    row = apps.authorize_in_browser(
        host,
        row,
        port=0,
        timeout=600 if interactive else 60,
        open_url=open_url,
        paste=lambda _: None,
        say=lambda m: click.echo(f"  {m}"),
    )
    if row is None:
        raise UserError("the demo's stand-in redirected outside the loopback receiver")
    click.echo(f"  authorized for account {row.account_id}")

    say("Verify")
    row, checks, ok = apps.verify(host, row)
    for check in checks:
        click.echo(f"  [{check.status:>7}] {check.name}" + (f": {check.detail}" if check.detail else ""))
    if not ok:
        raise UserError("the demo app did not verify; see the checks above")
    click.secho(f"  {BANNER}", fg="blue", bold=True)

    say("Import orders")
    summary = orders.import_orders(host, row, progress=StderrProgress())
    click.echo(f"  {summary['new']} new orders in {summary['batches']} page(s), {summary['seconds']} s")
    for order in orders.list_orders(host, row, limit=5):
        click.echo(
            f"  {order['marketplace_order_id']}  {order['status']:<10} {order['total'] or '-':>9} "
            f"{order['currency'] or ''}  {order['line_count']} line(s)"
        )

    if not env.stock and not env.bulk_stock:
        return
    if not host.app_info(row).settings.stock_sync:
        row, _ = apps.configure(host, row, {"stock_sync": True})
    say("Change stock levels and push them")
    for sku, qty in env.stock:
        stock.set_stock(host, sku, qty)
        click.echo(f"  stock set {sku} {qty}")
    _push_until_decided(host, row)
    if env.bulk_stock:
        say(f"Bulk load of {len(env.bulk_stock)} stock levels")
        csv_path = host.home / "demo-stock.csv"
        csv_path.write_text("sku,quantity\n" + "".join(f"{s},{q}\n" for s, q in env.bulk_stock), encoding="utf-8")
        click.echo(f"  stock load {csv_path}: {stock.load_stock(host, csv_path)} level(s) recorded")
        _push_until_decided(host, row)
    shown = [r for r in stock.list_stock(host, row) if r["outcome"] != "accepted"][:8]
    for r in shown:
        click.echo(f"  {r['sku']}: desired {r['desired']}, {r['outcome']} {r.get('message') or ''}")


def _push_until_decided(host: Host, app: apps.App, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    result = stock.push_stock(host, app)
    click.echo(
        f"  pushed {result['sent']}: {result['accepted']} accepted, {result['rejected']} rejected, "
        f"{result['pending']} pending, {result['skipped']} skipped"
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
