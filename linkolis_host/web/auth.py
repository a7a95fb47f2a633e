"""Signing in: argon2-checked passwords (``workspaces.authenticate``), a signed session cookie, CSRF tokens,
and a limit on failed attempts per e-mail address and client address.

The session is Starlette's ``SessionMiddleware`` (an itsdangerous-signed, HttpOnly, SameSite=Lax cookie, Secure
under https). Its key lives in the data directory (``web-session.key``, created on first use, readable by the
owner only) unless ``LINKOLIS_WEB_SECRET`` gives one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import defaultdict, deque
from pathlib import Path
from typing import Callable

KEY_FILE = "web-session.key"
MAX_PENDING_STATES = 5


def session_secret(home: Path, env: dict[str, str]) -> str:
    given = env.get("LINKOLIS_WEB_SECRET")
    if given:
        return given
    path = home / KEY_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fp:
            fp.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def csrf_token(session: dict) -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_ok(session: dict, given: str | None) -> bool:
    expected = session.get("csrf")
    return bool(expected and given and hmac.compare_digest(expected, given))


def sign_in(session: dict, user_id: int) -> None:
    """A fresh session for the user: nothing from before signing in survives, the CSRF token included."""
    session.clear()
    session["user"] = user_id
    csrf_token(session)


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def remember_state(session: dict, state: str) -> None:
    """Bind an authorization's state to this browser's session (RFC 9700 §4.7: CSRF on the redirect)."""
    pending = [h for h in session.get("oauth", []) if h != state_hash(state)]
    session["oauth"] = [*pending, state_hash(state)][-MAX_PENDING_STATES:]


def take_state(session: dict, state: str | None) -> bool:
    """True, once, when ``state`` is one this session started."""
    pending = session.get("oauth", [])
    if not state or state_hash(state) not in pending:
        return False
    session["oauth"] = [h for h in pending if h != state_hash(state)]
    return True


class LoginLimiter:
    """At most ``attempts`` failed sign-ins per (e-mail, client address) in ``window`` seconds."""

    def __init__(self, attempts: int = 5, window: float = 900.0, now: Callable[[], float] = time.monotonic) -> None:
        self.attempts, self.window, self._now = attempts, window, now
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        failures = self._failures[key]
        while failures and failures[0] < self._now() - self.window:
            failures.popleft()
        return failures

    def blocked(self, email: str, client: str) -> bool:
        with self._lock:
            return len(self._recent((email.strip().casefold(), client))) >= self.attempts

    def failed(self, email: str, client: str) -> None:
        with self._lock:
            self._recent((email.strip().casefold(), client)).append(self._now())

    def succeeded(self, email: str, client: str) -> None:
        with self._lock:
            self._failures.pop((email.strip().casefold(), client), None)
