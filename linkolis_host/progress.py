"""Progress of long work as a person at a terminal sees it: a bar, a line now and then, or JSON events.

The host's work reports through ``context.Progress``; the CLI and the demo show it with ``StderrProgress``.
On a terminal the last line of stderr may be a bar or a wait's countdown, drawn over and over with ``\\r``; any
other line written to stderr meanwhile goes through ``message_line()``, which clears that line first and draws it
again below the message, so the two never share a line.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

import click

from . import logs
from .context import Progress, duration_text, wait_text
from .terminal import is_terminal, safe

_log = logging.getLogger("linkolis.progress")

CLEAR_LINE = "\r\033[K"

_LOCK = threading.RLock()  # one writer at a time on stderr: the work, the countdown's ticker, a log handler
_ACTIVE: list[StderrProgress] = []  # the progress whose bar or countdown is on stderr's last line, if any


@contextmanager
def message_line() -> Iterator[None]:
    """Write a line of its own to stderr: a bar or countdown being drawn is cleared first and drawn again after."""
    with _LOCK:
        drawn = _ACTIVE[-1] if _ACTIVE else None
        if drawn is not None:
            drawn._clear()
        try:
            yield
        finally:
            if drawn is not None:
                drawn._draw()


class StderrProgress(Progress):
    """A bar on a terminal, a line now and then elsewhere; under --json only events, one JSON object a line.

    A long wait is always told: on a terminal as a countdown, "Waiting 2 min 58 s for Amazon's quota for
    searchOrders…" counting down each second, then "Waited 2 min 58 s for …" once over; elsewhere as that line once;
    under --json ``{"event": "wait", "for": …, "seconds": …, "message": …}`` on stderr, so stdout stays the
    command's JSON.
    """

    TICK = 1.0  # seconds between two frames of a countdown

    def __init__(self, quiet: bool = False, stream: Any = None) -> None:
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr
        self.tty = is_terminal(self.stream) and not logs.json_lines()  # JSON lines: no bar, no countdown
        self._bar: Any = None
        self._label = ""
        self._done = 0
        self._wait: tuple[str, float, float] | None = None  # what, how long, until (monotonic) while counting down
        self._ticker: threading.Event | None = None

    # -- the work's calls ----------------------------------------------------------------------------------------

    def start(self, label: str, total: int | None = None) -> None:
        self._end_wait()
        label = safe(label)  # an app's name is the seller's text
        self._label, self._done = label, 0
        if self.quiet:
            return
        if self.tty and total:
            with _LOCK:
                self._bar = click.progressbar(length=total, label=label, file=self.stream)
                self._bar.__enter__()
                _ACTIVE.append(self)
        else:
            self._echo(f"{label}…")

    def advance(self, n: int = 1) -> None:
        self._end_wait()
        self._done += n
        if self._bar is not None:
            with _LOCK:
                self._bar.update(n)
        elif not self.quiet and n:
            self._echo(f"  {self._done:,} done")

    def note(self, message: str) -> None:
        self._end_wait()
        if not self.quiet:
            self._line(message)

    def wait(self, what: str, seconds: float) -> None:
        self._end_wait()
        message = wait_text(what, seconds)
        if self.quiet:
            self._echo(
                json.dumps(
                    {"event": "wait", "for": what, "seconds": round(seconds, 1), "message": message}, ensure_ascii=False
                )
            )
        elif self.tty:
            self._count_down(what, seconds)
        else:
            self._line(message)

    def finish(self) -> None:
        self._end_wait()
        if self._bar is not None:
            with _LOCK:
                self._bar.__exit__(None, None, None)
                self._bar = None
                self._forget()

    # -- drawing -------------------------------------------------------------------------------------------------

    def _echo(self, text: str) -> None:
        if self.stream is sys.stderr and logs.json_lines():  # --log-format json: a log record, not a bare line
            _log.info("%s", text)
            return
        with message_line():
            click.echo(safe(text), file=self.stream)

    def _line(self, message: str) -> None:
        """A line of its own, above the bar or countdown being drawn."""
        self._echo(message)  # safe(): a marketplace's words (a feed's state, an app's name)

    def _count_down(self, what: str, seconds: float) -> None:
        with _LOCK:
            self._wait = (what, seconds, time.monotonic() + seconds)
            if self not in _ACTIVE:
                _ACTIVE.append(self)
            if self._bar is not None:
                self._clear()
            self._draw()
            stop = self._ticker = threading.Event()
        threading.Thread(target=self._tick, args=(stop,), daemon=True, name="linkolis-countdown").start()

    def _tick(self, stop: threading.Event) -> None:
        while not stop.wait(self.TICK):
            with _LOCK:
                if stop.is_set() or self._wait is None:
                    return
                if time.monotonic() >= self._wait[2]:
                    break
                self._clear()
                self._draw()
        self._end_wait()

    def _end_wait(self) -> None:
        """The wait is over (time ran out, or the work went on): the countdown becomes a line that stays."""
        with _LOCK:
            if self._wait is None:
                return
            what, seconds, _ = self._wait
            if self._ticker is not None:
                self._ticker.set()
            self._clear()
            self._wait = None
            if self._bar is None:
                self._forget()
            click.echo(safe(f"Waited {duration_text(seconds)} for {what}."), file=self.stream)
            if self._bar is not None:
                self._draw()

    def _clear(self) -> None:
        self.stream.write(CLEAR_LINE)

    def _draw(self) -> None:
        if self._wait is not None:
            what, _, until = self._wait
            self.stream.write(safe(wait_text(what, max(0.0, until - time.monotonic())), keep_newlines=False))
            self.stream.flush()
        elif self._bar is not None:
            self._bar.render_progress()

    def _forget(self) -> None:
        if self in _ACTIVE:
            _ACTIVE.remove(self)
