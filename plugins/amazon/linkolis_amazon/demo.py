"""`linkolis demo` for Amazon: the simulator on loopback, pre-set operator settings, a seller who confirms.

Only the demo imports the simulator; the plugin's runtime path never does.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import httpx

from linkolis_host import DemoEnvironment, SystemClock
from linkolis_host.testing.simulator import loopback_sqs_endpoint

from .simulator import Simulator
from .simulator.browser import SellerBrowser

MARKETPLACE = "DE"
FEED_THRESHOLD = 20  # so the demo's bulk load of a few dozen SKUs shows the feed path


def environment(home: Path) -> DemoEnvironment:
    stack = ExitStack()
    sqs_endpoint = loopback_sqs_endpoint()
    sim = Simulator(
        SystemClock(),
        seed=2026,
        orders=240,
        skus=48,
        order_window_days=20,
        new_orders_per_hour=12,  # the history's pace is one every two hours: a demo's seller would never see one
        listing_visibility_delay=1.0,
        feed_queue_seconds=1.0,
        feed_processing_seconds=2.0,
        # The demos' development path (not Amazon behaviour): the CLI's loopback receiver, and the web
        # demo served on http://127.0.0.1. Amazon accepts only registered https redirect URIs.
        allow_loopback_redirects=True,
        sqs_endpoint=sqs_endpoint,  # ORDER_CHANGE notifications to the queue the app subscribes to
    )
    base_url = stack.enter_context(sim.serve())
    client = stack.enter_context(httpx.Client(base_url=base_url, timeout=30))
    truth = sim.stock_truth()[sim.default_seller_id]
    market_id = "A1PA6795UKMFR9"
    merchant = sorted(sku for sku, per in truth.items() if market_id in per and per[market_id]["fulfillment"] == "MFN")
    amazon = sorted(sku for sku, per in truth.items() if market_id in per and per[market_id]["fulfillment"] == "AFN")
    stock = [(sku, 7 + n) for n, sku in enumerate(merchant[:3])]
    bulk = [(sku, 20 + n) for n, sku in enumerate(merchant[3:] + amazon[:2])]
    describe = (
        f"A local Amazon is running at {base_url} (simulated Seller Central, Login with Amazon and SP-API; "
        f"seller {sim.default_seller_id}, {len(truth)} listings). Nothing leaves this machine. It accepts "
        "http loopback redirect URIs, which Amazon does not: the development path."
        + (" Its ORDER_CHANGE notifications go to the demo's local SQS." if sqs_endpoint else "")
    )
    # The operator settings that point linkolis at the simulator: for the demo's run, and written into the demo's
    # data directory so that later commands there reach the simulator (or say it has stopped), never Amazon.
    config = {
        "endpoint": base_url,
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,  # the simulator's published test value, not a secret
        "application_id": sim.application_id,
        "first_import_days": 30,
        "feed_threshold": FEED_THRESHOLD,
    }
    return DemoEnvironment(
        kind="amazon",
        install={"name": "Amazon DE", "marketplace": MARKETPLACE, "stock_sync": True},
        env={f"LINKOLIS_AMAZON_{name.upper()}": str(value) for name, value in config.items()},
        config=config,
        endpoint=base_url,
        browser=lambda url: SellerBrowser(client).open(url),
        describe=describe,
        stock=stock,
        bulk_stock=bulk,
        close=stack.close,
        place_order=lambda sku, quantity: _place_order(client, sku, quantity),
        shop_url=f"{base_url}/_sim/shop",
    )


def _place_order(client: httpx.Client, sku: str, quantity: int) -> str:
    """A buyer orders ``quantity`` of ``sku`` on the local Amazon (the simulator's ``POST /_sim/orders``)."""
    answer = client.post("/_sim/orders", json={"items": [{"sku": sku, "quantity": quantity}]})
    answer.raise_for_status()
    return str(answer.json()["orderId"])
