"""Fixtures for the bol app's tests, over the host's pytest plugin (``home``, ``clock``, ``host``, ``run``...): an
in-process bol simulator on the test's clock, the host's operator settings and transport pointed at it, and a check
of every request the plugin sends against bol's own spec."""

from __future__ import annotations

import pytest
from linkolis_bol.simulator import Simulator

from linkolis_host.testing import each_test_at_home

ENDPOINT = "https://bol.sim.test"


# Every test in a data directory of its own, whatever the shell says, its host loading the installed bol plugin
# through its entry point as an operator's host does. A test module shapes the simulator with ``sim_options``.
home = each_test_at_home("bol")


@pytest.fixture
def sim(clock, sim_options):
    """A small shop on the test's clock, every answer held to bol's spec; ``sim_options`` overrides these."""
    return Simulator(
        clock, **{"orders": 80, "offers": 20, "order_window_days": 5, "validate_responses": True, **sim_options}
    )


@pytest.fixture
def transport(wire):
    """The host sends through the contract check to the simulator; the test fails on a request it finds wrong."""
    return wire


@pytest.fixture
def operator_env():
    return {"LINKOLIS_BOL_ENDPOINT": ENDPOINT}


@pytest.fixture
def authorized(run, sim):
    """A "bol NL" app with stock sync on, authorized with the simulator's credentials (the secret piped)."""
    run("apps", "install", "bol", "--name", "bol NL", "--stock-sync")
    run(
        "apps",
        "authorize",
        "bol NL",
        "--credential",
        f"client_id={sim.client_id}",
        "--credential",
        "client_secret=-",
        input=sim.client_secret + "\n",
    )
    return "bol NL"
