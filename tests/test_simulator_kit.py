"""The simulator kit, as a plugin author uses it: Corner Shop's simulator (tests/corner_shop/simulator.py: an API key,
an orders and a stock endpoint, its own OpenAPI file, written with the kit's public names only) answers alike
in-process and over HTTP, refuses what its spec refuses, throttles, fails on demand and tells the truth over its
admin routes."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from corner_shop.simulator import KEY, CornerShop

from linkolis_host.clock import VirtualClock
from linkolis_host.testing.simulator import (
    SimRequest,
    command_line,
    json_response,
    linkolis_settings,
    serve_until_interrupted,
)

pytestmark = pytest.mark.no_store

SINCE = {"updated_since": "2026-05-01T00:00:00Z"}
HEADERS = {"x-api-key": KEY}


@pytest.fixture
def shop():
    shop = CornerShop(VirtualClock(1_780_000_000.0))
    shop.place("A-1", "MUG-1")
    shop.place("A-2", "TEA-2", qty=2)
    return shop


def test_the_shop_answers_alike_in_process_and_over_http(shop):
    with shop.client() as here:
        in_process = here.get("/v1/orders", params={**SINCE, "limit": 1}, headers=HEADERS)
    with shop.serve() as base_url, httpx.Client(base_url=base_url) as there:
        assert base_url.startswith("http://127.0.0.1:")
        over_http = there.get("/v1/orders", params={**SINCE, "limit": 1}, headers=HEADERS)
    assert in_process.status_code == over_http.status_code == 200
    assert in_process.json() == over_http.json()
    assert [o["id"] for o in in_process.json()["orders"]] == ["A-1"] and in_process.json()["after"] == "1"


def test_what_the_spec_refuses_is_refused_and_a_checked_transport_records_it(shop):
    wire = shop.checked_transport()
    with httpx.Client(transport=wire, base_url="https://api.corner.shop") as client:
        assert client.get("/v1/orders", params={**SINCE, "limit": 2}, headers=HEADERS).status_code == 200
        assert wire.problems == []
        refused = client.get("/v1/orders", params={**SINCE, "limit": 0}, headers=HEADERS)
        assert refused.status_code == 400 and "limit" in refused.json()["message"]
        assert client.get("/v1/orders", params=SINCE).status_code == 401
        assert client.put("/v1/stock/MUG-1", json={"quantity": -1}, headers=HEADERS).status_code == 400
    limit, header_in_spec, header_required, quantity = wire.problems  # a key left out breaks the spec and the kit
    assert "limit" in limit and "quantity" in quantity
    assert "x-api-key" in header_in_spec and "no x-api-key header" in header_required
    assert wire.count("/v1/orders") == 3
    assert shop.stock["MUG-1"] == 3  # the refused quantity changed nothing


def test_an_answer_against_the_spec_is_found(shop):
    request = SimRequest.build("GET", "/v1/orders?updated_since=2026-05-01T00:00:00Z", HEADERS.items())
    assert shop.contract.response_problems(request, shop.handle(request)) == []
    assert shop.contract.response_problems(request, json_response(200, {"shop": "s", "orders": [{}]}))


def test_an_empty_bucket_answers_429_until_the_clock_moves_on(shop):
    with shop.client() as client:
        answers = [client.get("/v1/orders", params=SINCE, headers=HEADERS) for _ in range(6)]
        assert [a.status_code for a in answers] == [200] * 5 + [429]  # a burst of 5, one a second after it
        assert answers[5].headers["retry-after"] == "1"
        assert client.post("/_sim/clock/advance", json={"seconds": 1}).json()["now"] == "2026-05-28T20:26:41Z"
        assert client.get("/v1/orders", params=SINCE, headers=HEADERS).status_code == 200
        counted = client.get("/_sim/counters").json()
    assert counted["calls"] == {"listOrders": 7} and counted["throttled"] == {"listOrders": 1}
    assert shop.counters["listOrders"] == 7


def test_faults_armed_over_the_admin_routes_fire_as_armed(shop):
    with shop.client() as client:
        armed = client.post("/_sim/faults", json={"kind": "500", "operation": "putStock", "count": 1})
        assert armed.status_code == 200 and armed.json()["kind"] == "500"
        put = [client.put("/v1/stock/MUG-1", json={"quantity": 7}, headers=HEADERS).status_code for _ in range(2)]
        assert put == [500, 200]
        assert client.post("/_sim/faults", json={"kind": "meteor"}).status_code == 400
        assert client.get("/_sim/stock").json() == {"MUG-1": 7, "TEA-2": 0}
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
