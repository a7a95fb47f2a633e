"""Identifiers and throwaway secrets from a seeded generator, so two runs with one seed hand out the same values.

Tokens carry ``sim-`` right after the ``|`` so they can never look like real Login with Amazon tokens.
"""

from __future__ import annotations

import random
import string
import threading
import uuid

_ALNUM = string.ascii_letters + string.digits
_UPPER_ALNUM = string.ascii_uppercase + string.digits


class IdSource:
    """Seeded identifiers (thread-safe)."""

    def __init__(self, seed: int | str) -> None:
        self._rng = random.Random(f"ids:{seed}")
        self._lock = threading.Lock()

    def _choices(self, alphabet: str, n: int) -> str:
        with self._lock:
            return "".join(self._rng.choices(alphabet, k=n))

    def uuid(self) -> str:
        with self._lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def hex(self, n: int) -> str:
        with self._lock:
            return f"{self._rng.getrandbits(n * 4):0{n}x}"

    def digits(self, n: int) -> str:
        return self._choices(string.digits, n)

    def upper(self, n: int) -> str:
        return self._choices(_UPPER_ALNUM, n)

    def access_token(self) -> str:
        return "Atza|sim-" + self._choices(_ALNUM, 96)

    def refresh_token(self) -> str:
        return "Atzr|sim-" + self._choices(_ALNUM, 96)

    def auth_code(self) -> str:
        return "sim-" + self._choices(_ALNUM, 24)

    def opaque(self, n: int = 32) -> str:
        return self._choices(_ALNUM, n)

    def bits(self, n: int) -> int:
        with self._lock:
            return self._rng.getrandbits(n)
