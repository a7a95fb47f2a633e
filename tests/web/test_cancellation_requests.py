"""A buyer asked to cancel: the orders list marks the order, its page says so with the marketplace's reason (in Dutch
too), "Accept cancellation" cancels it at the marketplace and here, and the ship form wants an explicit "Ship it
anyway" first. An app that cannot cancel says to cancel on the marketplace's own site."""

from __future__ import annotations

import re

import pytest
import testmarket
from starlette.testclient import TestClient

from linkolis_host import apps, orders, shipments, workspaces
from linkolis_host.host import Host
from linkolis_host.web import WebSettings, create_app

PASSWORD = "correct horse battery staple"
HOOKS = ("configure_fields", "authorize", "import_orders", "push_stock", "push_shipments", "health_check")


def signed_in(home, plugin) -> TestClient:
    app = create_app(lambda: Host(home, extra_plugins=[plugin]), WebSettings("https://shop.example"))
    client = TestClient(app, base_url="https://shop.example")
    token = csrf_of(client.get("/signin"))
    client.post("/signin", data={"csrf": token, "email": "anna@example.com", "password": PASSWORD})
    return client


def open_shop(home, plugin) -> None:
    with Host(home, extra_plugins=[plugin]) as host:
        workspaces.add_workspace(host, "Anna's shop")
        workspaces.add_user(host, "anna@example.com", PASSWORD, "Anna's shop")
        apps.install(host, "testmarket", {"name": "Shop EU", "region": "EU"})
        apps.authorize_direct(host, "Shop EU", {"token": "tok-S1", "account": "S1"})
        orders.import_orders(host, "Shop EU")


@pytest.fixture
def client(home, market):
    market.add_order("A-1")
    market.add_order("A-2", updated=2)
    market.buyer_asks_to_cancel("A-1", "Bestelfout")
    open_shop(home, testmarket)
    return signed_in(home, testmarket)


def csrf_of(page) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def order_url(home, order_id: str, plugin=testmarket) -> str:
    with Host(home, extra_plugins=[plugin]) as host:
        return f"/orders/{orders.get_order(host, order_id)['id']}"


def test_the_orders_list_marks_the_order_whose_buyer_asks_to_cancel(client):
    rows = {
        m.group(1): m.group(0)
        for m in re.finditer(r'<tr><td><a href="/orders/\d+">([^<]+)</a>.*?</tr>', client.get("/orders").text, re.S)
    }
    assert "buyer asks to cancel" in rows["A-1"] and "buyer asks to cancel" not in rows["A-2"]


def test_the_order_page_shows_the_request_in_english_and_in_dutch(client, home):
    url = order_url(home, "A-1")
    page = client.get(url).text
    assert "The buyer asked to cancel: Bestelfout" in page
    assert "Accept cancellation" in page and "Ship it anyway" in page
    assert "linkolis " not in page, "no terminal command on a page"
    assert "The buyer asked to cancel" not in client.get(order_url(home, "A-2")).text

    client.post("/language", data={"csrf": csrf_of(client.get("/apps")), "lang": "nl"})
    dutch = client.get(url).text
    assert "De koper heeft gevraagd te annuleren: Bestelfout" in dutch
    assert "Annulering accepteren" in dutch and "Toch verzenden" in dutch
    assert "koper vraagt annulering" in client.get("/orders").text


def test_accepting_the_cancellation_cancels_the_order_at_the_marketplace_and_here(client, home, market):
    url = order_url(home, "A-1")
    done = client.post(f"{url}/cancel", data={"csrf": csrf_of(client.get(url))})
    assert done.status_code == 200
    assert "The order is cancelled at the marketplace; the units it held are released." in done.text
    assert "Accept cancellation" not in done.text and "Mark as shipped" not in done.text
    assert market.orders["A-1"]["status"] == "CANCELLED"
    [sent] = market.cancellations
    assert sent.reason == "requested_by_buyer"
    with Host(home, extra_plugins=[testmarket]) as host:
        host.workspace_id = workspaces.get_workspace(host, "Anna's shop").id
        assert orders.get_order(host, "A-1")["status"] == "cancelled"
    again = client.post(f"{url}/cancel", data={"csrf": csrf_of(client.get(url))})
    assert again.status_code == 422 and "order A-1 is cancelled already" in again.text


def test_a_refusal_by_the_marketplace_is_shown_and_the_order_stays_open(client, home, market):
    market.refuse_cancel = "het pakket is al onderweg"
    url = order_url(home, "A-1")
    refused = client.post(f"{url}/cancel", data={"csrf": csrf_of(client.get(url))})
    assert refused.status_code == 422
    assert "The marketplace refused to cancel this order: het pakket is al onderweg" in refused.text
    assert "Accept cancellation" in refused.text


def test_shipping_an_order_whose_buyer_asked_to_cancel_needs_the_ship_anyway_tick(client, home):
    url = order_url(home, "A-1")
    form = {"csrf": csrf_of(client.get(url)), "carrier": "DHL", "tracking": "JJD1"}
    refused = client.post(f"{url}/ship", data=form)
    assert refused.status_code == 422
    assert "The buyer asked to cancel this order. Tick “Ship it anyway” to ship it all the same." in refused.text
    with Host(home, extra_plugins=[testmarket]) as host:
        assert shipments.list_shipments(host) == []
    done = client.post(f"{url}/ship", data={**form, "ship_anyway": "on"})
    assert done.status_code == 200 and "Shipment recorded" in done.text
    with Host(home, extra_plugins=[testmarket]) as host:
        assert [s["tracking_number"] for s in shipments.list_shipments(host)] == ["JJD1"]


def test_an_app_that_cannot_cancel_sends_the_seller_to_the_marketplaces_site(home, market):
    plugin = type("NoCancel", (), {hook: staticmethod(getattr(testmarket, hook)) for hook in HOOKS})
    market.add_order("A-1")
    market.buyer_asks_to_cancel("A-1", None)
    open_shop(home, plugin)
    client = signed_in(home, plugin)
    page = client.get(order_url(home, "A-1", plugin)).text
    assert "The buyer asked to cancel this order." in page
    assert "Cancel it on the marketplace&#39;s own site" in page and "Accept cancellation" not in page
