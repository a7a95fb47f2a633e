"""The host's sqlite database: opening it (brought up to date by ``migrations``), its write transactions, and clear
errors for what is wrong with the file.

One file, ``$LINKOLIS_HOME/linkolis.db``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from sqlite_utils import Database

from . import backup, locks, postgres
from .errors import Action, Busy, LinkolisError, UserError
from .migrations import migrations

DB_FILE = "linkolis.db"
# A write waits NOTICE_AFTER seconds for another process's write to end, says so on stderr, and gives up after
# LOCK_WAIT seconds in all (the connection's busy timeout).
NOTICE_AFTER = 2.0
LOCK_WAIT = 30.0
BACKOFF_MAX = 0.005  # seconds: the longest pause between two tries for a write lock another process holds

_log = logging.getLogger("linkolis.store")

# What a database may raise on either dialect: SQLite's errors, and PostgreSQL's driver's when it is installed.
ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error, *postgres.ERRORS)


def apps_having(db: Database, table: str, column: str, values: Iterable[str]) -> set[int]:
    """The distinct ``app_id`` of ``table``'s rows whose ``column`` is one of ``values``, by one seek of an index on
    (column, app_id) per app found: SQLite's DISTINCT would read every matching row, and a pending feed has 25,000."""
    found: set[int] = set()
    query = f"SELECT app_id FROM {table} WHERE {column} = ? AND app_id > ? ORDER BY app_id LIMIT 1"
    for value in values:
        last = -1
        while (row := db.execute(query, (value, last)).fetchone()) is not None:
            last = row[0]
            found.add(last)
    return found


class HostDatabase(Database):
    """sqlite-utils' Database, whose outermost ``atomic()`` takes the write lock at once (``BEGIN IMMEDIATE``).

    With a plain ``BEGIN``, a transaction that reads before it writes (``Table.update`` does) fails at once with
    "database is locked", busy timeout or not, when another connection committed in between: in WAL mode a stale
    read snapshot cannot become a write. ``sync --watch`` imports and pushes on two connections at the same time.

    When another process holds the write lock, ``atomic()`` says so through ``say`` after ``NOTICE_AFTER`` seconds
    and gives up with ``Busy`` when the busy timeout (``LOCK_WAIT``) is spent. A database opened read-only
    (``read_only`` says why) refuses ``atomic()`` with a clear message, not SQLite's "attempt to write a readonly
    database".
    """

    dialect = "sqlite"
    path: Path | None = None
    read_only: str | None = None
    say: Callable[[str], None] = staticmethod(_log.warning)

    @contextlib.contextmanager
    def atomic(self) -> Iterator[HostDatabase]:
        if self.conn.in_transaction:
            with super().atomic():
                yield self
            return
        with process_writer(self):
            with self._transaction():
                yield self

    def write_one(self, sql: str, params: Any = ()) -> list[tuple]:
        """One statement that writes, as a transaction of its own (inside ``atomic()``: a part of that one); its
        rows (``RETURNING``). Here it takes the write lock as ``atomic()`` does; on PostgreSQL it is one round trip
        that takes no write lock (``postgres.PgDatabase.write_one``), so only for a statement whose effect no
        other write transaction reads to decide what it writes: a stamp, a note of when something ran."""
        with self.atomic():
            return self.execute(sql, params).fetchall()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[HostDatabase]:
        self._begin()
        _writing[id(self)] = _this_thread()
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
        finally:
            _writing.pop(id(self), None)

    def _begin(self) -> None:
        """``BEGIN IMMEDIATE``, waiting for another writer as long as the connection's busy timeout says."""
        if self.read_only:
            raise UserError(f"this command needs to write to {self.path}, which is open read-only: {self.read_only}")
        total = self.conn.execute("PRAGMA busy_timeout").fetchone()[0]
        first = min(total, int(NOTICE_AFTER * 1000))
        noticed = False

        def waiting(waited_ms: float, ours: bool) -> None:
            nonlocal noticed
            # Another thread of this command holds it (a write outside ``atomic()``): wait on quietly, as for any
            # short write of our own.
            if not noticed and not ours and first < total and waited_ms >= first:
                noticed = True
                self.say(
                    f"{self.path} is busy: {_who_writes(self.path)} is writing to it; "
                    f"waiting up to {(total - first) / 1000:g} s more for it to finish…"
                )

        try:
            begin_immediate(self.conn, total, waiting)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorname != "SQLITE_BUSY":
                raise
            if _writing.keys() - {id(self)}:
                _name_holder(exc, self.path, id(self))
                raise
            raise Busy(_busy_message(self.path, total, _who_writes(self.path, id(self)))) from None


def begin_immediate(
    conn: sqlite3.Connection, total_ms: float, waiting: Callable[[float, bool], None] | None = None
) -> None:
    """``BEGIN IMMEDIATE`` on ``conn``, trying again for up to ``total_ms`` while another process writes, after
    pauses from 0.5 ms doubling to ``BACKOFF_MAX`` (jittered): SQLite's busy handler sleeps in steps of up to 100 ms
    and may wake to find the lock taken again, a wait far longer than the transactions it waits for. ``waiting`` is
    told, between tries, the milliseconds waited and whether a thread of this process holds the lock. The last
    ``SQLITE_BUSY`` error is raised when the time is spent; the connection's busy timeout is as it was."""
    saved = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute("PRAGMA busy_timeout=0")
    started, pause = time.monotonic(), 0.0005
    try:
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorname != "SQLITE_BUSY":
                    raise
                waited_ms = (time.monotonic() - started) * 1000
                if waited_ms >= total_ms:
                    raise
                if waiting is not None:
                    waiting(waited_ms, bool(_writing))
                time.sleep(min(pause * random.uniform(0.5, 1.0), (total_ms - waited_ms) / 1000))
                pause = min(pause * 2, BACKOFF_MAX)
    finally:
        conn.execute(f"PRAGMA busy_timeout={saved}")


# The write transactions of this process (a HostDatabase's ``atomic()``, the rate limiter's): id of the connection
# -> the thread holding it. When one waits for the write lock and another of them holds it, the wait is between two
# threads of one command, and a message says so rather than blaming another process.
_writing: dict[int, str] = {}


# Taken before ``BEGIN IMMEDIATE`` by every write transaction of this process (``atomic()``, the rate limiter's): the
# threads of one process wait for each other here, handed the lock the moment it is free, rather than in SQLite's
# busy handler, which sleeps in steps of up to 100 ms and may find the lock taken again each time it wakes (measured,
# 16 threads: waits of up to 0.93 s for transactions of a millisecond). Other processes still meet in SQLite's.
_process_writer = threading.RLock()


def _forked() -> None:
    """A child forked while a thread of its parent wrote holds no transaction of that thread's: it starts afresh."""
    global _process_writer
    _process_writer = threading.RLock()
    _writing.clear()


os.register_at_fork(after_in_child=_forked)


@contextlib.contextmanager
def process_writer(connection: Any) -> Iterator[None]:
    """Hold this process's turn to write, waiting at most the connection's busy timeout; then a ``SQLITE_BUSY``
    error naming the thread that holds it (``cannot_write`` words it), as SQLite's own wait would end."""
    conn = getattr(connection, "conn", connection)
    timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0] / 1000
    if not _process_writer.acquire(timeout=timeout):
        refused = sqlite3.OperationalError("database is locked")
        refused.sqlite_errorcode, refused.sqlite_errorname = sqlite3.SQLITE_BUSY, "SQLITE_BUSY"  # type: ignore[attr-defined]
        refused.linkolis_holder = _who_writes(getattr(connection, "path", None), id(connection))  # type: ignore[attr-defined]
        raise refused
    try:
        yield
    finally:
        _process_writer.release()


def _this_thread() -> str:
    return threading.current_thread().name


@contextlib.contextmanager
def writing(connection: object) -> Iterator[None]:
    """Note, while the block runs, that ``connection`` (one not opened by ``connect``) holds the write lock."""
    _writing[id(connection)] = _this_thread()
    try:
        yield
    finally:
        _writing.pop(id(connection), None)


def _who_writes(path: Path | None, me: int | None = None) -> str:
    """Who holds the database, as far as linkolis can tell: a thread of this process in a write transaction (other
    than ``me``'s connection), else the pid notes of the app locks held elsewhere."""
    ours = sorted({name for key, name in list(_writing.items()) if key != me})
    if ours:
        return f"this linkolis process's own thread {', '.join(ours)} (pid {os.getpid()})"
    holders = locks.holders(path.parent) if path is not None else []
    if holders:
        return "another linkolis process (" + "; ".join(holders) + ")"
    return "another linkolis process (or another program with the database open)"


def _name_holder(exc: sqlite3.OperationalError, path: Path | None, me: int) -> None:
    """Note on ``exc`` who held the lock when the wait ended: ``cannot_write`` says it, when it may be gone."""
    exc.linkolis_holder = _who_writes(path, me)  # type: ignore[attr-defined]


def _busy_message(path: Path | None, waited_ms: float, who: str | None = None) -> str:
    return (
        f"{path or 'the database'} stayed locked by {who or _who_writes(path)} for {waited_ms / 1000:g} s; "
        "nothing was changed: try again when it ends"
    )


def explain(exc: BaseException, path: Path | str | None = None) -> LinkolisError | None:
    """A clear error for what SQLite says about the database file itself, or for a PostgreSQL server that cannot
    be used; None for anything else (a bug)."""
    if not isinstance(exc, sqlite3.Error):
        return postgres.explain(exc)
    where = path or "the database"
    name = getattr(exc, "sqlite_errorname", "")
    if name in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
        return UserError(
            f"{where} is damaged or is not a linkolis database ({exc}); restore it from a backup, or "
            "move it aside to start with an empty one"
        )
    if name == "SQLITE_BUSY":
        return Busy(_busy_message(Path(path) if path else None, LOCK_WAIT * 1000))
    if name == "SQLITE_READONLY":
        return UserError(f"this command needs to write to {where}, which cannot be written here ({exc})")
    if name == "SQLITE_CANTOPEN":
        return UserError(f"cannot open {where}: check that it is a file you may read and write ({exc})")
    if name == "SQLITE_FULL":
        return UserError(f"the disk holding {where} is full; free some space and try again")
    if name.startswith("SQLITE_IOERR") or name == "SQLITE_PERM":
        return UserError(f"cannot read or write {where} ({exc})")
    return None


def cannot_write(exc: BaseException, path: Path | str | None = None) -> str | None:
    """What keeps writes from the database when the machine, not linkolis, is at fault and it may pass: the disk
    full, the file made read-only, an I/O error, the database locked too long by another process. A clause for a
    daemon that waits and tries again ("the disk holding … is full"), or the PostgreSQL server out of reach; None for
    anything else, a bug included.
    ``exc`` may be the SQLite error itself or an error raised while handling it."""
    for _ in range(5):  # the error itself, or what it was raised from
        name = getattr(exc, "sqlite_errorname", "")
        if name:
            break
        if postgres.explain(exc) is not None:  # the server restarting, the network: it may pass
            return "the PostgreSQL database cannot be reached"
        if exc.__cause__ is None and exc.__context__ is None:
            return None
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    where = path or "the database"
    if name == "SQLITE_FULL":
        return f"the disk holding {where} is full"
    if name.startswith("SQLITE_READONLY"):
        return f"{where} cannot be written ({exc})"
    if name.startswith("SQLITE_IOERR"):
        return f"{where} cannot be read or written ({exc})"
    if name.startswith("SQLITE_BUSY"):
        holder = getattr(exc, "linkolis_holder", None) or _who_writes(Path(path) if path else None)
        return f"{where} stays locked by {holder}"
    return None


def connect(path: Path | str, *, say: Callable[[str], None] | None = None) -> HostDatabase:
    """Open the database (creating it, mode 0600) and bring it up to date; a ``postgresql://`` URL opens that
    PostgreSQL database instead (``postgres.connect``), with the same surface.

    A database this user cannot write is opened read-only when it needs no migration, so commands that only
    read (``apps list``, ``orders list``) still work; one that does write gets a clear message from ``atomic()``.
    Whatever is wrong with the file (damaged, a directory, locked, unreadable) is a ``LinkolisError``.
    """
    if postgres.is_url(path):
        return postgres.connect(str(path), say=say)  # type: ignore[return-value]
    if str(path) == ":memory:":
        db = HostDatabase(sqlite3.connect(":memory:", check_same_thread=False))
        db.execute("PRAGMA foreign_keys=ON")
        migrations.apply(db)
        return db
    path = Path(path)
    try:
        if path.is_dir():
            raise UserError(
                f"{path} is a directory, not the database file: move it aside (linkolis then starts "
                "an empty database) or point LINKOLIS_HOME elsewhere"
            )
        read_only = _why_read_only(path)
        if read_only is None:
            db = _open_for_writing(path, say or _log.warning)
        else:
            db = _open_read_only(path, read_only)
    except sqlite3.Error as exc:
        error = explain(exc, path)
        if error is None:
            raise
        raise error from None
    if say is not None:
        db.say = say
    if db.read_only:
        db.say(f"{path} is open read-only: {db.read_only}")
    return db


def _may(path: Path, how: int) -> bool:
    """``os.access``: may this user read (``os.R_OK``) or write (``os.W_OK``) ``path``? A seam for tests, as root
    may read and write anything, whatever the mode says."""
    return os.access(path, how)


def _why_read_only(path: Path) -> str | None:
    if path.exists():
        if not _may(path, os.R_OK):
            raise UserError(
                f"cannot read {path}: it belongs to another user (uid {path.stat().st_uid}) and is not "
                "readable by you; start this as that user, or point LINKOLIS_HOME elsewhere",
                code="database_unreadable",
                action=Action.OPERATOR,
            )
        if not _may(path, os.W_OK):
            return "you may not write to it (it belongs to another user, or is read-only)"
        if not _may(path.parent, os.W_OK):
            return f"you may not create files in {path.parent}, which SQLite needs to write"
        return None
    if not _may(path.parent, os.W_OK):
        raise UserError(f"cannot create {path}: you may not create files in {path.parent}")
    return None


def _open_for_writing(path: Path, say: Callable[[str], None]) -> HostDatabase:
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    _keep_private(path)
    conn = sqlite3.connect(str(path), timeout=LOCK_WAIT, check_same_thread=False)
    opened = os.stat(path).st_ino  # the file this connection has: a restore may rename another over the name
    db = HostDatabase(conn)
    db.path = path
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA busy_timeout={int(LOCK_WAIT * 1000)}")
    db.execute("PRAGMA foreign_keys=ON")
    try:
        backup.upgrade(db, path, say, opened)  # newer: refused; older: backed up, migrated
    except BaseException:
        db.close()
        raise
    for suffix in ("-wal", "-shm"):  # SQLite makes them with the database's mode; an older one may differ
        _keep_private(path.with_name(path.name + suffix))
    return db


def _open_read_only(path: Path, reason: str) -> HostDatabase:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=LOCK_WAIT, check_same_thread=False)
    db = HostDatabase(conn)
    db.path, db.read_only = path, reason
    db.execute(f"PRAGMA busy_timeout={int(LOCK_WAIT * 1000)}")
    try:
        backup.refuse_newer(backup.level(db), path)
    except BaseException:
        db.close()
        raise
    if migrations.pending(db):
        db.close()
        raise UserError(
            f"{path} must be upgraded for this version of linkolis, but {reason}; start it once as a user who "
            "may write to it",
            code="database_not_upgraded",
            action=Action.OPERATOR,
        )
    return db


def _keep_private(path: Path) -> None:
    """Only the owner may read a database of buyers' names and addresses: 0600, whatever the umask was."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if os.name == "posix" and info.st_mode & 0o077 and info.st_uid == os.geteuid():
        os.chmod(path, 0o600)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def loads(text: str | None, default: Any = None) -> Any:
    return default if text is None else json.loads(text)
