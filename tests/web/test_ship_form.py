"""The order page's "Mark as shipped" form: the seller picks a carrier the plugin lists, types the tracking number,
and the shipment is recorded for the next sync (in Dutch too)."""

from __future__ import annotations

import re

import pytest
import testmarket
from starlette.testclient import TestClient

from linkolis_host import apps, orders, shipments, workspaces
from linkolis_host.host import Host
from linkolis_host.web import WebSettings, create_app

PASSWORD = "correct horse battery staple"


@pytest.fixture
def client(home, market):
    market.add_order("A-1")
    market.add_order("C-1", status="CANCELLED", updated=2)
    with Host(home, extra_plugins=[testmarket]) as host:
        workspaces.add_workspace(host, "Anna's shop")
        workspaces.add_user(host, "anna@example.com", PASSWORD, "Anna's shop")
        apps.install(host, "testmarket", {"name": "Shop EU", "region": "EU"})
        apps.authorize_direct(host, "Shop EU", {"token": "tok-S1", "account": "S1"})
        orders.import_orders(host, "Shop EU")
    app = create_app(lambda: Host(home, extra_plugins=[testmarket]), WebSettings("https://shop.example"))
    client = TestClient(app, base_url="https://shop.example")
    token = csrf_of(client.get("/signin"))
    client.post("/signin", data={"csrf": token, "email": "anna@example.com", "password": PASSWORD})
    return client


def csrf_of(page) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def order_url(home, order_id: str) -> str:
    with Host(home, extra_plugins=[testmarket]) as host:
        return f"/orders/{orders.get_order(host, order_id)['id']}"


def test_the_seller_marks_an_order_shipped_with_a_carrier_from_the_list(client, home):
    url = order_url(home, "A-1")
    page = client.get(url)
    assert "Mark as shipped" in page.text and '<option value="POSTNL">PostNL</option>' in page.text
    done = client.post(f"{url}/ship", data={"csrf": csrf_of(page), "carrier": "POSTNL", "tracking": "3S123"})
    assert done.status_code == 200 and "Shipment recorded" in done.text and "3S123" in done.text
    with Host(home, extra_plugins=[testmarket]) as host:
        [row] = shipments.list_shipments(host)
    assert (row["order"], row["carrier_code"], row["tracking_number"], row["status"]) == (
        "A-1",
        "POSTNL",
        "3S123",
        "due",
    )


def test_an_empty_tracking_number_is_shown_as_an_error_and_records_nothing(client, home):
    url = order_url(home, "A-1")
    refused = client.post(f"{url}/ship", data={"csrf": csrf_of(client.get(url)), "carrier": "DHL", "tracking": " "})
    assert refused.status_code == 422 and "the tracking number cannot be empty" in refused.text
    with Host(home, extra_plugins=[testmarket]) as host:
        assert shipments.list_shipments(host) == []


def test_a_cancelled_order_offers_no_form_and_refuses_a_post(client, home):
    url = order_url(home, "C-1")
    page = client.get(url)
    assert "Mark as shipped" not in page.text
    refused = client.post(f"{url}/ship", data={"csrf": csrf_of(page), "carrier": "DHL", "tracking": "X"})
    assert refused.status_code == 422 and "was cancelled at the marketplace" in refused.text


def test_the_form_speaks_dutch(client, home):
    client.post("/language", data={"csrf": csrf_of(client.get("/apps")), "lang": "nl"})
    page = client.get(order_url(home, "A-1"))
    assert "Markeren als verzonden" in page.text and "Trackingnummer" in page.text
