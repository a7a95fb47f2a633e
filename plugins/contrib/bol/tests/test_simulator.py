"""The simulator keeps bol's rules: its spec, its auth, its quotas, and a command line."""

from __future__ import annotations

import base64
import subprocess
import sys

import httpx
import pytest
from linkolis_bol.simulator import ContractViolation, Simulator

V10 = "application/vnd.retailer.v10+json"


@pytest.fixture
def bol(sim):
    return httpx.Client(transport=sim.transport(), base_url="https://bol.sim.test")


def _token(bol, sim, secret=None):
    basic = base64.b64encode(f"{sim.client_id}:{secret or sim.client_secret}".encode()).decode()
    return bol.post(
        "/token",
        params={"grant_type": "client_credentials"},
        headers={"authorization": f"Basic {basic}", "accept": "application/json"},
    )


def test_requests_against_the_spec_are_refused_with_a_problem_naming_it(bol, sim):
    token = _token(bol, sim).json()["access_token"]
    response = bol.put(
        f"/retailer/offers/{sim.offers[0].offer_id}/stock",
        json={"amount": 5},
        headers={"authorization": f"Bearer {token}", "accept": V10, "content-type": V10},
    )
    assert response.status_code == 400 and "managedByRetailer" in response.json()["detail"]
    response = bol.get("/retailer/orders", headers={"authorization": f"Bearer {token}", "accept": "application/json"})
    assert response.status_code == 406


def test_tokens_expire_and_asking_too_often_blocks_the_caller(bol, sim, clock):
    assert _token(bol, sim, secret="wrong").status_code == 401
    token = _token(bol, sim).json()["access_token"]
    headers = {"authorization": f"Bearer {token}", "accept": V10}
    assert bol.get("/retailer/orders", headers=headers).status_code == 200
    clock.advance(300)
    assert bol.get("/retailer/orders", headers=headers).json()["title"] == "Expired JWT"
    answers = [_token(bol, sim).status_code for _ in range(11)]
    assert answers[-1] == 403 and _token(bol, sim).status_code == 403


def test_an_empty_bucket_answers_429_with_retry_after_and_the_headers(clock):
    sim = Simulator(clock, orders=1, offers=1, limits={"get-orders": (2, 10.0)})
    bol = httpx.Client(transport=sim.transport(), base_url="https://bol.sim.test")
    token = _token(bol, sim).json()["access_token"]
    headers = {"authorization": f"Bearer {token}", "accept": V10}
    first, second, third = (bol.get("/retailer/orders", headers=headers) for _ in range(3))
    assert (first.headers["x-ratelimit-limit"], first.headers["x-ratelimit-remaining"]) == ("2", "1")
    assert third.status_code == 429 and third.headers["retry-after"] == "5"


def test_an_answer_against_the_spec_is_a_simulator_bug(sim, bol, monkeypatch):
    token = _token(bol, sim).json()["access_token"]
    monkeypatch.setattr(Simulator, "_op_get_orders", lambda self, request, params: self._json(200, {"orders": [{}]}))
    with pytest.raises(ContractViolation):
        bol.get("/retailer/orders", headers={"authorization": f"Bearer {token}", "accept": V10})


def test_the_simulator_has_a_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "linkolis_bol.simulator", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and "LINKOLIS_BOL_ENDPOINT" in result.stdout


def test_a_buyer_orders_through_the_admin_route_and_the_offer_shows_fewer_units(clock):
    sim = Simulator(clock, orders=0, offers=3, fbb_share=0.0)
    admin = httpx.Client(transport=sim.transport(), base_url="https://bol.sim.test")
    reference, offer = next(iter(admin.get("/_sim/stock").json().items()))
    placed = admin.post("/_sim/orders", json={"reference": reference, "quantity": 2}).json()
    assert [(i["reference"], i["quantity"]) for i in placed["items"]] == [(reference, 2)]
    assert admin.get("/_sim/orders").json()["orders"] == [placed]
    assert admin.get("/_sim/stock").json()[reference]["corrected"] == max(0, offer["corrected"] - 2)
    refused = admin.post("/_sim/orders", json={"reference": "NO-SUCH-OFFER"})
    assert refused.status_code == 400 and "NO-SUCH-OFFER" in refused.json()["error"]
