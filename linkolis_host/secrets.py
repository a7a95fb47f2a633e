"""Credentials encrypted at rest with Fernet (``cryptography``): authenticated encryption, a vetted recipe.

The key comes from ``LINKOLIS_SECRET_KEY`` (a Fernet key: 32 url-safe base64 bytes), or from
``$LINKOLIS_HOME/secret.key``, created on first use with mode 0600. Losing the key means authorizing again;
it never means a crash.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from .errors import SecretsError

KEY_FILE = "secret.key"
ENV_KEY = "LINKOLIS_SECRET_KEY"


def _key_from_file(home: Path) -> bytes:
    path = home / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise SecretsError(f"{path} is readable by others (mode {mode:o}); run: chmod 600 {path}") from None
        return path.read_bytes().strip()
    key = Fernet.generate_key()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key


class UnopenableSecret(SecretsError):
    """Sealed with another key (``LINKOLIS_SECRET_KEY`` or ``secret.key`` changed or was lost): what it held is
    gone, and is replaced by authorizing the app again."""


class SecretBox:
    """Seal and open a dict of secret strings."""

    def __init__(self, home: Path) -> None:
        self._home = home
        self._fernet: Fernet | None = None

    def _get(self) -> Fernet:
        if self._fernet is None:
            raw = os.environ.get(ENV_KEY)
            source = ENV_KEY if raw else str(self._home / KEY_FILE)
            key = raw.encode() if raw else _key_from_file(self._home)
            try:
                self._fernet = Fernet(key)
            except (ValueError, TypeError):
                raise SecretsError(
                    f"{source} is not a valid key (expected 32 url-safe base64-encoded bytes, as made by "
                    "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)"
                ) from None
        return self._fernet

    def seal(self, secrets: dict[str, str]) -> str:
        return self._get().encrypt(json.dumps(secrets).encode()).decode()

    def open(self, ciphertext: str) -> dict[str, str]:
        try:
            return json.loads(self._get().decrypt(ciphertext.encode()))
        except InvalidToken:
            raise UnopenableSecret(
                "the stored credentials cannot be opened with this key (was LINKOLIS_SECRET_KEY or secret.key "
                "changed?); restore the key, or authorize the app again"
            ) from None
