"""A stand-in bol for a demo: the simulator on loopback and the credentials a seller would paste.

Not registered as the ``demo_environment`` hook yet: the host's demo authorizes by a consent page (OAuth), and
bol apps take pasted credentials; the demo installing both apps is issue 13's item 10. Only a demo imports the
simulator; the plugin's runtime path never does.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from linkolis_host import DemoEnvironment, SystemClock

from .simulator import Simulator


def environment(home: Path) -> tuple[DemoEnvironment, dict[str, str]]:
    """The running stand-in, and the direct credentials to authorize the demo app with."""
    stack = ExitStack()
    sim = Simulator(SystemClock(), seed=2026, orders=120, offers=24, order_window_days=5, process_seconds=1.0)
    base_url = stack.enter_context(sim.serve())
    merchant = sorted(o.reference for o in sim.offers if not o.fbb)
    fbb = sorted(o.reference for o in sim.offers if o.fbb)

    def no_consent_page(url: str) -> None:
        raise RuntimeError("bol apps are authorized with pasted credentials, not a consent page")

    env = DemoEnvironment(
        kind="bol",
        install={"name": "bol NL", "stock_sync": True},
        env={"LINKOLIS_BOL_ENDPOINT": base_url},
        browser=no_consent_page,
        describe=f"A local bol is running at {base_url} (login and Retailer API v10; {len(sim.offers)} offers). "
        "Nothing leaves this machine.",
        stock=[(sku, 4 + n) for n, sku in enumerate(merchant[:3])],
        bulk_stock=[(sku, 9) for sku in merchant[3:] + fbb[:1]],
        close=stack.close,
    )
    return env, {"client_id": sim.client_id, "client_secret": sim.client_secret}
