"""Orders: each batch a plugin yields is stored with the cursor after it in one transaction.

An order is keyed by (app, marketplace order id): importing it again updates it and records a status change, never
a duplicate; an older view of an order (from an overlapping window) never overwrites a newer one. A crash loses
nothing and repeats nothing: the next import resumes from the last committed cursor.

Each import remembers when it ended and the quota that paces the app's imports: of the operations it called, the
one slowest to refill (Amazon's searchOrders, a token every 178.6 s). ``next_import`` tells a seller who asks for
an import now whether one is running or when the next can go, so a button pressed again and again never empties
the quota the scheduled imports live on.

Owns the tables ``orders``, ``order_lines``, ``order_status_history``, ``sync_cursors`` and ``import_runs``.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import installed, locks, store, workspaces
from .context import Context, Progress
from .errors import LinkolisError, UserError
from .host import Host
from .installed import App
from .models import Order, RateLimit

ORDERS_STREAM = "orders"


def require_authorized(app: App) -> None:
    if not app.authorized:
        raise UserError(f"{app.name!r} is not authorized yet: run `linkolis apps authorize {app.name!r}`")


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
            t(line.unit_price),
            t(line.subtotal),
            t(line.tax),
            t(line.shipping),
            t(line.shipping_tax),
            t(line.discount),
            t(line.total),
        )
        for line in order.lines
    ]


def store_orders(host: Host, app_id: int, orders: list[Order]) -> dict[str, int]:
    """Upsert ``orders`` for the app (inside the caller's transaction); count new, updated, unchanged."""
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
    for order in unique.values():
        updated_at = order.updated_at.isoformat()
        values = (
            order.marketplace,
            order.status.value,
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
            order_id = db.conn.execute(
                "INSERT INTO orders (app_id, marketplace_order_id, marketplace, status, marketplace_status, "
                "fulfilled_by, created_at, updated_at, currency, total, buyer, recipient, line_count, "
                "seller_order_id, programs, original_order_id, original_order_relation, imported_at, changed_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
                (app_id, order.marketplace_order_id, *values, now, now),
            ).fetchone()[0]
            counts["new"] += 1
            history.append((order_id, order.status.value, order.marketplace_status, updated_at, now))
        else:
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
            if old_marketplace_status != order.marketplace_status:
                history.append((order_id, order.status.value, order.marketplace_status, updated_at, now))
        lines.extend(_line_rows(order_id, order))
    if replaced:
        db.conn.executemany("DELETE FROM order_lines WHERE order_id = ?", replaced)
    if lines:
        db.conn.executemany(
            "INSERT INTO order_lines (order_id, line_id, sku, product_id, title, quantity_ordered, "
            f"quantity_shipped, {', '.join(LINE_MONEY)}) VALUES ({','.join('?' * (7 + len(LINE_MONEY)))})",
            lines,
        )
    if history:
        db.conn.executemany(
            "INSERT INTO order_status_history (order_id, status, marketplace_status, marketplace_updated_at, "
            "recorded_at) VALUES (?,?,?,?,?)",
            history,
        )
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
    try:
        with host.db.atomic():
            host.db.execute(
                "INSERT OR REPLACE INTO import_runs (app_id, finished_at, pace, bucket, quota) VALUES (?, ?, ?, ?, ?)",
                (app.id, host.clock.time(), pace, ctx.http.bucket_of(operation), limit.model_dump_json()),
            )
    except (sqlite3.Error, LinkolisError):  # a courtesy to the next "Import now": never what ends an import
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
    if locks.is_held(host.home, app.id, "import"):
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


def list_orders(
    host: Host,
    app: App | str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
    search: str | None = None,
) -> list[dict]:
    """The workspace's orders (or one app's), newest first: ``limit`` of them after skipping ``offset``; ``search``
    keeps those whose marketplace order id or seller's order id contains it."""
    where, params = ["a.workspace_id = ?"], [workspaces.current_id(host)]
    if search:
        pattern = "%" + search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append("(o.marketplace_order_id LIKE ? ESCAPE '\\' OR o.seller_order_id LIKE ? ESCAPE '\\')")
        params += [pattern, pattern]
    if app:
        where.append("o.app_id = ?")
        params.append(installed.get(host, app).id)
    if status:
        where.append("o.status = ?")
        params.append(status)
    sql = (
        "SELECT o.id, a.name AS app, o.marketplace_order_id, o.marketplace, o.status, o.marketplace_status, "
        "o.fulfilled_by, o.created_at, o.updated_at, o.currency, o.total, o.line_count, o.seller_order_id "
        "FROM orders o "
        f"JOIN apps a ON a.id = o.app_id WHERE {' AND '.join(where)} ORDER BY o.created_at DESC, o.id DESC "
        "LIMIT ? OFFSET ?"
    )
    return list(host.db.query(sql, [*params, limit, max(0, offset)]))


def get_order(host: Host, order_ref: str) -> dict[str, Any]:
    """An order of the host's workspace by the host's id or the marketplace's order id, with its lines and status
    history (another workspace's order is "no order", whichever id is given).

    Money is given as decimal strings in the order's currency, ``None`` where the marketplace did not say (the
    lines' meanings are those of ``OrderLine``).
    """
    rows = list(
        host.db.query(
            "SELECT o.*, a.name AS app FROM orders o JOIN apps a ON a.id = o.app_id "
            "WHERE a.workspace_id = ? AND (o.marketplace_order_id = ? OR CAST(o.id AS TEXT) = ?)",
            [workspaces.current_id(host), order_ref, order_ref],
        )
    )
    if not rows:
        raise UserError(f"no order {order_ref!r}; `linkolis orders list` shows what was imported")
    order = rows[0]
    order["programs"] = store.loads(order["programs"], [])
    order["buyer"] = store.loads(order["buyer"])
    order["recipient"] = store.loads(order["recipient"])
    # Not line_total: an old row's line_total meant proceeds or unit x quantity, whichever Amazon had sent.
    order["lines"] = list(
        host.db.query(
            "SELECT line_id, sku, product_id, title, quantity_ordered, quantity_shipped, "
            f"{', '.join(LINE_MONEY)} FROM order_lines WHERE order_id = ? ORDER BY line_id",
            [order["id"]],
        )
    )
    order["history"] = list(
        host.db.query(
            "SELECT status, marketplace_status, marketplace_updated_at, recorded_at FROM order_status_history "
            "WHERE order_id = ? ORDER BY id",
            [order["id"]],
        )
    )
    return order


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
