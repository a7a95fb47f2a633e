"""Fixtures for the Amazon app's tests, over the host's pytest plugin (``home``, ``clock``, ``host``, ``run``...):
an in-process simulator on the test's clock, the host's operator settings and transport pointed at it, a seller's
browser, and a check of every request the plugin sends against Amazon's own models."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import pytest
from linkolis_amazon.simulator import Simulator
from linkolis_amazon.simulator.browser import SellerBrowser

from linkolis_host import oauth
from linkolis_host.testing import each_test_at_home

ENDPOINT = "https://amazon.sim.test"
SELLER = "A1SIMSELLER001"


# Every test in a data directory of its own, whatever the shell says, its host loading the installed Amazon plugin
# through its entry point as an operator's host does. A test module shapes the simulator with ``sim_options``.
home = each_test_at_home("amazon")


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
def transport(wire):
    """The host sends through the contract check to the simulator; the test fails on a request it finds wrong."""
    return wire


@pytest.fixture
def operator_env(sim):
    return {
        "LINKOLIS_AMAZON_ENDPOINT": ENDPOINT,
        "LINKOLIS_AMAZON_CLIENT_ID": sim.client_id,
        "LINKOLIS_AMAZON_CLIENT_SECRET": sim.client_secret,
        "LINKOLIS_AMAZON_APPLICATION_ID": sim.application_id,
    }


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
