"""Sessions: who is signed in to the web app, kept server-side so that a session can end.

A browser holds a random token (inside the web app's signed cookie); the table ``web_sessions`` holds only its
SHA-256, with the user, the user's session generation when it started, when it started and when it was last
seen. ``resume`` answers every request: the user while the session lives, else None (and the row goes). A session
ends when the user signs out or is removed, when their password changes (``workspaces.end_sessions`` raises the
user's generation: every session started before is void), after ``SessionPolicy.idle`` seconds without a request,
and ``SessionPolicy.lifetime`` seconds after signing in, whatever happened since. A copy of a cookie is worth no
more than the session it names.

Times are the host clock's wall time (they are stored, and read by every process serving the web app): a clock
stepped back can make a session last longer by the step, never end it early. Owns the table ``web_sessions``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from .host import Host
from .workspaces import User, get_user

# ``seen_at`` is written at most this often per session: a page and its polls are not a write each.
SEEN_EVERY = 60.0


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives: ``idle`` seconds after its last request, ``lifetime`` seconds after signing in."""

    idle: float = 8 * 3600.0
    lifetime: float = 7 * 24 * 3600.0


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(host: Host, user: User, policy: SessionPolicy) -> str:
    """A new session for ``user``; returns its token (the browser's to keep, never stored here). Sessions that
    have ended by time go at the same moment."""
    token = secrets.token_urlsafe(32)
    now = host.clock.time()
    with host.db.atomic():
        host.db.execute(
            "DELETE FROM web_sessions WHERE seen_at < ? OR started_at < ?", (now - policy.idle, now - policy.lifetime)
        )
        host.db.execute(
            "INSERT INTO web_sessions (token_hash, user_id, generation, started_at, seen_at) "
            "SELECT ?, id, session_generation, ?, ? FROM users WHERE id = ?",
            (_hash(token), now, now, user.id),
        )
    return token


def resume(host: Host, token: str | None, policy: SessionPolicy) -> User | None:
    """The user whose live session ``token`` names, or None: no such session, the user is gone, signed out
    everywhere or changed their password since, or the session ran out of time (it is then deleted)."""
    if not token:
        return None
    key = _hash(token)
    row = host.db.execute(
        "SELECT s.user_id, s.generation, s.started_at, s.seen_at, u.session_generation "
        "FROM web_sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
        (key,),
    ).fetchone()
    if row is None:
        return None
    user_id, generation, started_at, seen_at, current = row
    now = host.clock.time()
    if generation != current or now - seen_at > policy.idle or now - started_at > policy.lifetime:
        end(host, token)
        return None
    if now - seen_at > SEEN_EVERY:
        with host.db.atomic():
            host.db.execute("UPDATE web_sessions SET seen_at = ? WHERE token_hash = ?", (now, key))
    return get_user(host, user_id)


def end(host: Host, token: str | None) -> None:
    """End the session ``token`` names (nothing when there is none)."""
    if token:
        with host.db.atomic():
            host.db.execute("DELETE FROM web_sessions WHERE token_hash = ?", (_hash(token),))
