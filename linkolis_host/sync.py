"""Order import and stock push: cursors, idempotent storage, the stock outbox, locks.

Orders: each batch a plugin yields is stored together with the cursor after it in one transaction; an order
is keyed by (app, marketplace order id), so importing it again updates it and records a status change, never
a duplicate. Stock: the seller sets desired quantities; each app with stock sync on is handed the latest
desired quantity of every SKU whose last push was not that quantity (coalesced), and each outcome is kept.
"""

from __future__ import annotations

import csv
import fcntl
import os
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from pydantic import ValidationError

from . import apps, store
from .config import format_validation_error
from .context import Progress
from .errors import Busy, LinkolisError, NeedsAttention, UserError
from .host import Host
from .models import MAX_QUANTITY, Order, OrderBatch, StockItem, StockLevel, StockOutcome

ORDERS_STREAM = "orders"


@contextmanager
def app_lock(host: Host, row: dict[str, Any], stream: str) -> Iterator[None]:
    """Hold the app's lock for ``stream`` (import or push), or raise ``Busy`` at once."""
    folder = host.home / "locks"
    folder.mkdir(exist_ok=True)
    handle = open(folder / f"app-{row['id']}-{stream}.lock", "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise Busy(f"another {stream} of {row['name']!r} is running ({holder}); try again when it ends") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()


@contextmanager
def _hook_run(host: Host, row: dict[str, Any], progress: Progress, stamp: str) -> Iterator[Any]:
    """A context for one import or push: a NeedsAttention marks the app; a finished run stamps ``stamp``."""
    ctx = host.context(row, progress)
    try:
        yield ctx
    except NeedsAttention as exc:
        apps.mark_attention(host, row, exc.reason)
        raise
    finally:
        progress.finish()
        ctx.http.close()
    with host.db.atomic():
        host.db["apps"].update(row["id"], {stamp: host.clock.now().isoformat(timespec="seconds")})


def _require_authorized(row: dict[str, Any]) -> None:
    if row["account_id"] is None:
        raise UserError(f"{row['name']!r} is not authorized yet: run `linkolis apps authorize {row['name']!r}`")


# -- orders ----------------------------------------------------------------------------------------------------


def _line_rows(order_id: int, order: Order) -> list[tuple]:
    return [
        (order_id, line.line_id, line.sku, line.product_id, line.title, line.quantity_ordered,
         line.quantity_shipped, None if line.unit_price is None else str(line.unit_price),
         None if line.line_total is None else str(line.line_total))
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
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for row in db.execute(
            f"SELECT marketplace_order_id, id, status, marketplace_status, updated_at FROM orders "
            f"WHERE app_id = ? AND marketplace_order_id IN ({marks})", [app_id, *chunk]
        ):
            existing[row[0]] = row[1:]
    lines: list[tuple] = []
    history: list[tuple] = []
    replaced: list[tuple[int]] = []
    for order in unique.values():
        updated_at = order.updated_at.isoformat()
        values = (
            order.marketplace, order.status.value, order.marketplace_status, order.fulfilled_by,
            order.created_at.isoformat(), updated_at, order.currency,
            None if order.total is None else str(order.total),
            None if order.buyer is None else order.buyer.model_dump_json(exclude_none=True),
            None if order.recipient is None else order.recipient.model_dump_json(exclude_none=True),
            len(order.lines),
        )
        seen = existing.get(order.marketplace_order_id)
        if seen is None:
            order_id = db.execute(
                "INSERT INTO orders (app_id, marketplace_order_id, marketplace, status, marketplace_status, "
                "fulfilled_by, created_at, updated_at, currency, total, buyer, recipient, line_count, imported_at, "
                "changed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
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
                "recipient = COALESCE(?, recipient), line_count = ?, changed_at = ? WHERE id = ?",
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
            "quantity_shipped, unit_price, line_total) VALUES (?,?,?,?,?,?,?,?,?)", lines,
        )
    if history:
        db.conn.executemany(
            "INSERT INTO order_status_history (order_id, status, marketplace_status, marketplace_updated_at, "
            "recorded_at) VALUES (?,?,?,?,?)", history,
        )
    return counts


def load_cursor(host: Host, app_id: int, stream: str = ORDERS_STREAM) -> dict | None:
    row = host.db.execute("SELECT cursor FROM sync_cursors WHERE app_id = ? AND stream = ?",
                          (app_id, stream)).fetchone()
    return None if row is None else store.loads(row[0])


def import_orders(host: Host, name: str, progress: Progress | None = None) -> dict[str, Any]:
    """Import the app's new and changed orders; return a summary (new, updated, unchanged, batches, seconds)."""
    row = apps.get(host, name)
    _require_authorized(row)
    progress = progress or Progress()
    summary = {"app": row["name"], "new": 0, "updated": 0, "unchanged": 0, "batches": 0, "seconds": 0.0}
    started = time.monotonic()
    with app_lock(host, row, "import"):
        cursor = load_cursor(host, row["id"])
        progress.start(f"Importing orders for {row['name']}")
        with _hook_run(host, row, progress, "last_import_at") as ctx:
            batches = host.registry.call(row["kind"], "import_orders", ctx=ctx, cursor=cursor) or []
            for answer in batches:
                try:
                    batch = answer if isinstance(answer, OrderBatch) else OrderBatch.model_validate(answer)
                except ValidationError as exc:
                    raise UserError(f"the {row['kind']} plugin sent an invalid batch:\n"
                                    f"{format_validation_error(exc, '  ')}") from None
                with host.db.atomic():
                    counts = store_orders(host, row["id"], batch.orders)
                    host.db.execute(
                        "INSERT INTO sync_cursors (app_id, stream, cursor, updated_at) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT(app_id, stream) DO UPDATE SET cursor = excluded.cursor, "
                        "updated_at = excluded.updated_at",
                        (row["id"], ORDERS_STREAM, store.dumps(batch.cursor), host.clock.now().isoformat()),
                    )
                for key, value in counts.items():
                    summary[key] += value
                summary["batches"] += 1
                progress.advance(len(batch.orders))
    summary["seconds"] = round(time.monotonic() - started, 3)
    return summary


def list_orders(host: Host, app: str | None = None, status: str | None = None, limit: int = 50) -> list[dict]:
    where, params = ["1 = 1"], []
    if app:
        where.append("o.app_id = ?")
        params.append(apps.get(host, app)["id"])
    if status:
        where.append("o.status = ?")
        params.append(status)
    sql = (
        "SELECT o.id, a.name AS app, o.marketplace_order_id, o.marketplace, o.status, o.marketplace_status, "
        "o.fulfilled_by, o.created_at, o.updated_at, o.currency, o.total, o.line_count FROM orders o "
        f"JOIN apps a ON a.id = o.app_id WHERE {' AND '.join(where)} ORDER BY o.created_at DESC LIMIT ?"
    )
    return list(host.db.query(sql, [*params, limit]))


def get_order(host: Host, order_ref: str) -> dict[str, Any]:
    """An order by the host's id or the marketplace's order id, with its lines and status history."""
    rows = list(host.db.query(
        "SELECT o.*, a.name AS app FROM orders o JOIN apps a ON a.id = o.app_id "
        "WHERE o.marketplace_order_id = ? OR (CAST(o.id AS TEXT) = ?)", [order_ref, order_ref]))
    if not rows:
        raise UserError(f"no order {order_ref!r}; `linkolis orders list` shows what was imported")
    order = rows[0]
    order["buyer"] = store.loads(order["buyer"])
    order["recipient"] = store.loads(order["recipient"])
    order["lines"] = list(host.db.query(
        "SELECT line_id, sku, product_id, title, quantity_ordered, quantity_shipped, unit_price, line_total "
        "FROM order_lines WHERE order_id = ? ORDER BY line_id", [order["id"]]))
    order["history"] = list(host.db.query(
        "SELECT status, marketplace_status, marketplace_updated_at, recorded_at FROM order_status_history "
        "WHERE order_id = ? ORDER BY id", [order["id"]]))
    return order


# -- stock -----------------------------------------------------------------------------------------------------


def _check_sku(sku: str) -> str:
    sku = sku.strip()
    if not sku:
        raise UserError("a SKU cannot be empty")
    if len(sku) > 200 or any(ord(c) < 32 for c in sku):
        raise UserError(f"{sku[:40]!r} is not a SKU (at most 200 printable characters)")
    return sku


def _check_quantity(text: str | int) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise UserError(f"{text!r} is not a whole number of items") from None
    if value < 0:
        raise UserError(f"{value} is negative: a stock level is 0 or more")
    if value > MAX_QUANTITY:
        raise UserError(f"{value} is more than {MAX_QUANTITY:,}; if that is really your stock, split the SKU")
    return value


def _write_desired(host: Host, pairs: list[tuple[str, int]]) -> None:
    now = host.clock.now().isoformat(timespec="seconds")
    with host.db.atomic():
        version = host.db.execute("SELECT COALESCE(MAX(version), 0) FROM desired_stock").fetchone()[0]
        host.db.conn.executemany(
            "INSERT INTO desired_stock (sku, quantity, version, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(sku) DO UPDATE SET quantity = excluded.quantity, version = excluded.version, "
            "updated_at = excluded.updated_at",
            [(sku, qty, version + i + 1, now) for i, (sku, qty) in enumerate(pairs)],
        )


def set_stock(host: Host, sku: str, quantity: str | int) -> dict[str, Any]:
    pair = (_check_sku(sku), _check_quantity(quantity))
    _write_desired(host, [pair])
    return {"sku": pair[0], "quantity": pair[1]}


def load_stock(host: Host, path: Path) -> int:
    """Record every row of a ``sku,quantity`` CSV, or none of them when any row is bad."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header] != ["sku", "quantity"]:
        raise UserError(f"{path}: the first line must be the header `sku,quantity`")
    pairs: dict[str, int] = {}
    first_seen: dict[str, int] = {}
    errors = []
    for number, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != 2:
            errors.append(f"line {number}: expected 2 columns (sku,quantity), found {len(record)}")
            continue
        try:
            sku, qty = _check_sku(record[0]), _check_quantity(record[1])
        except UserError as exc:
            errors.append(f"line {number}: {exc}")
            continue
        if sku in first_seen:
            errors.append(f"line {number}: SKU {sku!r} already given on line {first_seen[sku]}")
            continue
        first_seen[sku] = number
        pairs[sku] = qty
    if errors:
        shown = "\n  ".join(errors[:20]) + (f"\n  … and {len(errors) - 20} more" if len(errors) > 20 else "")
        raise UserError(f"{path}: {len(errors)} bad row(s), nothing was applied:\n  {shown}")
    _write_desired(host, list(pairs.items()))
    return len(pairs)


def stock_due(host: Host, app_id: int) -> list[tuple[str, int, int]]:
    """(sku, quantity, version) the app must be sent: its latest desired quantity differs from the last one sent,
    or the last send's outcome is unknown (interrupted) or was a rejection that retrying can cure."""
    return [tuple(r) for r in host.db.execute(
        "SELECT d.sku, d.quantity, d.version FROM desired_stock d "
        "LEFT JOIN stock_pushes p ON p.app_id = ? AND p.sku = d.sku "
        "WHERE p.sku IS NULL OR p.attempt_quantity IS NOT d.quantity OR p.outcome = 'sending' "
        "OR (p.outcome = 'rejected' AND p.retryable = 1) ORDER BY d.version", (app_id,))]


def _has_pending(host: Host, app_id: int) -> bool:
    return host.db.execute("SELECT 1 FROM stock_pushes WHERE app_id = ? AND outcome = 'pending' LIMIT 1",
                           (app_id,)).fetchone() is not None


def _record_outcomes(host: Host, app_id: int, outcomes: list[StockOutcome], counts: dict[str, int]) -> None:
    """Record outcomes in one transaction; one about an older quantity than the one last sent is stale and dropped."""
    if not outcomes:
        return
    now = host.clock.now().isoformat(timespec="seconds")
    sent: dict[str, tuple[int, int]] = {}
    skus = list({o.sku for o in outcomes})
    for start in range(0, len(skus), 500):
        chunk = skus[start:start + 500]
        sent.update((r[0], (r[1], r[2])) for r in host.db.execute(
            f"SELECT sku, attempt_quantity, attempt_version FROM stock_pushes WHERE app_id = ? AND sku IN "
            f"({','.join('?' * len(chunk))})", [app_id, *chunk]))
    updates = []
    for outcome in outcomes:
        attempt = sent.get(outcome.sku)
        if attempt is None:
            continue  # an outcome for a SKU the host never sent: nothing to record
        if outcome.quantity is not None and outcome.quantity != attempt[0]:
            counts["stale"] = counts.get("stale", 0) + 1  # about an older quantity: a newer one was sent
            continue
        accepted = outcome.status == "accepted"
        updates.append((outcome.status, outcome.message, int(outcome.retryable), outcome.reference,
                        accepted, attempt[0], accepted, attempt[1], accepted, now, app_id, outcome.sku))
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    with host.db.atomic():
        host.db.conn.executemany(
            "UPDATE stock_pushes SET outcome = ?, message = ?, retryable = ?, reference = ?, "
            "pushed_quantity = CASE WHEN ? THEN ? ELSE pushed_quantity END, "
            "pushed_version = CASE WHEN ? THEN ? ELSE pushed_version END, "
            "pushed_at = CASE WHEN ? THEN ? ELSE pushed_at END WHERE app_id = ? AND sku = ?", updates)


def push_stock(host: Host, name: str, dry_run: bool = False, progress: Progress | None = None) -> dict[str, Any]:
    """Hand the app's plugin what differs from what was last sent; record each SKU's outcome."""
    row = apps.get(host, name)
    _require_authorized(row)
    settings = host.app_info(row).settings
    summary: dict[str, Any] = {"app": row["name"], "due": 0, "sent": 0, "accepted": 0, "rejected": 0,
                               "pending": 0, "skipped": 0}
    if not settings.stock_sync:
        summary["note"] = "stock update sync is off for this app; turn it on with `linkolis apps configure " \
                          f"{row['name']!r} --stock-sync`"
        return summary
    due = stock_due(host, row["id"])
    summary["due"] = len(due)
    if dry_run:
        summary["preview"] = preview(host, row, due)
        return summary
    if not due and not _has_pending(host, row["id"]):
        return summary
    progress = progress or Progress()
    with app_lock(host, row, "push"):
        due = stock_due(host, row["id"])  # again, under the lock: another push may have just sent them
        now = host.clock.now().isoformat(timespec="seconds")
        with host.db.atomic():
            host.db.conn.executemany(
                "INSERT INTO stock_pushes (app_id, sku, attempt_quantity, attempt_version, attempt_at, outcome, "
                "message, retryable, reference) VALUES (?, ?, ?, ?, ?, 'sending', '', 0, NULL) "
                "ON CONFLICT(app_id, sku) DO UPDATE SET attempt_quantity = excluded.attempt_quantity, "
                "attempt_version = excluded.attempt_version, attempt_at = excluded.attempt_at, "
                "outcome = 'sending', message = '', retryable = 0, reference = NULL",
                [(row["id"], sku, qty, version, now) for sku, qty, version in due],
            )
        items = [StockItem(sku=sku, quantity=qty) for sku, qty, _ in due]
        summary["sent"] = len(items)
        progress.start(f"Pushing stock for {row['name']}", len(items) or None)
        with _hook_run(host, row, progress, "last_push_at") as ctx:
            answer = host.registry.call(row["kind"], "push_stock", ctx=ctx, items=items) or []
            chunk: list[StockOutcome] = []
            for outcome in answer:
                chunk.append(outcome if isinstance(outcome, StockOutcome) else StockOutcome.model_validate(outcome))
                if len(chunk) >= 500:
                    _record_outcomes(host, row["id"], chunk, summary)
                    progress.advance(len(chunk))
                    chunk = []
            _record_outcomes(host, row["id"], chunk, summary)
            progress.advance(len(chunk))
    return summary


def preview(host: Host, row: dict[str, Any], due: list[tuple[str, int, int]]) -> list[dict[str, Any]]:
    """What a push would send: the marketplace's current quantity -> the desired one. Writes nothing."""
    shown: dict[str, StockLevel] = {}
    if due and host.registry.implements(row["kind"], "read_stock"):
        ctx = host.context(row)
        try:
            for level in host.registry.call(row["kind"], "read_stock", ctx=ctx, skus=[s for s, _, _ in due]) or []:
                level = level if isinstance(level, StockLevel) else StockLevel.model_validate(level)
                shown[level.sku] = level
        finally:
            ctx.http.close()
    result = []
    for sku, qty, _ in due:
        level = shown.get(sku)
        result.append({"sku": sku, "current": None if level is None else level.quantity, "send": qty,
                       "note": "" if level is None else level.detail})
    return result


def list_stock(host: Host, app: str | None = None) -> list[dict[str, Any]]:
    """Desired, last pushed and last outcome per SKU and app (apps with stock sync on)."""
    rows = [r for r in apps.list_apps(host) if (app is None or r["name_key"] == apps.get(host, app)["name_key"])]
    result = []
    for row in rows:
        if not host.app_info(row).settings.stock_sync:
            continue
        for rec in host.db.query(
            "SELECT d.sku, d.quantity AS desired, p.pushed_quantity, p.attempt_quantity, p.outcome, p.message, "
            "p.reference, p.attempt_at FROM desired_stock d LEFT JOIN stock_pushes p ON p.app_id = ? AND "
            "p.sku = d.sku ORDER BY d.sku", [row["id"]],
        ):
            result.append({"app": row["name"], **rec, "outcome": rec["outcome"] or "not pushed"})
    if not rows and app is None:
        for rec in host.db.query("SELECT sku, quantity AS desired FROM desired_stock ORDER BY sku"):
            result.append({"app": None, **rec, "pushed_quantity": None, "outcome": "no app with stock sync"})
    return result


def verify_stock(host: Host, name: str) -> list[dict[str, Any]]:
    """Read back what the marketplace shows and compare with desired and last pushed."""
    row = apps.get(host, name)
    _require_authorized(row)
    if not host.registry.implements(row["kind"], "read_stock"):
        raise UserError(f"{row['kind']} apps cannot read stock back")
    desired = {r["sku"]: r for r in host.db.query(
        "SELECT d.sku, d.quantity, p.pushed_quantity, p.outcome FROM desired_stock d LEFT JOIN stock_pushes p "
        "ON p.app_id = ? AND p.sku = d.sku", [row["id"]])}
    ctx = host.context(row)
    try:
        levels = [lv if isinstance(lv, StockLevel) else StockLevel.model_validate(lv) for lv in
                  host.registry.call(row["kind"], "read_stock", ctx=ctx, skus=sorted(desired) or None) or []]
    finally:
        ctx.http.close()
    report = []
    for level in levels:
        want = desired.get(level.sku)
        entry = {"sku": level.sku, "desired": want and want["quantity"], "pushed": want and want["pushed_quantity"],
                 "shown": level.quantity, "fulfilled_by": level.fulfilled_by, "detail": level.detail}
        if not level.found:
            entry["state"] = "not listed"
        elif level.fulfilled_by == "marketplace":
            entry["state"] = "fulfilled by the marketplace"
        elif want is None:
            entry["state"] = "no desired quantity"
        elif level.quantity == want["quantity"]:
            entry["state"] = "in sync"
        elif want["outcome"] in ("pending", "sending") or want["pushed_quantity"] != want["quantity"]:
            entry["state"] = "push pending"
        else:
            entry["state"] = "drift"
        report.append(entry)
    return report


# -- sync ------------------------------------------------------------------------------------------------------


def sync_once(host: Host, names: list[str] | None = None, progress: Progress | None = None) -> list[dict[str, Any]]:
    """Import then push for every authorized app (or those named); one app's failure does not stop the others."""
    rows = [apps.get(host, n) for n in names] if names else [r for r in apps.list_apps(host) if r["account_id"]]
    results = []
    for row in rows:
        result: dict[str, Any] = {"app": row["name"]}
        for step, run in (("import", import_orders), ("push", push_stock)):
            try:
                result[step] = run(host, row["name"], progress=progress)
            except LinkolisError as exc:  # one app's failure must not stop the others
                result[step] = {"error": str(exc)}
        results.append(result)
    return results


def watch(host: Host, names: list[str] | None, interval: float, push_interval: float, stop: Any,
          report: Any) -> None:
    """Keep syncing until ``stop`` is set: imports every ``interval`` seconds in a thread of their own (so a
    marketplace's slow order quota never delays stock), and stock pushes every ``push_interval`` seconds."""
    import logging
    import threading

    log = logging.getLogger("linkolis.sync")

    def targets(h: Host) -> list[dict[str, Any]]:
        rows = [apps.get(h, n) for n in names] if names else apps.list_apps(h)
        return [r for r in rows if r["account_id"]]

    def import_loop() -> None:
        twin = host.fork()
        try:
            while not stop.is_set():
                for row in targets(twin):
                    try:
                        result = import_orders(twin, row["name"])
                        if result["new"] or result["updated"]:
                            report(f"{row['name']}: {result['new']} new, {result['updated']} updated order(s)")
                    except LinkolisError as exc:
                        report(f"{row['name']}: import: {exc}")
                    except Exception:  # noqa: BLE001 - keep watching; the log has the traceback
                        log.exception("import of %s failed", row["name"])
                        report(f"{row['name']}: import failed unexpectedly (run with -v for details)")
                stop.wait(interval)
        finally:
            twin.close()

    importer = threading.Thread(target=import_loop, name="linkolis-import", daemon=True)
    importer.start()
    try:
        while not stop.is_set():
            for row in targets(host):
                if not host.app_info(row).settings.stock_sync:
                    continue
                if not stock_due(host, row["id"]) and not _has_pending(host, row["id"]):
                    continue
                try:
                    result = push_stock(host, row["name"])
                    if result["sent"] or result["accepted"] or result["rejected"]:
                        report(f"{row['name']}: {result['sent']} sent, {result['accepted']} accepted, "
                               f"{result['rejected']} rejected, {result['pending']} pending")
                except LinkolisError as exc:
                    report(f"{row['name']}: push: {exc}")
                except Exception:  # noqa: BLE001
                    log.exception("push to %s failed", row["name"])
                    report(f"{row['name']}: push failed unexpectedly (run with -v for details)")
            stop.wait(push_interval)
    finally:
        # Ctrl-C lands here too: let an import finish the page it is storing (each page commits on its own).
        stop.set()
        importer.join(timeout=10)
