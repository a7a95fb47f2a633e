"""The seller's story with bol on the web, in a real browser, against the bol simulator: install bol from All
applications, paste the Client ID and Client Secret in the panel (the secret masked), "Module correctly installed",
the imported orders, and an order marked as shipped that bol then confirms. The panel comes from the bol app's
settings model alone: the web app has no bol template."""

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


_web = _web_conftest()
served_site = _web.served_site


@pytest.fixture
def bol_site(chromium, tls, tmp_path, monkeypatch):
    from linkolis_bol.simulator import Simulator

    from linkolis_host import SystemClock

    monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", "amazon,bol")
    monkeypatch.delenv("LINKOLIS_BOL_ENDPOINT", raising=False)

    def bol(base_url):
        return Simulator(SystemClock(), seed=11, orders=30, offers=10, order_window_days=5, process_seconds=0.2)

    with served_site(chromium, tls, tmp_path, bol, lambda sim, sim_url: {"LINKOLIS_BOL_ENDPOINT": sim_url}) as site:
        yield site


def test_the_seller_installs_bol_with_pasted_credentials_sees_orders_and_ships_one(bol_site):
    site, sim = bol_site, bol_site.sim
    page = site.page()
    site.sign_in(page, site.user("anna@example.com", "Anna's shop"))

    # All applications offers both marketplaces; the bol panel is built from its settings model.
    page.get_by_role("link", name="Add application").click()
    expect(page.get_by_role("heading", name="All applications")).to_be_visible()
    expect(page.get_by_role("link", name="Install Amazon")).to_be_visible()
    page.get_by_role("link", name="Install bol").click()
    expect(page.get_by_label("Application name")).to_have_value("bol")
    page.get_by_label("Application name").fill("bol NL")
    page.get_by_label("Stock update sync").check()

    # No consent page: the Client ID and Client Secret from the Seller Portal go into the same panel.
    secret = page.get_by_label("Client Secret")
    expect(secret).to_have_attribute("type", "password")  # masked
    page.get_by_label("Client ID").fill(sim.client_id)
    secret.fill("not-the-secret")
    site.shot(page, "bol-panel")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("alert")).to_contain_text("bol refused the Client ID and Client Secret")
    assert "not-the-secret" not in page.content()
    page.goto("/apps")
    expect(page.get_by_text("bol NL")).to_have_count(0)  # refused: no app left behind
    page.goto("/apps/new?kind=bol")
    page.get_by_label("Application name").fill("bol NL")
    page.get_by_label("Stock update sync").check()
    page.get_by_label("Client ID").fill(sim.client_id)
    page.get_by_label("Client Secret").fill(sim.client_secret)
    site.shot(page, "bol-credentials")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status").filter(has_text="Module correctly installed")).to_be_visible()
    assert sim.client_secret not in page.content()
    row = page.get_by_role("row").filter(has_text="bol NL")
    expect(row).to_contain_text("verified")
    site.shot(page, "bol-installed")

    # Import: bol's orders are listed.
    row.get_by_role("button", name="Import orders now for bol NL").click()
    expect(page.get_by_role("status").filter(has_text="Import finished for bol NL")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Orders").click()
    listed = page.get_by_role("row").filter(has=page.get_by_role("link"))
    expect(listed.first).to_be_visible()
    assert listed.count() == min(len(sim.orders_truth()), 25)
    site.shot(page, "bol-orders")

    # Ship an open merchant order with PostNL; the next sync sends it and bol confirms it.
    to_ship = next(
        o
        for o in sorted(sim.orders_truth().values(), key=lambda o: o.order_id)
        if all(not i.offer.fbb and i.quantity_shipped == 0 and i.quantity_cancelled == 0 for i in o.items)
    )
    page.goto(f"/orders/{_order_id(site, to_ship.order_id)}")
    expect(page.get_by_role("heading", name=f"Order {to_ship.order_id}")).to_be_visible()
    page.get_by_label("Carrier").select_option(label="PostNL")
    page.get_by_label("Tracking number").fill("3SWEB0001")
    page.get_by_role("button", name="Mark as shipped").click()
    expect(page.get_by_role("status").filter(has_text="Shipment recorded")).to_be_visible()
    site.shot(page, "bol-ship-recorded")

    from linkolis_host import shipments

    with site.host() as host:  # what `linkolis sync` (or the scheduler) does next
        pushed = shipments.push_shipments(host, "bol NL")
    assert pushed["accepted"] == 1, pushed["messages"]
    page.reload()
    expect(page.get_by_role("cell", name="3SWEB0001")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="3SWEB0001")).to_contain_text("accepted")
    expect(page.get_by_role("button", name="Mark as shipped")).to_have_count(0)  # shipped: nothing left to ship
    site.shot(page, "bol-shipped")
    [at_bol] = [s for s in sim.shipments_truth() if s["orderId"] == to_ship.order_id]
    assert (at_bol["transporterCode"], at_bol["trackAndTrace"]) == ("TNT", "3SWEB0001")


def _order_id(site, marketplace_order_id: str) -> int:
    from linkolis_host import orders

    with site.host() as host:
        return orders.get_order(host, marketplace_order_id)["id"]
