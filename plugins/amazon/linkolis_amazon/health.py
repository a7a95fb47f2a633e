"""The checks behind "Module correctly installed", each with the step a seller or operator can take.

They cost little quota: one LWA refresh, one getMarketplaceParticipations, one tiny searchOrders (from the same
bucket order imports use) and, with stock sync on, one searchListingsItems item.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from linkolis_host import Action, Context, HealthCheck, LinkolisError, NeedsAttention, OperatorConfigError, plural

from . import lwa
from .client import SpApi, SpApiError
from .orders import PII_KEY
from .settings import operator_settings
from .stock import FIX_LISTING, warnings

RENEWAL_WARNING = timedelta(days=30)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def notices(app, plugin_config, env) -> list[str]:
    """What `apps show` says without asking Amazon: that the app talks to something that is not Amazon."""
    notice = operator_settings(plugin_config, env).endpoint_notice()
    return [f"this app {notice}"] if notice else []


def checks(ctx: Context) -> list[HealthCheck]:
    market = ctx.app.settings.market
    result: list[HealthCheck] = []
    refresh_token = (ctx.credentials or {}).get("refresh_token")
    result.append(
        HealthCheck(
            name="credentials present",
            status="ok" if refresh_token else "failed",
            detail="" if refresh_token else "no Amazon authorization is stored for this app",
            remedy="authorize the app and confirm in Seller Central",
            action=Action.AUTHORIZE,
        )
    )
    try:
        op = operator_settings(ctx.plugin_config, ctx.env)
        op.require("client_id", "client_secret", "application_id")
    except OperatorConfigError as exc:
        result.append(
            HealthCheck(
                name="operator settings",
                status="failed",
                detail=exc.reason,
                remedy="the host operator sets these (see docs/operations.md)",
                operator=True,
                action=Action.OPERATOR,
            )
        )
        return result
    notice = op.endpoint_notice()
    if notice:
        result.append(
            HealthCheck(
                name="Amazon endpoint",
                status="warning",
                detail=f"this app {notice}",
                remedy="right for the simulator or a recording proxy; for a real seller the "
                "operator removes the override (see docs/operations.md)",
                action=Action.OPERATOR,
            )
        )
    if not refresh_token:
        return result

    try:
        lwa.access_token(ctx, op, force=True)
        result.append(HealthCheck(name="LWA token refresh", status="ok"))
    except NeedsAttention as exc:
        operator = isinstance(exc, OperatorConfigError)
        result.append(
            HealthCheck(
                name="LWA token refresh",
                status="failed",
                detail=exc.reason,
                remedy=(
                    "the host operator rotates the client secret in Seller Central (Develop apps → View → "
                    "rotate) and sets LINKOLIS_AMAZON_CLIENT_SECRET"
                    if operator
                    else "authorize the app again"
                ),
                operator=operator,
                action=Action.OPERATOR if operator else Action.AUTHORIZE,
            )
        )
        return result
    except LinkolisError as exc:
        result.append(
            HealthCheck(
                name="LWA token refresh",
                status="failed",
                detail=str(exc),
                remedy="check the network and try again",
                action=Action.VERIFY,
            )
        )
        return result

    api = SpApi(ctx)
    try:
        participations = api.marketplace_participations()
        mine = [p for p in participations if p.get("marketplace", {}).get("id") == market.id]
        if mine and mine[0].get("participation", {}).get("isParticipating"):
            result.append(
                HealthCheck(
                    name="marketplace participation",
                    status="ok",
                    detail=f"the account sells in {market.country} ({market.domain})",
                )
            )
        else:
            sells_in = (
                ", ".join(
                    sorted(
                        p["marketplace"].get("countryCode", "?")
                        for p in participations
                        if p.get("participation", {}).get("isParticipating")
                    )
                )
                or "nowhere"
            )
            result.append(
                HealthCheck(
                    name="marketplace participation",
                    status="failed",
                    detail=f"the authorized account does not sell in {market.country} (it sells in: {sells_in})",
                    remedy="choose the marketplace you sell in; if the wrong Seller Central account was "
                    "authorized, remove the app and install it again, signing in to the right account",
                    action=Action.CONFIGURE,
                    param="marketplace",
                )
            )
    except SpApiError as exc:
        if exc.status == 403:
            result.append(
                HealthCheck(
                    name="marketplace participation",
                    status="skipped",
                    detail="the app's roles do not include the Sellers API (Amazon answered 403)",
                    remedy="optional; add the Selling Partner Insights role to the developer app to enable this check",
                )
            )
        else:
            result.append(
                HealthCheck(
                    name="marketplace participation",
                    status="failed",
                    detail=str(exc),
                    remedy="try again later; quote the request id to Amazon if it persists",
                    action=Action.VERIFY,
                )
            )
    except LinkolisError as exc:
        result.append(
            HealthCheck(
                name="marketplace participation",
                status="failed",
                detail=str(exc),
                remedy="try again later",
                action=Action.VERIFY,
            )
        )

    now = ctx.clock.now()
    try:
        api.search_orders(
            {
                "marketplaceIds": market.id,
                "lastUpdatedAfter": _iso(now - timedelta(days=1)),
                "lastUpdatedBefore": _iso(now - timedelta(minutes=3)),
                "maxResultsPerPage": 1,
            }
        )
        result.append(HealthCheck(name="orders readable", status="ok"))
        if ctx.state.get(PII_KEY):
            result.append(
                HealthCheck(
                    name="buyer and shipping details",
                    status="warning",
                    detail="Amazon sends orders without buyer and recipient: the app lacks the restricted roles",
                    remedy="orders still import; for addresses, the operator requests the Direct-to-Consumer Shipping "
                    "role for the developer app, then the seller authorizes again",
                    action=Action.OPERATOR,
                )
            )
    except SpApiError as exc:
        remedy = (
            (
                "the developer app needs the Inventory and Order Tracking role; the operator adds it in the "
                "developer profile, then the seller authorizes again"
            )
            if exc.status == 403
            else "try again later"
        )
        action = Action.OPERATOR if exc.status == 403 else Action.VERIFY
        result.append(
            HealthCheck(name="orders readable", status="failed", detail=str(exc), remedy=remedy, action=action)
        )
    except LinkolisError as exc:
        result.append(
            HealthCheck(
                name="orders readable", status="failed", detail=str(exc), remedy="try again later", action=Action.VERIFY
            )
        )

    if ctx.app.settings.stock_sync:
        try:
            api.search_listings({"pageSize": 1})
            result.append(HealthCheck(name="listings readable", status="ok"))
        except SpApiError as exc:
            remedy = (
                (
                    "the developer app needs the Product Listing role; the operator adds it, then the seller "
                    "authorizes again"
                )
                if exc.status == 403
                else "try again later"
            )
            action = Action.OPERATOR if exc.status == 403 else Action.VERIFY
            result.append(
                HealthCheck(name="listings readable", status="failed", detail=str(exc), remedy=remedy, action=action)
            )
        except LinkolisError as exc:
            result.append(
                HealthCheck(
                    name="listings readable",
                    status="failed",
                    detail=str(exc),
                    remedy="try again later",
                    action=Action.VERIFY,
                )
            )

    expires = ctx.app.authorization_expires_at
    if expires is not None:
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        left = expires - now
        if left <= timedelta(0):
            result.append(
                HealthCheck(
                    name="authorization renewal",
                    status="failed",
                    detail=f"the yearly authorization lapsed on {expires:%Y-%m-%d}",
                    remedy="authorize the app again",
                    action=Action.AUTHORIZE,
                )
            )
        elif left <= RENEWAL_WARNING:
            result.append(
                HealthCheck(
                    name="authorization renewal",
                    status="warning",
                    detail=f"the yearly authorization lapses on {expires:%Y-%m-%d} ({left.days} days)",
                    remedy="authorize the app again before then",
                    action=Action.AUTHORIZE,
                )
            )

    suppressed = warnings(ctx)  # as the last push or verify read them: no call to Amazon here
    if suppressed:
        named = ", ".join(sorted(suppressed)[:5]) + (", …" if len(suppressed) > 5 else "")
        result.append(
            HealthCheck(
                name="listing health",
                status="warning",
                detail=(
                    f"{plural(len(suppressed), 'listing')} suppressed or restricted by Amazon, as last read: {named}"
                ),
                remedy=f"{FIX_LISTING}; the stock list shows what Amazon says of each",
            )
        )
    return result
