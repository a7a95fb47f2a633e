"""New Amazon orders arrive in linkolis: searchOrders v2026-01-01, page by page, losing nothing, never twice."""

from __future__ import annotations

import math
import random

import httpx
import pytest
from linkolis_amazon.orders import SETTLE

from linkolis_host import apps, orders
from linkolis_host.errors import AuthorizationRevoked
from linkolis_host.host import Host

DE = "A1PA6795UKMFR9"


@pytest.fixture
def sim_options():
    return {"orders": 420, "skus": 24, "order_window_days": 6, "marketplaces": ("DE", "FR")}


def truth_de(sim):
    return {o["orderId"]: o for o in sim.orders_truth() if o["marketplaceId"] == DE}


def held(host):
    return {r["marketplace_order_id"]: r for r in host.db.query("SELECT * FROM orders")}


def search_calls(sim):
    return sim.counters_snapshot()["calls"].get("searchOrders", 0)


def test_first_import_brings_every_order_of_the_marketplace_in_pages_of_100(run, authorized, sim, host, clock):
    clock.advance(600)  # let the newest orders settle past Amazon's two-minute rule
    before = search_calls(sim)
    summary = run.json("orders", "import")
    truth = truth_de(sim)
    assert set(held(host)) == set(truth)
    assert summary["new"] == len(truth) and summary["updated"] == 0
    assert search_calls(sim) - before == math.ceil(len(truth) / 100) == summary["batches"]
    for order_id, order in held(host).items():
        assert order["marketplace_status"] == truth[order_id]["status"]
        assert order["marketplace"] == DE


def test_an_order_is_stored_with_lines_money_and_fulfilment(run, authorized, sim, host, clock):
    sim.add_listing("MUG-01", ["DE"], quantity=30)
    order_id = sim.add_order([("MUG-01", 2)], "DE", status="UNSHIPPED")
    clock.advance(600)
    run("orders", "import")
    order = run.json("orders", "show", order_id)
    assert order["status"] == "unshipped" and order["marketplace_status"] == "UNSHIPPED"
    assert order["fulfilled_by"] == "merchant"
    assert order["currency"] == "EUR"
    [line] = order["lines"]
    assert (line["sku"], line["quantity_ordered"]) == ("MUG-01", 2)
    # 19.99 with 19 % VAT inside: Amazon's unit price is the net 16.80, the tax on top, the total what the buyer paid.
    assert (line["unit_price"], line["subtotal"], line["tax"], line["total"]) == ("16.80", "33.60", "6.38", "39.98")
    assert order["total"] is not None
    assert order["recipient"] and order["recipient"]["country_code"] == "DE", "the roles allow the address"


def test_a_second_import_with_nothing_new_makes_one_call_and_adds_nothing(run, authorized, sim, host, clock):
    clock.advance(600)
    run("orders", "import")
    rows = host.db["orders"].count
    clock.advance(300)
    before = search_calls(sim)
    summary = run.json("orders", "import")
    assert search_calls(sim) - before == 1
    assert summary["new"] == 0 and summary["updated"] == 0
    assert host.db["orders"].count == rows


def test_status_changes_and_cancellations_after_import_update_the_order_and_its_history(
    run, authorized, sim, host, clock
):
    sim.add_listing("LAMP-2", ["DE"])
    shipped = sim.add_order([("LAMP-2", 1)], "DE", status="UNSHIPPED")
    cancelled = sim.add_order([("LAMP-2", 1)], "DE", status="PENDING")
    clock.advance(600)
    run("orders", "import")
    sim.advance_order(shipped, "SHIPPED")
    sim.advance_order(cancelled, "CANCELLED")
    clock.advance(600)
    summary = run.json("orders", "import")
    assert summary["updated"] >= 2 and summary["new"] == 0
    assert run.json("orders", "show", shipped)["status"] == "shipped"
    gone = run.json("orders", "show", cancelled)
    assert gone["status"] == "cancelled"
    assert [h["marketplace_status"] for h in gone["history"]] == ["PENDING", "CANCELLED"]
    assert host.db["orders"].count == len(truth_de(sim))


def test_a_late_update_on_the_window_boundary_is_not_missed(run, authorized, sim, host, clock):
    sim.add_listing("EDGE-1", ["DE"])
    clock.advance(600)
    run("orders", "import")
    # An order that Amazon makes visible late, stamped just before the last window's end.
    late = sim.add_order([("EDGE-1", 1)], "DE", created=clock.time() - 160, status="UNSHIPPED")
    clock.advance(600)
    run("orders", "import")
    assert late in held(host)


def test_an_expired_pagination_token_restarts_the_window_not_the_import(run, authorized, sim, host, clock):
    clock.advance(600)
    sim.faults.add("expire_pagination_token", "searchOrders", count=1)
    summary = run.json("orders", "import")
    assert set(held(host)) == set(truth_de(sim))
    assert summary["new"] == len(truth_de(sim))


@pytest.mark.parametrize("kind", ["429", "500", "503", "drop", "connect_error"])
def test_throttling_server_errors_and_dropped_connections_are_ridden_out(run, authorized, sim, host, clock, kind):
    clock.advance(600)
    sim.faults.add(kind, "searchOrders", count=3)
    run("orders", "import")
    assert set(held(host)) == set(truth_de(sim))
    assert sim.counters_snapshot()["faults"].get(kind, 0) == 3


def test_a_429_storm_waits_for_the_quota_instead_of_hammering(run, authorized, sim, host, clock):
    clock.advance(600)
    sim.faults.add("429", "searchOrders", count=6)
    slept = clock.slept
    run("orders", "import")
    assert set(held(host)) == set(truth_de(sim))
    # After a 429 the client drains its bucket and waits for a real refill (1 / 0.0056 s each).
    assert clock.slept - slept >= 6 / 0.0056 * 0.99


def test_a_revoked_authorization_mid_run_keeps_what_was_imported_and_asks_to_authorize_again(
    run, authorized, sim, host, clock, wire
):
    clock.advance(600)
    original = wire.handle_request
    seen = {"pages": 0}

    def revoke_after_first_page(request: httpx.Request) -> httpx.Response:
        response = original(request)
        if "/orders/2026-01-01/orders" in str(request.url):
            seen["pages"] += 1
            if seen["pages"] == 1:
                sim.revoke_refresh_token(selling_partner_id="A1SIMSELLER001")
        return response

    wire.handle_request = revoke_after_first_page
    result = run("orders", "import", code=1)
    assert "authorize again" in result.output
    assert run.json("apps", "show", "Amazon DE")["status"] == "needs attention: authorization revoked — authorize again"
    assert host.db["orders"].count == 100, "the first page stays"
    cursor = orders.load_cursor(host, apps.get(host, "Amazon DE").id)
    assert cursor and cursor.get("token"), "the cursor still points after the first page"


def test_every_request_repeats_the_search_with_its_pagination_token(run, authorized, sim, host, clock, wire):
    clock.advance(600)
    run("orders", "import")
    searches = [r for r in wire.requests if r.url.path == "/orders/2026-01-01/orders"]
    first = dict(searches[0].url.params)
    assert "lastUpdatedAfter" in first and "createdAfter" not in first
    assert first["maxResultsPerPage"] == "100" and first["marketplaceIds"] == DE
    for later in searches[1:]:
        params = dict(later.url.params)
        assert params.pop("paginationToken")
        assert params == first


class Killed(BaseException):
    """A process killed in the middle of a call (what kill -9 leaves: no cleanup, an open transaction)."""


def test_a_fault_campaign_with_kills_always_ends_with_exactly_amazons_orders(home, clock, sim, operator_env):
    """Randomized faults and kills at random points; every campaign ends equal to the simulator's truth."""
    first = Host(home, clock=clock, transport=sim.transport(), env=operator_env)
    apps.install(first, "amazon", {"name": "Amazon DE", "marketplace": "DE"})
    apps.authorize_direct(
        first, "Amazon DE", {"refresh_token": sim.authorize(), "selling_partner_id": sim.default_seller_id}
    )
    first.close()
    rng = random.Random(20261126)
    for campaign in range(8):
        for kind in rng.sample(["429", "500", "503", "drop", "malformed_json", "expire_pagination_token"], 2):
            operation = "searchOrders"
            sim.faults.add(kind, operation, probability=0.25, count=rng.randint(1, 4))
        # The world moves on between runs: new orders, status changes.
        sim.add_listing(f"CAMPAIGN-{campaign}", ["DE"])
        for _ in range(rng.randint(0, 30)):
            sim.add_order([(f"CAMPAIGN-{campaign}", 1)], "DE", status=rng.choice(["PENDING", "UNSHIPPED"]))
        for order in rng.sample(sorted(truth_de(sim)), 10):
            if truth_de(sim)[order]["status"] in ("PENDING", "UNSHIPPED"):
                sim.advance_order(order)
        clock.advance(900)
        kill_at = rng.randint(1, 6)
        calls = {"n": 0}
        inner = sim.transport()

        class Dying(httpx.BaseTransport):
            def __init__(self, calls, kill_at, inner):
                self.calls, self.kill_at, self.inner = calls, kill_at, inner

            def handle_request(self, request):
                self.calls["n"] += 1
                if self.calls["n"] == self.kill_at:
                    raise Killed()
                return self.inner.handle_request(request)

        dying = Host(home, clock=clock, transport=Dying(calls, kill_at, inner), env=operator_env)
        try:
            orders.import_orders(dying, "Amazon DE")
        except (Killed, Exception):  # the process is gone, whatever it was doing
            pass
        dying.db.conn.close()  # no commit, no cleanup: what kill -9 leaves
        survivor = Host(home, clock=clock, transport=sim.transport(), env=operator_env)
        for _attempt in range(5):  # faults may outlast one run; the operator's next sync goes on
            try:
                orders.import_orders(survivor, "Amazon DE")
                break
            except AuthorizationRevoked:
                raise
            except Exception:
                continue
        # Amazon shows nothing younger than two minutes (and we ask 2.5): what changed since may still differ.
        cutoff = (clock.now() - SETTLE).isoformat()[:19]
        truth = {k: v for k, v in truth_de(sim).items() if v["lastUpdatedTime"][:19] <= cutoff}
        mine = held(survivor)
        assert set(truth) <= set(mine) <= set(truth_de(sim)), f"campaign {campaign}"
        assert {k: mine[k]["marketplace_status"] for k in truth} == {k: v["status"] for k, v in truth.items()}
        lines = dict(
            survivor.db.execute(
                "SELECT o.marketplace_order_id, COUNT(*) FROM order_lines l "
                "JOIN orders o ON o.id = l.order_id GROUP BY 1"
            ).fetchall()
        )
        assert lines == {k: len(v["items"]) for k, v in truth_de(sim).items() if k in mine}
        assert len(mine) == survivor.db.execute("SELECT COUNT(DISTINCT marketplace_order_id) FROM orders").fetchone()[0]
        survivor.close()
        sim.faults.clear()
