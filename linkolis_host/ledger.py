"""The stock ledger: every change of a SKU's on hand or of what is reserved of it, with its cause.

A line says what changed (``on_hand_change``, ``reserved_change``), what the SKU had after it (``on_hand``,
``reserved``), why (``cause``, one of ``CAUSES``), who (``actor``: a user's e-mail address, ``cli``, ``import``) and,
for an order's doing, which app and order. Lines are written in the transaction that makes the change, so the
ledger and the levels never disagree; it answers "why is it 3?" (``stock show``).

Owns the table ``stock_ledger``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .host import Host

# What a ledger line can be about: the seller counted (set or loaded) on hand; an order reserved units, released
# them (cancelled, no longer open), or shipped them (off on hand and out of the reservation; ``shipped_uncounted``
# when the shipment came before the SKU was last counted, so on hand already left them out); the loop began with
# orders open (``migrated``).
CAUSES = ("counted", "loaded", "reserved", "released", "shipped", "shipped_uncounted", "migrated")


@dataclass(frozen=True)
class Entry:
    workspace_id: int
    sku: str
    cause: str
    on_hand_change: int = 0
    reserved_change: int = 0
    on_hand: int | None = None
    reserved: int = 0
    actor: str | None = None
    app_id: int | None = None
    order_id: int | None = None
    detail: str = ""


INSERT = (
    "INSERT INTO stock_ledger (workspace_id, sku, at, cause, on_hand_change, reserved_change, on_hand, reserved, "
    "actor, app_id, order_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def record(host: Host, entries: list[Entry]) -> None:
    """Write ``entries`` (inside the caller's transaction, the one that made the changes)."""
    if not entries:
        return
    at = host.clock.now().isoformat(timespec="seconds")
    host.db.conn.executemany(
        INSERT,
        [
            (
                e.workspace_id,
                e.sku,
                at,
                e.cause,
                e.on_hand_change,
                e.reserved_change,
                e.on_hand,
                e.reserved,
                e.actor,
                e.app_id,
                e.order_id,
                e.detail,
            )
            for e in entries
        ],
    )


def record_lines(host: Host, lines: list[tuple]) -> None:
    """Write lines already in ``INSERT``'s order of columns (the hot path of an import: no ``Entry`` each)."""
    if lines:
        host.db.conn.executemany(INSERT, lines)


def history(host: Host, workspace_id: int, sku: str, limit: int = 100) -> list[dict[str, Any]]:
    """The SKU's ledger, newest first, with the app's name and the order's marketplace id where there is one."""
    return list(
        host.db.query(
            "SELECT l.id, l.at, l.cause, l.on_hand_change, l.reserved_change, l.on_hand, l.reserved, l.actor, "
            "l.detail, a.name AS app, o.marketplace_order_id AS order_ref, l.order_id "
            "FROM stock_ledger l LEFT JOIN apps a ON a.id = l.app_id LEFT JOIN orders o ON o.id = l.order_id "
            "WHERE l.workspace_id = ? AND l.sku = ? ORDER BY l.id DESC LIMIT ?",
            [workspace_id, sku, limit],
        )
    )
