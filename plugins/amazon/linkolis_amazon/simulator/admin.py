"""The admin endpoint under ``/_sim/``: ground truth, counters, faults and helpers, as JSON.

Not part of Amazon and not rate-limited. Served on loopback only (as the whole simulator is by default).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from .faults import KINDS
from .wire import SimRequest, SimResponse, iso, json_response

if TYPE_CHECKING:
    from .app import Simulator

Route = Callable[["Simulator", SimRequest, dict[str, Any], re.Match[str]], Any]


def _body(req: SimRequest) -> dict[str, Any]:
    if not req.body:
        return {}
    data = json.loads(req.body)
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def _items(raw: list[Any]) -> list[tuple[str, int]]:
    return [(i["sku"], int(i.get("quantity", 1))) if isinstance(i, dict) else (str(i[0]), int(i[1])) for i in raw]


def _done(fn: Callable[..., None], *args: Any) -> dict[str, bool]:
    fn(*args)
    return {"ok": True}


def _advance_clock(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    advance = getattr(sim.clock, "advance", None)
    if advance is None:
        raise ValueError("this simulator's clock cannot be advanced (only a VirtualClock can)")
    advance(float(body["seconds"]))
    return {"now": iso(sim.clock.time())}


ROUTES: list[tuple[str, str, Route]] = [
    ("GET", r"/_sim/health", lambda s, r, b, m: {"ok": True, "now": iso(s.clock.time())}),
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
            "faultKinds": KINDS,
        },
    ),
    ("GET", r"/_sim/counters", lambda s, r, b, m: s.counters_snapshot()),
    ("POST", r"/_sim/counters/reset", lambda s, r, b, m: _done(s.counters.reset)),
    ("GET", r"/_sim/ratelimits", lambda s, r, b, m: s.limiter.snapshot(s.clock.time())),
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
    ("POST", r"/_sim/orders/(?P<id>[^/]+)/touch", lambda s, r, b, m: _done(s.touch_order, m["id"])),
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
    ("POST", r"/_sim/listings/(?P<sku>.+)/fix", lambda s, r, b, m: _done(s.fix_listing, unquote(m["sku"]))),
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
    ("GET", r"/_sim/faults", lambda s, r, b, m: {"faults": s.faults.list(), "kinds": KINDS}),
    (
        "POST",
        r"/_sim/faults",
        lambda s, r, b, m: s.faults.add(
            str(b["kind"]),
            b.get("operation", "*"),
            count=b.get("count"),
            probability=b.get("probability"),
            after=int(b.get("after", 0)),
            delay=float(b.get("delay", 5.0)),
            selling_partner_id=b.get("selling_partner_id"),
        ).to_dict(),
    ),
    ("DELETE", r"/_sim/faults", lambda s, r, b, m: _done(s.faults.clear)),
    ("DELETE", r"/_sim/faults/(?P<id>\d+)", lambda s, r, b, m: {"removed": s.faults.remove(int(m["id"]))}),
    ("POST", r"/_sim/clock/advance", lambda s, r, b, m: _advance_clock(s, b)),
]
_COMPILED = [(method, re.compile(pattern), fn) for method, pattern, fn in ROUTES]


def handle_admin(sim: Simulator, req: SimRequest) -> SimResponse:
    for method, pattern, fn in _COMPILED:
        m = pattern.fullmatch(req.raw_path)
        if m and method == req.method:
            try:
                return json_response(200, fn(sim, req, _body(req), m))
            except (KeyError, ValueError, TypeError) as exc:
                return json_response(400, {"error": f"{type(exc).__name__}: {exc}"})
    return json_response(404, {"error": "no such admin route", "routes": [f"{m} {p}" for m, p, _ in ROUTES]})
