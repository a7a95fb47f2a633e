"""`linkolis users`: the people who sign in to the web app."""

from __future__ import annotations

import sys

import click

from .. import workspaces
from ..host import Host
from ..tables import column, print_table
from . import base
from .base import CONTEXT, WORKSPACE_META, LinkolisGroup, echo, emit, json_option, with_host


@click.group("users", cls=LinkolisGroup, context_settings=CONTEXT)
def users_group() -> None:
    """The people who sign in to the web app (`linkolis serve`), each in one workspace."""


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not base.stdin_is_terminal():
        raise click.UsageError("give the password on standard input with --password-stdin (never as an argument)")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)


@users_group.command("add")
@click.argument("email")
@click.option("--workspace", help="The user's workspace (default: the global --workspace, or the only one).")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (without it, a terminal asks for it, hidden).",
)
@click.option(
    "--language", type=click.Choice(["en", "nl"]), help="The web app's language for this user (default: the browser's)."
)
@json_option
@with_host
def users_add(
    host: Host, email: str, workspace: str | None, password_stdin: bool, language: str | None, as_json: bool
) -> None:
    """Add a user who signs in with EMAIL."""
    workspace = workspace or click.get_current_context().find_root().meta.get(WORKSPACE_META)
    user = workspaces.add_user(host, email, _read_password(password_stdin), workspace, language)
    emit(
        {"email": user.email, "workspace": user.workspace, "language": user.language},
        as_json,
        lambda u: echo(f"User {u['email']} added to workspace {u['workspace']!r}."),
    )


@users_group.command("list")
@click.option("--workspace", help="Only this workspace's users.")
@json_option
@with_host
def users_list(host: Host, workspace: str | None, as_json: bool) -> None:
    """List the users and their workspaces."""
    rows = [
        {"email": u.email, "workspace": u.workspace, "language": u.language}
        for u in workspaces.list_users(host, workspace)
    ]

    def human(rs: list[dict]) -> None:
        if not rs:
            echo("No users yet. Add one with `linkolis users add EMAIL --workspace NAME`.")
            return
        print_table(
            [column("email"), column("workspace"), column("language")],
            [[r["email"], r["workspace"], r["language"]] for r in rs],
        )

    emit(rows, as_json, human)


@users_group.command("password")
@click.argument("email")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the new password from the first line of standard input (without it, a terminal asks for it, hidden).",
)
@json_option
@with_host
def users_password(host: Host, email: str, password_stdin: bool, as_json: bool) -> None:
    """Give the user EMAIL a new password; every web session of theirs ends (they sign in again everywhere)."""
    user = workspaces.set_password(host, email, _read_password(password_stdin))
    emit(
        {"email": user.email, "sessions_ended": True},
        as_json,
        lambda u: echo(f"New password set for {u['email']}; they are signed out everywhere."),
    )


@users_group.command("remove")
@click.argument("email")
@json_option
@with_host
def users_remove(host: Host, email: str, as_json: bool) -> None:
    """Remove the user EMAIL (their workspace and its data stay); every web session of theirs ends."""
    user = workspaces.remove_user(host, email)
    emit({"email": user.email, "workspace": user.workspace}, as_json, lambda u: echo(f"User {u['email']} removed."))
