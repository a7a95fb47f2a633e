"""`linkolis workspaces`: one seller business each."""

from __future__ import annotations

import click

from .. import installed, workspaces
from ..host import Host
from ..tables import column, print_table
from .base import CONTEXT, LinkolisGroup, echo, emit, json_option, with_host


@click.group("workspaces", cls=LinkolisGroup, context_settings=CONTEXT)
def workspaces_group() -> None:
    """Workspaces: one seller business each, with its own users."""


TIME_ZONE_HELP = "The time zone its users read times in, an IANA name [default: Europe/Amsterdam]."


@workspaces_group.command("add")
@click.argument("name")
@click.option("--time-zone", default=workspaces.DEFAULT_TIME_ZONE, show_default=False, help=TIME_ZONE_HELP)
@json_option
@with_host
def workspaces_add(host: Host, name: str, time_zone: str, as_json: bool) -> None:
    """Create the workspace NAME."""
    ws = workspaces.add_workspace(host, name, time_zone)
    emit(
        {"id": ws.id, "name": ws.name, "time_zone": ws.time_zone},
        as_json,
        lambda w: echo(f"Workspace {w['name']!r} created (times in {w['time_zone']})."),
    )


@workspaces_group.command("set")
@click.argument("name")
@click.option("--time-zone", required=True, help="The time zone its users read times in, an IANA name.")
@json_option
@with_host
def workspaces_set(host: Host, name: str, time_zone: str, as_json: bool) -> None:
    """Change the workspace NAME's settings."""
    ws = workspaces.set_time_zone(host, name, time_zone)
    emit(
        {"id": ws.id, "name": ws.name, "time_zone": ws.time_zone},
        as_json,
        lambda w: echo(f"Workspace {w['name']!r}: times in {w['time_zone']}."),
    )


@workspaces_group.command("list")
@json_option
@with_host
def workspaces_list(host: Host, as_json: bool) -> None:
    """List the workspaces and how many apps each has."""
    counts = installed.apps_per_workspace(host)
    rows = [
        {"id": w.id, "name": w.name, "time_zone": w.time_zone, "apps": counts.get(w.id, 0)}
        for w in workspaces.list_workspaces(host)
    ]

    def human(rs: list[dict]) -> None:
        if not rs:
            echo("No workspaces yet. Create one with `linkolis workspaces add NAME`.")
            return
        print_table(
            [column("name"), column("time zone"), column("apps", right=True)],
            [[r["name"], r["time_zone"], r["apps"]] for r in rs],
        )

    emit(rows, as_json, human)
