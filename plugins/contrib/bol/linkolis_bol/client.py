"""bol's login endpoint and Retailer/Shared API v10, through the host's HTTP client.

Tokens: the seller's Client ID and Client Secret buy a client-credentials token (`POST /token`, Basic auth) that
lives about 5 minutes (``expires_in``: 299 s). bol blocks addresses that ask for tokens too often, so one token is
used until ``TOKEN_MARGIN`` seconds before it expires, kept sealed in the app's state so that every command of the
app (and every process) shares it; a 401 on the API (bol revoked it early) buys one new token and tries once more.

Rate limits: every bol answer carries ``x-ratelimit-limit`` (requests per window), ``x-ratelimit-remaining`` and
``x-ratelimit-reset`` (seconds until the budget is whole again). bol publishes no fixed table, so ``WINDOWS`` holds
what this app assumes at first (the host's limiter enforces it); each answer's headers then correct it through
``ctx.http.learn_rate``: the burst is the limit bol states, the window the longer of the assumed one and the
longest reset bol states (a full budget never takes longer to refill than the window). A 429 carries
``Retry-After``, which the host's HTTP client waits out.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx

from linkolis_host import AuthorizationError, AuthorizationRevoked, RateLimit, RemoteError

from .settings import BolOperator

MEDIA_TYPE = "application/vnd.retailer.v10+json"
CSV_MEDIA_TYPE = "application/vnd.retailer.v10+csv"
# (requests, seconds) per operation, as this app assumes until bol's headers say otherwise.
WINDOWS: dict[str, tuple[int, float]] = {
    "get-orders": (25, 1.0),
    "get-order": (25, 1.0),
    "update-offer-stock": (25, 1.0),
    "post-offer-export": (10, 60.0),
    "get-offer-export": (10, 60.0),
    "get-process-status": (100, 1.0),
    "get-process-status-bulk": (10, 1.0),
    "get-process-status-entity-id": (100, 1.0),
    "create-shipment": (25, 1.0),
    "get-shipments": (25, 1.0),
    "cancel-order-item": (25, 1.0),  # assumed like create-shipment; bol's headers correct it
}
RATE_LIMITS = {op: RateLimit(rate=n / seconds, burst=n) for op, (n, seconds) in WINDOWS.items()}
TOKEN_KEY = "bol_access_token"
TOKEN_MARGIN = 30.0  # a token this close to expiry is not sent: it could expire on the way
TOKEN_OPERATION = "token"
SEAT = "Seller Portal (Instellingen → API instellingen)"


class BolError(RemoteError):
    """bol answered with an error: ``title`` and ``detail`` from its problem document."""

    def __init__(self, message: str, *, status: int, title: str = "", detail: str = "", body: Any = None):
        super().__init__(message, status=status, body=body)
        self.title, self.detail = title, detail


def error_of(response: httpx.Response, operation: str) -> BolError:
    try:
        body = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    title = str(body.get("title") or response.reason_phrase or "")
    detail = str(body.get("detail") or "")
    violations = "; ".join(
        f"{v.get('name')}: {v.get('reason')}" for v in body.get("violations") or [] if isinstance(v, dict)
    )
    text = f"{operation}: bol answered {response.status_code} {title}" + (f": {detail}" if detail else "")
    if violations:
        text += f" ({violations})"
    return BolError(text, status=response.status_code, title=title, detail=detail, body=body or None)


def parse_json(response: httpx.Response, operation: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    raise BolError(
        f"{operation}: bol's answer ({response.status_code}, {len(response.content)} bytes) was cut off "
        "or is not JSON; it is asked for again next time",
        status=response.status_code,
    )


def learn_rate(ctx, operation: str, response: httpx.Response) -> None:
    """Tell the host's limiter what bol's headers say of ``operation``'s quota."""
    try:
        limit = int(response.headers["x-ratelimit-limit"])
        reset = float(response.headers.get("x-ratelimit-reset", "0"))
    except (KeyError, ValueError):
        return
    if limit < 1:
        return
    window = max(WINDOWS.get(operation, (limit, 1.0))[1], reset)
    ctx.http.learn_rate(operation, limit / window, limit)


# -- tokens -------------------------------------------------------------------------------------------------------


def request_token(ctx, client_id: str, client_secret: str) -> tuple[str, int]:
    """A new access token for these credentials, and its lifetime in seconds.

    :raises AuthorizationError: bol refused the credentials.
    """
    op: BolOperator = ctx.operator
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    response = ctx.http.post(
        op.token_url(),
        params={"grant_type": "client_credentials"},
        operation=TOKEN_OPERATION,
        headers={"authorization": f"Basic {basic}", "accept": "application/json"},
    )
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    if response.status_code == 200 and body.get("access_token"):
        return str(body["access_token"]), int(body.get("expires_in") or 299)
    error = str(body.get("error") or "")
    if response.status_code in (400, 401) and error in ("invalid_client", "unauthorized_client", ""):
        raise AuthorizationError(
            f"bol refused the Client ID and Client Secret ({error or response.status_code}): "
            f"copy both again from the bol {SEAT}, or create new ones there"
        )
    if response.status_code == 403:
        raise RemoteError(
            "bol's login refuses this address (403): it blocks callers that ask for tokens too "
            "often; wait ten minutes before trying again",
            status=403,
        )
    raise RemoteError(f"bol's login answered {response.status_code} {error}".strip(), status=response.status_code)


def access_token(ctx, force: bool = False) -> str:
    """The cached token while it has more than ``TOKEN_MARGIN`` seconds to live, else a new one (cached)."""
    now = ctx.clock.time()
    cached = None if force else ctx.state.get(TOKEN_KEY, secret=True)
    if cached and cached.get("expires_at", 0) - TOKEN_MARGIN > now:
        return cached["token"]
    credentials = ctx.credentials or {}
    if not credentials.get("client_id") or not credentials.get("client_secret"):
        raise AuthorizationRevoked("no bol Client ID and Client Secret are stored: authorize the app")
    try:
        token, lifetime = request_token(ctx, credentials["client_id"], credentials["client_secret"])
    except AuthorizationError as exc:
        ctx.state.delete(TOKEN_KEY)
        raise AuthorizationRevoked(
            f"{exc} (the API credentials were deleted or renewed in the Seller Portal?)"
        ) from None
    ctx.state.set(TOKEN_KEY, {"token": token, "expires_at": now + lifetime}, secret=True)
    return token


class _Bearer(httpx.Auth):
    """Puts the token on a request as it is sent, after any wait for quota, so it is never sent stale."""

    def __init__(self, ctx, force: bool = False) -> None:
        self.ctx, self.force = ctx, force

    def auth_flow(self, request: httpx.Request):
        request.headers["authorization"] = f"Bearer {access_token(self.ctx, force=self.force)}"
        yield request


class Bol:
    """bol's Retailer and Shared API for one app."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.op: BolOperator = ctx.operator
        self.base = self.op.api_url()

    def call(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        params: Any = None,
        json: Any = None,
        accept: str = MEDIA_TYPE,
        expect: tuple[int, ...] = (200,),
        retry: bool | None = None,
    ) -> httpx.Response:
        """``retry=False`` for a write bol would do twice if it came twice (a PUT that starts a process): the host's
        client retries a PUT whose answer was lost, as HTTP calls PUT idempotent."""
        headers = {"accept": accept}
        if json is not None:
            headers["content-type"] = MEDIA_TYPE
        for attempt in (1, 2):
            response = self.ctx.http.request(
                method,
                f"{self.base}{path}",
                operation=operation,
                params=params,
                json=json,
                headers=headers,
                auth=_Bearer(self.ctx, force=attempt == 2),
                retry=retry,
            )
            learn_rate(self.ctx, operation, response)
            if response.status_code != 401:
                break
            self.ctx.log.info("%s: 401 from bol; asking for a new token once", operation)
        if response.status_code == 401:
            raise AuthorizationRevoked(
                "bol refuses the app's access tokens (401 with a fresh one): authorize the "
                "app again with the Client ID and Client Secret from the Seller Portal"
            )
        if response.status_code not in expect:
            raise error_of(response, operation)
        return response

    def json(self, method: str, path: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        for attempt in (1, 2, 3):
            response = self.call(method, path, operation, **kwargs)
            try:
                return parse_json(response, operation)
            except BolError:
                if method != "GET" or attempt == 3:  # only a read is safe to repeat at once
                    raise
        raise AssertionError("unreachable")
