"""The bol app's panel (what the seller fills in) and the operator's settings (what the host operator gives).

The seller's Client ID and Client Secret are not panel fields but direct credentials (``plugin.py``): the host
asks for them at authorization, has the plugin check them with bol, and stores them encrypted. Operator settings
come from `[plugins.bol]` in linkolis.toml and from `LINKOLIS_BOL_*` environment variables, which win.
"""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from linkolis_host import AppSettings, OperatorConfigError, check_endpoint

ENV_PREFIX = "LINKOLIS_BOL_"
LOGIN_URL = "https://login.bol.com"
API_URL = "https://api.bol.com"


class BolSettings(AppSettings):
    name: str = Field(
        "bol",
        title="Application name",
        min_length=1,
        max_length=80,
        description='How this app is called in My applications ("bol NL", "bol BE")',
    )
    stock_sync: bool = Field(
        False,
        title="Stock update sync",
        description="Push stock levels to your bol offers as they change; off means nothing is pushed to live offers",
    )


class OperatorSettings(BaseModel):
    """Where bol is, and how far back a first import reaches."""

    model_config = ConfigDict(extra="forbid")

    endpoint: str | None = Field(None, description="One base URL for bol's login and API (the simulator)")
    allow_insecure_endpoint: bool = Field(
        False,
        description="Let `endpoint` be plain HTTP to a host that is not this machine (the seller's client "
        "secret and tokens then cross the network unencrypted)",
    )
    first_import_days: int = Field(7, ge=1, le=90, description="bol keeps 3 months of order changes")
    offer_map_hours: float = Field(24.0, gt=0, description="Re-read the offer export after this many hours")

    def token_url(self) -> str:
        return f"{(self.endpoint or LOGIN_URL).rstrip('/')}/token"

    def api_url(self) -> str:
        return (self.endpoint or API_URL).rstrip("/")

    def endpoint_notice(self) -> str | None:
        if not self.endpoint:
            return None
        plain = " over plain HTTP" if urlsplit(self.endpoint).scheme == "http" else ""
        return (
            f"talks to {self.endpoint}{plain} instead of bol: the operator's endpoint override "
            f"({ENV_PREFIX}ENDPOINT or `endpoint` under [plugins.bol]) is in force"
        )


def _check_endpoint(op: OperatorSettings) -> None:
    check_endpoint(
        op.endpoint,
        marketplace="bol",
        setting=f"{ENV_PREFIX}ENDPOINT / `endpoint` under [plugins.bol]",
        allow_setting=f"{ENV_PREFIX}ALLOW_INSECURE_ENDPOINT=1 or `allow_insecure_endpoint = true` under [plugins.bol]",
        allowed=op.allow_insecure_endpoint,
        carries="the sellers' client secrets and tokens",
    )


_TRUE = {"1", "true", "yes", "on"}


def operator_settings(section: Mapping[str, Any], env: Mapping[str, str]) -> OperatorSettings:
    values: dict[str, Any] = dict(section)
    for name in OperatorSettings.model_fields:
        if f"{ENV_PREFIX}{name.upper()}" in env:
            values[name] = env[f"{ENV_PREFIX}{name.upper()}"]
    if isinstance(values.get("allow_insecure_endpoint"), str):
        values["allow_insecure_endpoint"] = values["allow_insecure_endpoint"].strip().lower() in _TRUE
    try:
        op = OperatorSettings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise OperatorConfigError(
            f"invalid bol operator settings ([plugins.bol] / {ENV_PREFIX}*): {problems}"
        ) from None
    _check_endpoint(op)
    return op
