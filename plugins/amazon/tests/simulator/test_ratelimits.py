"""Rate limits as Amazon applies them: token buckets per (selling partner, operation), the models' usage plans,
the headers, and the counters benchmarks print."""

from __future__ import annotations

import pytest
from linkolis_amazon.simulator import contract
from linkolis_amazon.simulator.marketplaces import resolve
from sim_support import DE, SELLER, SpApi, make_sim

PARTICIPATIONS = "/sellers/v1/marketplaceParticipations"
DOCUMENTED = {
    "searchOrders": ("0.0056", 20),
    "getOrder": ("0.5", 30),
    "getOrders": ("0.0167", 20),  # Orders v0
    "getOrderItems": ("0.5", 30),
    "confirmShipment": ("2", 10),
    "getListingsItem": ("5", 10),
    "searchListingsItems": ("5", 5),
    "patchListingsItem": ("5", 5),
    "createFeedDocument": ("0.5", 15),
    "createFeed": ("0.0083", 15),
    "getFeed": ("2", 15),
    "getFeedDocument": ("0.0222", 10),
    "getFeeds": ("0.0222", 10),
    "getMarketplaceParticipations": ("0.016", 15),
}


@pytest.mark.parametrize("op,plan", DOCUMENTED.items())
def test_usage_plans_come_from_the_models(op, plan):
    usage = contract.plan(contract.SPAPI.operation(op))
    assert (usage.rate, usage.burst) == plan


def test_the_bucket_starts_full_then_throttles_then_refills_with_the_clock(sim, clock, conforms):
    api = SpApi(sim)
    for _ in range(15):
        r = conforms(api.get(PARTICIPATIONS))
        assert r.status_code == 200 and r.headers["x-amzn-RateLimit-Limit"] == "0.016"
    r = conforms(api.get(PARTICIPATIONS))
    assert r.status_code == 429
    assert r.json() == {
        "errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}]
    }
    assert "x-amzn-RateLimit-Limit" not in r.headers and r.headers["x-amzn-RequestId"]
    clock.advance(1 / 0.016 + 0.1)
    assert api.get(PARTICIPATIONS).status_code == 200
    assert api.get(PARTICIPATIONS).status_code == 429


def test_buckets_are_per_selling_partner_and_per_operation(sim):
    sim.add_account("A5SECONDSELLER", ["DE"])
    one, two = SpApi(sim), SpApi(sim, "A5SECONDSELLER")
    for _ in range(15):
        one.get(PARTICIPATIONS)
    assert one.get(PARTICIPATIONS).status_code == 429
    assert two.get(PARTICIPATIONS).status_code == 200
    assert one.get(f"/listings/2021-08-01/items/{one.seller}", marketplaceIds=DE).status_code == 200


def test_rate_header_on_2xx_400_404_never_on_403_429(sim, clock):
    api = SpApi(sim)
    path = f"/listings/2021-08-01/items/{api.seller}"
    ok = api.get(path, marketplaceIds=DE)
    bad = api.get(path)  # marketplaceIds missing
    missing = api.get(api.listing_path("NOPE"), marketplaceIds=DE)
    denied = api.http.get(
        path, params={"marketplaceIds": DE}, headers={"user-agent": "x", "x-amz-access-token": "Atza|sim-bogus"}
    )
    assert [r.status_code for r in (ok, bad, missing, denied)] == [200, 400, 404, 403]
    assert all(r.headers["x-amzn-RateLimit-Limit"] == "5" for r in (ok, bad, missing))
    assert "x-amzn-RateLimit-Limit" not in denied.headers
    assert all(r.headers["x-amzn-RequestId"] for r in (ok, bad, missing, denied))


def test_user_agent_is_required_and_at_most_500_characters(sim, conforms):
    api = SpApi(sim)
    for ua in ("", "x" * 501):
        r = conforms(api.http.get(PARTICIPATIONS, headers={"x-amz-access-token": api.token, "user-agent": ua}))
        assert r.status_code == 400 and r.json()["errors"][0]["code"] == "InvalidInput"
    assert (
        api.http.get(PARTICIPATIONS, headers={"x-amz-access-token": api.token, "user-agent": "x" * 500}).status_code
        == 200
    )


def test_missing_and_unknown_tokens_are_403_unauthorized(sim, conforms):
    with sim.client() as c:
        for headers in ({"user-agent": "t"}, {"user-agent": "t", "x-amz-access-token": "Atza|sim-unknown"}):
            r = conforms(c.get(PARTICIPATIONS, headers=headers))
            err = r.json()["errors"][0]
            assert r.status_code == 403 and (err["code"], err["message"]) == (
                "Unauthorized",
                "Access to requested resource is denied.",
            )
            assert err["details"]


def test_counters_tell_calls_statuses_and_throttles_in_process_and_over_admin(sim):
    api = SpApi(sim)
    for _ in range(17):
        api.get(PARTICIPATIONS)
    snap = sim.counters_snapshot()
    assert snap["calls"]["getMarketplaceParticipations"] == 17
    assert snap["throttled"]["getMarketplaceParticipations"] == 2
    assert snap["statuses"]["getMarketplaceParticipations"] == {"200": 15, "429": 2}
    over_admin = api.http.get("/_sim/counters").json()
    assert over_admin["calls"] == snap["calls"] and over_admin["total_throttled"] == 2
    api.http.post("/_sim/counters/reset")
    assert sim.counters_snapshot()["total_calls"] == 0


def test_sellers_participations_and_the_role_it_needs(sim, conforms):
    r = conforms(SpApi(sim).get(PARTICIPATIONS))
    payload = r.json()["payload"]
    assert {p["marketplace"]["countryCode"] for p in payload} == {"DE", "FR", "IT", "ES", "NL", "GB", "US"}
    de = next(p for p in payload if p["marketplace"]["id"] == DE)
    assert de["marketplace"]["defaultCurrencyCode"] == "EUR" and de["participation"]["isParticipating"] is True
    sim.add_account("A6NOFINANCE001", ["DE"], roles=["orders", "listings"])
    denied = conforms(SpApi(sim, "A6NOFINANCE001").get(PARTICIPATIONS))
    assert denied.status_code == 403 and denied.json()["errors"][0]["code"] == "Unauthorized"


def test_many_sellers_each_with_seeded_data_in_one_marketplace_and_buckets_of_their_own(clock):
    sim = make_sim(clock, sellers=3, orders=30, skus=6, marketplaces=("DE", "FR", "IT"))
    assert sim.seller_ids == [SELLER, "A1SIMS00000002", "A1SIMS00000003"]
    for seller, market in zip(sim.seller_ids, ("DE", "FR", "IT"), strict=True):
        orders = sim.orders_truth(seller)
        assert orders and {o["marketplaceId"] for o in orders} == {resolve(market).id}
        assert set(sim.stock_truth(seller)[seller])
    apis = [SpApi(sim, seller) for seller in sim.seller_ids]  # self-authorized, as the admin endpoint does
    for _ in range(15):
        apis[0].get(PARTICIPATIONS)
    assert apis[0].get(PARTICIPATIONS).status_code == 429
    assert all(api.get(PARTICIPATIONS).status_code == 200 for api in apis[1:])


def test_a_simulator_of_no_sellers_is_refused(clock):
    with pytest.raises(ValueError, match="at least 1"):
        make_sim(clock, sellers=0)
