"""`linkolis demo`: the seller's whole story against a local stand-in for a marketplace."""

from __future__ import annotations

from pathlib import Path

import click

from .base import CONTEXT, LinkolisCommand


@click.command(cls=LinkolisCommand, context_settings=CONTEXT)
@click.option("--interactive", is_flag=True, help="Confirm on the consent page yourself, in your browser.")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to keep the demo's data (default: a new temporary directory).",
)
@click.option(
    "--web",
    is_flag=True,
    help="Serve the web app on the stand-in instead, with the background sync of `linkolis serve`, until Ctrl-C, "
    "and print a demo user's sign-in.",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="With --web.")
def demo(interactive: bool, home: Path | None, web: bool, port: int) -> None:
    """Walk the seller's whole story against a local stand-in for a marketplace.

    Install, authorize through the consent page, "Module correctly installed", import orders, change stock,
    push it. Nothing leaves this machine; the data directory is printed at the end.
    """
    from ..demo import run_demo

    if web:
        from ..web.demo import run_web_demo

        return run_web_demo(home, port)
    run_demo(home, interactive)
