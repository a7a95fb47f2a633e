"""The Amazon app's panel (what the seller fills in) and the operator's settings (what the host operator gives).

Operator settings come from `[plugins.amazon]` in linkolis.toml and from `LINKOLIS_AMAZON_*` environment
variables, which win. A secret in the file may be written as `"env:VARIABLE"` so it stays out of the file.
"""

from __future__ import annotations

from typing import Any, Literal, Mapping
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator

from linkolis_host import AppSettings, OperatorConfigError, Refusal, check_endpoint

from .marketplaces import LWA_TOKEN_URL, MARKETPLACES, Marketplace, by_code

MarketplaceCode = Literal[
    "CA",
    "US",
    "MX",
    "BR",
    "IE",
    "ES",
    "UK",
    "FR",
    "BE",
    "NL",
    "DE",
    "IT",
    "SE",
    "ZA",
    "PL",
    "EG",
    "TR",
    "SA",
    "AE",
    "IN",
    "SG",
    "AU",
    "JP",
]
assert set(MarketplaceCode.__args__) == set(MARKETPLACES)  # type: ignore[attr-defined]


class AmazonSettings(AppSettings):
    name: str = Field(
        "Amazon",
        title="Application name",
        min_length=1,
        max_length=80,
        description="How this app is called in My applications; name it after its marketplace "
        '("Amazon DE", "Amazon FR") when you sell in several',
    )
    marketplace: MarketplaceCode = Field(
        title="Marketplace",
        description="The Amazon country this app sells in (one app per marketplace)",
        json_schema_extra={"choice_titles": {code: m.country for code, m in MARKETPLACES.items()}},
    )
    stock_sync: bool = Field(
        False,
        title="Stock update sync",
        description="Push stock levels to this marketplace's listings as they change; off "
        "means nothing is pushed to live listings",
    )

    @field_validator("marketplace")
    @classmethod
    def _one_app_per_marketplace(cls, code: str, info: ValidationInfo) -> str:
        # Before the consent page, not after: an app of this workspace already connected to the marketplace is the
        # seller's own account there (another account is still refused after the round trip, by the host).
        for other in cls.other_apps(info):
            if other.account_id and other.settings.marketplace == code:  # type: ignore[attr-defined]
                site = by_code(code).domain.removeprefix("www.")
                raise Refusal(
                    "'%(name)s' already connects this marketplace (%(site)s): one app per marketplace. Use "
                    "'%(name)s', or choose another marketplace.",
                    name=other.name,
                    site=site,
                )
        return code

    @property
    def market(self) -> Marketplace:
        return by_code(self.marketplace)

    def authorization_scope(self) -> str:
        # Amazon authorizations are regional: moving to another region needs a new one.
        return self.market.region

    def account_scope(self) -> str:
        return self.market.id

    def account_scope_title(self) -> str:
        return self.market.domain.removeprefix("www.")  # "amazon.de": the same in every language


ENV_PREFIX = "LINKOLIS_AMAZON_"


class OperatorSettings(BaseModel):
    """The Amazon developer app this host runs as, and where Amazon is."""

    model_config = ConfigDict(extra="forbid")

    client_id: str | None = None
    client_secret: SecretStr | None = None
    application_id: str | None = None
    redirect_uri: str | None = None
    login_uri: bool = Field(False, description="The developer app has a log-in URI registered")
    draft: bool = False
    sandbox: bool = False
    endpoint: str | None = Field(None, description="One base URL replacing every Amazon host (the simulator)")
    allow_insecure_endpoint: bool = Field(
        False,
        description="Let `endpoint` be plain HTTP to a host that is not this machine (the seller's tokens "
        "and the client secret then cross the network unencrypted)",
    )
    first_import_days: int = Field(7, ge=1, le=730)
    feed_threshold: int = Field(0, ge=0, description="SKUs from which stock goes by feed (0: from the rate model)")

    def require(self, *names: str) -> None:
        missing = [n for n in names if getattr(self, n) in (None, "")]
        if missing:
            where = "; ".join(
                f"{ENV_PREFIX}{n.upper()} or `{n} = …` under [plugins.amazon] in linkolis.toml" for n in missing
            )
            raise OperatorConfigError(f"the Amazon app needs its operator setting {', '.join(missing)}: set {where}")

    def secret(self) -> str:
        self.require("client_secret")
        assert self.client_secret is not None
        return self.client_secret.get_secret_value()

    def lwa_url(self) -> str:
        return f"{self.endpoint.rstrip('/')}/auth/o2/token" if self.endpoint else LWA_TOKEN_URL

    def api_url(self, market: Marketplace) -> str:
        if self.endpoint:
            return self.endpoint.rstrip("/")
        return market.sandbox_endpoint if self.sandbox else market.endpoint

    def seller_central(self, market: Marketplace) -> str:
        return self.endpoint.rstrip("/") if self.endpoint else market.seller_central

    def endpoint_notice(self) -> str | None:
        """What to tell a seller or operator when the app talks to something that is not Amazon."""
        if not self.endpoint:
            return None
        plain = " over plain HTTP" if urlsplit(self.endpoint).scheme == "http" else ""
        return (
            f"talks to {self.endpoint}{plain} instead of Amazon: the operator's endpoint override "
            f"({ENV_PREFIX}ENDPOINT or `endpoint` under [plugins.amazon]) is in force"
        )


def _check_endpoint(op: OperatorSettings) -> None:
    check_endpoint(
        op.endpoint,
        marketplace="Amazon",
        setting=f"{ENV_PREFIX}ENDPOINT / `endpoint` under [plugins.amazon]",
        allow_setting=f"{ENV_PREFIX}ALLOW_INSECURE_ENDPOINT=1 or `allow_insecure_endpoint = true` under "
        "[plugins.amazon]",
        allowed=op.allow_insecure_endpoint,
        carries="the client secret and the sellers' tokens",
    )


_TRUE = {"1", "true", "yes", "on"}


def operator_settings(section: Mapping[str, Any], env: Mapping[str, str]) -> OperatorSettings:
    values: dict[str, Any] = dict(section)
    for name in OperatorSettings.model_fields:
        if f"{ENV_PREFIX}{name.upper()}" in env:
            values[name] = env[f"{ENV_PREFIX}{name.upper()}"]
    for name, value in list(values.items()):
        if isinstance(value, str) and value.startswith("env:"):
            values[name] = env.get(value[4:])
            if values[name] is None:
                raise OperatorConfigError(
                    f"[plugins.amazon] {name} refers to the environment variable {value[4:]}, which is not set"
                )
        if name in ("draft", "sandbox", "login_uri", "allow_insecure_endpoint") and isinstance(values[name], str):
            values[name] = values[name].strip().lower() in _TRUE
    try:
        op = OperatorSettings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise OperatorConfigError(
            f"invalid Amazon operator settings ([plugins.amazon] / {ENV_PREFIX}*): {problems}"
        ) from None
    _check_endpoint(op)
    return op
