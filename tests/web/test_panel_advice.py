"""The panel's words for what happened (issue 22, items 1 and 5), in a real browser at 1280×800, in English and Dutch:
the wrench on a verified app shows the blue banner with when it was checked and "Check again"; a failed check
shows its action as a button; a refused consent and a bol secret left empty are sentences in the page's language
with a button, never a command for a terminal."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

EN = {
    "locale": "en-GB",
    "signin": ("Email", "Password", "Sign in"),
    "add": "Add application",
    "install": "Install",
    "name": "Application name",
    "marketplace": "Marketplace",
    "confirm": "Confirm",
    "wrench": "Configure Amazon DE",
    "banner": "Module correctly installed",
    "checked": "Checked",
    "check_again": "Check again",
    "failed": "Some checks failed",
    "authorize_again": "Authorize again",
}
NL = {
    "locale": "nl-NL",
    "signin": ("E-mailadres", "Wachtwoord", "Inloggen"),
    "add": "Toepassing toevoegen",
    "install": "Installeren",
    "name": "Applicatienaam",
    "marketplace": "Marktplaats",
    "confirm": "Bevestigen",
    "wrench": "Amazon DE configureren",
    "banner": "Module correct geïnstalleerd",
    "checked": "Gecontroleerd op",
    "check_again": "Opnieuw controleren",
    "failed": "Sommige controles zijn mislukt",
    "authorize_again": "Opnieuw autoriseren",
}
LANGUAGES = pytest.mark.parametrize("texts", [EN, NL], ids=["en", "nl"])
COMMAND = re.compile(r"linkolis |--credential")


def _signed_in(site, texts, email="anna@example.com"):
    page = site.page(locale=texts["locale"])
    page.set_viewport_size({"width": 1280, "height": 800})
    site.sign_in(page, site.user(email, "Anna's shop"), labels=texts["signin"])
    return page


def _install_amazon(page, texts, consent="Confirm"):
    """+ → Install Amazon → the panel → Confirm → the simulator's consent page → ``consent``."""
    page.get_by_role("link", name=texts["add"]).click()
    page.get_by_role("link", name=f"{texts['install']} Amazon").click()
    page.get_by_label(texts["name"]).fill("Amazon DE")
    page.get_by_label(texts["marketplace"]).select_option("DE")
    page.get_by_role("button", name=texts["confirm"]).click()
    expect(page.get_by_role("heading", name=re.compile("Authorize"))).to_be_visible()  # the simulator's page
    page.get_by_role("button", name=consent).click()


def _verifications(site) -> int:
    with site.host() as host:
        return host.db.execute("SELECT COUNT(*) FROM audit_log WHERE event = 'verified'").fetchone()[0]


@LANGUAGES
def test_the_wrench_on_a_verified_app_shows_the_banner_with_when_it_was_checked_and_check_again(site, texts):
    page = _signed_in(site, texts)
    _install_amazon(page, texts)
    expect(page.get_by_role("status").filter(has_text=texts["banner"])).to_be_visible()

    # Later, from My applications: the wrench opens the panel, and the banner says the app still checks out.
    page.goto("/apps")
    expect(page.get_by_text(texts["banner"])).to_have_count(0)
    page.get_by_role("link", name=texts["wrench"]).click()
    banner = page.get_by_role("status").filter(has_text=texts["banner"])
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(re.compile(texts["checked"] + r" \d{1,2} [^\W\d]{3}"))  # a date in words
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", banner.inner_text()), "no raw timestamp"
    site.shot(page, f"wrench-banner-{texts['locale']}")

    # "Check again" runs the checks as a change of settings does, and the banner comes back.
    before = _verifications(site)
    banner.get_by_role("button", name=texts["check_again"]).click()
    expect(page.get_by_role("status").filter(has_text=texts["banner"])).to_be_visible()
    assert _verifications(site) == before + 1


@LANGUAGES
def test_a_failed_check_shows_its_action_as_a_button_also_when_the_wrench_opens_it_later(site, texts):
    page = _signed_in(site, texts)
    _install_amazon(page, texts)
    expect(page.get_by_role("status").filter(has_text=texts["banner"])).to_be_visible()
    site.sim.revoke_refresh_token(selling_partner_id=site.sim.default_seller_id)  # removed in Seller Central

    page.goto("/apps")
    page.get_by_role("link", name=texts["wrench"]).click()
    page.get_by_role("button", name=texts["check_again"]).click()
    failed = page.get_by_role("alert").filter(has_text=texts["failed"])
    expect(failed).to_contain_text("LWA token refresh")
    expect(failed.get_by_role("button", name=texts["authorize_again"])).to_be_visible()
    expect(page.get_by_text(texts["banner"])).to_have_count(0)
    assert not COMMAND.search(failed.inner_text())
    site.shot(page, f"wrench-failed-{texts['locale']}")

    # The wrench, opened again, still shows what the last check found; its button starts the authorization.
    page.goto("/apps")
    page.get_by_role("link", name=texts["wrench"]).click()
    failed = page.get_by_role("alert").filter(has_text=texts["failed"])
    failed.get_by_role("button", name=texts["authorize_again"]).click()
    expect(page.get_by_role("heading", name=re.compile("Authorize"))).to_be_visible()


def test_a_refused_consent_is_a_dutch_sentence_with_a_button_not_a_command(site):
    """A first authorization refused leaves no app: the install panel comes back as filled in, with the reason, and
    its Confirm starts the authorization again."""
    page = _signed_in(site, NL)
    _install_amazon(page, NL, consent="Cancel")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("De autorisatie is niet verleend.")
    expect(alert).to_contain_text("Je hebt bij de marktplaats geen toestemming gegeven, dus er is niets opgeslagen.")
    text = alert.inner_text()
    assert not COMMAND.search(text) and "authoriz" not in text, text
    site.shot(page, "consent-refused-nl")
    page.get_by_role("button", name=NL["confirm"]).click()
    expect(page.get_by_role("heading", name=re.compile("Authorize"))).to_be_visible()  # back at the consent page


def _web_conftest():
    """The browser tests' ``served_site`` (``conftest`` alone names tests/conftest.py on this path)."""
    spec = importlib.util.spec_from_file_location("web_conftest", Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def bol_site(chromium, tls, tmp_path, monkeypatch):
    from linkolis_bol.simulator import Simulator

    from linkolis_host import SystemClock

    monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", "bol")
    monkeypatch.delenv("LINKOLIS_BOL_ENDPOINT", raising=False)

    def bol(base_url):
        return Simulator(SystemClock(), seed=11, orders=3, offers=3, order_window_days=5, process_seconds=0.2)

    env_of = lambda sim, sim_url: {"LINKOLIS_BOL_ENDPOINT": sim_url}
    with _web_conftest().served_site(chromium, tls, tmp_path, bol, env_of) as site:
        yield site


def test_a_bol_secret_left_empty_is_a_dutch_sentence_with_a_button_not_a_command(bol_site):
    site = bol_site
    page = _signed_in(site, NL)
    page.get_by_role("link", name=NL["add"]).click()
    page.get_by_role("link", name=f"{NL['install']} bol").click()
    page.get_by_label(NL["name"]).fill("bol NL")
    page.get_by_label("Client ID").fill(site.sim.client_id)
    page.get_by_role("button", name=NL["confirm"]).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Vul ook Client Secret in: de app heeft dat nodig om verbinding te maken.")
    expect(alert.get_by_role("link", name="Vul de inloggegevens in")).to_be_visible()
    expect(page.get_by_label("Client Secret")).to_have_attribute("aria-invalid", "true")
    text = alert.inner_text()
    assert not COMMAND.search(text) and "credential" not in text, text
    site.shot(page, "bol-secret-empty-nl")
