"""OAuth plumbing the host owns: state tokens, the loopback redirect receiver, pasted redirect URLs.

A state is 256 random bits, stored only as its SHA-256, bound to one app, single use, and dead after
10 minutes. The host checks it before a plugin sees anything of a redirect. A state remembers who started it
(``origin``: "web", bound to a browser session, or "cli", whose command waits for the served callback) and, once
the callback ran, how it ended (``finished_at``, ``error``), which the waiting command reads.
"""

from __future__ import annotations

import hashlib
import html
import queue
import secrets
import threading
import webbrowser
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from sqlite_utils import Database

from .clock import Clock
from .errors import AuthorizationError, UserError

STATE_TTL = 600.0
CALLBACK_PATH = "/callback"


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


ORIGINS = ("web", "cli")


def new_state(db: Database, app_id: int, redirect_uri: str, clock: Clock, origin: str = "web") -> str:
    if origin not in ORIGINS:
        raise ValueError(f"origin must be one of {ORIGINS}")
    state = secrets.token_urlsafe(32)
    now = clock.time()
    with db.atomic():
        db.execute("DELETE FROM oauth_states WHERE expires_at < ?", (now - STATE_TTL,))
        db.execute(
            "INSERT INTO oauth_states (state_hash, app_id, redirect_uri, created_at, expires_at, origin) "
            "VALUES (?,?,?,?,?,?)",
            (_hash(state), app_id, redirect_uri, now, now + STATE_TTL, origin),
        )
    return state


def state_origin(db: Database, state: str | None) -> str | None:
    """Who started the authorization ``state`` belongs to ("web" or "cli"); None for a state we never issued."""
    if not state:
        return None
    row = db.execute("SELECT origin FROM oauth_states WHERE state_hash = ?", (_hash(state),)).fetchone()
    return None if row is None else row[0]


def finish_state(db: Database, state: str, clock: Clock, error: str | None = None) -> None:
    """Record how the authorization of ``state`` ended (``error``: why it was refused), for a command waiting."""
    with db.atomic():
        db.execute(
            "UPDATE oauth_states SET finished_at = ?, error = ? WHERE state_hash = ? AND finished_at IS NULL",
            (clock.time(), error, _hash(state)),
        )


@dataclass
class Outcome:
    """Where an authorization stands, as a waiting command sees it."""

    finished: bool
    error: str | None
    expires_at: float


def outcome(db: Database, state: str) -> Outcome | None:
    """None when the state is gone: the app was reconfigured or removed, or the state long expired."""
    row = db.execute(
        "SELECT finished_at, error, expires_at FROM oauth_states WHERE state_hash = ?", (_hash(state),)
    ).fetchone()
    return None if row is None else Outcome(row[0] is not None, row[1], row[2])


def set_redirect_uri(db: Database, state: str, redirect_uri: str) -> None:
    """The plugin sends the seller back to another address than the host offered (a registered page)."""
    with db.atomic():
        db.execute("UPDATE oauth_states SET redirect_uri = ? WHERE state_hash = ?", (redirect_uri, _hash(state)))


def consume_state(db: Database, app_id: int, state: str | None, clock: Clock) -> str:
    """Check and burn ``state`` for ``app_id``; return the redirect URI it was issued with.

    :raises AuthorizationError: the state is missing, forged, for another app, already used, or expired.
    """
    if not state:
        raise AuthorizationError(
            "the redirect carries no state: it did not come from an authorization we started",
            code="authorization_state_unknown",
        )
    row = db.execute(
        "SELECT app_id, redirect_uri, expires_at, used_at FROM oauth_states WHERE state_hash = ?", (_hash(state),)
    ).fetchone()
    if row is None or row[0] != app_id:
        raise AuthorizationError(
            "the redirect's state is not one we issued for this app (forged, or meant for another app); "
            "nothing was stored — authorize again",
            code="authorization_state_unknown",
        )
    if row[3] is not None:
        raise AuthorizationError(
            "this authorization redirect was already used (a replay); nothing was stored — authorize again",
            code="authorization_replayed",
        )
    now = clock.time()
    expired = now > row[2]
    message = (
        "the authorization took longer than 10 minutes and its state expired; nothing was stored — authorize again"
    )
    with db.atomic():
        db.execute("UPDATE oauth_states SET used_at = ? WHERE state_hash = ?", (now, _hash(state)))
        if expired:
            db.execute(
                "UPDATE oauth_states SET finished_at = ?, error = ? WHERE state_hash = ?", (now, message, _hash(state))
            )
    if expired:
        raise AuthorizationError(message, code="authorization_expired")
    return row[1]


def params_from_url(url: str) -> dict[str, str]:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UserError(f"{url!r} is not a URL; paste the whole address your browser landed on")
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    if not params:
        raise UserError("the pasted URL carries no parameters; paste the whole address, including what follows '?'")
    return params


def open_browser(url: str) -> None:
    """Open ``url`` in the seller's browser (tests and the demo replace this)."""
    webbrowser.open(url)


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">
<title>linkolis</title></head><body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>{title}</h1><p>{message}</p><p>You can close this window and go back to the terminal.</p></body></html>"""


class LoopbackReceiver:
    """A one-shot HTTP server on 127.0.0.1 that receives the authorization redirect.

    Each request to ``/callback`` is handed to the main thread (``next_request``), which answers with a page
    or a redirect (``respond``); the browser waits meanwhile. Everything else gets 404.
    """

    def __init__(self, port: int = 0) -> None:
        self._incoming: queue.Queue[dict[str, str]] = queue.Queue()
        self._answers: queue.Queue[tuple[int, str, str | None]] = queue.Queue()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != CALLBACK_PATH:
                    self.send_error(404)
                    return
                receiver._incoming.put(dict(parse_qsl(parts.query, keep_blank_values=True)))
                try:
                    status, body, location = receiver._answers.get(timeout=120)
                except queue.Empty:
                    status, body, location = 504, _PAGE.format(title="Timed out", message=""), None
                self.send_response(status)
                self.send_header("Referrer-Policy", "no-referrer")
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                data = body.encode()
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:  # the query holds a code: never log it
                pass

        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        except OSError as exc:
            raise UserError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); choose another --port") from None
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.redirect_uri = f"http://127.0.0.1:{self.port}{CALLBACK_PATH}"
        # A short poll interval: shutting the receiver down after the redirect should not take half a second.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> LoopbackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def next_request(self, timeout: float) -> dict[str, str]:
        try:
            return self._incoming.get(timeout=timeout)
        except queue.Empty:
            raise AuthorizationError(
                f"no redirect reached {self.redirect_uri} within {int(timeout)} s; nothing was stored — "
                "authorize again",
                code="authorization_timed_out",
                values={"redirect_uri": self.redirect_uri, "seconds": int(timeout)},
            ) from None

    def respond(self, ok: bool, message: str) -> None:
        title = "Authorization complete" if ok else "Authorization failed"
        self._answers.put((200 if ok else 400, _PAGE.format(title=title, message=html.escape(message)), None))

    def redirect(self, location: str) -> None:
        self._answers.put((302, _PAGE.format(title="Continue", message="Redirecting…"), location))


def pending_app_id(db: Database, state: str | None) -> int | None:
    """The app a state was issued for, without using it up (``consume_state`` checks and burns it)."""
    if not state:
        return None
    row = db.execute("SELECT app_id FROM oauth_states WHERE state_hash = ?", (_hash(state),)).fetchone()
    return None if row is None else row[0]
