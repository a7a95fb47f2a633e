"""The ``linkolis`` command. Thin: parse, call ``apps``/``sync``, print.

Human text by default; ``--json`` prints only JSON on stdout. Progress and warnings go to stderr. Whatever a
user can cause ends in a clear message and a non-zero exit, never a traceback.

The root group lives here; each command group the seller sees has its module (``apps``, ``orders``, ``stock``…),
and ``base`` holds what they share.
"""

from __future__ import annotations

import click

from .. import logs
from ..version import __version__
from . import apps, demo, notifications, orders, plugins, serve, shipments, stock, sync, users, worker, workspaces
from .backup import COMMANDS as BACKUP_COMMANDS
from .base import CONTEXT, WORKSPACE_META, LinkolisGroup, echo, log_format_callback, verbose_callback
from .examples import EXAMPLES
from .keys import keys_group

__all__ = ["EXAMPLES", "cli", "echo"]


@click.group("linkolis", cls=LinkolisGroup, context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="linkolis")
@click.option(
    "-v",
    "--verbose",
    count=True,
    expose_value=False,
    callback=verbose_callback,
    help="Log what happens on stderr (-vv: every HTTP call); also after the command. Secrets are always redacted.",
)
@click.option(
    "--log-format",
    type=click.Choice(logs.FORMATS),
    default="text",
    envvar="LINKOLIS_LOG_FORMAT",
    expose_value=False,
    callback=log_format_callback,
    help="text, or json: each line on stderr one JSON object naming its app, workspace and web request, for a log "
    "pipeline [env: LINKOLIS_LOG_FORMAT]. Secrets are always redacted.",
)
@click.option(
    "--no-color",
    "no_color",
    is_flag=True,
    help="No colour (nor with NO_COLOR set, nor when the output is not a terminal).",
)
@click.option(
    "--workspace",
    "workspace",
    metavar="NAME",
    envvar="LINKOLIS_WORKSPACE",
    help="The workspace (seller business) to act on [env: LINKOLIS_WORKSPACE; default: the only one]. "
    "`sync` without it serves every workspace.",
)
def cli(workspace: str | None, no_color: bool) -> None:
    """Connect marketplaces as apps, import their orders, and keep their stock in sync.

    The seller's story: `linkolis catalog`, `linkolis apps install KIND`, `linkolis apps authorize NAME`,
    `linkolis apps verify NAME`, then `linkolis sync`. Data lives in $LINKOLIS_HOME (see `linkolis plugins`).

    On a terminal, lists are tables; piped, they are tab-separated lines (LINKOLIS_TERMINAL=1 or 0 forces
    either). Shell completion: see the README (`_LINKOLIS_COMPLETE=bash_source linkolis`).
    """
    ctx = click.get_current_context()
    ctx.meta[WORKSPACE_META] = workspace
    if no_color:
        ctx.color = False  # every echo and table under this context drops colour


for command in (
    plugins.plugins,
    plugins.catalog,
    apps.apps_group,
    orders.orders_group,
    stock.stock_group,
    sync.sync_command,
    demo.demo,
    workspaces.workspaces_group,
    users.users_group,
    serve.serve,
    shipments.shipments_group,
    notifications.notifications_group,
    worker.worker_command,
    keys_group,
    *BACKUP_COMMANDS,
):
    cli.add_command(command)
