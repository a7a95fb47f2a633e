"""The host's conformance kit passes on the bol plugin, against the simulator."""

from __future__ import annotations

import linkolis_bol.plugin
from linkolis_bol.simulator import Simulator

from linkolis_host import VirtualClock, apps
from linkolis_host.host import Host
from linkolis_host.testing import assert_conformance

ENDPOINT = "https://bol.sim.test"
START = 1_780_000_000.0


def test_the_bol_plugin_keeps_the_hook_contract():
    clock = VirtualClock(START)
    sim = Simulator(clock, orders=40, offers=12, order_window_days=3, validate_responses=True)
    wire = sim.checked_transport()
    merchant = next(o.reference for o in sim.offers if not o.fbb)
    assert_conformance(
        linkolis_bol.plugin,
        authorize=lambda host, name: apps.authorize_direct(
            host, name, {"client_id": sim.client_id, "client_secret": sim.client_secret}
        ),
        host_factory=lambda home, plugins: Host(
            home, clock=clock, extra_plugins=plugins, transport=wire, env={"LINKOLIS_BOL_ENDPOINT": ENDPOINT}
        ),
        stock=[(merchant, 5), ("NOT-ON-BOL", 1)],
    )
    assert not wire.problems
    held = sum(  # what the simulator's open merchant orders hold of it: the kit imported them first
        i.quantity - i.quantity_shipped - i.quantity_cancelled
        for o in sim.orders_truth().values()
        for i in o.items
        if i.offer.reference == merchant and not i.offer.fbb and i.open
    )
    assert sim.offer_truth()[merchant]["stock"] == max(0, 5 - held)
