"""The simulator as an httpx transport: requests are answered in-process by ``Simulator.handle``."""

from __future__ import annotations

import httpx

from .app import SimRequest, SimResponse


def to_sim_request(request: httpx.Request, body: bytes) -> SimRequest:
    return SimRequest.build(request.method, request.url.raw_path.decode("ascii"), request.headers.multi_items(), body)


def to_httpx_response(request: httpx.Request, resp: SimResponse) -> httpx.Response:
    if resp.disconnect is not None:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response. (simulated)", request=request)
    return httpx.Response(resp.status, headers=resp.headers, content=resp.body, request=request)


class SimulatorTransport(httpx.BaseTransport):
    """``httpx.Client(transport=SimulatorTransport(sim), base_url="https://anything")``."""

    def __init__(self, sim) -> None:
        self.sim = sim

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        return to_httpx_response(request, self.sim.handle(to_sim_request(request, body)))


class ContractCheckingTransport(httpx.BaseTransport):
    """For tests: checks every API request a client sends against bol's spec before ``inner`` answers it, and
    keeps what it finds in ``problems`` (and every request in ``requests``)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.problems: list[str] = []
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        from . import contract

        body = request.read()
        self.requests.append(request)
        path = request.url.raw_path.decode().split("?", 1)[0]
        if path != "/token":
            for problem in contract.request_problems(
                request.method, path, request.url.params.multi_items(), dict(request.headers), body or None
            ):
                self.problems.append(f"{request.method} {path}: {problem}")
            if "v10" not in request.headers.get("accept", "") or not request.headers.get("user-agent"):
                self.problems.append(f"{request.method} {path}: no bol v10 Accept header or no user agent")
        return self.inner.handle_request(request)

    def count(self, path: str) -> int:
        return sum(1 for r in self.requests if r.url.path == path)
