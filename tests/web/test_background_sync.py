"""`linkolis serve` syncs in the background, and My applications shows per app what that sync runs and waits for,
in the seller's words and language (when orders were last fetched, when they are next, and what the plugin says
of how soon a new order shows), only for the seller's own workspace."""

from __future__ import annotations

import re
import time

import testmarket
from starlette.testclient import TestClient

from linkolis_host import apps, scheduler, stock, workspaces
from linkolis_host.host import Host
from linkolis_host.web import WebSettings, create_app

PASSWORD = "correct horse battery staple"


BASE = "https://shop.example"


def signed_in(home, email):
    return sign_in_to(create_app(lambda: Host(home, extra_plugins=[testmarket]), WebSettings(BASE)), email)


def sign_in_to(app, email):
    client = TestClient(app, base_url=BASE)
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


def test_my_applications_and_the_panel_say_when_orders_were_last_fetched_and_are_next_in_english_and_dutch(
    home, market
):
    with Host(home, extra_plugins=[testmarket]) as host:
        workspaces.add_workspace(host, "Anna's shop")
        workspaces.add_user(host, "anna@example.com", PASSWORD, "Anna's shop")
        workspaces.add_user(host, "anke@example.nl", PASSWORD, "Anna's shop", "nl")
        host.workspace_id = 1
        apps.install(host, "testmarket", {"name": "Shop EU", "region": "EU"})
        apps.authorize_direct(host, "Shop EU", {"token": "tok-S1", "account": "S1"})
        with scheduler.background(host, workers=1, interval=3600, poll=0.05) as running:
            assert until(lambda: ("Shop EU", "import", "done") in {e[1:] for e in list(running.events)})
            time.sleep(0.6)  # the state table is written every half second
            english = signed_in(home, "anna@example.com")
            dutch = signed_in(home, "anke@example.nl")
            pages = {
                "en": [english.get("/apps").text, english.get("/apps?open=Shop+EU").text],
                "nl": [dutch.get("/apps").text, dutch.get("/apps?open=Shop+EU").text],
            }
    for page in pages["en"]:
        assert re.search(r"Orders last fetched \d+ seconds? ago", page)
        assert "Next fetch of orders in 1 hour" in page
    for page in pages["nl"]:
        assert re.search(r"Bestellingen \d+ seconden? geleden voor het laatst opgehaald", page)
        assert "Bestellingen worden over 1 uur weer opgehaald" in page
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", "".join(pages["en"] + pages["nl"]))  # no raw timestamp


def test_an_amazon_app_says_that_amazon_shows_a_new_order_about_two_and_a_half_minutes_after_it_is_placed(
    home, monkeypatch
):
    from linkolis_amazon.simulator import Simulator

    from linkolis_host import VirtualClock

    monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", "amazon")
    clock = VirtualClock(1_800_000_000)
    sim = Simulator(clock, orders=3, skus=2, new_orders_per_hour=0)
    env = {
        "LINKOLIS_AMAZON_ENDPOINT": "https://amazon.sim.test",
        "LINKOLIS_AMAZON_CLIENT_ID": sim.client_id,
        "LINKOLIS_AMAZON_CLIENT_SECRET": sim.client_secret,
        "LINKOLIS_AMAZON_APPLICATION_ID": sim.application_id,
    }
    with Host(home, clock=clock, transport=sim.transport(), env=env) as host:
        workspaces.add_workspace(host, "Anna's shop")
        workspaces.add_user(host, "anna@example.com", PASSWORD, "Anna's shop")
        workspaces.add_user(host, "anke@example.nl", PASSWORD, "Anna's shop", "nl")
        host.workspace_id = 1
        apps.install(host, "amazon", {"name": "Amazon DE", "marketplace": "DE"})
        apps.authorize_direct(
            host, "Amazon DE", {"refresh_token": sim.authorize(), "selling_partner_id": sim.default_seller_id}
        )
    app = create_app(lambda: Host(home, clock=clock, transport=sim.transport(), env=env), WebSettings(BASE))
    for email, note in (
        ("anna@example.com", "Amazon shows a new order about 2½ minutes after it is placed."),
        ("anke@example.nl", "Amazon toont een nieuwe bestelling ongeveer 2½ minuut nadat die is geplaatst."),
    ):
        client = sign_in_to(app, email)
        assert note in client.get("/apps").text
        assert note in client.get("/apps?open=Amazon+DE").text
