"""A seller pages through orders and stock in the browser by "Older"/"Newer" and "Next"/"Previous", opens an order
by either of its ids, searches by the start of an id and filters the stock list; and however many orders or SKUs there
are, a page asks the database the same number of questions (none per row)."""

from __future__ import annotations

import html
import re
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
import testmarket
from helpers import token_of
from starlette.testclient import TestClient

from linkolis_host import apps, orders, stock, workspaces
from linkolis_host.host import Host
from linkolis_host.models import Order, OrderLine
from linkolis_host.web import WebSettings, create_app

PASSWORD = "correct horse battery staple"
PLACED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def place(home, first: int, count: int) -> None:
    """``count`` orders of the shop, two placed each second, numbered from ``first``."""
    with Host(home, extra_plugins=[testmarket]) as host:
        host.workspace_id = host.db.execute("SELECT id FROM workspaces").fetchone()[0]
        batch = [
            Order(
                marketplace_order_id=f"302-{n:07d}-1",
                marketplace="EU",
                status="unshipped",
                marketplace_status="Unshipped",
                fulfilled_by="merchant",
                created_at=PLACED + timedelta(seconds=n // 2),
                updated_at=PLACED + timedelta(seconds=n // 2),
                lines=[OrderLine(line_id="1", sku=f"SKU-{n % 3}", quantity_ordered=1)],
            )
            for n in range(first, first + count)
        ]
        with host.db.atomic():
            orders.store_orders(host, 1, batch)


@pytest.fixture
def shop(home, market):
    with Host(home, extra_plugins=[testmarket]) as host:
        workspaces.add_workspace(host, "Anna's shop")
        workspaces.add_user(host, "anna@example.com", PASSWORD, "Anna's shop")
        host.workspace_id = host.db.execute("SELECT id FROM workspaces").fetchone()[0]
        apps.install(host, "testmarket", {"name": "Anna EU", "region": "EU", "stock_sync": True})
        apps.authorize_direct(host, "Anna EU", {"token": token_of("SELLER1"), "account": "SELLER1"})
        for n in range(70):
            stock.set_stock(host, f"MUG-{n:03d}", n)
        for sku in ("BAD-1", "BAD-2"):
            stock.set_stock(host, sku, 4)
        stock.push_stock(host, "Anna EU")
    place(home, 0, 60)
    client = TestClient(create_app(lambda: Host(home, extra_plugins=[testmarket]), WebSettings("https://s.example")))
    client.base_url = "https://s.example"
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/signin").text).group(1)
    client.post("/signin", data={"csrf": token, "email": "anna@example.com", "password": PASSWORD})
    return client


def shown_orders(page) -> list[str]:
    return re.findall(r'<a href="/orders/\d+">([^<]+)</a>', page.text)


def link(page, text: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)">{text}</a>', page.text)
    return html.unescape(found[1]) if found else None


def test_the_seller_pages_through_every_order_once_newest_first_and_back(shop):
    page, pages = shop.get("/orders"), []
    assert link(page, "Newer") is None
    while True:
        pages.append(shown_orders(page))
        older = link(page, "Older")
        if older is None:
            break
        assert "page=" not in older and "302-" not in older, "the link carries an opaque key, not a number or an id"
        page = shop.get(older)
    assert [len(p) for p in pages] == [25, 25, 10]
    assert [o for p in pages for o in p] == [f"302-{n:07d}-1" for n in range(59, -1, -1)]
    back = shop.get(link(page, "Newer"))
    assert shown_orders(back) == pages[1]


def test_the_seller_opens_an_order_by_either_id_and_finds_orders_by_the_start_of_one(shop):
    first = shop.get("/orders")
    host_id = re.search(r'<a href="/orders/(\d+)">302-0000059-1</a>', first.text)[1]
    for ref in (host_id, "302-0000059-1"):
        page = shop.get(f"/orders/{ref}")
        assert page.status_code == 200 and "302-0000059-1" in page.text
    assert shop.get("/orders/302-9999999-1").status_code == 404

    exact = shop.get("/orders?q=302-0000042-1", follow_redirects=False)
    assert exact.status_code == 303 and exact.headers["location"].startswith("/orders/")
    start = shop.get("/orders?q=302-000004")
    assert shown_orders(start) == [f"302-000004{n}-1" for n in range(10)]
    assert shown_orders(shop.get("/orders?q=00004")) == [], "a part in the middle is not looked for"
    short = shop.get("/orders?q=2-")
    assert shown_orders(short) == [] and "at least 3 characters" in short.text


def test_the_seller_pages_through_stock_and_filters_it_by_sku_and_by_state(shop):
    page = shop.get("/stock")
    skus = re.findall(r'<a href="/stock/sku\?sku=[^"]+">([^<]+)</a>', page.text)
    assert skus[:3] == ["BAD-1", "BAD-2", "MUG-000"] and len(skus) == 50
    following = shop.get(link(page, "Next"))
    rest = re.findall(r'<a href="/stock/sku\?sku=[^"]+">([^<]+)</a>', following.text)
    assert rest == [f"MUG-{n:03d}" for n in range(48, 70)] + ["SKU-0", "SKU-1", "SKU-2"], "reserved, never counted"
    assert link(following, "Previous") is not None

    by_prefix = shop.get("/stock?sku_prefix=MUG-06")
    assert re.findall(r'sku\?sku=[^"]+">([^<]+)<', by_prefix.text) == [f"MUG-06{n}" for n in range(10)]
    refused = shop.get("/stock?state=rejected")
    assert re.findall(r'sku\?sku=[^"]+">([^<]+)<', refused.text) == ["BAD-1", "BAD-2"]
    assert "No SKU matches." in shop.get("/stock?state=not_listed").text


@pytest.fixture
def questions(monkeypatch):
    """Every statement any connection of the web app runs, as the database sees it; and ``steps``, SQLite's count
    of the work they took (its progress handler, every 100 virtual machine instructions)."""
    asked: list[str] = []
    steps = [0]
    real = sqlite3.connect

    def tick() -> int:
        steps[0] += 1
        return 0

    def connect(*args, **kwargs):
        conn = real(*args, **kwargs)
        conn.set_trace_callback(asked.append)
        conn.set_progress_handler(tick, 100)
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)
    return asked, steps


def test_a_page_asks_as_many_questions_and_does_as_much_work_with_three_times_the_rows(home, market, questions):
    asked, steps = questions
    client = shop.__wrapped__(home, market)
    paths = ["/orders", "/stock", "/apps"]
    first = client.get("/orders")
    host_id = re.search(r'<a href="/orders/(\d+)">', first.text)[1]
    paths += [f"/orders/{host_id}", link(first, "Older")]

    def count(path: str) -> tuple[int, int]:
        client.get(path)  # once to warm what a first request loads
        asked.clear()
        steps[0] = 0
        assert client.get(path).status_code == 200
        return len(asked), steps[0]

    before = {path: count(path) for path in paths}
    place(home, -200, 200)  # older orders than every one shown
    with Host(home, extra_plugins=[testmarket]) as host:
        host.workspace_id = host.db.execute("SELECT id FROM workspaces").fetchone()[0]
        for n in range(200):
            stock.set_stock(host, f"ZZ-{n:03d}", 1)  # SKUs after every one shown
    after = {path: count(path) for path in paths}
    assert {path: q for path, (q, _) in after.items()} == {path: q for path, (q, _) in before.items()}
    grown = {path: (before[path][1], work) for path, (_, work) in after.items() if work > before[path][1] * 1.5 + 20}
    assert grown == {}
