"""kill -9 in the middle of an order import: the next run ends with exactly Amazon's orders."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from linkolis_amazon.orders import SETTLE
from linkolis_amazon.simulator import Simulator

from linkolis_host import SystemClock, apps
from linkolis_host.host import Host
from linkolis_host.testing import open_store

DE = "A1PA6795UKMFR9"


def test_an_import_killed_at_random_points_loses_nothing_and_repeats_nothing(tmp_path):
    sim = Simulator(
        SystemClock(),
        orders=900,
        skus=30,
        order_window_days=5,
        new_orders_per_hour=0,
        marketplaces=("DE",),
        rate_limits=False,
    )
    home = tmp_path / "home"
    with sim.serve() as base_url:
        env = {
            "LINKOLIS_HOME": str(home),
            "LINKOLIS_LOAD_PLUGINS": "amazon",
            "LINKOLIS_AMAZON_ENDPOINT": base_url,
            "LINKOLIS_AMAZON_CLIENT_ID": sim.client_id,
            "LINKOLIS_AMAZON_CLIENT_SECRET": sim.client_secret,
            "LINKOLIS_AMAZON_APPLICATION_ID": sim.application_id,
            "LINKOLIS_AMAZON_FIRST_IMPORT_DAYS": "10",
        }
        host = Host(home, env=env)
        apps.install(host, "amazon", {"name": "Amazon DE", "marketplace": "DE"})
        apps.authorize_direct(
            host, "Amazon DE", {"refresh_token": sim.authorize(), "selling_partner_id": sim.default_seller_id}
        )
        host.close()
        command = [str(Path(sys.executable).with_name("linkolis")), "orders", "import", "Amazon DE"]
        rng = random.Random(9)
        partial: list[int] = []
        sim.faults.add("slow", "searchOrders", probability=1.0, delay=0.15)  # pages take a while, as Amazon's do
        for round_ in range(4):
            sim.add_listing(f"KILL-{round_}", ["DE"])
            for _ in range(150):  # new work for every run (settled: older than 2.5 min), so it has pages to lose
                sim.add_order([(f"KILL-{round_}", 1)], "DE", created=time.time() - rng.uniform(160, 280))
            _refill_quota(home)
            before = _count(home)
            pages_before = sim.counters.calls["searchOrders"]
            child = subprocess.Popen(
                command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            # Kill it right after a page was committed, or at a random moment while it runs: counted from its first
            # searchOrders at the simulator, so a slow start on a loaded machine does not eat the window.
            while child.poll() is None and sim.counters.calls["searchOrders"] == pages_before:
                time.sleep(0.01)
            deadline = time.monotonic() + rng.uniform(0.05, 1.5)
            while child.poll() is None and _count(home) == before and time.monotonic() < deadline:
                time.sleep(0.01)
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
            child.wait()
            partial.append(_count(home))
        _refill_quota(home)
        finished = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
        assert finished.returncode == 0, finished.stderr
        truth = {o["orderId"]: o for o in sim.orders_truth() if o["marketplaceId"] == DE}
    cutoff = (SystemClock().now() - SETTLE).isoformat()[:19]
    settled = {k: v for k, v in truth.items() if v["lastUpdatedTime"][:19] <= cutoff}
    db = open_store(home)
    held = dict(db.execute("SELECT marketplace_order_id, marketplace_status FROM orders").fetchall())
    rows = db.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
    lines = db.execute("SELECT COUNT(*) FROM order_lines").fetchone()[0]
    assert any(0 < n < len(settled) for n in partial), f"no run was killed mid-way ({partial}): nothing proved"
    assert rows == len(held), "an order stored twice"
    assert set(settled) <= set(held) <= set(truth)
    assert {k: held[k] for k in settled} == {k: v["status"] for k, v in settled.items()}
    assert lines == sum(len(truth[k]["items"]) for k in held)


def _count(home: Path) -> int:
    db = open_store(home)
    try:
        return db.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
    finally:
        db.close()


def _refill_quota(home: Path) -> None:
    """A quiet hour passes between runs: the persisted searchOrders bucket is full again."""
    db = open_store(home)
    with db.atomic():
        db.execute("DELETE FROM rate_buckets")
    db.close()
