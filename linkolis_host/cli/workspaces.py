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


@workspaces_group.command("add")
@click.argument("name")
@json_option
@with_host
def workspaces_add(host: Host, name: str, as_json: bool) -> None:
    """Create the workspace NAME."""
    ws = workspaces.add_workspace(host, name)
    emit({"id": ws.id, "name": ws.name}, as_json, lambda w: echo(f"Workspace {w['name']!r} created."))


@workspaces_group.command("list")
@json_option
@with_host
def workspaces_list(host: Host, as_json: bool) -> None:
    """List the workspaces and how many apps each has."""
    counts = installed.apps_per_workspace(host)
    rows = [{"id": w.id, "name": w.name, "apps": counts.get(w.id, 0)} for w in workspaces.list_workspaces(host)]

    def human(rs: list[dict]) -> None:
        if not rs:
            echo("No workspaces yet. Create one with `linkolis workspaces add NAME`.")
            return
        print_table([column("name"), column("apps", right=True)], [[r["name"], r["apps"]] for r in rs])

    emit(rows, as_json, human)
