"""``linkolis demo --web``: the web app on every plugin's local stand-in for its marketplace, until Ctrl-C.

A demo workspace and user are created in a fresh data directory and the sign-in is printed; All applications
offers an app for each stand-in. A stand-in with a consent page (the Amazon simulator) sends the browser back to
the loopback address this serves on; one that takes pasted credentials (the bol simulator) has them printed.
The background sync runs as under `linkolis serve`: an app's orders come in, and its stock goes out, by themselves.
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

import click

from .. import scheduler, workspaces
from ..demo import start_stand_ins, stop_stand_ins
from ..host import Host
from .app import WebSettings, create_app

DEMO_EMAIL = "demo@linkolis.example"
DEMO_WORKERS = 2


def run_web_demo(home: Path | None, port: int) -> None:
    import uvicorn

    home = Path(home) if home else Path(tempfile.mkdtemp(prefix="linkolis-web-demo-"))
    stand_ins = start_stand_ins(home)
    environments, env = stand_ins.environments, stand_ins.env
    host = Host(home, env=env)
    password = secrets.token_urlsafe(12)
    try:
        if not workspaces.list_workspaces(host):
            workspaces.add_workspace(host, "Demo shop")
        for user in workspaces.list_users(host):
            if user.email == DEMO_EMAIL:
                workspaces.remove_user(host, DEMO_EMAIL)
        workspaces.add_user(host, DEMO_EMAIL, password)
        base_url = f"http://127.0.0.1:{port}"
        app = create_app(lambda: Host(home, env=env), WebSettings(base_url=base_url))
        for environment in environments:
            click.echo(environment.describe or f"A local stand-in for {environment.kind} is running.")
            if environment.credentials:
                title = host.registry.kind(environment.kind).title
                pasted = ", ".join(f"{name} {value}" for name, value in environment.credentials.items())
                click.echo(f"  {title}'s panel takes the stand-in's credentials: {pasted}")
            if environment.shop_url:
                title = host.registry.kind(environment.kind).title
                click.echo(f"Place an order on the local {title}: {environment.shop_url}")
        click.secho(f"\nOpen {base_url} and sign in:", bold=True)
        click.echo(f"  Email:    {DEMO_EMAIL}\n  Password: {password}")
        click.echo(
            "Then: Apps → + → Install → fill the panel → Confirm → Confirm on the consent page (or paste the "
            "credentials above). Ctrl-C stops."
        )
        click.echo(f"Syncing every authorized app in the background, orders every {host.config.sync.interval:g} s.")
        # As `linkolis serve` does; a new app is picked up within a second rather than serve's ten, so that the
        # demo's first import follows the panel's Confirm at once.
        with scheduler.background(
            host,
            workers=DEMO_WORKERS,
            interval=host.config.sync.interval,
            poll=host.config.sync.push_interval,
            refresh=1.0,
            report=lambda message: click.echo(message, err=True),
        ):
            uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    finally:
        host.close()
        stop_stand_ins(stand_ins)
    click.echo(f"\nThe demo's data directory is {home}.")
