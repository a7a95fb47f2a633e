"""kill -9 of `linkolis sync` while shipments are due, at random moments: after a rerun, Amazon has every package
exactly once. The kill is timed by what the simulator has seen (right after its Nth confirmShipment), not by a clock,
so a loaded machine moves the moment but never skips it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from linkolis_amazon.simulator import Simulator

from linkolis_host import SystemClock, apps, orders, shipments
from linkolis_host.host import Host
from linkolis_host.testing import open_store

N = 24


def confirmations(sim) -> int:
    return sim.counters_snapshot()["calls"].get("confirmShipment", 0)


def test_sync_killed_while_shipments_are_due_confirms_each_exactly_once_after_a_rerun(tmp_path):
    sim = Simulator(
        SystemClock(),
        orders=0,
        skus=5,
        new_orders_per_hour=0,
        marketplaces=("DE",),
        rate_limits=False,
        listing_visibility_delay=0,
    )
    sim.add_listing("KILL-1", ["DE"], 1000)
    ids = [sim.add_order([("KILL-1", 2)], "DE", status="UNSHIPPED", created=time.time() - 900) for _ in range(N)]
    home = tmp_path / "home"
    with sim.serve() as base_url:
        env = {
            "LINKOLIS_HOME": str(home),
            "LINKOLIS_LOAD_PLUGINS": "amazon",
            "LINKOLIS_AMAZON_ENDPOINT": base_url,
            "LINKOLIS_AMAZON_CLIENT_ID": sim.client_id,
            "LINKOLIS_AMAZON_CLIENT_SECRET": sim.client_secret,
            "LINKOLIS_AMAZON_APPLICATION_ID": sim.application_id,
            "LINKOLIS_AMAZON_FIRST_IMPORT_DAYS": "2",
        }
        host = Host(home, env=env)
        apps.install(host, "amazon", {"name": "Amazon DE", "marketplace": "DE"})
        apps.authorize_direct(
            host, "Amazon DE", {"refresh_token": sim.authorize(), "selling_partner_id": sim.default_seller_id}
        )
        orders.import_orders(host, "Amazon DE")
        for number, oid in enumerate(ids):  # half in one package, half in two
            if number % 2:
                shipments.ship_order(host, oid, carrier="DHL", tracking=f"A{number:08d}", lines=[("KILL-1", 1)])
                shipments.ship_order(host, oid, carrier="GLS", tracking=f"B{number:08d}")
            else:
                shipments.ship_order(host, oid, carrier="PostNL", tracking=f"C{number:08d}")
        host.close()
        packages = N + N // 2
        command = [str(Path(sys.executable).with_name("linkolis")), "sync"]
        rng = random.Random(12)
        killed_at = []
        for _ in range(5):
            target = confirmations(sim) + rng.randint(1, 4)
            child = subprocess.Popen(
                command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            deadline = time.monotonic() + 120  # a safety net only: the kill waits on the simulator, not the clock
            while child.poll() is None and confirmations(sim) < target and time.monotonic() < deadline:
                time.sleep(0.002)
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
                killed_at.append(confirmations(sim))
            child.wait()
        finished = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=180)
        assert finished.returncode == 0, finished.stdout + finished.stderr
        truth = sim.shipments_truth()
        calls = confirmations(sim)
    assert len(killed_at) >= 3, f"too few runs were killed mid-way ({killed_at}): nothing proved"
    seen = [(p["orderId"], p["packageReferenceId"]) for p in truth]
    assert len(seen) == len(set(seen)) == packages, "a package confirmed twice, or missing"
    assert calls > packages  # some were sent again after a kill, and were not confirmed twice
    shipped = {oid: 0 for oid in ids}
    for package in truth:
        shipped[package["orderId"]] += sum(item["quantity"] for item in package["items"])
    assert set(shipped.values()) == {2}
    db = open_store(home)
    statuses = db.execute("SELECT status, COUNT(*) FROM shipments GROUP BY status").fetchall()
    assert statuses == [("accepted", packages)]
    assert {s for (s,) in db.execute("SELECT status FROM orders")} == {"shipped"}
