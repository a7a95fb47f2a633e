"""The Amazon app's hook implementations, and nothing else.

No ``cancel_order``: neither Orders API the app may use (v0, v2026-01-01; ``spapi_models/orders-*.json``) has an
operation that cancels an order or accepts a buyer's request to cancel. The app shows a buyer's request
(``orders.py``); the seller cancels the order in Seller Central (Orders → Manage Orders → Cancel order), and the next
import shows it CANCELLED (``cancellationExecution`` by MERCHANT) and releases its units.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from linkolis_host import (
    Action,
    AppKind,
    AuthorizationError,
    AuthorizationStart,
    Context,
    CredentialField,
    Credentials,
    endpoint_notices,
    hookimpl,
)

from . import health, lwa, notifications, orders, stock
from . import shipments as _shipments
from .client import RATE_LIMITS, error_of
from .settings import AmazonOperator, AmazonSettings

LOCALE_DIR = Path(__file__).with_name("locale")  # our words in Dutch and English: locale/<lang>/LC_MESSAGES/amazon.po


@hookimpl
def configure_fields() -> AppKind:
    return AppKind(
        kind="amazon",
        title="Amazon",
        description="Import orders from an Amazon marketplace and keep its listings' stock in sync (SP-API).",
        settings=AmazonSettings,
        operator_settings=AmazonOperator,
        rate_limits=RATE_LIMITS,
        request_id_header="x-amzn-requestid",
        oauth=True,
        direct_credentials=[
            CredentialField(
                name="refresh_token",
                label="Refresh token",
                help="A private app's self-authorization (Seller Central: Develop apps → Authorize)",
            ),
            CredentialField(
                name="selling_partner_id",
                label="Merchant id",
                secret=False,
                help="Your merchant token (Seller Central: Settings → Account info)",
            ),
        ],
        notices=endpoint_notices,
        carriers=_shipments.CARRIERS,
        locale_dir=LOCALE_DIR,
        # orders.SETTLE: the import asks only for orders at least 2½ minutes old (Amazon refuses younger).
        order_delay_note="Amazon shows a new order about 2½ minutes after it is placed.",
    )


@hookimpl
def authorize(ctx: Context, step, params):
    op: AmazonOperator = ctx.operator
    market = ctx.app.settings.market
    if step == "start":
        # Fail before the seller confirms in Seller Central, not after: the code exchange needs all three.
        op.require("client_id", "client_secret", "application_id")
        redirect_uri = op.redirect_uri or params["redirect_uri"]
        return AuthorizationStart(
            url=lwa.consent_url(op, market, params["state"], redirect_uri), redirect_uri=redirect_uri
        )
    if step == "continue":
        redirect_uri = op.redirect_uri or params.get("redirect_uri") or ""
        return AuthorizationStart(url=lwa.callback_url(op, market, params, redirect_uri), redirect_uri=redirect_uri)
    if step == "complete":
        code, seller = params.get("spapi_oauth_code"), params.get("selling_partner_id")
        if not code or not seller:
            raise AuthorizationError(
                "Amazon's redirect carries no spapi_oauth_code or selling_partner_id; run the authorization again"
            )
        # The access token is not cached here: the host may still refuse this account (another seller, or an
        # app that already has it), and a cached token would then act as that account for this app.
        tokens = lwa.exchange_code(ctx, code, params["redirect_uri"])
        _prove_seller(ctx, op, seller, tokens.access_token)
        return Credentials(
            account_id=seller,
            secrets={"refresh_token": tokens.refresh_token},
            expires_at=ctx.clock.now() + lwa.RENEWAL,
            details={"region": market.region},
        )
    if step == "direct":
        token, seller = params["refresh_token"].strip(), params["selling_partner_id"].strip()
        if not token.startswith("Atzr|"):
            raise AuthorizationError("that is not an LWA refresh token (they start with Atzr|)")
        if not seller:
            raise AuthorizationError(
                "the merchant id (selling_partner_id) is empty; copy it from Seller Central (Settings → Account info)"
            )
        tokens = lwa.check_refresh_token(ctx, token)  # not cached either, for the same reason
        _prove_seller(ctx, op, seller, tokens.access_token)
        return Credentials(account_id=seller, secrets={"refresh_token": token}, details={"region": market.region})
    raise AuthorizationError(f"unknown authorization step {step!r}")


def _prove_seller(ctx: Context, op, seller: str, access_token: str) -> None:
    """Ask Amazon, with the new access token, for one listing of ``seller``: Amazon answers only for the selling
    partner the token acts for. The seller id of a redirect (an address anyone can edit) or of a paste is thereby
    proven before the host stores it, not trusted. The token is used here and not kept (see above)."""
    market = ctx.app.settings.market
    response = ctx.http.request(
        "GET",
        f"{op.api_url(market)}/listings/2021-08-01/items/{quote(seller, safe='')}",
        operation="searchListingsItems",
        params={"marketplaceIds": market.id, "pageSize": 1},
        headers={"accept": "application/json", "x-amz-access-token": access_token},
    )
    if response.status_code == 200:
        return
    error = error_of(response, "searchListingsItems")
    if response.status_code == 403:
        raise AuthorizationError(
            f"Amazon did not confirm that this authorization belongs to selling partner {seller} ({error}). "
            "Nothing was stored. The redirect address or the pasted merchant id names another account than the "
            "one that signed in: authorize again without editing the address (or paste the merchant id shown in "
            "Seller Central → Settings → Account info). If it persists, the developer app lacks the Product Listing "
            "role this check needs: the operator adds it, then the seller authorizes again.",
            code="amazon_seller_unconfirmed",
            app=ctx.app.name,
            values={"seller": seller},
        )
    if response.status_code == 400:
        raise AuthorizationError(
            f"Amazon did not confirm the authorization of selling partner {seller} for {market.country} ({error}). "
            "Nothing was stored. If the account does not sell in that marketplace, choose one it sells in, or sign "
            "in to the right account; then authorize again.",
            code="amazon_marketplace_unconfirmed",
            app=ctx.app.name,
            param="marketplace",
            action=Action.CONFIGURE,
            values={"seller": seller, "country": market.country},
        )
    raise error


@hookimpl
def import_orders(ctx: Context, cursor):
    return orders.import_orders(ctx, cursor)


@hookimpl
def push_stock(ctx: Context, items):
    return stock.push(ctx, items)


@hookimpl
def push_shipments(ctx: Context, shipments):
    return _shipments.confirm(ctx, shipments)


@hookimpl
def read_stock(ctx: Context, skus):
    return stock.read(ctx, skus)


@hookimpl
def health_check(ctx: Context):
    return health.checks(ctx)


@hookimpl
def subscribe_notifications(ctx: Context, queue_arn):
    return notifications.subscribe(ctx, queue_arn)


@hookimpl
def unsubscribe_notifications(ctx: Context, subscription):
    notifications.unsubscribe(ctx, subscription)


@hookimpl
def read_notification(body):
    return notifications.read(body)


@hookimpl
def fetch_orders(ctx: Context, order_ids):
    return notifications.fetch(ctx, order_ids)


@hookimpl
def demo_environment(home):
    from .demo import environment  # the simulator is only ever imported for the demo

    return environment(home)
