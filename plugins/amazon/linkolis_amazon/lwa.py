"""Login with Amazon: the Seller Central consent URL, the code exchange, and access tokens.

The access token (one hour) is cached, encrypted, in the app's state and refreshed a minute before it expires
or when Amazon says it has (a 403 on an SP-API call). `invalid_grant` means the seller's authorization is gone;
`invalid_client` means the operator's client id or secret is wrong or expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from linkolis_host import AuthorizationError, AuthorizationRevoked, Context, OperatorConfigError, RemoteError

from .answers import GarbledAnswer, parse_json
from .marketplaces import Marketplace
from .settings import AmazonOperator

TOKEN_KEY = "lwa_access_token"
GRANTLESS_KEY = "lwa_grantless_token"
NOTIFICATIONS_SCOPE = "sellingpartnerapi::notifications"
REFRESH_MARGIN = 60.0  # seconds before expiry when a cached token is no longer used
CODE_LIFETIME = timedelta(minutes=5)
RENEWAL = timedelta(days=365)  # public apps: the seller re-authorizes yearly


@dataclass
class TokenSet:
    access_token: str
    expires_in: int
    refresh_token: str | None = None


def consent_url(op: AmazonOperator, market: Marketplace, state: str, redirect_uri: str) -> str:
    op.require("application_id")
    params = {"application_id": op.application_id, "state": state, "redirect_uri": redirect_uri}
    if op.draft:
        params["version"] = "beta"
    return f"{op.seller_central(market)}/apps/authorize/consent?{urlencode(params)}"


def callback_url(op: AmazonOperator, market: Marketplace, params: dict[str, str], redirect_uri: str) -> str:
    """The log-in URI step: send the browser back to Amazon's callback with its state and ours."""
    callback = params.get("amazon_callback_uri", "")
    if not params.get("amazon_state") or not callback:
        raise AuthorizationError(
            "the redirect carries no state and no Amazon callback: it did not come from an authorization we started"
        )
    allowed = urlsplit(op.seller_central(market)).netloc
    target = urlsplit(callback)
    if target.scheme not in ("https", "http") or target.netloc != allowed:
        raise AuthorizationError(
            f"the Amazon callback points at {target.netloc or 'nowhere'}, not {allowed}; "
            "refusing to send the browser there"
        )
    query = {"amazon_state": params["amazon_state"], "state": params["state"]}
    if redirect_uri:  # optional; an empty one is not a registered redirect URI
        query["redirect_uri"] = redirect_uri
    if op.draft:
        query["version"] = "beta"
    return f"{callback}{'&' if target.query else '?'}{urlencode(query)}"


def _token_request(ctx: Context, form: dict[str, str]) -> TokenSet:
    op: AmazonOperator = ctx.operator
    op.require("client_id", "client_secret")
    form = {**form, "client_id": op.client_id, "client_secret": op.secret()}
    response = ctx.http.post(
        op.lwa_url(),
        data=form,
        operation="lwa.token",
        headers={"content-type": "application/x-www-form-urlencoded;charset=UTF-8"},
    )
    try:
        body = parse_json(response, "Login with Amazon (lwa.token)")
    except GarbledAnswer:
        if response.status_code == 200:
            raise
        body = {}  # an error page that is not JSON: the status says enough
    if response.status_code == 200 and body.get("access_token"):
        return TokenSet(body["access_token"], int(body.get("expires_in", 3600)), body.get("refresh_token"))
    error = body.get("error", "")
    if error == "invalid_client":
        raise OperatorConfigError(
            "Login with Amazon refused the operator's client id or secret (invalid_client): the client secret is "
            "wrong or expired — Amazon makes operators rotate it every 180 days; put the new one in "
            "LINKOLIS_AMAZON_CLIENT_SECRET"
        )
    if error == "invalid_grant":
        raise _InvalidGrant(body.get("error_description") or "invalid_grant")
    raise RemoteError(f"Login with Amazon answered {response.status_code} {error}".strip(), status=response.status_code)


class _InvalidGrant(Exception):
    pass


def exchange_code(ctx: Context, code: str, redirect_uri: str) -> TokenSet:
    """Trade the 5-minute `spapi_oauth_code` for a refresh token, at once."""
    try:
        tokens = _token_request(ctx, {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})
    except _InvalidGrant as exc:
        raise AuthorizationError(
            f"Amazon refused the authorization code ({exc}): it was used already or is older than 5 minutes; "
            "run the authorization again and finish it within 5 minutes"
        ) from None
    if not tokens.refresh_token:
        raise RemoteError("Login with Amazon returned no refresh token for the authorization code")
    return tokens


def check_refresh_token(ctx: Context, refresh_token: str) -> TokenSet:
    """Prove a (pasted) refresh token works; its access token is cached."""
    try:
        tokens = _token_request(ctx, {"grant_type": "refresh_token", "refresh_token": refresh_token})
    except _InvalidGrant as exc:
        raise AuthorizationError(
            f"Amazon refused that refresh token ({exc}); copy it again from Seller Central "
            "(Develop apps → Authorize) and check it belongs to this app"
        ) from None
    return tokens


def remember(ctx: Context, tokens: TokenSet) -> None:
    expires_at = ctx.clock.time() + tokens.expires_in
    # The expiry lets the log redactor forget the token once it is worthless: a host renews one per app hourly.
    ctx.state.set(
        TOKEN_KEY,
        {"token": tokens.access_token, "expires_at": expires_at, "fetched_at": ctx.clock.time()},
        secret=True,
        expires_at=expires_at,
    )


def access_token(ctx: Context, force: bool = False) -> str:
    """A valid access token: the cached one, or a fresh one from the refresh token."""
    cached = None if force else ctx.state.get(TOKEN_KEY, secret=True)
    if cached and cached["expires_at"] - REFRESH_MARGIN > ctx.clock.time():
        return cached["token"]
    refresh_token = (ctx.credentials or {}).get("refresh_token")
    if not refresh_token:
        raise AuthorizationRevoked("not authorized — authorize the app")
    for attempt in (1, 2):
        try:
            tokens = _token_request(ctx, {"grant_type": "refresh_token", "refresh_token": refresh_token})
            break
        except _InvalidGrant:
            ctx.state.delete(TOKEN_KEY)
            raise AuthorizationRevoked() from None
        except GarbledAnswer:
            if attempt == 2:  # a refresh, unlike a code exchange, can be asked for again at once
                raise
    remember(ctx, tokens)
    return tokens.access_token


def grantless_token(ctx: Context) -> str:
    """An access token of the application itself (no seller), of the scope the Notifications API's destinations
    need (``client_credentials``); cached like a seller's."""
    cached = ctx.state.get(GRANTLESS_KEY, secret=True)
    if cached and cached["expires_at"] - REFRESH_MARGIN > ctx.clock.time():
        return cached["token"]
    try:
        tokens = _token_request(ctx, {"grant_type": "client_credentials", "scope": NOTIFICATIONS_SCOPE})
    except _InvalidGrant as exc:
        raise OperatorConfigError(
            f"Login with Amazon refused the application's grantless token ({exc}): check that the application may "
            "call the Notifications API"
        ) from None
    expires_at = ctx.clock.time() + tokens.expires_in
    ctx.state.set(
        GRANTLESS_KEY, {"token": tokens.access_token, "expires_at": expires_at}, secret=True, expires_at=expires_at
    )
    return tokens.access_token


def token_age(ctx: Context) -> float | None:
    cached = ctx.state.get(TOKEN_KEY, secret=True)
    return None if not cached else ctx.clock.time() - cached.get("fetched_at", 0)
