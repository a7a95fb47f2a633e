"""The simulator kit, as a plugin author uses it: a corner shop's marketplace (an API key, one orders endpoint, its
own OpenAPI file) written with the kit's public names only, answering alike in-process and over HTTP, refusing what
its spec refuses, throttling, failing on demand and telling the truth over its admin routes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from linkolis_host.clock import Clock, VirtualClock
from linkolis_host.testing.simulator import (
    STANDARD_ROUTES,
    AdminRoutes,
    BaseSimulator,
    Contract,
    FaultInjector,
    SimRequest,
    SimResponse,
    command_line,
    json_response,
    linkolis_settings,
    serve_until_interrupted,
)

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Corner shop", "version": "1"},
    "servers": [{"url": "https://api.corner.shop"}],
    "paths": {
        "/v1/orders": {
            "get": {
                "operationId": "listOrders",
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50}}
                ],
                "responses": {
                    "200": {
                        "description": "orders",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["orders"],
                                    "properties": {
                                        "orders": {
                                            "type": "array",
                                            "items": {
                                                "type": "object",
                                                "required": ["id"],
                                                "properties": {"id": {"type": "string"}},
                                            },
                                        }
                                    },
                                }
                            }
                        },
                    },
                    "default": {"description": "an error", "content": {"application/json": {"schema": {}}}},
                },
            }
        }
    },
}
ROUTES = AdminRoutes(STANDARD_ROUTES)
ROUTES.add("GET", r"/_sim/orders", lambda sim, request, body, match: {"orders": sim.orders})


class CornerShop(BaseSimulator):
    """The whole marketplace: an API key, two orders, a bucket of 2 calls refilled at one a second."""

    required_headers = {"x-api-key": ""}
    admin_routes = ROUTES

    def __init__(self, clock: Clock, spec: Path) -> None:
        super().__init__(clock, FaultInjector({"500": "answer 500"}))
        self.contract = Contract({"shop": spec}, prefixes={"/v1/": "shop"})  # type: ignore[misc]
        self.orders = ["A-1", "A-2"]

    def answer(self, request: SimRequest) -> SimResponse:
        found = self.contract.route(request.method, request.raw_path)
        if found is None:
            return json_response(404, {"error": "no such route"})
        operation = found[0].operation_id
        self.counters.call(operation)
        if request.headers.get("x-api-key") != "key-1":
            return json_response(401, {"error": "a valid x-api-key is required"})
        if self.faults.pick(operation):
            return json_response(500, {"error": "simulated"})
        quota = self.limiter.quota("key-1", operation, 1.0, 2, self.clock.time())
        if not quota.allowed:
            self.counters.throttle(operation)
            return json_response(429, {"error": "slow down"}, [("Retry-After", str(quota.retry_after))])
        problems = self.contract.request_problems(request)
        if problems:
            return json_response(400, {"error": "; ".join(p.details for p in problems)})
        limit = int(request.q("limit") or 50)
        return json_response(200, {"orders": [{"id": order} for order in self.orders[:limit]]})


@pytest.fixture
def shop(tmp_path):
    spec = tmp_path / "corner-shop.json"
    spec.write_text(json.dumps(SPEC), encoding="utf-8")
    return CornerShop(VirtualClock(1_780_000_000.0), spec)


KEY = {"x-api-key": "key-1"}


def test_the_shop_answers_alike_in_process_and_over_http(shop):
    with shop.client() as here:
        in_process = here.get("/v1/orders", params={"limit": 1}, headers=KEY)
    with shop.serve() as base_url, httpx.Client(base_url=base_url) as there:
        assert base_url.startswith("http://127.0.0.1:")
        over_http = there.get("/v1/orders", params={"limit": 1}, headers=KEY)
    assert in_process.status_code == over_http.status_code == 200
    assert in_process.json() == over_http.json() == {"orders": [{"id": "A-1"}]}


def test_what_the_spec_refuses_is_refused_and_a_checked_transport_records_it(shop):
    wire = shop.checked_transport()
    with httpx.Client(transport=wire, base_url="https://api.corner.shop") as client:
        assert client.get("/v1/orders", params={"limit": 2}, headers=KEY).status_code == 200
        assert wire.problems == []
        refused = client.get("/v1/orders", params={"limit": 0}, headers=KEY)
        assert refused.status_code == 400 and "limit" in refused.json()["error"]
        assert client.get("/v1/orders").status_code == 401
    assert len(wire.problems) == 2
    assert "limit" in wire.problems[0] and "x-api-key" in wire.problems[1]
    assert wire.count("/v1/orders") == 3


def test_an_answer_against_the_spec_is_found(shop):
    request = SimRequest.build("GET", "/v1/orders", KEY.items())
    assert shop.contract.response_problems(request, shop.handle(request)) == []
    assert shop.contract.response_problems(request, json_response(200, {"orders": [{}]}))


def test_an_empty_bucket_answers_429_until_the_clock_moves_on(shop):
    with shop.client() as client:
        answers = [client.get("/v1/orders", headers=KEY) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert answers[2].headers["retry-after"] == "1"
        assert client.post("/_sim/clock/advance", json={"seconds": 1}).json()["now"] == "2026-05-28T20:26:41Z"
        assert client.get("/v1/orders", headers=KEY).status_code == 200
        counted = client.get("/_sim/counters").json()
    assert counted["calls"] == {"listOrders": 4} and counted["throttled"] == {"listOrders": 1}
    assert shop.counters["listOrders"] == 4


def test_faults_armed_over_the_admin_routes_fire_as_armed(shop):
    with shop.client() as client:
        armed = client.post("/_sim/faults", json={"kind": "500", "operation": "listOrders", "count": 1})
        assert armed.status_code == 200 and armed.json()["kind"] == "500"
        assert [client.get("/v1/orders", headers=KEY).status_code for _ in range(2)] == [500, 200]
        assert client.post("/_sim/faults", json={"kind": "meteor"}).status_code == 400
        assert client.get("/_sim/orders").json() == {"orders": ["A-1", "A-2"]}
        assert client.get("/_sim/nothing").status_code == 404
    assert shop.counters.faults == {"500": 1}


def test_the_command_line_points_linkolis_at_the_simulator_and_refuses_other_hosts(shop, capsys):
    printed = linkolis_settings("shop", {"endpoint": "http://127.0.0.1:8400"}, "127.0.0.1")
    assert "export LINKOLIS_SHOP_ENDPOINT=http://127.0.0.1:8400" in printed
    assert '[plugins.shop]\nendpoint = "http://127.0.0.1:8400"' in printed
    assert "allow_insecure_endpoint = true" in linkolis_settings("shop", {"endpoint": "http://10.0.0.5"}, "10.0.0.5")
    args = command_line("python -m shop", "A corner shop.", "Examples: none").parse_args(["--host", "10.0.0.5"])
    assert serve_until_interrupted(lambda clock: shop, args, lambda sim, base_url: []) == 2
    assert "non-loopback" in capsys.readouterr().err


def test_a_simulator_runs_where_pytest_is_not_installed():
    # ``linkolis demo`` runs the plugins' simulators for an operator, whose install has no test tools.
    code = (
        "import sys; sys.modules['pytest'] = None\n"
        "import linkolis_host.testing.simulator, linkolis_amazon.simulator, linkolis_bol.simulator\n"
        "from linkolis_host.testing import assert_conformance"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
