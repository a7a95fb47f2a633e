"""Host configuration: ``$LINKOLIS_HOME/linkolis.toml`` plus the environment.

```toml
[plugins]
enabled = ["amazon"]          # which installed plugins to load (default: every installed one)

[plugins.amazon]              # each plugin validates its own section
client_id = "amzn1.application-oa2-client.…"

[http]
timeout = 30                  # seconds

[sync]
interval = 60                 # seconds between imports under `linkolis sync --watch`
net_interval = 900            # ... for an app whose orders come by notification: polling is then the net

[web]
base_url = "https://linkolis.example.com"   # the public address of `linkolis serve` (env LINKOLIS_BASE_URL)
session_idle = 28800          # seconds without a request after which a web session ends (8 hours)
session_lifetime = 604800     # seconds after signing in at which it ends, whatever happened since (7 days)

[demo]                        # written by `linkolis demo` into its own data directory only
stand_ins = ["http://127.0.0.1:41234"]      # a connection one refuses: "the demo's simulator has stopped"
```
Secrets never belong here: give them as environment variables, which each plugin names.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

import click
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import Action, UserError

CONFIG_FILE = "linkolis.toml"


def home_dir() -> Path:
    """The data directory: ``LINKOLIS_HOME``, else the platform's app dir for "linkolis"."""
    home = os.environ.get("LINKOLIS_HOME") or click.get_app_dir("linkolis")
    return Path(home).expanduser()


class PluginsConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    enabled: list[str] | None = None

    @model_validator(mode="after")
    def _sections_are_tables(self) -> PluginsConfig:
        for key, value in (self.model_extra or {}).items():
            if not isinstance(value, dict):
                raise ValueError(f"[plugins.{key}] must be a table of settings, not {type(value).__name__}")
        return self

    def section(self, plugin_id: str) -> dict[str, Any]:
        return dict((self.model_extra or {}).get(plugin_id, {}))


class HttpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timeout: float = Field(30.0, gt=0, le=600)
    retries: int = Field(5, ge=0, le=20)


class SyncConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    interval: float = Field(60.0, ge=1)
    push_interval: float = Field(1.0, gt=0, le=60)
    net_interval: float = Field(900.0, ge=1)  # an app on notifications is also polled this often: the net


def check_base_url(value: str) -> str:
    """A public address: ``https://host[:port][/path]`` (``http://`` only for a local try-out), no query."""
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must start with https:// (or http:// for a local try-out)")
    if parts.query or parts.fragment:
        raise ValueError("must be an address without ?query or #fragment")
    return value


class WebConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The public address of `linkolis serve`; the OAuth redirect URI registered with each marketplace is
    # <base_url>/apps/callback, and `linkolis apps authorize` sends the seller back there too.
    base_url: str | None = None
    # A signed-in seller's session ends after this many seconds without a request, and this many after signing in.
    session_idle: float = Field(8 * 3600.0, ge=60, le=30 * 86400)
    session_lifetime: float = Field(7 * 86400.0, ge=300, le=365 * 86400)

    @field_validator("base_url")
    @classmethod
    def _public_address(cls, value: str | None) -> str | None:
        return None if value is None else check_base_url(value)


class DemoConfig(BaseModel):
    """Written by ``linkolis demo`` into its data directory: where its stand-ins ran. A connection one of them
    refuses is the demo's stand-in having stopped, and is told so."""

    model_config = ConfigDict(extra="forbid")

    stand_ins: list[str] = []


def check_database_url(value: str) -> str:
    """A PostgreSQL database: ``postgresql://user[:password]@host[:port]/name`` (or ``?host=/socket/dir``)."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError("must be a PostgreSQL URL: postgresql://user@host/database")
    if not parts.path.strip("/"):
        raise ValueError("must name a database: postgresql://user@host/database")
    return value


class DatabaseConfig(BaseModel):
    """Where the host keeps its data: the embedded SQLite file in the data directory (no ``url``), or a PostgreSQL
    database every process of an installation shares."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = None

    @field_validator("url")
    @classmethod
    def _postgres(cls, value: str | None) -> str | None:
        return None if value is None else check_database_url(value)


class HostConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    database: DatabaseConfig = DatabaseConfig()
    plugins: PluginsConfig = PluginsConfig()
    http: HttpConfig = HttpConfig()
    sync: SyncConfig = SyncConfig()
    web: WebConfig = WebConfig()
    demo: DemoConfig = DemoConfig()


def base_url(config: HostConfig, env: Mapping[str, str]) -> str | None:
    """The configured public address: ``LINKOLIS_BASE_URL``, else ``[web] base_url``, else None."""
    given = env.get("LINKOLIS_BASE_URL", "").strip()
    if not given:
        return config.web.base_url
    try:
        return check_base_url(given)
    except ValueError as exc:
        raise UserError(f"LINKOLIS_BASE_URL {given!r} {exc}") from None


def metrics_token(env: Mapping[str, str]) -> str | None:
    """The bearer token ``GET /metrics`` wants: ``LINKOLIS_METRICS_TOKEN`` (the environment only, as every secret
    of the operator's: linkolis.toml goes into backups); None: serve offers no /metrics."""
    given = env.get("LINKOLIS_METRICS_TOKEN", "").strip()
    if given and len(given) < 16:
        raise UserError("LINKOLIS_METRICS_TOKEN is too short to guard anything: give at least 16 characters")
    return given or None


def database_url(config: HostConfig, env: Mapping[str, str]) -> str | None:
    """The PostgreSQL database to use: ``LINKOLIS_DATABASE_URL``, else ``[database] url``, else None (the SQLite
    file in the data directory)."""
    given = env.get("LINKOLIS_DATABASE_URL", "").strip()
    if not given:
        return config.database.url
    try:
        return check_database_url(given)
    except ValueError as exc:
        # The URL may carry a password: name the variable, never its value.
        raise UserError(f"LINKOLIS_DATABASE_URL {exc}", code="database_url_invalid", action=Action.OPERATOR) from None


def format_validation_error(error: ValidationError, prefix: str = "") -> str:
    """Render a pydantic error as ``field: message`` lines."""
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top)"
        lines.append(f"{prefix}{where}: {item['msg']}")
    return "\n".join(lines)


def load_config(home: Path) -> HostConfig:
    path = home / CONFIG_FILE
    if not path.exists():
        return HostConfig()
    if path.is_dir():
        raise UserError(f"{path} is a directory; the configuration must be a TOML file (move the directory aside)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return HostConfig.model_validate(data)
    except ValidationError as exc:
        raise UserError(f"{path} has invalid settings:\n{format_validation_error(exc, '  ')}") from None


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to linkolis.toml")


def dump_config(data: Mapping[str, Any], comment: str = "") -> str:
    """``data`` (tables of settings, tables in them one level down) as the text of linkolis.toml."""
    out = [f"# {line}".rstrip() for line in comment.splitlines()]
    for name, table in data.items():
        scalars = {k: v for k, v in table.items() if not isinstance(v, Mapping)}
        out += ["", f"[{name}]", *(f"{k} = {_toml_value(v)}" for k, v in scalars.items())]
        for sub, values in table.items():
            if isinstance(values, Mapping):
                out += ["", f"[{name}.{sub}]", *(f"{k} = {_toml_value(v)}" for k, v in values.items())]
    return "\n".join(out).lstrip("\n") + "\n"


def write_demo_config(home: Path, sections: Mapping[str, Mapping[str, Any]], stand_ins: list[str]) -> Path:
    """Point the data directory ``home`` at the demo's stand-ins: each plugin's ``[plugins.<id>]`` section from
    ``sections`` and ``[demo] stand_ins``, over what linkolis.toml held (the demo run again in the same place)."""
    path = home / CONFIG_FILE
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            raise UserError(f"{path} cannot be read to add the demo's settings: {exc}") from None
    plugins = data.setdefault("plugins", {})
    for plugin_id, section in sections.items():
        plugins[plugin_id] = {**plugins.get(plugin_id, {}), **section}
    data["demo"] = {"stand_ins": list(stand_ins)}
    home.mkdir(parents=True, exist_ok=True)
    path.write_text(
        dump_config(
            data,
            "Written by `linkolis demo`: this data directory talks to the demo's local stand-ins, never to a real\n"
            "marketplace. Their credentials are the simulators' published test values, not secrets.",
        ),
        encoding="utf-8",
    )
    return path
