"""A simulator as an httpx transport (requests answered in-process by its ``handle``), and a transport that checks
every request a plugin sends against the marketplace's spec before passing it on."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from .contract import Contract, sim_request
from .server import Handles
from .wire import SimResponse


def to_httpx_response(request: httpx.Request, response: SimResponse) -> httpx.Response:
    """A simulator's answer as httpx's: a disconnect is the error httpx raises for it."""
    if response.disconnect == "connect":
        raise httpx.ConnectError("[Errno 111] Connection refused (simulated)", request=request)
    if response.disconnect is not None:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response. (simulated)", request=request)
    return httpx.Response(response.status, headers=response.headers, content=response.body, request=request)


class SimulatorTransport(httpx.BaseTransport):
    """``httpx.Client(transport=SimulatorTransport(sim), base_url="https://anything")``."""

    def __init__(self, sim: Handles) -> None:
        self.sim = sim

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        return to_httpx_response(request, self.sim.handle(sim_request(request, body)))


class AsyncSimulatorTransport(httpx.AsyncBaseTransport):
    """The same for ``httpx.AsyncClient`` (answers synchronously: the simulator waits on its clock)."""

    def __init__(self, sim: Handles) -> None:
        self.sim = sim

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        return to_httpx_response(request, self.sim.handle(sim_request(request, body)))


class ContractCheckingTransport(httpx.BaseTransport):
    """For tests: checks every request to the marketplace's API against its spec before ``inner`` answers it, and
    keeps what it finds in ``problems`` (and every request in ``requests``).

    ``headers`` names the headers every API request must carry, each with a text its value must hold (``""``: any
    value). Requests to paths of no API of the contract (a login endpoint, say) are kept but not checked.
    """

    def __init__(
        self, inner: httpx.BaseTransport, contract: Contract, headers: Mapping[str, str] | None = None
    ) -> None:
        self.inner = inner
        self.contract = contract
        self.headers = dict(headers or {})
        self.problems: list[str] = []
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        path = request.url.raw_path.decode().split("?", 1)[0]
        if self.contract.api_of(path) is not None:
            for problem in self.contract.problems_of_request(request):
                self.problems.append(f"{request.method} {path}: {problem.details}")
            for name, needed in self.headers.items():
                value = request.headers.get(name, "")
                if not value or needed not in value:
                    self.problems.append(f"{request.method} {path}: no {name} header {needed}".rstrip())
        return self.inner.handle_request(request)

    def count(self, path: str) -> int:
        """How many requests went to ``path``."""
        return sum(1 for r in self.requests if r.url.path == path)
