"""The host's database schema, as named steps of ``sqlite_utils.Migrations`` (``mNNN_what``), applied in order by
``store.connect``. Never edit one that has run; add the next.
"""

from __future__ import annotations

from decimal import Decimal

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("linkolis_host")


@migrations()
def m001_apps(db: Database) -> None:
    db["apps"].create(
        {
            "id": int,
            "name": str,
            "name_key": str,
            "kind": str,
            "settings": str,
            "status": str,
            "attention_reason": str,
            "account_id": str,
            "authorization_scope": str,
            "account_scope": str,
            "authorized_at": str,
            "authorization_expires_at": str,
            "verified_at": str,
            "last_import_at": str,
            "last_push_at": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        not_null={"name", "name_key", "kind", "settings", "status"},
    )
    db["apps"].create_index(["name_key"], unique=True)
    db["credentials"].create(
        {"app_id": int, "ciphertext": str, "fields": str, "updated_at": str},
        pk="app_id",
        foreign_keys=[("app_id", "apps", "id")],
    )
    db["oauth_states"].create(
        {
            "state_hash": str,
            "app_id": int,
            "redirect_uri": str,
            "created_at": float,
            "expires_at": float,
            "used_at": float,
        },
        pk="state_hash",
    )
    db["audit_log"].create(
        {"id": int, "app_id": int, "app_name": str, "event": str, "detail": str, "at": str},
        pk="id",
    )
    db["plugin_state"].create({"app_id": int, "key": str, "value": str}, pk=("app_id", "key"))
    db["sync_cursors"].create(
        {"app_id": int, "stream": str, "cursor": str, "updated_at": str},
        pk=("app_id", "stream"),
    )
    db["rate_buckets"].create({"key": str, "tokens": float, "updated_at": float}, pk="key")


@migrations()
def m002_orders(db: Database) -> None:
    db["orders"].create(
        {
            "id": int,
            "app_id": int,
            "marketplace_order_id": str,
            "marketplace": str,
            "status": str,
            "marketplace_status": str,
            "fulfilled_by": str,
            "created_at": str,
            "updated_at": str,
            "currency": str,
            "total": str,
            "buyer": str,
            "recipient": str,
            "line_count": int,
            "imported_at": str,
            "changed_at": str,
        },
        pk="id",
        not_null={"app_id", "marketplace_order_id", "status"},
    )
    db["orders"].create_index(["app_id", "marketplace_order_id"], unique=True)
    db["orders"].create_index(["app_id", "status"])
    db["order_lines"].create(
        {
            "order_id": int,
            "line_id": str,
            "sku": str,
            "product_id": str,
            "title": str,
            "quantity_ordered": int,
            "quantity_shipped": int,
            "unit_price": str,
            "line_total": str,
        },
        pk=("order_id", "line_id"),
    )
    db["order_status_history"].create(
        {
            "id": int,
            "order_id": int,
            "status": str,
            "marketplace_status": str,
            "marketplace_updated_at": str,
            "recorded_at": str,
        },
        pk="id",
    )
    db["order_status_history"].create_index(["order_id"])


@migrations()
def m003_stock(db: Database) -> None:
    # version: a host-wide sequence, so "newer desired quantity" never depends on clock resolution.
    db["desired_stock"].create({"sku": str, "quantity": int, "version": int, "updated_at": str}, pk="sku")
    db["stock_pushes"].create(
        {
            "app_id": int,
            "sku": str,
            "pushed_quantity": int,
            "pushed_version": int,
            "pushed_at": str,
            "attempt_quantity": int,
            "attempt_version": int,
            "attempt_at": str,
            "outcome": str,
            "message": str,
            "retryable": int,
            "reference": str,
        },
        pk=("app_id", "sku"),
    )
    db["stock_pushes"].create_index(["app_id", "outcome"])


@migrations()
def m004_order_line_money(db: Database) -> None:
    # Each amount gets a column of its own meaning. The old line_total stays in the table, unread: it was
    # Amazon's proceeds (tax and shipping included) when Amazon sent them and unit price x quantity otherwise, and
    # a row does not say which, so it cannot become the new total. The subtotal is known for every old row.
    for column in ("subtotal", "tax", "shipping", "shipping_tax", "discount", "total"):
        db["order_lines"].add_column(column, str)
    rows = db.execute(
        "SELECT rowid, unit_price, quantity_ordered FROM order_lines "
        "WHERE unit_price IS NOT NULL AND quantity_ordered IS NOT NULL"
    ).fetchall()
    db.conn.executemany(
        "UPDATE order_lines SET subtotal = ? WHERE rowid = ?",
        [(str(Decimal(unit) * quantity), rowid) for rowid, unit, quantity in rows],
    )


@migrations()
def m005_order_references(db: Database) -> None:
    # Columns rather than one JSON blob: a seller looks an order up by their own id and filters on programs or
    # replacements. The buyer's PO number and the new address parts live in the buyer and recipient JSON.
    for column in ("seller_order_id", "programs", "original_order_id", "original_order_relation"):
        db["orders"].add_column(column, str)
    db["orders"].create_index(["app_id", "seller_order_id"])


@migrations()
def m006_stock_warning(db: Database) -> None:
    # What the marketplace says is wrong with a listing (suppressed, removed), whatever became of the quantity.
    db["stock_pushes"].add_column("warning", str, not_null_default="")


@migrations()
def m007_workspaces_users(db: Database) -> None:
    # A workspace is one seller business; a user signs in to exactly one. Owned by ``workspaces.py``.
    db["workspaces"].create(
        {"id": int, "name": str, "name_key": str, "created_at": str}, pk="id", not_null={"name", "name_key"}
    )
    db["workspaces"].create_index(["name_key"], unique=True)
    db["users"].create(
        {
            "id": int,
            "email": str,
            "email_key": str,
            "password_hash": str,
            "workspace_id": int,
            "language": str,
            "created_at": str,
        },
        pk="id",
        not_null={"email", "email_key", "password_hash", "workspace_id"},
        foreign_keys=[("workspace_id", "workspaces", "id")],
    )
    db["users"].create_index(["email_key"], unique=True)


@migrations()
def m008_oauth_state_origin(db: Database) -> None:
    # Who started an authorization: "web" (bound to a browser session) or "cli" (`linkolis apps authorize` waits
    # on the served callback; no session). The callback records how it ended, for the waiting command to read.
    db["oauth_states"].add_column("origin", str, not_null_default="web")
    db["oauth_states"].add_column("finished_at", float)
    db["oauth_states"].add_column("error", str)


@migrations()
def m009_workspace_data(db: Database) -> None:
    # Every app and every desired quantity belongs to a workspace; orders, pushes, cursors and plugin state belong
    # to an app and so to its workspace. What was there before workspaces moves into the only workspace, or into
    # one called "Default" (created when there is data and it does not exist).
    has_data = db.execute("SELECT EXISTS (SELECT 1 FROM apps) OR EXISTS (SELECT 1 FROM desired_stock)").fetchone()[0]
    spaces = db.execute("SELECT id FROM workspaces").fetchall()
    home = None
    if has_data:
        if len(spaces) == 1:
            home = spaces[0][0]
        else:
            db.execute(
                "INSERT OR IGNORE INTO workspaces (name, name_key, created_at) "
                "VALUES ('Default', 'default', strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'))"
            )
            home = db.execute("SELECT id FROM workspaces WHERE name_key = 'default'").fetchone()[0]
    db["apps"].add_column("workspace_id", int)
    db.execute("UPDATE apps SET workspace_id = ?", (home,))
    db["apps"].transform(not_null={"workspace_id"}, add_foreign_keys=[("workspace_id", "workspaces", "id")])
    db.execute("DROP INDEX IF EXISTS idx_apps_name_key")
    db["apps"].create_index(["workspace_id", "name_key"], unique=True)
    db["desired_stock"].add_column("workspace_id", int)
    db.execute("UPDATE desired_stock SET workspace_id = ?", (home,))
    db["desired_stock"].transform(
        pk=("workspace_id", "sku"),
        not_null={"workspace_id"},
        add_foreign_keys=[("workspace_id", "workspaces", "id")],
        column_order=["workspace_id", "sku"],
    )


@migrations()
def m010_shipments(db: Database) -> None:
    # The shipment outbox, owned by ``shipments.py``: one row per package of an order, sent to the marketplace once.
    db["shipments"].create(
        {
            "id": int,
            "app_id": int,
            "order_id": int,
            "marketplace_order_id": str,
            "package_reference": str,
            "lines": str,
            "carrier_code": str,
            "carrier_name": str,
            "tracking_number": str,
            "ship_date": str,
            "shipping_method": str,
            "status": str,
            "message": str,
            "retryable": int,
            "attempts": int,
            "created_at": str,
            "sent_at": str,
            "decided_at": str,
        },
        pk="id",
        not_null={
            "app_id",
            "order_id",
            "marketplace_order_id",
            "package_reference",
            "lines",
            "carrier_code",
            "tracking_number",
            "ship_date",
            "status",
        },
        defaults={"message": "", "retryable": 0, "attempts": 0},
    )
    db["shipments"].create_index(["app_id", "marketplace_order_id", "package_reference"], unique=True)
    db["shipments"].create_index(["app_id", "status"])
    db["shipments"].create_index(["order_id"])


@migrations()
def m011_stock_due_index(db: Database) -> None:
    # A push asks "anything newer than what was last found sent?" (MAX(version)) and "any row interrupted or
    # retryably rejected?" before the full due query: both answered from an index, at any number of SKUs.
    db["desired_stock"].create_index(["version"])
    db["stock_pushes"].create_index(["app_id", "outcome", "retryable"])


@migrations()
def m012_scheduler_state(db: Database) -> None:
    # What the scheduler of `sync --watch` is doing, per app and stream, so `sync status` in another process sees it.
    db["scheduler_state"].create(
        {
            "app_id": int,
            "stream": str,
            "app_name": str,
            "workspace_id": int,
            "state": str,
            "due_at": float,
            "last_error": str,
            "updated_at": float,
            "pid": int,
        },
        pk=("app_id", "stream"),
        defaults={"last_error": ""},
    )


@migrations()
def m013_sku_references(db: Database) -> None:
    # Owned by ``stock.py``: the seller's SKU goes to one app under another reference (a bol EAN, an old Amazon
    # SKU). One reference names one SKU per app; the workspace is the app's.
    db.execute(
        "CREATE TABLE sku_references (app_id INTEGER NOT NULL, sku TEXT NOT NULL, reference TEXT NOT NULL, "
        "PRIMARY KEY (app_id, sku), UNIQUE (app_id, reference))"
    )


@migrations()
def m014_work_by_state_index(db: Database) -> None:
    # The scheduler asks once a second, for all apps at once, which have stock rows interrupted, to send again or
    # pending, and which have shipments due: a seek per such app, whatever the number of apps and rows.
    db["stock_pushes"].create_index(["outcome", "app_id"])
    db["shipments"].create_index(["status", "app_id"])


@migrations()
def m015_rate_windows(db: Database) -> None:
    # Owned by ``ratelimit.py``: the moments reserved for the calls of a quota counted in a sliding window.
    db.execute("CREATE TABLE rate_windows (key TEXT NOT NULL, at REAL NOT NULL)")
    db.execute("CREATE INDEX rate_windows_key_at ON rate_windows (key, at)")


@migrations()
def m016_one_outcome_index(db: Database) -> None:
    # Three indexes held each SKU's outcome, (app_id, outcome), (app_id, outcome, retryable) and (outcome, app_id),
    # and recording an outcome rewrote all three. (outcome, app_id, retryable) serves every query they served,
    # the scheduler's seek per app included: 50,000 outcomes are recorded in 40% less time.
    db["stock_pushes"].create_index(["outcome", "app_id", "retryable"])
    for name in ("app_id_outcome", "app_id_outcome_retryable", "outcome_app_id"):
        db.execute(f"DROP INDEX idx_stock_pushes_{name}")


@migrations()
def m017_rate_reservations(db: Database) -> None:
    # Owned by ``ratelimit.py``. A token a caller waits for, with the process that waits (``owner``: the name of a
    # lock file it holds while it lives), so a token of a process killed while it waited is given back; and the
    # latest wall time any limiter read, so a clock set back is seen and the stored times moved back with it.
    db.execute(
        "CREATE TABLE rate_reservations (id INTEGER PRIMARY KEY, key TEXT NOT NULL, at REAL NOT NULL, "
        "pid INTEGER NOT NULL, owner TEXT NOT NULL, window_row INTEGER)"
    )
    db.execute("CREATE INDEX rate_reservations_key ON rate_reservations (key)")
    db.execute("CREATE TABLE rate_clock (id INTEGER PRIMARY KEY CHECK (id = 1), latest REAL NOT NULL)")


@migrations()
def m018_users_never_reused_and_sessions(db: Database) -> None:
    # A user's id was SQLite's rowid, handed out again once the highest one was deleted: a removed user's session
    # (which held only that id) opened the next user's workspace. AUTOINCREMENT never hands an id out twice.
    # ``session_generation`` ends every session of a user at once (sign-out, a new password); ``web_sessions``,
    # owned by ``sessions.py``, holds each signed-in browser's session server-side, by the hash of its token.
    db.execute(
        "CREATE TABLE users_new (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL, email_key TEXT NOT NULL, "
        "password_hash TEXT NOT NULL, workspace_id INTEGER NOT NULL REFERENCES workspaces(id), language TEXT, "
        "created_at TEXT, session_generation INTEGER NOT NULL DEFAULT 0)"
    )
    db.execute(
        "INSERT INTO users_new (id, email, email_key, password_hash, workspace_id, language, created_at) "
        "SELECT id, email, email_key, password_hash, workspace_id, language, created_at FROM users"
    )
    db.execute("DROP TABLE users")
    db.execute("ALTER TABLE users_new RENAME TO users")
    db.execute("CREATE UNIQUE INDEX idx_users_email_key ON users (email_key)")
    db.execute(
        "CREATE TABLE web_sessions (token_hash TEXT PRIMARY KEY, "
        "user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, generation INTEGER NOT NULL, "
        "started_at REAL NOT NULL, seen_at REAL NOT NULL)"
    )
    db.execute("CREATE INDEX web_sessions_user ON web_sessions (user_id)")
    db.execute("CREATE INDEX web_sessions_seen ON web_sessions (seen_at)")


@migrations()
def m019_import_runs(db: Database) -> None:
    # Owned by ``orders.py``: when each app's last import ended and the quota that paces its imports (the slowest
    # to refill of the operations it called), so a seller's "Import now" waits its turn instead of emptying it.
    db.execute(
        "CREATE TABLE import_runs (app_id INTEGER PRIMARY KEY, finished_at REAL NOT NULL, pace REAL NOT NULL, "
        "bucket TEXT, quota TEXT)"
    )


@migrations()
def m020_former_account(db: Database) -> None:
    # The account a removed app was connected to: an app installed again for the same account takes back the
    # orders the removed one kept, so they are listed once (``apps.remove`` clears ``account_id``).
    db["apps"].add_column("former_account_id", str)


@migrations()
def m021_stock_loop(db: Database) -> None:
    # Orders and stock as one loop. A desired quantity is from now on the SKU's on hand, counted (``counted_at``:
    # when); ``reserved`` is what open merchant-fulfilled orders hold of it (a row with no on hand, quantity NULL,
    # when orders reserve a SKU never counted). Owned by ``reservations.py``: ``line_stock``, per order line what it
    # reserves now, how many of its units are known shipped and how many of those it took off on hand. Owned by
    # ``ledger.py``: ``stock_ledger``, every change of on hand or of a reservation with its cause.
    db.execute("ALTER TABLE desired_stock ADD COLUMN reserved INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE desired_stock ADD COLUMN counted_at TEXT")
    db.execute("UPDATE desired_stock SET counted_at = updated_at")
    db.execute(
        "CREATE TABLE line_stock (order_id INTEGER NOT NULL, line_id TEXT NOT NULL, workspace_id INTEGER NOT NULL, "
        "sku TEXT NOT NULL, reserved INTEGER NOT NULL DEFAULT 0, shipped INTEGER NOT NULL DEFAULT 0, "
        "taken INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (order_id, line_id))"
    )
    db.execute("CREATE INDEX line_stock_reserving ON line_stock (workspace_id, sku) WHERE reserved > 0")
    db.execute(
        "CREATE TABLE stock_ledger (id INTEGER PRIMARY KEY, workspace_id INTEGER NOT NULL, sku TEXT NOT NULL, "
        "at TEXT NOT NULL, cause TEXT NOT NULL, on_hand_change INTEGER NOT NULL DEFAULT 0, "
        "reserved_change INTEGER NOT NULL DEFAULT 0, on_hand INTEGER, reserved INTEGER NOT NULL DEFAULT 0, "
        "actor TEXT, app_id INTEGER, order_id INTEGER, detail TEXT)"
    )
    db.execute("CREATE INDEX stock_ledger_sku ON stock_ledger (workspace_id, sku, id)")
    # The orders imported before, still open, reserve from now on; what they shipped is taken as counted out.
    db.execute(
        "INSERT INTO line_stock (order_id, line_id, workspace_id, sku, reserved, shipped, taken) "
        "SELECT l.order_id, l.line_id, a.workspace_id, COALESCE(r.sku, l.sku), "
        "MAX(0, l.quantity_ordered - COALESCE(l.quantity_shipped, 0)), COALESCE(l.quantity_shipped, 0), 0 "
        "FROM order_lines l JOIN orders o ON o.id = l.order_id JOIN apps a ON a.id = o.app_id "
        "LEFT JOIN sku_references r ON r.app_id = o.app_id AND r.reference = l.sku "
        "WHERE l.sku IS NOT NULL AND o.fulfilled_by = 'merchant' AND a.status != 'removed' "
        "AND o.status NOT IN ('shipped', 'cancelled', 'unfulfillable') "
        "AND l.quantity_ordered > COALESCE(l.quantity_shipped, 0)"
    )
    held = "SELECT workspace_id, sku, SUM(reserved) AS n FROM line_stock GROUP BY workspace_id, sku"
    db.execute(
        f"INSERT INTO desired_stock (workspace_id, sku, quantity, version, updated_at, reserved) "
        f"SELECT h.workspace_id, h.sku, NULL, 0, strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), 0 FROM ({held}) h "
        "WHERE NOT EXISTS (SELECT 1 FROM desired_stock d WHERE d.workspace_id = h.workspace_id AND d.sku = h.sku)"
    )
    db.execute(
        f"UPDATE desired_stock SET reserved = (SELECT n FROM ({held}) h "
        "WHERE h.workspace_id = desired_stock.workspace_id AND h.sku = desired_stock.sku) "
        "WHERE EXISTS (SELECT 1 FROM line_stock s WHERE s.workspace_id = desired_stock.workspace_id "
        "AND s.sku = desired_stock.sku)"
    )
    db.execute(
        "INSERT INTO stock_ledger (workspace_id, sku, at, cause, reserved_change, on_hand, reserved, detail) "
        "SELECT workspace_id, sku, strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), 'migrated', reserved, quantity, "
        "reserved, 'open orders imported before reservations began' FROM desired_stock WHERE reserved > 0"
    )


@migrations()
def m022_cancellation_requests(db: Database) -> None:
    # Owned by ``orders.py``: a buyer's request to cancel an order line, and the reason the marketplace gives, as
    # the last import saw them (bol's item ``cancellationRequest``, Amazon's item ``cancellation``).
    db.execute("ALTER TABLE order_lines ADD COLUMN cancellation_requested INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE order_lines ADD COLUMN cancellation_reason TEXT")


@migrations()
def m023_line_cancelled_quantity(db: Database) -> None:
    # The units of a line cancelled while the rest of the order goes on (bol cancels per item): they reserve nothing.
    db.execute("ALTER TABLE order_lines ADD COLUMN quantity_cancelled INTEGER NOT NULL DEFAULT 0")


@migrations()
def m024_pages_by_index(db: Database) -> None:
    # Every page reads what it shows, through an index, at a million orders and fifty thousand SKUs. Orders newest
    # first, a page after a key (no OFFSET scan), all of them or of one status; (app_id, status) is a prefix of
    # the second, so it goes. (A search by the start of an order id walks the (app_id, marketplace_order_id) and
    # (app_id, seller_order_id) indexes there are; a trigram table to find a part of an id cost a third more CPU on
    # every import, so there is none.) Owned by ``stock.py``: the SKUs a marketplace refused or does not list, per
    # app in SKU order (partial indexes: a SKU's row is in one only while its outcome is that one).
    db.execute("CREATE INDEX orders_newest ON orders (app_id, created_at, id)")
    db.execute("CREATE INDEX orders_status_newest ON orders (app_id, status, created_at, id)")
    db.execute("DROP INDEX IF EXISTS idx_orders_app_id_status")
    db.execute("CREATE INDEX stock_pushes_rejected ON stock_pushes (app_id, sku) WHERE outcome = 'rejected'")
    db.execute("CREATE INDEX stock_pushes_not_listed ON stock_pushes (app_id, sku) WHERE outcome = 'not_listed'")


@migrations()
def m025_workspace_time_zone(db: Database) -> None:
    # Owned by ``workspaces.py``: the IANA time zone the web writes the workspace's times in.
    db.execute("ALTER TABLE workspaces ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'Europe/Amsterdam'")


@migrations()
def m026_notifications(db: Database) -> None:
    # Owned by ``notifications.py``: the notifications handled from a marketplace's SQS queue (their ids, so that a
    # copy delivered again, even after a restart, is not handled twice; pruned when older than any copy can be)
    # and the messages set aside after failing their last try (with their body, so that none is lost).
    db.execute(
        "CREATE TABLE notifications (id INTEGER PRIMARY KEY, queue_url TEXT NOT NULL, notification_id TEXT, "
        "message_id TEXT NOT NULL, outcome TEXT NOT NULL, at TEXT NOT NULL, receives INTEGER NOT NULL, "
        "last_error TEXT, body TEXT)"
    )
    db.execute(
        "CREATE UNIQUE INDEX notifications_handled ON notifications (queue_url, notification_id) "
        "WHERE outcome = 'handled'"
    )
    db.execute("CREATE INDEX notifications_handled_at ON notifications (queue_url, at) WHERE outcome = 'handled'")
    db.execute(
        "CREATE UNIQUE INDEX notifications_set_aside ON notifications (queue_url, message_id) "
        "WHERE outcome = 'set_aside'"
    )


@migrations()
def m027_notified_apps(db: Database) -> None:
    # Owned by ``order_notifications.py``: per app, its subscription to its marketplace's order notifications (or
    # why subscribing failed), when its last notification came and the id its marketplace's notifications name its
    # account by when that is not the app's account id (bol's retailer id); per plugin, what its queue's reader last did
    # (``sync status`` and the web read both from any process).
    db.execute(
        "CREATE TABLE app_notifications (app_id INTEGER PRIMARY KEY REFERENCES apps(id), subscription TEXT, "
        "subscribed_at REAL, error TEXT, last_at REAL, received INTEGER NOT NULL DEFAULT 0, alias TEXT)"
    )
    db.execute("CREATE INDEX app_notifications_alias ON app_notifications (alias) WHERE alias IS NOT NULL")
    db.execute(
        "CREATE TABLE notification_readers (kind TEXT PRIMARY KEY, pid INTEGER NOT NULL, state TEXT NOT NULL, "
        "error TEXT, read_at REAL, updated_at REAL NOT NULL)"
    )
