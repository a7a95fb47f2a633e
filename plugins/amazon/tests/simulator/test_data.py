"""The seeded generator: believable, fast, repeatable."""

from __future__ import annotations

import tracemalloc
from collections import Counter

from linkolis_amazon.simulator import Simulator
from linkolis_amazon.simulator.data import AWKWARD_SKUS
from linkolis_amazon.simulator.marketplaces import MARKETPLACES
from sim_support import SELLER, START

from linkolis_host.clock import VirtualClock
from linkolis_host.testing.simulator import parse_iso


def test_ten_thousand_orders_have_one_to_five_items_mostly_one():
    # How long building them takes is a benchmark's figure (bench/amazon_orders.py), not a test's.
    sim = Simulator(VirtualClock(START), orders=10_000, skus=300, new_orders_per_hour=0)
    orders = sim.orders.by_id.values()
    assert len(orders) == 10_000
    sizes = Counter(len(o.items) for o in orders)
    assert set(sizes) == {1, 2, 3, 4, 5} and sizes[1] > sizes[2] > sizes[5]


def test_orders_cost_little_memory():
    tracemalloc.start()
    Simulator(VirtualClock(START), orders=2000, skus=100, new_orders_per_hour=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak / 2000 < 4096, peak  # bytes per order, listings and generator included


def test_orders_spread_over_the_window_ending_now_across_eu_and_us(clock):
    sim = Simulator(clock, orders=2000, skus=60, order_window_days=30, new_orders_per_hour=0)
    truth = sim.orders_truth()
    created = [parse_iso(o["createdTime"]) for o in truth]
    assert min(created) >= START - 30 * 86400 and max(created) <= START
    assert max(created) > START - 86400 and min(created) < START - 29 * 86400
    markets = Counter(MARKETPLACES[o["marketplaceId"]].country for o in truth)
    assert {"US", "DE", "UK", "FR"} <= set(markets) and markets["US"] > markets["NL"]
    assert Counter(o["fulfilledBy"] for o in truth).keys() == {"AMAZON", "MERCHANT"}
    statuses = Counter(o["status"] for o in truth)
    assert statuses["SHIPPED"] > statuses["UNSHIPPED"] > 0 and statuses["CANCELLED"] > 0


def test_listings_mix_mfn_and_fba_and_include_awkward_skus(sim):
    stock = sim.stock_truth(SELLER)[SELLER]
    assert set(AWKWARD_SKUS) <= set(stock)
    kinds = Counter(m["fulfillment"] for per in stock.values() for m in per.values())
    assert kinds["MFN"] > kinds["AFN"] > 0
    channels = {c for per in stock.values() for m in per.values() for c in m["channels"]}
    assert channels == {"DEFAULT", "AMAZON_EU", "AMAZON_NA"}


def test_the_same_seed_gives_the_same_world_and_another_seed_another(clock):
    a = Simulator(clock, seed=3, orders=200, skus=20, new_orders_per_hour=0).orders_truth()
    b = Simulator(clock, seed=3, orders=200, skus=20, new_orders_per_hour=0).orders_truth()
    c = Simulator(clock, seed=4, orders=200, skus=20, new_orders_per_hour=0).orders_truth()
    assert a == b and a != c


def test_order_ids_look_like_amazons(sim):
    import re

    assert all(re.fullmatch(r"\d{3}-\d{7}-\d{7}", o["orderId"]) for o in sim.orders_truth())
