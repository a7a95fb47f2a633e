"""Orders: each batch a plugin yields is stored with the cursor after it in one transaction.

An order is keyed by (app, marketplace order id): importing it again updates it and records a status change, never
a duplicate; an older view of an order (from an overlapping window) never overwrites a newer one. A crash loses
nothing and repeats nothing: the next import resumes from the last committed cursor.

Each import remembers when it ended and the quota that paces the app's imports: of the operations it called, the
one slowest to refill (Amazon's searchOrders, a token every 178.6 s). ``next_import`` tells a seller who asks for
an import now whether one is running or when the next can go, so a button pressed again and again never empties
the quota the scheduled imports live on.

A buyer may ask the marketplace to cancel an order (bol's ``cancellationRequest``, Amazon's cancellation request):
each line keeps what the last import saw, and an open order with such a line is one whose buyer asks to cancel.
``cancel_order`` cancels an order at the marketplace through the plugin's ``cancel_order`` hook, accepting the
buyer's request or on the seller's own initiative, and once the marketplace accepts, cancels it here at once and
releases its units in the same transaction. A process that dies between the marketplace's yes and that write loses
nothing: the next import shows the order cancelled, and asking again is answered "accepted" by the plugin.

Owns the tables ``orders``, ``order_lines``, ``order_status_history``, ``sync_cursors`` and ``import_runs``.
"""

from __future__ import annotations

import base64
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import installed, locks, reservations, store, workspaces
from .context import Context, Progress
from .errors import Action, LinkolisError, UserError
from .host import Host
from .installed import App, require_authorized
from .models import CANCELLATION_REASONS, Cancellation, Order, RateLimit

ORDERS_STREAM = "orders"


LINE_MONEY = ("unit_price", "subtotal", "tax", "shipping", "shipping_tax", "discount", "total")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _line_rows(order_id: int, order: Order) -> list[tuple]:
    t = _text  # each money field by name, in LINE_MONEY's order: a generator of getattr was a sixth of an import
    return [
        (
            order_id,
            line.line_id,
            line.sku,
            line.product_id,
            line.title,
            line.quantity_ordered,
            line.quantity_shipped,
            line.quantity_cancelled,
            t(line.unit_price),
            t(line.subtotal),
            t(line.tax),
            t(line.shipping),
            t(line.shipping_tax),
            t(line.discount),
            t(line.total),
            int(line.cancellation_requested),
            line.cancellation_reason,
        )
        for line in order.lines
    ]


ORDER_COLUMNS = (
    "app_id, marketplace_order_id, marketplace, status, marketplace_status, fulfilled_by, created_at, updated_at, "
    "currency, total, buyer, recipient, line_count, seller_order_id, programs, original_order_id, "
    "original_order_relation, imported_at, changed_at"
)


def _insert_orders(conn: sqlite3.Connection, rows: list[tuple]) -> dict[str, int]:
    """Insert new orders' rows (in ``ORDER_COLUMNS``' order), a few hundred to a statement; return marketplace order
    id -> id. One multi-row ``INSERT … RETURNING`` a batch, not one a order: the statement per order was a tenth of
    an import's host time. The rows come back keyed by marketplace order id (an app's are unique), not by position:
    SQLite does not promise ``RETURNING``'s order."""
    ids: dict[str, int] = {}
    one = f"({','.join('?' * 19)})"
    for start in range(0, len(rows), 250):  # 19 parameters a row: 4,750 a statement, well under any build's limit
        chunk = rows[start : start + 250]
        ids.update(
            conn.execute(
                f"INSERT INTO orders ({ORDER_COLUMNS}) VALUES {','.join([one] * len(chunk))} "
                "RETURNING marketplace_order_id, id",
                [value for row in chunk for value in row],
            ).fetchall()
        )
    return ids


def store_orders(host: Host, app_id: int, orders: list[Order]) -> dict[str, int]:
    """Upsert ``orders`` for the app (inside the caller's transaction); count new, updated, unchanged. What the new
    and changed orders hold of the workspace's stock moves in the same transaction (``reservations``)."""
    db = host.db
    now = host.clock.now().isoformat(timespec="seconds")
    unique = {o.marketplace_order_id: o for o in orders}
    counts = {"new": 0, "updated": 0, "unchanged": 0}
    existing: dict[str, tuple] = {}
    ids = list(unique)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in db.execute(
            f"SELECT marketplace_order_id, id, status, marketplace_status, updated_at FROM orders "
            f"WHERE app_id = ? AND marketplace_order_id IN ({marks})",
            [app_id, *chunk],
        ):
            existing[row[0]] = row[1:]
    lines: list[tuple] = []
    history: list[tuple] = []
    replaced: list[tuple[int]] = []
    new_ids: dict[int, str] = {}  # order id -> when it was placed
    facts: dict[int, reservations.Facts] = {}
    # (order, its id, whether its status is news, its row's values): what is left to write once the new have ids
    stored: list[tuple[Order, int | None, bool, tuple]] = []
    inserts: list[tuple] = []
    for order in unique.values():
        updated_at = order.updated_at.isoformat()
        status = order.status.value
        values = (
            order.marketplace,
            status,
            order.marketplace_status,
            order.fulfilled_by,
            order.created_at.isoformat(),
            updated_at,
            order.currency,
            None if order.total is None else str(order.total),
            None if order.buyer is None else order.buyer.model_dump_json(exclude_none=True),
            None if order.recipient is None else order.recipient.model_dump_json(exclude_none=True),
            len(order.lines),
            order.seller_order_id,
            store.dumps(order.programs) if order.programs else None,
            order.original_order_id,
            order.original_order_relation,
        )
        seen = existing.get(order.marketplace_order_id)
        if seen is None:
            inserts.append((app_id, order.marketplace_order_id, *values, now, now))
            stored.append((order, None, True, values))
            continue
        order_id, old_status, old_marketplace_status, old_updated = seen
        if old_updated == updated_at and old_marketplace_status == order.marketplace_status:
            counts["unchanged"] += 1
            continue
        if order.updated_at < datetime.fromisoformat(old_updated):
            counts["unchanged"] += 1  # an older view of the order (an overlapping window) never wins
            continue
        db.execute(
            "UPDATE orders SET marketplace = ?, status = ?, marketplace_status = ?, fulfilled_by = ?, "
            "created_at = ?, updated_at = ?, currency = ?, total = ?, buyer = COALESCE(?, buyer), "
            "recipient = COALESCE(?, recipient), line_count = ?, seller_order_id = ?, programs = ?, "
            "original_order_id = ?, original_order_relation = ?, changed_at = ? WHERE id = ?",
            (*values, now, order_id),
        )
        replaced.append((order_id,))
        counts["updated"] += 1
        stored.append((order, order_id, old_marketplace_status != order.marketplace_status, values))
    inserted = _insert_orders(db.conn, inserts)
    for order, order_id, news, values in stored:
        status, created_at, updated_at = values[1], values[4], values[5]
        if order_id is None:
            order_id = inserted[order.marketplace_order_id]
            counts["new"] += 1
            new_ids[order_id] = created_at
        if news:
            history.append((order_id, status, order.marketplace_status, updated_at, now))
        lines.extend(_line_rows(order_id, order))
        facts[order_id] = (
            status,
            order.fulfilled_by,
            updated_at,
            order.marketplace_order_id,
            [
                (line.line_id, line.sku, line.quantity_ordered, line.quantity_shipped, line.quantity_cancelled)
                for line in order.lines
            ],
        )
    if replaced:
        db.conn.executemany("DELETE FROM order_lines WHERE order_id = ?", replaced)
    if lines:
        db.conn.executemany(
            "INSERT INTO order_lines (order_id, line_id, sku, product_id, title, quantity_ordered, "
            f"quantity_shipped, quantity_cancelled, {', '.join(LINE_MONEY)}, cancellation_requested, "
            f"cancellation_reason) VALUES ({','.join('?' * (10 + len(LINE_MONEY)))})",
            lines,
        )
    if history:
        db.conn.executemany(
            "INSERT INTO order_status_history (order_id, status, marketplace_status, marketplace_updated_at, "
            "recorded_at) VALUES (?,?,?,?,?)",
            history,
        )
    # The stock they hold, in this same transaction, from what was just written.
    reservations.settle_orders(host, app_id, list(facts), facts=facts, new=new_ids)
    return counts


def load_cursor(host: Host, app_id: int, stream: str = ORDERS_STREAM) -> dict | None:
    row = host.db.execute(
        "SELECT cursor FROM sync_cursors WHERE app_id = ? AND stream = ?", (app_id, stream)
    ).fetchone()
    return None if row is None else store.loads(row[0])


def save_cursor(host: Host, app_id: int, cursor: dict, stream: str = ORDERS_STREAM) -> None:
    host.db.execute(
        "INSERT INTO sync_cursors (app_id, stream, cursor, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(app_id, stream) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
        (app_id, stream, store.dumps(cursor), host.clock.now().isoformat()),
    )


def import_orders(host: Host, app: App | str, progress: Progress | None = None) -> dict[str, Any]:
    """Import the app's new and changed orders; return a summary (new, updated, unchanged, batches, seconds)."""
    app = installed.get(host, app)
    require_authorized(app)
    progress = progress or Progress()
    summary = {"app": app.name, "new": 0, "updated": 0, "unchanged": 0, "batches": 0, "seconds": 0.0}
    started = time.monotonic()
    with installed.run(host, app, lock="import", progress=progress, stamp="last_import_at") as ctx:
        calls_before = Counter(ctx.http.stats.calls)
        try:
            cursor = load_cursor(host, app.id)
            progress.start(f"Importing orders for {app.name}")
            for batch in host.registry.import_orders(app.kind, ctx, cursor):
                with host.db.atomic():
                    installed.require_present(host, app.id, app.name)  # removed meanwhile: no orders, no cursor
                    counts = store_orders(host, app.id, batch.orders)
                    save_cursor(host, app.id, batch.cursor)
                for key, value in counts.items():
                    summary[key] += value
                summary["batches"] += 1
                progress.advance(len(batch.orders))
        finally:
            _record_run(host, app, ctx, Counter(ctx.http.stats.calls) - calls_before)
    summary["seconds"] = round(time.monotonic() - started, 3)
    return summary


def _record_run(host: Host, app: App, ctx: Context, called: Counter) -> None:
    """Remember that an import of ``app`` ended now and which of the operations it ``called`` paces the next."""
    paced = [(1 / limit.rate, op, limit) for op in called if (limit := ctx.http.limit_of(op)) is not None]
    if not paced:
        return
    pace, operation, limit = max(paced, key=lambda p: p[0])
    # One statement (on PostgreSQL a round trip and no write lock); none for an app removed before it. On PostgreSQL
    # a removal committing in the same moment can still leave the row: harmless, as ids are never used again and
    # nothing reads the note of a removed app.
    try:
        host.db.write_one(
            "INSERT INTO import_runs (app_id, finished_at, pace, bucket, quota) SELECT ?, ?, ?, ?, ? "
            "WHERE EXISTS (SELECT 1 FROM apps WHERE id = ? AND status != ?) "
            "ON CONFLICT (app_id) DO UPDATE SET finished_at = excluded.finished_at, pace = excluded.pace, "
            "bucket = excluded.bucket, quota = excluded.quota",
            (app.id, host.clock.time(), pace, ctx.http.bucket_of(operation), limit.model_dump_json())
            + (app.id, installed.REMOVED),
        )
    except (*store.ERRORS, LinkolisError):  # a courtesy to the next "Import now": never what ends an import
        return


@dataclass(frozen=True)
class ImportWait:
    """Why an import of an app should not start now: one is ``running``, or its quota lets the next go only in
    ``seconds`` (at ``until``, the host clock's epoch seconds)."""

    running: bool
    seconds: float = 0.0
    until: float = 0.0


def next_import(host: Host, app: App | str) -> ImportWait | None:
    """None when an import of the app may start now; else why not and for how long.

    An import runs (its lock is held, in this process or another), or the last one ended less than its quota's
    interval ago (one token's refill), or the quota has no token for it yet.
    """
    app = installed.get(host, app)
    if locks.is_held(host.home, app.id, "import", host.database):
        return ImportWait(running=True)
    row = host.db.execute(
        "SELECT finished_at, pace, bucket, quota FROM import_runs WHERE app_id = ?", (app.id,)
    ).fetchone()
    if row is None:
        return None
    finished_at, pace, bucket, quota = row
    now = host.clock.time()
    wait = min(max(0.0, finished_at + pace - now), pace)  # a clock set back never makes it longer than the pace
    if bucket and quota:
        wait = max(wait, host.limiter.wait_time(bucket, RateLimit.model_validate_json(quota)))
    return None if wait <= 0 else ImportWait(running=False, seconds=wait, until=now + wait)


# An open order (of ``o``) with a line whose buyer asks to cancel and that is not shipped in full: the seller has
# to answer the request (accept it, or ship anyway).
OPEN_STATUSES = ("pending", "unshipped", "partially_shipped", "other")
CANCELLATION_ASKED = (
    f"(o.status IN ({', '.join(repr(s) for s in OPEN_STATUSES)}) AND EXISTS (SELECT 1 FROM order_lines l "
    "WHERE l.order_id = o.id AND l.cancellation_requested = 1 "
    "AND l.quantity_ordered > COALESCE(l.quantity_shipped, 0)))"
)


# -- reading: every page through an index ------------------------------------------------------------------------

# What the orders list shows of an order (``o``, its app ``a``).
LISTED = (
    "o.id, a.name AS app, o.marketplace_order_id, o.marketplace, o.status, o.marketplace_status, o.fulfilled_by, "
    "o.created_at, o.updated_at, o.currency, o.total, o.line_count, o.seller_order_id, "
    f"{CANCELLATION_ASKED} AS cancellation_requested"
)
SEARCH_MIN = 3  # characters a search needs to list the orders whose id starts with it (fewer: that exact id)


@dataclass(frozen=True)
class OrdersPage:
    """A page of orders, newest first, and the keys of the pages beside it (None: there is none). A key is opaque
    text: hand it back as ``after`` (``older``) or ``before`` (``newer``)."""

    rows: list[dict[str, Any]]
    older: str | None
    newer: str | None


def _key(row: dict[str, Any], searching: bool) -> str:
    """The page key after or before ``row``: where it sorts (``_position``), as opaque text."""
    text = "\x1f".join(str(part) for part in _position(row, searching))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unkey(key: str | None, searching: bool) -> tuple | None:
    """A key back as the sort position it names; None for no key, or one that is not ours (the first page)."""
    if not key:
        return None
    try:
        text = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)).decode()
        first, order_id = text.split("\x1f")
        return first, int(order_id)
    except (ValueError, UnicodeDecodeError):
        return None


def _app_ids(host: Host, app: App | str | None) -> list[int]:
    """The apps whose orders the workspace sees (removed ones too: their orders stay listed), or ``app`` alone."""
    if app:
        return [installed.get(host, app).id]
    return [r[0] for r in host.db.execute("SELECT id FROM apps WHERE workspace_id = ?", (workspaces.current_id(host),))]


def _newest(
    host: Host, app_ids: list[int], status: str | None, position: tuple | None, older: bool, count: int
) -> list[dict[str, Any]]:
    """``count`` orders of the apps just older than ``position`` (``older``) or just newer, newest first: per app a
    walk of its (created_at, id) index from the key, the apps' pages merged; never more rows read than shown."""
    if not app_ids:
        return []
    sign, order = ("<", "DESC") if older else (">", "ASC")
    per_app, params = [], []
    for app_id in app_ids:
        where = ["app_id = ?"]
        params.append(app_id)
        if status:
            where.append("status = ?")
            params.append(status)
        if position is not None:
            where.append(f"(created_at, id) {sign} (?, ?)")
            params.extend(position)
        per_app.append(
            f"SELECT * FROM (SELECT id, created_at FROM orders WHERE {' AND '.join(where)} "
            f"ORDER BY created_at {order}, id {order} LIMIT ?) AS per_app"
        )
        params.append(count)
    rows = list(
        host.db.query(
            f"SELECT {LISTED} FROM ({' UNION ALL '.join(per_app)}) k JOIN orders o ON o.id = k.id "
            f"JOIN apps a ON a.id = o.app_id ORDER BY k.created_at {order}, k.id {order} LIMIT ?",
            [*params, count],
        )
    )
    return rows if older else rows[::-1]


def _found(
    host: Host, app_ids: list[int], status: str | None, search: str, position: tuple | None, older: bool, count: int
) -> list[dict[str, Any]]:
    """``count`` orders of the apps whose order id (the marketplace's, else the seller's own) starts with
    ``search`` (as typed, or in capitals), in the order of that id: per app and id column a walk of its
    (app_id, id) index from the key, the walks merged; never more rows read than shown. ``older``: the next page
    (ids after ``position``), else the one before it."""
    if not app_ids or len(search) < SEARCH_MIN:
        return []
    sign, order = (">", "ASC") if older else ("<", "DESC")
    texts = list(dict.fromkeys([search, search.upper()]))

    def starts(column: str) -> tuple[str, list[str]]:
        return "(" + " OR ".join(f"({column} >= ? AND {column} <= ?)" for _ in texts) + ")", [
            bound for text in texts for bound in (text, text + "\U0010ffff")
        ]

    by_market, market_params = starts("marketplace_order_id")
    by_seller, seller_params = starts("seller_order_id")
    walks, params = [], []
    for app_id in app_ids:
        for column, match, match_params, extra, extra_params in (
            ("marketplace_order_id", by_market, market_params, "", []),
            ("seller_order_id", by_seller, seller_params, f" AND NOT {by_market}", market_params),
        ):
            where = f"app_id = ? AND {match}{extra}" + (" AND status = ?" if status else "")
            params += [app_id, *match_params, *extra_params, *([status] if status else [])]
            if position is not None:
                where += f" AND ({column}, id) {sign} (?, ?)"
                params += list(position)
            walks.append(
                f"SELECT * FROM (SELECT id, {column} AS search_key FROM orders WHERE {where} "
                f"ORDER BY {column} {order}, id {order} LIMIT ?) AS per_app"
            )
            params.append(count)
    rows = list(
        host.db.query(
            f"SELECT {LISTED}, k.search_key FROM ({' UNION ALL '.join(walks)}) k JOIN orders o ON o.id = k.id "
            f"JOIN apps a ON a.id = o.app_id ORDER BY k.search_key {order}, k.id {order} LIMIT ?",
            [*params, count],
        )
    )
    return rows if older else rows[::-1]


def orders_page(
    host: Host,
    app: App | str | None = None,
    status: str | None = None,
    search: str | None = None,
    after: str | None = None,
    before: str | None = None,
    limit: int = 25,
) -> OrdersPage:
    """A page of the workspace's orders (or one app's, of one ``status``), newest first: the first, or the one
    older than the key ``after``, or the one newer than the key ``before``. With ``search``, the orders whose order id
    (the marketplace's, else the seller's own) starts with it, in the order of that id (``after``: the next page,
    ``before``: the one before); a search shorter than ``SEARCH_MIN`` characters finds only the order of exactly that
    id. ``cancellation_requested`` says the buyer of
    an open order asks to cancel it. A few indexed reads, whatever the number of orders and however deep the page."""
    search = (search or "").strip()
    app_ids, searching = _app_ids(host, app), bool(search)
    if searching and len(search) < SEARCH_MIN:
        return OrdersPage(rows=_exactly(host, app_ids, status, find_ids(host, search)), older=None, newer=None)
    backwards = before is not None and after is None
    position = _unkey(before if backwards else after, searching)

    def read(position: tuple | None, older: bool, count: int) -> list[dict[str, Any]]:
        if searching:
            return _found(host, app_ids, status, search, position, older, count)
        return _newest(host, app_ids, status, position, older, count)

    if backwards and position is not None:
        rows = read(position, False, limit + 1)
        if len(rows) > limit:  # a page newer than the key, and more beyond it
            return _page(rows[-limit:], searching, older=True, newer=True)
        position = None  # less than a page is newer than the key: the first page
    rows = read(position, True, limit + 1)
    older, rows = len(rows) > limit, rows[:limit]
    # One seek more past a key: is anything newer than this page's first order?
    newer = position is not None and bool(rows) and bool(read(_position(rows[0], searching), False, 1))
    return _page(rows[:limit], searching, older, newer)


def _position(row: dict[str, Any], searching: bool) -> tuple:
    """Where ``row`` sorts: by when it was placed and the host's id, or (search results) by the id it was found by."""
    return (row["search_key"], row["id"]) if searching else (row["created_at"], row["id"])


def _page(rows: list[dict[str, Any]], searching: bool, older: bool, newer: bool) -> OrdersPage:
    for row in rows:
        row["cancellation_requested"] = bool(row["cancellation_requested"])
    return OrdersPage(
        rows=rows,
        older=_key(rows[-1], searching) if rows and older else None,
        newer=_key(rows[0], searching) if rows and newer else None,
    )


def _exactly(host: Host, app_ids: list[int], status: str | None, ids: list[int]) -> list[dict[str, Any]]:
    """The listed orders of ``ids`` among the apps' (of ``status``), newest first."""
    if not ids or not app_ids:
        return []
    where = f"o.id IN ({','.join('?' * len(ids))}) AND o.app_id IN ({','.join('?' * len(app_ids))})"
    params: list[Any] = [*ids, *app_ids]
    if status:
        where += " AND o.status = ?"
        params.append(status)
    rows = list(
        host.db.query(
            f"SELECT {LISTED} FROM orders o JOIN apps a ON a.id = o.app_id WHERE {where} "
            "ORDER BY o.created_at DESC, o.id DESC",
            params,
        )
    )
    for row in rows:
        row["cancellation_requested"] = bool(row["cancellation_requested"])
    return rows


def list_orders(
    host: Host,
    app: App | str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
    search: str | None = None,
    after: str | None = None,
) -> list[dict]:
    """The workspace's orders (or one app's), newest first: ``limit`` of them older than the order ``after`` (the
    host's id or the marketplace's order id; from the newest when None), ``offset`` more skipped; ``search`` keeps
    those whose marketplace order id or seller's order id starts with it (as ``orders_page``, whose pages these are:
    in the order of that id).
    ``after`` reads only the orders shown; ``offset`` reads those it skips too."""
    search = (search or "").strip()
    key = None
    if after is not None:
        ids = find_ids(host, after)
        if not ids:
            raise UserError(
                f"no order {after!r} was imported", code="no_order", action=Action.LIST_ORDERS, values={"order": after}
            )
        created_at, market_id, seller_id = host.db.execute(
            "SELECT created_at, marketplace_order_id, seller_order_id FROM orders WHERE id = ?", (ids[0],)
        ).fetchone()
        found_by = market_id if market_id.upper().startswith(search.upper()) else seller_id or ""
        key = _key({"id": ids[0], "created_at": created_at, "search_key": found_by}, bool(search))
    rows: list[dict] = []
    skip = max(0, offset)
    while len(rows) < limit:
        page = orders_page(host, app, status, search, after=key, limit=min(limit - len(rows) + skip, 500))
        rows.extend(page.rows[skip:][: limit - len(rows)])
        skip = max(0, skip - len(page.rows))
        if page.older is None:
            break
        key = page.older
    return rows


def find_ids(
    host: Host, order_ref: str, app: App | str | None = None, live_apps: bool = False, host_id_first: bool = False
) -> list[int]:
    """The host's ids of the workspace's orders ``order_ref`` names, by the marketplace's order id (one seek per app
    of the workspace) or, when it is a number, by the host's id (one seek): the marketplace's first, the host's only
    when that finds none (``host_id_first``: the other way round, for links, which carry the host's id). ``app``:
    of that app only; ``live_apps``: of apps not removed only."""
    order_ref = order_ref.strip()
    where = ["a.workspace_id = ?"]
    params: list[Any] = [workspaces.current_id(host)]
    if app is not None:
        where.append("a.id = ?")
        params.append(installed.get(host, app).id)
    if live_apps:
        where.append("a.status != ?")
        params.append(installed.REMOVED)
    scope = " AND ".join(where)

    def by_marketplace_id() -> list[int]:
        return [
            r[0]
            for r in host.db.execute(
                f"SELECT o.id FROM apps a JOIN orders o ON o.app_id = a.id "
                f"WHERE o.marketplace_order_id = ? AND {scope}",
                [order_ref, *params],
            )
        ]

    def by_host_id() -> list[int]:
        if not (order_ref.isascii() and order_ref.isdigit() and len(order_ref) < 19 and order_ref[0] != "0"):
            return []
        return [
            r[0]
            for r in host.db.execute(
                f"SELECT o.id FROM orders o JOIN apps a ON a.id = o.app_id WHERE o.id = ? AND {scope}",
                [int(order_ref), *params],
            )
        ]

    first, then = (by_host_id, by_marketplace_id) if host_id_first else (by_marketplace_id, by_host_id)
    return first() or then()


def get_order(host: Host, order_ref: str) -> dict[str, Any]:
    """An order of the host's workspace by the host's id or the marketplace's order id, with its lines and status
    history (another workspace's order is "no order", whichever id is given).

    Money is given as decimal strings in the order's currency, ``None`` where the marketplace did not say (the
    lines' meanings are those of ``OrderLine``). ``cancellation_requested`` says the buyer of this open order asks
    to cancel it, ``cancellation_reason`` the reason the marketplace gives (``None`` when it gives none).
    """
    ids = find_ids(host, order_ref, host_id_first=True)
    rows = (
        list(
            host.db.query(
                f"SELECT o.*, a.name AS app, {CANCELLATION_ASKED} AS cancellation_requested FROM orders o "
                "JOIN apps a ON a.id = o.app_id WHERE o.id = ?",
                ids[:1],
            )
        )
        if ids
        else []
    )
    if not rows:
        raise UserError(
            f"no order {order_ref!r} was imported",
            code="no_order",
            action=Action.LIST_ORDERS,
            values={"order": order_ref},
        )
    order = rows[0]
    order["programs"] = store.loads(order["programs"], [])
    order["buyer"] = store.loads(order["buyer"])
    order["recipient"] = store.loads(order["recipient"])
    # Not line_total: an old row's line_total meant proceeds or unit x quantity, whichever Amazon had sent.
    order["lines"] = list(
        host.db.query(
            "SELECT line_id, sku, product_id, title, quantity_ordered, quantity_shipped, quantity_cancelled, "
            f"{', '.join(LINE_MONEY)}, cancellation_requested, cancellation_reason FROM order_lines "
            "WHERE order_id = ? ORDER BY line_id",
            [order["id"]],
        )
    )
    for line in order["lines"]:
        line["cancellation_requested"] = bool(line["cancellation_requested"])
    order["cancellation_requested"] = bool(order["cancellation_requested"])
    order["cancellation_reason"] = _reason_asked(order) if order["cancellation_requested"] else None
    order["history"] = list(
        host.db.query(
            "SELECT status, marketplace_status, marketplace_updated_at, recorded_at FROM order_status_history "
            "WHERE order_id = ? ORDER BY id",
            [order["id"]],
        )
    )
    return order


# -- cancelling -------------------------------------------------------------------------------------------------


def _reason_asked(order: dict[str, Any]) -> str | None:
    """The reasons the marketplace gives for the buyer's requests on the order's open lines, as one text."""
    reasons = [
        line["cancellation_reason"]
        for line in order["lines"]
        if line["cancellation_requested"]
        and line["cancellation_reason"]
        and line["quantity_ordered"] > (line["quantity_shipped"] or 0)
    ]
    return "; ".join(dict.fromkeys(reasons)) or None


def find_order(host: Host, order_ref: str, app: App | str | None = None) -> dict[str, Any]:
    """The imported order ``order_ref`` (the marketplace's order id or the host's id) of an installed app of the
    workspace, of ``app`` when given, with its lines and whether its buyer asks to cancel it."""
    order_ref = order_ref.strip()
    ids = find_ids(host, order_ref, app, live_apps=True)
    rows = list(
        host.db.query(
            "SELECT o.id, o.app_id, o.marketplace_order_id, o.status, o.marketplace_status, o.fulfilled_by, "
            f"o.created_at, a.name AS app, {CANCELLATION_ASKED} AS cancellation_requested "
            f"FROM orders o JOIN apps a ON a.id = o.app_id WHERE o.id IN ({','.join('?' * len(ids))})",
            ids,
        )
    )
    if not rows:
        raise UserError(
            f"no order {order_ref!r} was imported",
            code="no_order",
            action=Action.LIST_ORDERS,
            values={"order": order_ref},
        )
    if len(rows) > 1:
        names = ", ".join(sorted(r["app"] for r in rows))
        raise UserError(f"order {order_ref!r} was imported by more than one app ({names}); say which with --app")
    order = rows[0]
    order["lines"] = list(
        host.db.query(
            "SELECT line_id, sku, quantity_ordered, quantity_shipped, cancellation_requested, cancellation_reason "
            "FROM order_lines WHERE order_id = ? ORDER BY line_id",
            [order["id"]],
        )
    )
    order["cancellation_requested"] = bool(order["cancellation_requested"])
    order["cancellation_reason"] = _reason_asked(order) if order["cancellation_requested"] else None
    return order


def cancels_here(host: Host, order: dict[str, Any]) -> bool:
    """Whether the app of ``order`` (as ``get_order`` or ``find_order`` give it) can cancel orders from linkolis;
    else the seller cancels on the marketplace's own site and the next import shows it."""
    try:
        kind = installed.get(host, order["app"]).kind
    except LinkolisError:
        return False  # the app is removed
    return host.registry.implements(kind, "cancel_order")


def _refuse_uncancellable(host: Host, order: dict[str, Any], app: App) -> list[tuple[str, int]]:
    """The (line id, quantity left to ship) pairs to cancel, or why the order cannot be cancelled from here."""
    oid = order["marketplace_order_id"]
    title = host.registry.kind(app.kind).title
    if order["status"] == "cancelled":
        raise UserError(f"order {oid} is cancelled already")
    if order["fulfilled_by"] == "marketplace":
        raise UserError(
            f"order {oid} is fulfilled by the marketplace: {title} handles its cancellation; ask for it on "
            f"{title}'s own site"
        )
    if order["status"] == "shipped":
        raise UserError(f"order {oid} is shipped: a shipped order cannot be cancelled (the buyer returns it instead)")
    if order["status"] not in OPEN_STATUSES:
        raise UserError(f"order {oid} is {order['status'].replace('_', ' ')} and cannot be cancelled from here")
    lines = [
        (line["line_id"], line["quantity_ordered"] - (line["quantity_shipped"] or 0))
        for line in order["lines"]
        if line["quantity_ordered"] > (line["quantity_shipped"] or 0)
    ]
    if not lines:
        raise UserError(
            f"order {oid}: every item is shipped already; a shipped item cannot be cancelled (the buyer returns it)"
        )
    if not host.registry.implements(app.kind, "cancel_order"):
        raise UserError(
            f"linkolis cannot cancel {title} orders: cancel order {oid} on {title}'s own site; the next import "
            "shows it cancelled and releases its units"
        )
    return lines


def _reason(order: dict[str, Any], reason: str | None) -> str:
    oid, others = order["marketplace_order_id"], ", ".join(r for r in CANCELLATION_REASONS if r != "requested_by_buyer")
    if reason is None:
        if order["cancellation_requested"]:
            return "requested_by_buyer"
        raise UserError(f"the buyer of order {oid} did not ask to cancel it; say why you cancel it ({others})")
    reason = reason.strip().lower().replace("-", "_")
    if reason not in CANCELLATION_REASONS:
        raise UserError(f"{reason!r} is not a reason to cancel (reasons: {', '.join(CANCELLATION_REASONS)})")
    if reason == "requested_by_buyer" and not order["cancellation_requested"]:
        raise UserError(f"the buyer of order {oid} did not ask to cancel it; give the real reason ({others})")
    return reason


def plan_cancellation(
    host: Host, order_ref: str, reason: str | None = None, app: App | str | None = None
) -> dict[str, Any]:
    """What ``cancel_order`` would ask the marketplace, without asking: the ``order`` (as ``find_order`` gives it),
    its ``app``, the ``reason``, the ``lines`` (line id and quantity) and whether they are the ``whole_order``; or
    the ``UserError`` saying why it cannot be cancelled from here. A command checks it before asking to confirm."""
    order = find_order(host, order_ref, app)
    app_row = installed.get(host, order["app"])
    require_authorized(app_row)
    open_lines = _refuse_uncancellable(host, order, app_row)
    chosen = _reason(order, reason)
    if chosen == "requested_by_buyer":
        asked = {line["line_id"] for line in order["lines"] if line["cancellation_requested"]}
        lines = [(line_id, quantity) for line_id, quantity in open_lines if line_id in asked]
    else:
        lines = open_lines
    return {
        "order": order,
        "app": app_row,
        "reason": chosen,
        "lines": [{"line_id": line_id, "quantity": quantity} for line_id, quantity in lines],
        "whole_order": len(lines) == len(open_lines),
    }


def cancel_order(
    host: Host, order_ref: str, reason: str | None = None, app: App | str | None = None, by: str | None = None
) -> dict[str, Any]:
    """Cancel an open, seller-fulfilled order at its marketplace: accept its buyer's request (the default reason when
    there is one, ``requested_by_buyer``), or on the seller's own initiative (``out_of_stock``, ``price_error``,
    ``other``). On the seller's initiative every line left to ship is cancelled; accepting the buyer's request
    cancels the lines the buyer asked about (bol's buyers ask per item), which are most often all of them.

    Refuses an order cancelled already, one the marketplace fulfils, one shipped in full, and an app whose plugin
    cannot cancel (the seller cancels on the marketplace's site; the next import shows it). Once the marketplace
    accepts the cancellation of every open line, the order is cancelled here and its units released in one
    transaction (``whole_order``); when only some lines were cancelled the rest stays open, and the next import shows
    the marketplace's view. ``status`` is the outcome (``accepted``, ``rejected`` with the marketplace's ``message``,
    or ``pending``: the marketplace still decides, and asking again learns the outcome). Each step is in the audit
    log; ``by`` is who asked (a user's e-mail address), as the stock ledger names them.
    """
    plan = plan_cancellation(host, order_ref, reason, app)
    order, app_row, chosen, whole = plan["order"], plan["app"], plan["reason"], plan["whole_order"]
    lines = [(line["line_id"], line["quantity"]) for line in plan["lines"]]
    oid = order["marketplace_order_id"]
    cancellation = Cancellation(marketplace_order_id=oid, lines=lines, reason=chosen)
    shown = plan["lines"]
    with host.db.atomic():
        installed.audit(host, app_row, "order_cancel_sent", order=oid, reason=chosen, lines=lines, by=by)
    try:
        with installed.run(host, app_row, lock="cancel") as ctx:
            outcome = host.registry.cancel_order(app_row.kind, ctx, cancellation)
    except Exception as exc:  # recorded, then raised as it came: the marketplace may have cancelled
        with host.db.atomic():
            installed.audit(host, app_row, "order_cancel_failed", order=oid, error=f"{type(exc).__name__}: {exc}")
        raise
    result = {
        "app": app_row.name,
        "order": oid,
        "status": outcome.status,
        "message": outcome.message,
        "retryable": outcome.retryable,
        "reason": chosen,
        "lines": shown,
        "whole_order": whole,
    }
    with host.db.atomic():
        if outcome.status != "accepted":
            installed.audit(
                host,
                app_row,
                f"order_cancel_{outcome.status}",
                order=oid,
                message=outcome.message,
                retryable=outcome.retryable,
            )
            return result
        installed.require_present(host, app_row.id, app_row.name)
        if whole:
            _cancel_locally(host, order["id"])
        else:  # the lines cancelled hold nothing from now on; the rest of the order goes on
            host.db.conn.executemany(
                "UPDATE order_lines SET quantity_cancelled = MIN(quantity_ordered - COALESCE(quantity_shipped, 0), "
                "quantity_cancelled + ?) WHERE order_id = ? AND line_id = ?",
                [(quantity, order["id"], line_id) for line_id, quantity in lines],
            )
        reservations.settle_orders(host, app_row.id, [order["id"]], actor=by or "cancellation")
        event = "order_cancelled" if whole else "order_lines_cancelled"
        installed.audit(host, app_row, event, order=oid, reason=chosen, lines=lines)
    return result


def _cancel_locally(host: Host, order_id: int) -> None:
    """The order as the marketplace shows it once it accepted the cancellation (inside the caller's transaction)."""
    now = host.clock.now().isoformat(timespec="seconds")
    status, marketplace_status = host.db.execute(
        "SELECT status, marketplace_status FROM orders WHERE id = ?", (order_id,)
    ).fetchone()
    if status == "cancelled":
        return  # an import saw it cancelled meanwhile
    host.db.execute("UPDATE orders SET status = 'cancelled', changed_at = ? WHERE id = ?", (now, order_id))
    host.db.execute(
        "INSERT INTO order_status_history (order_id, status, marketplace_status, marketplace_updated_at, "
        "recorded_at) VALUES (?, 'cancelled', ?, ?, ?)",
        (order_id, marketplace_status, now, now),
    )


def start_over(host: Host, app_id: int) -> None:
    """The app covers another marketplace now: its next import is a first one there (inside the caller's
    transaction). Orders already imported stay; an order imported again is updated, never doubled."""
    host.db.execute("DELETE FROM sync_cursors WHERE app_id = ?", (app_id,))


def take_over(host: Host, from_app_id: int, to_app_id: int) -> int:
    """Move the orders of a removed app to the app installed again in its place, but those the new app already has
    (inside the caller's transaction); returns how many moved. Lines and history follow their order."""
    return host.db.execute(
        "UPDATE orders SET app_id = ? WHERE app_id = ? AND marketplace_order_id NOT IN "
        "(SELECT marketplace_order_id FROM orders WHERE app_id = ?)",
        (to_app_id, from_app_id, to_app_id),
    ).rowcount


def forget_app(host: Host, app_id: int, purge: bool) -> None:
    """An app is removed: its cursor goes (inside the caller's transaction); its orders too with ``purge``."""
    host.db.execute("DELETE FROM sync_cursors WHERE app_id = ?", (app_id,))
    host.db.execute("DELETE FROM import_runs WHERE app_id = ?", (app_id,))
    if purge:
        order_ids = "SELECT id FROM orders WHERE app_id = ?"
        host.db.execute(f"DELETE FROM order_lines WHERE order_id IN ({order_ids})", (app_id,))
        host.db.execute(f"DELETE FROM order_status_history WHERE order_id IN ({order_ids})", (app_id,))
        host.db.execute("DELETE FROM orders WHERE app_id = ?", (app_id,))
