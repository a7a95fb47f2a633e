"""Every app's panel has the host's offer settings: a buffer kept back from the app and the most it is offered."""

from __future__ import annotations

import re

import testmarket
from starlette.testclient import TestClient

from linkolis_host import apps, installed, workspaces
from linkolis_host.host import Host
from linkolis_host.web import WebSettings, create_app

PASSWORD = "correct horse battery staple"


def test_the_panel_sets_a_buffer_and_a_cap_and_an_empty_cap_means_none(home, market):
    with Host(home, extra_plugins=[testmarket]) as host:
        workspaces.add_workspace(host, "Anna's shop")
        workspaces.add_user(host, "anna@example.com", PASSWORD, "Anna's shop")
        apps.install(host, "testmarket", {"name": "Shop EU", "region": "EU", "stock_sync": True})
        apps.authorize_direct(host, "Shop EU", {"token": "tok-S1", "account": "S1"})
    web = create_app(lambda: Host(home, extra_plugins=[testmarket]), WebSettings("https://shop.example"))
    browser = TestClient(web, base_url="https://shop.example")
    token = re.search(r'name="csrf" value="([^"]+)"', browser.get("/signin").text).group(1)
    browser.post("/signin", data={"csrf": token, "email": "anna@example.com", "password": PASSWORD})
    panel = browser.get("/apps?open=Shop%20EU").text
    assert "Stock buffer" in panel and "Most offered" in panel
    token = re.search(r'name="csrf" value="([^"]+)"', panel).group(1)

    form = {"csrf": token, "app": "Shop EU", "name": "Shop EU", "region": "EU", "shop": "main", "stock_sync": "on"}
    browser.post("/apps/configure", data={**form, "stock_buffer": "2", "stock_max": "10"})
    with Host(home, extra_plugins=[testmarket]) as host:
        host.workspace_id = 1
        assert {k: installed.get(host, "Shop EU").settings[k] for k in ("stock_buffer", "stock_max")} == {
            "stock_buffer": 2,
            "stock_max": 10,
        }
    browser.post("/apps/configure", data={**form, "stock_buffer": "2", "stock_max": ""})
    with Host(home, extra_plugins=[testmarket]) as host:
        host.workspace_id = 1
        assert installed.get(host, "Shop EU").settings["stock_max"] is None
    dutch = browser.get("/apps?open=Shop%20EU", headers={"Accept-Language": "nl"}).text
    assert "Voorraadbuffer" in dutch and "Hoogstens aangeboden" in dutch
