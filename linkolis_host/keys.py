"""Rotating the secret key: every sealed value re-encrypted under a new key, safe to kill at any moment.

Sealed values live in two places, on either store: ``credentials.ciphertext`` (an app's credentials) and
``plugin_state.value`` when it is ``{"sealed": …}`` (a plugin's cached access token, ``StateStore.set(secret=True)``).

With the key in the data directory (``secret.key``), ``rotate`` does it all, in three steps:

1. a new key is written durably as ``secret.key.next`` beside ``secret.key``. From then on every process opens with
   either key and seals with the new one (``secrets.SecretBox`` notices the file at its next use);
2. every sealed value not yet under the new key is re-encrypted, ``BATCH`` rows a write transaction; then all are
   checked again, for a value another process sealed with the old key while the first pass ran;
3. the old key is copied to ``secret.key.old-<UTC time>`` (0600: a backup of the database made before the rotation
   needs it), and ``secret.key.next`` is renamed over ``secret.key`` in one step.

Killed at any point, what is on disk opens every value (both keys are there until the rename, and the rename comes
after the last value is re-encrypted), and ``rotate`` run again goes on with the same ``secret.key.next``.

With the key in ``LINKOLIS_SECRET_KEY`` the host cannot change the environment of its processes, so the operator
does steps 1 and 3: a new key (``write_new_key`` writes one to a file the operator names, never to the screen) is
given to every process as ``LINKOLIS_SECRET_KEY_NEXT``, ``rotate`` does step 2, and the operator then moves the new
key to ``LINKOLIS_SECRET_KEY`` and unsets ``LINKOLIS_SECRET_KEY_NEXT``.
"""

from __future__ import annotations

import os
import re
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from . import locks, store
from .context import Progress
from .errors import Busy, SecretsError
from .secrets import ENV_KEY, ENV_NEXT, KEY_FILE, NEXT_FILE, KeyRing, sync_folder, write_key_file

if TYPE_CHECKING:
    from .host import Host

BATCH = 100  # rows re-encrypted in one write transaction: short enough not to hold other writers up
OLD_FILE = "secret.key.old-"  # + the UTC time of the rotation: the key before it, for backups made before it
PASSES = 5  # a pass that still finds values under the old key is followed by another, at most this many


@dataclass
class Rotation:
    """What ``rotate`` did. ``reencrypted``: values re-encrypted under the new key now; ``already``: found under it
    (re-encrypted by an earlier, interrupted run, or sealed since by a process that saw the new key);
    ``unopenable``: the apps with a value neither key opens (sealed with a key lost before; left as it was);
    ``key``: where the key in use now lives; ``old_key``: where the old one was kept (None: nowhere by the host);
    ``resumed``: an interrupted rotation was finished; ``finished``: the rotation is over (False with the key in the
    environment: the operator's step remains, ``next_step``)."""

    reencrypted: int = 0
    already: int = 0
    unopenable: list[str] = field(default_factory=list)
    key: str = ""
    old_key: str | None = None
    resumed: bool = False
    finished: bool = True
    next_step: str | None = None

    def as_data(self) -> dict[str, Any]:
        return {
            "reencrypted": self.reencrypted,
            "already": self.already,
            "unopenable": self.unopenable,
            "key": self.key,
            "old_key": self.old_key,
            "resumed": self.resumed,
            "finished": self.finished,
            "next_step": self.next_step,
        }


def environment_steps(where: str = "a file of yours") -> str:
    return (
        f"give every linkolis process (serve, sync --watch, worker) the new key as {ENV_NEXT} beside {ENV_KEY} and "
        f"restart them; rotate again (with both set); then move the new key to {ENV_KEY}, unset "
        f"{ENV_NEXT} and restart them again; keep the old key as long as a backup made before needs it. "
        f"The new key: {where}"
    )


def rotate(host: Host, progress: Progress | None = None) -> Rotation:
    """Re-encrypt every sealed value under a new key and make it the key in use (see the module's text).

    :raises SecretsError: the key is in ``LINKOLIS_SECRET_KEY`` and no ``LINKOLIS_SECRET_KEY_NEXT`` is given (the
        message says how), or a key file is unreadable or not a key.
    :raises Busy: another ``keys rotate`` runs for this data directory (or this PostgreSQL database).
    """
    progress = progress or Progress()
    with _one_rotation(host):
        ring = host.secrets.keys()
        done = Rotation(resumed=ring.next is not None and not ring.from_environment)
        if ring.from_environment and ring.next is None:
            raise SecretsError(
                f"the secret key is in the environment ({ENV_KEY}), which linkolis cannot rewrite, so a rotation takes "
                f"your hand: {environment_steps('the rotation writes one to a file you name (--new-key-file PATH)')}",
                code="secret_key_in_environment",
                values={"variable": ENV_KEY, "next": ENV_NEXT},
            )
        if ring.next is None:
            try:
                write_key_file(host.home / NEXT_FILE, Fernet.generate_key())
            except FileExistsError:
                pass  # another process began one a moment ago (it is not running: we hold the lock): go on with it
            ring = host.secrets.keys()
            assert ring.next is not None
        new = Fernet(ring.next)
        old = [Fernet(ring.current)] if ring.current is not None and ring.current != ring.next else []
        both = MultiFernet([new, *old])
        total = _count(host)
        progress.start(f"Re-encrypting {total:,} sealed values under the new key", total)
        for number in range(PASSES):
            found = _reencrypt(host, new, both, progress if number == 0 else None)
            done.reencrypted += found.reencrypted
            if number == 0:
                done.already, done.unopenable = found.already, found.unopenable
            if number and not found.reencrypted:
                break
        progress.finish()
        if ring.from_environment:
            done.finished = False
            done.key = ENV_NEXT
            done.next_step = (
                f"every value is now sealed with the key in {ENV_NEXT}: move that key to {ENV_KEY}, unset {ENV_NEXT} "
                "and restart every linkolis process; keep the old key as long as a backup made before needs it"
            )
            return done
        done.old_key = _keep_old_key(host.home, ring)
        os.replace(host.home / NEXT_FILE, host.home / KEY_FILE)
        sync_folder(host.home)
        done.key = str(host.home / KEY_FILE)
        # A process that sealed with the old key just before it saw the new one, and wrote after the passes above:
        # rare, and caught here while the old key is still at hand.
        done.reencrypted += _reencrypt(host, new, both, None).reencrypted
        return done


def write_new_key(path: Path) -> None:
    """Write a new key to ``path`` (0600; a file already there is never replaced), for an operator who gives the
    key to the processes as ``LINKOLIS_SECRET_KEY_NEXT`` or copies it to each data directory as ``secret.key.next``.

    :raises SecretsError: the file exists, or cannot be written.
    """
    try:
        write_key_file(path, Fernet.generate_key())
    except FileExistsError:
        raise SecretsError(
            f"{path} exists already; name a new file (a key is never written over another)",
            code="new_key_file_exists",
            values={"path": str(path)},
        ) from None
    except OSError as exc:
        raise SecretsError(
            f"cannot write the new key to {path}: {exc.strerror or exc}",
            code="new_key_file_unwritable",
            values={"path": str(path)},
        ) from None


# -- the rows ------------------------------------------------------------------------------------------------------


@dataclass
class _Pass:
    reencrypted: int = 0
    already: int = 0
    unopenable: list[str] = field(default_factory=list)


# Each place a sealed value lives: the rows after a key (keyset pagination), a row's sealed value, its new value.
_SEALED_STATE = "value LIKE '%\"sealed\"%'"


def _count(host: Host) -> int:
    credentials = host.db.execute("SELECT count(*) FROM credentials").fetchone()[0]
    state = host.db.execute(f"SELECT count(*) FROM plugin_state WHERE {_SEALED_STATE}").fetchone()[0]
    return int(credentials) + int(state)


def _reencrypt(host: Host, new: Fernet, both: MultiFernet, progress: Progress | None) -> _Pass:
    found = _Pass()
    unopenable: set[int] = set()
    for batch in _batches(host):
        _rewrite_batch(host, batch, new, both, found, unopenable)
        if progress is not None:
            progress.advance(len(batch))
    if unopenable:
        names = host.db.execute(
            f"SELECT name FROM apps WHERE id IN ({', '.join('?' * len(unopenable))}) ORDER BY name", sorted(unopenable)
        ).fetchall()
        found.unopenable = [row[0] for row in names]
    return found


def _batches(host: Host) -> Iterator[list[tuple[str, int, str, str]]]:
    """Batches of (table, app id, state key or "", stored text), in key order, each read when it is next."""
    after = -1
    while True:
        rows = host.db.execute(
            "SELECT app_id, ciphertext FROM credentials WHERE app_id > ? ORDER BY app_id LIMIT ?", (after, BATCH)
        ).fetchall()
        if not rows:
            break
        yield [("credentials", r[0], "", r[1]) for r in rows]
        after = rows[-1][0]
    last: tuple[int, str] = (-1, "")
    while True:
        rows = host.db.execute(
            f"SELECT app_id, key, value FROM plugin_state WHERE {_SEALED_STATE} AND (app_id > ? OR (app_id = ? AND "
            "key > ?)) ORDER BY app_id, key LIMIT ?",
            (last[0], last[0], last[1], BATCH),
        ).fetchall()
        if not rows:
            break
        yield [("plugin_state", r[0], r[1], r[2]) for r in rows]
        last = (rows[-1][0], rows[-1][1])


def _rewrite_batch(
    host: Host,
    batch: list[tuple[str, int, str, str]],
    new: Fernet,
    both: MultiFernet,
    found: _Pass,
    unopenable: set[int],
) -> None:
    """Re-encrypt the batch's values not under the new key yet, in one write transaction; a row changed since it was
    read (a new authorization, a refreshed token: sealed with the new key) is left to the next pass."""
    with host.db.atomic():
        for table, app_id, key, text in batch:
            holder = store.loads(text) if table == "plugin_state" else None
            if table == "plugin_state" and not (isinstance(holder, dict) and isinstance(holder.get("sealed"), str)):
                continue
            token = (holder["sealed"] if holder is not None else text or "").encode()
            try:
                new.decrypt(token)
                found.already += 1
                continue
            except InvalidToken:
                pass
            try:
                rotated = both.rotate(token).decode()
            except InvalidToken:
                unopenable.add(app_id)
                continue
            if table == "credentials":
                written = host.db.execute(
                    "UPDATE credentials SET ciphertext = ? WHERE app_id = ? AND ciphertext = ?",
                    (rotated, app_id, text),
                ).rowcount
            else:
                assert holder is not None
                written = host.db.execute(
                    "UPDATE plugin_state SET value = ? WHERE app_id = ? AND key = ? AND value = ?",
                    (store.dumps({**holder, "sealed": rotated}), app_id, key, text),
                ).rowcount
            found.reencrypted += written


# -- the key files -------------------------------------------------------------------------------------------------


def _keep_old_key(home: Path, ring: KeyRing) -> str | None:
    """Copy the old key to ``secret.key.old-<UTC time>`` (0600), unless a copy is there already (a rotation killed
    after it made one): where it is kept."""
    if ring.current is None or ring.current == ring.next:
        return None
    for kept in sorted(home.glob(OLD_FILE + "*")):
        try:
            if kept.read_bytes().strip() == ring.current:
                return str(kept)
        except OSError:
            continue
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = home / f"{OLD_FILE}{stamp}"
    number = 1
    while True:
        try:
            write_key_file(path, ring.current)
            return str(path)
        except FileExistsError:
            number += 1
            path = home / f"{OLD_FILE}{stamp}-{number}"


@contextmanager
def _one_rotation(host: Host) -> Iterator[None]:
    """One rotation at a time, for the data directory and for the PostgreSQL database every machine shares."""
    with ExitStack() as stack:
        try:
            stack.enter_context(locks.app_lock(host.home, 0, "the secret key", "key-rotation", host.database))
        except Busy as exc:
            holder = re.search(r"\(([^)]*)\)", str(exc))
            raise Busy(
                f"another `linkolis keys rotate` is running ({holder.group(1) if holder else 'another process'}); "
                "try again when it ends",
                code="key_rotation_running",
            ) from None
        yield
