"""`linkolis apps authorize` through the operator's served callback, as Amazon requires.

The operator runs `linkolis serve` at https://linkolis.example and registered its callback with Amazon; the
simulator accepts that redirect URI and nothing else, like Amazon. The command prints the consent URL and waits;
the seller confirms in a browser that has never signed in to Linkolis; the served callback completes the
authorization and tells the seller to go back to the terminal, where the command reports it.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from linkolis_amazon.simulator.browser import SellerBrowser
from starlette.testclient import TestClient

from linkolis_host import apps, oauth
from linkolis_host.host import Host
from linkolis_host.web import WebSettings, create_app

BASE_URL = "https://linkolis.example"
CALLBACK = BASE_URL + "/apps/callback"
ENDPOINT = "https://amazon.sim.test"
SELLER = "A1SIMSELLER001"


@pytest.fixture
def sim_options():
    return {"redirect_uris": [CALLBACK], "allow_loopback_redirects": False}  # as Amazon: registered https only


@pytest.fixture
def served(home, clock, wire, operator_env):
    """`linkolis serve` at BASE_URL, on the same data directory as the command."""
    app = create_app(lambda: Host(home, clock=clock, transport=wire, env=operator_env), WebSettings(BASE_URL))
    with TestClient(app, base_url=BASE_URL) as client:
        yield client


@pytest.fixture
def hosted(host):
    host.env["LINKOLIS_BASE_URL"] = BASE_URL
    return BASE_URL


class Browser(SellerBrowser):
    """The seller's browser: Amazon is the simulator, linkolis.example the served web app."""

    def __init__(self, sim, served, action: str) -> None:
        super().__init__(sim.client(base_url=ENDPOINT), action=action)
        self.served = served

    def _client_for(self, url: str):
        return self.served if urlsplit(url).hostname == "linkolis.example" else self.sim_client


@pytest.fixture
def seller(sim, served, monkeypatch):
    """Confirms (or cancels) on the consent page as soon as the command shows it; ``seller.then`` runs after."""

    class Seller:
        action = "confirm"
        browser: Browser | None = None
        urls: list[str] = []
        then = None

        def open(self, url: str) -> None:
            self.urls.append(url)
            if self.action is None:  # the seller never comes back
                return
            self.browser = Browser(sim, served, self.action)
            self.browser.open(url)

    person = Seller()
    person.urls = []
    monkeypatch.setattr(oauth, "open_browser", person.open)
    return person


@pytest.fixture
def installed(run):
    run("apps", "install", "amazon", "--name", "Amazon DE", "--marketplace", "DE", "--stock-sync")
    return "Amazon DE"


def refused(run, *args) -> str:
    result = run(*args, code=1)
    assert "Traceback" not in result.output
    return " ".join(result.stderr.split())


def nothing_stored(run, host) -> None:
    app = run.json("apps", "show", "Amazon DE")
    assert (app["account_id"], app["status"], app["credentials"]["stored"]) == (None, "installed", False)
    assert host.db.execute("SELECT count(*) FROM credentials").fetchone()[0] == 0


def test_with_a_base_url_the_command_completes_when_the_served_callback_is_hit(run, hosted, installed, seller, served):
    result = run("apps", "authorize", "Amazon DE", "--json")

    assert run.json("apps", "show", "Amazon DE")["account_id"] == SELLER
    assert '"account_id": "A1SIMSELLER001"' in result.stdout
    consent = seller.urls[0]
    assert parse_qs(urlsplit(consent).query)["redirect_uri"] == [CALLBACK] and consent in result.stderr
    assert "loopback" not in result.stderr
    url, status, page = seller.browser.pages[-1]
    assert url.startswith(CALLBACK + "?") and status == 200
    assert "Amazon DE is authorized. Back in the terminal." in page  # no sign-in: the terminal holds the state
    assert "Module correctly installed" in run("apps", "verify", "Amazon DE").stdout
    # The same redirect again (a replay) is refused, and changes nothing.
    replay = served.get(urlsplit(url).path + "?" + urlsplit(url).query)
    assert replay.status_code == 400 and "already used" in replay.text


def test_the_page_that_sends_the_seller_back_to_the_terminal_is_in_their_language(
    run, hosted, installed, seller, served
):
    served.headers["accept-language"] = "nl-NL,nl;q=0.9"

    run("apps", "authorize", "Amazon DE")

    assert "Amazon DE is geautoriseerd. Ga terug naar de terminal." in seller.browser.pages[-1][2]


def test_the_command_times_out_with_a_clear_message_when_nobody_comes_back(run, hosted, installed, seller, host):
    seller.action = None

    message = refused(run, "apps", "authorize", "Amazon DE", "--timeout", "10")

    assert f"no authorization came back to {CALLBACK} within 10 s" in message
    assert "nothing was stored" in message and f"the web server runs at {BASE_URL}" in message
    assert "run `linkolis apps authorize 'Amazon DE'`" in message
    nothing_stored(run, host)


def test_a_refused_consent_is_reported_by_the_waiting_command(run, hosted, installed, seller, host):
    seller.action = "cancel"

    message = refused(run, "apps", "authorize", "Amazon DE")

    assert "the authorization was not granted (The selling partner denied the authorization request.)" in message
    url, status, page = seller.browser.pages[-1]
    assert url.startswith(CALLBACK + "?") and status == 400 and "This authorization was refused" in page
    nothing_stored(run, host)


def test_removing_the_app_while_the_command_waits_calls_the_wait_off(run, hosted, installed, seller, host, monkeypatch):
    def seller_away_operator_removes(url: str) -> None:
        with Host(host.home, env=host.env) as other:  # another terminal: `linkolis apps remove 'Amazon DE' --yes`
            apps.remove(other, "Amazon DE")

    monkeypatch.setattr(oauth, "open_browser", seller_away_operator_removes)

    message = refused(run, "apps", "authorize", "Amazon DE")

    assert "called off while waiting" in message


@pytest.mark.parametrize(
    "sim_options", [{"redirect_uris": [CALLBACK], "allow_loopback_redirects": True}], ids=["development simulator"]
)
def test_without_a_base_url_the_loopback_receiver_says_it_is_for_development_only(run, installed, monkeypatch, sim):
    import threading

    def confirm(url: str) -> None:
        threading.Thread(target=SellerBrowser(sim.client(base_url=ENDPOINT)).open, args=(url,), daemon=True).start()

    monkeypatch.setattr(oauth, "open_browser", confirm)

    result = run("apps", "authorize", "Amazon DE")

    note = (
        "no base URL configured: using a loopback receiver, which only a development marketplace such as the "
        "simulator accepts; see docs/operations.md"
    )
    assert note in result.stderr and "Waiting for the redirect on http://127.0.0.1:" in result.stderr
    assert run.json("apps", "show", "Amazon DE")["account_id"] == SELLER
