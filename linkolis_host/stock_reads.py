"""Stock as the marketplaces show it, next to what the host offers: ``stock verify`` (every SKU of an app) and
``stock show`` (one SKU: why it is what it is, app by app, with its ledger and the open orders that reserve it).

Reads only, but for a SKU ``verify`` finds listed again, which it makes due (``stock``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from . import installed, ledger, workspaces
from .errors import Action, LinkolisError, UserError
from .host import Host
from .installed import App, require_authorized
from .stock import (
    OFFERED,
    OUTCOME_SHOWN,
    check_sku,
    due_params,
    offer_limits,
    offered,
    references,
    send_again,
)


def verify_stock(host: Host, app: App | str) -> list[dict[str, Any]]:
    """Read back what the marketplace shows and compare with what the app is offered and was last pushed.

    A marketplace lowers its own quantity when an order is placed, before the host has imported the order: a
    quantity shown lower than the one last pushed is "lowered by the marketplace" (an order not imported yet, or a
    change made there), not drift; once the order is imported the app is offered as much and shows it.
    """
    app = installed.get(host, app)
    require_authorized(app)
    desired = {
        r["sku"]: r
        for r in host.db.query(
            f"SELECT d.sku, {OFFERED} AS available, p.pushed_quantity, p.pushed_at, p.attempt_quantity, p.outcome, "
            "p.message FROM desired_stock d LEFT JOIN stock_pushes p ON p.app_id = :app AND p.sku = d.sku "
            "WHERE d.workspace_id = :workspace",
            {**due_params(host, app), "workspace": app.workspace_id},
        )
    }
    refs = references(host, app.id)
    back = {ref: sku for sku, ref in refs.items()}
    with installed.run(host, app) as ctx:
        levels = [
            level.model_copy(update={"sku": back[level.sku]}) if level.sku in back else level
            for level in host.registry.read_stock(app.kind, ctx, [refs.get(s, s) for s in sorted(desired)] or None)
        ]
    # The listings were just read: a SKU once not listed here that now is goes out on the next push.
    relisted = [
        level.sku for level in levels if level.found and (desired.get(level.sku) or {}).get("outcome") == "not_listed"
    ]
    if relisted:
        send_again(host, app, relisted, "listed here now: sent on the next push")
        for sku in relisted:
            desired[sku]["outcome"] = "recheck"
    now = host.clock.now()
    report = []
    for level in levels:
        want = desired.get(level.sku)
        entry = {
            "sku": level.sku,
            "available": want and want["available"],
            "pushed": want and want["pushed_quantity"],
            "shown": level.quantity,
            "fulfilled_by": level.fulfilled_by,
            "detail": level.detail,
            "warning": level.warning,
        }
        if not level.found:
            entry["state"] = "not listed"
        elif want is not None and want["outcome"] == "recheck":
            entry["state"] = "push pending"
        elif level.fulfilled_by == "marketplace":
            entry["state"] = "fulfilled by the marketplace"
        elif want is None:
            entry["state"] = "no stock level"
        elif want["available"] is None:
            entry["state"] = "not counted"
        elif level.quantity == want["available"]:
            entry["state"] = "in sync"
        elif want["outcome"] == "rejected" and want["attempt_quantity"] == want["available"]:
            entry["state"] = f"rejected: {want['message']}"
        elif want["outcome"] in ("pending", "sending") or want["pushed_quantity"] != want["available"]:
            entry["state"] = "push pending"
        elif _within_delay(want["pushed_at"], now, level.publication_delay):
            entry["state"] = "accepted, not yet visible"
        elif level.quantity is not None and level.quantity < want["pushed_quantity"]:
            entry["state"] = "lowered by the marketplace"
        else:
            entry["state"] = "drift"
        report.append(entry)
    return report


def _within_delay(pushed_at: str | None, now: datetime, delay: float) -> bool:
    """Whether a quantity accepted at ``pushed_at`` may still be on its way to the marketplace's pages."""
    if not pushed_at or delay <= 0:
        return False
    at = datetime.fromisoformat(pushed_at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return (now - at).total_seconds() < delay


def show_stock(host: Host, sku: str, read: bool = True) -> dict[str, Any]:
    """Why a SKU is what it is: on hand and when it was counted, reserved and by which open orders, and per app
    with stock sync on its buffer and cap, what it is offered, what was last pushed and (``read``: asking the
    marketplace now) what it shows; and the SKU's ledger, newest first."""
    sku = check_sku(sku)
    workspace_id = workspaces.current_id(host)
    level = host.db.execute(
        "SELECT quantity, reserved, counted_at FROM desired_stock WHERE workspace_id = ? AND sku = ?",
        (workspace_id, sku),
    ).fetchone()
    if level is None:
        raise UserError(
            f"no SKU {sku!r}: set its stock first",
            code="no_sku",
            param=sku,
            action=Action.SET_STOCK,
            values={"sku": sku},
        )
    on_hand, reserved, counted_at = level
    per_app = []
    for app in installed.list_apps(host):
        if not host.app_info(app).settings.stock_sync:
            continue
        buffer, cap = offer_limits(host, app)
        pushed = host.db.execute(
            "SELECT pushed_quantity, pushed_at, attempt_quantity, outcome, message FROM stock_pushes "
            "WHERE app_id = ? AND sku = ?",
            (app.id, sku),
        ).fetchone()
        entry: dict[str, Any] = {
            "app": app.name,
            "buffer": buffer,
            "max": cap,
            "available": None if on_hand is None else offered(on_hand, reserved, buffer, cap),
            "pushed": pushed[0] if pushed else None,
            "pushed_at": pushed[1] if pushed else None,
            "outcome": (OUTCOME_SHOWN.get(pushed[3], pushed[3]) if pushed else "not pushed"),
            "message": pushed[4] if pushed else "",
            "shown": None,
            "shown_detail": "",
        }
        if read and app.authorized and host.registry.implements(app.kind, "read_stock"):
            entry.update(_shown(host, app, sku))
        per_app.append(entry)
    return {
        "sku": sku,
        "on_hand": on_hand,
        "counted_at": counted_at,
        "reserved": reserved,
        "available": None if on_hand is None else max(0, on_hand - reserved),
        "reserved_by": reservations_of(host, workspace_id, sku),
        "apps": per_app,
        "history": ledger.history(host, workspace_id, sku),
    }


def reservations_of(host: Host, workspace_id: int, sku: str) -> list[dict[str, Any]]:
    """The open orders that reserve the SKU now: app, order (the host's id and the marketplace's), units."""
    return list(
        host.db.query(
            "SELECT a.name AS app, o.id AS order_id, o.marketplace_order_id, o.status, o.created_at, "
            "SUM(s.reserved) AS reserved FROM line_stock s JOIN orders o ON o.id = s.order_id "
            "JOIN apps a ON a.id = o.app_id WHERE s.workspace_id = ? AND s.sku = ? AND s.reserved > 0 "
            "GROUP BY o.id ORDER BY o.created_at, o.id",
            [workspace_id, sku],
        )
    )


def _shown(host: Host, app: App, sku: str) -> dict[str, Any]:
    """What the app's marketplace shows of the SKU now, or why that could not be read."""
    reference = references(host, app.id).get(sku, sku)
    try:
        with installed.run(host, app) as ctx:
            levels = list(host.registry.read_stock(app.kind, ctx, [reference]))
    except LinkolisError as exc:
        return {"shown": None, "shown_detail": f"could not be read: {exc}"}
    level = next((lv for lv in levels if lv.sku == reference), None)
    if level is None or not level.found:
        return {"shown": None, "shown_detail": "not listed here"}
    return {"shown": level.quantity, "shown_detail": level.detail}
