"""Credentials encrypted at rest with Fernet (``cryptography``): authenticated encryption, a vetted recipe.

The key comes from ``LINKOLIS_SECRET_KEY`` (a Fernet key: 32 url-safe base64 bytes), or from
``$LINKOLIS_HOME/secret.key``, created (mode 0600) when the first value is sealed, never to open one. Losing the key
means authorizing again; it never means a crash.

While a key rotation is under way (``linkolis keys rotate``, see ``keys``) there is a next key beside the current
one: ``secret.key.next`` in the data directory, or ``LINKOLIS_SECRET_KEY_NEXT`` beside ``LINKOLIS_SECRET_KEY``.
Then a value opens with either key and is sealed with the next one, so that what is on disk opens everything at
every moment of the rotation. A ``SecretBox`` looks at the key files (two ``stat`` calls) and the two variables
each time it is used, and reads the keys again when they changed: a process that runs on (``serve``, ``worker``)
follows a rotation another process does, and never seals with a key that is gone.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from .errors import SecretsError

KEY_FILE = "secret.key"
NEXT_FILE = "secret.key.next"  # the key a rotation re-encrypts to, until it becomes secret.key
ENV_KEY = "LINKOLIS_SECRET_KEY"
ENV_NEXT = "LINKOLIS_SECRET_KEY_NEXT"
MAKE_KEY = "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"


def _check_private(path: Path) -> None:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise SecretsError(
            f"{path} is readable by others (mode {mode:o}); run: chmod 600 {path}",
            code="secret_key_readable",
            values={"path": str(path), "mode": f"{mode:o}"},
        )


def _key_from_file(home: Path, *, create: bool = True) -> bytes | None:
    path = home / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600) if create else None
    except FileExistsError:
        fd = None
    if fd is None:
        try:
            _check_private(path)
            return path.read_bytes().strip()
        except FileNotFoundError:
            return None
    key = Fernet.generate_key()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key


def write_key_file(path: Path, key: bytes) -> None:
    """Write ``key`` to a new file at ``path`` (0600), durably: on disk, and named in its folder, before this
    returns; a file already there is never replaced (``FileExistsError``). Written beside it first and linked into
    place, so that nobody ever reads half a key."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    draft.unlink(missing_ok=True)
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(draft, path)  # unlike a rename, fails when another process made one first
    finally:
        draft.unlink(missing_ok=True)
    sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """Make the names in ``folder`` (a file made, renamed or removed) survive a power cut."""
    if os.name != "posix":
        return  # Windows: a folder cannot be opened to fsync; NTFS journals its names
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fernet(key: bytes, source: str) -> Fernet:
    try:
        return Fernet(key)
    except (ValueError, TypeError):
        raise SecretsError(
            f"{source} is not a valid key (expected 32 url-safe base64-encoded bytes, as made by {MAKE_KEY})",
            code="secret_key_invalid",
            values={"source": source},
        ) from None


class UnopenableSecret(SecretsError):
    """Sealed with another key (``LINKOLIS_SECRET_KEY`` or ``secret.key`` changed or was lost): what it held is
    gone, and is replaced by authorizing the app again."""


@dataclass(frozen=True)
class KeyRing:
    """The keys in use: ``current`` and, while a rotation is under way, ``next`` (which seals); each ``*_source``
    says where it lives (a path, or the environment variable's name), for messages. Never print a key."""

    current: bytes | None
    current_source: str
    next: bytes | None = None
    next_source: str | None = None
    from_environment: bool = False

    def where(self) -> str:
        """Where the keys that open the stored values live, in words: "/home/x/secret.key (and …secret.key.next)"."""
        if self.next_source and self.current is not None:
            return f"{self.current_source} (and {self.next_source}, a key rotation under way)"
        return self.next_source or self.current_source


class SecretBox:
    """Seal and open a dict of secret strings.

    ``env``: where ``LINKOLIS_SECRET_KEY`` and ``LINKOLIS_SECRET_KEY_NEXT`` are read (default: the process's
    environment, read at each use).
    """

    def __init__(self, home: Path, env: Mapping[str, str] | None = None) -> None:
        self._home = home
        self._env = env
        # What the key files and variables looked like when the keys were read, the keys, the Fernet that opens
        # with any of them and the one that seals: one tuple, replaced whole, for the threads that share the box.
        self._loaded: tuple[tuple, KeyRing, MultiFernet, Fernet] | None = None

    def _signature(self) -> tuple:
        env = os.environ if self._env is None else self._env
        found: list = [env.get(ENV_KEY), env.get(ENV_NEXT)]
        if not found[0]:
            for name in (KEY_FILE, NEXT_FILE):
                try:
                    info = os.stat(self._home / name)
                    found.append((info.st_ino, info.st_mtime_ns, info.st_size))
                except FileNotFoundError:
                    found.append(None)
        return tuple(found)

    def keys(self) -> KeyRing:
        """The keys in use now, as the files and variables say (none made: ``current`` is None when there is none)."""
        return self._read(self._signature(), create=False)

    def _current(self, create: bool = False) -> tuple[tuple, KeyRing, MultiFernet, Fernet]:
        """The keys as loaded, read again when the files or variables changed. ``create``: make ``secret.key`` when
        there is no key at all (to seal); to open, none is made (it would open nothing, and take the place of the
        key an operator is about to put back)."""
        seen = self._signature()
        loaded = self._loaded
        if loaded is None or seen != loaded[0]:
            ring = self._read(seen, create)
            keys = [_fernet(k, s) for k, s in ((ring.next, ring.next_source), (ring.current, ring.current_source)) if k]
            if not keys:
                raise UnopenableSecret(
                    f"there is no secret key at {ring.current_source}: restore the key the credentials were sealed "
                    "with, or authorize the app again",
                    values={"key": ring.current_source},
                )
            # ``seen`` as it was before the read: a change made during it (a rotation's next key) is read next time.
            loaded = self._loaded = (self._signature() if create else seen, ring, MultiFernet(keys), keys[0])
        return loaded

    def _read(self, seen: tuple, create: bool = True) -> KeyRing:
        current, following = seen[0], seen[1]
        if current:
            return KeyRing(
                current.encode(),
                ENV_KEY,
                following.encode() if following else None,
                ENV_NEXT if following else None,
                from_environment=True,
            )
        next_path = self._home / NEXT_FILE
        next_key = None
        if seen[3] is not None:
            try:
                _check_private(next_path)
                next_key = next_path.read_bytes().strip()
            except FileNotFoundError:  # a rotation finished between the stat and now
                next_key = None
        # With a next key and no secret.key (lost, or the rotation's last rename half seen), make none: the next key
        # opens what the rotation re-encrypted, and a new key would open nothing.
        current_key = _key_from_file(self._home, create=create and next_key is None)
        return KeyRing(
            current_key, str(self._home / KEY_FILE), next_key, str(next_path) if next_key is not None else None
        )

    def seal(self, secrets: dict[str, str]) -> str:
        return self._current(create=True)[3].encrypt(json.dumps(secrets).encode()).decode()

    def open(self, ciphertext: str) -> dict[str, str]:
        _, ring, fernet, _ = self._current()
        try:
            return json.loads(fernet.decrypt(ciphertext.encode()))
        except InvalidToken:
            raise UnopenableSecret(
                f"the stored credentials cannot be opened with this secret key ({ring.where()}; was it changed or "
                "lost?): restore the key, or authorize the app again",
                values={"key": ring.where()},
            ) from None
