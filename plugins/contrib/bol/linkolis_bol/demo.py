"""`linkolis demo` for bol: the simulator on loopback, and the Client ID and Client Secret a seller would paste.

Only the demo imports the simulator; the plugin's runtime path never does.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from linkolis_host import DemoEnvironment, SystemClock

from .simulator import Simulator


def environment(home: Path) -> DemoEnvironment:
    stack = ExitStack()
    sim = Simulator(SystemClock(), seed=2026, orders=120, offers=24, order_window_days=5, process_seconds=1.0)
    base_url = stack.enter_context(sim.serve())
    merchant = sorted(o.reference for o in sim.offers if not o.fbb)
    fbb = sorted(o.reference for o in sim.offers if o.fbb)
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
