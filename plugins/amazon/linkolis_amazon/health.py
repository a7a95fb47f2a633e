"""The checks behind "Module correctly installed", each with the step a seller or operator can take.

They cost little quota: one LWA refresh, one getMarketplaceParticipations, one tiny searchOrders (from the same
bucket order imports use) and, with stock sync on, one searchListingsItems item. One function per check; ``checks``
runs them in turn.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from linkolis_host import Action, Context, HealthCheck, LinkolisError, NeedsAttention, OperatorConfigError, plural

from . import lwa
from .client import SpApi, SpApiError
from .orders import PII_KEY
from .settings import AmazonOperator
from .stock import FIX_LISTING, warnings

RENEWAL_WARNING = timedelta(days=30)
NEEDED = ("client_id", "client_secret", "application_id")  # the operator settings an authorization needs
LATER = "try again later"


def checks(ctx: Context) -> list[HealthCheck]:
    """Every check that applies, in turn; those the rest depend on (the operator's settings, a token) end the list
    when they fail, and nothing is asked of Amazon without an authorization."""
    wrong_settings = operator_settings(ctx)
    if wrong_settings:
        return [credentials_present(ctx), wrong_settings]
    result = [credentials_present(ctx), *_applying(endpoint_override(ctx))]
    if not (ctx.credentials or {}).get("refresh_token"):
        return result
    result.append(token_refresh(ctx))
    if _failed(result):
        return result
    api = SpApi(ctx)
    result += [marketplace_participation(api), orders_readable(api)]
    if not _failed(result):
        result += _applying(buyer_details(ctx))
    if ctx.app.settings.stock_sync:
        result.append(listings_readable(api))
    return result + _applying(authorization_renewal(ctx), listing_health(ctx))


def _applying(*found: HealthCheck | None) -> list[HealthCheck]:
    return [check for check in found if check is not None]


def _failed(result: list[HealthCheck]) -> bool:
    return result[-1].status == "failed"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def credentials_present(ctx: Context) -> HealthCheck:
    present = bool((ctx.credentials or {}).get("refresh_token"))
    return HealthCheck(
        name="credentials present",
        status="ok" if present else "failed",
        detail="" if present else "no Amazon authorization is stored for this app",
        remedy="authorize the app and confirm in Seller Central",
        action=Action.AUTHORIZE,
    )


def operator_settings(ctx: Context) -> HealthCheck | None:
    """Shown only when they are wrong or missing: the operator's, not the seller's, to fix."""
    try:
        ctx.operator.require(*NEEDED)
    except OperatorConfigError as exc:
        return HealthCheck.failed(
            "operator settings",
            exc,
            remedy="the host operator sets these (see docs/operations.md)",
            action=Action.OPERATOR,
            operator=True,
        )
    return None


def endpoint_override(ctx: Context) -> HealthCheck | None:
    op: AmazonOperator = ctx.operator
    notice = op.endpoint_notice()
    if not notice:
        return None
    return HealthCheck(
        name="Amazon endpoint",
        status="warning",
        detail=f"this app {notice}",
        remedy="right for the simulator or a recording proxy; for a real seller the operator removes the override "
        "(see docs/operations.md)",
        action=Action.OPERATOR,
    )


def token_refresh(ctx: Context) -> HealthCheck:
    name = "LWA token refresh"
    try:
        lwa.access_token(ctx, force=True)
    except OperatorConfigError as exc:
        return HealthCheck.failed(
            name,
            exc,
            remedy="the host operator rotates the client secret in Seller Central (Develop apps → View → rotate) and "
            "sets LINKOLIS_AMAZON_CLIENT_SECRET",
            action=Action.OPERATOR,
            operator=True,
        )
    except NeedsAttention as exc:
        return HealthCheck.failed(name, exc, remedy="authorize the app again", action=Action.AUTHORIZE)
    except LinkolisError as exc:
        return HealthCheck.failed(name, exc, remedy="check the network and try again")
    return HealthCheck(name=name, status="ok")


def marketplace_participation(api: SpApi) -> HealthCheck:
    name, market = "marketplace participation", api.market
    try:
        participations = api.marketplace_participations()
    except SpApiError as exc:
        if exc.status == 403:
            return HealthCheck(
                name=name,
                status="skipped",
                detail="the app's roles do not include the Sellers API (Amazon answered 403)",
                remedy="optional; add the Selling Partner Insights role to the developer app to enable this check",
            )
        return HealthCheck.failed(name, exc, remedy=f"{LATER}; quote the request id to Amazon if it persists")
    except LinkolisError as exc:
        return HealthCheck.failed(name, exc, remedy=LATER)
    selling = [p for p in participations if p.get("participation", {}).get("isParticipating")]
    if any(p.get("marketplace", {}).get("id") == market.id for p in selling):
        return HealthCheck(name=name, status="ok", detail=f"the account sells in {market.country} ({market.domain})")
    sells_in = ", ".join(sorted(p["marketplace"].get("countryCode", "?") for p in selling)) or "nowhere"
    return HealthCheck(
        name=name,
        status="failed",
        detail=f"the authorized account does not sell in {market.country} (it sells in: {sells_in})",
        remedy="choose the marketplace you sell in; if the wrong Seller Central account was authorized, remove the "
        "app and install it again, signing in to the right account",
        action=Action.CONFIGURE,
        param="marketplace",
    )


def _forbidden(role: str) -> str:
    return (
        f"the developer app needs the {role} role; the operator adds it in the developer profile, then the seller "
        "authorizes again"
    )


def orders_readable(api: SpApi) -> HealthCheck:
    now = api.ctx.clock.now()
    params = {
        "marketplaceIds": api.market.id,
        "lastUpdatedAfter": _iso(now - timedelta(days=1)),
        "lastUpdatedBefore": _iso(now - timedelta(minutes=3)),
        "maxResultsPerPage": 1,
    }
    return HealthCheck.asking(
        "orders readable",
        lambda: api.search_orders(params),
        forbidden=_forbidden("Inventory and Order Tracking"),
        forbidden_action=Action.OPERATOR,
    )


def listings_readable(api: SpApi) -> HealthCheck:
    return HealthCheck.asking(
        "listings readable",
        lambda: api.search_listings({"pageSize": 1}),
        forbidden=_forbidden("Product Listing"),
        forbidden_action=Action.OPERATOR,
    )


def buyer_details(ctx: Context) -> HealthCheck | None:
    """As the last import found them: orders without buyer and recipient (no call to Amazon here)."""
    if not ctx.state.get(PII_KEY):
        return None
    return HealthCheck(
        name="buyer and shipping details",
        status="warning",
        detail="Amazon sends orders without buyer and recipient: the app lacks the restricted roles",
        remedy="orders still import; for addresses, the operator requests the Direct-to-Consumer Shipping role for "
        "the developer app, then the seller authorizes again",
        action=Action.OPERATOR,
    )


def authorization_renewal(ctx: Context) -> HealthCheck | None:
    expires = ctx.app.authorization_expires_at
    if expires is None:
        return None
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    left = expires - ctx.clock.now()
    if left > RENEWAL_WARNING:
        return None
    lapsed = left <= timedelta(0)
    return HealthCheck(
        name="authorization renewal",
        status="failed" if lapsed else "warning",
        detail=f"the yearly authorization lapsed on {expires:%Y-%m-%d}"
        if lapsed
        else f"the yearly authorization lapses on {expires:%Y-%m-%d} ({left.days} days)",
        remedy="authorize the app again" if lapsed else "authorize the app again before then",
        action=Action.AUTHORIZE,
    )


def listing_health(ctx: Context) -> HealthCheck | None:
    suppressed = warnings(ctx)  # as the last push or verify read them: no call to Amazon here
    if not suppressed:
        return None
    named = ", ".join(sorted(suppressed)[:5]) + (", …" if len(suppressed) > 5 else "")
    return HealthCheck(
        name="listing health",
        status="warning",
        detail=f"{plural(len(suppressed), 'listing')} suppressed or restricted by Amazon, as last read: {named}",
        remedy=f"{FIX_LISTING}; the stock list shows what Amazon says of each",
    )
