"""The simulator as an httpx transport: requests are answered in-process by ``Simulator.handle``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from .wire import SimRequest, SimResponse

if TYPE_CHECKING:
    from .app import Simulator


def to_sim_request(request: httpx.Request, body: bytes) -> SimRequest:
    url = request.url
    target = url.raw_path.decode("ascii")  # path and query exactly as sent: a "%2F" in a SKU stays encoded
    port = f":{url.port}" if url.port else ""
    return SimRequest.build(
        request.method, target, request.headers.multi_items(), body, f"{url.scheme}://{url.host}{port}"
    )


def to_httpx_response(request: httpx.Request, resp: SimResponse) -> httpx.Response:
    if resp.disconnect == "connect":
        raise httpx.ConnectError("[Errno 111] Connection refused (simulated)", request=request)
    if resp.disconnect is not None:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response. (simulated)", request=request)
    return httpx.Response(resp.status, headers=resp.headers, content=resp.body, request=request)


class SimulatorTransport(httpx.BaseTransport):
    """``httpx.Client(transport=SimulatorTransport(sim), base_url="https://anything")``."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        return to_httpx_response(request, self.sim.handle(to_sim_request(request, body)))


class AsyncSimulatorTransport(httpx.AsyncBaseTransport):
    """The same for ``httpx.AsyncClient`` (answers synchronously; the simulator does its waiting on its clock)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        return to_httpx_response(request, self.sim.handle(to_sim_request(request, body)))
