"""What a hook gets from the host instead of reaching for globals.

``Context`` carries the app, its decrypted credentials, the plugin's operator settings, an HTTP client bound
to the app's rate-limit buckets, a small per-app state store, the clock, a logger and a progress reporter.
With these a plugin needs no network of its own, no database and no real time to be tested.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlite_utils import Database

from .clock import Clock
from .errors import AppRemoved
from .http import LONG_WAIT, HttpClient, duration_text  # noqa: F401 - LONG_WAIT: for plugins that wait
from .models import AppInfo
from .secrets import SecretBox, UnopenableSecret
from .store import dumps, loads


class StateStore:
    """The plugin's own small key/value data for one app (a cached token, product types, pending feeds).

    Values are JSON. Each write is committed at once. Removing the app removes its state. A value stored with
    ``secret=True`` (a cached access token) is encrypted like the app's credentials and must be read the same way;
    one sealed with a secret key that is no longer in use reads as absent.
    """

    def __init__(self, db: Database, app_id: int, box: SecretBox | None = None, app_name: str | None = None) -> None:
        self._db = db
        self._app_id = app_id
        self._box = box
        self._app_name = app_name

    def get(self, key: str, default: Any = None, *, secret: bool = False) -> Any:
        row = self._db.execute(
            "SELECT value FROM plugin_state WHERE app_id = ? AND key = ?", (self._app_id, key)
        ).fetchone()
        if row is None:
            return default
        value = loads(row[0])
        if secret:
            if not isinstance(value, dict) or "sealed" not in value or self._box is None:
                return default
            try:
                opened = loads(self._box.open(value["sealed"])["value"])
            except UnopenableSecret:  # sealed with a key that is gone: as good as never stored
                return default
            _redact_strings(opened)
            return opened
        return value

    def set(self, key: str, value: Any, *, secret: bool = False) -> None:
        if secret:
            if self._box is None:
                raise RuntimeError("this state store cannot keep secrets")
            _redact_strings(value)
            value = {"sealed": self._box.seal({"value": dumps(value)})}
        with self._db.atomic():
            # One statement, so a removal committed by another command just before cannot be undone by it.
            written = self._db.execute(
                "INSERT INTO plugin_state (app_id, key, value) SELECT ?, ?, ? WHERE EXISTS "
                f"({_APP_PRESENT}) ON CONFLICT(app_id, key) DO UPDATE SET value = excluded.value",
                (self._app_id, key, dumps(value), self._app_id),
            ).rowcount
        if not written:
            self._refuse()

    def delete(self, key: str) -> None:
        with self._db.atomic():
            self._db.execute("DELETE FROM plugin_state WHERE app_id = ? AND key = ?", (self._app_id, key))
            present = self._db.execute(_APP_PRESENT, (self._app_id,)).fetchone()
        if present is None:
            self._refuse()

    def _refuse(self) -> None:
        raise AppRemoved(self._app_name or f"app {self._app_id}")

    def keys(self, prefix: str = "") -> list[str]:
        rows = self._db.execute(
            "SELECT key FROM plugin_state WHERE app_id = ? AND key LIKE ? ESCAPE '\\' ORDER BY key",
            (self._app_id, prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"),
        ).fetchall()
        return [row[0] for row in rows]


_APP_PRESENT = "SELECT 1 FROM apps WHERE id = ? AND status != 'removed'"


class AppGuard:
    """Raises ``AppRemoved`` once the app is removed: called before each request and write for it (one indexed
    SELECT), so work running when the seller removes the app stops at its next step."""

    def __init__(self, db: Database, app_id: int, app_name: str) -> None:
        self._db = db
        self._app_id = app_id
        self._app_name = app_name

    def present(self) -> bool:
        return self._db.execute(_APP_PRESENT, (self._app_id,)).fetchone() is not None

    def __call__(self) -> None:
        if not self.present():
            raise AppRemoved(self._app_name)


def _redact_strings(value: Any) -> None:
    if isinstance(value, str):
        REDACTOR.add(value)
    elif isinstance(value, dict):
        REDACTOR.add(*(v for v in value.values() if isinstance(v, str)))


class Progress:
    """Progress of long work. The CLI shows it on stderr; elsewhere it is silent."""

    def start(self, label: str, total: int | None = None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def wait(self, what: str, seconds: float) -> None:
        """A wait of ``seconds`` starts, for ``what`` ("Amazon's quota for searchOrders", "feed 123 to be
        processed"). The host calls it before each wait longer than ``LONG_WAIT`` seconds; a plugin that waits
        for the marketplace to finish work calls it too."""

    def finish(self) -> None:
        pass


def wait_text(what: str, seconds: float) -> str:
    """The line a person reads for a wait: ``Waiting 2 min 58 s for Amazon's quota for searchOrders…``."""
    return f"Waiting {duration_text(seconds)} for {what}…"



class Redactor(logging.Filter):
    """Replaces every known secret value in log records with ``[redacted]``.

    The host registers each app's decrypted credentials here as it opens them, and the CLI puts this filter
    on its log handler, so a plugin that formats a token into a message still leaks nothing.
    """

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add(self, *values: str) -> None:
        with self._lock:
            self._secrets.update(v for v in values if v and len(v) >= 6)
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None

    def redact(self, text: str) -> str:
        pattern = self._pattern
        return pattern.sub("[redacted]", text) if pattern else text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is not None:
            record.msg = self.redact(record.getMessage())
            record.args = ()
        return True


REDACTOR = Redactor()


@dataclass
class Context:
    app: AppInfo
    credentials: dict[str, str] | None
    plugin_config: dict[str, Any]
    http: HttpClient
    state: StateStore
    clock: Clock
    log: logging.Logger
    progress: Progress = field(default_factory=Progress)
    env: dict[str, str] = field(default_factory=dict)
    on_credentials: Callable[[dict[str, str]], None] | None = None

    def update_credentials(self, secrets: dict[str, str]) -> None:
        """Store a renewed secret (a rotated refresh token, say), encrypted, for this app.

        :raises AppRemoved: the app was removed meanwhile; nothing is stored.
        """
        if self.on_credentials is None:
            raise RuntimeError("credentials cannot be updated in this context")
        self.credentials = dict(secrets)
        self.on_credentials(self.credentials)
