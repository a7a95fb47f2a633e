"""What the Amazon benchmarks share: the simulator in-process with its own time measured, and peak RSS."""

from __future__ import annotations

import resource
import time

import httpx


def rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class TimedTransport(httpx.BaseTransport):
    """The simulator's in-process transport, adding up the real seconds spent inside it (``.seconds``), so a
    benchmark can tell linkolis's own work from the stand-in's."""

    def __init__(self, sim) -> None:  # noqa: ANN001
        self.inner = sim.transport()
        self.seconds = 0.0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        try:
            return self.inner.handle_request(request)
        finally:
            self.seconds += time.perf_counter() - started
