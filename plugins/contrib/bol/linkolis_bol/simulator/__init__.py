"""A local stand-in for bol's Retailer API v10: the login endpoint (client credentials), orders, offers (stock,
offer export) and process statuses, every request and response checked against bol's own specification.

In-process::

    sim = Simulator(VirtualClock(), seed=1, orders=10_000, validate_responses=True)
    client = httpx.Client(transport=sim.transport(), base_url="https://sim")
    sim.faults.add(operation="get-orders", kind="429", count=3)
    sim.orders_truth(); sim.offer_truth(); sim.counters["get-orders"]; sim.throttled

Over HTTP: ``with sim.serve() as base_url: ...`` or ``python -m linkolis_bol.simulator --help``. Built on the
simulator kit, ``linkolis_host.testing.simulator``.
"""

from .app import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    FAULT_KINDS,
    LIMITS,
    ContractViolation,
    Simulator,
)

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "FAULT_KINDS",
    "LIMITS",
    "ContractViolation",
    "Simulator",
]
