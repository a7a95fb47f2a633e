"""Clocks: the one notion of time the host, its plugins and a simulator share.

Everything that waits or reads the time goes through a clock, so a test or a benchmark can run hours of a
marketplace's quota in seconds (``VirtualClock``) or at a fixed speed-up (``ScaledClock``).

A clock tells two times. ``time()`` (and ``now()``) is the wall time: what is shown, stored and sent, and what an
operator or NTP may set back or forward at any moment. ``monotonic()`` only ever moves forward, by the seconds that
pass, from an arbitrary start: intervals a process measures for itself (when a unit of ``sync --watch`` is next due)
are measured on it, so a wall clock set back an hour never makes them an hour longer. A monotonic time means nothing
to another process and nothing after a reboot: what is stored is a wall time.
"""

from __future__ import annotations

import threading
import time as _time
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """What a clock offers: the wall time as epoch seconds and as a UTC datetime, a monotonic time to measure
    intervals on, and a way to wait."""

    def time(self) -> float: ...

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class _Base:
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), tz=UTC)  # type: ignore[attr-defined]


class SystemClock(_Base):
    """The real clock."""

    def time(self) -> float:
        return _time.time()

    def monotonic(self) -> float:
        return _time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            _time.sleep(seconds)


class ScaledClock(_Base):
    """Real time run faster: at ``scale=1000`` a second of real time is 1000 seconds on this clock.

    ``start`` is the epoch the clock shows when created (default: now). Both its times run on the real monotonic
    clock, so this one is never set back.
    """

    def __init__(self, scale: float, start: float | None = None) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.scale = scale
        self._start = _time.time() if start is None else start
        self._t0 = _time.monotonic()

    def time(self) -> float:
        return self._start + self.monotonic()

    def monotonic(self) -> float:
        return (_time.monotonic() - self._t0) * self.scale

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            _time.sleep(seconds / self.scale)


class VirtualClock(_Base):
    """Time that moves only when someone sleeps or advances it: waits cost no real time.

    Thread-safe. ``slept`` adds up every wait, which is what a benchmark reports as virtual seconds spent.
    ``step`` sets the wall time back or forward as an operator or NTP would, leaving the monotonic time alone.
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = _time.time() if start is None else start
        self._stepped = 0.0  # how far the wall time was set, in all: the monotonic time is the wall time less it
        self._lock = threading.Lock()
        self.slept = 0.0

    def time(self) -> float:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._now - self._stepped

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self._now += seconds
                self.slept += seconds

    def advance(self, seconds: float) -> None:
        """Move time forward without counting it as a wait (the world moved on, nobody slept)."""
        with self._lock:
            self._now += seconds

    def step(self, seconds: float) -> None:
        """Set the wall time ``seconds`` forward (back when negative), as NTP correcting it or a VM resumed
        would; no time passes, and the monotonic time does not move."""
        with self._lock:
            self._now += seconds
            self._stepped += seconds


class _WallOnly(_Base):
    """A clock from before clocks had a monotonic time: its wall time stands in for one."""

    def __init__(self, clock: object) -> None:
        self.clock = clock

    def time(self) -> float:
        return self.clock.time()  # type: ignore[attr-defined, no-any-return]

    def monotonic(self) -> float:
        return self.clock.time()  # type: ignore[attr-defined, no-any-return]

    def sleep(self, seconds: float) -> None:
        self.clock.sleep(seconds)  # type: ignore[attr-defined]


def with_monotonic(clock: object) -> Clock:
    """``clock`` itself, or, for a clock with only ``time``, ``now`` and ``sleep`` (written for an older host), one
    whose monotonic time is its wall time: it works as it always did, a wall clock set back still stalling it."""
    if callable(getattr(clock, "monotonic", None)):
        return clock  # type: ignore[return-value]
    return _WallOnly(clock)
