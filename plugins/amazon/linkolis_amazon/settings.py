"""The Amazon app's panel (what the seller fills in) and the operator's settings (what the host operator gives).

The host loads the operator settings once (``linkolis_host.OperatorSettings``): from `[plugins.amazon]` in
linkolis.toml and from `LINKOLIS_AMAZON_*` environment variables, which win; a secret in the file may be written as
`"env:VARIABLE"` so it stays out of the file. Hooks read them as ``ctx.operator``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from linkolis_host import AppSettings, EndpointOverride, Refusal

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


class AmazonOperator(EndpointOverride):
    """The Amazon developer app this host runs as, and where Amazon is."""

    endpoint_carries = "the client secret and the sellers' tokens"

    client_id: str | None = None
    client_secret: SecretStr | None = None
    application_id: str | None = None
    redirect_uri: str | None = None
    login_uri: bool = Field(False, description="The developer app has a log-in URI registered")
    draft: bool = False
    sandbox: bool = False
    first_import_days: int = Field(7, ge=1, le=730)
    feed_threshold: int = Field(0, ge=0, description="SKUs from which stock goes by feed (0: from the rate model)")

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
