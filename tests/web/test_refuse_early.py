"""What can be known before the consent page is refused in the panel, under its field, in the seller's language,
before a single request reaches Amazon; what only Amazon's answer tells is refused after it, in marketplace names;
and no app the seller did not get is left behind."""

from __future__ import annotations

import pytest

from linkolis_host import apps

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect

WORDS = {
    "en-GB": {
        "sign in": ("Email", "Password", "Sign in"),
        "add": "Add application",
        "install": "Install Amazon",
        "name": "Application name",
        "marketplace": "Marketplace",
        "confirm": "Confirm",
        "name taken": "An app named amazon de is already installed; choose another name.",
        "marketplace taken": "'Amazon DE' already connects this marketplace (amazon.de): one app per marketplace.",
    },
    "nl-NL": {
        "sign in": ("E-mailadres", "Wachtwoord", "Inloggen"),
        "add": "Toepassing toevoegen",
        "install": "Installeren Amazon",
        "name": "Applicatienaam",
        "marketplace": "Marktplaats",
        "confirm": "Bevestigen",
        "name taken": "Er is al een app met de naam amazon de geïnstalleerd; kies een andere naam.",
        "marketplace taken": "'Amazon DE' is al verbonden met deze marktplaats (amazon.de): één app per marktplaats.",
    },
}


@pytest.fixture
def amazon_de(site):
    """Anna's shop, with an "Amazon DE" app connected to the simulator's seller."""
    email = site.user("anna@example.com", "Anna's shop")
    with site.host() as host:
        host.workspace_id = host.db.execute("SELECT id FROM workspaces WHERE name = ?", ["Anna's shop"]).fetchone()[0]
        apps.install(host, "amazon", {"name": "Amazon DE", "marketplace": "DE"})
        apps.authorize_direct(
            host, "Amazon DE", {"refresh_token": site.sim.authorize(), "selling_partner_id": site.sim.default_seller_id}
        )
    return email


@pytest.fixture
def amazon_asked(site, monkeypatch):
    """Every request that reaches the simulated Amazon from here on (the consent page, LWA, SP-API), by path."""
    asked: list[str] = []
    answer = site.sim.handle

    def handle(request):
        asked.append(request.raw_path)
        return answer(request)

    monkeypatch.setattr(site.sim, "handle", handle)
    return asked


def kept_apps(site) -> list[tuple[str, str, str]]:
    """Every app the database keeps that is not removed (pending ones too), with its workspace."""
    with site.host() as host:
        return [
            tuple(r)
            for r in host.db.execute(
                "SELECT w.name, a.name, a.status FROM apps a JOIN workspaces w ON w.id = a.workspace_id "
                "WHERE a.status != 'removed' ORDER BY a.id"
            )
        ]


@pytest.mark.parametrize("locale", ["en-GB", "nl-NL"])
def test_a_taken_name_and_a_connected_marketplace_are_refused_under_their_fields_before_amazon_is_asked(
    site, amazon_de, amazon_asked, locale
):
    words = WORDS[locale]
    page = site.page(locale)
    site.sign_in(page, amazon_de, labels=words["sign in"])
    page.get_by_role("link", name=words["add"]).click()
    page.get_by_role("link", name=words["install"]).click()

    page.get_by_label(words["name"]).fill("amazon  de")
    page.get_by_label(words["marketplace"]).select_option("NL")
    page.get_by_role("button", name=words["confirm"]).click()
    name = page.locator(".field.invalid").filter(has=page.get_by_label(words["name"]))
    expect(name).to_contain_text(words["name taken"])
    site.shot(page, f"name-taken-{locale}")

    page.get_by_label(words["name"]).fill("Amazon DE 2")
    page.get_by_label(words["marketplace"]).select_option("DE")
    page.get_by_role("button", name=words["confirm"]).click()
    marketplace = page.locator(".field.invalid").filter(has=page.get_by_label(words["marketplace"]))
    expect(marketplace).to_contain_text(words["marketplace taken"])
    expect(page.get_by_label(words["marketplace"])).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label(words["name"])).to_have_value("Amazon DE 2")  # what was filled in stays
    site.shot(page, f"marketplace-taken-{locale}")

    assert amazon_asked == []
    assert kept_apps(site) == [("Anna's shop", "Amazon DE", "authorized")]


def test_an_account_another_workspace_connects_is_refused_after_amazon_in_marketplace_names_leaving_no_app(
    site, amazon_de
):
    page = site.page()
    site.sign_in(page, site.user("bob@example.com", "Bob's shop"))
    page.get_by_role("link", name="Add application").click()
    page.get_by_role("link", name="Install Amazon").click()
    page.get_by_label("Marketplace").select_option("DE")
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("button", name="Confirm").click()  # on Amazon's consent page, as the seller Anna's app connects

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("already connected for this marketplace by an app in another workspace")
    expect(alert).not_to_contain_text("A1PA6795UKMFR9")
    expect(page.get_by_label("Marketplace")).to_have_value("DE")  # the install panel again
    site.shot(page, "another-workspaces-account")
    page.goto("/apps")
    expect(page.get_by_text("No applications yet")).to_be_visible()
    assert kept_apps(site) == [("Anna's shop", "Amazon DE", "authorized")]


def test_a_seller_who_closes_the_consent_page_and_comes_back_starts_again_under_the_same_name(site):
    page = site.page()
    site.sign_in(page, site.user("anna@example.com", "Anna's shop"))
    page.get_by_role("link", name="Add application").click()
    page.get_by_role("link", name="Install Amazon").click()
    page.get_by_label("Application name").fill("Amazon FR")
    page.get_by_label("Marketplace").select_option("FR")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("button", name="Cancel")).to_be_visible()  # Amazon's consent page, left unanswered

    page.goto("/apps")  # the tab closed, My applications opened again
    expect(page.get_by_text("No applications yet")).to_be_visible()

    page.get_by_role("link", name="Add application").click()
    page.get_by_role("link", name="Install Amazon").click()
    page.get_by_label("Application name").fill("Amazon FR")
    page.get_by_label("Marketplace").select_option("FR")
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("button", name="Confirm").click()  # on the consent page, this time
    expect(page.get_by_role("status").filter(has_text="Module correctly installed")).to_be_visible()
    assert kept_apps(site) == [("Anna's shop", "Amazon FR", "verified")]


def test_an_authorization_that_cannot_start_leaves_no_app_and_the_panel_as_it_was_filled_in(home, monkeypatch):
    import re

    from starlette.testclient import TestClient

    from linkolis_host import workspaces
    from linkolis_host.host import Host
    from linkolis_host.web import WebSettings, create_app

    monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", "amazon")  # and no operator settings: no client id to start with
    with Host(home) as host:
        workspaces.add_workspace(host, "Anna's shop")
        workspaces.add_user(host, "anna@example.com", "correct horse battery staple", "Anna's shop")
    client = TestClient(create_app(lambda: Host(home), WebSettings("https://shop.example")), "https://shop.example")
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/signin").text).group(1)
    client.post("/signin", data={"csrf": csrf, "email": "anna@example.com", "password": "correct horse battery staple"})
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/apps/new?kind=amazon").text).group(1)

    panel = client.post("/apps/new", data={"csrf": csrf, "kind": "amazon", "name": "Amazon FR", "marketplace": "FR"})

    assert panel.status_code == 502
    assert "The authorization did not complete." in panel.text and 'value="Amazon FR"' in panel.text
    assert '<option value="FR" selected>' in panel.text
    with Host(home) as host:
        assert host.db.execute("SELECT name, status FROM apps").fetchall() == [("Amazon FR", "removed")]
    assert "No applications yet" in client.get("/apps").text
