"""Shipments: the packages a seller hands to a carrier, confirmed to the marketplace once each.

A shipment is one package of one imported order: the lines and quantities it carries, a carrier, a tracking number,
a ship date and an optional method. It is keyed by (app, order, package reference); the same order and tracking
number recorded again is the same shipment and changes nothing. Shipments of one order add up and never exceed
what was ordered (the stored order lines); a cancelled order or one the marketplace fulfils itself is refused when
the shipment is recorded, and a shipment not yet sent for an order seen cancelled since is refused, not sent.

Sending is an outbox: every shipment due is marked ``sending`` (and its attempt counted) before the plugin is
called, and each outcome is recorded as it comes. A run killed at any moment leaves ``sending`` rows, which the next
run sends again with ``resent`` set, so the plugin can tell Amazon's "this package reference is already used"
from a refusal. Once the marketplace accepts, the order's lines, status and history are updated locally.

Owns the table ``shipments``.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from . import installed, orders, reservations, store, workspaces
from .context import Progress
from .errors import UserError
from .host import Host
from .installed import App, require_authorized
from .models import Shipment, ShipmentOutcome
from .terminal import plural

# Statuses of a shipment. ``due``: recorded, never sent. ``sending``: handed to the plugin, outcome unknown.
# ``accepted``/``rejected``/``pending``: the marketplace's answer. ``refused``: the host did not send it.
STATUSES = ("due", "sending", "accepted", "rejected", "pending", "refused")
DUE = "(s.status IN ('due', 'sending', 'pending') OR (s.status = 'rejected' AND s.retryable = 1))"
# Shipments whose quantities count against what is left to ship: all but those the marketplace or the host refused.
COUNTED = "(status NOT IN ('refused', 'rejected') OR (status = 'rejected' AND retryable = 1))"
SHIPPABLE = {"unshipped", "partially_shipped", "shipped", "other"}
CHUNK = 200
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_TEXT = 100


# -- recording ------------------------------------------------------------------------------------------------


def _refuse_unshippable(order: dict[str, Any]) -> None:
    oid = order["marketplace_order_id"]
    if order["fulfilled_by"] == "marketplace":
        raise UserError(
            f"order {oid} is fulfilled by the marketplace ({order['app']} ships it and confirms it "
            "itself): there is nothing to confirm"
        )
    if order["status"] == "cancelled":
        raise UserError(f"order {oid} was cancelled at the marketplace: do not ship it")
    if order["status"] not in SHIPPABLE:
        raise UserError(
            f"order {oid} is {order['status'].replace('_', ' ')} at the marketplace and cannot be shipped yet"
        )


def _already_counted(host: Host, app_id: int, order_id: str) -> dict[str, int]:
    """Quantities per line of the order's shipments recorded so far (but those refused)."""
    counted: dict[str, int] = {}
    for (lines,) in host.db.execute(
        f"SELECT lines FROM shipments WHERE app_id = ? AND marketplace_order_id = ? AND {COUNTED}", (app_id, order_id)
    ):
        for line_id, quantity in store.loads(lines):
            counted[line_id] = counted.get(line_id, 0) + quantity
    return counted


def _left(order: dict[str, Any], counted: dict[str, int]) -> dict[str, int]:
    """What is left to ship per line: ordered less what the marketplace or our shipments say is shipped."""
    return {
        line["line_id"]: line["quantity_ordered"] - max(line["quantity_shipped"] or 0, counted.get(line["line_id"], 0))
        for line in order["lines"]
    }


def _check_lines(
    order: dict[str, Any], wanted: list[tuple[str, int]] | None, left: dict[str, int]
) -> list[tuple[str, int]]:
    """The shipment's (line id, quantity): ``wanted`` (items named by line id or SKU), else everything left."""
    oid = order["marketplace_order_id"]
    if not wanted:
        lines = [(line_id, qty) for line_id, qty in left.items() if qty > 0]
        if not lines:
            raise UserError(f"order {oid}: nothing is left to ship (every item is shipped already)")
        return lines
    by_sku: dict[str, list[str]] = {}
    for line in order["lines"]:
        if line["sku"]:
            by_sku.setdefault(line["sku"], []).append(line["line_id"])
    summed: dict[str, int] = {}
    for item, quantity in wanted:
        if item in left:
            line_id = item
        elif len(by_sku.get(item, [])) == 1:
            line_id = by_sku[item][0]
        else:
            known = (
                ", ".join(
                    f"{line['line_id']} ({line['sku']})" if line["sku"] else line["line_id"] for line in order["lines"]
                )
                or "none"
            )
            why = (
                "two lines have that SKU; name the line id"
                if len(by_sku.get(item, [])) > 1
                else "it is not an item of the order"
            )
            raise UserError(f"order {oid}: {item!r}: {why} (items: {known})")
        if quantity < 1:
            raise UserError(f"order {oid}: item {item!r}: a quantity is at least 1")
        summed[line_id] = summed.get(line_id, 0) + quantity
    for line_id, quantity in summed.items():
        if quantity > left[line_id]:
            shown = "nothing is" if left[line_id] <= 0 else f"only {left[line_id]} is"
            raise UserError(f"order {oid}: item {line_id}: {quantity} is more than is left to ship ({shown} left)")
    return list(summed.items())


def _check_text(name: str, value: str | None, required: bool = True) -> str | None:
    text = " ".join((value or "").split())
    if not text:
        if required:
            raise UserError(f"the {name} cannot be empty")
        return None
    if len(text) > MAX_TEXT:
        raise UserError(f"the {name} {text[:30]!r}… is longer than {MAX_TEXT} characters")
    return text


def _ship_date(host: Host, order: dict[str, Any], text: str | None) -> datetime:
    """When the package left: now by default; a date alone is that day at noon UTC (never before the order)."""
    now = host.clock.now().astimezone(UTC).replace(microsecond=0)
    created = datetime.fromisoformat(order["created_at"]).astimezone(UTC)
    if not text or not text.strip():
        return now
    text = text.strip()
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time(12), UTC)
            if moment.date() == now.date():
                moment = min(moment, now)
            moment = max(moment, created)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except ValueError:
        raise UserError(f"{text!r} is not a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM:SSZ)") from None
    if moment > now + timedelta(minutes=5):
        raise UserError(f"the ship date {text} is in the future; give the day the package left")
    if moment < created:
        raise UserError(
            f"the ship date {text} is before order {order['marketplace_order_id']} was placed "
            f"({order['created_at'][:19]})"
        )
    return moment.astimezone(UTC)


def _carrier(host: Host, kind: str, text: str | None) -> tuple[str, str | None]:
    """(code, name): a carrier the plugin lists, by its code or name in any case, is its code; anything else is
    sent as given, by name."""
    given = _check_text("carrier", text)
    assert given is not None
    for carrier in host.registry.kind(kind).carriers:
        if given.casefold() in (carrier.code.casefold(), carrier.name.casefold()):
            return carrier.code, None
    return given, given


def _next_reference(host: Host, app_id: int, order_id: str) -> str:
    row = host.db.execute(
        "SELECT MAX(CAST(package_reference AS INTEGER)) FROM shipments WHERE app_id = ? AND marketplace_order_id = ?",
        (app_id, order_id),
    ).fetchone()
    return str((row[0] or 0) + 1)


def _existing(host: Host, app_id: int, order_id: str, tracking: str) -> dict[str, Any] | None:
    return next(
        iter(
            host.db.query(
                "SELECT * FROM shipments WHERE app_id = ? AND marketplace_order_id = ? AND tracking_number = ? "
                "AND status != 'refused'",
                [app_id, order_id, tracking],
            )
        ),
        None,
    )


def _prepare(
    host: Host,
    order_ref: str,
    *,
    carrier: str,
    tracking: str,
    method: str | None = None,
    ship_date: str | None = None,
    lines: list[tuple[str, int]] | None = None,
    app: App | str | None = None,
    pending: dict[tuple[int, str], dict[str, int]] | None = None,
) -> dict[str, Any]:
    """Check one shipment against its order; the row to insert, or the existing shipment (``existing`` set).

    ``pending``: quantities of shipments checked in the same go but not stored yet (a file), by (app, order).
    """
    order = orders.find_order(host, order_ref, app)
    _refuse_unshippable(order)
    app_row = installed.get(host, order["app"])
    require_authorized(app_row)
    if not host.registry.implements(app_row.kind, "push_shipments"):
        raise UserError(f"{host.registry.kind(app_row.kind).title} apps cannot confirm shipments")
    tracking_number = _check_text("tracking number", tracking)
    oid = order["marketplace_order_id"]
    same = _existing(host, order["app_id"], oid, tracking_number or "")
    if same is not None:
        return {"existing": True, **_view(same, order["app"])}
    code, name = _carrier(host, app_row.kind, carrier)
    counted = _already_counted(host, order["app_id"], oid)
    for line_id, quantity in (pending or {}).get((order["app_id"], oid), {}).items():
        counted[line_id] = counted.get(line_id, 0) + quantity
    chosen = _check_lines(order, lines, _left(order, counted))
    when = _ship_date(host, order, ship_date)
    return {
        "existing": False,
        "app_id": order["app_id"],
        "app": order["app"],
        "order_id": order["id"],
        "marketplace_order_id": oid,
        "lines": chosen,
        "carrier_code": code,
        "carrier_name": name,
        "tracking_number": tracking_number,
        "ship_date": when.isoformat(),
        "shipping_method": _check_text("shipping method", method, required=False),
    }


def _insert(host: Host, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    now = host.clock.now().isoformat(timespec="seconds")
    stored = []
    with host.db.atomic():
        for row in rows:
            installed.require_present(host, row["app_id"], row["app"])
            reference = _next_reference(host, row["app_id"], row["marketplace_order_id"])
            shipment_id = host.db.execute(
                "INSERT INTO shipments (app_id, order_id, marketplace_order_id, package_reference, lines, "
                "carrier_code, carrier_name, tracking_number, ship_date, shipping_method, status, message, "
                "retryable, attempts, created_at) VALUES (?,?,?,?,?,?,?,?,?,?, 'due', '', 0, 0, ?) RETURNING id",
                (
                    row["app_id"],
                    row["order_id"],
                    row["marketplace_order_id"],
                    reference,
                    store.dumps(row["lines"]),
                    row["carrier_code"],
                    row["carrier_name"],
                    row["tracking_number"],
                    row["ship_date"],
                    row["shipping_method"],
                    now,
                ),
            ).fetchone()[0]
            stored.append(_view(host.db["shipments"].get(shipment_id), row["app"]))
        for app_id, order_id in sorted({(row["app_id"], row["order_id"]) for row in rows}):
            reservations.settle_orders(host, app_id, [order_id], actor="shipment")  # the units left: off on hand
    return stored


def ship_order(
    host: Host,
    order_ref: str,
    *,
    carrier: str,
    tracking: str,
    method: str | None = None,
    ship_date: str | None = None,
    lines: list[tuple[str, int]] | None = None,
    app: App | str | None = None,
) -> dict[str, Any]:
    """Record that a package of the order left with ``carrier`` under ``tracking``; it is sent on the next push.

    ``lines``: (line id or SKU, quantity) pairs; without them, everything left to ship. The same order and tracking
    number again is the shipment already recorded (``existing`` is then true) and changes nothing.
    """
    row = _prepare(
        host, order_ref, carrier=carrier, tracking=tracking, method=method, ship_date=ship_date, lines=lines, app=app
    )
    if row["existing"]:
        return row
    return {"existing": False, **_insert(host, [row])[0]}


def parse_line(text: str) -> tuple[str, int]:
    """``ITEM=QTY`` (ITEM a line id or SKU) as a pair; ``ITEM`` alone is one item."""
    item, sep, quantity = text.partition("=")
    item = item.strip()
    if not item:
        raise UserError(f"{text!r}: give ITEM=QUANTITY (ITEM: the order line's id or SKU)")
    if not sep:
        return item, 1
    try:
        return item, int(quantity.strip())
    except ValueError:
        raise UserError(f"{text!r}: {quantity.strip()!r} is not a whole number of items") from None


# -- a file of shipments ----------------------------------------------------------------------------------------

COLUMNS = {"order", "carrier", "tracking", "item", "quantity", "method", "date"}
REQUIRED_COLUMNS = ("order", "carrier", "tracking")


def load_shipments(host: Host, path: Path) -> dict[str, int]:
    """Record the shipments of a CSV file (header: order,carrier,tracking and optionally item,quantity,method,date),
    or none of them when any row is bad; rows with the same order and tracking number are one package.

    Returns how many shipments were recorded and how many were recorded before (unchanged).
    """
    try:
        if not path.is_file():
            raise UserError(f"{path} is not a file; give a CSV file of shipments")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise UserError(f"{path} is over {MAX_FILE_BYTES // (1024 * 1024)} MB: that is not a shipments file")
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UserError(f'{path} is not UTF-8 text (line {line}); save it as "CSV UTF-8"') from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader, None) or []]
    except csv.Error as exc:
        raise UserError(f"{path}: line 1: {exc}") from None
    unknown = [h for h in header if h not in COLUMNS]
    if not header or unknown or any(c not in header for c in REQUIRED_COLUMNS) or len(set(header)) != len(header):
        raise UserError(
            f"{path}: the first line must name the columns order,carrier,tracking and optionally "
            f"item,quantity,method,date" + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        )
    # Rows of one package (same order and tracking) are gathered first, then each package is checked.
    packages: dict[tuple[str, str], dict[str, Any]] = {}
    errors: list[str] = []
    while True:
        number = reader.line_num + 1
        try:
            record = next(reader, None)
        except csv.Error as exc:
            errors.append(f"line {reader.line_num}: {exc}")
            break
        if record is None:
            break
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            errors.append(f"line {number}: expected {len(header)} columns ({','.join(header)}), found {len(record)}")
            continue
        row = {name: cell.strip() for name, cell in zip(header, record, strict=True)}
        if not row["order"] or not row["tracking"] or not row["carrier"]:
            missing = [c for c in REQUIRED_COLUMNS if not row[c]]
            errors.append(f"line {number}: no {' or '.join(missing)}")
            continue
        package = packages.setdefault((row["order"], row["tracking"]), {"first": number, "row": row, "lines": []})
        if row.get("item"):
            try:
                quantity = int(row.get("quantity") or 1)
            except ValueError:
                errors.append(f"line {number}: {row['quantity']!r} is not a whole number of items")
                continue
            package["lines"].append((row["item"], quantity))
        elif row.get("quantity"):
            errors.append(f"line {number}: a quantity without an item")
    pending: dict[tuple[int, str], dict[str, int]] = {}
    rows, unchanged = [], 0
    for (order_ref, tracking), package in packages.items():
        row = package["row"]
        try:
            prepared = _prepare(
                host,
                order_ref,
                carrier=row["carrier"],
                tracking=tracking,
                method=row.get("method"),
                ship_date=row.get("date"),
                lines=package["lines"] or None,
                pending=pending,
            )
        except UserError as exc:
            errors.append(f"line {package['first']}: {exc}")
            continue
        if prepared["existing"]:
            unchanged += 1
            continue
        counts = pending.setdefault((prepared["app_id"], prepared["marketplace_order_id"]), {})
        for line_id, quantity in prepared["lines"]:
            counts[line_id] = counts.get(line_id, 0) + quantity
        rows.append(prepared)
    if errors:
        shown = "\n  ".join(errors[:20]) + (f"\n  … and {len(errors) - 20} more" if len(errors) > 20 else "")
        raise UserError(f"{path}: {plural(len(errors), 'bad row')}, nothing was applied:\n  {shown}")
    _insert(host, rows)
    return {"recorded": len(rows), "unchanged": unchanged}


# -- what is recorded -------------------------------------------------------------------------------------------


def _view(row: dict[str, Any], app_name: str) -> dict[str, Any]:
    return {
        "id": row["id"],
        "app": app_name,
        "order": row["marketplace_order_id"],
        "package_reference": row["package_reference"],
        "lines": [{"line_id": line_id, "quantity": quantity} for line_id, quantity in store.loads(row["lines"])],
        "carrier": row["carrier_name"] or row["carrier_code"],
        "carrier_code": row["carrier_code"],
        "tracking_number": row["tracking_number"],
        "ship_date": row["ship_date"],
        "shipping_method": row["shipping_method"],
        "status": row["status"],
        "message": row["message"] or "",
        "retryable": bool(row["retryable"]),
        "attempts": row["attempts"] or 0,
        "created_at": row["created_at"],
        "sent_at": row["sent_at"],
        "decided_at": row["decided_at"],
    }


def list_shipments(
    host: Host, app: App | str | None = None, status: str | None = None, order: str | None = None
) -> list[dict[str, Any]]:
    where, params = ["a.status != ?", "a.workspace_id IS ?"], [installed.REMOVED, workspaces.current_id(host)]
    if app:
        where.append("s.app_id = ?")
        params.append(installed.get(host, app).id)
    if status:
        if status not in STATUSES:
            raise UserError(f"{status!r} is not a shipment status ({', '.join(STATUSES)})")
        where.append("s.status = ?")
        params.append(status)
    if order:
        where.append("s.marketplace_order_id = ?")
        params.append(order)
    rows = host.db.query(
        f"SELECT s.*, a.name AS app_name FROM shipments s JOIN apps a ON a.id = s.app_id "
        f"WHERE {' AND '.join(where)} ORDER BY s.id",
        params,
    )
    return [_view(r, r["app_name"]) for r in rows]


def apps_with_due(host: Host) -> set[int]:
    """The apps with a shipment to send or to follow up (retryable rejections wait for the app's next full push)."""
    return store.apps_having(host.db, "shipments", "status", ("due", "sending", "pending"))


def has_due(host: Host, app_id: int) -> bool:
    return (
        host.db.execute(f"SELECT 1 FROM shipments s WHERE s.app_id = ? AND {DUE} LIMIT 1", (app_id,)).fetchone()
        is not None
    )


# -- sending ----------------------------------------------------------------------------------------------------


def follow_orders(host: Host, app_id: int) -> None:
    """Orders moved to ``app_id`` (``orders.take_over``) take their shipments along (inside the caller's
    transaction); what was refused stays refused."""
    host.db.execute(
        "UPDATE shipments SET app_id = ? WHERE app_id != ? AND order_id IN (SELECT id FROM orders WHERE app_id = ?)",
        (app_id, app_id, app_id),
    )


def forget_app(host: Host, app_id: int, purge: bool) -> None:
    """An app is removed (inside the caller's transaction): with ``purge`` its shipments go with its orders;
    without, those not yet confirmed stay in the list as refused, never to be sent."""
    if purge:
        host.db.execute("DELETE FROM shipments WHERE app_id = ?", (app_id,))
        return
    host.db.execute(
        "UPDATE shipments SET status = 'refused', retryable = 0, decided_at = ?, message = "
        "'not sent: the app was removed before the marketplace confirmed it' "
        "WHERE app_id = ? AND (status IN ('due', 'sending', 'pending') OR (status = 'rejected' AND retryable = 1))",
        (host.clock.now().isoformat(timespec="seconds"), app_id),
    )


def _refuse_cancelled(host: Host, app: App) -> int:
    """Shipments never sent for an order seen cancelled (or fulfilled by the marketplace) since they were recorded
    are refused, not sent; the units they took off on hand come back."""
    now = host.clock.now().isoformat(timespec="seconds")
    with host.db.atomic():
        orders = [
            r[0]
            for r in host.db.execute(
                "SELECT DISTINCT order_id FROM shipments WHERE app_id = ? AND attempts = 0 AND status IN "
                "('due', 'rejected') AND order_id IN (SELECT id FROM orders WHERE app_id = ? AND "
                "(status = 'cancelled' OR fulfilled_by = 'marketplace'))",
                (app.id, app.id),
            )
        ]
        if not orders:
            return 0
        cursor = host.db.execute(
            "UPDATE shipments SET status = 'refused', retryable = 0, decided_at = ?, message = CASE "
            "WHEN (SELECT fulfilled_by FROM orders WHERE id = shipments.order_id) = 'marketplace' THEN "
            "'not sent: the order is fulfilled by the marketplace, which confirms its shipments itself' ELSE "
            "'not sent: the order was cancelled at the marketplace after this shipment was recorded; do not ship '"
            "'the parcel (recall it if it left)' END "
            "WHERE app_id = ? AND attempts = 0 AND status IN ('due', 'rejected') AND order_id IN "
            "(SELECT id FROM orders WHERE app_id = ? AND (status = 'cancelled' OR fulfilled_by = 'marketplace'))",
            (now, app.id, app.id),
        )
        reservations.settle_orders(host, app.id, orders, actor="shipment")
        return cursor.rowcount


def _due(host: Host, app_id: int) -> list[dict[str, Any]]:
    return list(
        host.db.query(
            f"SELECT s.*, o.fulfilled_by FROM shipments s JOIN orders o ON o.id = s.order_id "
            f"WHERE s.app_id = ? AND {DUE} ORDER BY s.id",
            [app_id],
        )
    )


def _mark_sending(host: Host, app: App, due: list[dict[str, Any]]) -> None:
    now = host.clock.now().isoformat(timespec="seconds")
    with host.db.atomic():
        installed.require_present(host, app.id, app.name)
        host.db.conn.executemany(
            "UPDATE shipments SET status = 'sending', attempts = attempts + 1, sent_at = ? WHERE id = ?",
            [(now, row["id"]) for row in due],
        )


def _shipment(row: dict[str, Any]) -> Shipment:
    return Shipment(
        marketplace_order_id=row["marketplace_order_id"],
        package_reference=row["package_reference"],
        lines=[tuple(pair) for pair in store.loads(row["lines"])],
        carrier_code=row["carrier_code"],
        carrier_name=row["carrier_name"],
        tracking_number=row["tracking_number"],
        ship_date=datetime.fromisoformat(row["ship_date"]),
        shipping_method=row["shipping_method"],
        fulfilled_by=row["fulfilled_by"],
        resent=(row["attempts"] or 0) > 0,
    )


def record_outcomes(
    host: Host, app: App, outcomes: list[ShipmentOutcome], sent: dict[tuple[str, str], dict], counts: dict[str, Any]
) -> None:
    """Record outcomes in one transaction; an accepted shipment updates its order's lines, status and history."""
    if not outcomes:
        return
    now = host.clock.now().isoformat(timespec="seconds")
    updates, accepted = [], []
    for outcome in outcomes:
        row = sent.get((outcome.marketplace_order_id, outcome.package_reference))
        if row is None:
            continue  # about a shipment the host did not send in this push: nothing to record
        updates.append((outcome.status, outcome.message, int(outcome.retryable), now, row["id"]))
        counts[outcome.status] += 1
        if outcome.status == "rejected":
            counts["messages"].append(
                f"{outcome.marketplace_order_id} package {outcome.package_reference}: {outcome.message}"
            )
        if outcome.status == "accepted":
            accepted.append(row)
    with host.db.atomic():
        installed.require_present(host, app.id, app.name)
        host.db.conn.executemany(
            "UPDATE shipments SET status = ?, message = ?, retryable = ?, decided_at = ? WHERE id = ?", updates
        )
        for order_id in sorted({row["order_id"] for row in accepted}):
            _ship_locally(host, order_id, now)
        reservations.settle_orders(host, app.id, sorted({row["order_id"] for row in accepted}), actor="shipment")


def _ship_locally(host: Host, order_id: int, now: str) -> None:
    """The order as the marketplace will show it once it has our accepted shipments: quantities shipped, status."""
    shipped: dict[str, int] = {}
    for (lines,) in host.db.execute(
        "SELECT lines FROM shipments WHERE order_id = ? AND status = 'accepted'", (order_id,)
    ):
        for line_id, quantity in store.loads(lines):
            shipped[line_id] = shipped.get(line_id, 0) + quantity
    host.db.conn.executemany(
        "UPDATE order_lines SET quantity_shipped = MAX(COALESCE(quantity_shipped, 0), ?) WHERE order_id = ? AND "
        "line_id = ?",
        [(qty, order_id, line_id) for line_id, qty in shipped.items()],
    )
    left = host.db.execute(
        "SELECT COALESCE(SUM(MAX(quantity_ordered - COALESCE(quantity_shipped, 0), 0)), 0) "
        "FROM order_lines WHERE order_id = ?",
        (order_id,),
    ).fetchone()[0]
    status = "shipped" if left == 0 else "partially_shipped"
    old, marketplace_status = host.db.execute(
        "SELECT status, marketplace_status FROM orders WHERE id = ?", (order_id,)
    ).fetchone()
    if old == status or old == "cancelled":
        return
    host.db.execute("UPDATE orders SET status = ?, changed_at = ? WHERE id = ?", (status, now, order_id))
    host.db.execute(
        "INSERT INTO order_status_history (order_id, status, marketplace_status, marketplace_updated_at, "
        "recorded_at) VALUES (?, ?, ?, ?, ?)",
        (order_id, status, marketplace_status, now, now),
    )


def push_shipments(host: Host, app: App | str, progress: Progress | None = None) -> dict[str, Any]:
    """Send the app's due shipments to its marketplace; record each outcome as it comes."""
    app = installed.get(host, app)
    require_authorized(app)
    summary: dict[str, Any] = {
        "app": app.name,
        "sent": 0,
        "accepted": 0,
        "rejected": 0,
        "pending": 0,
        "refused": 0,
        "messages": [],
    }
    if not host.registry.implements(app.kind, "push_shipments"):
        return summary
    summary["refused"] = _refuse_cancelled(host, app)
    if not has_due(host, app.id):
        return summary
    progress = progress or Progress()
    with installed.run(host, app, lock="push", progress=progress) as ctx:
        summary["refused"] += _refuse_cancelled(host, app)  # again, under the lock, with what an import just saw
        due = _due(host, app.id)
        if not due:
            return summary
        shipments = [_shipment(row) for row in due]
        sent = {(row["marketplace_order_id"], row["package_reference"]): row for row in due}
        # Before the call: a run killed from here on leaves them 'sending', which the next run sends again.
        _mark_sending(host, app, due)
        summary["sent"] = len(shipments)
        progress.start(f"Confirming shipments for {app.name}", len(shipments))
        chunk: list[ShipmentOutcome] = []
        try:
            for outcome in host.registry.push_shipments(app.kind, ctx, shipments):
                chunk.append(outcome)
                if len(chunk) >= CHUNK:
                    record_outcomes(host, app, chunk, sent, summary)
                    progress.advance(len(chunk))
                    chunk = []
        finally:
            record_outcomes(host, app, chunk, sent, summary)  # what was decided before a failure stays decided
        progress.advance(len(chunk))
    return summary
