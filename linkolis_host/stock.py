"""Stock: the seller sets desired quantities; each app with stock sync on is handed the latest desired quantity of
every SKU whose last push was not that quantity (coalesced, never a stale one), and each outcome is kept.

A push marks what it sends as ``sending`` when the plugin answers its first outcome, so an interrupted push is
sent again; a push that fails before that (its token refresh fails, say) leaves every SKU as it was, still due. An
outcome about an older quantity than the one last sent is stale and dropped.

Desired quantities are a workspace's (SKUs are unique per workspace); an app is handed its own workspace's.

An app is handed only what its marketplace lists: a SKU the plugin answers ``not_listed`` for is sold elsewhere,
and is not handed to that app again, whatever its quantity, until the app's listings are read again (`stock
verify` finds it listed) or the seller maps or unmaps it for that app. A mapped SKU goes to the app under the
marketplace reference the seller gave (``sku_references``); the plugin sees only the reference, and the host
keys every outcome back to the seller's SKU.

Owns the tables ``desired_stock``, ``stock_pushes`` and ``sku_references``.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import stat
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Iterator, overload

from . import installed, workspaces
from .context import Progress
from .errors import UserError
from .host import Host
from .installed import App
from .models import MAX_QUANTITY, StockItem, StockLevel, StockOutcome
from .orders import require_authorized
from .store import apps_having
from .terminal import plural, unsafe_characters


def _check_sku(sku: str) -> str:
    sku = sku.strip()
    if not sku:
        raise UserError("a SKU cannot be empty")
    if len(sku) > 200:
        raise UserError(f"{sku[:40]!r}… is not a SKU (at most 200 characters)")
    unsafe = unsafe_characters(sku)
    if unsafe:
        raise UserError(f"{sku[:40]!r} is not a SKU: it contains control or format characters ({', '.join(unsafe)})")
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


UPSERT_DESIRED = (
    "INSERT INTO desired_stock (workspace_id, sku, quantity, version, updated_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT(workspace_id, sku) DO UPDATE SET quantity = excluded.quantity, version = excluded.version, "
    "updated_at = excluded.updated_at"
)


def _write_desired(host: Host, pairs: list[tuple[str, int]]) -> None:
    workspace_id = workspaces.current_id(host, create=True)
    now = host.clock.now().isoformat(timespec="seconds")
    with host.db.atomic():
        version = _newest_version(host)
        host.db.conn.executemany(
            UPSERT_DESIRED, [(workspace_id, sku, qty, version + i + 1, now) for i, (sku, qty) in enumerate(pairs)]
        )


def _newest_version(host: Host) -> int:
    return host.db.execute("SELECT COALESCE(MAX(version), 0) FROM desired_stock").fetchone()[0]


def set_stock(host: Host, sku: str, quantity: str | int) -> dict[str, Any]:
    pair = (_check_sku(sku), _check_quantity(quantity))
    _write_desired(host, [pair])
    return {"sku": pair[0], "quantity": pair[1]}


# A stock file is a few hundred thousand lines at most; anything bigger is the wrong file.
MAX_STOCK_FILE_BYTES = 50 * 1024 * 1024


def _open_stock_file(path: Path, stdin: BinaryIO | None) -> BinaryIO:
    """The file to read, refusing before reading what is not a regular file or is over the size limit (standard
    input is read whole, at most the limit: it cannot be read twice)."""
    limit = f"{MAX_STOCK_FILE_BYTES // (1024 * 1024)} MB"
    if stdin is not None:
        data = stdin.read(MAX_STOCK_FILE_BYTES + 1)
        if len(data) > MAX_STOCK_FILE_BYTES:
            raise UserError(f"standard input holds more than {limit}: that is not a stock file")
        return io.BytesIO(data)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below like any non-regular file.
        # O_BINARY (Windows only): the bytes as they are, line endings included.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    handle = os.fdopen(fd, "rb")
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        handle.close()
        what = (
            "a directory"
            if stat.S_ISDIR(info.st_mode)
            else "a pipe"
            if stat.S_ISFIFO(info.st_mode)
            else "a device"
            if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
            else "a socket"
        )
        raise UserError(f"{path} is {what}, not a regular file; give a CSV file (or '-' to read standard input)")
    if info.st_size > MAX_STOCK_FILE_BYTES:
        handle.close()
        raise UserError(
            f"{path} is {info.st_size:,} bytes, over the {limit} a stock file may be; is it the right file? Split it "
            "if it is"
        )
    return handle


class _Limited(io.RawIOBase):
    """``source`` read as it is, refusing (``UserError``) once more than ``MAX_STOCK_FILE_BYTES`` came out of it:
    a file that grew while it was read, an upload that is not a stock file."""

    def __init__(self, source: BinaryIO, name: str) -> None:
        self.source, self.name, self.count = source, name, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self.source.read(len(buffer))
        except OSError as exc:
            raise UserError(f"cannot read {self.name}: {exc.strerror or exc}") from None
        self.count += len(data)
        if self.count > MAX_STOCK_FILE_BYTES:
            raise UserError(f"{self.name} is over the {MAX_STOCK_FILE_BYTES // (1024 * 1024)} MB a stock file may be")
        buffer[: len(data)] = data
        return len(data)


def _bad_byte_line(source: BinaryIO) -> int:
    """The line of the first byte in ``source`` (read from its start) that is not UTF-8."""
    source.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    line = 1
    while True:
        chunk = source.read(1 << 16)
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            return line + chunk[: max(0, exc.start - pending)].count(b"\n")
        if not chunk:
            return line
        line += chunk.count(b"\n")


def _delimiter(header_line: str) -> str:
    """``;`` when the header says so (Excel writes it where the decimal separator is a comma), else ``,``."""
    return ";" if ";" in header_line and "," not in header_line else ","


LOAD_BATCH = 2000  # rows of a stock file written at a time


def load_stock(host: Host, path: Path, stdin: BinaryIO | None = None) -> int:
    """Record every row of a ``sku,quantity`` CSV, or none of them when any row is bad.

    ``stdin``: read the rows from this stream instead (``path`` is then only how messages name it). The separator
    is ``,`` or ``;``, told by the header line; a UTF-8 byte order mark is fine. Rows are written as they are read,
    in one transaction that is rolled back when a bad row turns up: a file of 200,000 rows is never held as rows.
    """
    name = "standard input" if stdin is not None else str(path)
    with _open_stock_file(path, stdin) as source:
        return load_stock_stream(host, source, name)


def load_stock_stream(host: Host, source: BinaryIO, name: str) -> int:
    """``load_stock`` for a file already open (a seller's upload, say), read a piece at a time: at most
    ``MAX_STOCK_FILE_BYTES`` of it, never whole in memory. ``source`` must be seekable (to name the line of a byte
    that is not UTF-8); ``name`` is how messages call it."""
    text = io.TextIOWrapper(io.BufferedReader(_Limited(source, name)), encoding="utf-8-sig", newline="")
    try:
        return _load_rows(host, name, text)
    except UnicodeDecodeError:
        line = _bad_byte_line(source)
        raise UserError(f'{name} is not UTF-8 text (line {line}); save it as "CSV UTF-8"') from None
    finally:
        text.detach()  # the caller's to close


class _BadRows(Exception):
    """Raised inside the load's transaction so that nothing of a file with a bad row is applied."""


# The longest line read whole: two fields at the csv module's limit and then some. A longer one is no stock row,
# and is refused when it is this long, not read on to its end (45 MB without a line break would be 45 MB of text).
LINE_LIMIT = 4 * csv.field_size_limit()


def _lines(text: io.TextIOWrapper) -> Iterator[str]:
    while line := text.readline(LINE_LIMIT):
        if len(line) >= LINE_LIMIT and not line.endswith(("\n", "\r")):
            raise csv.Error(f"field larger than field limit ({csv.field_size_limit()})")
        yield line


def _load_rows(host: Host, name: str, text: io.TextIOWrapper) -> int:
    lines = _lines(text)
    try:
        first_line = next(lines, "")
    except csv.Error as exc:
        raise UserError(f"{name}: line 1: {_csv_problem(exc)}") from None
    reader = csv.reader(itertools.chain([first_line], lines), delimiter=_delimiter(first_line))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise UserError(f"{name}: line 1: {exc}") from None
    if header is None or [h.strip().lower() for h in header] != ["sku", "quantity"]:
        raise UserError(f"{name}: the first line must be the header `sku,quantity` (or `sku;quantity`)")
    workspace_id = workspaces.current_id(host, create=True)
    now = host.clock.now().isoformat(timespec="seconds")
    first_seen: dict[str, int] = {}  # SKU -> its line: a SKU given twice is refused
    errors: list[str] = []
    batch: list[tuple[int, str, int, int, str]] = []
    try:
        with host.db.atomic():
            version = _newest_version(host)
            for number, record in _records(reader, errors):
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
                if errors:
                    continue  # nothing will be applied: only look for more bad rows
                batch.append((workspace_id, sku, qty, version + len(first_seen), now))
                if len(batch) >= LOAD_BATCH:
                    host.db.conn.executemany(UPSERT_DESIRED, batch)
                    batch = []
            if errors:
                raise _BadRows
            host.db.conn.executemany(UPSERT_DESIRED, batch)
    except _BadRows:
        shown = "\n  ".join(errors[:20]) + (f"\n  … and {len(errors) - 20} more" if len(errors) > 20 else "")
        raise UserError(f"{name}: {plural(len(errors), 'bad row')}, nothing was applied:\n  {shown}") from None
    return len(first_seen)


def _records(reader: Any, errors: list[str]) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each record after the header; a quoted field running over lines is an error."""
    while True:
        number = reader.line_num + 1  # where the next record starts
        try:
            record = next(reader, None)
        except csv.Error as exc:
            errors.append(f"line {reader.line_num}: {_csv_problem(exc)}")
            return  # the csv module cannot go on after this
        if record is None:
            return
        if reader.line_num > number or any("\n" in cell or "\r" in cell for cell in record):
            errors.append(f"line {number}: a quoted field runs on to line {reader.line_num} (a quote left open?)")
            continue
        yield number, record


def _csv_problem(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return f"a field is longer than {csv.field_size_limit():,} characters (a quote left open?)"
    return str(exc)


def stock_due(host: Host, app_id: int) -> list[tuple[str, int, int]]:
    """(sku, quantity, version) the app must be sent: its latest desired quantity differs from the last one sent,
    or the last send's outcome is unknown (interrupted) or was a rejection that retrying can cure, or it is to be
    sent again (``recheck``: listed after all, or mapped). Never a SKU the marketplace does not list. Only the
    desired quantities of the app's own workspace."""
    return [tuple(r) for r in host.db.execute(DUE + " ORDER BY d.version", (app_id,))]


DUE = (
    "SELECT d.sku, d.quantity, d.version FROM apps a JOIN desired_stock d ON d.workspace_id = a.workspace_id "
    "LEFT JOIN stock_pushes p ON p.app_id = a.id AND p.sku = d.sku WHERE a.id = ? AND ("
    "p.sku IS NULL OR p.outcome IN ('sending', 'recheck') "
    "OR (p.outcome != 'not_listed' AND p.attempt_quantity IS NOT d.quantity) "
    "OR (p.outcome = 'rejected' AND p.retryable = 1))"
)


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


def _due_now(host: Host, app_id: int, any_one: bool = False) -> tuple[list[tuple[str, int, int]], int]:
    """``stock_due``, and the latest desired version read just before it; a few indexed reads instead of the due
    query when nothing can be due: no desired quantity newer than the last check found sent, and no row of the
    app interrupted ('sending') or rejected retryably (a push from another process leaves those when it must).
    ``any_one``: only whether anything is due, as at most one row (the first found, not the oldest)."""
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
        return [tuple(r) for r in host.db.execute(DUE + " LIMIT 1", (app_id,))], latest
    return stock_due(host, app_id), latest


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
        summary["note"] = (
            "stock update sync is off for this app; turn it on with `linkolis apps configure "
            f"{app.name!r} --stock-sync`"
        )
        return summary
    due, latest = _due_now(host, app.id, any_one=not dry_run)  # the whole of it is read under the push lock
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
        due, latest = _due_now(host, app.id)  # under the lock: another push may have just sent them
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

        def flush() -> None:
            """Record what the plugin has told so far: at each 500, before each write to its state, at the end."""
            nonlocal chunk
            told, chunk = chunk, []
            record_outcomes(host, app.id, told, summary)
            progress.advance(len(told))

        ctx.state.before_write = flush  # a plugin that forgets what it told (a finished feed) has had it recorded
        try:
            for outcome in host.registry.push_stock(app.kind, ctx, items):
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
        if ctx.check_again_at is not None:  # a wall time: how long from now, on the monotonic clock
            _check_again(host)[app.id] = host.clock.monotonic() + (ctx.check_again_at - host.clock.time())
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


def list_stock(host: Host, app: App | str | None = None) -> list[dict[str, Any]]:
    """Desired, last pushed and last outcome per SKU and app (apps with stock sync on), in the host's workspace."""
    targets = [installed.get(host, app)] if app is not None else installed.list_apps(host)
    rows = [a for a in targets if host.app_info(a).settings.stock_sync]
    result = []
    for row in rows:
        for rec in host.db.query(
            "SELECT d.sku, d.quantity AS desired, p.pushed_quantity, p.attempt_quantity, p.outcome, p.message, "
            "p.reference, p.attempt_at, COALESCE(p.warning, '') AS warning, r.reference AS marketplace_reference "
            "FROM desired_stock d LEFT JOIN stock_pushes p ON p.app_id = ? AND p.sku = d.sku "
            "LEFT JOIN sku_references r ON r.app_id = ? AND r.sku = d.sku WHERE d.workspace_id = ? ORDER BY d.sku",
            [row.id, row.id, row.workspace_id],
        ):
            shown = OUTCOME_SHOWN.get(rec["outcome"], rec["outcome"] or "not pushed")
            result.append({"app": row.name, **rec, "outcome": shown})
    if not targets and app is None:
        for rec in host.db.query(
            "SELECT sku, quantity AS desired FROM desired_stock WHERE workspace_id = ? ORDER BY sku",
            [workspaces.current_id(host)],
        ):
            result.append({"app": None, **rec, "pushed_quantity": None, "outcome": "no app with stock sync"})
    return result


def verify_stock(host: Host, app: App | str) -> list[dict[str, Any]]:
    """Read back what the marketplace shows and compare with desired and last pushed."""
    app = installed.get(host, app)
    require_authorized(app)
    desired = {
        r["sku"]: r
        for r in host.db.query(
            "SELECT d.sku, d.quantity, p.pushed_quantity, p.pushed_at, p.attempt_quantity, p.outcome, p.message "
            "FROM desired_stock d LEFT JOIN stock_pushes p ON p.app_id = ? AND p.sku = d.sku WHERE d.workspace_id = ?",
            [app.id, app.workspace_id],
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
        _send_again(host, app, relisted, "listed here now: sent on the next push")
        for sku in relisted:
            desired[sku]["outcome"] = "recheck"
    now = host.clock.now()
    report = []
    for level in levels:
        want = desired.get(level.sku)
        entry = {
            "sku": level.sku,
            "desired": want and want["quantity"],
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
            entry["state"] = "no desired quantity"
        elif level.quantity == want["quantity"]:
            entry["state"] = "in sync"
        elif want["outcome"] == "rejected" and want["attempt_quantity"] == want["quantity"]:
            entry["state"] = f"rejected: {want['message']}"
        elif want["outcome"] in ("pending", "sending") or want["pushed_quantity"] != want["quantity"]:
            entry["state"] = "push pending"
        elif _within_delay(want["pushed_at"], now, level.publication_delay):
            entry["state"] = "accepted, not yet visible"
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


def forget_app(host: Host, app_id: int) -> None:
    """An app is removed: what was pushed to it, and its SKU references, go (inside the caller's transaction)."""
    host.db.execute("DELETE FROM stock_pushes WHERE app_id = ?", (app_id,))
    host.db.execute("DELETE FROM sku_references WHERE app_id = ?", (app_id,))


def references(host: Host, app_id: int) -> dict[str, str]:
    """The seller's SKU -> the reference the app's marketplace knows it by, for the SKUs the seller mapped."""
    return dict(host.db.execute("SELECT sku, reference FROM sku_references WHERE app_id = ?", (app_id,)).fetchall())


def _send_again(host: Host, app: App, skus: list[str], why: str) -> None:
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
    sku, reference = _check_sku(sku), _check_sku(reference)
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
    _send_again(host, app, [sku], f"mapped to {reference}: sent on the next push")
    return {"app": app.name, "sku": sku, "reference": reference}


def unmap_sku(host: Host, sku: str, app: App | str) -> dict[str, Any]:
    """Send ``sku`` to ``app`` under its own name again."""
    app = installed.get(host, app)
    sku = _check_sku(sku)
    reference = references(host, app.id).get(sku)
    if reference is None:
        raise UserError(f"SKU {sku!r} is not mapped for {app.name}: it goes out under its own name already")
    with host.db.atomic():
        host.db.execute("DELETE FROM sku_references WHERE app_id = ? AND sku = ?", (app.id, sku))
    _send_again(host, app, [sku], "unmapped: sent under its own name on the next push")
    return {"app": app.name, "sku": sku, "reference": None, "was": reference}
