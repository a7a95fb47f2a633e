"""The seller's story on the web, in a real browser, against the simulated Amazon: what the help page walks
through, step by step, in English and in Dutch; and the callbacks that must be refused."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def install_amazon(site, page, texts):
    """My applications → + → All applications → Install Amazon → the panel → Confirm → consent → back."""
    page.get_by_role("link", name=texts["add"]).click()
    expect(page.get_by_role("heading", name=texts["all"])).to_be_visible()
    site.shot(page, "all-applications")
    page.get_by_role("link", name=f"{texts['install']} Amazon").click()
    page.get_by_label(texts["name"]).fill("Amazon DE")
    page.get_by_label(texts["marketplace"]).select_option("DE")
    page.get_by_label(texts["stock_sync"]).check()
    site.shot(page, "panel")
    page.get_by_role("button", name=texts["confirm"]).click()
    expect(page.get_by_role("heading", name=re.compile("Authorize"))).to_be_visible()  # the simulator's page
    site.shot(page, "consent")
    page.get_by_role("button", name="Confirm").click()
    banner = page.get_by_role("status").filter(has_text=texts["banner"])
    expect(banner).to_be_visible()
    site.shot(page, "installed")


EN = {
    "add": "Add application",
    "all": "All applications",
    "install": "Install",
    "name": "Application name",
    "marketplace": "Marketplace",
    "stock_sync": "Stock update sync",
    "confirm": "Confirm",
    "banner": "Module correctly installed",
    "mine": "My applications",
}
NL = {
    "add": "Toepassing toevoegen",
    "all": "Alle toepassingen",
    "install": "Installeren",
    "name": "Applicatienaam",
    "marketplace": "Marktplaats",
    "stock_sync": "Voorraadupdatesynchronisatie",
    "confirm": "Bevestigen",
    "banner": "Module correct geïnstalleerd",
    "mine": "Mijn toepassingen",
}


def test_the_seller_installs_amazon_imports_orders_sets_stock_reconfigures_and_removes(site):
    email = site.user("anna@example.com", "Anna's shop")
    page = site.page()
    site.sign_in(page, email)
    expect(page.get_by_role("heading", name="My applications")).to_be_visible()
    site.shot(page, "my-applications-empty")

    install_amazon(site, page, EN)
    row = page.get_by_role("row").filter(has_text="Amazon DE")
    expect(row).to_contain_text("verified")

    # Import: the progress line shows, then the orders are there.
    row.get_by_role("button", name="Import orders now for Amazon DE").click()
    expect(page.get_by_role("status").filter(has_text="Import finished for Amazon DE")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Orders").click()
    orders = page.get_by_role("row").filter(has=page.get_by_role("link"))
    expect(orders.first).to_be_visible()
    imported = _order_count(site)
    assert imported > 0 and orders.count() == min(imported, 25)
    site.shot(page, "orders")
    first_id = orders.first.get_by_role("link").inner_text()
    orders.first.get_by_role("link").click()
    expect(page.get_by_role("heading", name=f"Order {first_id}")).to_be_visible()
    expect(page.get_by_role("heading", name="Status history")).to_be_visible()
    site.shot(page, "order")

    # Stock: set a quantity for a merchant-fulfilled SKU, push, see Amazon's outcome.
    truth = site.sim.stock_truth()[site.sim.default_seller_id]
    sku = sorted(
        s for s, per in truth.items() if "A1PA6795UKMFR9" in per and per["A1PA6795UKMFR9"]["fulfillment"] == "MFN"
    )[0]
    page.get_by_role("link", name="Stock").click()
    page.get_by_label("SKU", exact=True).fill(sku)
    page.get_by_label("Quantity").fill("17")
    page.get_by_role("button", name="Save").click()
    stock_row = page.get_by_role("row").filter(has_text=sku)
    expect(stock_row).to_contain_text("not pushed")
    page.get_by_role("button", name="Push stock now to Amazon DE").click()
    expect(page.get_by_role("status").filter(has_text="Push finished for Amazon DE")).to_be_visible()
    cells = stock_row.get_by_role("cell")
    expect(cells.nth(6)).to_have_text("accepted")
    reserved = int(cells.nth(2).inner_text())  # what the open orders just imported hold of it
    offered = str(17 - reserved)
    expect(cells).to_have_text([sku, "17", str(reserved), "Amazon DE", offered, offered, "accepted"])
    site.shot(page, "stock-pushed")
    assert site.sim.stock_truth()[site.sim.default_seller_id][sku]["A1PA6795UKMFR9"]["quantity"] == int(offered)

    # The wrench reopens the panel with what was chosen; a change is saved and verified again.
    page.get_by_role("link", name="Apps").click()
    page.get_by_role("link", name="Configure Amazon DE").click()
    expect(page.get_by_label("Application name")).to_have_value("Amazon DE")
    expect(page.get_by_label("Stock update sync")).to_be_checked()
    page.get_by_label("Application name").fill("")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".field.invalid")).to_contain_text("Fill this in.")  # inline, next to the field
    page.get_by_label("Application name").fill("Amazon Duitsland")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status").filter(has_text="Module correctly installed")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Amazon Duitsland")).to_be_visible()
    site.shot(page, "reconfigured")

    # The bin says what goes and what stays, then removes.
    page.get_by_role("link", name="Remove Amazon Duitsland").click()
    expect(page.get_by_text("Kept: the orders it imported")).to_be_visible()
    site.shot(page, "remove-confirmation")
    page.get_by_role("button", name="Remove").click()
    expect(page.get_by_text("No applications yet")).to_be_visible()
    page.get_by_role("link", name="Orders").click()
    kept = page.get_by_role("row").filter(has=page.get_by_role("link"))
    expect(kept.first).to_be_visible()  # the orders page, loaded (count() does not wait for it)
    assert kept.count() == min(imported, 25)  # kept
    site.shot(page, "removed")


def test_the_same_story_in_dutch(site):
    email = site.user("bram@example.nl", "Bram's winkel")
    page = site.page(locale="nl-NL")
    site.sign_in(page, email, labels=("E-mailadres", "Wachtwoord", "Inloggen"))
    expect(page.get_by_role("heading", name="Mijn toepassingen")).to_be_visible()
    expect(page.get_by_role("navigation").get_by_role("link", name="Bestellingen")).to_be_visible()
    install_amazon(site, page, NL)
    page.get_by_role("link", name="Amazon DE verwijderen").click()
    page.get_by_role("button", name="Verwijderen").click()
    expect(page.get_by_text("Nog geen toepassingen")).to_be_visible()


def _consent_redirect(site, page):
    """Install and Confirm in the panel; the seller confirms on the consent page, but the redirect back is caught
    (an HTTP client plays the consent page here, so the test holds the callback URL before the browser uses it)."""
    import httpx

    page.get_by_role("link", name="Add application").click()
    page.get_by_role("link", name="Install Amazon").click()
    page.get_by_label("Marketplace").select_option("DE")
    consent = []
    page.route(
        re.compile(r".*/apps/authorize/consent\?.*"), lambda route: (consent.append(route.request.url), route.abort())
    )
    page.get_by_role("button", name="Confirm").click()
    for _ in range(200):
        if consent:
            break
        page.wait_for_timeout(25)
    assert consent, "Confirm did not lead to the consent page"
    with httpx.Client() as client:
        form = client.get(consent[0])
        session = re.search(r'name="consent_session" value="([^"]+)"', form.text).group(1)
        back = client.post(str(form.url), data={"consent_session": session, "action": "confirm"})
    assert back.status_code in (302, 303)
    return back.headers["location"]


def _refused(page):
    expect(page.get_by_role("heading", name="This authorization was refused")).to_be_visible()


def _order_count(site):
    from linkolis_host import orders

    with site.host() as host:
        return len(orders.list_orders(host, limit=10_000))


def _apps_status(site):
    """Every app the database keeps that is not removed, pending ones too."""
    with site.host() as host:
        return [tuple(r) for r in host.db.execute("SELECT name, status FROM apps WHERE status != 'removed'")]


def test_forged_replayed_and_other_session_callbacks_are_refused(site):
    anna = site.page()
    site.sign_in(anna, site.user("anna@example.com", "Anna's shop"))
    callback = _consent_redirect(site, anna)

    # Someone else's session (a signed-in user of another workspace) cannot complete Anna's authorization.
    mallory = site.page()
    site.sign_in(mallory, site.user("mallory@example.com", "Other shop"))
    mallory.goto(callback)
    _refused(mallory)
    site.shot(mallory, "other-session-refused")
    assert _apps_status(site) == [("Amazon", "pending")]  # it waits for its first authorization, out of sight
    mallory.goto("/apps")  # nor does Anna's app show in Mallory's workspace
    expect(mallory.get_by_text("No applications yet")).to_be_visible()

    # A forged state is refused, even in Anna's session.
    forged = re.sub(r"state=[^&]+", "state=forged-state-value", callback)
    anna.goto(forged)
    _refused(anna)
    assert _apps_status(site) == [("Amazon", "pending")]

    # The real one completes; played again, it is refused.
    anna.goto(callback)
    expect(anna.get_by_role("status").filter(has_text="Module correctly installed")).to_be_visible()
    anna.goto(callback)
    _refused(anna)
    site.shot(anna, "replay-refused")
    assert _apps_status(site) == [("Amazon", "verified")]


def test_a_seller_who_cancels_on_the_consent_page_sees_the_panel_again_and_no_app_stays_behind(site):
    page = site.page()
    site.sign_in(page, site.user("anna@example.com", "Anna's shop"))
    page.get_by_role("link", name="Add application").click()
    page.get_by_role("link", name="Install Amazon").click()
    page.get_by_label("Marketplace").select_option("FR")
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("button", name="Cancel").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The authorization was not granted")
    expect(alert).to_contain_text("Nothing was stored")
    expect(page.get_by_label("Marketplace")).to_have_value("FR")  # the install panel again, as it was filled in
    site.shot(page, "denied")
    assert _apps_status(site) == []

    page.get_by_role("button", name="Confirm").click()  # the same name again: nothing holds it
    page.get_by_role("button", name="Confirm").click()  # on the consent page, this time
    expect(page.get_by_role("status").filter(has_text="Module correctly installed")).to_be_visible()
    assert _apps_status(site) == [("Amazon", "verified")]
