"""Faults on demand: each kind, by count or probability, deterministic with a seed, in-process and over HTTP."""

from __future__ import annotations

import json

import httpx
import pytest
from sim_support import DE, SELLER, SpApi, feed_doc, finish, make_sim, patch_msg, report, submit

from linkolis_host.testing.simulator import iso

ORDERS = "/orders/2026-01-01/orders"
PARTICIPATIONS = "/sellers/v1/marketplaceParticipations"


def test_a_429_storm_by_count_then_normal_service(sim):
    api = SpApi(sim)
    sim.faults.add(operation="searchOrders", kind="429", count=3)
    since = iso(sim.clock.time() - 86400)
    codes = [api.get(ORDERS, createdAfter=since).status_code for _ in range(5)]
    assert codes == [429, 429, 429, 200, 200]
    snap = sim.counters_snapshot()
    assert snap["faults"]["429"] == 3 and snap["throttled"]["searchOrders"] == 3


def test_probability_faults_repeat_with_the_same_seed(clock):
    def pattern(seed: int) -> list[int]:
        sim = make_sim(clock, seed=seed, orders=0, skus=2, rate_limits=False)
        sim.faults.add(kind="503", operation="getMarketplaceParticipations", probability=0.3)
        api = SpApi(sim)
        return [api.get(PARTICIPATIONS).status_code for _ in range(40)]

    a, b, c = pattern(7), pattern(7), pattern(8)
    assert a == b and a != c and 3 < a.count(503) < 25


@pytest.mark.parametrize("kind,status,code", [("500", 500, "InternalFailure"), ("503", 503, "ServiceUnavailable")])
def test_server_errors_in_amazons_shape(sim, conforms, kind, status, code):
    sim.faults.add(kind=kind, operation="getListingsItem", count=1)
    api = SpApi(sim)
    r = conforms(api.get(api.listing_path("X"), marketplaceIds=DE))
    assert r.status_code == status and r.json()["errors"][0]["code"] == code
    assert "x-amzn-RateLimit-Limit" not in r.headers


def test_dropped_and_refused_connections_in_process(sim):
    api = SpApi(sim)
    sim.faults.add(kind="drop", operation="getMarketplaceParticipations", count=1)
    sim.faults.add(kind="connect_error", operation="getMarketplaceParticipations", count=1)
    with pytest.raises(httpx.RemoteProtocolError):
        api.get(PARTICIPATIONS)
    with pytest.raises(httpx.ConnectError):
        api.get(PARTICIPATIONS)
    assert api.get(PARTICIPATIONS).status_code == 200


def test_a_dropped_connection_over_http(sim):
    sim.faults.add(kind="drop", operation="lwaToken", count=1)
    rt = sim.authorize()
    data = {
        "grant_type": "refresh_token",
        "refresh_token": rt,
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
    }
    with sim.serve() as base, httpx.Client(base_url=base, timeout=5) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            c.post("/auth/o2/token", data=data)
        assert c.post("/auth/o2/token", data=data).status_code == 200


def test_slow_answers_sleep_on_the_clock(sim, clock):
    api = SpApi(sim)
    sim.faults.add(kind="slow", operation="getMarketplaceParticipations", delay=42, count=1)
    slept = clock.slept
    assert api.get(PARTICIPATIONS).status_code == 200
    assert clock.slept - slept == 42


def test_malformed_json_after_the_work_is_done(sim, clock):
    api = SpApi(sim)
    sku = next(s for s, per in sim.stock_truth(SELLER)[SELLER].items() if DE in per and per[DE]["fulfillment"] == "MFN")
    sim.faults.add(kind="malformed_json", operation="patchListingsItem", count=1)
    body = {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 77}],
            }
        ],
    }
    r = api.patch(api.listing_path(sku), body, marketplaceIds=DE)
    with pytest.raises(json.JSONDecodeError):
        r.json()
    clock.advance(61)
    assert sim.stock_truth(SELLER)[SELLER][sku][DE]["quantity"] == 77


def test_a_refresh_token_revoked_mid_run(sim):
    api = SpApi(sim)
    sim.faults.add(kind="revoke_refresh_token", operation="lwaToken", count=1)
    data = {
        "grant_type": "refresh_token",
        "refresh_token": api.refresh_token,
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
    }
    first = api.http.post("/auth/o2/token", data=data)
    assert (first.status_code, first.json()["error"]) == (400, "invalid_grant")
    assert api.http.post("/auth/o2/token", data=data).status_code == 400  # revoked for good
    assert api.http.post("/auth/o2/token", data={**data, "refresh_token": sim.authorize()}).status_code == 200


def test_expired_pagination_tokens_on_demand(sim, conforms):
    api = SpApi(sim)
    since = iso(sim.clock.time() - 60 * 86400)
    token = api.get(ORDERS, createdAfter=since, maxResultsPerPage=5).json()["pagination"]["nextToken"]
    sim.faults.add(kind="expire_pagination_token", operation="searchOrders", count=1)
    r = conforms(api.get(ORDERS, createdAfter=since, maxResultsPerPage=5, paginationToken=token))
    assert r.status_code == 400 and "expired" in r.json()["errors"][0]["details"]


def test_feeds_that_end_fatal_on_demand(sim):
    api = SpApi(sim)
    sim.faults.add(kind="feed_fatal", operation="createFeed", count=1)
    sku = next(s for s, per in sim.stock_truth(SELLER)[SELLER].items() if DE in per and per[DE]["fulfillment"] == "MFN")
    feed = finish(api, submit(api, feed_doc([patch_msg(1, sku, 3)])))
    assert feed["processingStatus"] == "FATAL" and report(api, feed)["issues"][0]["code"] == "INTERNAL_ERROR"


def test_after_skips_the_first_calls_and_faults_are_armed_over_admin_too(sim):
    api = SpApi(sim)
    r = api.http.post(
        "/_sim/faults", json={"kind": "500", "operation": "getMarketplaceParticipations", "count": 1, "after": 2}
    )
    assert r.status_code == 200 and r.json()["kind"] == "500"
    assert [api.get(PARTICIPATIONS).status_code for _ in range(4)] == [200, 200, 500, 200]
    listed = api.http.get("/_sim/faults").json()["faults"]
    assert listed[0]["fired"] == 1 and listed[0]["seen"] == 3
    assert api.http.delete("/_sim/faults").status_code == 200 and sim.faults.list() == []
    assert api.http.post("/_sim/faults", json={"kind": "meteor"}).status_code == 400


def test_fault_kinds_are_validated(sim):
    with pytest.raises(ValueError):
        sim.faults.add(kind="feed_fatal", operation="getOrder")
    with pytest.raises(ValueError):
        sim.faults.add(kind="429", probability=1.5)
