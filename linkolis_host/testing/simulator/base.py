"""``BaseSimulator``: what every marketplace simulator has, so that one only writes its marketplace.

A simulator subclasses it, names its ``contract`` (its OpenAPI files), the headers every API request must carry
(``required_headers``) and its ``admin_routes``, and writes ``answer``: the marketplace's answer to any request
that is not an admin one. It then has both carriers (``transport``, ``serve``), a contract-checking transport for
tests, faults, rate limits and counters.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

import httpx

from linkolis_host.clock import Clock, SystemClock

from .admin import STANDARD_ROUTES, AdminRoutes
from .contract import Contract
from .faults import FaultInjector
from .ratelimit import Counters, RateLimiter
from .server import SimHTTPServer, make_server, plain_crash, serve_in_thread
from .transport import AsyncSimulatorTransport, ContractCheckingTransport, SimulatorTransport
from .wire import SimRequest, SimResponse


class BaseSimulator:
    """A local marketplace on a clock: ``clock`` times everything (buckets, expiries, slow answers); pass the clock
    the code under test uses (a ``VirtualClock`` in tests)."""

    contract: ClassVar[Contract]
    required_headers: ClassVar[Mapping[str, str]] = {}
    admin_routes: ClassVar[AdminRoutes] = STANDARD_ROUTES
    name: ClassVar[str] = "simulator"  # of the thread that serves it
    in_process_url: ClassVar[str] = "https://sim.test"  # what ``client()`` is based at

    clock: Clock
    faults: FaultInjector
    counters: Counters
    limiter: RateLimiter

    def __init__(self, clock: Clock | None, faults: FaultInjector, counters: Counters | None = None) -> None:
        self.clock = clock or SystemClock()
        self.faults = faults
        self.counters = counters or Counters()
        self.limiter = RateLimiter()
        self.faults.on_fire = lambda fault: self.counters.fault(fault.kind)

    # --- the one handler -----------------------------------------------------------------------------------

    def handle(self, request: SimRequest) -> SimResponse:
        """Answer one request, whichever carrier brought it: ``/_sim/`` routes, else the marketplace."""
        if request.raw_path.startswith("/_sim/"):
            return self.admin_routes.handle(self, request)
        return self.answer(request)

    def answer(self, request: SimRequest) -> SimResponse:
        """The marketplace's answer to a request: what a simulator writes."""
        raise NotImplementedError

    def crash(self, exc: Exception) -> SimResponse:
        """The answer over HTTP when ``handle`` raised (a simulator bug): the marketplace's 500 if it words one."""
        return plain_crash(exc)

    def counters_snapshot(self) -> dict[str, Any]:
        """What ``GET /_sim/counters`` answers."""
        return self.counters.snapshot()

    # --- carriers ------------------------------------------------------------------------------------------

    def transport(self) -> SimulatorTransport:
        """An httpx transport answering in-process: ``httpx.Client(transport=sim.transport(), base_url=...)``."""
        return SimulatorTransport(self)

    def async_transport(self) -> AsyncSimulatorTransport:
        """The same for ``httpx.AsyncClient``."""
        return AsyncSimulatorTransport(self)

    def checked_transport(self, inner: httpx.BaseTransport | None = None) -> ContractCheckingTransport:
        """For tests: ``inner`` (default: this simulator in-process) behind a check of every API request against
        the contract; what it finds is in ``.problems``."""
        return ContractCheckingTransport(inner or self.transport(), self.contract, self.required_headers)

    def client(self, base_url: str | None = None, **kwargs: Any) -> httpx.Client:
        """An httpx client wired to this simulator in-process."""
        return httpx.Client(transport=self.transport(), base_url=base_url or self.in_process_url, **kwargs)

    def server(self, host: str = "127.0.0.1", port: int = 0, allow_non_loopback: bool = False) -> SimHTTPServer:
        """An HTTP server for this simulator, not yet serving (``ValueError`` off loopback unless allowed,
        ``OSError`` when the port cannot be had)."""
        return make_server(self, host, port, allow_non_loopback, self.crash)

    @contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0, allow_non_loopback: bool = False) -> Iterator[str]:
        """Serve HTTP in a background thread for a ``with`` block; yields the base URL."""
        with serve_in_thread(self.server(host, port, allow_non_loopback), self.name) as base_url:
            yield base_url
