"""The seller removes an app while an import or a push of it runs (in another command): the running work stops at
its next step. Nothing more goes to the marketplace, and nothing more is saved for the removed app."""

from __future__ import annotations

import types

import httpx
import pytest
import testmarket
from helpers import authorize_app, install_app

from linkolis_host import HealthCheck, Order, OrderBatch, StockOutcome, apps, hookimpl
from linkolis_host.host import Host

URL = "https://api.testmarket.invalid/v1"


class World:
    """The marketplace's side: the requests that reached it, and what the test does between two steps."""

    def __init__(self):
        self.requests: list[httpx.Request] = []
        self.between = lambda: None  # what happens while the plugin is between two steps
        self.steps: set[str] = set()  # what the plugin does after that
        self.sent_before_removal = 0
        self.went_on = False  # whether the plugin got past its steps after the removal

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json={})


WORLD = World()


def _order(order_id):
    return Order(
        marketplace_order_id=order_id,
        marketplace="EU",
        status="unshipped",
        marketplace_status="UNSHIPPED",
        fulfilled_by="merchant",
        created_at=testmarket._stamp(0),
        updated_at=testmarket._stamp(1),
    )


def import_orders(ctx, cursor):
    ctx.http.get(f"{URL}/orders", params={"page": 1}, operation="orders")  # paced: the run is noted
    yield OrderBatch(orders=[_order("O-1")], cursor={"page": 1})
    WORLD.between()
    if "http" in WORLD.steps:
        ctx.http.get(f"{URL}/orders", params={"page": 2})
    if "state" in WORLD.steps:
        ctx.state.set("last page", 2)
    if "token" in WORLD.steps:
        ctx.update_credentials({"token": "tok-renewed-s3cret"})
    WORLD.went_on = True
    yield OrderBatch(orders=[_order("O-2")], cursor={"page": 2})


def push_stock(ctx, items):
    for number, item in enumerate(items):
        if number == 1:
            WORLD.between()
        if number == 0 or "http" in WORLD.steps:
            ctx.http.patch(f"{URL}/listings/{item.sku}", json={"quantity": item.quantity})
        yield StockOutcome(sku=item.sku, quantity=item.quantity, status="accepted")


def health_check(ctx):
    WORLD.between()
    return [HealthCheck(name="token works", status="ok")]


def plugin():
    variant = types.ModuleType("testmarket")
    for hook in ("configure_fields", "authorize", "read_stock"):
        setattr(variant, hook, getattr(testmarket, hook))
    variant.import_orders = hookimpl(import_orders)
    variant.push_stock = hookimpl(push_stock)
    variant.health_check = hookimpl(health_check)
    return variant


@pytest.fixture
def host(home, clock, market):
    WORLD.__init__()
    made = Host(home, clock=clock, extra_plugins=[plugin()], transport=httpx.MockTransport(WORLD))
    yield made
    made.close()


@pytest.fixture
def app(run, home, clock):
    install_app(run, "Shop EU", "EU", "--stock-sync")
    authorize_app(run, "Shop EU")

    def remove_from_another_command():
        with Host(home, clock=clock, extra_plugins=[plugin()]) as other:
            apps.remove(other, "Shop EU", purge=False)
        WORLD.sent_before_removal = len(WORLD.requests)

    WORLD.between = remove_from_another_command
    return "Shop EU"


def rows(host, table):
    return list(host.db.query(f"SELECT * FROM {table}"))


@pytest.mark.parametrize(
    "steps", [set(), {"http"}, {"state"}, {"token"}], ids=["next batch", "next request", "state write", "renewed token"]
)
def test_an_import_stops_when_its_app_is_removed(run, host, app, steps):
    WORLD.steps = steps

    result = run("orders", "import", code=1)

    assert "'Shop EU' was removed while its order import ran; stopped" in result.stderr
    assert "Traceback" not in result.output
    assert [o["marketplace_order_id"] for o in rows(host, "orders")] == ["O-1"], "the kept orders; not batch 2"
    assert rows(host, "sync_cursors") == [], "no cursor is recreated for the removed app"
    assert rows(host, "import_runs") == [], "nor a note of when its import ended"
    assert rows(host, "plugin_state") == [] and rows(host, "credentials") == []
    assert len(WORLD.requests) == WORLD.sent_before_removal, "no request went out after the removal"
    assert WORLD.went_on == (not steps), "a refused request or write stops the plugin there"


@pytest.mark.parametrize("steps", [{"http"}, set()], ids=["next patch", "outcomes only"])
def test_a_push_stops_when_its_app_is_removed(run, host, app, steps):
    WORLD.steps = steps
    for sku in ("SKU-A", "SKU-B", "SKU-C"):
        run("stock", "set", sku, "5")

    result = run("stock", "push", code=1)

    assert "'Shop EU' was removed while its stock push ran; stopped" in result.stderr
    assert [r.url.path for r in WORLD.requests] == ["/v1/listings/SKU-A"], "SKU-B and SKU-C were not patched"
    assert rows(host, "stock_pushes") == [], "no outcome is recorded for the removed app"
    assert rows(host, "apps")[0]["last_push_at"] is None


def test_a_verify_that_ends_after_the_app_was_removed_does_not_bring_it_back(run, host, app):
    result = run("apps", "verify", app, code=1)

    assert "'Shop EU' was removed while this command ran; stopped" in result.stderr
    assert [a["status"] for a in rows(host, "apps")] == ["removed"]
    assert run.json("apps", "list") == []


def test_an_import_of_an_app_that_stays_is_not_stopped(run, host, app):
    WORLD.between = lambda: None
    WORLD.steps = {"http", "state"}

    summary = run.json("orders", "import")

    assert summary["new"] == 2 and len(WORLD.requests) == 2
    assert rows(host, "sync_cursors")[0]["cursor"] == '{"page":2}'
