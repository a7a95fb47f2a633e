"""The operator's public address ([web] base_url): `linkolis apps authorize` and `linkolis serve` share one callback.

The seller's browser comes back to the served callback; a state the command started is bound to no browser
session, a state the web started still is.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import testmarket
from click.testing import CliRunner
from starlette.testclient import TestClient

from linkolis_host import apps, oauth
from linkolis_host.cli import cli
from linkolis_host.config import HostConfig, base_url, load_config
from linkolis_host.errors import UserError
from linkolis_host.host import Host
from linkolis_host.web import WebSettings, create_app

BASE_URL = "https://shop.example"


@pytest.fixture
def configured(home, market, clock):
    """The operator set the public address in linkolis.toml, as `linkolis serve` is reached."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "linkolis.toml").write_text(f'[web]\nbase_url = "{BASE_URL}/"\n', encoding="utf-8")
    with Host(home, clock=clock, extra_plugins=[testmarket]) as h:
        yield h


@pytest.fixture
def served(home, clock):
    app = create_app(lambda: Host(home, clock=clock, extra_plugins=[testmarket]), WebSettings(BASE_URL))
    with TestClient(app, base_url=BASE_URL) as client:
        yield client


def test_a_base_url_in_the_config_sends_the_seller_back_to_the_served_callback(configured, served, monkeypatch):
    runner = CliRunner()
    run = lambda *args: runner.invoke(cli, list(args), obj=configured, catch_exceptions=False)
    apps.install(configured, "testmarket", {"name": "Shop EU", "region": "EU"})
    pages = []

    def seller_confirms(url: str) -> None:
        query = parse_qs(urlsplit(url).query)
        assert query["redirect_uri"] == [BASE_URL + "/apps/callback"]
        back = (
            urlsplit(query["redirect_uri"][0]).path
            + "?"
            + urlencode({"state": query["state"][0], "code": "good-SELLER1"})
        )
        pages.append(served.get(back))  # a browser that never signed in to the web app

    monkeypatch.setattr(oauth, "open_browser", seller_confirms)

    result = run("apps", "authorize", "Shop EU", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["account_id"] == "SELLER1"
    assert pages[0].status_code == 200 and "Shop EU is authorized. Back in the terminal." in pages[0].text
    assert "loopback" not in result.stderr


def test_a_state_the_web_started_still_needs_the_session_that_started_it(configured, served):
    apps.install(configured, "testmarket", {"name": "Shop EU", "region": "EU"})
    start = apps.start_authorization(configured, "Shop EU", BASE_URL + "/apps/callback")  # origin "web"
    state = parse_qs(urlsplit(start.url).query)["state"][0]

    answer = served.get("/apps/callback?" + urlencode({"state": state, "code": "good-SELLER1"}), follow_redirects=False)

    assert answer.status_code == 303 and answer.headers["location"] == "/signin"
    assert not apps.get(configured, "Shop EU").authorized


def test_the_environment_overrides_the_config_and_a_bad_address_is_explained(home):
    config = HostConfig.model_validate({"web": {"base_url": "https://a.example/"}})
    assert base_url(config, {}) == "https://a.example"
    assert base_url(config, {"LINKOLIS_BASE_URL": "https://b.example"}) == "https://b.example"
    assert base_url(HostConfig(), {}) is None
    with pytest.raises(UserError, match="LINKOLIS_BASE_URL 'b.example' must start with https://"):
        base_url(config, {"LINKOLIS_BASE_URL": "b.example"})
    home.mkdir(parents=True, exist_ok=True)
    (home / "linkolis.toml").write_text('[web]\nbase_url = "https://a.example/x?y=1"\n', encoding="utf-8")
    with pytest.raises(UserError, match=r"web\.base_url: Value error, must be an address without \?query"):
        load_config(home)


def test_serve_help_says_the_cli_uses_the_same_callback():
    text = " ".join(CliRunner().invoke(cli, ["serve", "--help"]).output.split())
    assert "<base-url>/apps/callback" in text
    assert "`linkolis apps authorize NAME` uses the same callback" in text and "[web] base_url" in text
