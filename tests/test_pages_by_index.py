"""A seller with a million orders and fifty thousand SKUs pages through them as fast as one with ten: each page
reads what it shows through an index. These tests check what the pages show (every order once, newest first,
across orders placed at the same second; an order by either id; a search by part of an id; SKUs by prefix and by
state) and that SQLite's plan for each page's queries is a walk of an index, never a scan of a table."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
import testmarket
from helpers import authorize_app, install_app

from linkolis_host import orders, stock, stock_reads, store, workspaces
from linkolis_host.host import Host
from linkolis_host.models import Order, OrderLine
from linkolis_host.testing import Run

pytestmark = pytest.mark.sqlite_only("SQLite's query plans, and a database from a version before the index")

PLACED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def place(host, app_name: str, ids: list[str], seconds: list[int], seller_ids: list[str] | None = None) -> None:
    """Orders of the app placed ``seconds`` after 9:00 (several at the same second), as an import stores them."""
    app_id = host.db.execute("SELECT id FROM apps WHERE name = ?", (app_name,)).fetchone()[0]
    batch = [
        Order(
            marketplace_order_id=oid,
            marketplace="EU",
            status="unshipped",
            marketplace_status="Unshipped",
            fulfilled_by="merchant",
            created_at=PLACED + timedelta(seconds=second),
            updated_at=PLACED + timedelta(seconds=second),
            lines=[OrderLine(line_id="1", sku="MUG", quantity_ordered=1)],
            seller_order_id=(seller_ids or [None] * len(ids))[n],
        )
        for n, (oid, second) in enumerate(zip(ids, seconds, strict=True))
    ]
    with host.db.atomic():
        orders.store_orders(host, app_id, batch)


@pytest.fixture
def two_shops(run):
    """Two apps of one workspace, each with orders placed at the same seconds as the other's."""
    for name, account in (("Shop EU", "SELLER1"), ("Shop UK", "SELLER2")):
        install_app(run, name, "EU", "--stock-sync")
        authorize_app(run, name, account)
    place(run.host, "Shop EU", [f"EU-{n:03d}" for n in range(40)], [n // 4 for n in range(40)])
    place(run.host, "Shop UK", [f"UK-{n:03d}" for n in range(33)], [n // 3 for n in range(33)])
    return run.host


def newest_first(host) -> list[str]:
    rows = host.db.execute("SELECT marketplace_order_id FROM orders ORDER BY created_at DESC, id DESC").fetchall()
    return [r[0] for r in rows]


def test_the_orders_list_shows_every_order_once_newest_first_page_after_page_and_back(two_shops):
    host = two_shops
    pages, key = [], None
    while True:
        page = orders.orders_page(host, after=key, limit=10)
        pages.append([r["marketplace_order_id"] for r in page.rows])
        if page.older is None:
            break
        key = page.older
    assert [oid for p in pages for oid in p] == newest_first(host), "each order once, newest first, ties by id"
    assert [len(p) for p in pages] == [10] * 7 + [3]
    assert pages[0] and orders.orders_page(host, limit=10).newer is None, "the first page has nothing newer"

    back, key = [], page.newer
    while key is not None:
        page = orders.orders_page(host, before=key, limit=10)
        back.insert(0, [r["marketplace_order_id"] for r in page.rows])
        key = page.newer
    assert back == pages[:-1], "Newer walks back over the same pages"

    unshipped = orders.orders_page(host, status="unshipped", limit=100).rows
    assert len(unshipped) == 73 and orders.orders_page(host, status="shipped").rows == []
    assert [r["marketplace_order_id"] for r in orders.orders_page(host, app="Shop UK", limit=3).rows] == [
        "UK-032",
        "UK-031",
        "UK-030",
    ]


def test_a_page_key_that_is_not_ours_shows_the_first_page(two_shops):
    first = orders.orders_page(two_shops, limit=5).rows
    assert orders.orders_page(two_shops, after="not a key!", limit=5).rows == first


def test_the_cli_pages_by_the_last_order_shown_and_still_by_offset(two_shops):
    run = Run(two_shops)
    first = [o["marketplace_order_id"] for o in run.json("orders", "list", "--limit", "30")]
    after = [o["marketplace_order_id"] for o in run.json("orders", "list", "--limit", "30", "--after", first[-1])]
    skipped = [o["marketplace_order_id"] for o in run.json("orders", "list", "--limit", "30", "--offset", "30")]
    assert first + after == newest_first(two_shops)[:60] and after == skipped


def test_an_order_is_found_by_the_hosts_id_and_by_the_marketplaces_id_in_its_own_workspace_only(two_shops, run):
    host = two_shops
    host_id = host.db.execute("SELECT id FROM orders WHERE marketplace_order_id = 'UK-007'").fetchone()[0]
    assert orders.get_order(host, str(host_id))["marketplace_order_id"] == "UK-007"
    assert orders.get_order(host, "UK-007")["id"] == host_id
    assert orders.find_ids(host, "UK-007") == [host_id] == orders.find_ids(host, str(host_id))

    workspaces.add_workspace(host, "Other shop")
    host.workspace_id = host.db.execute("SELECT id FROM workspaces WHERE name = 'Other shop'").fetchone()[0]
    for ref in ("UK-007", str(host_id)):
        with pytest.raises(Exception, match="no order"):
            orders.get_order(host, ref)
    assert orders.find_ids(host, "UK-007") == []


def test_a_search_finds_orders_by_the_start_of_their_id_or_of_the_sellers_own_id(two_shops):
    host = two_shops
    place(host, "Shop EU", ["302-1111111-2222222"], [100], seller_ids=["MY-ORDER-77"])

    def found(text: str, **options) -> list[str]:
        return [r["marketplace_order_id"] for r in orders.orders_page(host, search=text, **options).rows]

    assert found("UK-01") == [f"UK-01{n}" for n in range(10)], "by the start of the id, in the order of ids"
    assert found("302-111") == ["302-1111111-2222222"]
    assert found("1111111") == [], "a part in the middle is not looked for: no index holds it"
    assert found("my-order") == ["302-1111111-2222222"], "by the seller's own id, typed in small letters too"
    assert found("UK-3") == [] and found('"') == []
    assert found("EU-001") == ["EU-001"]
    assert found("EU") == [], "a text too short to look inside ids finds only the order of exactly that id"
    first_id = host.db.execute("SELECT MIN(id) FROM orders").fetchone()[0]
    assert found(str(first_id)) == ["EU-000"], "the host's own id is one"

    pages, key = [], None
    while True:
        page = orders.orders_page(host, search="UK-0", after=key, limit=4)
        pages += [r["marketplace_order_id"] for r in page.rows]
        if page.older is None:
            break
        key = page.older
    assert pages == [f"UK-0{n:02d}" for n in range(33)], "search results page by key too"


def test_the_search_follows_orders_as_they_change_and_go(two_shops, run):
    host = two_shops
    place(host, "Shop EU", ["EU-900"], [200], seller_ids=["FIRST-REF"])
    place(host, "Shop EU", ["EU-900"], [201], seller_ids=["SECOND-REF"])  # imported again, changed
    assert [r["marketplace_order_id"] for r in orders.orders_page(host, search="SECOND-REF").rows] == ["EU-900"]
    assert orders.orders_page(host, search="FIRST-REF").rows == []
    run("apps", "remove", "Shop EU", "--purge", "--yes")
    assert orders.orders_page(host, search="EU-9").rows == [], "a purged order is not found"
    assert orders.orders_page(host, search="UK-00").rows, "the other app's are"


def test_a_database_of_orders_imported_before_the_search_finds_them(home, clock):
    home.mkdir(parents=True)
    conn = sqlite3.connect(str(home / store.DB_FILE))
    old = store.HostDatabase(conn)
    store.migrations.apply(old, stop_before="m024_pages_by_index")
    old.execute("INSERT INTO workspaces (id, name, name_key) VALUES (1, 'Default', 'default')")
    old.execute(
        "INSERT INTO apps (id, name, name_key, kind, settings, status, workspace_id) "
        "VALUES (1, 'Shop EU', 'shop eu', 'testmarket', '{\"region\": \"EU\"}', 'authorized', 1)"
    )
    for n in range(3):
        old.execute(
            "INSERT INTO orders (app_id, marketplace_order_id, marketplace, status, marketplace_status, "
            "fulfilled_by, created_at, updated_at, line_count, seller_order_id) VALUES "
            f"(1, 'OLD-{n}', 'EU', 'shipped', 'SHIPPED', 'merchant', '2026-01-0{n + 1}T00:00:00+00:00', "
            f"'2026-01-01T00:00:00+00:00', 0, 'MINE-{n}')"
        )
    conn.commit()
    conn.close()
    with Host(home, clock=clock, extra_plugins=[testmarket]) as host:
        assert [r["marketplace_order_id"] for r in orders.orders_page(host, search="OLD").rows] == [
            "OLD-0",
            "OLD-1",
            "OLD-2",
        ]
        assert [r["marketplace_order_id"] for r in orders.orders_page(host, search="mine-1").rows] == ["OLD-1"]
        assert [r["marketplace_order_id"] for r in orders.orders_page(host, limit=2).rows] == ["OLD-2", "OLD-1"]


@pytest.fixture
def shelf(run, market):
    """An app with stock sync that lists every SKU but the UNLISTED ones and refuses the BAD ones; 130 SKUs."""
    install_app(run, "Shop EU", "EU", "--stock-sync")
    authorize_app(run, "Shop EU")
    skus = [f"A-{n:03d}" for n in range(120)] + [f"BAD-{n}" for n in range(4)] + [f"UNLISTED-{n}" for n in range(6)]
    market.listed_only = {s for s in skus if not s.startswith("UNLISTED")}
    for n, sku in enumerate(skus):
        stock.set_stock(run.host, sku, n % 7 + 3)
    stock.push_stock(run.host, "Shop EU")
    return run.host


def walk(host, **options) -> list[list[str]]:
    pages, key = [], None
    while True:
        page = stock_reads.stock_page(host, after=key, **options)
        pages.append([r["sku"] for r in page.rows])
        if page.next is None:
            return pages
        key = page.next


def test_the_stock_list_comes_a_page_of_skus_at_a_time_and_back(shelf):
    pages = walk(shelf, limit=50)
    every = sorted(r[0] for r in shelf.db.execute("SELECT sku FROM desired_stock"))
    assert [s for p in pages for s in p] == every and [len(p) for p in pages] == [50, 50, 30]
    page = stock_reads.stock_page(shelf, after=stock_reads.sku_key(pages[1][-1]), limit=50)
    assert [r["sku"] for r in stock_reads.stock_page(shelf, before=page.previous, limit=50).rows] == pages[1]
    [row] = [r for r in stock_reads.stock_page(shelf, sku="A-007").rows]
    assert (row["on_hand"], [(a["app"], a["available"], a["outcome"]) for a in row["apps"]]) == (
        3,
        [("Shop EU", 3, "accepted")],
    )


def test_the_stock_list_is_filtered_by_what_a_sku_starts_with_and_by_state(shelf):
    assert walk(shelf, sku="A-11", limit=4) == [
        ["A-110", "A-111", "A-112", "A-113"],
        ["A-114", "A-115", "A-116", "A-117"],
        ["A-118", "A-119"],
    ]
    assert walk(shelf, state="rejected") == [[f"BAD-{n}" for n in range(4)]]
    assert walk(shelf, state="not_listed", limit=4) == [
        [f"UNLISTED-{n}" for n in range(4)],
        ["UNLISTED-4", "UNLISTED-5"],
    ]
    assert walk(shelf, state="drift") == [[f"BAD-{n}" for n in range(4)]], "refused: not what the app is offered"
    stock.set_stock(shelf, "A-050", 40)
    stock.set_stock(shelf, "UNLISTED-1", 40)
    assert walk(shelf, state="drift") == [["A-050"] + [f"BAD-{n}" for n in range(4)]], "counted again, not pushed"
    assert walk(shelf, state="drift", sku="A") == [["A-050"]]


def test_a_drift_page_reads_at_most_a_window_of_skus_and_goes_on_from_where_it_stopped(shelf, monkeypatch):
    monkeypatch.setattr(stock_reads, "DRIFT_WINDOW", 30)
    stock.set_stock(shelf, "A-100", 40)
    pages = walk(shelf, state="drift", limit=10)
    assert [s for p in pages for s in p] == ["A-100"] + [f"BAD-{n}" for n in range(4)]
    assert len(pages) == 5, "130 SKUs, read 30 at a time"


def test_the_cli_lists_stock_by_prefix_state_and_a_page_after_a_sku(shelf):
    run = Run(shelf)
    assert [r["sku"] for r in run.json("stock", "list", "--sku", "BAD")] == [f"BAD-{n}" for n in range(4)]
    assert [r["sku"] for r in run.json("stock", "list", "--state", "not_listed", "--limit", "2")] == [
        "UNLISTED-0",
        "UNLISTED-1",
    ]
    assert [r["sku"] for r in run.json("stock", "list", "--after", "A-117", "--limit", "3")] == [
        "A-118",
        "A-119",
        "BAD-0",
    ]
    assert len(run.json("stock", "list")) == 130, "without options, every SKU as before"


# -- the plans -----------------------------------------------------------------------------------------------------

READ_BY_PAGES = {"orders", "order_lines", "desired_stock", "stock_pushes", "sku_references", "line_stock"}


def plans_of(host, read) -> dict[str, list[tuple[int, int, str]]]:
    """Each SELECT ``read()`` runs on the host's connection, with SQLite's plan for it: (step, parent, detail)."""
    seen: list[str] = []
    host.db.conn.set_trace_callback(lambda sql: seen.append(sql))
    try:
        read()
    finally:
        host.db.conn.set_trace_callback(None)
    return {
        sql: [(row[0], row[1], row[3]) for row in host.db.conn.execute("EXPLAIN QUERY PLAN " + sql)]
        for sql in seen
        if sql.lstrip().upper().startswith("SELECT")
    }


def scans(host, plans: dict[str, list[tuple[int, int, str]]]) -> list[str]:
    """The plan steps that read a whole table of orders or stock, or every row of a workspace or app to sort them:
    a SCAN (but the full-text index answering MATCH), or a range SEARCH sorted afterwards in a temporary b-tree in
    the same (sub)query. A page's own few rows, sought by their key and then sorted, are no such step."""
    aliases = {}
    for sql in plans:
        for table, alias in re.findall(r"\b(?:FROM|JOIN)\s+(\w+)\s+(\w+)\b", sql):
            aliases[alias] = table
    found = []
    for sql, steps in plans.items():
        sorted_levels = {parent for _, parent, detail in steps if detail.startswith("USE TEMP B-TREE FOR ORDER BY")}
        for _, parent, detail in steps:
            match = re.match(r"(SCAN|SEARCH) (\w+)", detail)
            if not match or aliases.get(match[2], match[2]) not in READ_BY_PAGES | {"orders_search"}:
                continue
            if match[1] == "SCAN" and not re.search(r"VIRTUAL TABLE INDEX \d+:M", detail):
                found.append(f"{detail}  <-  {sql[:150]}")
            elif (
                match[1] == "SEARCH"
                and parent in sorted_levels
                and not re.search(r"\((rowid|\w+ AND sku)=\?\)", detail)
            ):
                found.append(f"{detail}, then sorted  <-  {sql[:150]}")
    return found


def test_the_pages_queries_walk_indexes_and_never_scan_a_table(two_shops, market):
    host = two_shops
    for sku in ("MUG", "BAD-1", "CUP"):
        stock.set_stock(host, sku, 5)
    market.listed_only = {"MUG", "BAD-1"}
    stock.push_stock(host, "Shop EU")
    first = orders.orders_page(host, limit=10)
    some_id = str(first.rows[0]["id"])
    reads = {
        "orders list": lambda: orders.orders_page(host, limit=10),
        "a deep page": lambda: orders.orders_page(host, after=first.older, limit=10),
        "a page back": lambda: orders.orders_page(host, before=first.older, limit=10),
        "of one status": lambda: orders.orders_page(host, status="unshipped", after=first.older),
        "an order by the marketplace's id": lambda: orders.get_order(host, "UK-007"),
        "an order by the host's id": lambda: orders.get_order(host, some_id),
        "a search": lambda: orders.orders_page(host, search="UK-00"),
        "stock page": lambda: stock_reads.stock_page(host, limit=2),
        "stock after a key": lambda: stock_reads.stock_page(host, after=stock_reads.sku_key("BAD-1"), limit=2),
        "stock by prefix": lambda: stock_reads.stock_page(host, sku="MU"),
        "stock refused": lambda: stock_reads.stock_page(host, state="rejected"),
        "stock not listed": lambda: stock_reads.stock_page(host, state="not_listed"),
    }
    for what, read in reads.items():
        plans = plans_of(host, read)
        assert plans, what
        assert scans(host, plans) == [], what


def test_a_page_does_as_much_work_with_ten_times_the_orders(two_shops):
    """SQLite's own count of the steps each page's reads take (its progress handler, every 100 virtual machine
    instructions) stays about the same when ten times as many older orders are stored: a page reads what it shows."""
    host = two_shops
    first = orders.orders_page(host, limit=10)

    def steps(read) -> int:
        count = [0]

        def tick() -> int:
            count[0] += 1
            return 0

        host.db.conn.set_progress_handler(tick, 100)
        try:
            read()
        finally:
            host.db.conn.set_progress_handler(None, 100)
        return count[0]

    reads = {
        "orders list": lambda: orders.orders_page(host, limit=10),
        "a deep page": lambda: orders.orders_page(host, after=first.older, limit=10),
        "an order by the marketplace's id": lambda: orders.get_order(host, "UK-007"),
        "an order by the host's id": lambda: orders.get_order(host, str(first.rows[0]["id"])),
        "a search": lambda: orders.orders_page(host, search="UK-00"),
    }
    before = {what: steps(read) for what, read in reads.items()}
    place(host, "Shop UK", [f"OLDER-{n:04d}" for n in range(800)], [-1000 - n for n in range(800)])
    after = {what: steps(read) for what, read in reads.items()}
    grown = {what: (before[what], after[what]) for what in reads if after[what] > before[what] * 1.5 + 5}
    assert grown == {}
