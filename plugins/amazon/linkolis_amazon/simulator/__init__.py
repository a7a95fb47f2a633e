"""A faithful local stand-in for Amazon's Selling Partner API: Login with Amazon, Seller Central consent, Orders
v2026-01-01, Listings Items 2021-08-01, Feeds 2021-06-30 (JSON_LISTINGS_FEED) and Sellers v1, checked against
Amazon's own models.

In-process::

    sim = Simulator(VirtualClock(), seed=1, orders=10_000, validate_responses=True)
    client = httpx.Client(transport=sim.transport(), base_url="https://sim")
    sim.faults.add(operation="searchOrders", kind="429", count=3)
    sim.orders_truth(); sim.stock_truth(); sim.counters_snapshot()

Over HTTP: ``with sim.serve() as base_url: ...`` or ``python -m linkolis_amazon.simulator --help``.
"""

from .accounts import ALL_ROLES, DEFAULT_SELLER_ID
from .app import FAULT_KINDS, ContractViolation, SimConfig, Simulator
from .lwa import DEFAULT_APPLICATION_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

__all__ = [
    "ALL_ROLES",
    "ContractViolation",
    "DEFAULT_APPLICATION_ID",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_SELLER_ID",
    "FAULT_KINDS",
    "SimConfig",
    "Simulator",
]
