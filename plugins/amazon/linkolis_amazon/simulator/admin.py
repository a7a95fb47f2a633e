"""Amazon's admin routes under ``/_sim/``, beside the kit's standard ones (health, counters, rate limits, faults,
the clock): its configuration, ground truth of orders, shipments and stock, and helpers that change the world.

Not part of Amazon and not rate-limited. Served on loopback only (as the whole simulator is by default).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from linkolis_host.testing.simulator import STANDARD_ROUTES, AdminRoutes, add_fault, done, iso


def _items(raw: list[Any]) -> list[tuple[str, int]]:
    return [(i["sku"], int(i.get("quantity", 1))) if isinstance(i, dict) else (str(i[0]), int(i[1])) for i in raw]


def requests_since(sim: Any, index: int) -> dict[str, Any]:
    if sim.request_log is None:
        raise ValueError("the request log is off: start the simulator with --request-log")
    return sim.request_log.since(index)


ROUTES = AdminRoutes(STANDARD_ROUTES)
for _method, _pattern, _fn in [
    (
        "GET",
        r"/_sim/config",
        lambda s, r, b, m: {
            "clientId": s.client_id,
            "applicationId": s.application_id,
            "appName": s.app.name,
            "redirectUris": s.app.redirect_uris,
            "draft": s.app.draft,
            "loginUri": s.app.login_uri,
            "defaultSellerId": s.default_seller_id,
            "now": iso(s.clock.time()),
            "faultKinds": s.faults.kinds,
        },
    ),
    ("GET", r"/_sim/orders", lambda s, r, b, m: {"orders": s.orders_truth(r.q("seller_id"))}),
    (
        "POST",
        r"/_sim/orders",
        lambda s, r, b, m: {
            "orderId": s.add_order(
                _items(b["items"]),
                b.get("marketplace"),
                seller_id=b.get("seller_id"),
                fulfilled_by=b.get("fulfilled_by", "MERCHANT"),
                status=b.get("status", "PENDING"),
                consume_stock=b.get("consume_stock", True),
            )
        },
    ),
    (
        "POST",
        r"/_sim/orders/(?P<id>[^/]+)/advance",
        lambda s, r, b, m: {"status": s.advance_order(m["id"], b.get("status"))},
    ),
    ("POST", r"/_sim/orders/(?P<id>[^/]+)/touch", lambda s, r, b, m: done(s.touch_order, m["id"])),
    (
        "POST",
        r"/_sim/orders/(?P<id>[^/]+)/cancellation-request",
        lambda s, r, b, m: {"cancelReason": s.request_cancellation(m["id"], b.get("reason"))},
    ),
    (
        "POST",
        r"/_sim/orders/(?P<id>[^/]+)/cancel",
        lambda s, r, b, m: {"cancelReason": s.cancel_in_seller_central(m["id"], b.get("reason"))},
    ),
    ("GET", r"/_sim/shipments", lambda s, r, b, m: {"shipments": s.shipments_truth(r.q("seller_id"))}),
    (
        "GET",
        r"/_sim/stock",
        lambda s, r, b, m: s.stock_truth(
            r.q("seller_id"), int(r.q("offset") or 0), None if r.q("limit") is None else int(r.q("limit") or "")
        ),
    ),
    (
        "POST",
        r"/_sim/listings",
        lambda s, r, b, m: {
            "sku": s.add_listing(
                b["sku"],
                b.get("marketplaces"),
                int(b.get("quantity", 10)),
                fba=bool(b.get("fba", False)),
                seller_id=b.get("seller_id"),
                product_type=b.get("product_type", "HOME"),
                title=b.get("title"),
                price=float(b.get("price", 19.99)),
            ).sku
        },
    ),
    (
        "POST",
        r"/_sim/listings/(?P<sku>.+)/suppress",
        lambda s, r, b, m: s.suppress_listing(
            unquote(m["sku"]),
            b.get("action", "LISTING_SUPPRESSED"),
            b.get("marketplaces"),
            seller_id=b.get("seller_id"),
        ),
    ),
    ("POST", r"/_sim/listings/(?P<sku>.+)/fix", lambda s, r, b, m: done(s.fix_listing, unquote(m["sku"]))),
    (
        "GET",
        r"/_sim/accounts",
        lambda s, r, b, m: {
            "accounts": [
                {
                    "sellingPartnerId": a.selling_partner_id,
                    "storeName": a.store_name,
                    "marketplaceIds": a.marketplace_ids,
                    "roles": sorted(a.roles),
                }
                for a in s.accounts.values()
            ]
        },
    ),
    (
        "POST",
        r"/_sim/accounts",
        lambda s, r, b, m: {
            "sellingPartnerId": s.add_account(
                b["selling_partner_id"],
                b.get("marketplaces") or ["DE", "FR", "IT", "ES", "NL", "UK", "US"],
                b.get("roles"),
                store_name=b.get("store_name"),
                orders=int(b.get("orders", 0)),
                skus=int(b.get("skus", 0)),
            ).selling_partner_id
        },
    ),
    ("POST", r"/_sim/authorize", lambda s, r, b, m: {"refresh_token": s.authorize(b.get("selling_partner_id"))}),
    (
        "POST",
        r"/_sim/refresh-tokens/revoke",
        lambda s, r, b, m: {"revoked": s.revoke_refresh_token(b.get("refresh_token"), b.get("selling_partner_id"))},
    ),
    ("POST", r"/_sim/faults", lambda s, r, b, m: add_fault(s, b, account="selling_partner_id")),
    ("GET", r"/_sim/requests", lambda s, r, b, m: requests_since(s, int(r.q("since") or 0))),
]:
    ROUTES.add(_method, _pattern, _fn)
