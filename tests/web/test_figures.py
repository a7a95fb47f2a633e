"""Anna sells from Amsterdam. Every page writes her figures the way she reads them, in Dutch and in English: money
as "€ 50,99" / "€50.99", times in her workspace's time zone as "6 dec 2026 15:24" (the order was placed at 14:24 UTC),
counts with the language's separators ("12.345"), statuses and address fields as words. No page shows a key the
host stores (``postal_code``, "merchant", "due", "UNSHIPPED") or a stored timestamp ("2026-12-06T14:24:33+00:00").
Each line of an order shows its total, and the order's total is theirs added up."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser

import pytest
import testmarket
from starlette.testclient import TestClient

from linkolis_host import VirtualClock, apps, orders, shipments, stock, workspaces
from linkolis_host.host import Host
from linkolis_host.web import WebSettings, create_app

PASSWORD = "correct horse battery staple"
PLACED = datetime(2026, 12, 6, 14, 24, 33, tzinfo=UTC)  # 15:24 in Amsterdam (winter time, UTC+1)

# What a page must never show: a key as the host stores it, or a time as it is stored.
KEY = re.compile(r"\b[a-z]+_[a-z_]+\b")
STORED_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d|\+00:00|\bUTC\b")
RAW_WORDS = re.compile(r"\b(UNSHIPPED|merchant|residential|due|None)\b")

# (language, how it writes the order's figures)
SPOKEN = {
    "nl": {
        "placed": "6 dec 2026 15:24",
        "total": "€ 50,99",
        "big": "€ 1.234,50",
        "lines": [("2", "€ 12,50", "€ 25,00"), ("1", "€ 25,99", "€ 25,99")],
        "words": [
            "niet verzonden",
            "Jijzelf",
            "Postcode",
            "Soort adres",
            "woonadres",
            "Nederland",
            "Inkoopordernummer",
        ],
        "shipment": "wacht op doorsturen naar de marktplaats",
        "on_hand": "12.345",
    },
    "en": {
        "placed": "6 Dec 2026 15:24",
        "total": "€50.99",
        "big": "€1,234.50",
        "lines": [("2", "€12.50", "€25.00"), ("1", "€25.99", "€25.99")],
        "words": ["unshipped", "You", "Postal code", "Address type", "home address", "Netherlands", "Purchase order"],
        "shipment": "waiting to be sent to the marketplace",
        "on_hand": "12,345",
    },
}


def anna_order() -> dict:
    """Two lines (2 × 12.50 and 1 × 25.99, no tax or shipping), placed at 14:24:33 UTC, to a Dutch home address."""
    return {
        "created_at": PLACED,
        "updated_at": PLACED,
        "total": Decimal("50.99"),
        "lines": [
            {
                "line_id": "1",
                "sku": "MUG-01",
                "title": "Mug",
                "quantity_ordered": 2,
                "unit_price": Decimal("12.50"),
                "subtotal": Decimal("25.00"),
                "tax": Decimal("0"),
                "total": Decimal("25.00"),
            },
            {
                "line_id": "2",
                "sku": "JUG-01",
                "title": "Jug",
                "quantity_ordered": 1,
                "unit_price": Decimal("25.99"),
                "subtotal": Decimal("25.99"),
                "tax": Decimal("0"),
                "total": Decimal("25.99"),
            },
        ],
        "buyer": {"name": "Jo Koper", "email": "jo@example.com", "purchase_order_number": "PO-7"},
        "recipient": {
            "name": "Jo Koper",
            "line1": "Prinsengracht 263",
            "line2": "2e etage",
            "postal_code": "1016 GV",
            "city": "Amsterdam",
            "country_code": "NL",
            "address_type": "residential",
        },
    }


@pytest.fixture
def shop(home, market):
    """Anna's shop after an import and a push at 14:24:33 UTC: her order, a big one, a shipment waiting to be sent,
    12,345 mugs on hand."""
    market.add_order("NL-1")
    market.details["NL-1"] = anna_order()
    market.add_order("NL-2", updated=2)
    market.details["NL-2"] = {"created_at": PLACED, "updated_at": PLACED, "total": Decimal("1234.50")}
    with Host(home, clock=VirtualClock(start=PLACED.timestamp()), extra_plugins=[testmarket]) as host:
        workspaces.add_workspace(host, "Anna's shop")
        workspaces.add_user(host, "anna@example.com", PASSWORD, "Anna's shop")
        apps.install(host, "testmarket", {"name": "Shop EU", "region": "EU", "stock_sync": True})
        apps.authorize_direct(host, "Shop EU", {"token": "tok-S1", "account": "S1"})
        stock.set_stock(host, "MUG-01", 12345, by="anna@example.com")
        orders.import_orders(host, "Shop EU")
        stock.push_stock(host, "Shop EU")
        shipments.ship_order(host, "NL-2", carrier="POSTNL", tracking="3S123", app="Shop EU")
        order_ids = {o: orders.get_order(host, o)["id"] for o in ("NL-1", "NL-2")}
    app = create_app(lambda: Host(home, extra_plugins=[testmarket]), WebSettings("https://shop.example"))
    client = TestClient(app, base_url="https://shop.example")
    client.post("/signin", data={"csrf": csrf_of(client.get("/signin")), **SIGN_IN})
    return client, order_ids


SIGN_IN = {"email": "anna@example.com", "password": PASSWORD}


def csrf_of(page) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def speak(client, lang: str) -> None:
    client.post("/language", data={"csrf": csrf_of(client.get("/apps")), "lang": lang})


class _Text(HTMLParser):
    """The text a person reads on a page: no markup, no attribute, no style or script."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in ("script", "style")

    def handle_endtag(self, tag):
        self.hidden -= tag in ("script", "style")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def text_of(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def assert_no_raw_value(page) -> None:
    assert page.status_code == 200
    text = text_of(page.text)
    assert not KEY.findall(text), "a key as the host stores it"
    assert not STORED_TIME.findall(text), "a time as the host stores it"
    assert not RAW_WORDS.findall(text), "a marketplace's or the host's own word"


def cells(html: str, first: str) -> list[str]:
    """The texts of the cells of the table row that starts with ``first``."""
    row = re.search(rf"<tr><td>{re.escape(first)}</td>(.*?)</tr>", html, re.S)
    assert row, f"no row for {first}"
    return [text_of(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)]


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_order_page_writes_money_times_and_words_as_the_seller_reads_them(shop, lang):
    client, ids = shop
    speak(client, lang)
    said = SPOKEN[lang]
    page = client.get(f"/orders/{ids['NL-1']}")
    assert_no_raw_value(page)
    text = text_of(page.text)
    assert said["placed"] in text and said["total"] in text
    for word in said["words"]:
        assert word in text
    assert "Prinsengracht 263" in text and "2e etage" in text and "1016 GV" in text
    for sku, (quantity, unit, total) in zip(("MUG-01", "JUG-01"), said["lines"], strict=True):
        assert cells(page.text, sku)[2:] == [quantity, "0", unit, total], "ordered, shipped, unit price, line total"


def test_each_line_total_is_its_quantity_times_its_price_and_they_add_up_to_the_order_total(shop):
    client, ids = shop
    speak(client, "en")
    page = client.get(f"/orders/{ids['NL-1']}").text

    def euros(text: str) -> Decimal:
        return Decimal(text.removeprefix("€").replace(",", ""))

    totals = []
    for sku in ("MUG-01", "JUG-01"):
        _, _, ordered, _, unit, total = cells(page, sku)
        assert euros(total) == int(ordered) * euros(unit)
        totals.append(euros(total))
    order_total = re.search(r"<dt>Total</dt><dd>([^<]+)</dd>", page).group(1)
    assert sum(totals) == euros(order_total) == Decimal("50.99")


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_shipment_waiting_for_the_next_sync_says_so_in_words(shop, lang):
    client, ids = shop
    speak(client, lang)
    page = client.get(f"/orders/{ids['NL-2']}")
    assert_no_raw_value(page)
    assert SPOKEN[lang]["shipment"] in text_of(page.text)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_orders_list_writes_each_order_as_the_seller_reads_it(shop, lang):
    client, _ = shop
    speak(client, lang)
    said = SPOKEN[lang]
    page = client.get("/orders")
    assert_no_raw_value(page)
    text = text_of(page.text)
    assert said["placed"] in text and said["total"] in text and said["big"] in text
    assert ("deels verzonden" if lang == "nl" else "partially shipped") in text  # the status filter's choices


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_stock_pages_write_counts_and_times_as_the_seller_reads_them(shop, lang):
    client, _ = shop
    speak(client, lang)
    said = SPOKEN[lang]
    listed = client.get("/stock")
    assert_no_raw_value(listed)
    assert said["on_hand"] in text_of(listed.text)
    sku = client.get("/stock/sku?sku=MUG-01")
    assert_no_raw_value(sku)
    text = text_of(sku.text)
    assert said["on_hand"] in text
    assert said["placed"] in text, "counted, pushed and each change of the ledger: at 15:24 in Amsterdam"
    assert text.count(said["placed"]) >= 3


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_my_applications_say_when_orders_were_imported_and_stock_pushed_in_the_sellers_time(shop, lang):
    client, _ = shop
    speak(client, lang)
    page = client.get("/apps")
    assert_no_raw_value(page)
    assert text_of(page.text).count(SPOKEN[lang]["placed"]) == 2, "last import, last push"


def test_a_workspace_in_london_reads_the_same_order_an_hour_earlier(shop, home):
    client, ids = shop
    with Host(home, extra_plugins=[testmarket]) as host:
        workspaces.set_time_zone(host, "Anna's shop", "Europe/London")
    speak(client, "en")
    text = text_of(client.get(f"/orders/{ids['NL-1']}").text)
    assert "6 Dec 2026 14:24" in text and "15:24" not in text
