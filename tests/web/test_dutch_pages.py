"""A Dutch seller never reads English: every page she sees, from signing in and the help page to removing an app,
with an Amazon and a bol app installed, verified and imported, is read in a real browser and compared with the
English the host and the plugins write.

What a page shows is read as a person (or a screen reader) gets it: each visible text, each option of a list, each
accessible name and tooltip, the page's title. The seller's own data (SKUs, order ids, names, addresses, product
titles, app names) is taken out first: it is hers, in whatever language she wrote it. A text marked as another
language (``lang="en"`` on the language switch's "English") is not Dutch and not checked. What is left fails when

- it is an English text of a catalog (the host's, or a plugin's) whose Dutch reads differently, whole or with its
  placeholders filled in ("Import finished for Amazon DE: …"), or
- it holds a word of the stop list: common English words that are no Dutch word (``STOP``, itself checked against
  every Dutch translation so that it cannot flag Dutch).

Nothing here waits for a time or counts seconds: each page is read once it shows what the step needs.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import expect

from linkolis_host.web.i18n import LOCALE_DIR

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = [
    (LOCALE_DIR, "messages"),
    (ROOT / "plugins/amazon/linkolis_amazon/locale", "amazon"),
    (ROOT / "plugins/contrib/bol/linkolis_bol/locale", "bol"),
]

# English words no Dutch sentence uses. Not "of", "is", "in", "app", "status", "import", "per": Dutch has them too;
# not "seller" ("Seller Central", "Seller Portal": the marketplaces' names) nor "quantity" (the stock file's column).
STOP = set(
    """the and or to for with from your you this that these which when what where who has have was were been not
    none never yes order orders ordered stock marketplace marketplaces shipped unshipped pending cancelled canceled
    accepted rejected sending pushed imported importing running stopped waiting next last due merchant buyer
    shipping address city country postal code total price items item lines line shipment shipments carrier
    tracking number settings save remove install configure check again failed error sign email password language
    back new now all add application applications name confirm cancel close choose reserved available offered
    listing listings offer offers history details created updated fulfilled type phone county region
    amount unit units""".split()
)


def _web_conftest():
    """The browser tests' Site and server (``conftest`` alone names tests/conftest.py on this path)."""
    spec = importlib.util.spec_from_file_location("web_conftest", Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_web = _web_conftest()


def _catalog(folder: Path, domain: str, lang: str):
    with (folder / lang / "LC_MESSAGES" / f"{domain}.po").open("rb") as fp:
        return read_po(fp, locale=lang)


def english_texts() -> list[tuple[str, re.Pattern]]:
    """Each English text of the host's and the plugins' catalogs whose Dutch differs, as a pattern that matches it
    whole, its placeholders filled in with anything."""
    found = []
    for folder, domain in CATALOGS:
        dutch = _catalog(folder, domain, "nl")
        for message in _catalog(folder, domain, "en"):
            if not message.id or not isinstance(message.id, str):
                continue
            translated = dutch.get(message.id)
            for english in {message.id, message.string or message.id}:  # the English the web shows, if another
                if translated is not None and translated.string and translated.string.strip() == english.strip():
                    continue  # the same in both: "Status", "SKU", "Client ID"
                parts = re.split(r"%\(\w+\)[sd]", english.strip().rstrip(".:…"))
                if not re.search(r"[A-Za-z]", "".join(parts)):
                    continue  # placeholders alone: nothing English in it
                pattern = ".+".join(re.escape(p) for p in parts)
                found.append((english, re.compile(rf"^{pattern}[.:…]?$", re.I)))
    return found


def dutch_words() -> set[str]:
    words = set()
    for folder, domain in CATALOGS:
        for message in _catalog(folder, domain, "nl"):
            if message.id and isinstance(message.string, str):
                text = re.sub(r"%\(\w+\)[sd]", " ", message.string.lower())  # placeholders: not words
                words |= set(re.findall(r"[a-zà-ÿ]+", text))
    return words


def test_the_stop_list_holds_no_dutch_word():
    assert not STOP & dutch_words()


# What the browser reads: visible texts, options, accessible names and tooltips, the title; with the language each
# is marked in.
READ = """() => {
  const units = [{text: document.title, lang: document.documentElement.lang}];
  const langOf = (el) => (el.closest('[lang]') || document.documentElement).getAttribute('lang');
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest('script, style, template')) continue;
    if (!el.closest('option') && !el.checkVisibility()) continue;
    units.push({text: node.nodeValue, lang: langOf(el)});
  }
  for (const el of document.body.querySelectorAll('[aria-label], [title], [placeholder], [alt]')) {
    for (const name of ['aria-label', 'title', 'placeholder', 'alt']) {
      if (el.hasAttribute(name)) units.push({text: el.getAttribute(name), lang: langOf(el)});
    }
  }
  return units;
}"""


class Reader:
    """Reads each page the walk shows and keeps what is English on it, by page."""

    def __init__(self, site, data: list[str]) -> None:
        self.site = site
        self.data = data
        self.english = english_texts()
        self.found: dict[str, list[str]] = {}
        self.pages: list[str] = []

    def own_data(self) -> re.Pattern:
        """The seller's data as whole words, longest first (so a name inside another is taken out after it)."""
        values = sorted({" ".join(d.split()) for d in self.data if d and d.strip()}, key=len, reverse=True)
        return re.compile("|".join(rf"(?<!\w){re.escape(v)}(?!\w)" for v in values))

    def read(self, page, name: str) -> None:
        self.pages.append(name)
        self.site.shot(page, f"nl-{name}")
        data = self.own_data()
        for unit in page.evaluate(READ):
            if (unit["lang"] or "nl").split("-")[0] != "nl":
                continue
            text = " ".join(unit["text"].split())
            text = data.sub(" ", text)
            text = " ".join(text.split())
            for problem in self.problems(text):
                self.found.setdefault(name, []).append(f"{problem}: {unit['text'].strip()!r}")

    def problems(self, text: str) -> list[str]:
        if not text:
            return []
        found = [f"English text {english!r}" for english, pattern in self.english if pattern.match(text)]
        words = set(re.findall(r"[a-z]+", text.lower().replace("_", " ")))
        found += [f"English word {word!r}" for word in sorted(words & STOP)]
        return found


@pytest.fixture
def both_site(chromium, tls, tmp_path, monkeypatch):
    """The web app with the Amazon and bol apps on offer, each against its simulator."""
    from linkolis_bol.simulator import Simulator as Bol

    from linkolis_host import SystemClock

    monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", "amazon,bol")
    monkeypatch.delenv("LINKOLIS_BOL_ENDPOINT", raising=False)
    bol = Bol(SystemClock(), seed=11, orders=12, offers=6, order_window_days=5, process_seconds=0.2)

    def amazon(base_url):
        return _web.amazon_sim(base_url, orders=12, skus=6)

    def env_of(sim, sim_url):
        return {**_web.amazon_env(sim, sim_url), "LINKOLIS_BOL_ENDPOINT": bol_url}

    with bol.serve() as bol_url, _web.served_site(chromium, tls, tmp_path, amazon, env_of) as site:
        site.bol = bol
        yield site


def sellers_data(site, email: str, workspace: str) -> list[str]:
    """Every text of the seller's own the pages may show: her address and shop, app names, SKUs, order ids, buyers'
    names and addresses, product titles; and the carriers' names (companies' names: "DHL For You")."""
    from linkolis_host import installed, orders, stock, workspaces

    data = [email, workspace]
    with site.host() as host:
        host.workspace_id = next(w.id for w in workspaces.list_workspaces(host) if w.name == workspace)
        data += [carrier.name for kind in host.registry.kinds.values() for carrier in kind.carriers]
        data += [app.name for app in installed.list_apps(host)]
        for row in orders.list_orders(host, limit=10_000):
            order = orders.get_order(host, str(row["id"]))
            data += [order["marketplace_order_id"], order.get("seller_order_id") or ""]
            for line in order["lines"]:
                data += [line["sku"], line.get("title") or ""]
            for party in (order.get("buyer") or {}, order.get("recipient") or {}):
                for value in party.values():
                    data += [str(v) for v in value.values()] if isinstance(value, dict) else [str(value)]
        data += [row["sku"] for row in stock.list_stock(host)]
    return data


def test_a_dutch_seller_reads_no_english_on_any_page(both_site):
    site, bol = both_site, both_site.bol
    email, workspace = "bram@example.nl", "Bram's winkel"
    site.user(email, workspace)
    reader = Reader(site, [email, workspace, "Amazon DE", "bol NL"])
    page = site.page(locale="nl-NL")

    page.goto("/signin")
    reader.read(page, "sign-in")
    site.sign_in(page, email, labels=("E-mailadres", "Wachtwoord", "Inloggen"))
    expect(page.get_by_role("heading", name="Mijn toepassingen")).to_be_visible()
    reader.read(page, "my-applications-empty")
    page.goto("/help")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    reader.read(page, "help")
    page.goto("/apps")

    # Amazon: the catalog, the install panel, the consent page (Amazon's, not ours), back with the banner.
    page.get_by_role("link", name="Toepassing toevoegen").click()
    expect(page.get_by_role("heading", name="Alle toepassingen")).to_be_visible()
    reader.read(page, "catalog")
    page.get_by_role("link", name="Installeren Amazon").click()
    reader.read(page, "amazon-install-panel")
    page.get_by_label("Applicatienaam").fill("Amazon DE")
    page.get_by_label("Marktplaats").select_option(label="Duitsland")
    page.get_by_label("Voorraadupdatesynchronisatie").check()
    page.get_by_role("button", name="Bevestigen").click()
    page.get_by_role("button", name="Confirm").click()  # the simulated Amazon's consent page
    expect(page.get_by_role("status").filter(has_text="Module correct geïnstalleerd")).to_be_visible()
    reader.read(page, "amazon-installed")

    # bol: the install panel, the credentials, back with the banner.
    page.get_by_role("link", name="Toepassing toevoegen").click()
    page.get_by_role("link", name="Installeren bol").click()
    reader.read(page, "bol-install-panel")
    page.get_by_label("Applicatienaam").fill("bol NL")
    page.get_by_label("Voorraadupdatesynchronisatie").check()
    expect(page.get_by_label("Client Secret")).to_be_visible()
    reader.read(page, "bol-credentials")
    page.get_by_label("Client ID").fill(bol.client_id)
    page.get_by_label("Client Secret").fill(bol.client_secret)
    page.get_by_role("button", name="Bevestigen").click()
    expect(page.get_by_role("status").filter(has_text="Module correct geïnstalleerd")).to_be_visible()
    reader.read(page, "bol-installed")

    # Both import; My applications with two verified apps, then each one's panel behind its wrench.
    for name in ("Amazon DE", "bol NL"):
        page.get_by_role("link", name="Apps").click()
        page.get_by_role("button", name=f"Nu bestellingen importeren voor {name}").click()
        expect(page.get_by_role("status").filter(has_text=re.compile(f"Import klaar voor {name}"))).to_be_visible()
    reader.data = sellers_data(site, email, workspace)
    page.get_by_role("link", name="Apps").click()
    expect(page.get_by_role("row").filter(has_text="bol NL")).to_contain_text("gecontroleerd")
    reader.read(page, "my-applications")
    for name in ("Amazon DE", "bol NL"):
        page.get_by_role("link", name=f"{name} configureren").click()
        expect(page.get_by_label("Applicatienaam")).to_have_value(name)
        reader.read(page, f"panel-{name}")

    # Orders, and an order of each app.
    page.get_by_role("navigation").get_by_role("link", name="Bestellingen").click()
    expect(page.get_by_role("row").filter(has=page.get_by_role("link")).first).to_be_visible()
    reader.read(page, "orders")
    for name in ("Amazon DE", "bol NL"):
        page.get_by_role("navigation").get_by_role("link", name="Bestellingen").click()
        page.get_by_role("row").filter(has_text=name).first.get_by_role("link").click()
        expect(page.get_by_role("heading", name="Statusgeschiedenis")).to_be_visible()
        reader.read(page, f"order-{name}")

    # Stock: a count, a push to both, the stock page, a SKU's page.
    sku = sorted(site.sim.stock_truth()[site.sim.default_seller_id])[0]
    page.get_by_role("navigation").get_by_role("link", name="Voorraad").click()
    page.get_by_label("SKU", exact=True).fill(sku)
    page.get_by_label("Aantal").fill("17")
    page.get_by_role("button", name="Opslaan").click()
    for name in ("Amazon DE", "bol NL"):
        page.get_by_role("button", name=f"Nu voorraad verzenden naar {name}").click()
        expect(page.get_by_role("status").filter(has_text=f"Verzenden klaar voor {name}")).to_be_visible()
    reader.data = sellers_data(site, email, workspace)
    reader.read(page, "stock")
    page.get_by_role("link", name=sku, exact=True).click()
    expect(page.get_by_role("heading", name=re.compile(re.escape(sku)))).to_be_visible()
    reader.read(page, "stock-sku")

    # Remove: the confirmation, then My applications without it.
    page.get_by_role("navigation").get_by_role("link", name="Apps").click()
    page.get_by_role("link", name="bol NL verwijderen").click()
    reader.read(page, "remove")
    page.get_by_role("button", name="Verwijderen").click()
    expect(page.get_by_role("row").filter(has_text="bol NL")).to_have_count(0)
    reader.read(page, "removed")

    assert len(reader.pages) == 19
    assert not reader.found, "English on a Dutch page:\n" + "\n".join(
        f"{name}: {problem}" for name, problems in reader.found.items() for problem in problems
    )
