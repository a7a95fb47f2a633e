"""Locks: two imports (or two pushes) of one app never run at once, across threads and processes.

A lock is a file under ``$LINKOLIS_HOME/locks`` held with ``flock``; whoever holds it writes its pid there, so a
refused command can say who holds it. The operating system releases it when the holder dies, even by kill -9.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import Busy


@contextmanager
def app_lock(home: Path, app_id: int, app_name: str, stream: str) -> Iterator[None]:
    """Hold app ``app_id``'s lock for ``stream`` (import or push), or raise ``Busy`` at once."""
    folder = home / "locks"
    folder.mkdir(exist_ok=True)
    handle = open(folder / f"app-{app_id}-{stream}.lock", "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise Busy(f"another {stream} of {app_name!r} is running ({holder}); try again when it ends") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()
