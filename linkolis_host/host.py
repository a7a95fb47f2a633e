"""The assembled host: data directory, config, database, plugins, secrets, clock, rate limiter.

The CLI builds one from the environment; tests and the demo build one with an injected clock, HTTP transport
(a simulator in-process), extra plugins and environment.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Iterable

import httpx

from . import store
from .clock import Clock, SystemClock
from .config import HostConfig, home_dir, load_config
from .context import REDACTOR, Context, Progress, StateStore
from .errors import UserError
from .http import HttpClient, HttpStats
from .models import AppInfo, AppSettings, AppStatus
from .plugins import Registry, build_plugin_manager
from .ratelimit import RateLimiter
from .secrets import SecretBox


class Host:
    def __init__(
        self,
        home: Path | str | None = None,
        *,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        extra_plugins: Iterable[Any] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.home = Path(home) if home is not None else home_dir()
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create the data directory {self.home}: {exc.strerror}") from None
        self.config: HostConfig = load_config(self.home)
        self.clock: Clock = clock or SystemClock()
        self.transport = transport
        self.extra_plugins = list(extra_plugins)
        self.env = {**os.environ, **(env or {})}
        self.db_path = self.home / store.DB_FILE
        self.db = store.connect(self.db_path)
        self.secrets = SecretBox(self.home)
        self.limiter = RateLimiter(self.db_path, self.clock)
        self.http_stats = HttpStats()
        self._registry: Registry | None = None

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = build_plugin_manager(self.config.plugins.enabled, self.extra_plugins)
        return self._registry

    def fork(self) -> "Host":
        """A host on its own database connection, for another thread (sync --watch)."""
        twin = object.__new__(Host)
        twin.__dict__.update(self.__dict__)
        twin.db = store.connect(self.db_path)
        twin.limiter = RateLimiter(self.db_path, self.clock)
        return twin

    def close(self) -> None:
        self.limiter.close()
        self.db.close()

    # -- what hooks get ------------------------------------------------------------------------------------

    def settings_for(self, kind: str, raw: dict[str, Any]) -> AppSettings:
        return self.registry.kind(kind).settings.model_validate(raw)

    def app_info(self, row: dict[str, Any]) -> AppInfo:
        status = AppStatus.needs_attention if row["status"] == "needs_attention" else AppStatus(row["status"])
        return AppInfo(
            id=row["id"], name=row["name"], kind=row["kind"],
            settings=self.settings_for(row["kind"], store.loads(row["settings"])), status=status,
            account_id=row["account_id"], authorized_at=row["authorized_at"],
            authorization_expires_at=row["authorization_expires_at"],
        )

    def open_credentials(self, app_id: int) -> dict[str, str] | None:
        row = self.db.execute("SELECT ciphertext FROM credentials WHERE app_id = ?", (app_id,)).fetchone()
        if row is None:
            return None
        secrets = self.secrets.open(row[0])
        REDACTOR.add(*secrets.values())
        return secrets

    def seal_credentials(self, app_id: int, secrets: dict[str, str]) -> None:
        REDACTOR.add(*secrets.values())
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO credentials (app_id, ciphertext, fields, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(app_id) DO UPDATE SET ciphertext = excluded.ciphertext, fields = excluded.fields, "
                "updated_at = excluded.updated_at",
                (app_id, self.secrets.seal(secrets), store.dumps(sorted(secrets)), self.clock.now().isoformat()),
            )

    def context(self, row: dict[str, Any], progress: Progress | None = None) -> Context:
        kind = self.registry.kind(row["kind"])
        info = self.app_info(row)
        account = info.account_id or f"app-{info.id}"
        log = logging.getLogger(f"linkolis.{row['kind']}")
        http = HttpClient(
            clock=self.clock, limiter=self.limiter, limits=kind.rate_limits,
            bucket_prefix=f"{row['kind']}:{account}", transport=self.transport,
            timeout=self.config.http.timeout, retries=self.config.http.retries, log=log, stats=self.http_stats,
        )
        return Context(
            app=info,
            credentials=self.open_credentials(row["id"]),
            plugin_config=self.config.plugins.section(row["kind"]),
            http=http,
            state=StateStore(self.db, row["id"], self.secrets),
            clock=self.clock,
            log=log,
            progress=progress or Progress(),
            env=self.env,
            on_credentials=lambda secrets: self.seal_credentials(row["id"], secrets),
        )
