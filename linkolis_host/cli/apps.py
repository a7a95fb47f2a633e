"""`linkolis apps`: My applications, from install to remove."""

from __future__ import annotations

import sys
from typing import Any

import click

from .. import apps, config, oauth
from ..apps import BANNER
from ..host import Host
from ..tables import colour_on, column, print_table, value, when
from ..terminal import safe
from . import advice, base
from .app_settings import InstallGroup, apps_configure
from .base import CONTEXT, STATUS_STYLES, LinkolisGroup, complete_app_names, echo, emit, json_option, secho, with_host


@click.group("apps", cls=LinkolisGroup, context_settings=CONTEXT)
def apps_group() -> None:
    """My applications: install, configure, authorize, verify and remove apps."""


# The host's offer settings, left out of a list while they are at their defaults (nothing kept back, no cap).
UNSET = {"stock_buffer": 0, "stock_max": None, "order_poll_minutes": None}


def _app_row(view: dict[str, Any]) -> list[Any]:
    settings = {k: v for k, v in view["settings"].items() if k != "name" and (k not in UNSET or v != UNSET[k])}
    return [
        view["name"],
        view["kind"],
        view["status"],
        settings,
        when(view["last_import_at"]),
        when(view["last_push_at"]),
    ]


@apps_group.command("list")
@json_option
@with_host
def apps_list(host: Host, as_json: bool) -> None:
    """My applications: name, kind, settings, status, last import and last push."""
    rows = apps.list_apps(host)

    def human(_: Any) -> None:
        if not rows:
            echo("No apps installed. See `linkolis catalog`, then `linkolis apps install KIND`.")
            return
        print_table(
            [
                column("name"),
                column("kind"),
                column("status", styles=STATUS_STYLES),
                column("settings", wrap=True),
                column("last import"),
                column("last push"),
            ],
            [_app_row(apps.public_view(host, r)) for r in rows],
        )

    emit([apps.public_view(host, r) for r in rows], as_json, human)


@apps_group.command("show")
@click.argument("name", shell_complete=complete_app_names)
@json_option
@with_host
def apps_show(host: Host, name: str, as_json: bool) -> None:
    """One app in full (credentials are never shown, only whether they are stored)."""
    view = apps.public_view(host, apps.get(host, name))

    def human(v: dict) -> None:
        for key, item in v.items():
            if key == "notices":
                continue
            if key == "credentials" and isinstance(item, dict):
                item = f"stored ({', '.join(item.get('fields') or [])})" if item.get("stored") else "none"
            elif key.endswith("_at"):
                item = when(item)
            echo(f"{key.replace('_', ' '):<26} {value(item)}")
        for notice in v["notices"]:
            echo(f"{'notice':<26} {notice}")

    emit(view, as_json, human)


apps_group.add_command(
    InstallGroup(
        "install",
        context_settings=CONTEXT,
        help="Install an app from the catalog: `linkolis apps install KIND --help`.",
    )
)
apps_group.add_command(apps_configure)


@apps_group.command("remove")
@click.argument("name", shell_complete=complete_app_names)
@click.option("--purge", is_flag=True, help="Also delete the app's imported orders and stock push results.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@with_host
def apps_remove(host: Host, name: str, purge: bool, yes: bool) -> None:
    """Remove an app (the bin). Its credentials are deleted at once; its orders are kept unless --purge."""
    row = apps.get(host, name)
    if not yes:
        if not base.stdin_is_terminal():
            raise click.UsageError("removing an app needs --yes when not run from a terminal")
        what = " and all its imported orders" if purge else ""
        click.confirm(f"Remove {row.name!r}{what}?", abort=True, err=True)
    apps.remove(host, row, purge=purge)
    echo(
        f"Removed {row.name!r}; its credentials are deleted"
        + (" and its orders purged." if purge else ", its orders kept.")
    )


def _parse_credentials(pairs: tuple[str, ...], secret_names: set[str]) -> dict[str, str]:
    """``NAME=VALUE`` pairs; ``NAME=-`` is asked for (hidden) on a terminal, or read as one line of piped stdin.

    A secret given on the command line is in the shell's history and the process list: it is taken, with a
    warning that points to the safe form.
    """
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise click.BadParameter(f"expected NAME=VALUE, got {pair.split('=')[0]!r}…", param_hint="--credential")
        if value == "-":
            if base.stdin_is_terminal():
                value = click.prompt(key, hide_input=True, err=True)
            else:
                value = sys.stdin.readline().rstrip("\r\n")
                if not value:
                    raise click.BadParameter(
                        f"{key}=- reads the value from stdin, but stdin had none", param_hint="--credential"
                    )
        elif key in secret_names:
            echo(
                f"warning: --credential {key}=VALUE puts a secret on the command line (shell history, the "
                f"process list); use --credential {key}=- to be asked for it, or pipe it on stdin",
                err=True,
            )
        result[key] = value
    return result


@apps_group.command("authorize")
@click.argument("name", shell_complete=complete_app_names)
@click.option("--no-browser", is_flag=True, help="Do not open a browser; only print the URL to open.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port of the loopback receiver on 127.0.0.1 (0: any free port; unused with a base URL).",
)
@click.option(
    "--redirect-url",
    metavar="URL",
    help="Finish with the address your browser landed on (for a registered HTTPS redirect page).",
)
@click.option(
    "--credential",
    "credentials",
    multiple=True,
    metavar="NAME=VALUE",
    help="Authorize with credentials directly (a private app's refresh token, say). Give a secret as "
    "NAME=- : it is asked for, or read from stdin when piped.",
)
@click.option(
    "--timeout",
    type=click.IntRange(10, 3600),
    default=600,
    show_default=True,
    help="Seconds to wait for the browser to come back.",
)
@json_option
@with_host
def apps_authorize(
    host: Host,
    name: str,
    no_browser: bool,
    port: int,
    redirect_url: str | None,
    credentials: tuple[str, ...],
    timeout: int,
    as_json: bool,
) -> None:
    """Authorize an app at its marketplace: sign in, review the permissions, confirm.

    With a base URL configured ([web] base_url in linkolis.toml, or LINKOLIS_BASE_URL), the marketplace sends the
    browser back to <base-url>/apps/callback, served by `linkolis serve`, and this command waits until that
    callback completes the authorization (or --timeout passes). Without one, a loopback receiver on 127.0.0.1
    takes the redirect: only a development marketplace such as the simulator accepts that. With --redirect-url,
    finishes an authorization whose redirect went to another page. Re-authorizing with another account is refused.
    """
    app = apps.get(host, name)
    if credentials:
        secret = {f.name for f in host.registry.kind(app.kind).direct_credentials if f.secret}
        row = apps.authorize_direct(host, app, _parse_credentials(credentials, secret))
    elif redirect_url:
        row = apps.complete_authorization(host, app, oauth.params_from_url(redirect_url))
    else:
        row = _authorize_in_browser(host, app, no_browser, port, timeout, as_json)
    emit(
        apps.public_view(host, row),
        as_json,
        lambda v: echo(
            f"{v['name']!r} is authorized for account {v['account_id']}. Next: linkolis apps verify {v['name']!r}"
        ),
    )


LOOPBACK_NOTE = (
    "no base URL configured: using a loopback receiver, which only a development marketplace such as "
    "the simulator accepts; see docs/operations.md"
)


def _authorize_in_browser(
    host: Host, app: apps.App, no_browser: bool, port: int, timeout: int, as_json: bool
) -> apps.App:
    name = app.name

    def paste(redirect_uri: str) -> dict[str, str] | None:
        echo(
            f"After you confirm, your browser lands on {redirect_uri}. Copy that whole address and run: "
            f"linkolis apps authorize {name!r} --redirect-url 'ADDRESS'",
            err=True,
        )
        if not base.stdin_is_terminal():
            return None
        return oauth.params_from_url(click.prompt("Address", err=True))

    def show(url: str) -> None:
        echo("Open this address to authorize (sign in, review the permissions, confirm):", err=True)
        echo(url, err=as_json)  # always shown; on stderr when stdout is for JSON only
        if not no_browser:
            oauth.open_browser(url)

    say = lambda m: echo(m, err=True)
    base_url = config.base_url(host.config, host.env)
    if base_url:
        row = apps.authorize_hosted(host, app, base_url=base_url, timeout=timeout, open_url=show, paste=paste, say=say)
    else:
        say(LOOPBACK_NOTE)
        row = apps.authorize_in_browser(host, app, port=port, timeout=timeout, open_url=show, paste=paste, say=say)
    if row is None:
        raise click.exceptions.Exit(0)
    return row


@apps_group.command("verify")
@click.argument("name", shell_complete=complete_app_names)
@json_option
@with_host
def apps_verify(host: Host, name: str, as_json: bool) -> None:
    """Check that the app works; all checks passing shows "Module correctly installed"."""
    row, checks, ok = apps.verify(host, apps.get(host, name))
    data = {
        "app": row.name,
        "ok": ok,
        "status": row.status_text,
        "banner": BANNER if ok else None,
        "checks": [
            {**c.model_dump(mode="json"), "command": advice.command(host, c.action, row.name, c.param) or None}
            for c in checks
        ],
    }

    def human(_: Any) -> None:
        marks = {"ok": "ok", "failed": "FAILED", "skipped": "skipped", "warning": "warning"}
        colours = {"ok": "green", "failed": "red", "warning": "yellow", "skipped": None}
        colour = colour_on(sys.stdout)
        for c in checks:
            mark = f"[{marks[c.status]:>7}]"
            if colour and colours[c.status]:
                mark = click.style(mark, fg=colours[c.status], bold=c.status == "failed" or None)
            # the mark is ours; the check's name and detail are the plugin's words, escaped
            click.echo(mark + safe(f" {c.name}" + (f": {c.detail}" if c.detail else "")), color=colour)
            step = advice.remedy(host, row.name, c)
            if step and c.status != "ok":
                echo(f"          → {step}")
        if ok:
            secho(BANNER, fg="blue", bold=True)
        else:
            echo(f"{row.name!r} is not ready: follow the steps above, then verify again.", err=True)

    emit(data, as_json, human)
    if not ok:
        sys.exit(1)
