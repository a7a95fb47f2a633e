"""Orders API v2026-01-01: searchOrders and getOrder as the model (and its prose) says they behave."""

from __future__ import annotations

from sim_support import DE, SELLER, US, SpApi, make_sim

from linkolis_host.testing.simulator import iso, parse_iso

ORDERS = "/orders/2026-01-01/orders"
ALL_DATA = [
    "BUYER",
    "RECIPIENT",
    "PROCEEDS",
    "EXPENSE",
    "PROMOTION",
    "CANCELLATION",
    "FULFILLMENT",
    "PACKAGES",
    "TAX",
    "PAYMENT",
    "FULFILLMENT_ORDERS",
]


def all_pages(api: SpApi, conforms, **params) -> tuple[list[dict], list[dict]]:
    """Every order of a search, page by page, repeating the parameters as the model demands."""
    orders, bodies = [], []
    token = None
    while True:
        r = api.get(ORDERS, **params, paginationToken=token)
        conforms(r)
        assert r.status_code == 200, r.text
        body = r.json()
        bodies.append(body)
        orders += body["orders"]
        token = body.get("pagination", {}).get("nextToken")
        if token is None:
            return orders, bodies


def test_search_pages_carry_every_order_exactly_once(sim, conforms):
    api = SpApi(sim, patient=True)
    since = iso(sim.clock.time() - 60 * 86400)
    orders, bodies = all_pages(api, conforms, createdAfter=since, maxResultsPerPage=7, includedData=ALL_DATA)
    ids = [o["orderId"] for o in orders]
    assert len(ids) == len(set(ids))
    before = parse_iso(bodies[0]["createdBefore"])
    truth = {o["orderId"] for o in sim.orders_truth(SELLER) if parse_iso(o["createdTime"]) <= before}
    assert set(ids) == truth and len(truth) > 100
    assert all("pagination" in b for b in bodies[:-1]) and "pagination" not in bodies[-1]
    assert [o["createdTime"] for o in orders] == sorted(o["createdTime"] for o in orders)


def test_orders_look_like_amazons(sim, conforms):
    api = SpApi(sim, patient=True)
    orders, _ = all_pages(api, conforms, createdAfter=iso(sim.clock.time() - 60 * 86400), includedData=ALL_DATA)
    statuses = {o["fulfillment"]["fulfillmentStatus"] for o in orders}
    assert {"SHIPPED", "UNSHIPPED"} <= statuses and statuses <= {
        "PENDING",
        "UNSHIPPED",
        "PARTIALLY_SHIPPED",
        "SHIPPED",
        "CANCELLED",
    }
    assert {o["fulfillment"]["fulfilledBy"] for o in orders} == {"AMAZON", "MERCHANT"}
    by_market = {o["salesChannel"]["marketplaceId"]: o for o in orders if "proceeds" in o}
    assert by_market[DE]["proceeds"]["grandTotal"]["currencyCode"] == "EUR"
    assert by_market[US]["proceeds"]["grandTotal"]["currencyCode"] == "USD"
    assert any(len(o["orderItems"]) > 1 for o in orders)
    for o in orders:
        for item in o["orderItems"]:
            price = item["product"].get("price")
            if price:
                assert set(price["unitPrice"]) == {"amount", "currencyCode"} and "." in price["unitPrice"]["amount"]


def test_buyer_and_recipient_need_the_roles(sim, conforms):
    sim.add_account("A2NOPIISELLER1", ["DE"], roles=["orders", "listings"], orders=40, skus=10)
    with_roles, without = SpApi(sim, patient=True), SpApi(sim, "A2NOPIISELLER1", patient=True)
    since = iso(sim.clock.time() - 60 * 86400)
    mine, _ = all_pages(with_roles, conforms, createdAfter=since, includedData=["BUYER", "RECIPIENT", "FULFILLMENT"])
    theirs, _ = all_pages(without, conforms, createdAfter=since, includedData=["BUYER", "RECIPIENT", "FULFILLMENT"])
    shipped_fbm = [
        o
        for o in mine
        if o["fulfillment"]["fulfillmentStatus"] == "SHIPPED" and o["fulfillment"]["fulfilledBy"] == "MERCHANT"
    ]
    assert shipped_fbm and all("buyerEmail" in o["buyer"] and "deliveryAddress" in o["recipient"] for o in shipped_fbm)
    assert theirs and not any("buyer" in o or "recipient" in o for o in theirs)


def test_without_included_data_only_basic_information_comes(api, conforms):
    r = conforms(api.get(ORDERS, createdAfter=iso(api.sim.clock.time() - 60 * 86400), maxResultsPerPage=20))
    for o in r.json()["orders"]:
        assert set(o) <= {"orderId", "createdTime", "lastUpdatedTime", "programs", "salesChannel", "orderItems"}


def test_exactly_one_of_created_after_and_last_updated_after(api, conforms):
    t = iso(api.sim.clock.time() - 86400)
    for params in (
        {},
        {"createdAfter": t, "lastUpdatedAfter": t},
        {"createdAfter": t, "lastUpdatedBefore": t},
        {"lastUpdatedAfter": t, "createdBefore": t},
    ):
        r = conforms(api.get(ORDERS, **params))
        assert r.status_code == 400 and r.json()["errors"][0]["code"] == "InvalidInput", params
        assert r.headers["x-amzn-RateLimit-Limit"] == "0.0056"


def test_before_must_be_two_minutes_in_the_past(api, conforms):
    now = api.sim.clock.time()
    assert conforms(api.get(ORDERS, createdAfter=iso(now - 86400), createdBefore=iso(now - 60))).status_code == 400
    assert conforms(api.get(ORDERS, createdAfter=iso(now - 86400), createdBefore=iso(now - 121))).status_code == 200
    assert conforms(api.get(ORDERS, lastUpdatedAfter=iso(now - 60))).status_code == 400  # after the implied before
    r = conforms(api.get(ORDERS, lastUpdatedAfter=iso(now - 3600)))
    assert r.json()["lastUpdatedBefore"] == iso(now - 120)


def test_max_results_per_page_is_1_to_100(api, conforms, refused_by_model):
    t = iso(api.sim.clock.time() - 86400)
    for bad in (0, 101):
        assert conforms(api.get(ORDERS, createdAfter=t, maxResultsPerPage=bad)).status_code == 400
    r = api.get(ORDERS, createdAfter=t, maxResultsPerPage="ten")
    assert r.status_code == 400 and refused_by_model(r.request)
    assert conforms(api.get(ORDERS, createdAfter=t, maxResultsPerPage=100)).status_code == 200


def test_a_pagination_token_needs_the_same_parameters_except_page_size_and_data(api, conforms):
    now = api.sim.clock.time()
    first = api.get(ORDERS, createdAfter=iso(now - 60 * 86400), maxResultsPerPage=5).json()
    token = first["pagination"]["nextToken"]
    changed = conforms(api.get(ORDERS, createdAfter=iso(now - 59 * 86400), maxResultsPerPage=5, paginationToken=token))
    assert changed.status_code == 400 and "paginationToken" in changed.json()["errors"][0]["details"]
    dropped = api.get(ORDERS, paginationToken=token)
    assert dropped.status_code == 400
    ok = conforms(
        api.get(
            ORDERS,
            createdAfter=iso(now - 60 * 86400),
            maxResultsPerPage=9,
            includedData="FULFILLMENT",
            paginationToken=token,
        )
    )
    assert ok.status_code == 200 and len(ok.json()["orders"]) == 9
    assert ok.json()["orders"][0]["orderId"] not in {o["orderId"] for o in first["orders"]}


def test_a_pagination_token_expires_after_24_hours(api, conforms, clock):
    since = iso(clock.time() - 60 * 86400)
    token = api.get(ORDERS, createdAfter=since, maxResultsPerPage=5).json()["pagination"]["nextToken"]
    clock.advance(86400 - 10)
    assert api.get(ORDERS, createdAfter=since, maxResultsPerPage=5, paginationToken=token).status_code == 200
    clock.advance(20)
    r = conforms(api.get(ORDERS, createdAfter=since, maxResultsPerPage=5, paginationToken=token))
    assert r.status_code == 400 and "expired" in r.json()["errors"][0]["details"]


def test_orders_older_than_two_years_are_not_returned(sim, api, conforms):
    sku = next(iter(sim.stock_truth(SELLER)[SELLER]))
    old = sim.add_order([(sku, 1)], "DE", created=sim.clock.time() - 731 * 86400, consume_stock=False)
    recent = sim.add_order([(sku, 1)], "DE", created=sim.clock.time() - 700 * 86400, consume_stock=False)
    ids = {
        o["orderId"]
        for o in api.get(
            ORDERS, createdAfter=iso(sim.clock.time() - 800 * 86400), createdBefore=iso(sim.clock.time() - 600 * 86400)
        ).json()["orders"]
    }
    assert recent in ids and old not in ids
    assert conforms(api.get(f"{ORDERS}/{old}")).status_code == 404


def test_statuses_move_on_and_last_updated_time_advances(sim, api, conforms, clock):
    sku = next(iter(sim.stock_truth(SELLER)[SELLER]))
    oid = sim.add_order([(sku, 2)], "DE")
    seen = conforms(api.get(f"{ORDERS}/{oid}", includedData="FULFILLMENT")).json()["order"]
    assert seen["fulfillment"]["fulfillmentStatus"] == "PENDING" and "price" not in seen["orderItems"][0]["product"]
    clock.advance(600)
    sim.advance_order(oid)  # payment authorized
    clock.advance(300)
    later = conforms(api.get(f"{ORDERS}/{oid}", includedData="FULFILLMENT")).json()["order"]
    assert (
        later["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED" and later["lastUpdatedTime"] > seen["lastUpdatedTime"]
    )
    sim.advance_order(oid, "CANCELLED")
    clock.advance(300)
    changed = api.get(ORDERS, lastUpdatedAfter=iso(clock.time() - 400), includedData="FULFILLMENT").json()["orders"]
    assert [o["fulfillment"]["fulfillmentStatus"] for o in changed if o["orderId"] == oid] == ["CANCELLED"]


def test_generated_timelines_keep_moving_as_the_clock_runs(clock):
    sim = make_sim(clock, orders=300, order_window_days=3)
    before = {o["orderId"]: (o["status"], o["lastUpdatedTime"]) for o in sim.orders_truth()}
    clock.advance(4 * 86400)
    after = {o["orderId"]: (o["status"], o["lastUpdatedTime"]) for o in sim.orders_truth()}
    moved = [k for k in before if before[k] != after[k]]
    assert len(moved) > 50
    assert all(after[k][1] >= before[k][1] for k in before)


def test_new_orders_arrive_as_the_clock_runs_and_take_stock(clock):
    sim = make_sim(clock, orders=50, skus=20, new_orders_per_hour=30)
    n0 = len(sim.orders_truth())
    stock0 = sum(m["quantity"] for s in sim.stock_truth(SELLER)[SELLER].values() for m in s.values())
    clock.advance(2 * 3600)
    n1 = len(sim.orders_truth())
    stock1 = sum(m["quantity"] for s in sim.stock_truth(SELLER)[SELLER].values() for m in s.values())
    assert 30 <= n1 - n0 <= 95 and stock1 < stock0


def test_get_order_returns_one_order_and_refuses_bad_ids(sim, api, conforms):
    oid = sim.orders_truth(SELLER)[0]["orderId"]
    r = conforms(api.get(f"{ORDERS}/{oid}", includedData=["BUYER", "PROCEEDS"]))
    assert r.status_code == 200 and r.json()["order"]["orderId"] == oid and r.headers["x-amzn-RateLimit-Limit"] == "0.5"
    missing = conforms(api.get(f"{ORDERS}/999-0000000-0000000"))
    assert missing.status_code == 404 and missing.headers["x-amzn-RateLimit-Limit"] == "0.5"
    assert conforms(api.get(f"{ORDERS}/not-an-order")).status_code == 400


def test_an_account_without_the_orders_role_gets_403(sim, conforms):
    sim.add_account("A3LISTINGSONLY", ["DE"], roles=["listings"])
    r = conforms(SpApi(sim, "A3LISTINGSONLY").get(ORDERS, createdAfter=iso(sim.clock.time() - 86400)))
    assert r.status_code == 403 and r.json()["errors"][0]["code"] == "Unauthorized"
    assert "x-amzn-RateLimit-Limit" not in r.headers and r.headers["x-amzn-RequestId"]
