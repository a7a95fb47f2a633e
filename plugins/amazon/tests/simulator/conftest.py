"""Fixtures for the SP-API simulator tests: a virtual clock, a small simulator, a signed-in client, and an
independent openapi-core check of what the simulator answers."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest

from linkolis_host.clock import VirtualClock

sys.path.insert(0, str(Path(__file__).parent))

from linkolis_amazon.simulator import Simulator  # noqa: E402
from sim_support import START, SpApi, make_sim  # noqa: E402

MODELS = {
    "orders": "orders-2026-01-01.json",
    "ordersV0": "orders-v0.json",
    "listings": "listings-items-2021-08-01.json",
    "feeds": "feeds-2021-06-30.json",
    "sellers": "sellers-v1.json",
}
PREFIX = {  # longest first: /orders/v0/ before /orders/
    "/orders/v0/": "ordersV0",
    "/orders/": "orders",
    "/listings/": "listings",
    "/feeds/": "feeds",
    "/sellers/": "sellers",
}


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def sim(clock: VirtualClock) -> Simulator:
    return make_sim(clock)


@pytest.fixture
def api(sim: Simulator) -> Iterator[SpApi]:
    client = SpApi(sim)
    yield client
    client.http.close()


# --- an independent contract check (openapi-core on the vendored OpenAPI 3 models) -----------------------------


@pytest.fixture(scope="session")
def oa_specs() -> dict[str, Any]:
    from openapi_core import Config, OpenAPI

    base = resources.files("linkolis_amazon").joinpath("spapi_models", "openapi3")
    return {
        api: OpenAPI.from_dict(json.loads(base.joinpath(f).read_text("utf-8")), config=Config(spec_validator_cls=None))
        for api, f in MODELS.items()
    }


@dataclass
class _Req:
    host_url: str
    path: str
    method: str
    parameters: Any
    body: bytes | None
    content_type: str


@dataclass
class _Resp:
    status_code: int
    headers: Any
    data: bytes
    content_type: str


def _api_of(path: str) -> str:
    for prefix, api in PREFIX.items():
        if path.startswith(prefix):
            return api
    raise AssertionError(f"not an SP-API path: {path}")


def _oa_request(request: httpx.Request) -> tuple[str, _Req]:
    from urllib.parse import parse_qsl

    from openapi_core.datatypes import RequestParameters
    from werkzeug.datastructures import Headers, ImmutableMultiDict

    raw = request.url.raw_path.decode()
    path, _, query = raw.partition("?")
    api = _api_of(path)
    body = request.content or None
    params = RequestParameters(
        query=ImmutableMultiDict(parse_qsl(query, keep_blank_values=True)), header=Headers(dict(request.headers))
    )
    ctype = request.headers.get("content-type", "application/json")
    return api, _Req("https://sellingpartnerapi-na.amazon.com", path, request.method.lower(), params, body, ctype)


@pytest.fixture
def conforms(oa_specs: dict[str, Any]):
    """``conforms(response)``: the response matches the model of its operation (openapi-core, not the simulator)."""
    from werkzeug.datastructures import Headers

    def check(response: httpx.Response) -> httpx.Response:
        api, req = _oa_request(response.request)
        hdrs = Headers(list(response.headers.multi_items()))
        resp = _Resp(
            response.status_code, hdrs, response.content, response.headers.get("content-type", "application/json")
        )
        errors = list(oa_specs[api].iter_response_errors(req, resp))
        assert not errors, (
            f"{response.request.method} {req.path} -> {response.status_code}: {[str(e.__cause__ or e) for e in errors]}"
        )
        return response

    return check


@pytest.fixture
def refused_by_model(oa_specs: dict[str, Any]):
    """``refused_by_model(request)``: openapi-core alone finds the request invalid."""

    def check(request: httpx.Request) -> bool:
        api, req = _oa_request(request)
        return bool(list(oa_specs[api].iter_request_errors(req)))

    return check
