"""The Amazon app's hook implementations, and nothing else."""

from __future__ import annotations


from linkolis_host import (
    AppKind,
    AuthorizationError,
    AuthorizationStart,
    CredentialField,
    Credentials,
    hookimpl,
)

from . import health, lwa, orders, stock
from .client import RATE_LIMITS
from .settings import AmazonSettings, operator_settings


@hookimpl
def configure_fields() -> AppKind:
    return AppKind(
        kind="amazon",
        title="Amazon",
        description="Import orders from an Amazon marketplace and keep its listings' stock in sync (SP-API).",
        settings=AmazonSettings,
        rate_limits=RATE_LIMITS,
        oauth=True,
        direct_credentials=[
            CredentialField(name="refresh_token", label="Refresh token",
                            help="A private app's self-authorization (Seller Central: Develop apps → Authorize)"),
            CredentialField(name="selling_partner_id", label="Merchant id", secret=False,
                            help="Your merchant token (Seller Central: Settings → Account info)"),
        ],
    )


@hookimpl
def authorize(ctx, step, params):
    op = operator_settings(ctx.plugin_config, ctx.env)
    market = ctx.app.settings.market
    if step == "start":
        # Fail before the seller confirms in Seller Central, not after: the code exchange needs all three.
        op.require("client_id", "client_secret", "application_id")
        redirect_uri = op.redirect_uri or params["redirect_uri"]
        return AuthorizationStart(url=lwa.consent_url(op, market, params["state"], redirect_uri),
                                  redirect_uri=redirect_uri)
    if step == "continue":
        redirect_uri = op.redirect_uri or params.get("redirect_uri") or ""
        return AuthorizationStart(url=lwa.callback_url(op, market, params, redirect_uri), redirect_uri=redirect_uri)
    if step == "complete":
        code, seller = params.get("spapi_oauth_code"), params.get("selling_partner_id")
        if not code or not seller:
            raise AuthorizationError("Amazon's redirect carries no spapi_oauth_code or selling_partner_id; "
                                     "run the authorization again")
        # The access token is not cached here: the host may still refuse this account (another seller, or an
        # app that already has it), and a cached token would then act as that account for this app.
        tokens = lwa.exchange_code(ctx, op, code, params["redirect_uri"])
        return Credentials(account_id=seller, secrets={"refresh_token": tokens.refresh_token},
                           expires_at=ctx.clock.now() + lwa.RENEWAL, details={"region": market.region})
    if step == "direct":
        token, seller = params["refresh_token"].strip(), params["selling_partner_id"].strip()
        if not token.startswith("Atzr|"):
            raise AuthorizationError("that is not an LWA refresh token (they start with Atzr|)")
        lwa.check_refresh_token(ctx, op, token)  # not cached either, for the same reason
        return Credentials(account_id=seller, secrets={"refresh_token": token}, details={"region": market.region})
    raise AuthorizationError(f"unknown authorization step {step!r}")


@hookimpl
def import_orders(ctx, cursor):
    return orders.import_orders(ctx, cursor)


@hookimpl
def push_stock(ctx, items):
    return stock.push(ctx, items)


@hookimpl
def read_stock(ctx, skus):
    return stock.read(ctx, skus)


@hookimpl
def health_check(ctx):
    return health.checks(ctx)


@hookimpl
def demo_environment(home):
    from .demo import environment  # the simulator is only ever imported for the demo

    return environment(home)


