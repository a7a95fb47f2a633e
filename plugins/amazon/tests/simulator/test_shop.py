"""The simulator's shop page (``/_sim/shop``, for the web demo): a person sees a few of the seller's SKUs, presses
"Buy one", comes back to the page told which order was placed, and the order is in the simulator's ground truth."""

from __future__ import annotations

import re
from html import unescape

import httpx
from sim_support import SELLER, make_sim


def test_a_buyer_presses_buy_one_over_http_and_the_order_is_placed_for_that_sku(clock):
    sim = make_sim(clock)
    with sim.serve() as base_url, httpx.Client(base_url=base_url, timeout=30) as browser:
        page = browser.get("/_sim/shop")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        skus = [unescape(s) for s in re.findall(r"name='sku' value='([^']*)'", page.text)]
        assert skus and page.text.count("Buy one") == len(skus)
        before = {o["orderId"] for o in browser.get("/_sim/orders").json()["orders"]}

        bought = browser.post("/_sim/shop", data={"sku": skus[-1]}, follow_redirects=True)
        assert bought.status_code == 200
        [placed] = re.findall(r"Order (\S+) placed", bought.text)

        orders = {o["orderId"]: o for o in browser.get("/_sim/orders").json()["orders"]}
        assert set(orders) - before == {placed}
        assert [(i["sku"], i["quantity"]) for i in orders[placed]["items"]] == [(skus[-1], 1)]
        assert orders[placed]["sellerId"] == SELLER


def test_the_shop_refuses_a_sku_it_does_not_sell_and_places_nothing(clock):
    sim = make_sim(clock)
    with sim.serve() as base_url, httpx.Client(base_url=base_url, timeout=30) as browser:
        before = browser.get("/_sim/orders").json()["orders"]
        refused = browser.post("/_sim/shop", data={"sku": "NOT-SOLD-HERE"})
        assert refused.status_code == 400 and "is not one of the shop" in refused.text
        assert browser.get("/_sim/orders").json()["orders"] == before
