"""A plugin's words come from the plugin, in each language it ships: the catalog's descriptions, the panel's titles,
help lines and choices (Amazon's marketplaces by country name), and My applications' settings column. The host's
catalog holds none of them."""

from __future__ import annotations

import html
import re
import types

import pytest
from pydantic import Field, field_validator
from starlette.testclient import TestClient

from linkolis_host import AppKind, AppSettings, Refusal, apps, hookimpl, workspaces
from linkolis_host.host import Host
from linkolis_host.testing import own_words
from linkolis_host.web import WebSettings, create_app
from linkolis_host.web.i18n import translations

PASSWORD = "correct horse battery staple"


@pytest.fixture
def signed_in(home, monkeypatch):
    """A signed-in seller's browser, by language, with the Amazon and bol apps on offer."""
    monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", "amazon,bol")
    with Host(home) as host:
        workspaces.add_workspace(host, "Bram's winkel")
        workspaces.add_user(host, "bram@example.nl", PASSWORD, "Bram's winkel")

    def client(lang: str) -> TestClient:
        web = TestClient(
            create_app(lambda: Host(home), WebSettings("https://shop.example")),
            base_url="https://shop.example",
            headers={"Accept-Language": lang},
        )
        token = re.search(r'name="csrf" value="([^"]+)"', web.get("/signin").text).group(1)
        web.post("/signin", data={"csrf": token, "email": "bram@example.nl", "password": PASSWORD})
        return web

    return client


def texts(page) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text)))


def test_the_catalog_describes_each_app_in_the_sellers_language(signed_in):
    dutch = texts(signed_in("nl").get("/apps/catalog"))
    assert "Importeer bestellingen van een Amazon-marktplaats" in dutch
    assert "Importeer bestellingen van bol (FBR en FBB)" in dutch
    assert "Import orders" not in dutch
    assert "Import orders from an Amazon marketplace" in texts(signed_in("en").get("/apps/catalog"))


def test_the_amazon_panel_names_marketplaces_by_country_in_dutch_and_english(signed_in):
    page = signed_in("nl").get("/apps/new?kind=amazon").text
    assert '<option value="DE">Duitsland</option>' in page
    assert '<option value="NL">Nederland</option>' in page
    assert '<label for="field-marketplace">Marktplaats</label>' in page
    assert "Het land van Amazon waar deze app verkoopt" in page
    assert "Voorraadbuffer" in page  # a field every panel inherits: the host's word
    assert "The Amazon country" not in page and "Push stock levels" not in page
    english = signed_in("en").get("/apps/new?kind=amazon").text
    assert '<option value="DE">Germany</option>' in english
    assert "The Amazon country this app sells in" in english


def test_the_bol_panel_speaks_dutch_down_to_its_credential_fields(signed_in, home):
    with Host(home) as host:
        host.workspace_id = workspaces.list_workspaces(host)[0].id
        apps.install(host, "bol", {"name": "bol NL"})
    page = texts(signed_in("nl").get("/apps?open=bol NL"))
    assert 'Hoe deze app heet in Mijn toepassingen ("bol NL", "bol BE")' in page
    assert "Verzend voorraadniveaus naar je bol-aanbiedingen" in page
    assert "Eenmalig getoond wanneer je de API-gegevens aanmaakt" in page
    assert "Shown once" not in page and "How this app" not in page


def test_my_applications_shows_an_apps_marketplace_by_its_country_name(signed_in, home):
    with Host(home) as host:
        host.workspace_id = workspaces.list_workspaces(host)[0].id
        apps.install(host, "amazon", {"name": "Amazon DE", "marketplace": "DE"})
    assert "Marktplaats: Duitsland" in texts(signed_in("nl").get("/apps"))
    assert "Marketplace: Germany" in texts(signed_in("en").get("/apps"))


def test_the_hosts_catalog_holds_no_plugins_words():
    from linkolis_amazon.plugin import configure_fields as amazon
    from linkolis_bol.plugin import configure_fields as bol

    host_words = {m for m in translations("nl")._catalog if isinstance(m, str) and m}
    for kind in (amazon(), bol()):
        assert not set(own_words(kind)) & host_words, kind.kind


@pytest.mark.parametrize("plugin", ["plugins/amazon", "plugins/contrib/bol"])
def test_each_plugin_ships_its_catalogs_in_its_wheel(plugin):
    import fnmatch
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / plugin
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    [(package, patterns)] = config["tool"]["setuptools"]["package-data"].items()
    catalogs = [p.relative_to(root / package).as_posix() for p in (root / package / "locale").glob("*/LC_MESSAGES/*")]
    assert {"en", "nl"} <= {c.split("/")[1] for c in catalogs}
    assert all(any(fnmatch.fnmatch(c, pattern) for pattern in patterns) for c in catalogs)


def test_a_plugins_refusal_is_translated_by_its_catalog_then_filled_in(home, tmp_path, monkeypatch):
    """A refusal's values may stand in another order in Dutch; a translation whose placeholders do not match the
    values is shown in the plugin's English rather than breaking the page."""

    class Panel(AppSettings):
        name: str = Field("Corner", title="Application name", description="How this app is called in My applications")
        shop: str = Field(title="Shop")

        @field_validator("shop")
        @classmethod
        def _someone_elses(cls, shop: str) -> str:
            if shop == "bram":
                raise Refusal("%(shop)s is the shop of %(owner)s", shop=shop, owner="Bram")
            if shop == "anke":
                raise Refusal("%(shop)s belongs to another seller", shop=shop)
            return shop

    nl = tmp_path / "locale" / "nl" / "LC_MESSAGES" / "corner.po"
    nl.parent.mkdir(parents=True)
    nl.write_text(
        'msgid "%(shop)s is the shop of %(owner)s"\nmsgstr "Dit is de winkel van %(owner)s: %(shop)s"\n\n'
        'msgid "%(shop)s belongs to another seller"\nmsgstr "%(winkel)s is van een andere verkoper"\n',
        encoding="utf-8",
    )
    plugin = types.ModuleType("corner")
    plugin.configure_fields = hookimpl(
        lambda: AppKind(kind="corner", title="Corner", description="D", settings=Panel, locale_dir=nl.parents[2])
    )
    with Host(home) as host:
        workspaces.add_workspace(host, "Bram's winkel")
        workspaces.add_user(host, "bram@example.nl", PASSWORD, "Bram's winkel")
    web = TestClient(
        create_app(lambda: Host(home, extra_plugins=[plugin]), WebSettings("https://shop.example")),
        base_url="https://shop.example",
        headers={"Accept-Language": "nl"},
    )
    token = re.search(r'name="csrf" value="([^"]+)"', web.get("/signin").text).group(1)
    web.post("/signin", data={"csrf": token, "email": "bram@example.nl", "password": PASSWORD})

    def refused(shop: str) -> str:
        token = re.search(r'name="csrf" value="([^"]+)"', web.get("/apps/new?kind=corner").text).group(1)
        page = web.post("/apps/new", data={"csrf": token, "kind": "corner", "name": "Corner", "shop": shop})
        assert page.status_code == 422
        return texts(page)

    assert "Dit is de winkel van Bram: bram" in refused("bram")
    assert "anke belongs to another seller" in refused("anke")
