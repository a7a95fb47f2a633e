"""Stock as the marketplaces show it, next to what the host offers: ``stock verify`` (every SKU of an app) and
``stock show`` (one SKU: why it is what it is, app by app, with its ledger and the open orders that reserve it).

And the stock list a page at a time (``stock_page``), filtered by SKU and by state, each page through an index.

Reads only, but for a SKU ``verify`` finds listed again, which it makes due (``stock``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import installed, ledger, workspaces
from .errors import Action, LinkolisError, UserError
from .host import Host
from .installed import App, require_authorized
from .stock import (
    AVAILABLE,
    OFFERED,
    OUTCOME_SHOWN,
    check_sku,
    due_params,
    list_stock,
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
            "GROUP BY o.id, a.name ORDER BY o.created_at, o.id",
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


# -- the stock list a page at a time ------------------------------------------------------------------------------

# The states the stock list is filtered by: a SKU an app with stock sync does not list (``not_listed``), refused
# (``rejected``), or whose offered quantity the app has not accepted yet (``drift``: never sent, on its way, or
# refused: what the marketplace shows is not what the app is offered, as far as the host knows).
STOCK_STATES = ("not_listed", "rejected", "drift")
# Drift is per SKU and app, of the app's buffer and cap: no index holds it. A page reads at most this many SKUs in
# SKU order looking for it; one that found fewer than it shows goes on from where it stopped ("next").
DRIFT_WINDOW = 5000
LAST_CHARACTER = chr(0x10FFFF)  # a SKU that starts with a prefix sorts below the prefix followed by this


@dataclass(frozen=True)
class StockPage:
    """A page of the workspace's SKUs in SKU order: per SKU ``sku``, ``on_hand``, ``reserved``, ``apps`` (the
    rows of ``stock.list_stock`` for it, one per app with stock sync on; none without such apps) and ``listed`` (its
    rows of ``stock.list_stock``, with the one of no app when no app has stock sync on); and the keys of
    the pages beside it (None: there is none), opaque text to hand back as ``after`` (``next``) or ``before``."""

    rows: list[dict[str, Any]]
    next: str | None
    previous: str | None


def sku_key(sku: str) -> str:
    """The page key that starts a page after ``sku`` (``after``) or ends one before it (``before``)."""
    return base64.urlsafe_b64encode(sku.encode()).decode().rstrip("=")


def _sku_of(key: str | None) -> str | None:
    if not key:
        return None
    try:
        return base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None


class _Picker:
    """Which SKUs of the workspace a page shows: those starting with ``prefix`` and in ``state``, in SKU order from
    a position, each way; every read is a walk of an index from the position."""

    def __init__(self, host: Host, prefix: str, state: str | None) -> None:
        self.host, self.prefix, self.state = host, prefix, state
        self.workspace_id = workspaces.current_id(host)
        self.apps = [a for a in installed.list_apps(host) if host.app_info(a).settings.stock_sync]

    def _range(self, column: str, position: str | None, forward: bool) -> tuple[str, list[Any]]:
        where, params = "", []
        if self.prefix:
            where += f" AND {column} >= ? AND {column} < ?"
            params += [self.prefix, self.prefix + LAST_CHARACTER]
        if position is not None:
            where += f" AND {column} {'>' if forward else '<'} ?"
            params.append(position)
        return where, params

    def pick(self, position: str | None, forward: bool, count: int) -> tuple[list[str], str | None]:
        """Up to ``count`` SKUs past ``position`` (in SKU order), and where the next read that way would start
        (None: nothing more that way)."""
        direction = "ASC" if forward else "DESC"
        if self.state == "drift":
            found, last = self._drifting(position, forward, count + 1)
        elif self.state in ("not_listed", "rejected"):
            if not self.apps:
                return [], None
            per_app, params = [], []
            for app in self.apps:
                where, extra = self._range("sku", position, forward)
                per_app.append(
                    f"SELECT * FROM (SELECT sku FROM stock_pushes WHERE app_id = ? AND outcome = '{self.state}'"
                    f"{where} ORDER BY sku {direction} LIMIT ?) AS per_app"
                )
                params += [app.id, *extra, count + 1]
            sql = f"SELECT sku FROM ({' UNION '.join(per_app)}) AS merged ORDER BY sku {direction} LIMIT ?"
            found, last = [r[0] for r in self.host.db.execute(sql, [*params, count + 1])], None
        else:
            where, params = self._range("sku", position, forward)
            found, last = (
                [
                    r[0]
                    for r in self.host.db.execute(
                        f"SELECT sku FROM desired_stock WHERE workspace_id = ?{where} ORDER BY sku {direction} LIMIT ?",
                        [self.workspace_id, *params, count + 1],
                    )
                ],
                None,
            )
        if len(found) > count:
            found = found[:count]
            last = found[-1]
        return (found if forward else found[::-1]), last

    def _drifting(self, position: str | None, forward: bool, count: int) -> tuple[list[str], str | None]:
        """Up to ``count`` SKUs in drift for an app, of at most ``DRIFT_WINDOW`` read; and the last SKU read when
        the window ended before the count was found."""
        if not self.apps:
            return [], None
        joins, drift, params = [], [], {"workspace": self.workspace_id}
        for n, app in enumerate(self.apps):
            buffer, cap = offer_limits(self.host, app)
            params.update({f"app{n}": app.id, f"buffer{n}": buffer, f"cap{n}": cap})
            joins.append(f"LEFT JOIN stock_pushes p{n} ON p{n}.app_id = :app{n} AND p{n}.sku = d.sku")
            offered_sql = AVAILABLE.replace(":cap", f":cap{n}").replace(":buffer", f":buffer{n}")
            drift.append(f"(COALESCE(p{n}.outcome, '') != 'not_listed' AND p{n}.pushed_quantity IS NOT {offered_sql})")
        where, extra = self._range("d.sku", position, forward)
        for n, value in enumerate(extra):
            where = where.replace("?", f":range{n}", 1)
            params[f"range{n}"] = value
        direction = "ASC" if forward else "DESC"
        rows = self.host.db.execute(
            f"SELECT d.sku, d.quantity IS NOT NULL AND ({' OR '.join(drift)}) FROM desired_stock d {' '.join(joins)} "
            f"WHERE d.workspace_id = :workspace{where} ORDER BY d.sku {direction} LIMIT {DRIFT_WINDOW}",
            params,
        ).fetchall()
        found = [sku for sku, drifting in rows if drifting][:count]
        stopped = rows[-1][0] if len(rows) == DRIFT_WINDOW and len(found) < count else None
        return found, stopped


def stock_page(
    host: Host,
    sku: str | None = None,
    state: str | None = None,
    after: str | None = None,
    before: str | None = None,
    limit: int = 50,
) -> StockPage:
    """A page of the workspace's SKUs in SKU order, as ``StockPage`` says: the first, the one after the key
    ``after`` or the one before the key ``before``; of the SKUs that start with ``sku`` (when given) and are in
    ``state`` (one of ``STOCK_STATES``) for an app with stock sync on. A page reads the SKUs it shows, through an
    index (drift: at most ``DRIFT_WINDOW`` SKUs, and a page may then show fewer, with the key to go on)."""
    if state is not None and state not in STOCK_STATES:
        raise UserError(f"{state!r} is not a stock state (states: {', '.join(STOCK_STATES)})")
    picker = _Picker(host, (sku or "").strip(), state)
    backwards = before is not None and after is None
    position = _sku_of(before if backwards else after)
    skus: list[str] = []
    if backwards and position is not None:
        skus, went_on = picker.pick(position, False, limit)
        if went_on is not None:  # a full page before the key, and maybe more beyond it
            return _stock_rows(host, skus, previous=sku_key(went_on), next=sku_key(skus[-1]) if skus else None)
        position = None  # less than a page before the key: the first page
    skus, went_on = picker.pick(position, True, limit)
    previous = None
    if position is not None:  # anything before this page?
        before_skus, before_more = picker.pick(skus[0] if skus else position, False, 1)
        previous = sku_key(skus[0] if skus else position) if before_skus or before_more else None
    return _stock_rows(host, skus, previous=previous, next=None if went_on is None else sku_key(went_on))


def _stock_rows(host: Host, skus: list[str], previous: str | None, next: str | None) -> StockPage:
    by_sku: dict[str, dict[str, Any]] = {}
    for row in list_stock(host, skus=skus) if skus else []:
        entry = by_sku.setdefault(
            row["sku"], {"sku": row["sku"], "on_hand": row["on_hand"], "reserved": row["reserved"], "apps": []}
        )
        entry.setdefault("listed", []).append(row)
        if row["app"]:
            entry["apps"].append(row)
    return StockPage(rows=[by_sku[s] for s in skus if s in by_sku], next=next, previous=previous)
