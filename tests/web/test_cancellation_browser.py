"""In a real browser, against the bol simulator: a bol buyer asked to cancel. The orders list marks the order; its page
says so; "Mark as shipped" does nothing until "Ship it anyway" is ticked; "Accept cancellation" cancels the item at
bol (`PUT /retailer/orders/cancellation`, followed to its process status) and the order here. A Dutch-speaking
colleague sees the same in Dutch and ships the other order anyway."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from playwright.sync_api import expect


def _web_conftest():
    """The browser tests' Site and server (``conftest`` alone names tests/conftest.py on this path)."""
    spec = importlib.util.spec_from_file_location("web_conftest", Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


served_site = _web_conftest().served_site


@pytest.fixture
def bol_site(chromium, tls, tmp_path, monkeypatch):
    from linkolis_bol.simulator import Simulator

    from linkolis_host import SystemClock

    monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", "bol")
    monkeypatch.delenv("LINKOLIS_BOL_ENDPOINT", raising=False)

    def bol(base_url):
        return Simulator(
            SystemClock(),
            seed=5,
            orders=10,
            offers=6,
            order_window_days=3,
            process_seconds=0.2,
            cancellation_requests=0,
        )

    with served_site(chromium, tls, tmp_path, bol, lambda sim, sim_url: {"LINKOLIS_BOL_ENDPOINT": sim_url}) as site:
        yield site


def _asked_orders(sim, count: int):
    """``count`` new FBR orders, every item open, whose buyers asked bol to cancel every item."""
    made = []
    while len(made) < count:
        order = sim.add_order(fbb=False)
        if any(i.offer.fbb for i in order.items):
            continue
        for item in order.items:
            item.quantity_shipped = item.quantity_cancelled = 0
        for item in order.items:
            sim.request_cancellation(item.order_item_id)
        made.append(order)
    return made


def _host_id(site, order_id: str) -> int:
    from linkolis_host import orders

    with site.host() as host:
        return orders.get_order(host, order_id)["id"]


def test_the_seller_sees_the_request_must_confirm_to_ship_and_accepts_the_cancellation(bol_site):
    from linkolis_host import apps, orders, shipments, workspaces

    site, sim = bol_site, bol_site.sim
    site.user("anna@example.com", "Anna's shop")
    site.user("daan@example.com", "Anna's shop", language="nl")
    first, second = _asked_orders(sim, 2)
    with site.host() as host:
        host.workspace_id = workspaces.get_workspace(host, "Anna's shop").id
        apps.install(host, "bol", {"name": "bol NL"})
        apps.authorize_direct(host, "bol NL", {"client_id": sim.client_id, "client_secret": sim.client_secret})
        orders.import_orders(host, "bol NL")

    page = site.page()
    site.sign_in(page, "anna@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Orders").click()
    expect(page.get_by_role("row").filter(has_text=first.order_id)).to_contain_text("buyer asks to cancel")
    site.shot(page, "orders-with-a-request")

    page.get_by_role("link", name=first.order_id).click()
    expect(page.get_by_role("heading", name="The buyer asked to cancel this order.")).to_be_visible()
    page.get_by_label("Tracking number").fill("3SNOPE01")
    page.get_by_role("button", name="Mark as shipped").click()  # "Ship it anyway" not ticked: the form stays
    expect(page.get_by_label("Ship it anyway")).to_be_visible()
    with site.host() as host:
        assert shipments.list_shipments(host) == []
    site.shot(page, "order-with-a-request")

    page.get_by_role("button", name="Accept cancellation").click()
    expect(page.get_by_role("status").filter(has_text="The order is cancelled at the marketplace")).to_be_visible()
    expect(page.get_by_role("button", name="Mark as shipped")).to_have_count(0)
    expect(page.get_by_role("button", name="Accept cancellation")).to_have_count(0)
    site.shot(page, "cancellation-accepted")
    assert [(i.quantity_cancelled, i.cancel_reason) for i in sim.orders_truth()[first.order_id].items] == [
        (i.quantity, "REQUESTED_BY_CUSTOMER") for i in first.items
    ]

    dutch = site.page()
    site.sign_in(dutch, "daan@example.com")
    dutch.goto(f"/orders/{_host_id(site, second.order_id)}")
    expect(dutch.get_by_role("heading", name="De koper heeft gevraagd deze bestelling te annuleren.")).to_be_visible()
    expect(dutch.get_by_role("button", name="Annulering accepteren")).to_be_visible()
    dutch.get_by_label("Trackingnummer").fill("3SDAAN01")
    dutch.get_by_label("Toch verzenden").check()
    site.shot(dutch, "nl-ship-anyway")
    dutch.get_by_role("button", name="Markeren als verzonden").click()
    expect(dutch.get_by_role("status").filter(has_text="Zending vastgelegd")).to_be_visible()
    with site.host() as host:
        assert [(s["order"], s["tracking_number"]) for s in shipments.list_shipments(host)] == [
            (second.order_id, "3SDAAN01")
        ]
