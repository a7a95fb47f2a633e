"""``linkolis demo``: the seller's whole story against every plugin's local stand-in for its marketplace.

The host walks the same code paths as the real commands (apps, orders, stock, shipments); each plugin only provides
its stand-in through the ``demo_environment`` hook, and the demo installs one app per stand-in. Nothing leaves this
machine: the data directory's linkolis.toml points at the stand-ins, so a later command there reaches them while a
demo runs, or says that they have stopped.

When a plugin reads order notifications and moto's server is installed (the ``test`` extra, which ``dev.py demo``
installs), the demo runs a local SQS on 127.0.0.1 (``local_sqs``), a queue per such plugin named as its
``notifications_queue_url``, and boto3 pointed at it the standard AWS way with fake credentials; the stand-ins
deliver their notifications there (``AWS_ENDPOINT_URL_SQS`` while ``demo_environment`` runs). Without moto the
orders come by polling.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
import webbrowser
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from . import apps, order_notifications, orders, shipments, stock, stock_files
from .apps import BANNER
from .config import write_demo_config
from .errors import Action, LinkolisError, UserError
from .host import Host
from .models import DemoEnvironment
from .progress import StderrProgress
from .terminal import plural


def say(step: str) -> None:
    click.secho(f"\n== {step}", bold=True)


@dataclass
class StandIns:
    """The demo's running stand-ins, and its local SQS (``sqs_endpoint``, None without one); ``close()`` stops
    them all and gives the environment back."""

    environments: list[DemoEnvironment]
    sqs_endpoint: str | None = None
    queues: dict[str, str] = field(default_factory=dict)  # kind -> its notifications_queue_url
    stack: ExitStack = field(default_factory=ExitStack)

    @property
    def env(self) -> dict[str, str]:
        """The settings that point the host at the stand-ins for the demo's run."""
        merged: dict[str, str] = {}
        for environment in self.environments:
            merged.update(environment.env)
        return merged

    def close(self) -> None:
        self.stack.close()


def start_stand_ins(home: Path) -> StandIns:
    """Start every enabled plugin's stand-in (and a local SQS when a plugin reads notifications and moto is
    installed) and point the data directory ``home`` at them (linkolis.toml)."""
    stand_ins = StandIns([])
    try:
        with Host(home) as probe:
            notifying = [k for k in probe.registry.kinds if probe.registry.implements(k, "read_notification")]
            stand_ins.sqs_endpoint = _start_local_sqs(stand_ins.stack, home) if notifying else None
            environments = probe.registry.demo_environments(home)
            for environment in environments:
                stand_ins.stack.callback(environment.close)
            stand_ins.environments = environments
            if not environments:
                raise UserError(
                    "no enabled plugin offers a demo stand-in", code="no_demo_plugin", action=Action.LIST_PLUGINS
                )
            if stand_ins.sqs_endpoint:
                for environment in environments:
                    if environment.kind in notifying:
                        _add_queue(stand_ins, environment)
            sections = {probe.registry.plugin_name(e.kind): e.config for e in environments if e.config}
        write_demo_config(home, sections, [e.endpoint for e in environments if e.endpoint])
    except BaseException:
        stand_ins.close()
        raise
    return stand_ins


def _start_local_sqs(stack: ExitStack, home: Path) -> str | None:
    """moto's server on 127.0.0.1 with boto3 pointed at it for the demo's run; None (and the environment without
    ``AWS_ENDPOINT_URL_SQS``, so that no stand-in notifies elsewhere) when moto is not installed."""
    from . import local_sqs

    if not local_sqs.available():
        stack.enter_context(local_sqs.environ({"AWS_ENDPOINT_URL_SQS": None}))
        return None
    try:
        endpoint = stack.enter_context(local_sqs.local_sqs(home / "moto_server.log"))
    except local_sqs.LocalSqsError:
        click.echo(f"moto's server did not start (see {home / 'moto_server.log'}): orders come by polling.", err=True)
        stack.enter_context(local_sqs.environ({"AWS_ENDPOINT_URL_SQS": None}))
        return None
    stack.enter_context(local_sqs.environ(local_sqs.aws_environment(endpoint, home)))
    return endpoint


def _add_queue(stand_ins: StandIns, environment: DemoEnvironment) -> None:
    """A queue at the local SQS for ``environment``'s plugin, named in its operator settings."""
    from .notifications import sqs_client

    url = sqs_client().create_queue(
        QueueName=f"linkolis-demo-{environment.kind}", Attributes={"VisibilityTimeout": "5"}
    )["QueueUrl"]
    stand_ins.queues[environment.kind] = url
    environment.config["notifications_queue_url"] = url
    prefix = environment.kind.upper().replace("-", "_")  # as the operator settings read it
    environment.env[f"LINKOLIS_{prefix}_NOTIFICATIONS_QUEUE_URL"] = url


def stop_stand_ins(stand_ins: StandIns) -> None:
    stand_ins.close()


def run_demo(home: Path | None, interactive: bool) -> None:
    home = Path(home) if home else Path(tempfile.mkdtemp(prefix="linkolis-demo-"))
    stand_ins = start_stand_ins(home)
    environments = stand_ins.environments
    try:
        host = Host(home)
        host.env.update(stand_ins.env)
        # Never the URL itself: it may carry the database's password.
        where = home / "linkolis.db" if isinstance(host.database, Path) else "the PostgreSQL of LINKOLIS_DATABASE_URL"
        try:
            for environment in environments:
                click.echo(environment.describe or f"A local stand-in for {environment.kind} is running.")
            _say_how_orders_come(stand_ins)
            say("My applications → All applications")
            for entry in apps.catalog(host):
                click.echo(f"  {entry['title']}: {entry['description']}")
            figures = [_story(host, environment, interactive) for environment in environments]
            for environment in environments:
                if environment.kind in stand_ins.queues and environment.place_order is not None:
                    _order_by_notification(host, environment)
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
        stop_stand_ins(stand_ins)
    click.echo(f"\nThe demo's data directory is {home} (database: {where}).")
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


def _say_how_orders_come(stand_ins: StandIns) -> None:
    notifying = [e.kind for e in stand_ins.environments if e.kind in stand_ins.queues and e.place_order]
    if notifying:
        click.echo(
            f"A local SQS (moto) is running at {stand_ins.sqs_endpoint}: orders of "
            f"{', '.join(notifying)} also come by notification, in seconds."
        )
    elif stand_ins.sqs_endpoint is None and any(e.place_order for e in stand_ins.environments):
        click.echo("moto is not installed (the test extra): orders come by polling, not by notification.")


def _order_by_notification(host: Host, env: DemoEnvironment, limit: float = 60.0) -> None:
    """A buyer orders one unit of a SKU another app offers too, at ``env``'s stand-in; the demo reads the queue
    until the order is stored, then pushes the other apps' stock: what each is offered, before → after."""
    kind = host.registry.kind(env.kind)
    say(f"An order on {kind.title} reaches linkolis through a notification")
    here = [a for a in apps.installed.list_apps(host) if a.kind == env.kind]
    others = [a for a in apps.installed.list_apps(host) if a.kind != env.kind and host.app_info(a).settings.stock_sync]
    accepted_here = {r["sku"] for a in here for r in stock.list_stock(host, a) if r["outcome"] == "accepted"}
    for other in others:  # what each is offered now, after the other apps' orders imported since its last push
        stock.push_stock(host, other)
    before = {
        (a.name, r["sku"]): r["pushed_quantity"]
        for a in others
        for r in stock.list_stock(host, a)
        if r["outcome"] == "accepted" and r["sku"] in accepted_here and r["pushed_quantity"]
    }
    if not before:
        click.echo(f"  no SKU is offered both on {kind.title} and on another app: nothing to show")
        return
    (other_name, sku), _ = max(before.items(), key=lambda item: (item[1], item[0]))  # the most offered
    place_order = env.place_order
    if place_order is None:
        return
    order_id = place_order(sku, 1)
    started = time.monotonic()
    click.echo(f"  a buyer ordered 1 × {sku} on {kind.title}: order {order_id}")
    stored = False
    while not stored and time.monotonic() - started < limit:
        order_notifications.import_notified(host, env.kind, wait_seconds=1)
        stored = _stored(host, order_id)
    if not stored:
        click.echo(f"  not notified within {limit:g} s: the next poll of its orders finds it")
        return
    click.echo(f"  stored by notification {time.monotonic() - started:.1f} s after it was placed")
    for other in [a for a in others if a.name == other_name]:
        _push_until_decided(host, other)
        [after] = [r for r in stock.list_stock(host, other) if r["sku"] == sku]
        click.echo(f"  {other.name} offered {before[(other.name, sku)]} → {after['pushed_quantity']} of {sku}")


def _stored(host: Host, order_id: str) -> bool:
    try:
        orders.get_order(host, order_id)
    except LinkolisError:
        return False
    return True
