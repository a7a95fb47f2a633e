"""The orders list, an order, shipping it and accepting a buyer's cancellation."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .. import installed, orders, shipments
from ..errors import LinkolisError
from . import advice
from .jobs_pages import jobs_view
from .pages import Req, page, see_other

ORDER_STATUSES = ["pending", "unshipped", "partially_shipped", "shipped", "cancelled"]
PAGE_SIZE = 25


@page()
def orders_page(req: Req) -> Response:
    """The orders list a page at a time, newest first: "Older" and "Newer" carry the key of the page's last or first
    order. A search by an exact id (the marketplace's or the host's) opens that order; else the orders whose id
    contains it are listed."""
    status = req.q("status") if req.q("status") in ORDER_STATUSES else ""
    search = req.q("q").strip()
    if search:
        exact = orders.find_ids(req.host, search)
        if len(exact) == 1:
            return see_other(f"/orders/{exact[0]}")
    shown = orders.orders_page(
        req.host,
        status=status or None,
        search=search or None,
        after=req.q("after") or None,
        before=req.q("before") or None,
        limit=PAGE_SIZE,
    )
    if search and len(shown.rows) == 1 and shown.older is None and shown.newer is None:
        return see_other(f"/orders/{shown.rows[0]['id']}")
    return req.render(
        "orders.html",
        rows=shown.rows,
        status=status,
        statuses=ORDER_STATUSES,
        search=search,
        older=shown.older,
        newer=shown.newer,
        jobs=jobs_view(req),
        apps=installed.list_apps(req.host),
        not_found=bool(search) and not shown.rows,
        too_short=bool(search) and not shown.rows and len(search) < orders.SEARCH_MIN,
    )


def _order_view(req: Req, order: dict[str, Any], status: int = 200, **extra: Any) -> Response:
    kind = installed.get(req.host, order["app"]).kind
    return req.render(
        "order.html",
        status,
        order=order,
        carriers=req.host.registry.kind(kind).carriers,
        shipments=shipments.list_shipments(req.host, order["app"], order=order["marketplace_order_id"]),
        cancels_here=orders.cancels_here(req.host, order),
        **extra,
    )


def _order(req: Req) -> dict[str, Any] | Response:
    """The order the path names (the host's id or the marketplace's), or the page saying there is none."""
    try:
        return orders.get_order(req.host, req.request.path_params["order_id"])
    except LinkolisError:
        return req.render("message.html", 404, title=req._("No such order"), message="")


@page()
def order_page(req: Req) -> Response:
    order = _order(req)
    if isinstance(order, Response):
        return order
    return _order_view(req, order)


@page()
def order_ship(req: Req) -> Response:
    order = _order(req)
    if isinstance(order, Response):
        return order
    if order["cancellation_requested"] and req.f("ship_anyway") != "on":
        return _order_view(
            req,
            order,
            422,
            error=req._("The buyer asked to cancel this order. Tick “Ship it anyway” to ship it all the same."),
            tracking=req.f("tracking"),
            carrier=req.f("carrier"),
        )
    try:
        shipments.ship_order(
            req.host,
            order["marketplace_order_id"],
            carrier=req.f("carrier"),
            tracking=req.f("tracking"),
            app=order["app"],
        )
    except LinkolisError as exc:
        return _order_view(
            req,
            order,
            422,
            error=advice.sentence(req, exc.as_data()),
            tracking=req.f("tracking"),
            carrier=req.f("carrier"),
        )
    return _order_view(req, orders.get_order(req.host, str(order["id"])), shipped=True)


@page()
def order_cancel(req: Req) -> Response:
    """Accept the buyer's request to cancel: the order is cancelled at the marketplace, then here."""
    order = _order(req)
    if isinstance(order, Response):
        return order
    try:
        result = orders.cancel_order(
            req.host,
            str(order["id"]),
            reason="requested_by_buyer",
            app=order["app"],
            by=req.user.email,  # type: ignore[union-attr]
        )
    except LinkolisError as exc:
        return _order_view(req, order, 422, cancel_error=advice.sentence(req, exc.as_data()))
    status = 422 if result["status"] == "rejected" else 200
    return _order_view(req, orders.get_order(req.host, str(order["id"])), status, cancelled=result)
