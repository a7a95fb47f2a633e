"""Any screen, in a real Chromium, in English and Dutch, on a desktop (1280×800) and a phone (390×844): a seller with
two Amazon apps that imported orders finds every page fits the screen (no sideways scrolling of the page), the
wrench and bin of each app in view (the panel open too, on a desktop), the sidebar behind a Menu button on a phone,
the panel taking focus and giving it back to the wrench, every control named by what it shows, and the way from
sign-in to the panel and back with the keyboard alone. Every page's screenshot, in both sizes and languages, is
saved in the test's tmp dir as page-size-lang.png.

One served app for the module (two cores are shared): the tests only read what the fixture set up.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from urllib.parse import quote

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect


def _web_conftest():
    """The browser tests' Site and server (``conftest`` alone names tests/conftest.py on this path)."""
    spec = importlib.util.spec_from_file_location("web_conftest", Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


web = _web_conftest()
DESKTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}
SIZES = {"1280x800": DESKTOP, "390x844": PHONE}
SELLERS = {"en": ("anna@example.com", "en-GB"), "nl": ("daan@example.nl", "nl-NL")}
WORDS = {
    "en": {"signin": ("Email", "Password", "Sign in"), "mine": "My applications", "menu": "Menu", "orders": "Orders",
           "configure": "Configure %s", "remove": "Remove %s", "close": "Close"},
    "nl": {"signin": ("E-mailadres", "Wachtwoord", "Inloggen"), "mine": "Mijn toepassingen", "menu": "Menu",
           "orders": "Bestellingen", "configure": "%s configureren", "remove": "%s verwijderen", "close": "Sluiten"},
}  # fmt: skip
APPS = ("Amazon DE", "Amazon NL")


@pytest.fixture(scope="module")
def shop(chromium, tls, tmp_path_factory):
    """Anna's shop (Anna reads English, Daan Dutch): Amazon DE and Amazon NL, both authorized and with their orders
    imported, and a count for a SKU those orders hold."""
    from linkolis_host import apps, orders, stock, workspaces

    with pytest.MonkeyPatch.context() as env:
        env.setenv("LINKOLIS_LOAD_PLUGINS", "amazon")
        tmp = tmp_path_factory.mktemp("any-screen")
        with web.served_site(chromium, tls, tmp, web.amazon_sim, web.amazon_env) as site:
            site.user("anna@example.com", "Anna's shop", language="en")
            site.user("daan@example.nl", "Anna's shop", language="nl")
            with site.host() as host:
                host.workspace_id = workspaces.get_workspace(host, "Anna's shop").id
                for name, market in zip(APPS, ("DE", "NL"), strict=True):
                    apps.install(host, "amazon", {"name": name, "marketplace": market, "stock_sync": True})
                    tokens = {"refresh_token": site.sim.authorize(), "selling_partner_id": site.sim.default_seller_id}
                    apps.authorize_direct(host, name, tokens)
                    orders.import_orders(host, name)
                order = orders.list_orders(host, limit=1)[0]
                sku = orders.get_order(host, str(order["id"]))["lines"][0]["sku"]
                stock.set_stock(host, sku, 17)
            site.order_id, site.sku = order["id"], sku
            yield site


@pytest.fixture(autouse=True)
def amazon_enabled(monkeypatch):
    monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", "amazon")  # the served app's hosts read it per request


def pages(shop) -> dict[str, str]:
    return {
        "apps": "/apps",
        "panel": "/apps?open=" + quote(APPS[0]),
        "catalog": "/apps/catalog",
        "orders": "/orders",
        "order": f"/orders/{shop.order_id}",
        "stock": "/stock",
        "sku": "/stock/sku?sku=" + quote(shop.sku),
    }


def signed_in(shop, lang: str, viewport: dict):
    email, locale = SELLERS[lang]
    context = shop.browser.new_context(
        ignore_https_errors=True, locale=locale, base_url=shop.base_url, viewport=viewport
    )
    context.set_default_timeout(15_000)
    shop.contexts.append(context)
    page = context.new_page()
    shop.sign_in(page, email, labels=WORDS[lang]["signin"])
    expect(page.get_by_role("heading", name=WORDS[lang]["mine"])).to_be_visible()
    return page


def scrolls_sideways(page) -> str:
    """Empty when the page fits its width; else what sticks out furthest, to say in the failure."""
    page.wait_for_load_state()  # its stylesheet applied
    return page.evaluate(
        """() => {
          if (document.scrollingElement.scrollWidth <= window.innerWidth) return "";
          let far = null, right = 0;
          for (const el of document.body.querySelectorAll("*")) {
            const r = el.getBoundingClientRect().right;
            if (r > right) { right = r; far = el; }
          }
          return `${document.scrollingElement.scrollWidth} px wide: ${far.outerHTML.slice(0, 200)} ends at ${right}`;
        }"""
    )


def assert_in_view_and_on_top(page, control) -> None:
    """Wholly inside the viewport, and what a tap at its centre reaches (nothing drawn over it)."""
    control.scroll_into_view_if_needed()
    expect(control).to_be_in_viewport(ratio=1)
    assert control.evaluate(
        """el => { const r = el.getBoundingClientRect();
                   return el.contains(document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2)); }"""
    ), f"{control} is covered"


def menu_button(page, lang: str):
    """The phone's Menu button: a <summary>, which Chromium exposes as a disclosure button (Playwright has no role
    for it, so it is found by its element and its text)."""
    return page.locator("summary", has_text=WORDS[lang]["menu"])


def assert_tools_of_every_app_in_view(page, lang: str) -> None:
    for name in APPS:
        for tool in ("configure", "remove"):
            assert_in_view_and_on_top(page, page.get_by_role("link", name=WORDS[lang][tool] % name, exact=True))


@pytest.mark.parametrize("lang", ["en", "nl"])
@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_fits_the_screen_with_each_apps_wrench_and_bin_in_view(shop, size, lang, tmp_path):
    viewport = SIZES[size]
    phone = viewport["width"] <= 768  # 48rem and under: the Menu button
    covered = viewport["width"] <= 1024  # 64rem and under: the panel covers the screen
    context = shop.browser.new_context(
        ignore_https_errors=True, locale=SELLERS[lang][1], base_url=shop.base_url, viewport=viewport
    )
    shop.contexts.append(context)
    page = context.new_page()
    page.goto("/signin")
    assert not scrolls_sideways(page)
    page.screenshot(path=str(tmp_path / f"signin-{size}-{lang}.png"), full_page=True)

    page = signed_in(shop, lang, viewport)
    if not phone:  # the sidebar, no Menu button
        expect(page.get_by_role("navigation").get_by_role("link", name=WORDS[lang]["orders"])).to_be_visible()
        expect(menu_button(page, lang)).to_be_hidden()
    for name, url in pages(shop).items():
        page.goto(url)
        assert not scrolls_sideways(page), f"{name} at {size} in {lang}: {scrolls_sideways(page)}"
        if name == "apps" or (name == "panel" and not covered):
            assert_tools_of_every_app_in_view(page, lang)
        if name == "panel":
            panel = page.get_by_role("complementary").filter(has=page.get_by_role("heading", name=APPS[0]))
            panel.evaluate("el => Promise.all(el.getAnimations().map((a) => a.finished))")  # slid in
            box = panel.bounding_box()
            assert round(box["x"] + box["width"]) == viewport["width"]  # on the right edge
            if covered:
                assert [round(v) for v in box.values()] == [0, 0, viewport["width"], viewport["height"]]
            else:
                assert round(box["height"]) == viewport["height"] and box["width"] < viewport["width"] / 2
        page.screenshot(path=str(tmp_path / f"{name}-{size}-{lang}.png"), full_page=True, animations="disabled")
    assert len(list(tmp_path.glob(f"*-{size}-{lang}.png"))) == 8


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_on_a_phone_the_menu_button_opens_the_sidebar(shop, lang, tmp_path):
    words = WORDS[lang]
    page = signed_in(shop, lang, PHONE)
    nav = page.get_by_role("navigation")
    expect(nav.get_by_role("link", name=words["orders"])).to_be_hidden()
    assert_tools_of_every_app_in_view(page, lang)  # the bar leaves the list the whole width

    menu = menu_button(page, lang)
    assert_in_view_and_on_top(page, menu)
    menu.click()
    assert_in_view_and_on_top(page, nav.get_by_role("link", name=words["orders"]))
    page.screenshot(path=str(tmp_path / f"menu-390x844-{lang}.png"))
    page.keyboard.press("Escape")
    expect(nav.get_by_role("link", name=words["orders"])).to_be_hidden()

    menu.click()
    nav.get_by_role("link", name=words["orders"]).click()
    expect(page.get_by_role("heading", name=words["orders"], exact=True)).to_be_visible()
    assert not scrolls_sideways(page)


@pytest.mark.parametrize("size, lang", [("1280x800", "en"), ("390x844", "nl")])
def test_focus_enters_the_panel_when_it_opens_and_returns_to_the_wrench(shop, size, lang):
    words = WORDS[lang]
    page = signed_in(shop, lang, SIZES[size])
    wrench = page.get_by_role("link", name=words["configure"] % APPS[1], exact=True)
    panel = page.locator("aside")

    wrench.click()
    expect(panel.get_by_role("heading", name=APPS[1])).to_be_focused()
    page.keyboard.press("Escape")
    expect(panel).to_have_count(0)
    expect(wrench).to_be_focused()
    assert page.url.endswith("/apps")

    wrench.click()
    expect(panel.get_by_role("heading", name=APPS[1])).to_be_focused()
    panel.get_by_role("link", name=words["close"]).click()
    expect(panel).to_have_count(0)
    expect(wrench).to_be_focused()


def focused(page, locator) -> bool:
    return locator.evaluate("el => el === document.activeElement || el.contains(document.activeElement)")


def tab_to(page, locator, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page, locator):
            return
    raise AssertionError(f"{limit} presses of Tab never reached {locator}")


@pytest.mark.parametrize("size, lang", [("1280x800", "en"), ("390x844", "nl")])
def test_keyboard_only_from_sign_in_to_the_panel_and_back(shop, size, lang):
    words = WORDS[lang]
    email, locale = SELLERS[lang]
    context = shop.browser.new_context(
        ignore_https_errors=True, locale=locale, base_url=shop.base_url, viewport=SIZES[size]
    )
    shop.contexts.append(context)
    page = context.new_page()
    page.goto("/signin")
    tab_to(page, page.get_by_label(words["signin"][0]))
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(web.PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=words["mine"])).to_be_visible()

    if size == "390x844":  # the Menu button opens the sidebar; Escape closes it again
        tab_to(page, menu_button(page, lang))
        page.keyboard.press("Enter")
        expect(page.get_by_role("navigation").get_by_role("link", name=words["orders"])).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.get_by_role("navigation").get_by_role("link", name=words["orders"])).to_be_hidden()

    wrench = page.get_by_role("link", name=words["configure"] % APPS[0], exact=True)
    tab_to(page, wrench)
    page.keyboard.press("Enter")
    panel = page.locator("aside")
    expect(panel.get_by_role("heading", name=APPS[0])).to_be_focused()
    page.keyboard.press("Tab")
    expect(panel.get_by_role("link", name=words["close"])).to_be_focused()
    page.keyboard.press("Tab")
    assert focused(page, panel)  # on into the panel's form
    page.keyboard.press("Escape")
    expect(panel).to_have_count(0)
    expect(wrench).to_be_focused()

    page.keyboard.press("Enter")
    expect(panel.get_by_role("heading", name=APPS[0])).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # Close
    expect(panel).to_have_count(0)
    expect(wrench).to_be_focused()


SHOWN_TEXT = """() => {
  const shown = (node) => {
    if (node.nodeType === Node.TEXT_NODE) return node.textContent;
    if (node.nodeType !== Node.ELEMENT_NODE) return "";
    if (node.getAttribute("aria-hidden") === "true" || node.classList.contains("sr")) return "";
    return Array.from(node.childNodes).map(shown).join("");
  };
  return Array.from(document.querySelectorAll("a[href], button, summary"))
    .filter((el) => el.checkVisibility())
    .map((el, i) => { el.dataset.probe = i; return [i, shown(el).replace(/\\s+/g, " ").trim()]; });
}"""


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_every_control_is_named_by_the_text_it_shows(shop, lang):
    """WCAG's label in name: a voice user says what they see. An icon alone shows no text, so it needs a name."""
    page = signed_in(shop, lang, DESKTOP)
    for name, url in pages(shop).items():
        page.goto(url)
        for probe, text in page.evaluate(SHOWN_TEXT):
            control = page.locator(f"[data-probe='{probe}']")
            wanted = re.compile(re.escape(text), re.IGNORECASE) if text else re.compile(r"\S")
            expect(control, f"on {name}: {text or 'an icon'}").to_have_accessible_name(wanted)
