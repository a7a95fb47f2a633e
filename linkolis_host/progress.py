"""Progress of long work as a person at a terminal sees it: a bar, a line now and then, or JSON events.

The host's work reports through ``context.Progress``; the CLI and the demo show it with ``StderrProgress``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from .context import Progress, wait_text
from .terminal import safe


class StderrProgress(Progress):
    """A bar on a terminal, a line now and then elsewhere; under --json only events, one JSON object a line.

    A long wait is always told: "Waiting 2 min 58 s for Amazon's quota for searchOrders…", or under --json
    ``{"event": "wait", "for": …, "seconds": …, "message": …}`` on stderr, so stdout stays the command's JSON.
    """

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self._bar: Any = None
        self._label = ""
        self._done = 0

    def start(self, label: str, total: int | None = None) -> None:
        label = safe(label)  # an app's name is the seller's text
        self._label, self._done = label, 0
        if self.quiet:
            return
        if self.tty and total:
            self._bar = click.progressbar(length=total, label=label, file=sys.stderr)
            self._bar.__enter__()
        else:
            click.echo(f"{label}…", err=True)

    def advance(self, n: int = 1) -> None:
        self._done += n
        if self._bar is not None:
            self._bar.update(n)
        elif not self.quiet and n:
            click.echo(f"  {self._done:,} done", err=True)

    def note(self, message: str) -> None:
        if not self.quiet:
            self._line(message)

    def wait(self, what: str, seconds: float) -> None:
        message = wait_text(what, seconds)
        if self.quiet:
            click.echo(
                json.dumps(
                    {"event": "wait", "for": what, "seconds": round(seconds, 1), "message": message}, ensure_ascii=False
                ),
                err=True,
            )
        else:
            self._line(message)

    def _line(self, message: str) -> None:
        """A line of its own: a bar being drawn is cleared first and drawn again below it."""
        message = safe(message)  # a marketplace's words (a feed's state, an app's name)
        if self._bar is not None and self.tty:
            sys.stderr.write("\r\033[K")
            click.echo(message, err=True)
            self._bar.render_progress()
        else:
            click.echo(message, err=True)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
