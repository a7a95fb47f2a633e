"""What a hook gets from the host instead of reaching for globals.

``Context`` carries the app, its decrypted credentials, the plugin's operator settings, an HTTP client bound
to the app's rate-limit buckets, a small per-app state store, the clock, a logger and a progress reporter.
With these a plugin needs no network of its own, no database and no real time to be tested.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlite_utils import Database

from .clock import Clock
from .errors import AppRemoved, OperatorConfigError
from .http import LONG_WAIT, HttpClient, duration_text  # noqa: F401 - LONG_WAIT: for plugins that wait
from .models import AppInfo
from .operator import OperatorSettings, again
from .secrets import SecretBox, UnopenableSecret
from .store import dumps, loads


class StateStore:
    """The plugin's own small key/value data for one app (a cached token, product types, pending feeds).

    Values are JSON. Each write is committed at once. Removing the app removes its state. A value stored with
    ``secret=True`` (a cached access token) is encrypted like the app's credentials and must be read the same way;
    one sealed with a secret key that is no longer in use reads as absent.

    ``before_write``: set by the host while a hook runs whose answers it records as they come (``push_stock``: part
    of that hook's contract, see its spec), and called before each write (``set``, ``set_many``, ``delete``):
    whatever the plugin yielded before it writes its own state is recorded first, so a plugin may forget what it has
    just told (a finished feed) and a crash between the two loses nothing.
    """

    def __init__(
        self,
        db: Database,
        app_id: int,
        box: SecretBox | None = None,
        app_name: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._db = db
        self._app_id = app_id
        self._box = box
        self._app_name = app_name
        self._clock = clock
        self.before_write: Callable[[], None] | None = None

    def _before_write(self) -> None:
        if self.before_write is not None:
            self.before_write()

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
            _redact_strings(opened, self._lifetime(value.get("expires_at")))
            return opened
        return value

    def set(self, key: str, value: Any, *, secret: bool = False, expires_at: float | None = None) -> None:
        """``expires_at`` (clock time, with ``secret``): when the secret stops being worth anything (an access
        token's expiry), so the log redactor may forget it after that."""
        if secret:
            if self._box is None:
                raise RuntimeError("this state store cannot keep secrets")
            _redact_strings(value, self._lifetime(expires_at))
        self._before_write()
        with self._db.atomic():
            if secret:
                # Sealed under the write lock: a key rotation's passes (write transactions too) see it committed,
                # never sealed with a key that is gone by the time it is written.
                value = {"sealed": self._box.seal({"value": dumps(value)})}  # type: ignore[union-attr]
                if expires_at is not None:
                    value["expires_at"] = expires_at
            # One statement, so a removal committed by another command just before cannot be undone by it.
            written = self._db.execute(
                "INSERT INTO plugin_state (app_id, key, value) SELECT ?, ?, ? WHERE EXISTS "
                f"({_APP_PRESENT}) ON CONFLICT(app_id, key) DO UPDATE SET value = excluded.value",
                (self._app_id, key, dumps(value), self._app_id),
            ).rowcount
        if not written:
            self._refuse()

    def _lifetime(self, expires_at: Any) -> float | None:
        """Seconds the secret is still good for, or None (redact it for good) when that cannot be told."""
        if self._clock is None or not isinstance(expires_at, (int, float)):
            return None
        return float(expires_at) - self._clock.time()

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        """The values stored under ``keys`` (not secret ones), absent keys left out: one query per 500 keys."""
        found: dict[str, Any] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            found.update(
                (key, loads(value))
                for key, value in self._db.execute(
                    f"SELECT key, value FROM plugin_state WHERE app_id = ? AND key IN ({','.join('?' * len(chunk))})",
                    [self._app_id, *chunk],
                )
            )
        return found

    def set_many(self, values: dict[str, Any]) -> None:
        """Store every key -> value (not secret ones) in one transaction: all of them, or none once the app is
        removed."""
        if not values:
            return
        self._before_write()
        with self._db.atomic():
            if self._db.execute(_APP_PRESENT, (self._app_id,)).fetchone() is None:
                self._refuse()
            self._db.conn.executemany(
                "INSERT INTO plugin_state (app_id, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT(app_id, key) DO UPDATE SET value = excluded.value",
                [(self._app_id, key, dumps(value)) for key, value in values.items()],
            )

    def delete(self, key: str) -> None:
        self._before_write()
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


def _redact_strings(value: Any, lifetime: float | None = None) -> None:
    if isinstance(value, str):
        REDACTOR.add(value, lifetime=lifetime)
    elif isinstance(value, dict):
        REDACTOR.add(*(v for v in value.values() if isinstance(v, str)), lifetime=lifetime)


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

    A big host holds thousands of secrets and renews an access token per app every hour, so adding one costs
    O(1) (a dict entry, no pattern to rebuild) and redacting costs one dict lookup per character of the text,
    whatever the number of secrets: each secret is filed under its last ``KEY`` characters, and the text is
    checked at each position for a secret ending there. A secret added with a ``lifetime`` (an access token) is
    forgotten some time after that lifetime has passed (checked lazily, on the next add or redaction).
    """

    KEY = 6  # the shortest secret kept; shorter strings are not secrets worth the false matches
    GRACE = 600.0  # seconds an expired secret is still redacted: a line about it may come just after expiry

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._now = now
        self._by_end: dict[str, dict[str, None]] = {}  # last KEY characters -> secrets (longest first on use)
        self._until: dict[str, float | None] = {}  # secret -> when it may be forgotten (None: never)
        self._expiring: list[tuple[float, str]] = []  # heap of (until, secret)
        self._lock = threading.Lock()

    def add(self, *values: str, lifetime: float | None = None) -> None:
        """Redact ``values`` from now on; with ``lifetime`` (seconds), only until they have expired."""
        with self._lock:
            now = self._now()
            for value in values:
                if not value or len(value) < self.KEY:
                    continue
                until = None if lifetime is None else now + max(0.0, lifetime) + self.GRACE
                if value in self._until:
                    known = self._until[value]
                    if known is None or (until is not None and until <= known):
                        continue  # already kept at least that long
                else:
                    self._by_end.setdefault(value[-self.KEY :], {})[value] = None
                self._until[value] = until
                if until is not None:
                    heapq.heappush(self._expiring, (until, value))
            self._forget_expired(now)

    def __len__(self) -> int:
        return len(self._until)

    def __contains__(self, value: object) -> bool:
        return value in self._until

    def _forget_expired(self, now: float) -> None:
        while self._expiring and self._expiring[0][0] <= now:
            until, value = heapq.heappop(self._expiring)
            if self._until.get(value, 0.0) != until:
                continue  # kept longer by a later add, or forever
            del self._until[value]
            bucket = self._by_end[value[-self.KEY :]]
            del bucket[value]
            if not bucket:
                del self._by_end[value[-self.KEY :]]

    def redact(self, text: str) -> str:
        if not self._until:
            return text
        if self._expiring and self._expiring[0][0] <= self._now():
            with self._lock:
                self._forget_expired(self._now())
        by_end, key = self._by_end, self.KEY
        spans: list[tuple[int, int]] = []
        ends = [end for end in range(key, len(text) + 1) if text[end - key : end] in by_end]
        for end in ends:
            for value in list(by_end.get(text[end - key : end], ())):
                start = end - len(value)
                if start >= 0 and text.startswith(value, start):
                    spans.append((start, end))
        if not spans:
            return text
        spans.sort()
        parts, shown = [], 0
        merged_start, merged_end = spans[0]
        for start, end in spans[1:] + [(len(text) + 1, len(text) + 1)]:
            if start <= merged_end:  # overlapping secrets: redact their union, so no part of either shows
                merged_end = max(merged_end, end)
                continue
            parts += [text[shown:merged_start], "[redacted]"]
            shown = merged_end
            merged_start, merged_end = start, end
        parts.append(text[shown:])
        return "".join(parts)

    def filter(self, record: logging.LogRecord) -> bool:
        if self._until:
            record.msg = self.redact(record.getMessage())
            record.args = ()
        return True


REDACTOR = Redactor()


@dataclass
class Context:
    app: AppInfo
    credentials: dict[str, str] | None
    http: HttpClient
    state: StateStore
    clock: Clock
    log: logging.Logger
    progress: Progress = field(default_factory=Progress)
    # The plugin's operator settings as the host loaded them at start, or the error loading them raised: read them
    # as ``operator``, which raises that error in the hook that needs them (and in no other).
    loaded_operator: OperatorSettings | OperatorConfigError = field(default_factory=OperatorSettings)
    on_credentials: Callable[[dict[str, str]], None] | None = None

    @property
    def operator(self) -> Any:
        """The operator's settings for this plugin: an instance of its ``AppKind.operator_settings``.

        :raises OperatorConfigError: they are missing or wrong; the message names the setting, where it came from
            (the file and section, or the variable) and the fix.
        """
        if isinstance(self.loaded_operator, OperatorConfigError):
            raise again(self.loaded_operator)
        return self.loaded_operator

    def update_credentials(self, secrets: dict[str, str]) -> None:
        """Store a renewed secret (a rotated refresh token, say), encrypted, for this app.

        :raises AppRemoved: the app was removed meanwhile; nothing is stored.
        """
        if self.on_credentials is None:
            raise RuntimeError("credentials cannot be updated in this context")
        self.credentials = dict(secrets)
        self.on_credentials(self.credentials)
