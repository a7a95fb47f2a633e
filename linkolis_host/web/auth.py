"""Signing in: argon2-checked passwords (``workspaces.authenticate``), a server-side session (``sessions``) named by
a token in a signed cookie, CSRF tokens, and a limit on sign-in attempts per account and per client address.

The cookie is Starlette's ``SessionMiddleware`` (an itsdangerous-signed, HttpOnly, SameSite=Lax cookie, Secure
under https). It carries the session's token, the CSRF token and the pending authorizations; who is signed in is
decided server-side on every request, so a copied cookie dies with its session. Its key lives in the data
directory (``web-session.key``, created on first use, readable by the owner only) unless ``LINKOLIS_WEB_SECRET``
gives one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
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


SESSION_KEY = "sid"  # the server-side session's token, in the cookie


def sign_in(session: dict, token: str) -> None:
    """A fresh cookie for the session ``token`` names: nothing from before signing in survives, the CSRF token
    included."""
    session.clear()
    session[SESSION_KEY] = token
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


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt counted before its password is checked (``LoginLimiter.attempt``)."""

    keys: tuple[tuple[str, ...], ...]
    at: float


class LoginLimiter:
    """Sign-in attempts counted before each password check, so concurrent guesses cannot slip past the limit.

    In any ``window`` seconds at most ``attempts`` checks per account (the e-mail address, whatever the client, so
    a client that claims other addresses in ``X-Forwarded-For`` gains nothing), and at most ``per_client``
    checks of any account from one client address (guessing across many accounts). An attempt is counted when it
    is let through (``attempt``); a right password takes back that account's count (``succeeded``), a wrong one
    leaves it. What is refused is never checked, so it costs no argon2 memory either.
    """

    def __init__(
        self,
        attempts: int = 5,
        window: float = 900.0,
        per_client: int = 20,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.attempts, self.window, self.per_client, self._now = attempts, window, per_client, now
        self._counted: dict[tuple[str, ...], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, ...], now: float) -> int:
        counted = self._counted.get(key)
        if counted is None:
            return 0
        while counted and counted[0] <= now - self.window:
            counted.popleft()
        if not counted:
            del self._counted[key]  # memory stays bounded by what happened in the last window
        return len(counted)

    def attempt(self, email: str, client: str) -> Attempt | None:
        """Count an attempt and return it, or None when the account or the client has had its share."""
        keys = (("account", email.strip().casefold()), ("client", client))
        limits = (self.attempts, self.per_client)
        with self._lock:
            now = self._now()
            if any(self._recent(key, now) >= limit for key, limit in zip(keys, limits, strict=True)):
                return None
            for key in keys:
                self._counted.setdefault(key, deque()).append(now)
        return Attempt(keys, now)

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: the account starts afresh (the client's count keeps this attempt)."""
        with self._lock:
            self._counted.pop(attempt.keys[0], None)
