"""The host's conformance kit passes on the bol plugin, against the simulator."""

from __future__ import annotations

import linkolis_bol.plugin
import pytest

from linkolis_host import apps


@pytest.fixture
def sim_options():
    return {"orders": 40, "offers": 12, "order_window_days": 3}


def test_the_bol_plugin_keeps_the_hook_contract(sim, conformance):
    merchant = next(o.reference for o in sim.offers if not o.fbb)
    conformance(
        linkolis_bol.plugin,
        authorize=lambda host, name: apps.authorize_direct(
            host, name, {"client_id": sim.client_id, "client_secret": sim.client_secret}
        ),
        stock=[(merchant, 5), ("NOT-ON-BOL", 1)],
    )
    held = sum(  # what the simulator's open merchant orders hold of it: the kit imported them first
        i.quantity - i.quantity_shipped - i.quantity_cancelled
        for o in sim.orders_truth().values()
        for i in o.items
        if i.offer.reference == merchant and not i.offer.fbb and i.open
    )
    assert sim.offer_truth()[merchant]["stock"] == max(0, 5 - held)
