"""``/_sim/shop``: a plain page where a person plays a buyer on the local Amazon (for ``linkolis demo --web``).

Not part of Amazon: an admin page beside ``/_sim/orders``, served on loopback only as the whole simulator is. It
lists a few of the default seller's merchant-fulfilled SKUs in its first marketplace, each with a "Buy one" button;
a purchase places an order as ``POST /_sim/orders`` does (so an ORDER_CHANGE notification goes out when the seller
is subscribed) and comes back to the page, which says which order was placed. No JavaScript.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

from linkolis_host.testing.simulator import SimRequest, SimResponse

from .wire import html_response, redirect

PATH = "/_sim/shop"
SHOWN = 8


def handle(sim: Any, req: SimRequest) -> SimResponse:
    if req.method == "GET":
        return html_response(200, page(sim, req.q("placed")))
    if req.method == "POST":
        sku = req.form().get("sku", "")
        if sku not in dict(offered(sim)):
            return html_response(400, page(sim, None, error=f"{sku!r} is not one of the shop's SKUs"))
        order_id = sim.add_order([(sku, 1)])
        return redirect(f"{PATH}?placed={quote(order_id)}", status=303)
    return html_response(405, page(sim, None, error="GET shows the shop, POST buys"))


def offered(sim: Any) -> list[tuple[str, int]]:
    """(SKU, quantity) of the default seller's merchant-fulfilled SKUs in its first marketplace that have stock."""
    seller = sim.default_seller_id
    market = sim.accounts[seller].marketplace_ids[0]
    truth = sim.stock_truth(seller)[seller]
    found = [
        (sku, int(per[market]["quantity"] or 0))
        for sku, per in sorted(truth.items())
        if market in per and per[market]["fulfillment"] == "MFN" and (per[market]["quantity"] or 0) > 0
    ]
    return found[:SHOWN]


def page(sim: Any, placed: str | None, error: str = "") -> str:
    rows = "".join(
        f"<tr><td>{escape(sku)}</td><td>{quantity}</td><td><form method='post' action='{PATH}'>"
        f"<input type='hidden' name='sku' value='{escape(sku, quote=True)}'>"
        f"<button type='submit'>Buy one</button></form></td></tr>"
        for sku, quantity in offered(sim)
    )
    notice = f"<p role='status'>Order {escape(placed)} placed</p>" if placed else ""
    if error:
        notice = f"<p role='alert'>{escape(error)}</p>"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Local Amazon: shop</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'></head><body>"
        "<h1>Local Amazon: buy from the demo's seller</h1>"
        "<p>A buyer's order here reaches linkolis by notification (simulator, not Amazon).</p>"
        f"{notice}<table><thead><tr><th>SKU</th><th>In stock</th><th></th></tr></thead><tbody>{rows}</tbody></table>"
        "</body></html>"
    )
