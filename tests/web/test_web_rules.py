"""The web app's rules that need no browser: sign-in, CSRF, headers, languages, workspaces and users."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from linkolis_host import workspaces
from linkolis_host.cli import cli
from linkolis_host.host import Host
from linkolis_host.web import WebSettings, create_app
from linkolis_host.web.i18n import LOCALE_DIR, from_accept_language, translations

PASSWORD = "correct horse battery staple"


@pytest.fixture
def client(home):
    with Host(home) as host:
        workspaces.add_workspace(host, "Anna's shop")
        workspaces.add_user(host, "Anna@Example.com", PASSWORD, "Anna's shop")
    app = create_app(lambda: Host(home), WebSettings("https://shop.example"))
    return TestClient(app, base_url="https://shop.example")


def csrf_of(page) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def sign_in(client, email="anna@example.com", password=PASSWORD):
    token = csrf_of(client.get("/signin"))
    return client.post("/signin", data={"csrf": token, "email": email, "password": password}, follow_redirects=False)


def test_signing_in_gives_a_secure_httponly_lax_session_and_every_page_security_headers(client):
    response = sign_in(client)
    assert response.status_code == 303 and response.headers["location"] == "/apps"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie
    page = client.get("/apps/callback?state=x&code=y")
    assert page.headers["referrer-policy"] == "no-referrer"
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in client.get("/apps").text  # no inline script anywhere


def test_pages_need_a_signed_in_user(client):
    assert client.get("/orders", follow_redirects=False).headers["location"] == "/signin"


def test_a_form_without_its_csrf_token_is_refused(client):
    sign_in(client)
    response = client.post("/stock/set", data={"sku": "A-1", "quantity": "3"})
    assert response.status_code == 403
    assert "A-1" not in client.get("/stock").text


def test_failed_sign_ins_are_limited_per_address(client):
    for _ in range(5):
        assert sign_in(client, password="wrong password!").status_code == 401
    assert sign_in(client).status_code == 429  # even the right password waits now


def test_signing_out_ends_the_session(client):
    sign_in(client)
    client.post("/signout", data={"csrf": csrf_of(client.get("/apps"))})
    assert client.get("/apps", follow_redirects=False).headers["location"] == "/signin"


def test_the_language_follows_accept_language_then_the_users_choice(client):
    assert "Inloggen" in client.get("/signin", headers={"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.5"}).text
    assert "Sign in" in client.get("/signin", headers={"Accept-Language": "de-DE,en;q=0.5"}).text
    assert from_accept_language("fr;q=0.3, nl-BE;q=0.8") == "nl"
    sign_in(client)
    client.post("/language", data={"csrf": csrf_of(client.get("/apps")), "lang": "nl"})
    assert "Mijn toepassingen" in client.get("/apps", headers={"Accept-Language": "en"}).text


def test_every_text_the_pages_show_has_a_dutch_translation():
    from babel.messages.extract import extract_from_dir

    web = LOCALE_DIR.parent
    found = {
        msg
        for _, _, msg, *_ in extract_from_dir(
            str(web),
            method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2")],
            keywords={"_": None, "N_": None},
        )
    }
    dutch = translations("nl")
    missing = sorted(
        m
        for m in found
        if isinstance(m, str) and dutch.gettext(m) == m and m not in ("Status", "SKU", "Apps", "Import", "Menu")
    )
    assert not missing, f"untranslated: {missing}"
    assert dutch.gettext("Module correctly installed") == "Module correct geïnstalleerd"


def test_both_catalogs_read_cleanly_and_hold_the_same_messages():
    """Each entry is a msgid and a msgstr (a merge that drops a line shifts every entry after it), none twice."""
    from babel.messages.pofile import read_po

    ids = {}
    for lang in ("en", "nl"):
        path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if line.startswith("msgid "):
                assert lines[number + 1].startswith(("msgstr ", '"')), f"{path}:{number + 1}: {line} has no msgstr"
        msgids = [line for line in lines if line.startswith("msgid ")]
        assert len(msgids) == len(set(msgids)), f"{path}: twice: {sorted({m for m in msgids if msgids.count(m) > 1})}"
        with path.open("rb") as fp:
            ids[lang] = {m.id for m in read_po(fp, locale=lang, abort_invalid=True) if m.id}
    assert ids["en"] == ids["nl"], ids["en"] ^ ids["nl"]


def test_workspaces_and_users_from_the_cli(home):
    runner = CliRunner()

    def run(*args, input=None, code=0):
        result = runner.invoke(cli, list(args), input=input)
        assert result.exit_code == code, result.output
        return result

    assert json.loads(run("workspaces", "add", "Anna's shop", "--json").stdout)["name"] == "Anna's shop"
    run("workspaces", "add", "anna's  SHOP", code=1)
    added = json.loads(
        run("users", "add", "anna@example.com", "--password-stdin", "--json", input=PASSWORD + "\n").stdout
    )
    assert added == {"email": "anna@example.com", "workspace": "Anna's shop", "language": None}
    assert PASSWORD not in run("users", "list").output
    run("users", "add", "ANNA@example.com", "--password-stdin", input=PASSWORD + "\n", code=1)  # any case: taken
    short = run("users", "add", "bob@example.com", "--password-stdin", input="short\n", code=1)
    assert "at least 10 characters" in short.output
    no_stdin = run("users", "add", "bob@example.com", code=2)
    assert "--password-stdin" in no_stdin.output
    with Host(home) as host:
        assert workspaces.authenticate(host, "Anna@Example.COM", PASSWORD).workspace == "Anna's shop"
        assert workspaces.authenticate(host, "anna@example.com", "not the password") is None
    run("users", "remove", "anna@example.com")
    assert json.loads(run("users", "list", "--json").stdout) == []


def test_a_user_of_another_workspace_sees_none_of_the_first_ones_apps_orders_and_stock(home, market):
    import testmarket
    from helpers import token_of

    from linkolis_host import apps, orders, stock

    with Host(home, extra_plugins=[testmarket]) as host:
        anna = workspaces.add_workspace(host, "Anna's shop")
        workspaces.add_workspace(host, "Bram's shop")
        workspaces.add_user(host, "anna@example.com", PASSWORD, "Anna's shop")
        workspaces.add_user(host, "bram@example.com", PASSWORD, "Bram's shop")
        host.workspace_id = anna.id
        apps.install(host, "testmarket", {"name": "Anna EU", "region": "EU", "stock_sync": True})
        apps.authorize_direct(host, "Anna EU", {"token": token_of("SELLER1"), "account": "SELLER1"})
        market.add_order("O-ANNA-1")
        orders.import_orders(host, "Anna EU")
        order_id = orders.get_order(host, "O-ANNA-1")["id"]
        stock.set_stock(host, "SKU-ANNA", 5)
    app = create_app(lambda: Host(home, extra_plugins=[testmarket]), WebSettings("https://shop.example"))

    anna_browser = TestClient(app, base_url="https://shop.example")
    sign_in(anna_browser, "anna@example.com")
    assert "Anna EU" in anna_browser.get("/apps").text
    assert "O-ANNA-1" in anna_browser.get("/orders").text
    assert "SKU-ANNA" in anna_browser.get("/stock").text

    bram_browser = TestClient(app, base_url="https://shop.example")
    sign_in(bram_browser, "bram@example.com")
    for path in ("/apps", "/orders", "/stock", "/apps?open=Anna%20EU"):
        page = bram_browser.get(path)
        assert page.status_code == 200
        assert re.findall(r"Anna EU|O-ANNA-1|SKU-ANNA", page.text) == [], path
    for path in ("/orders/O-ANNA-1", f"/orders/{order_id}"):  # by Amazon's order id or by the host's
        assert bram_browser.get(path).status_code == 404
    searched = bram_browser.get("/orders?q=O-ANNA-1", follow_redirects=False)
    assert searched.status_code == 200 and "No order O-ANNA-1." in searched.text
    token = csrf_of(bram_browser.get("/apps"))
    bram_browser.post("/apps/remove", data={"csrf": token, "app": "Anna EU"})
    bram_browser.post("/stock/set", data={"csrf": token, "sku": "SKU-ANNA", "quantity": "0"})

    # Bram's requests changed nothing of Anna's: her app stays, her quantity is hers.
    assert "Anna EU" in anna_browser.get("/apps").text
    with Host(home, extra_plugins=[testmarket]) as host:
        host.workspace_id = anna.id
        levels = [(r["sku"], r["on_hand"], r["reserved"]) for r in stock.list_stock(host)]
        assert levels == [("SKU-0", None, 1), ("SKU-ANNA", 5, 0)], "her order reserves its line's SKU, never counted"
