from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import testmarket
from helpers import authorize_app, install_app

from linkolis_host import VirtualClock, oauth
from linkolis_host.testing import each_test_at_home

# Every test gets its own data directory and loads no installed plugin unless it asks (the host's pytest plugin,
# linkolis_host.testing.fixtures, offers the fixtures: home, clock, host, run...).
home = each_test_at_home()


@pytest.fixture
def market():
    testmarket.MARKET.__init__()
    return testmarket.MARKET


@pytest.fixture
def clock():
    return VirtualClock(start=1_800_000_000)


@pytest.fixture
def extra_plugins(market):
    """The Test Market beside no installed plugin, its market fresh for each test."""
    return [testmarket]


@pytest.fixture
def browser(monkeypatch):
    """The seller's browser: on the consent page it confirms as ``account`` (set it on the fixture)."""

    class Browser:
        account = "SELLER1"
        code = None
        visited: list[str] = []

        def open(self, url):
            self.visited.append(url)
            query = parse_qs(urlsplit(url).query)
            code = self.code or f"good-{self.account}"
            target = query["redirect_uri"][0] + "?" + urlencode({"state": query["state"][0], "code": code})
            threading.Thread(target=httpx.get, args=(target,), daemon=True).start()

    fake = Browser()
    fake.visited = []
    monkeypatch.setattr(oauth, "open_browser", fake.open)
    return fake


@pytest.fixture
def app(run, market):
    """An installed, authorized Test Market app with stock sync on, as most stories after authorization need."""
    install_app(run, "Shop EU", "EU", "--stock-sync")
    authorize_app(run, "Shop EU")
    return "Shop EU"
