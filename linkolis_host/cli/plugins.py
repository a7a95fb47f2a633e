"""`linkolis plugins` and `linkolis catalog`: the installed plugins and the app kinds they offer."""

from __future__ import annotations

from typing import Any

import click

from .. import apps
from ..host import Host
from ..plugins import installed_plugins
from ..tables import column, print_table, value
from .base import CONTEXT, YES_NO, LinkolisCommand, LinkolisGroup, echo, emit, json_option, with_host


def _plugins(host: Host) -> list[dict[str, Any]]:
    enabled = {host.registry.pm.get_name(p) for p in host.registry.pm.get_plugins()}
    rows = []
    for plugin_id, copies in sorted(installed_plugins().items()):
        for copy in copies:
            rows.append(
                {"id": plugin_id, "package": copy.package, "version": copy.version, "enabled": plugin_id in enabled}
            )
    return rows


@click.group(cls=LinkolisGroup, invoke_without_command=True, context_settings=CONTEXT)
@json_option
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """The installed plugins and whether they are enabled (same as `plugins list`)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(plugins_list, as_json=as_json)


@plugins.command("list")
@json_option
@with_host
def plugins_list(host: Host, as_json: bool) -> None:
    """The installed plugins: id, package, version, enabled."""

    def human(rows: list[dict]) -> None:
        if not rows:
            echo("No plugins installed.")
        else:
            print_table(
                [column("id"), column("package"), column("version"), column("enabled", styles=YES_NO)],
                [[r["id"], r["package"], r["version"], r["enabled"]] for r in rows],
            )
        echo(f"Data directory: {host.home}", err=True)

    emit(_plugins(host), as_json, human)


@click.command(cls=LinkolisCommand, context_settings=CONTEXT)
@json_option
@with_host
def catalog(host: Host, as_json: bool) -> None:
    """All applications: the app kinds you can install, with their fields."""

    def human(entries: list[dict]) -> None:
        if not entries:
            echo("No app can be installed: enable a plugin (see `linkolis plugins`).")
            return

        def fields(e: dict) -> str:
            return "; ".join(
                f["title"]
                + (f" ({', '.join(f['choices'][:8])}{', …' if len(f['choices']) > 8 else ''})" if f["choices"] else "")
                + ("" if f["default"] is None else f" [default: {value(f['default'])}]")
                for f in e["fields"]
            )

        print_table(
            [column("kind"), column("app"), column("description", wrap=True), column("fields", wrap=True)],
            [[e["kind"], e["title"], e["description"], fields(e)] for e in entries],
        )
        echo("Install one with `linkolis apps install KIND` (`--help` after KIND lists its options).", err=True)

    emit(apps.catalog(host), as_json, human)
