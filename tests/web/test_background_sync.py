"""`linkolis serve` syncs in the background, and My applications shows per app what that sync runs and waits for,
in the seller's words, only for the seller's own workspace."""

from __future__ import annotations

import re
import time

import testmarket
from starlette.testclient import TestClient

from linkolis_host import apps, scheduler, stock, workspaces
from linkolis_host.host import Host
from linkolis_host.web import WebSettings, create_app

PASSWORD = "correct horse battery staple"


def signed_in(home, email):
    app = create_app(lambda: Host(home, extra_plugins=[testmarket]), WebSettings("https://shop.example"))
    client = TestClient(app, base_url="https://shop.example")
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/signin").text).group(1)
    client.post("/signin", data={"csrf": token, "email": email, "password": PASSWORD})
    return client


def until(condition, limit=30.0):
    deadline = time.monotonic() + limit  # a safety net, not a timing check
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_the_background_sync_pushes_a_change_and_my_applications_shows_what_it_does(home, market):
    with Host(home, extra_plugins=[testmarket]) as host:
        sellers = (("Anna's shop", "anna@example.com", "S1"), ("Bob's shop", "bob@example.com", "S2"))
        for shop, email, account in sellers:
            space = workspaces.add_workspace(host, shop)
            workspaces.add_user(host, email, PASSWORD, shop)
            host.workspace_id = space.id
            apps.install(host, "testmarket", {"name": f"Shop {account}", "region": "EU", "stock_sync": True})
            apps.authorize_direct(host, f"Shop {account}", {"token": f"tok-{account}", "account": account})
        host.workspace_id = None
        with scheduler.background(host, workers=2, interval=3600, poll=0.05) as running:
            assert until(lambda: {e[1:3] for e in list(running.events)} >= {("Shop S1", "import"), ("Shop S2", "push")})
            host.workspace_id = 1
            stock.set_stock(host, "SKU-1", 7)
            assert until(lambda: ("SKU-1", 7) in market.pushes)
            time.sleep(0.6)  # the state table is written every half second
            page = signed_in(home, "anna@example.com").get("/apps").text
        assert "Background sync" in page
        assert re.search(r"Orders last fetched \d+ seconds? ago", page)
        assert "Next fetch of orders in 1 hour" in page and "Next send of stock and shipments in 1 hour" in page
        assert "Shop S1" in page and "Shop S2" not in page
        stopped = signed_in(home, "bob@example.com").get("/apps").text
        assert "Fetching orders has stopped" in stopped and "Sending stock and shipments has stopped" in stopped


def test_without_a_background_sync_the_page_says_it_is_not_running(home, market):
    with Host(home, extra_plugins=[testmarket]) as host:
        workspaces.add_workspace(host, "Anna's shop")
        workspaces.add_user(host, "anna@example.com", PASSWORD, "Anna's shop")
        apps.install(host, "testmarket", {"name": "Shop EU", "region": "EU"})
    assert "not running" in signed_in(home, "anna@example.com").get("/apps").text


def test_a_sync_waiting_for_the_servers_disk_is_told_in_the_sellers_words_without_the_servers_paths(home, market):
    with Host(home, extra_plugins=[testmarket]) as host:
        workspaces.add_workspace(host, "Anna's shop")
        workspaces.add_user(host, "anna@example.com", PASSWORD, "Anna's shop")
        app = apps.install(host, "testmarket", {"name": "Shop EU", "region": "EU"})
        apps.authorize_direct(host, "Shop EU", {"token": "tok-S1", "account": "S1"})
        problem = f"the disk holding {host.db_path} is full: the sync waits and tries again every 10 s"
        with host.db.atomic():  # what a scheduler that met a full disk writes (tests/test_full_disk.py)
            host.db["scheduler_state"].insert(
                {"app_id": app.id, "stream": "push", "app_name": "Shop EU", "workspace_id": app.workspace_id,
                 "state": "stalled", "due_at": host.clock.time() + 10, "last_error": problem,
                 "updated_at": host.clock.time(), "pid": 1}
            )  # fmt: skip
    page = signed_in(home, "anna@example.com").get("/apps").text
    assert "the server cannot save right now; this carries on by itself when it can" in page
    assert str(home) not in page
