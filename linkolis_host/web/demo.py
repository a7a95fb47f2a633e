"""``linkolis demo --web``: the web app on a plugin's local stand-in for its marketplace, until Ctrl-C.

A demo workspace and user are created in a fresh data directory and the sign-in is printed. The stand-in
(the Amazon simulator) sends the browser back to the loopback address this serves on.
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

import click

from .. import workspaces
from ..errors import UserError
from ..host import Host
from .app import WebSettings, create_app

DEMO_EMAIL = "demo@linkolis.example"


def run_web_demo(home: Path | None, port: int) -> None:
    import uvicorn

    home = Path(home) if home else Path(tempfile.mkdtemp(prefix="linkolis-web-demo-"))
    host = Host(home)
    environment = host.registry.demo_environment(home)
    if environment is None:
        host.close()
        raise UserError("no enabled plugin offers a demo stand-in (see `linkolis plugins`)")
    password = secrets.token_urlsafe(12)
    try:
        if not workspaces.list_workspaces(host):
            workspaces.add_workspace(host, "Demo shop")
        for user in workspaces.list_users(host):
            if user.email == DEMO_EMAIL:
                workspaces.remove_user(host, DEMO_EMAIL)
        workspaces.add_user(host, DEMO_EMAIL, password)
        base_url = f"http://127.0.0.1:{port}"
        app = create_app(lambda: Host(home, env=environment.env), WebSettings(base_url=base_url))
        click.echo(environment.describe or "A local stand-in for the marketplace is running.")
        click.secho(f"\nOpen {base_url} and sign in:", bold=True)
        click.echo(f"  Email:    {DEMO_EMAIL}\n  Password: {password}")
        click.echo("Then: Apps → + → Install → fill the panel → Confirm → Confirm on the consent page. Ctrl-C stops.")
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    finally:
        environment.close()
        host.close()
    click.echo(f"\nThe demo's data directory is {home}.")
