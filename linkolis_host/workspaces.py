"""Workspaces (one seller business each) and the users who sign in to them.

Owns the tables ``workspaces`` and ``users``. A user belongs to one workspace; e-mail addresses are unique
whatever their case; a user's id is never handed out again once the user is removed. Passwords are kept only as
argon2 hashes (argon2-cffi, its recommended parameters: 64 MiB and three passes a hash). Each hash or check takes
those 64 MiB while it runs, so at most ``PASSWORD_CHECKS`` run at once in a process; the next waits up to
``PASSWORD_WAIT`` seconds for its turn and is then refused with ``TooBusy`` (forty sign-ins at once must not take
2 GB). ``session_generation`` counts the times every session of a user was ended (``end_sessions``, see
``sessions``). A workspace's ``time_zone`` (an IANA name, Europe/Amsterdam unless set) is the one its times are
written in for its users.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import Action, TooBusy, UserError
from .host import Host

LANGUAGES = ("en", "nl")
DEFAULT_TIME_ZONE = "Europe/Amsterdam"
MIN_PASSWORD = 10

_hasher = PasswordHasher()
_dummy_hash: str | None = None
PASSWORD_CHECKS = 2
PASSWORD_WAIT = 5.0
_slots = threading.BoundedSemaphore(PASSWORD_CHECKS)


@contextmanager
def _password_slot() -> Iterator[None]:
    """One of the ``PASSWORD_CHECKS`` turns at argon2, waited for at most ``PASSWORD_WAIT`` seconds."""
    if not _slots.acquire(timeout=PASSWORD_WAIT):
        raise TooBusy("too many passwords are being checked at once; try again in a moment")
    try:
        yield
    finally:
        _slots.release()


def _hash_password(password: str) -> str:
    with _password_slot():
        return _hasher.hash(password)


def _dummy() -> str:
    """Hashed once, on the first sign-in (not at import: every command imports this module), so that signing in as
    an unknown address costs as much as a wrong password (no timing oracle)."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hash_password("linkolis: no such user")
    return _dummy_hash


@dataclass(frozen=True)
class Workspace:
    id: int
    name: str
    time_zone: str = DEFAULT_TIME_ZONE


@dataclass(frozen=True)
class User:
    id: int
    email: str
    workspace_id: int
    workspace: str
    language: str | None
    time_zone: str = DEFAULT_TIME_ZONE  # the workspace's


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def _now(host: Host) -> str:
    return host.clock.now().isoformat(timespec="seconds")


def check_time_zone(time_zone: str) -> str:
    """``time_zone`` when it is an IANA time zone this system knows (``Europe/Amsterdam``), else a ``UserError``."""
    time_zone = time_zone.strip()
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(
            f"{time_zone!r} is not a time zone; give an IANA name such as {DEFAULT_TIME_ZONE!r} or 'Europe/London'"
        ) from None
    return time_zone


def add_workspace(host: Host, name: str, time_zone: str = DEFAULT_TIME_ZONE) -> Workspace:
    name = " ".join(name.split())
    if not name:
        raise UserError("a workspace needs a name")
    time_zone = check_time_zone(time_zone)
    if host.db.execute("SELECT 1 FROM workspaces WHERE name_key = ?", (_key(name),)).fetchone():
        raise UserError(f"a workspace named {name!r} already exists")
    with host.db.atomic():
        ws_id = (
            host.db["workspaces"]
            .insert({"name": name, "name_key": _key(name), "created_at": _now(host), "time_zone": time_zone})
            .last_pk
        )
    return Workspace(ws_id, name, time_zone)


def set_time_zone(host: Host, name: str | None, time_zone: str) -> Workspace:
    """Write the workspace's times in ``time_zone`` from now on (the one called ``name``; without, the only one)."""
    time_zone = check_time_zone(time_zone)
    ws = get_workspace(host, name)
    with host.db.atomic():
        host.db.execute("UPDATE workspaces SET time_zone = ? WHERE id = ?", (time_zone, ws.id))
    return Workspace(ws.id, ws.name, time_zone)


def list_workspaces(host: Host) -> list[Workspace]:
    return [Workspace(*r) for r in host.db.execute("SELECT id, name, time_zone FROM workspaces ORDER BY name_key")]


def get_workspace(host: Host, name: str | None = None) -> Workspace:
    """The workspace called ``name``; without a name, the only one there is."""
    if name is None:
        spaces = list_workspaces(host)
        if len(spaces) == 1:
            return spaces[0]
        if not spaces:
            raise UserError("no workspace yet: create one first", code="no_workspace", action=Action.ADD_WORKSPACE)
        raise UserError(
            "there are several workspaces; name one with --workspace (" + ", ".join(repr(w.name) for w in spaces) + ")"
        )
    row = host.db.execute("SELECT id, name, time_zone FROM workspaces WHERE name_key = ?", (_key(name),)).fetchone()
    if row is None:
        known = ", ".join(repr(w.name) for w in list_workspaces(host)) or "none yet"
        raise UserError(f"no workspace named {name!r} (workspaces: {known})")
    return Workspace(*row)


DEFAULT = "Default"


def current_id(host: Host, *, create: bool = False) -> int | None:
    """The id of the workspace ``host`` acts for: ``host.workspace_id`` when set, else the only workspace there is.

    With none yet, ``create`` makes one called "Default" (a write needs a workspace to belong to); without it the
    answer is None, to which nothing belongs. Several and none chosen is an error that names them.
    """
    if host.workspace_id is not None:
        return host.workspace_id
    if not host.workspace_default:
        raise UserError("no workspace is chosen for this request")
    spaces = list_workspaces(host)
    if len(spaces) == 1:
        return spaces[0].id
    if spaces:
        raise UserError(
            "there are several workspaces: choose one with --workspace NAME (or LINKOLIS_WORKSPACE): "
            + ", ".join(repr(w.name) for w in spaces)
        )
    if not create:
        return None
    with host.db.atomic():  # another process may make it at the same moment: the unique name keeps it one
        host.db.execute(
            "INSERT INTO workspaces (name, name_key, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (DEFAULT, _key(DEFAULT), _now(host)),
        )
    return host.db.execute("SELECT id FROM workspaces WHERE name_key = ?", (_key(DEFAULT),)).fetchone()[0]


def _check_email(email: str) -> str:
    email = email.strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in email) or len(email) > 254:
        raise UserError(f"{email!r} is not an e-mail address")
    return email


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")


def add_user(host: Host, email: str, password: str, workspace: str | None = None, language: str | None = None) -> User:
    email = _check_email(email)
    check_password(password)
    if language is not None and language not in LANGUAGES:
        raise UserError(f"language must be one of {', '.join(LANGUAGES)}")
    ws = get_workspace(host, workspace)
    if host.db.execute("SELECT 1 FROM users WHERE email_key = ?", (email.casefold(),)).fetchone():
        raise UserError(f"a user {email!r} already exists")
    with host.db.atomic():
        user_id = (
            host.db["users"]
            .insert(
                {
                    "email": email,
                    "email_key": email.casefold(),
                    "password_hash": _hash_password(password),
                    "workspace_id": ws.id,
                    "language": language,
                    "created_at": _now(host),
                }
            )
            .last_pk
        )
    return get_user(host, user_id)  # type: ignore[return-value]


_USER_SQL = (
    "SELECT u.id, u.email, u.workspace_id, w.name, u.language, w.time_zone FROM users u "
    "JOIN workspaces w ON w.id = u.workspace_id"
)


def list_users(host: Host, workspace: str | None = None) -> list[User]:
    if workspace is None:
        rows = host.db.execute(f"{_USER_SQL} ORDER BY u.email_key").fetchall()
    else:
        rows = host.db.execute(
            f"{_USER_SQL} WHERE u.workspace_id = ? ORDER BY u.email_key", (get_workspace(host, workspace).id,)
        ).fetchall()
    return [User(*r) for r in rows]


def get_user(host: Host, user_id: int) -> User | None:
    """The user with id ``user_id``, or None when there is none (ids are never reused: a removed user's stays
    unknown)."""
    row = host.db.execute(f"{_USER_SQL} WHERE u.id = ?", (user_id,)).fetchone()
    return None if row is None else User(*row)


def _user_by_email(host: Host, email: str) -> User:
    row = host.db.execute(f"{_USER_SQL} WHERE u.email_key = ?", (email.strip().casefold(),)).fetchone()
    if row is None:
        raise UserError(f"no user {email!r}", code="no_user", action=Action.LIST_USERS, values={"email": email})
    return User(*row)


def remove_user(host: Host, email: str) -> User:
    """Remove the user; every session of theirs ends with them (their ``web_sessions`` rows go by the foreign key,
    ON DELETE CASCADE, and their id is never given to another user)."""
    user = _user_by_email(host, email)
    with host.db.atomic():
        host.db.execute("DELETE FROM users WHERE id = ?", (user.id,))
    return user


def set_password(host: Host, email: str, password: str) -> User:
    """Give the user a new password; every session of theirs ends (signed in elsewhere: sign in again)."""
    user = _user_by_email(host, email)
    check_password(password)
    hashed = _hash_password(password)
    with host.db.atomic():
        host.db.execute("UPDATE users SET password_hash = ? WHERE id = ?", (hashed, user.id))
        _end_sessions(host, user.id)
    return user


def end_sessions(host: Host, user_id: int) -> None:
    """End every session of the user, in every browser and every process serving the web app."""
    with host.db.atomic():
        _end_sessions(host, user_id)


def _end_sessions(host: Host, user_id: int) -> None:
    host.db.execute("UPDATE users SET session_generation = session_generation + 1 WHERE id = ?", (user_id,))


def authenticate(host: Host, email: str, password: str) -> User | None:
    """The user when ``password`` is theirs, else None (the same for an unknown address and a wrong password).

    :raises TooBusy: ``PASSWORD_CHECKS`` checks ran for ``PASSWORD_WAIT`` seconds without this one getting a turn.
    """
    row = host.db.execute(
        "SELECT id, password_hash FROM users WHERE email_key = ?", (email.strip().casefold(),)
    ).fetchone()
    stored = row[1] if row else _dummy()
    with _password_slot():
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
    if row is None:
        return None
    if _hasher.check_needs_rehash(row[1]):
        hashed = _hash_password(password)
        with host.db.atomic():
            host.db.execute("UPDATE users SET password_hash = ? WHERE id = ?", (hashed, row[0]))
    return get_user(host, row[0])


def set_language(host: Host, user_id: int, language: str) -> None:
    if language not in LANGUAGES:
        raise UserError(f"language must be one of {', '.join(LANGUAGES)}")
    with host.db.atomic():
        host.db.execute("UPDATE users SET language = ? WHERE id = ?", (language, user_id))
