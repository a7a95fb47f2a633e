"""Clocks: the one notion of time the host, its plugins and a simulator share.

Everything that waits or reads the time goes through a clock, so a test or a benchmark can run hours of a
marketplace's quota in seconds (``VirtualClock``) or at a fixed speed-up (``ScaledClock``).
"""

from __future__ import annotations

import threading
import time as _time
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """What a clock offers: the time as epoch seconds, a UTC datetime, and a way to wait."""

    def time(self) -> float: ...

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class _Base:
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), tz=UTC)  # type: ignore[attr-defined]


class SystemClock(_Base):
    """The real clock."""

    def time(self) -> float:
        return _time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            _time.sleep(seconds)


class ScaledClock(_Base):
    """Real time run faster: at ``scale=1000`` a second of real time is 1000 seconds on this clock.

    ``start`` is the epoch the clock shows when created (default: now).
    """

    def __init__(self, scale: float, start: float | None = None) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.scale = scale
        self._start = _time.time() if start is None else start
        self._t0 = _time.monotonic()

    def time(self) -> float:
        return self._start + (_time.monotonic() - self._t0) * self.scale

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            _time.sleep(seconds / self.scale)


class VirtualClock(_Base):
    """Time that moves only when someone sleeps or advances it: waits cost no real time.

    Thread-safe. ``slept`` adds up every wait, which is what a benchmark reports as virtual seconds spent.
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = _time.time() if start is None else start
        self._lock = threading.Lock()
        self.slept = 0.0

    def time(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self._now += seconds
                self.slept += seconds

    def advance(self, seconds: float) -> None:
        """Move time forward without counting it as a wait (the world moved on, nobody slept)."""
        with self._lock:
            self._now += seconds
