"""The host's sqlite database and its migrations.

One file, ``$LINKOLIS_HOME/linkolis.db``. Migrations are named steps of ``sqlite_utils.Migrations``: never edit
one that has run; add the next.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any, Iterator

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

DB_FILE = "linkolis.db"

migrations = Migrations("linkolis_host")


@migrations()
def m001_apps(db: Database) -> None:
    db["apps"].create(
        {
            "id": int, "name": str, "name_key": str, "kind": str, "settings": str, "status": str,
            "attention_reason": str, "account_id": str, "authorization_scope": str, "account_scope": str,
            "authorized_at": str, "authorization_expires_at": str, "verified_at": str,
            "last_import_at": str, "last_push_at": str, "created_at": str, "updated_at": str,
        },
        pk="id", not_null={"name", "name_key", "kind", "settings", "status"},
    )
    db["apps"].create_index(["name_key"], unique=True)
    db["credentials"].create(
        {"app_id": int, "ciphertext": str, "fields": str, "updated_at": str},
        pk="app_id", foreign_keys=[("app_id", "apps", "id")],
    )
    db["oauth_states"].create(
        {"state_hash": str, "app_id": int, "redirect_uri": str, "created_at": float, "expires_at": float,
         "used_at": float},
        pk="state_hash",
    )
    db["audit_log"].create(
        {"id": int, "app_id": int, "app_name": str, "event": str, "detail": str, "at": str}, pk="id",
    )
    db["plugin_state"].create({"app_id": int, "key": str, "value": str}, pk=("app_id", "key"))
    db["sync_cursors"].create(
        {"app_id": int, "stream": str, "cursor": str, "updated_at": str}, pk=("app_id", "stream"),
    )
    db["rate_buckets"].create({"key": str, "tokens": float, "updated_at": float}, pk="key")


@migrations()
def m002_orders(db: Database) -> None:
    db["orders"].create(
        {
            "id": int, "app_id": int, "marketplace_order_id": str, "marketplace": str, "status": str,
            "marketplace_status": str, "fulfilled_by": str, "created_at": str, "updated_at": str,
            "currency": str, "total": str, "buyer": str, "recipient": str, "line_count": int,
            "imported_at": str, "changed_at": str,
        },
        pk="id", not_null={"app_id", "marketplace_order_id", "status"},
    )
    db["orders"].create_index(["app_id", "marketplace_order_id"], unique=True)
    db["orders"].create_index(["app_id", "status"])
    db["order_lines"].create(
        {
            "order_id": int, "line_id": str, "sku": str, "product_id": str, "title": str,
            "quantity_ordered": int, "quantity_shipped": int, "unit_price": str, "line_total": str,
        },
        pk=("order_id", "line_id"),
    )
    db["order_status_history"].create(
        {"id": int, "order_id": int, "status": str, "marketplace_status": str, "marketplace_updated_at": str,
         "recorded_at": str},
        pk="id",
    )
    db["order_status_history"].create_index(["order_id"])


@migrations()
def m003_stock(db: Database) -> None:
    # version: a host-wide sequence, so "newer desired quantity" never depends on clock resolution.
    db["desired_stock"].create({"sku": str, "quantity": int, "version": int, "updated_at": str}, pk="sku")
    db["stock_pushes"].create(
        {
            "app_id": int, "sku": str,
            "pushed_quantity": int, "pushed_version": int, "pushed_at": str,
            "attempt_quantity": int, "attempt_version": int, "attempt_at": str,
            "outcome": str, "message": str, "retryable": int, "reference": str,
        },
        pk=("app_id", "sku"),
    )
    db["stock_pushes"].create_index(["app_id", "outcome"])


class HostDatabase(Database):
    """sqlite-utils' Database, whose outermost ``atomic()`` takes the write lock at once (``BEGIN IMMEDIATE``).

    With a plain ``BEGIN``, a transaction that reads before it writes (``Table.update`` does) fails at once with
    "database is locked", busy timeout or not, when another connection committed in between: in WAL mode a stale
    read snapshot cannot become a write. ``sync --watch`` imports and pushes on two connections at the same time.
    """

    @contextlib.contextmanager
    def atomic(self) -> Iterator["HostDatabase"]:
        if self.conn.in_transaction:
            with super().atomic():
                yield self
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                self.rollback()
                raise


def connect(path: Path | str) -> Database:
    """Open the database (creating it) and bring it up to date."""
    conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
    db = HostDatabase(conn)
    if str(path) != ":memory:":
        db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA busy_timeout=30000")
    db.execute("PRAGMA foreign_keys=ON")
    migrations.apply(db)
    return db


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def loads(text: str | None, default: Any = None) -> Any:
    return default if text is None else json.loads(text)


@migrations()
def m004_workspaces_users(db: Database) -> None:
    # A workspace is one seller business; a user signs in to exactly one. Owned by ``workspaces.py``.
    db["workspaces"].create({"id": int, "name": str, "name_key": str, "created_at": str}, pk="id",
                            not_null={"name", "name_key"})
    db["workspaces"].create_index(["name_key"], unique=True)
    db["users"].create(
        {"id": int, "email": str, "email_key": str, "password_hash": str, "workspace_id": int, "language": str,
         "created_at": str},
        pk="id", not_null={"email", "email_key", "password_hash", "workspace_id"},
        foreign_keys=[("workspace_id", "workspaces", "id")],
    )
    db["users"].create_index(["email_key"], unique=True)
