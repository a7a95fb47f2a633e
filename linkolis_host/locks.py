"""Locks: two imports (or two pushes) of one app never run at once, across threads and processes.

A lock is a file under ``$LINKOLIS_HOME/locks`` (mode 0600) held with the ``filelock`` package: ``flock`` on Linux
and macOS, ``LockFileEx`` on Windows, so the operating system releases it when the holder dies, even by kill -9.
Whoever holds ``app-1-import.lock`` writes a note beside it, ``app-1-import.holder`` ("pid 123" and what it does),
so a refused command can say who holds it. The note lives in a file of its own because Windows forbids other
processes to read a locked byte range, and it is removed before the lock is released.

A process that leaves something in the database only for as long as it lives (a quota token it waits for) names
itself by ``process_owner``: a lock it holds until it ends, ``locks/processes/pid-123-<random>.lock``, so another
process can prove it gone (``owner_gone``) without signals, which Windows lacks (``os.kill(pid, 0)`` there is a
CTRL_C_EVENT). The random part means a later process given the same pid never passes for it.

On PostgreSQL (``database`` a URL: the processes may be on many machines, sharing no folder) the same locks are
session advisory locks on one connection of this process (``_Session``), which the server releases when the
process dies or its connection drops; the threads of the process are kept apart by a set of the keys they hold. An
app's lock is the key pair (``stream_key(stream)``, app id); a process's owner name is a lock on its hash. Who holds a
lock is told by the server (``pg_locks`` and the connection's ``application_name``: pid and machine).
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
import threading
import zlib
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout

from . import postgres
from .errors import Busy, UserError

FOLDER = "locks"
PROCESSES = "processes"  # under FOLDER: a lock per process that names itself an owner

_OWNER_NAME = re.compile(r"pid-[0-9]+-[0-9a-f]+")
_owners: dict[str, tuple[int, str, FileLock]] = {}  # data directory -> (pid, name, its lock) of this process
_owners_lock = threading.Lock()


@contextmanager
def app_lock(home: Path, app_id: int, app_name: str, stream: str, database: Path | str | None = None) -> Iterator[None]:
    """Hold app ``app_id``'s lock for ``stream`` (import or push), or raise ``Busy`` at once. ``database``: a
    PostgreSQL URL takes the lock there, for every machine sharing it."""
    if postgres.is_url(database):
        with _session(str(database)).app_lock(app_id, app_name, stream):
            yield
        return
    path = home / FOLDER / f"app-{app_id}-{stream}.lock"
    note = _note_of(path)
    lock = FileLock(path, mode=0o600)
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        _keep_private(path)
        lock.acquire(blocking=False)
    except Timeout:
        holder = _read(note).partition("\n")[0].strip() or "another process"
        raise Busy(f"another {stream} of {app_name!r} is running ({holder}); try again when it ends") from None
    except OSError as exc:
        raise UserError(f"cannot create the lock file {path}: {exc.strerror or exc}") from None
    try:
        try:
            _write_private(note, f"pid {os.getpid()}\n{stream} of {app_name!r}\n")
        except OSError:
            pass  # the lock holds all the same; a refused command then names "another process"
        yield
    finally:
        with suppress(OSError):
            note.unlink()  # before the release: a note left behind would name a holder that is gone
        lock.release()


def is_held(home: Path, app_id: int, stream: str, database: Path | str | None = None) -> bool:
    """Whether app ``app_id``'s lock for ``stream`` is held now, by this process or another."""
    if postgres.is_url(database):
        return _session(str(database)).is_held(app_id, stream)
    probe = FileLock(home / FOLDER / f"app-{app_id}-{stream}.lock", mode=0o600)
    try:
        probe.acquire(blocking=False)
    except Timeout:
        return True
    except OSError:
        return False  # no lock folder yet: nothing ever held it
    probe.release()
    return False


def process_owner(home: Path, database: Path | str | None = None) -> str:
    """This process's name as the owner of what it leaves in ``home``'s database while it lives: the name of a lock
    it holds until it ends (taken on the first call; a forked child takes its own).

    :raises OSError: the lock file cannot be made (the disk full, the folder read-only).
    """
    if postgres.is_url(database):
        return _session(str(database)).owner()
    with _owners_lock:
        held = _owners.get(str(home))
        if held is not None and held[0] == os.getpid():
            return held[1]
        name = f"pid-{os.getpid()}-{secrets.token_hex(6)}"
        path = _owner_path(home, name)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock = FileLock(path, mode=0o600)
        lock.acquire(blocking=False)  # a new name: nobody else holds it
        _owners[str(home)] = (os.getpid(), name, lock)
        atexit.register(_let_go, home, name, lock, os.getpid())
        return name


def owner_gone(home: Path, name: str, database: Path | str | None = None) -> bool:
    """Whether the process ``process_owner`` called ``name`` has ended: its lock file is free (the operating system
    let go of it when the process died, kill -9 included) or gone. A gone owner's file is removed."""
    if postgres.is_url(database):
        return _session(str(database)).owner_gone(name)
    held = _owners.get(str(home))
    if held is not None and held[0] == os.getpid() and held[1] == name:
        return False
    if not _OWNER_NAME.fullmatch(name):
        return True  # no name process_owner gives: nobody holds it (and it names no file to look at)
    path = _owner_path(home, name)
    if not path.exists():
        return True  # made before the owner wrote anything, so removed by one who found it gone
    probe = FileLock(path, mode=0o600)
    try:
        probe.acquire(blocking=False)
    except Timeout:
        return False
    except OSError:
        return False  # cannot tell: it lives on as far as anyone knows
    try:
        with suppress(OSError):  # Windows removes no open file: a later look finds it free again
            path.unlink()  # held by us meanwhile, so nobody is told it lives
    finally:
        probe.release()
    return True


def _owner_path(home: Path, name: str) -> Path:
    return home / FOLDER / PROCESSES / f"{name}.lock"


def _let_go(home: Path, name: str, lock: FileLock, pid: int) -> None:
    """At a clean exit the owner removes its own file (a killed one leaves it to ``owner_gone``)."""
    if os.getpid() != pid:
        return  # a forked child exiting: the parent still lives
    with suppress(OSError):
        _owner_path(home, name).unlink()
    with suppress(Exception):
        lock.release()


def holders(home: Path, database: Path | str | None = None) -> list[str]:
    """Who holds a lock under ``home`` in another process, from their notes ("pid 123, import of 'Shop EU'")."""
    if postgres.is_url(database):
        return _session(str(database)).holders()
    try:
        paths = sorted((home / FOLDER).glob("*.lock"))
    except OSError:
        return []
    own = f"pid {os.getpid()}"
    found = []
    for path in paths:
        probe = FileLock(path, mode=0o600)
        try:
            probe.acquire(blocking=False)
        except Timeout:
            pass  # held, by another process or by another thread of this one
        except OSError:
            continue
        else:
            probe.release()  # nobody holds it
            continue
        note = ", ".join(line.strip() for line in _read(_note_of(path)).splitlines() if line.strip())
        if note and not note.startswith(own + ","):
            found.append(note)
    return found


def _note_of(lock: Path) -> Path:
    return lock.with_suffix(".holder")


def _read(note: Path) -> str:
    try:
        with open(note, encoding="utf-8", errors="replace") as handle:
            return handle.read(500)
    except OSError:
        return ""


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        if os.name == "posix" and os.fstat(fd).st_mode & 0o077:  # left by another umask or an older linkolis
            os.fchmod(fd, 0o600)
        handle.write(text)


def _keep_private(path: Path) -> None:
    """A lock file an older linkolis made readable by others is made 0600 (POSIX modes only; Windows has ACLs)."""
    if os.name != "posix":
        return
    with suppress(FileNotFoundError):
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)


# PostgreSQL: advisory locks (see the module).
OWNERS = 0x4C4B0003  # the first key of a process's owner lock (the second: a hash of its name)


def stream_key(stream: str) -> int:
    """The first key of an app's lock for ``stream`` ("import", "push", "cancel"...): a stable 31-bit hash."""
    return zlib.crc32(f"linkolis-{stream}".encode()) & 0x7FFFFFFF


class _Session:
    """This process's connection for its advisory locks on one PostgreSQL database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.application_name = f"linkolis pid {os.getpid()} on {_machine()}"
        self.conn = postgres.open_connection(url)
        self.conn.execute("SELECT set_config('application_name', %s, false)", (self.application_name,))
        self.lock = threading.Lock()
        self.held: set[tuple[int, int]] = set()
        self.leading: set[int] = set()
        self.name: str | None = None

    def _reconnect(self) -> None:
        """A connection the server dropped (a restart, a failover) took every lock with it: a new one, with none
        held (the units that held them fail at their next statement, on their own connections that went too)."""
        if self.conn.closed or self.conn.broken:
            with suppress(Exception):
                self.conn.close()
            self.conn = postgres.open_connection(self.url)
            self.conn.execute("SELECT set_config('application_name', %s, false)", (self.application_name,))
            self.held.clear()
            self.leading.clear()
            if self.name is not None:  # this process's owner name: held again, so no other takes it for gone
                self.conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (OWNERS, self.name))

    def _try(self, key: tuple[int, int]) -> bool:
        return self.conn.execute("SELECT pg_try_advisory_lock(%s, %s)", key).fetchone()[0]

    def _unlock(self, key: tuple[int, int]) -> None:
        self.conn.execute("SELECT pg_advisory_unlock(%s, %s)", key)

    @contextmanager
    def app_lock(self, app_id: int, app_name: str, stream: str) -> Iterator[None]:
        key = (stream_key(stream), app_id)
        with self.lock:
            self._reconnect()
            taken = key not in self.held and self._try(key)
            if taken:
                self.held.add(key)
        if not taken:
            holder = ", ".join(self._holding(key)) or "another process"
            raise Busy(f"another {stream} of {app_name!r} is running ({holder}); try again when it ends")
        try:
            yield
        finally:
            with self.lock:
                self.held.discard(key)
                with suppress(Exception):  # a connection gone took its locks with it
                    self._unlock(key)

    def is_held(self, app_id: int, stream: str) -> bool:
        key = (stream_key(stream), app_id)
        with self.lock:
            self._reconnect()
            if key in self.held:
                return True
            if self._try(key):
                self._unlock(key)
                return False
            return True

    def owner(self) -> str:
        with self.lock:
            self._reconnect()
            if self.name is None:
                name = f"pid-{os.getpid()}-{secrets.token_hex(6)}"
                self.conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (OWNERS, name))
                self.name = name
            return self.name

    def owner_gone(self, name: str) -> bool:
        with self.lock:
            self._reconnect()
            if name == self.name:
                return False
            if not self._try((OWNERS, self.conn.execute("SELECT hashtext(%s)", (name,)).fetchone()[0])):
                return False
            self.conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (OWNERS, name))
            return True

    def _holding(self, key: tuple[int, int] | None = None) -> list[str]:
        """The ``application_name`` of the connections holding ``key`` (any app lock without one)."""
        # An app lock is the two-key form (objsubid 2); linkolis's write and migration locks are one-key.
        where = "l.classid::bigint = %s AND l.objid::bigint = %s" if key else "l.classid::bigint <> %s"
        params = key if key else (OWNERS,)
        # This process's own session too: another thread of this command may hold it.
        with self.lock:
            rows = self.conn.execute(
                "SELECT DISTINCT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                f"WHERE l.locktype = 'advisory' AND l.objsubid = 2 AND l.granted AND {where}",
                params,
            ).fetchall()
        return sorted((r[0] or "another program").removeprefix("linkolis ") for r in rows)

    def holders(self) -> list[str]:
        return self._holding()

    def lead(self, key: int) -> bool:
        with self.lock:
            self._reconnect()
            if key not in self.leading and self.conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                self.leading.add(key)
            return key in self.leading


_sessions: dict[tuple[int, str], _Session] = {}


def forget(url: str) -> None:
    """Close this process's lock session on ``url`` (its locks go with it): the database is done with."""
    with _owners_lock:
        session = _sessions.pop((os.getpid(), url), None)
    if session is not None:
        with suppress(Exception):
            session.conn.close()


def _session(url: str) -> _Session:
    """This process's lock session on ``url`` (a forked child opens its own: the parent's locks are not its)."""
    with _owners_lock:
        key = (os.getpid(), url)
        if key not in _sessions:
            _sessions[key] = _Session(url)
        return _sessions[key]


def lead(url: str, key: int) -> bool:
    """Whether this process leads what ``key`` names among all processes on the PostgreSQL database at ``url``: a
    one-key advisory lock taken when free and kept for the process's life (the server lets it go when the process
    dies or its connection drops, and the next to ask leads)."""
    return _session(url).lead(key)


def _machine() -> str:
    import socket

    return socket.gethostname()
