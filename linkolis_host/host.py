"""The assembled host: data directory, config, database, plugins, secrets, clock, rate limiter.

The CLI builds one from the environment; tests and the demo build one with an injected clock, HTTP transport
(a simulator in-process), extra plugins and environment.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import httpx

from . import store
from .clock import Clock, SystemClock, with_monotonic
from .config import CONFIG_FILE, HostConfig, database_url, home_dir, load_config
from .context import REDACTOR, AppGuard, Context, Progress, StateStore
from .errors import Action, OperatorConfigError, UserError
from .http import ClientPool, HttpClient, HttpStats
from .models import AppInfo, AppSettings, AppStatus
from .operator import OperatorSettings, again, load_operator_settings
from .plugins import Registry, build_plugin_manager
from .ratelimit import RateLimiter
from .secrets import SecretBox, UnopenableSecret

if TYPE_CHECKING:
    from .installed import App


def _private_data_directory(home: Path, say: Callable[[str], None]) -> None:
    """Create the data directory 0700; one that others may enter is tightened when it is ours, else a warning.

    It holds buyers' names and addresses and the key to the stored credentials: no other local user may read it.
    """
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = home.stat()
    except FileExistsError:
        raise UserError(
            f"the data directory {home} is a file, not a directory; move it aside or point LINKOLIS_HOME elsewhere"
        ) from None
    except OSError as exc:
        raise UserError(f"cannot create the data directory {home}: {exc.strerror}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise UserError(f"the data directory {home} is not a directory; move it aside or point LINKOLIS_HOME elsewhere")
    mode = info.st_mode & 0o777
    if os.name != "posix" or not mode & 0o077:
        return  # Windows has no mode bits to tighten: a folder in the user's profile is the user's own
    if info.st_uid == os.geteuid():
        try:
            os.chmod(home, mode & 0o700)
        except OSError as exc:
            say(
                f"warning: other users may read the data directory {home} (mode {mode:o}) and it cannot be "
                f"tightened ({exc.strerror}); run: chmod 700 {home}"
            )
            return
        say(f"note: the data directory {home} was readable by other users (mode {mode:o}); it is now {mode & 0o700:o}")
    else:
        say(
            f"warning: other users may read the data directory {home} (mode {mode:o}), which belongs to uid "
            f"{info.st_uid}; ask its owner to run: chmod 700 {home}"
        )


class Host:
    def __init__(
        self,
        home: Path | str | None = None,
        *,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        extra_plugins: Iterable[Any] = (),
        env: dict[str, str] | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        """``say`` tells the operator what the host did or waits for (the CLI: a line on stderr)."""
        self.home = Path(home) if home is not None else home_dir()
        self.say = say or logging.getLogger("linkolis").warning
        _private_data_directory(self.home, self.say)
        self.config: HostConfig = load_config(self.home)
        self.clock: Clock = with_monotonic(clock or SystemClock())
        self.transport = transport
        self.extra_plugins = list(extra_plugins)
        self.env = {**os.environ, **(env or {})}
        self.db_path = self.home / store.DB_FILE
        # Where the data is: a PostgreSQL database every process shares, or the SQLite file in the data directory.
        self.database = database_url(self.config, self.env) or self.db_path
        self.db = store.connect(self.database, say=self.say)
        self.secrets = SecretBox(self.home)
        self.limiter = RateLimiter(self.database, self.clock, home=self.home)
        # One HTTP client per marketplace origin for this host and its forks (their worker threads): connections
        # kept alive from one unit to the next. Closed by this host, not by a fork.
        self.http_pool = ClientPool()
        self._owns_pool = True
        self.http_stats = HttpStats()
        # Shortcuts kept in memory for this host and its forks (shared: ``fork`` copies the reference), never the
        # truth: without them a module runs the query it would otherwise skip.
        self.memo: dict[str, Any] = {}
        self._registry: Registry | None = None
        # Each plugin's operator settings (or why they cannot be loaded), and the environment they were read from.
        self._operator: tuple[dict[str, str], dict[str, OperatorSettings | OperatorConfigError]] | None = None
        # The workspace this host acts for (``workspaces.current_id``): set by the CLI from --workspace, by the web
        # from the signed-in user. None: the only workspace, or a "Default" one made on first need; a host that
        # must never guess (the web's) sets ``workspace_default`` False, and acting without one is then an error.
        self.workspace_id: int | None = None
        self.workspace_default = True

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = build_plugin_manager(self.config.plugins.enabled, self.extra_plugins)
            self._load_operator_settings()
        return self._registry

    def _load_operator_settings(self) -> dict[str, OperatorSettings | OperatorConfigError]:
        """Every plugin's operator settings, loaded once with the plugins: again only when ``env`` has changed
        since (tests and the demo set variables on a host). A plugin whose settings are wrong keeps its error, raised
        where they are needed, so the others still work."""
        if self._operator is None or self._operator[0] != self.env:
            loaded: dict[str, OperatorSettings | OperatorConfigError] = {}
            for name, kind in self.registry.kinds.items():
                try:
                    loaded[name] = load_operator_settings(
                        kind, self.config.plugins.section(name), self.env, str(self.home / CONFIG_FILE)
                    )
                except OperatorConfigError as exc:
                    loaded[name] = exc
            self._operator = (dict(self.env), loaded)
        return self._operator[1]

    def operator_settings(self, kind: str) -> OperatorSettings:
        """The operator's settings for the plugin of ``kind`` (its ``AppKind.operator_settings``).

        :raises OperatorConfigError: they are missing or wrong.
        """
        loaded = self._load_operator_settings()[kind]
        if isinstance(loaded, OperatorConfigError):
            raise again(loaded)
        return loaded

    def fork(self) -> Host:
        """A host on its own database connection, for another thread (sync --watch)."""
        twin = object.__new__(Host)
        twin.__dict__.update(self.__dict__)
        twin.db = store.connect(self.database, say=self.say)
        twin.limiter = RateLimiter(self.database, self.clock, home=self.home)
        twin._owns_pool = False
        return twin

    def close(self) -> None:
        if self._owns_pool:
            self.http_pool.close()
        self.limiter.close()
        self.db.close()

    def __enter__(self) -> Host:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what hooks get ------------------------------------------------------------------------------------

    def settings_for(self, kind: str, raw: dict[str, Any]) -> AppSettings:
        return self.registry.kind(kind).settings.model_validate(raw)

    def app_info(self, app: App) -> AppInfo:
        # A pending app (its first authorization under way) is, to its plugin, an installed one.
        status = {"needs_attention": AppStatus.needs_attention, "pending": AppStatus.installed}.get(app.status)
        status = status or AppStatus(app.status)
        return AppInfo(
            id=app.id,
            name=app.name,
            kind=app.kind,
            settings=self.settings_for(app.kind, app.settings),
            status=status,
            account_id=app.account_id,
            authorized_at=app.authorized_at,
            authorization_expires_at=app.authorization_expires_at,
        )

    def open_credentials(self, app_id: int) -> dict[str, str] | None:
        """The app's decrypted credentials, or None if none are stored.

        :raises UnopenableSecret: they were sealed with another key (the secret key changed or was lost).
        """
        row = self.db.execute("SELECT ciphertext FROM credentials WHERE app_id = ?", (app_id,)).fetchone()
        if row is None:
            return None
        secrets = self.secrets.open(row[0])
        REDACTOR.add(*secrets.values())
        return secrets

    def credentials_unopenable(self, app: App) -> str | None:
        """Why the app's stored credentials cannot be opened with the current key, or None when they can (or
        none are stored); the message names the app and the way out."""
        try:
            self.open_credentials(app.id)
        except UnopenableSecret:
            return self._unopenable(app)
        return None

    def _unopenable(self, app: App) -> str:
        return (
            f"the stored credentials of {app.name!r} cannot be opened with this secret key (LINKOLIS_SECRET_KEY "
            f"or {self.home / 'secret.key'} changed or was lost): authorize the app again, or restore the old key"
        )

    def seal_credentials(self, app_id: int, secrets: dict[str, str]) -> None:
        REDACTOR.add(*secrets.values())
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO credentials (app_id, ciphertext, fields, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(app_id) DO UPDATE SET ciphertext = excluded.ciphertext, fields = excluded.fields, "
                "updated_at = excluded.updated_at",
                (app_id, self.secrets.seal(secrets), store.dumps(sorted(secrets)), self.clock.now().isoformat()),
            )

    def context(self, app: App, progress: Progress | None = None, *, for_authorization: bool = False) -> Context:
        """What a hook for ``app`` gets. Use ``installed.run``, which also closes the context's HTTP client.

        Credentials that cannot be opened (the secret key changed) stop every hook with a message that says to
        authorize again, except the authorization itself (``for_authorization``): it gets ``credentials=None``
        and replaces them, keeping the app, its orders and its cursor.
        """
        kind = self.registry.kind(app.kind)
        try:
            credentials = self.open_credentials(app.id)
        except UnopenableSecret:
            if not for_authorization:
                raise UnopenableSecret(
                    self._unopenable(app), code="credentials_unopenable", app=app.name, action=Action.AUTHORIZE
                ) from None
            credentials = None
        info = self.app_info(app)
        account = info.account_id or f"app-{info.id}"
        log = logging.getLogger(f"linkolis.{app.kind}")
        progress = progress or Progress()
        guard = AppGuard(self.db, app.id, app.name)

        def on_credentials(secrets: dict[str, str]) -> None:
            with self.db.atomic():  # a removed app's renewed token is not written back
                guard()
                self.seal_credentials(app.id, secrets)

        http = HttpClient(
            clock=self.clock,
            limiter=self.limiter,
            limits=kind.rate_limits,
            bucket_prefix=f"{app.kind}:{account}",
            transport=self.transport,
            timeout=self.config.http.timeout,
            retries=self.config.http.retries,
            stand_ins=self.config.demo.stand_ins,
            log=log,
            stats=self.http_stats,
            progress=progress,
            marketplace=kind.title,
            guard=guard,
            request_id_header=kind.request_id_header,
            pool=self.http_pool,
        )
        return Context(
            app=info,
            credentials=credentials,
            http=http,
            state=StateStore(self.db, app.id, self.secrets, app.name, clock=self.clock),
            clock=self.clock,
            log=log,
            progress=progress,
            loaded_operator=self._load_operator_settings()[app.kind],
            on_credentials=on_credentials,
        )
