"""Locks: two imports (or two pushes) of one app never run at once, across threads and processes.

A lock is a file under ``$LINKOLIS_HOME/locks`` (mode 0600) held with ``flock``; whoever holds it writes its pid
there, so a refused command can say who holds it. The operating system releases it when the holder dies, even by
kill -9.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import Busy, UserError

FOLDER = "locks"


@contextmanager
def app_lock(home: Path, app_id: int, app_name: str, stream: str) -> Iterator[None]:
    """Hold app ``app_id``'s lock for ``stream`` (import or push), or raise ``Busy`` at once."""
    path = home / FOLDER / f"app-{app_id}-{stream}.lock"
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise UserError(f"cannot create the lock file {path}: {exc.strerror}") from None
    handle = os.fdopen(fd, "r+")
    try:
        if os.fstat(fd).st_mode & 0o077:  # made by an older linkolis, before lock files were private
            os.fchmod(fd, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = handle.readline().strip() or "another process"
            raise Busy(f"another {stream} of {app_name!r} is running ({holder}); try again when it ends") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n{stream} of {app_name!r}\n")
        handle.flush()
        yield
    finally:
        handle.close()


def holders(home: Path) -> list[str]:
    """Who holds a lock under ``home`` in another process, from their notes ("pid 123, import of 'Shop EU'")."""
    try:
        paths = sorted((home / FOLDER).glob("*.lock"))
    except OSError:
        return []
    own = f"pid {os.getpid()}"
    found = []
    for path in paths:
        try:
            handle = open(path, encoding="utf-8", errors="replace")
        except OSError:
            continue
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
                continue  # nobody holds it (closing releases our shared lock)
            except BlockingIOError:
                note = ", ".join(line.strip() for line in handle.read(500).splitlines() if line.strip())
            except OSError:
                continue
        if note and not note.startswith(own + ","):
            found.append(note)
    return found
