"""Fixtures for the Amazon app's tests: a virtual clock shared by the host and an in-process simulator, a host
with the Amazon plugin pointed at it, a seller's browser, and a check of every request the plugin sends
against Amazon's own models."""

from __future__ import annotations

import json
import threading
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from linkolis_amazon.simulator import Simulator
from linkolis_amazon.simulator.browser import SellerBrowser

from linkolis_host import VirtualClock, oauth
from linkolis_host.cli import cli
from linkolis_host.host import Host

ENDPOINT = "https://amazon.sim.test"
START = 1_780_000_000.0  # 2026-05-28T20:26:40Z
SELLER = "A1SIMSELLER001"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    path = tmp_path / "home"
    monkeypatch.setenv("LINKOLIS_HOME", str(path))
    monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", "amazon")
    monkeypatch.delenv("LINKOLIS_SECRET_KEY", raising=False)
    monkeypatch.delenv("LINKOLIS_BASE_URL", raising=False)  # the loopback receiver unless a test sets one
    for name in (
        "CLIENT_ID",
        "CLIENT_SECRET",
        "APPLICATION_ID",
        "REDIRECT_URI",
        "DRAFT",
        "SANDBOX",
        "ENDPOINT",
        "LOGIN_URI",
        "FIRST_IMPORT_DAYS",
        "FEED_THRESHOLD",
        "ALLOW_INSECURE_ENDPOINT",
    ):
        monkeypatch.delenv(f"LINKOLIS_AMAZON_{name}", raising=False)
    return path


@pytest.fixture
def clock():
    return VirtualClock(START)


@pytest.fixture
def sim_options():
    """Override in a test module to shape the simulator."""
    return {}


@pytest.fixture
def amazons_clock(clock):
    """The clock the simulator runs on: the test's own, unless a test module gives Amazon one of its own."""
    return clock


@pytest.fixture
def sim(amazons_clock, sim_options):
    # Most tests authorize through the CLI's loopback receiver, the development path Amazon itself refuses
    # (not Amazon behaviour); the hosted callback's tests set allow_loopback_redirects=False.
    options = dict(
        orders=60,
        skus=20,
        new_orders_per_hour=0,
        validate_responses=True,
        listing_visibility_delay=0,
        allow_loopback_redirects=True,
    )
    options.update(sim_options)
    return Simulator(amazons_clock, **options)


@pytest.fixture
def wire(sim):
    """Every SP-API request the plugin sends, checked against Amazon's model before the simulator sees it."""
    return sim.checked_transport()


@pytest.fixture
def operator_env(sim):
    return {
        "LINKOLIS_AMAZON_ENDPOINT": ENDPOINT,
        "LINKOLIS_AMAZON_CLIENT_ID": sim.client_id,
        "LINKOLIS_AMAZON_CLIENT_SECRET": sim.client_secret,
        "LINKOLIS_AMAZON_APPLICATION_ID": sim.application_id,
    }


@pytest.fixture
def host(home, clock, wire, operator_env):
    h = Host(home, clock=clock, transport=wire, env=operator_env)
    yield h
    h.close()
    assert not wire.problems, "requests that break Amazon's model:\n" + "\n".join(wire.problems)


class Run:
    def __init__(self, host):
        self.host = host
        self.runner = CliRunner()

    def __call__(self, *args, code=0, input=None):
        result = self.runner.invoke(cli, list(args), obj=self.host, input=input, catch_exceptions=False)
        if code is not None:
            assert result.exit_code == code, f"exit {result.exit_code}:\n{result.stdout}\n{result.stderr}"
        return result

    def json(self, *args, code=0, input=None):
        return json.loads(self(*args, "--json", code=code, input=input).stdout)


@pytest.fixture
def run(host):
    return Run(host)


@pytest.fixture
def seller(sim, monkeypatch):
    """The seller at a browser: confirms on the consent page as ``seller.account`` (or cancels)."""

    class Seller:
        account: str | None = None
        action = "confirm"
        browsers: list[SellerBrowser] = []

        def open(self, url: str) -> None:
            assert urlsplit(url).netloc == urlsplit(ENDPOINT).netloc, url
            browser = SellerBrowser(sim.client(base_url=ENDPOINT), account=self.account, action=self.action)
            self.browsers.append(browser)
            threading.Thread(target=browser.open, args=(url,), daemon=True).start()

    person = Seller()
    person.browsers = []
    monkeypatch.setattr(oauth, "open_browser", person.open)
    return person


@pytest.fixture
def authorized(run, seller):
    """An "Amazon DE" app with stock sync on, authorized by the default seller."""
    run("apps", "install", "amazon", "--name", "Amazon DE", "--marketplace", "DE", "--stock-sync")
    run("apps", "authorize", "Amazon DE")
    return "Amazon DE"
