"""The help page's story, step by step, as the seller follows it: from the sidebar (behind Menu on a phone) to the
help page, from its link to All applications, Install, Confirm, the marketplace's consent, the blue banner, and back
to the wrench and the bin beside the app. A Dutch seller on a phone (390×844) and an English one on a desktop
(1280×800); the page never scrolls sideways, and the help page names no command."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

NL = {
    "locale": "nl-NL",
    "size": {"width": 390, "height": 844},
    "signin": ("E-mailadres", "Wachtwoord", "Inloggen"),
    "help": "Hulp",
    "promise": "Linkolis haalt je bestellingen binnen en houdt je voorraad gelijk",
    "to_catalog": "Naar Alle toepassingen",
    "install": "Installeren",
    "name": "Applicatienaam",
    "marketplace": "Marktplaats",
    "germany": "Duitsland",
    "confirm": "Bevestigen",
    "banner": "Module correct geïnstalleerd",
    "close": "Sluiten",
    "to_apps": "Naar Mijn toepassingen",
    "wrench": "Amazon DE configureren",
    "bin": "Amazon DE verwijderen",
    "remove_heading": "verwijderen",
}
EN = {
    "locale": "en-GB",
    "size": {"width": 1280, "height": 800},
    "signin": ("Email", "Password", "Sign in"),
    "help": "Help",
    "promise": "Linkolis imports your orders and keeps your stock in sync",
    "to_catalog": "Go to All applications",
    "install": "Install",
    "name": "Application name",
    "marketplace": "Marketplace",
    "germany": "Germany",
    "confirm": "Confirm",
    "banner": "Module correctly installed",
    "close": "Close",
    "to_apps": "Go to My applications",
    "wrench": "Configure Amazon DE",
    "bin": "Remove Amazon DE",
    "remove_heading": "Remove",
}


def fits(page) -> None:
    width = page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page scrolls sideways: {width}"


def in_view(page, locator) -> None:
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    size = page.viewport_size
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= size["width"], box


def open_menu_item(page, name: str, phone: bool) -> None:
    if phone:
        page.get_by_text("Menu", exact=True).click()
    page.get_by_role("navigation").get_by_role("link", name=name, exact=True).click()


@pytest.mark.parametrize("texts", [NL, EN], ids=["nl-phone", "en-desktop"])
def test_a_seller_follows_the_help_page_from_the_sidebar_to_the_banner_and_back_to_the_wrench_and_bin(site, texts):
    phone = texts["size"]["width"] < 500
    page = site.page(locale=texts["locale"])
    page.set_viewport_size(texts["size"])
    site.sign_in(page, site.user("anna@example.com", "Anna's shop"), labels=texts["signin"])

    # The sidebar's Help: the product's promise first, the steps, and no line meant for a terminal.
    open_menu_item(page, texts["help"], phone)
    expect(page.get_by_role("heading", name=texts["help"], level=1)).to_be_visible()
    expect(page.locator("main")).to_contain_text(texts["promise"])
    assert not re.search(r"linkolis [a-z]|--[a-z]", page.locator("main").inner_text())
    fits(page)
    site.shot(page, f"help-{texts['locale']}")

    # Step 1 as written: All applications, Install, a name and a marketplace, Confirm, the consent, the banner.
    page.get_by_role("link", name=texts["to_catalog"]).click()
    page.get_by_role("link", name=f"{texts['install']} Amazon").click()
    page.get_by_label(texts["name"]).fill("Amazon DE")
    page.get_by_label(texts["marketplace"]).select_option(label=texts["germany"])
    fits(page)
    page.get_by_role("button", name=texts["confirm"]).click()
    expect(page.get_by_role("heading", name=re.compile("Authorize"))).to_be_visible()  # the marketplace's page
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status").filter(has_text=texts["banner"])).to_be_visible()
    fits(page)
    site.shot(page, f"help-banner-{texts['locale']}")

    # Step 2: back on My applications, the wrench and the bin beside the app, in view.
    page.get_by_role("link", name=texts["close"]).click()
    wrench = page.get_by_role("link", name=texts["wrench"])
    in_view(page, wrench)
    in_view(page, page.get_by_role("link", name=texts["bin"]))
    fits(page)
    wrench.click()
    expect(page.get_by_role("status").filter(has_text=texts["banner"])).to_be_visible()
    # Escape is the panel's once its script has run, which moves focus into it (pressed before, it was lost: a flake).
    expect(page.get_by_role("complementary").get_by_role("heading", level=2)).to_be_focused()
    page.keyboard.press("Escape")
    in_view(page, page.get_by_role("link", name=texts["bin"]))
    page.get_by_role("link", name=texts["bin"]).click()
    expect(page.get_by_role("heading", name=re.compile(texts["remove_heading"]))).to_be_visible()
    fits(page)
    site.shot(page, f"help-remove-{texts['locale']}")
