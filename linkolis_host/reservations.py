"""Reservations: what open orders hold of a workspace's stock, and what shipped orders took off it.

Every order event moves stock once. For each line of a merchant-fulfilled order the host keeps (``line_stock``) what
the line reserves now, how many of its units are known shipped, and how many of those it took off on hand.
``settle_orders`` compares that with what the order is now and moves only the difference (``stock.move``, with a
ledger line each), in the caller's transaction, the one that stored the order (and its import cursor) or the
shipment: a re-import, an overlapping window, a crash between any two writes or a second call moves nothing twice.

- An **open** line (pending, unshipped, partially shipped; an unknown status too) reserves what is left to ship of
  it. A line for a mapped SKU (``stock map``) reserves the seller's SKU it maps to.
- A **shipped** unit is known from the marketplace (``quantity_shipped``, every unit of an order it calls shipped)
  or from a shipment recorded here (``orders ship``, the web; not one refused), whichever says more. It leaves the
  reservation and is taken off on hand, but only when it shipped after the SKU was last counted: a count already
  left out what had shipped before it, so a first import of two years of history moves no on hand. When it shipped
  is the marketplace's last change of the order, or the moment a shipment was recorded here.
- A **cancelled** (or unfulfillable) order reserves nothing, and neither do the cancelled units of a line whose
  order goes on (``quantity_cancelled``: bol cancels item by item); units a line had taken off come back only if a
  shipment recorded here is refused (never sent: the parcel did not leave).
- A marketplace-fulfilled order (FBA, bol's FBB) holds nothing: those units are in the marketplace's warehouse.

Owns the table ``line_stock``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from . import stock, store
from .host import Host
from .stock import Move

CLOSED = ("shipped", "cancelled", "unfulfillable")
_LATEST = datetime.max.replace(tzinfo=UTC)  # a change with no time of its own counts as after every count
# Times are kept to the second: a shipment in the second of the count counts as after it (taken off on hand), as an
# oversold unit costs the seller more than one left unsold until the next count.


@dataclass
class Held:
    """What a line holds: the seller's SKU, units reserved, units known shipped, units taken off on hand."""

    sku: str
    reserved: int = 0
    shipped: int = 0
    taken: int = 0


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# What ``settle_orders`` needs of an order: status, fulfilled by, the marketplace's last change, its id there, and
# per line (line id, SKU, quantity ordered, quantity shipped, quantity cancelled).
Facts = tuple[str, str, str, str, list[tuple[str, "str | None", int, int, int]]]


def settle_orders(
    host: Host,
    app_id: int,
    order_ids: list[int],
    actor: str = "import",
    facts: dict[int, Facts] | None = None,
    new: dict[int, str] | None = None,
) -> set[str]:
    """Bring the stock of the lines of ``order_ids`` (orders of ``app_id``) in line with what those orders are now:
    open merchant-fulfilled lines reserve, shipped ones take off on hand, cancelled ones release. Call it inside the
    transaction that changed the orders; calling it again changes nothing. Returns the SKUs whose stock moved.

    ``facts``: what the caller already knows of the orders (``store_orders``, which just wrote them), read from the
    database otherwise; ``new``: orders stored for the first time just now, with when each was placed: they hold
    nothing yet and have no shipments (nothing of theirs is read back), and the app's marketplace lowered its own
    quantity when each was placed (``stock.lowered_at_marketplace``)."""
    if not order_ids:
        return set()
    row = host.db.execute("SELECT workspace_id, kind FROM apps WHERE id = ?", (app_id,)).fetchone()
    if row is None:
        return set()
    workspace_id, kind = row
    new = new or {}
    back = _references(host, app_id)
    placed: list[tuple[str, int, str]] = []  # (SKU, units, when): what the marketplace took off its own quantity
    orders = dict(facts) if facts is not None else _facts(host, app_id, order_ids)
    held: dict[tuple[int, str], Held] = {}
    recorded: dict[tuple[int, str], tuple[int, str]] = {}  # shipped here, not refused: (units, last recorded at)
    for chunk in _chunks(sorted(oid for oid in orders if oid not in new)):
        marks = ",".join("?" * len(chunk))
        for oid, line_id, sku, reserved, shipped, taken in host.db.execute(
            f"SELECT order_id, line_id, sku, reserved, shipped, taken FROM line_stock WHERE order_id IN ({marks})",
            chunk,
        ):
            held[(oid, line_id)] = Held(sku, reserved, shipped, taken)
        for oid, parts, created_at in host.db.execute(
            f"SELECT order_id, lines, created_at FROM shipments WHERE order_id IN ({marks}) AND status != 'refused'",
            chunk,
        ):
            for line_id, quantity in store.loads(parts):
                units, last = recorded.get((oid, line_id), (0, ""))
                recorded[(oid, line_id)] = (units + quantity, max(last, created_at or ""))
    moves: list[Move] = []
    writes: list[tuple[int, str, int, str, int, int, int]] = []
    gone: list[tuple[int, str]] = []
    targets: dict[tuple[int, str], tuple[Held, str | None]] = {}
    shipped_new: list[tuple[int, str, str, int, int, str | None, str]] = []
    for oid, (status, fulfilled_by, updated_at, ref, order_lines) in orders.items():
        if fulfilled_by != "merchant":
            continue
        fresh, closed = oid in new, status in CLOSED
        for line_id, sku, ordered, marketplace_shipped, cancelled in order_lines:
            if not sku:
                continue
            if fresh and ordered:
                placed.append((back.get(sku, sku), ordered, new[oid]))
            here, here_at = recorded.get((oid, line_id), (0, None)) if recorded else (0, None)
            going = ordered - min(ordered, cancelled)  # what is to ship at all
            shipped = going if status == "shipped" else min(going, max(marketplace_shipped, here))
            reserved = 0 if closed else going - shipped
            if fresh and not shipped:  # the common case, a new open order: it reserves, nothing else to decide
                if reserved:
                    seller = back.get(sku, sku)
                    moves.append(Move(seller, "reserved", 0, reserved, app_id, oid, f"order {ref}"))
                    writes.append((oid, line_id, workspace_id, seller, reserved, 0, 0))
                continue
            # When the newly shipped units left: the moment a shipment was recorded here, else the marketplace's.
            at = here_at if here_at and here >= marketplace_shipped else updated_at
            if fresh and not here:  # a new order already shipped (history): decided below, with no Held
                shipped_new.append((oid, line_id, back.get(sku, sku), reserved, shipped, at, ref))
                continue
            targets[(oid, line_id)] = (Held(back.get(sku, sku), reserved, shipped), at)
    shipping = {t.sku for t, _ in targets.values() if t.shipped} | {h.sku for h in held.values() if h.taken}
    shipping |= {line[2] for line in shipped_new}
    counted = _counted(host, workspace_id, shipping) if shipping else {}
    for oid, line_id, seller, reserved, shipped, at, ref in shipped_new:
        count_at = counted.get(seller)
        if count_at is None or (_when(at) or _LATEST) < count_at:
            if reserved:  # shipped before the count: on hand left it out already; what is open still reserves
                moves.append(Move(seller, "reserved", 0, reserved, app_id, oid, f"order {ref}"))
                writes.append((oid, line_id, workspace_id, seller, reserved, shipped, 0))
            continue
        moves.append(Move(seller, "shipped", -shipped, reserved, app_id, oid, f"order {ref}: {shipped} shipped"))
        writes.append((oid, line_id, workspace_id, seller, reserved, shipped, shipped))
    for key in targets.keys() | held.keys():
        oid, ref = key[0], orders[key[0]][3]
        was = held.get(key)
        want, at = targets.get(key, (None, None))
        if was is not None and (want is None or want.sku != was.sku):
            # The line went, or now names another SKU: what it reserved of the old one goes back.
            if was.reserved:
                moves.append(Move(was.sku, "released", reserved=-was.reserved, app_id=app_id, order_id=oid,
                                  detail=f"order {ref}"))  # fmt: skip
            was = None
        if want is None:
            gone.append(key)
            continue
        now = was or Held(want.sku)
        newly = max(0, want.shipped - now.shipped)
        count_at = counted.get(want.sku)
        take = newly if count_at is not None and (_when(at) or _LATEST) >= count_at else 0
        give_back = min(now.taken, now.shipped - want.shipped) if want.shipped < now.shipped else 0
        reserved = want.reserved - now.reserved
        if newly:
            cause = "shipped" if take else "shipped_uncounted"
            detail = f"order {ref}: {newly} shipped" + ("" if take else " before the SKU was last counted")
        elif reserved > 0:
            cause, detail = "reserved", f"order {ref}"
        else:
            cause = "released"
            detail = f"order {ref}" + (": a shipment recorded here was not sent" if give_back else "")
        moves.append(Move(want.sku, cause, on_hand=give_back - take, reserved=reserved, app_id=app_id, order_id=oid,
                          detail=detail))  # fmt: skip
        taken = now.taken + take - give_back
        if want.reserved or taken:  # a line that holds nothing keeps no row: deciding again decides the same
            if (want.reserved, want.shipped, taken, want.sku) != (now.reserved, now.shipped, now.taken, now.sku) or (
                key in held and was is None
            ):
                writes.append((oid, key[1], workspace_id, want.sku, want.reserved, want.shipped, taken))
        elif key in held:
            gone.append(key)
    moved = stock.move(host, workspace_id, moves, actor)
    if placed and host.registry.kinds.get(kind) is not None and host.registry.kind(kind).lowers_on_order:
        moved |= stock.lowered_at_marketplace(host, app_id, workspace_id, placed)
    if writes:
        host.db.conn.executemany(
            "INSERT INTO line_stock (order_id, line_id, workspace_id, sku, reserved, shipped, taken) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(order_id, line_id) DO UPDATE SET sku = excluded.sku, "
            "reserved = excluded.reserved, shipped = excluded.shipped, taken = excluded.taken",
            writes,
        )
    if gone:
        host.db.conn.executemany("DELETE FROM line_stock WHERE order_id = ? AND line_id = ?", gone)
    return moved


def _counted(host: Host, workspace_id: int, skus: set[str]) -> dict[str, datetime]:
    """SKU -> when its on hand was last counted, for the SKUs that were."""
    found: dict[str, datetime] = {}
    names = sorted(s for s in skus if s)
    for start in range(0, len(names), 500):
        chunk = names[start : start + 500]
        for sku, at in host.db.execute(
            f"SELECT sku, counted_at FROM desired_stock WHERE workspace_id = ? AND quantity IS NOT NULL "
            f"AND counted_at IS NOT NULL AND sku IN ({','.join('?' * len(chunk))})",
            [workspace_id, *chunk],
        ):
            moment = _when(at)
            if moment is not None:
                found[sku] = moment
    return found


def _facts(host: Host, app_id: int, order_ids: list[int]) -> dict[int, Facts]:
    """The orders of ``app_id`` among ``order_ids`` as they are stored, with their lines."""
    found: dict[int, Facts] = {}
    for chunk in _chunks(sorted(set(order_ids))):
        marks = ",".join("?" * len(chunk))
        for oid, status, fulfilled_by, updated_at, ref in host.db.execute(
            f"SELECT id, status, fulfilled_by, updated_at, marketplace_order_id FROM orders WHERE id IN ({marks}) "
            "AND app_id = ?",
            [*chunk, app_id],
        ):
            found[oid] = (status, fulfilled_by, updated_at, ref, [])
        for oid, line_id, sku, ordered, shipped, cancelled in host.db.execute(
            f"SELECT order_id, line_id, sku, quantity_ordered, COALESCE(quantity_shipped, 0), quantity_cancelled "
            f"FROM order_lines WHERE order_id IN ({marks})",
            chunk,
        ):
            if oid in found:
                found[oid][4].append((line_id, sku, ordered, shipped, cancelled))
    return found


def _references(host: Host, app_id: int) -> dict[str, str]:
    """The app's marketplace references -> the seller's SKUs they stand for (``stock map``)."""
    return dict(host.db.execute("SELECT reference, sku FROM sku_references WHERE app_id = ?", (app_id,)).fetchall())


def forget_app(host: Host, app_id: int, purge: bool = False) -> set[str]:
    """The app is removed: its orders are no longer followed, so what they reserve goes back (inside the caller's
    transaction, before ``purge`` deletes them). What they shipped stays shipped, and is remembered: an app
    installed again that takes the orders back (``apps``) takes nothing off on hand twice."""
    rows = host.db.execute(
        "SELECT s.order_id, s.sku, s.reserved, s.workspace_id, o.marketplace_order_id FROM line_stock s "
        "JOIN orders o ON o.id = s.order_id WHERE o.app_id = ? AND s.reserved > 0",
        (app_id,),
    ).fetchall()
    moves: dict[int, list[Move]] = {}
    for order_id, sku, reserved, workspace_id, ref in rows:
        moves.setdefault(workspace_id, []).append(
            Move(
                sku,
                "released",
                reserved=-reserved,
                app_id=app_id,
                order_id=order_id,
                detail=f"order {ref}: its app was removed",
            )  # fmt: skip
        )
    moved: set[str] = set()
    for workspace_id, those in moves.items():
        moved |= stock.move(host, workspace_id, those)
    of_app = "order_id IN (SELECT id FROM orders WHERE app_id = ?)"
    if purge:
        host.db.execute(f"DELETE FROM line_stock WHERE {of_app}", (app_id,))
    else:
        host.db.execute(f"DELETE FROM line_stock WHERE {of_app} AND taken = 0", (app_id,))
        host.db.execute(f"UPDATE line_stock SET reserved = 0 WHERE {of_app}", (app_id,))
    return moved
