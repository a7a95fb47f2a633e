"""`linkolis demo` for bol: the simulator on loopback, and the Client ID and Client Secret a seller would paste.

Only the demo imports the simulator; the plugin's runtime path never does.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from linkolis_host import DemoEnvironment, SystemClock

from .simulator import Simulator

# The demo's seller sells one product on Amazon too, under the same SKU (one of the Amazon demo's, whose bulk load
# sets its stock): an order on one channel lowers what the other is offered. bol's own stock levels leave it alone.
ALSO_ON_AMAZON = "EF-00464-WHI"


def environment(home: Path) -> DemoEnvironment:
    stack = ExitStack()
    sim = Simulator(SystemClock(), seed=2026, orders=120, offers=24, order_window_days=5, process_seconds=1.0)
    base_url = stack.enter_context(sim.serve())
    shared = sorted((o for o in sim.offers if not o.fbb), key=lambda o: o.reference)[-1]
    shared.reference = ALSO_ON_AMAZON
    merchant = sorted(o.reference for o in sim.offers if not o.fbb and o is not shared)
    fbb = sorted(o.reference for o in sim.offers if o.fbb)
    # Where bol's notifications will be wired: once its simulator delivers ORDER pushes to SQS, pass it the demo's
    # local SQS (AWS_ENDPOINT_URL_SQS while the demo runs, as linkolis_amazon.demo.local_sqs_endpoint reads it) and
    # give DemoEnvironment a place_order; the host's demo then shows a bol order arriving by notification too.
    return DemoEnvironment(
        kind="bol",
        install={"name": "bol NL", "stock_sync": True},
        env={"LINKOLIS_BOL_ENDPOINT": base_url},
        config={"endpoint": base_url},
        endpoint=base_url,
        credentials={"client_id": sim.client_id, "client_secret": sim.client_secret},
        describe=f"A local bol is running at {base_url} (login and Retailer API v10; {len(sim.offers)} offers). "
        "Nothing leaves this machine.",
        stock=[(sku, 4 + n) for n, sku in enumerate(merchant[:3])],
        bulk_stock=[(sku, 9) for sku in merchant[3:] + fbb[:1]],
        close=stack.close,
    )
