"""Stock: what the seller has, what open orders hold of it, and what each app is offered; pushes and their outcomes.

Per SKU of a workspace the host keeps **on hand**, the units the seller counted (``stock set``, a stock file, the
web: ``count``), less what shipped since; **reserved**, the units open merchant-fulfilled orders hold
(``reservations``); and so, per app, **available** = max(0, on hand - reserved - the app's buffer), at most the
app's cap (``stock_buffer``, ``stock_max``: host fields of every app's settings). Each app with stock sync on is
handed the available quantity of every SKU whose last push was not that quantity (coalesced, never a stale one), and
each outcome is kept. Every change of on hand or of a reservation gives the SKU a newer version, so a push in any
process (the scheduler wakes on it) finds what changed; and writes a line in the ``ledger`` in the same transaction.
A SKU that orders reserve but that was never counted has no on hand (NULL) and is offered to no app.

A push marks what it sends as ``sending`` when the plugin answers its first outcome, so an interrupted push is
sent again; a push that fails before that (its token refresh fails, say) leaves every SKU as it was, still due. An
outcome about an older quantity than the one last sent is stale and dropped.

Desired quantities are a workspace's (SKUs are unique per workspace); an app is handed its own workspace's.

An app is handed only what its marketplace lists: a SKU the plugin answers ``not_listed`` for is sold elsewhere,
and is not handed to that app again, whatever its quantity, until the app's listings are read again (`stock
verify` finds it listed) or the seller maps or unmaps it for that app. A mapped SKU goes to the app under the
marketplace reference the seller gave (``sku_references``); the plugin sees only the reference, and the host
keys every outcome back to the seller's SKU.

Owns the tables ``desired_stock`` (on hand, reserved, when counted, version), ``stock_pushes`` and
``sku_references``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Iterator, NamedTuple, overload

from . import installed, ledger, workspaces
from .context import Progress
from .errors import UserError
from .host import Host
from .installed import App, require_authorized
from .models import MAX_QUANTITY, CheckAgain, StockItem, StockLevel, StockOutcome
from .store import apps_having
from .terminal import unsafe_characters


def check_sku(sku: str) -> str:
    sku = sku.strip()
    if not sku:
        raise UserError("a SKU cannot be empty", code="sku_empty")
    if len(sku) > 200:
        raise UserError(f"{sku[:40]!r}… is not a SKU (at most 200 characters)", code="sku_too_long")
    unsafe = unsafe_characters(sku)
    if unsafe:
        raise UserError(
            f"{sku[:40]!r} is not a SKU: it contains control or format characters ({', '.join(unsafe)})",
            code="sku_unsafe",
        )
    return sku


def check_quantity(text: str | int) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise UserError(
            f"{text!r} is not a whole number of items", code="quantity_not_whole", values={"text": str(text)}
        ) from None
    if value < 0:
        raise UserError(f"{value} is negative: a stock level is 0 or more", code="quantity_negative")
    if value > MAX_QUANTITY:
        raise UserError(
            f"{value} is more than {MAX_QUANTITY:,}; if that is really your stock, split the SKU",
            code="quantity_too_large",
            values={"most": MAX_QUANTITY},
        )
    return value


UPSERT_COUNTED = (
    "INSERT INTO desired_stock (workspace_id, sku, quantity, version, updated_at, counted_at, reserved) "
    "VALUES (?, ?, ?, ?, ?, ?, 0) ON CONFLICT(workspace_id, sku) DO UPDATE SET quantity = excluded.quantity, "
    "version = excluded.version, updated_at = excluded.updated_at, counted_at = excluded.counted_at"
)
COUNT_BATCH = 2000  # counted quantities written at a time


def _current(host: Host, workspace_id: int, skus: list[str]) -> dict[str, tuple[int | None, int]]:
    """SKU -> (on hand, reserved) as stored, for those of ``skus`` the workspace has."""
    found: dict[str, tuple[int | None, int]] = {}
    for start in range(0, len(skus), 500):
        chunk = skus[start : start + 500]
        found.update(
            (sku, (quantity, reserved))
            for sku, quantity, reserved in host.db.execute(
                f"SELECT sku, quantity, reserved FROM desired_stock WHERE workspace_id = ? AND sku IN "
                f"({','.join('?' * len(chunk))})",
                [workspace_id, *chunk],
            )
        )
    return found


class Count:
    """On hand counted for SKUs of one workspace, written ``COUNT_BATCH`` at a time inside the caller's
    transaction: the quantity, when it was counted, a newer version each, and a ledger line for each that changed
    (``cause``: counted or loaded; ``actor``: who; ``detail``: the file's name)."""

    def __init__(self, host: Host, workspace_id: int, cause: str, actor: str | None, detail: str = "") -> None:
        self.host, self.workspace_id, self.cause, self.actor, self.detail = host, workspace_id, cause, actor, detail
        self.now = host.clock.now().isoformat(timespec="seconds")
        self.version = _latest_version(host)
        self.batch: list[tuple[str, int]] = []

    def add(self, sku: str, quantity: int) -> None:
        self.batch.append((sku, quantity))
        if len(self.batch) >= COUNT_BATCH:
            self.flush()

    def flush(self) -> None:
        batch, self.batch = self.batch, []
        if not batch:
            return
        before = _current(self.host, self.workspace_id, [sku for sku, _ in batch])
        rows, entries = [], []
        for sku, quantity in batch:
            self.version += 1
            rows.append((self.workspace_id, sku, quantity, self.version, self.now, self.now))
            was, reserved = before.get(sku, (None, 0))
            if was != quantity:
                entries.append(
                    ledger.Entry(
                        self.workspace_id,
                        sku,
                        self.cause,
                        on_hand_change=quantity - (was or 0),
                        on_hand=quantity,
                        reserved=reserved,
                        actor=self.actor,
                        detail=self.detail,
                    )
                )
        self.host.db.conn.executemany(UPSERT_COUNTED, rows)
        ledger.record(self.host, entries)


def set_stock(host: Host, sku: str, quantity: str | int, by: str | None = None) -> dict[str, Any]:
    """Record the SKU's on hand: the units the seller counted (``by``: who, for the ledger)."""
    sku, counted = check_sku(sku), check_quantity(quantity)
    workspace_id = workspaces.current_id(host, create=True)
    with host.db.atomic():
        count = Count(host, workspace_id, "counted", by or "cli")
        count.add(sku, counted)
        count.flush()
    return {"sku": sku, "quantity": counted}


class Move(NamedTuple):
    """A change an order makes to a SKU: ``on_hand`` and ``reserved`` deltas, and why (``ledger.CAUSES``)."""

    sku: str
    cause: str
    on_hand: int = 0
    reserved: int = 0
    app_id: int | None = None
    order_id: int | None = None
    detail: str = ""


UPSERT_MOVED = (
    "INSERT INTO desired_stock (workspace_id, sku, quantity, reserved, version, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(workspace_id, sku) DO UPDATE SET quantity = excluded.quantity, reserved = excluded.reserved, "
    "version = excluded.version, updated_at = excluded.updated_at"
)


def move(host: Host, workspace_id: int, moves: list[Move], actor: str = "import") -> set[str]:
    """Apply ``moves`` to the workspace's SKUs inside the caller's transaction: on hand and reserved change (neither
    below zero; a SKU never counted keeps no on hand), each SKU touched gets a newer version (every app's push finds
    it) and a ledger line per move. A SKU no row has yet gets one, with no on hand. Returns the SKUs changed."""
    moves = [m for m in moves if m.on_hand or m.reserved]
    if not moves:
        return set()
    levels = _current(host, workspace_id, list({m.sku for m in moves}))
    now = host.clock.now().isoformat(timespec="seconds")
    lines = []
    for sku, cause, on_hand_change, reserved_change, app_id, order_id, detail in moves:
        on_hand, reserved = levels.get(sku, (None, 0))
        after_on_hand = None if on_hand is None else max(0, on_hand + on_hand_change)
        after_reserved = max(0, reserved + reserved_change)
        levels[sku] = (after_on_hand, after_reserved)
        lines.append(
            (
                workspace_id,
                sku,
                now,
                cause,
                0 if on_hand is None else after_on_hand - on_hand,  # type: ignore[operator]
                after_reserved - reserved,
                after_on_hand,
                after_reserved,
                actor,
                app_id,
                order_id,
                detail,
            )
        )
    moved = list(dict.fromkeys(m.sku for m in moves))
    version = _latest_version(host)
    host.db.conn.executemany(
        UPSERT_MOVED,
        [(workspace_id, sku, *levels[sku], version + n + 1, now) for n, sku in enumerate(moved)],
    )
    ledger.record_lines(host, lines)
    return set(moved)


def lowered_at_marketplace(host: Host, app_id: int, workspace_id: int, placed: list[tuple[str, int, str]]) -> set[str]:
    """Orders placed on the app's marketplace lowered its quantities by themselves (``AppKind.lowers_on_order``):
    for each (SKU, units, when placed) placed after the quantity last accepted there, the host's record of what the
    listing shows goes down by as much (inside the caller's transaction), so the listing is sent a quantity again
    only when what it should offer differs from what it now shows: not after an open order (the marketplace went
    down by what the order reserves), but after one cancelled on arrival that the marketplace did not give back.
    Each SKU so lowered gets a newer version (a push finds it). Returns those SKUs."""
    skus = sorted({sku for sku, _, _ in placed})
    pushed: dict[str, str] = {}
    for start in range(0, len(skus), 500):  # one read for the lot: a first import of history lowers nothing
        chunk = skus[start : start + 500]
        pushed.update(
            host.db.execute(
                f"SELECT sku, pushed_at FROM stock_pushes WHERE app_id = ? AND outcome = 'accepted' "
                f"AND attempt_quantity = pushed_quantity AND sku IN ({','.join('?' * len(chunk))})",
                [app_id, *chunk],
            ).fetchall()
        )
    lowering = [(units, units, app_id, sku, at) for sku, units, at in placed if (pushed.get(sku) or at) < at]
    if not lowering:
        return set()
    host.db.conn.executemany(
        "UPDATE stock_pushes SET attempt_quantity = MAX(0, attempt_quantity - ?), "
        "pushed_quantity = MAX(0, pushed_quantity - ?) WHERE app_id = ? AND sku = ? AND pushed_at < ?",
        lowering,
    )
    lowered = {row[3] for row in lowering}
    if lowered:
        version = _latest_version(host)
        host.db.conn.executemany(
            "UPDATE desired_stock SET version = ? WHERE workspace_id = ? AND sku = ?",
            [(version + n + 1, workspace_id, sku) for n, sku in enumerate(sorted(lowered))],
        )
        _checked(host).pop(app_id, None)
    return lowered


def offer_limits(host: Host, app: App) -> tuple[int, int | None]:
    """What the seller keeps back from ``app`` (its buffer) and the most it is offered (None: no cap)."""
    settings = host.app_info(app).settings
    return settings.stock_buffer, settings.stock_max


def stock_due(host: Host, app: App | int) -> list[tuple[str, int, int]]:
    """(sku, available, version) the app must be sent: what it is offered now differs from the last quantity sent,
    or the last send's outcome is unknown (interrupted) or was a rejection that retrying can cure, or it is to be
    sent again (``recheck``: listed after all, or mapped). Never a SKU the marketplace does not list, nor one never
    counted. Only the SKUs of the app's own workspace."""
    app = app if isinstance(app, App) else App.from_row(host.db["apps"].get(app))
    return [tuple(r) for r in host.db.execute(DUE + " ORDER BY d.version", due_params(host, app))]


# What an app is offered of a SKU: ``available`` (:buffer, :cap the app's own).
AVAILABLE = (
    "CASE WHEN :cap IS NULL THEN MAX(0, d.quantity - d.reserved - :buffer) "
    "ELSE MIN(:cap, MAX(0, d.quantity - d.reserved - :buffer)) END"
)
DUE = (
    f"SELECT d.sku, {AVAILABLE} AS available, d.version FROM apps a "
    "JOIN desired_stock d ON d.workspace_id = a.workspace_id "
    "LEFT JOIN stock_pushes p ON p.app_id = a.id AND p.sku = d.sku WHERE a.id = :app AND d.quantity IS NOT NULL AND ("
    "p.sku IS NULL OR p.outcome IN ('sending', 'recheck') "
    f"OR (p.outcome != 'not_listed' AND p.attempt_quantity IS NOT {AVAILABLE}) "
    "OR (p.outcome = 'rejected' AND p.retryable = 1))"
)


def due_params(host: Host, app: App) -> dict[str, Any]:
    buffer, cap = offer_limits(host, app)
    return {"app": app.id, "buffer": buffer, "cap": cap}


# Per host (shared with its forks) and app: the desired version through which the app's due query last found
# everything sent, and the plugin's word on when a pending push is next worth checking (kept on the clock's monotonic
# time: a wall clock set back must not make it later). Only in memory, and only a shortcut: without it a push runs
# the due query and calls the plugin as it always did.
def _checked(host: Host) -> dict[int, int]:
    return host.memo.setdefault("stock.checked", {})


def _check_again(host: Host) -> dict[int, float]:
    return host.memo.setdefault("stock.check_again", {})


def _pending_counts(host: Host) -> dict[int, int]:
    """Per app, its count of pending rows as last read; dropped whenever outcomes are recorded or SKUs marked."""
    return host.memo.setdefault("stock.pending", {})


def _latest_version(host: Host) -> int:
    return host.db.execute("SELECT COALESCE(MAX(version), 0) FROM desired_stock").fetchone()[0]


def latest_version(host: Host) -> int:
    """The newest version of any desired quantity (an index seek): ``changed_workspaces`` from here sees only what
    changes after now."""
    return _latest_version(host)


def _due_now(host: Host, app: App, any_one: bool = False) -> tuple[list[tuple[str, int, int]], int]:
    """``stock_due``, and the latest desired version read just before it; a few indexed reads instead of the due
    query when nothing can be due: no desired quantity newer than the last check found sent, and no row of the
    app interrupted ('sending') or rejected retryably (a push from another process leaves those when it must).
    ``any_one``: only whether anything is due, as at most one row (the first found, not the oldest)."""
    app_id = app.id
    latest = _latest_version(host)
    checked = _checked(host).get(app_id)
    if (
        checked is not None
        and latest <= checked
        and not any(
            host.db.execute(
                f"SELECT 1 FROM stock_pushes WHERE app_id = ? AND outcome = ? {extra} LIMIT 1", (app_id, outcome)
            ).fetchone()
            for outcome, extra in (("sending", ""), ("recheck", ""), ("rejected", "AND retryable = 1"))
        )
    ):
        return [], latest
    if any_one:
        return [tuple(r) for r in host.db.execute(DUE + " LIMIT 1", due_params(host, app))], latest
    return stock_due(host, app), latest


def _all_sent_through(host: Host, app_id: int, version: int) -> None:
    _checked(host)[app_id] = version


def changed_workspaces(host: Host, after_version: int) -> tuple[set[int], int]:
    """The workspaces with a desired quantity newer than ``after_version``, and the newest version there is: an
    index seek, then the changed rows only."""
    latest = _latest_version(host)
    if latest <= after_version:
        return set(), latest
    rows = host.db.execute("SELECT DISTINCT workspace_id FROM desired_stock WHERE version > ?", (after_version,))
    return {r[0] for r in rows}, latest


def unsettled_apps(host: Host) -> set[int]:
    """The apps with a SKU whose push was interrupted, is to be sent again, or waits for the marketplace's word: a
    seek per such app (``store.apps_having``), whatever the number of apps and rows."""
    return apps_having(host.db, "stock_pushes", "outcome", ("sending", "recheck", "pending"))


def _pending_count(host: Host, app_id: int) -> int:
    return host.db.execute(
        "SELECT COUNT(*) FROM stock_pushes WHERE app_id = ? AND outcome = 'pending'", (app_id,)
    ).fetchone()[0]


def has_pending(host: Host, app_id: int) -> bool:
    return (
        host.db.execute(
            "SELECT 1 FROM stock_pushes WHERE app_id = ? AND outcome = 'pending' LIMIT 1", (app_id,)
        ).fetchone()
        is not None
    )


# An outcome is recorded by one of two statements with the same parameters, the accepted one also moving the
# attempt to what was pushed: cheaper per row than one statement with CASE on the status (5-30% in paired runs on
# 50,000 rows). ?6, the time, only the accepted one uses.
WHERE_SENT = "WHERE app_id = ?7 AND sku = ?8 AND (?9 IS NULL OR attempt_quantity = ?10)"
RECORD_ACCEPTED = (
    "UPDATE stock_pushes SET outcome = ?1, message = ?2, retryable = ?3, reference = ?4, warning = ?5, "
    "pushed_quantity = attempt_quantity, pushed_version = attempt_version, pushed_at = ?6 " + WHERE_SENT
)
RECORD_OTHER = (
    "UPDATE stock_pushes SET outcome = ?1, message = ?2, retryable = ?3, reference = ?4, warning = ?5 " + WHERE_SENT
)


def record_outcomes(host: Host, app_id: int, outcomes: list[StockOutcome], counts: dict[str, int]) -> None:
    """Record outcomes in one transaction; one about an older quantity than the one last sent is stale and dropped,
    one for a SKU the host never sent is dropped too. The check is the UPDATE's own WHERE: no read first."""
    if not outcomes:
        return
    now = host.clock.now().isoformat(timespec="seconds")
    recorded = 0
    _pending_counts(host).pop(app_id, None)
    with host.db.atomic():
        installed.require_present(host, app_id, f"app {app_id}")  # removed meanwhile: record nothing more
        run: list[tuple[Any, ...]] = []
        for number, outcome in enumerate(outcomes):
            status, quantity = outcome.status, outcome.quantity
            run.append(
                (
                    status,
                    outcome.message,
                    outcome.retryable,
                    outcome.reference,
                    outcome.warning,
                    now,
                    app_id,
                    outcome.sku,
                    quantity,
                    quantity,
                )
            )
            if number + 1 == len(outcomes) or outcomes[number + 1].status != status:
                # One statement per run of one status, in order: a SKU answered twice ends as answered last.
                statement = RECORD_ACCEPTED if status == "accepted" else RECORD_OTHER
                done = host.db.conn.executemany(statement, run).rowcount
                counts[status] = counts.get(status, 0) + done
                recorded += done
                run = []
    if recorded < len(outcomes):  # rare: tell stale answers from answers about SKUs never sent, for the counts
        skus = list({o.sku for o in outcomes})
        sent: dict[str, int] = {}
        for start in range(0, len(skus), 500):
            chunk = skus[start : start + 500]
            sent.update(
                host.db.execute(
                    f"SELECT sku, attempt_quantity FROM stock_pushes WHERE app_id = ? AND sku IN "
                    f"({','.join('?' * len(chunk))})",
                    [app_id, *chunk],
                ).fetchall()
            )
        stale = sum(1 for o in outcomes if o.sku in sent and o.quantity is not None and o.quantity != sent[o.sku])
        if stale:
            counts["stale"] = counts.get("stale", 0) + stale


def _mark_sending(host: Host, app: App, due: list[tuple[str, int, int]]) -> None:
    now = host.clock.now().isoformat(timespec="seconds")
    _pending_counts(host).pop(app.id, None)
    with host.db.atomic():
        installed.require_present(host, app.id, app.name)
        host.db.conn.executemany(
            "INSERT INTO stock_pushes (app_id, sku, attempt_quantity, attempt_version, attempt_at, outcome, "
            "message, retryable, reference) VALUES (?, ?, ?, ?, ?, 'sending', '', 0, NULL) "
            "ON CONFLICT(app_id, sku) DO UPDATE SET attempt_quantity = excluded.attempt_quantity, "
            "attempt_version = excluded.attempt_version, attempt_at = excluded.attempt_at, "
            "outcome = 'sending', message = '', retryable = 0, reference = NULL",
            ((app.id, sku, qty, version, now) for sku, qty, version in due),
        )


def push_stock(host: Host, app: App | str, dry_run: bool = False, progress: Progress | None = None) -> dict[str, Any]:
    """Hand the app's plugin what differs from what was last sent; record each SKU's outcome."""
    app = installed.get(host, app)
    require_authorized(app)
    settings = host.app_info(app).settings
    summary: dict[str, Any] = {
        "app": app.name,
        "due": 0,
        "sent": 0,
        "accepted": 0,
        "rejected": 0,
        "pending": 0,
        "skipped": 0,
        "not_listed": 0,
        "pending_earlier": 0,
    }
    if not settings.stock_sync:
        summary.update(note="stock update sync is off for this app", action="configure", param="stock_sync")
        return summary
    due, latest = _due_now(host, app, any_one=not dry_run)  # the whole of it is read under the push lock
    summary["due"] = len(due)
    if dry_run:
        summary["preview"] = preview(host, app, due)
        return summary
    if not due:
        _all_sent_through(host, app.id, latest)
        if not has_pending(host, app.id):
            return summary
        check_again = _check_again(host).get(app.id)
        if check_again is not None and host.clock.monotonic() < check_again:
            # Nothing new, and too early to ask: the count last read, unless an outcome was recorded since.
            counted = _pending_counts(host)
            if app.id not in counted:
                counted[app.id] = _pending_count(host, app.id)
            summary["pending_earlier"] = counted[app.id]
            return summary
    progress = progress or Progress()
    _check_again(host).pop(app.id, None)
    with installed.run(host, app, lock="push", progress=progress, stamp="last_push_at") as ctx:
        due, latest = _due_now(host, app)  # under the lock: another push may have just sent them
        summary["due"] = len(due)
        refs = references(host, app.id)
        # An unmapped SKU spelled like another SKU's reference could not be told apart from it: not sent (`stock
        # map` refuses such a reference; only a SKU set after the mapping can be one).
        taken = set(refs.values())
        due = [d for d in due if d[0] in refs or d[0] not in taken]
        back = {ref: sku for sku, ref in refs.items()}
        items = DueItems(due, refs)
        summary["sent"] = len(items)
        progress.start(f"Pushing stock for {app.name}", len(items) or None)
        chunk: list[StockOutcome] = []
        marked = False
        asked_later: CheckAgain | None = None  # when the plugin says pending pushes are next worth asking about

        def flush() -> None:
            """Record what the plugin has told so far: at each 500, before each write to its state, at the end."""
            nonlocal chunk
            told, chunk = chunk, []
            record_outcomes(host, app.id, told, summary)
            progress.advance(len(told))

        ctx.state.before_write = flush  # a plugin that forgets what it told (a finished feed) has had it recorded
        try:
            for outcome in host.registry.push_stock(app.kind, ctx, items):
                if isinstance(outcome, CheckAgain):
                    asked_later = outcome  # the last one said counts
                    continue
                if outcome.sku in back:  # the plugin answers by the reference it was handed
                    outcome = outcome.model_copy(update={"sku": back[outcome.sku]})
                if not marked:
                    # Only now: a push that fails before its first outcome leaves every row as it was (still due).
                    # From here a crash leaves them 'sending', which is due as well.
                    _mark_sending(host, app, due)
                    marked = True
                chunk.append(outcome)
                if len(chunk) >= 500:
                    flush()
        except Exception:
            record_outcomes(host, app.id, chunk, summary)  # what was decided before the failure stays decided
            raise
        finally:
            ctx.state.before_write = None
        flush()
        if marked or not due:  # a plugin that answered nothing sent nothing: those SKUs stay due
            _all_sent_through(host, app.id, latest)
        if asked_later is not None:  # a wall time: how long from now, on the monotonic clock
            _check_again(host)[app.id] = host.clock.monotonic() + (asked_later.at - host.clock.time())
    summary["pending_earlier"] = (
        _pending_besides(host, app.id, {sku for sku, _, _ in due}) if due else _pending_count(host, app.id)
    )
    return summary


class DueItems(Sequence[StockItem]):
    """What a push hands its plugin: a ``StockItem`` per due SKU (under the app's reference for a mapped one), made
    as it is read. 200,000 of them at once would be 110 MB; the plugin takes them a chunk at a time."""

    def __init__(self, due: list[tuple[str, int, int]], refs: dict[str, str]) -> None:
        self._due, self._refs = due, refs

    def __len__(self) -> int:
        return len(self._due)

    def _item(self, row: tuple[str, int, int]) -> StockItem:
        return StockItem(sku=self._refs.get(row[0], row[0]), quantity=row[1])

    @overload
    def __getitem__(self, index: int) -> StockItem: ...
    @overload
    def __getitem__(self, index: slice) -> list[StockItem]: ...
    def __getitem__(self, index: int | slice) -> StockItem | list[StockItem]:
        if isinstance(index, slice):
            return [self._item(row) for row in self._due[index]]
        return self._item(self._due[index])

    def __iter__(self) -> Iterator[StockItem]:
        return (self._item(row) for row in self._due)


def _pending_besides(host: Host, app_id: int, skus: set[str]) -> int:
    """How many of the app's SKUs are still pending from an earlier push (not among ``skus``, just sent)."""
    pending = host.db.execute("SELECT sku FROM stock_pushes WHERE app_id = ? AND outcome = 'pending'", (app_id,))
    return sum(1 for (sku,) in pending if sku not in skus)


def preview(host: Host, app: App, due: list[tuple[str, int, int]]) -> list[dict[str, Any]]:
    """What a push would send: the marketplace's current quantity -> the desired one. Writes nothing."""
    shown: dict[str, StockLevel] = {}
    if due and host.registry.implements(app.kind, "read_stock"):
        refs = references(host, app.id)
        back = {ref: sku for sku, ref in refs.items()}
        with installed.run(host, app) as ctx:
            for level in host.registry.read_stock(app.kind, ctx, [refs.get(s, s) for s, _, _ in due]):
                shown[back.get(level.sku, level.sku)] = level
    result = []
    for sku, qty, _ in due:
        level = shown.get(sku)
        result.append(
            {
                "sku": sku,
                "current": None if level is None else level.quantity,
                "send": qty,
                "note": "" if level is None else level.detail,
            }
        )
    return result


# How `stock list` names an outcome that is not a word of its own.
OUTCOME_SHOWN = {"not_listed": "not listed here", "recheck": "to be sent again"}
OFFERED = f"CASE WHEN d.quantity IS NULL THEN NULL ELSE {AVAILABLE} END"


def list_stock(host: Host, app: App | str | None = None, skus: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Per SKU and app with stock sync on, in the host's workspace: on hand, reserved, what the app is offered
    (``available``, after its buffer and cap), the last quantity pushed and its outcome. Without such apps, per SKU
    on hand, reserved and available. A SKU open orders reserve but never counted has no on hand and no available.
    ``skus``: of these SKUs only (a page of them: ``stock_reads.stock_page``)."""
    targets = [installed.get(host, app)] if app is not None else installed.list_apps(host)
    rows = [a for a in targets if host.app_info(a).settings.stock_sync]
    result = []
    only, only_params = "", {}
    if skus is not None:
        only = f" AND d.sku IN ({', '.join(f':sku{n}' for n in range(len(skus)))})"
        only_params = {f"sku{n}": sku for n, sku in enumerate(skus)}
    for row in rows:
        for rec in host.db.query(
            f"SELECT d.sku, d.quantity AS on_hand, d.reserved, {OFFERED} AS available, p.pushed_quantity, "
            "p.attempt_quantity, p.outcome, p.message, p.reference, p.attempt_at, COALESCE(p.warning, '') AS warning, "
            "r.reference AS marketplace_reference FROM desired_stock d "
            "LEFT JOIN stock_pushes p ON p.app_id = :app AND p.sku = d.sku "
            f"LEFT JOIN sku_references r ON r.app_id = :app AND r.sku = d.sku WHERE d.workspace_id = :workspace{only} "
            "ORDER BY d.sku",
            {**due_params(host, row), "workspace": row.workspace_id, **only_params},
        ):
            if rec["on_hand"] is None:
                shown = "not counted"
            else:
                shown = OUTCOME_SHOWN.get(rec["outcome"], rec["outcome"] or "not pushed")
            result.append({"app": row.name, **rec, "outcome": shown})
    if not targets and app is None:
        for rec in host.db.query(
            "SELECT sku, quantity AS on_hand, reserved, CASE WHEN quantity IS NULL THEN NULL "
            "ELSE MAX(0, quantity - reserved) END AS available FROM desired_stock d "
            f"WHERE workspace_id = :workspace{only} ORDER BY sku",
            {"workspace": workspaces.current_id(host), **only_params},
        ):
            result.append({"app": None, **rec, "pushed_quantity": None, "outcome": "no app with stock sync"})
    return result


def offered(on_hand: int, reserved: int, buffer: int, cap: int | None) -> int:
    """What an app is offered: max(0, on hand - reserved - its buffer), at most its cap (the SQL of ``AVAILABLE``)."""
    available = max(0, on_hand - reserved - buffer)
    return available if cap is None else min(cap, available)


def start_over(host: Host, app: App) -> None:
    """The app covers another marketplace now, where nothing was pushed: its push records go, and every desired
    quantity of its workspace gets a newer version, so that a push in any process finds them due (inside the
    caller's transaction). SKU mappings stay: they are the account's."""
    host.db.execute("DELETE FROM stock_pushes WHERE app_id = ?", (app.id,))
    host.db.execute(
        "UPDATE desired_stock SET version = ? + rowid WHERE workspace_id = ?", (_latest_version(host), app.workspace_id)
    )
    for memo in (_checked(host), _check_again(host), _pending_counts(host)):
        memo.pop(app.id, None)


def offer_changed(host: Host, app: App) -> None:
    """The app's buffer or cap changed: what it is offered may differ for every SKU of its workspace, so each gets a
    newer version and a push in any process looks again (inside the caller's transaction); only SKUs whose available
    quantity changed are sent."""
    host.db.execute(
        "UPDATE desired_stock SET version = ? + rowid WHERE workspace_id = ?", (_latest_version(host), app.workspace_id)
    )
    _checked(host).pop(app.id, None)


def forget_app(host: Host, app_id: int) -> None:
    """An app is removed: what was pushed to it, and its SKU references, go (inside the caller's transaction)."""
    host.db.execute("DELETE FROM stock_pushes WHERE app_id = ?", (app_id,))
    host.db.execute("DELETE FROM sku_references WHERE app_id = ?", (app_id,))


def references(host: Host, app_id: int) -> dict[str, str]:
    """The seller's SKU -> the reference the app's marketplace knows it by, for the SKUs the seller mapped."""
    return dict(host.db.execute("SELECT sku, reference FROM sku_references WHERE app_id = ?", (app_id,)).fetchall())


def send_again(host: Host, app: App, skus: list[str], why: str) -> None:
    """Make SKUs due for the app on its next push, in any process: their rows become ``recheck`` and their desired
    version the newest (a push that found everything sent looks for a newer version first)."""
    with host.db.atomic():
        for start in range(0, len(skus), 500):
            chunk = skus[start : start + 500]
            marks = ",".join("?" * len(chunk))
            host.db.execute(
                f"UPDATE stock_pushes SET outcome = 'recheck', message = ?, retryable = 0 WHERE app_id = ? "
                f"AND sku IN ({marks})",
                [why, app.id, *chunk],
            )
            latest = _latest_version(host)
            host.db.conn.executemany(
                "UPDATE desired_stock SET version = ? WHERE workspace_id = ? AND sku = ?",
                [(latest + i + 1, app.workspace_id, sku) for i, sku in enumerate(chunk)],
            )
    _checked(host).pop(app.id, None)


def map_sku(host: Host, sku: str, app: App | str, reference: str) -> dict[str, Any]:
    """Send ``sku`` to ``app`` as ``reference`` from now on (its next push sends it under that reference)."""
    app = installed.get(host, app)
    sku, reference = check_sku(sku), check_sku(reference)
    for other, ref in references(host, app.id).items():
        if ref == reference and other != sku:
            raise UserError(f"{reference!r} is already the reference of SKU {other!r} for {app.name}; unmap that first")
    if (
        reference != sku
        and host.db.execute(
            "SELECT 1 FROM desired_stock WHERE workspace_id = ? AND sku = ?", (app.workspace_id, reference)
        ).fetchone()
    ):
        raise UserError(
            f"{reference!r} is another of your SKUs; {app.name} could not tell the two apart. Map that SKU to a "
            "reference of its own first, or use a different reference"
        )
    with host.db.atomic():
        installed.require_present(host, app.id, app.name)
        host.db.execute(
            "INSERT INTO sku_references (app_id, sku, reference) VALUES (?, ?, ?) "
            "ON CONFLICT(app_id, sku) DO UPDATE SET reference = excluded.reference",
            (app.id, sku, reference),
        )
    send_again(host, app, [sku], f"mapped to {reference}: sent on the next push")
    return {"app": app.name, "sku": sku, "reference": reference}


def unmap_sku(host: Host, sku: str, app: App | str) -> dict[str, Any]:
    """Send ``sku`` to ``app`` under its own name again."""
    app = installed.get(host, app)
    sku = check_sku(sku)
    reference = references(host, app.id).get(sku)
    if reference is None:
        raise UserError(f"SKU {sku!r} is not mapped for {app.name}: it goes out under its own name already")
    with host.db.atomic():
        host.db.execute("DELETE FROM sku_references WHERE app_id = ? AND sku = ?", (app.id, sku))
    send_again(host, app, [sku], "unmapped: sent under its own name on the next push")
    return {"app": app.name, "sku": sku, "reference": None, "was": reference}
