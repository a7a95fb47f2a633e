"""`linkolis demo` for bol: the simulator on loopback, and the Client ID and Client Secret a seller would paste.

Only the demo imports the simulator; the plugin's runtime path never does.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from linkolis_host import DemoEnvironment, SystemClock
from linkolis_host.testing.simulator import loopback_sqs_endpoint

from .simulator import Simulator

# The demo's seller sells one product on Amazon too, under the same SKU (one of the Amazon demo's, whose bulk load
# sets its stock): an order on one channel lowers what the other is offered. bol's own stock levels leave it alone.
ALSO_ON_AMAZON = "EF-00464-WHI"
DEMO_ROLE = "arn:aws:iam::000000000000:role/linkolis-demo-bol"


def environment(home: Path) -> DemoEnvironment:
    stack = ExitStack()
    sqs_endpoint = loopback_sqs_endpoint()
    sim = Simulator(
        SystemClock(),
        seed=2026,
        orders=120,
        offers=24,
        order_window_days=5,
        process_seconds=1.0,
        sqs_endpoint=sqs_endpoint,  # ORDER pushes to the queue the app subscribes to
    )
    base_url = stack.enter_context(sim.serve())
    shared = sorted((o for o in sim.offers if not o.fbb), key=lambda o: o.reference)[-1]
    shared.reference = ALSO_ON_AMAZON
    merchant = sorted(o.reference for o in sim.offers if not o.fbb and o is not shared)
    fbb = sorted(o.reference for o in sim.offers if o.fbb)
    # bol sends pushes by assuming a role of the operator's; the simulator takes any role ARN (operations.md §7).
    config = {"endpoint": base_url, "notifications_role_arn": DEMO_ROLE} if sqs_endpoint else {"endpoint": base_url}
    return DemoEnvironment(
        kind="bol",
        install={"name": "bol NL", "stock_sync": True},
        env={f"LINKOLIS_BOL_{name.upper()}": value for name, value in config.items()},
        config=config,
        endpoint=base_url,
        credentials={"client_id": sim.client_id, "client_secret": sim.client_secret},
        describe=f"A local bol is running at {base_url} (login and Retailer API v10; {len(sim.offers)} offers). "
        "Nothing leaves this machine.",
        stock=[(sku, 4 + n) for n, sku in enumerate(merchant[:3])],
        bulk_stock=[(sku, 9) for sku in merchant[3:] + fbb[:1]],
        close=stack.close,
        place_order=lambda sku, quantity: sim.add_order(reference=sku, quantity=quantity).order_id,
    )
