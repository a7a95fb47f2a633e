"""The stock loop in a real browser, in English and Dutch: Amazon DE and Amazon NL of one seller, an order placed
in DE is imported and NL is offered what is left; the SKU's own page tells why, order by order."""

from __future__ import annotations

import time

import pytest

from linkolis_host import apps, orders

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect

DE, NL = "A1PA6795UKMFR9", "A1805IZSGTT6HS"
SKU = "LOOP-MUG"


@pytest.fixture
def two_marketplaces(site):
    """Amazon DE and Amazon NL, authorized for the simulator's seller, stock sync on; a mug listed in both."""
    email = site.user("anna@example.com", "Anna's shop")
    with site.host() as host:
        host.workspace_id = host.db.execute("SELECT id FROM workspaces").fetchone()[0]
        for name, market in (("Amazon DE", "DE"), ("Amazon NL", "NL")):
            apps.install(host, "amazon", {"name": name, "marketplace": market, "stock_sync": True})
            apps.authorize_direct(
                host, name, {"refresh_token": site.sim.authorize(), "selling_partner_id": site.sim.default_seller_id}
            )
    site.sim.add_listing(SKU, ["DE", "NL"], quantity=0)
    return email


def shown_on_amazon(site) -> dict[str, int]:
    truth = site.sim.stock_truth()[site.sim.default_seller_id][SKU]
    return {"DE": truth[DE]["quantity"], "NL": truth[NL]["quantity"]}


def push_both(page, push_label):
    for name in ("Amazon DE", "Amazon NL"):
        with page.expect_navigation():  # back to the stock page, its push running
            page.get_by_role("button", name=push_label % name).click()


def work_done(page):
    """Every import and push started from a page has ended, so no page reloads itself to show it (a reload in the
    middle of a click would interrupt it); then the stock page, read afresh."""
    assert until(lambda: all(job["state"] != "running" for job in page.request.get("/jobs").json()["jobs"]))
    page.goto("/stock")


def until(condition, limit=20.0):
    deadline = time.monotonic() + limit  # a safety net, not a timing check
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


@pytest.mark.parametrize(
    "locale, words",
    [
        ("en-GB", {"count": "Save", "push": "Push stock now to %s", "import": "Import orders now for %s",
                   "on hand": "On hand", "reserved by": "Reserved by open orders", "reserved": "Reserved by an order"}),
        ("nl-NL", {"count": "Opslaan", "push": "Nu voorraad verzenden naar %s",
                   "import": "Nu bestellingen importeren voor %s",
                   "on hand": "Op voorraad", "reserved by": "Gereserveerd door openstaande bestellingen",
                   "reserved": "Gereserveerd door een bestelling"}),
    ],
)  # fmt: skip
def test_an_order_in_one_marketplace_lowers_what_the_other_is_offered(site, two_marketplaces, locale, words):
    page = site.page(locale)
    site.sign_in(page, two_marketplaces, labels=_labels(locale))
    page.goto("/stock")
    page.locator("#sku").fill(SKU)
    page.locator("#quantity").fill("5")
    page.get_by_role("button", name=words["count"]).click()
    push_both(page, words["push"])
    assert until(lambda: shown_on_amazon(site) == {"DE": 5, "NL": 5})

    order = site.sim.add_order([(SKU, 2)], "DE", created=time.time() - 200)  # listed by searchOrders already
    assert shown_on_amazon(site) == {"DE": 3, "NL": 5}
    page.goto("/orders")
    page.get_by_role("button", name=words["import"] % "Amazon DE").click()
    page.goto("/stock")
    row = page.get_by_role("row").filter(has_text=SKU)
    expect(row.first.get_by_role("cell").nth(2)).to_have_text("2")  # reserved
    push_both(page, words["push"])
    assert until(lambda: shown_on_amazon(site) == {"DE": 3, "NL": 3}), shown_on_amazon(site)
    work_done(page)
    site.shot(page, f"stock-loop-{locale}")
    page.get_by_role("link", name=SKU).click()
    expect(page.get_by_role("heading", name=words["reserved by"])).to_be_visible()
    expect(page.get_by_role("link", name=order)).to_have_count(2)  # reserved by it, and its line in the history
    expect(page.get_by_role("cell", name=words["reserved"]).first).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text(words["on hand"])
    site.shot(page, f"stock-sku-{locale}")


def _labels(locale: str) -> tuple[str, str, str]:
    return ("Email", "Password", "Sign in") if locale == "en-GB" else ("E-mailadres", "Wachtwoord", "Inloggen")


def test_a_shipment_and_a_cancellation_keep_every_channel_right(site, two_marketplaces):
    page = site.page()
    site.sign_in(page, two_marketplaces)
    page.goto("/stock")
    page.locator("#sku").fill(SKU)
    page.locator("#quantity").fill("5")
    page.get_by_role("button", name="Save").click()
    push_both(page, "Push stock now to %s")

    placed = time.time() - 300  # listed by searchOrders already
    order = site.sim.add_order([(SKU, 2)], "DE", created=placed, status="UNSHIPPED")
    page.goto("/orders")
    page.get_by_role("button", name="Import orders now for Amazon DE").click()
    expect(page.get_by_role("status").filter(has_text="Import finished for Amazon DE")).to_be_visible()

    # The seller ships it from the order's page: on hand goes down, the reservation goes.
    page.goto(f"/stock/sku?sku={SKU}")
    page.get_by_role("link", name=order).first.click()
    page.get_by_label("Tracking number").fill("JJD000222")
    page.get_by_role("button", name="Mark as shipped").click()
    expect(page.get_by_text("Shipment recorded")).to_be_visible()
    page.goto("/stock")
    cells = page.get_by_role("row").filter(has_text=SKU).first.get_by_role("cell")
    expect(cells.nth(1)).to_have_text("3")  # on hand
    expect(cells.nth(2)).to_have_text("0")  # reserved

    # A buyer in NL orders one and cancels it: the background sync imports both, and the unit comes back.
    later = site.sim.add_order([(SKU, 1)], "NL", created=placed, status="UNSHIPPED")
    with site.host() as host:
        host.workspace_id = host.db.execute("SELECT id FROM workspaces").fetchone()[0]
        orders.import_orders(host, "Amazon NL")
        page.reload()
        expect(cells.nth(2)).to_have_text("1")
        site.sim.orders.by_id[later].set_status("CANCELLED", int(placed) + 60)  # at Amazon, minutes ago
        orders.import_orders(host, "Amazon NL")
    page.reload()
    expect(cells.nth(2)).to_have_text("0")
    push_both(page, "Push stock now to %s")
    assert until(lambda: shown_on_amazon(site) == {"DE": 3, "NL": 3}), shown_on_amazon(site)
    work_done(page)
    page.get_by_role("link", name=SKU).click()
    history = page.get_by_role("table").last
    for what in ("Counted", "Reserved by an order", "Shipped", "Released"):
        expect(history.get_by_role("cell", name=what).first).to_be_visible()
    site.shot(page, "stock-history")
