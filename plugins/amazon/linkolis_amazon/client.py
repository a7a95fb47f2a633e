"""The SP-API operations this app uses, with Amazon's published rate limits.

Every call goes through the host's HTTP client, which waits for the operation's token bucket (shared by every
app of the same selling partner), backs off on 429 and retries 5xx. This module adds the LWA access token and
the one retry Amazon's 403 for an expired token calls for; ``answers`` turns Amazon's bodies into data or errors.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from linkolis_host import Context, RateLimit

from . import lwa
from .answers import GarbledAnswer, SpApiError, error_of, parse_json, retryable
from .settings import AmazonOperator, AmazonSettings

# Amazon's errors, re-exported: the plugin's other modules know them as the client's.
__all__ = ["RATE_LIMITS", "GarbledAnswer", "SpApi", "SpApiError", "error_of", "parse_json", "retryable"]

# Default usage plans from Amazon's models ("Usage Plan" table of each operation).
RATE_LIMITS = {
    "searchOrders": RateLimit(rate=0.0056, burst=20),
    "getOrder": RateLimit(rate=0.5, burst=30),
    "confirmShipment": RateLimit(rate=2, burst=10),  # Orders API v0
    "getMarketplaceParticipations": RateLimit(rate=0.016, burst=15),
    "getListingsItem": RateLimit(rate=5, burst=10),
    "searchListingsItems": RateLimit(rate=5, burst=5),
    "patchListingsItem": RateLimit(rate=5, burst=5),
    "createFeedDocument": RateLimit(rate=0.5, burst=15),
    # createFeed allows 0.0083/s with a burst of 15, and JSON_LISTINGS_FEED (the only feed type this app sends)
    # only 5 submissions in any 5 minutes: five feeds go at once, the next five a window later.
    "createFeed": RateLimit(rate=0.0083, burst=15, window_calls=5, window=300),
    "getFeed": RateLimit(rate=2, burst=15),
    "getFeeds": RateLimit(rate=0.0222, burst=10),
    "getFeedDocument": RateLimit(rate=0.0222, burst=10),
    # Notifications API v1
    "getDestinations": RateLimit(rate=1, burst=5),
    "createDestination": RateLimit(rate=1, burst=5),
    "getSubscription": RateLimit(rate=1, burst=5),
    "createSubscription": RateLimit(rate=1, burst=5),
    "deleteSubscriptionById": RateLimit(rate=1, burst=5),
}

# A token fetched this recently cannot have expired: a 403 then is about permissions, not the token.
FRESH_TOKEN = 60.0


class _AccessToken(httpx.Auth):
    """Puts the LWA access token on a request as it is sent, after any wait for quota, so a token that was
    fresh before a three-minute wait for searchOrders is never sent stale."""

    def __init__(self, api: SpApi) -> None:
        self.api = api

    def auth_flow(self, request: httpx.Request):
        request.headers["x-amz-access-token"] = lwa.access_token(self.api.ctx)
        yield request


class _GrantlessToken(httpx.Auth):
    """The application's own access token (no seller), for the Notifications API's grantless operations."""

    def __init__(self, api: SpApi) -> None:
        self.api = api

    def auth_flow(self, request: httpx.Request):
        request.headers["x-amz-access-token"] = lwa.grantless_token(self.api.ctx)
        yield request


class SpApi:
    """SP-API for one app: its marketplace, its selling partner, its tokens."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.settings: AmazonSettings = ctx.app.settings
        self.market = self.settings.market
        self.op: AmazonOperator = ctx.operator
        self.base = self.op.api_url(self.market)
        self.seller_id = ctx.app.account_id

    def call(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        params: Any = None,
        json: Any = None,
        expect: tuple[int, ...] = (200,),
        retry: bool | None = None,
        grantless: bool = False,
    ) -> httpx.Response:
        """Send one SP-API request; a 403 with a token that may have expired refreshes it and tries once more.

        Returns the response when its status is in ``expect``; raises ``SpApiError`` otherwise. ``retry``: retry
        5xx and dropped connections even for a POST (one that is safe to repeat). ``grantless``: with the
        application's own token (the Notifications API's destinations), not the seller's.
        """
        for attempt in (1, 2):
            response = self.ctx.http.request(
                method,
                f"{self.base}{path}",
                operation=operation,
                params=params,
                json=json,
                headers={"accept": "application/json"},
                auth=_GrantlessToken(self) if grantless else _AccessToken(self),
                retry=retry,
            )
            if response.status_code == 403 and attempt == 1 and not grantless:
                # Expired token, revoked authorization, or a missing role: a refresh tells them apart (it fails
                # with invalid_grant when the seller revoked us). Only a token that may have expired is worth a
                # second call; a fresh one was refused for what the app may do.
                age = lwa.token_age(self.ctx)
                lwa.access_token(self.ctx, force=True)
                if age is None or age > FRESH_TOKEN:
                    self.ctx.log.info("%s: 403 with a token %ss old; trying once more", operation, age)
                    continue
            break
        if response.status_code not in expect:
            raise error_of(response, operation)
        return response

    def call_json(self, method: str, path: str, operation: str, **kwargs: Any) -> Any:
        """``call`` and parse the JSON body; a garbled body (a cut-off answer) is asked for again, twice at most."""
        attempt = 1
        while True:
            response = self.call(method, path, operation, **kwargs)
            try:
                return parse_json(response, operation)
            except GarbledAnswer:
                self.ctx.log.info("%s: Amazon's answer was not JSON (attempt %s)", operation, attempt)
                if method.upper() != "GET" or attempt == 3:  # only a read is safe to repeat at once
                    raise
                attempt += 1

    # -- Sellers --------------------------------------------------------------------------------------------

    def marketplace_participations(self) -> list[dict]:
        return self.call_json("GET", "/sellers/v1/marketplaceParticipations", "getMarketplaceParticipations").get(
            "payload", []
        )

    # -- Orders v2026-01-01 ---------------------------------------------------------------------------------

    def search_orders(self, params: dict[str, Any]) -> dict:
        return self.call_json("GET", "/orders/2026-01-01/orders", "searchOrders", params=params)

    def get_order(self, order_id: str, included: list[str] | None = None) -> dict:
        params = {"includedData": ",".join(included)} if included else None
        return self.call_json("GET", f"/orders/2026-01-01/orders/{quote(order_id, safe='')}", "getOrder", params=params)

    # -- Orders v0 ------------------------------------------------------------------------------------------

    def confirm_shipment(self, order_id: str, body: dict) -> None:
        """One package of a seller-fulfilled order. Safe to repeat: Amazon refuses a package reference used before
        for the order, which ``shipments`` recognises, so 5xx and dropped connections are retried."""
        self.call(
            "POST",
            f"/orders/v0/orders/{quote(order_id, safe='')}/shipmentConfirmation",
            "confirmShipment",
            json=body,
            expect=(204,),
            retry=True,
        )

    # -- Listings Items 2021-08-01 --------------------------------------------------------------------------

    def listing_path(self, sku: str) -> str:
        return f"/listings/2021-08-01/items/{quote(self.seller_id or '', safe='')}/{quote(sku, safe='')}"

    def search_listings(self, params: dict[str, Any]) -> dict:
        return self.call_json(
            "GET",
            f"/listings/2021-08-01/items/{quote(self.seller_id or '', safe='')}",
            "searchListingsItems",
            params={"marketplaceIds": self.market.id, **params},
        )

    def patch_listing(self, sku: str, body: dict, included: list[str] | None = None) -> httpx.Response:
        params = {"marketplaceIds": self.market.id}
        if included:
            params["includedData"] = ",".join(included)
        return self.call(
            "PATCH", self.listing_path(sku), "patchListingsItem", params=params, json=body, expect=(200, 400, 404)
        )

    # -- Feeds 2021-06-30 -----------------------------------------------------------------------------------

    def create_feed_document(self, content_type: str) -> dict:
        return self.call_json(
            "POST",
            "/feeds/2021-06-30/documents",
            "createFeedDocument",
            json={"contentType": content_type},
            expect=(201,),
        )

    def create_feed(self, document_id: str, feed_type: str = "JSON_LISTINGS_FEED") -> dict:
        body = {"feedType": feed_type, "marketplaceIds": [self.market.id], "inputFeedDocumentId": document_id}
        return self.call_json("POST", "/feeds/2021-06-30/feeds", "createFeed", json=body, expect=(202,))

    def get_feed(self, feed_id: str) -> dict:
        return self.call_json("GET", f"/feeds/2021-06-30/feeds/{quote(feed_id, safe='')}", "getFeed")

    def get_feeds(
        self,
        created_since: str,
        created_until: str | None = None,
        feed_type: str = "JSON_LISTINGS_FEED",
        page_size: int = 100,
    ) -> dict:
        """One page (up to ``page_size``) of this marketplace's feeds of one type created in a time range."""
        params = {
            "feedTypes": feed_type,
            "marketplaceIds": self.market.id,
            "pageSize": page_size,
            "createdSince": created_since,
        }
        if created_until:
            params["createdUntil"] = created_until
        return self.call_json("GET", "/feeds/2021-06-30/feeds", "getFeeds", params=params)

    def get_feed_document(self, document_id: str) -> dict:
        return self.call_json("GET", f"/feeds/2021-06-30/documents/{quote(document_id, safe='')}", "getFeedDocument")
