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
