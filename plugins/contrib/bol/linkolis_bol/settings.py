"""The bol app's panel (what the seller fills in) and the operator's settings (what the host operator gives).

The seller's Client ID and Client Secret are not panel fields but direct credentials (``plugin.py``): the host
asks for them at authorization, has the plugin check them with bol, and stores them encrypted. The host loads the
operator settings once: from `[plugins.bol]` in linkolis.toml and from `LINKOLIS_BOL_*` environment variables, which
win (``"env:VARIABLE"`` reads a value from another variable). Hooks read them as ``ctx.operator``.
"""

from __future__ import annotations

from pydantic import Field

from linkolis_host import AppSettings, EndpointOverride

LOGIN_URL = "https://login.bol.com"
API_URL = "https://api.bol.com"


class BolSettings(AppSettings):
    name: str = Field(
        "bol",
        title="Application name",
        description='How this app is called in My applications ("bol NL", "bol BE")',
    )
    stock_sync: bool = Field(
        False,
        title="Stock update sync",
        description="Push stock levels to your bol offers as they change; off means nothing is pushed to live offers",
    )


class BolOperator(EndpointOverride):
    """Where bol is, and how far back a first import reaches."""

    endpoint_carries = "the sellers' client secrets and tokens"

    first_import_days: int = Field(7, ge=1, le=90, description="bol keeps 3 months of order changes")
    offer_map_hours: float = Field(24.0, gt=0, description="Re-read the offer export after this many hours")
    notifications_role_arn: str | None = Field(
        None,
        pattern=r"^arn:aws:iam::\d{12}:role/.+$",
        description="The IAM role bol assumes to send order notifications to notifications_queue_url (its ARN)",
    )

    def token_url(self) -> str:
        return f"{(self.endpoint or LOGIN_URL).rstrip('/')}/token"

    def api_url(self) -> str:
        return (self.endpoint or API_URL).rstrip("/")
