"""Many processes on one PostgreSQL database: two `linkolis worker` processes serve three sellers' Amazon apps from
the task queue, on a real clock, with the simulator in this process; one worker is killed (kill -9) while it
imports, and the other carries on: every settled order is stored once, stock is offered as set less what the
orders reserve, and `sync status` shows the queue."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from linkolis_amazon.orders import SETTLE
from linkolis_amazon.simulator import Simulator

from linkolis_host import SystemClock, apps, stock, workspaces
from linkolis_host.host import Host

DE = "A1PA6795UKMFR9"
SKUS = ["W-MUG", "W-CUP", "W-PEN"]


def until(condition, limit=120.0):
    deadline = time.monotonic() + limit  # a safety net, not a timing check
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.2)
    return condition()


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    command = [str(Path(sys.executable).with_name("linkolis")), "worker", "--concurrency", "2", "--grace", "5"]
    command += ["--stalled-after", "10"]  # the killed one's jobs go to the other 10 s on, not 30
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))


def test_two_workers_share_the_sellers_and_a_killed_one_loses_nothing(postgres_url, tmp_path):
    sim = Simulator(
        SystemClock(),
        orders=300,
        skus=10,
        sellers=3,
        order_window_days=3,
        new_orders_per_hour=0,
        marketplaces=("DE",),
        rate_limits=False,
        listing_visibility_delay=0,  # Amazon shows a quantity a minute after it took it; the story is the workers'
    )
    home = tmp_path / "home"
    with sim.serve() as base_url:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LINKOLIS_")},
            "LINKOLIS_HOME": str(home),
            "LINKOLIS_DATABASE_URL": postgres_url,
            "LINKOLIS_LOAD_PLUGINS": "amazon",
            "LINKOLIS_AMAZON_ENDPOINT": base_url,
            "LINKOLIS_AMAZON_CLIENT_ID": sim.client_id,
            "LINKOLIS_AMAZON_CLIENT_SECRET": sim.client_secret,
            "LINKOLIS_AMAZON_APPLICATION_ID": sim.application_id,
            "LINKOLIS_AMAZON_FIRST_IMPORT_DAYS": "5",
        }
        host = Host(home, env=env)
        sellers = sim.seller_ids
        shops: dict[str, int] = {}  # seller -> its business's workspace
        for n, seller in enumerate(sellers):
            host.workspace_id = shops[seller] = workspaces.add_workspace(host, f"Shop {n}").id
            name = f"Amazon {n}"
            apps.install(host, "amazon", {"name": name, "marketplace": "DE", "stock_sync": True})
            apps.authorize_direct(host, name, {"refresh_token": sim.authorize(seller), "selling_partner_id": seller})
            for sku in SKUS:
                sim.add_listing(sku, ["DE"], quantity=1, seller_id=seller)
                stock.set_stock(host, sku, 40)
        sim.faults.add("slow", "searchOrders", probability=1.0, delay=1.0)  # imports take a while: one is killed
        first, second = _worker(env, tmp_path / "w1.log"), _worker(env, tmp_path / "w2.log")
        try:
            # Kill the first once it runs an import: its jobs must go to the second.
            assert until(lambda: _running(host, first.pid) or first.poll() is not None), _logs(tmp_path)
            assert first.poll() is None, _logs(tmp_path)
            killed_app = host.db.execute(
                "SELECT app_id FROM scheduler_state WHERE pid = ? AND state = 'running' AND stream = 'import'",
                (first.pid,),
            ).fetchone()
            first.send_signal(signal.SIGKILL)
            first.wait()
            for seller in sellers:
                sim.add_order([(SKUS[0], 2)], "DE", seller_id=seller, created=time.time() - 400)
            truth = {o["orderId"]: o for o in sim.orders_truth() if o["marketplaceId"] == DE}
            cutoff = (SystemClock().now() - SETTLE).isoformat()[:19]
            settled = {k for k, v in truth.items() if v["lastUpdatedTime"][:19] <= cutoff}
            assert until(lambda: settled <= _stored(host), limit=240), (len(settled - _stored(host)), _logs(tmp_path))
            for seller, shop in shops.items():
                host.workspace_id = shop
                assert until(lambda s=seller: _offered(sim, s) == _expected(host), limit=120), _logs(tmp_path)
            status = _status(env)
        finally:
            second.send_signal(signal.SIGTERM)
            try:
                assert second.wait(timeout=60) == 0, _logs(tmp_path)
            finally:
                for worker in (first, second):
                    if worker.poll() is None:
                        worker.kill()
        rows = host.db.execute("SELECT COUNT(*), COUNT(DISTINCT marketplace_order_id) FROM orders").fetchone()
        killed_done = host.db.execute(
            "SELECT 1 FROM scheduler_state WHERE app_id = ? AND stream = 'import' AND pid = ?",
            (killed_app[0], second.pid),
        ).fetchone()
        host.close()
    assert rows[0] == rows[1], "an order stored twice"
    assert killed_app is not None, "the worker killed was running a unit"
    assert killed_done, "the killed worker's unit was run again by the other"
    assert status["queue"]["workers"] >= 1
    assert {"push", "import"} <= set(status["queue"]["queues"])


def _running(host: Host, pid: int) -> bool:
    """Whether the worker ``pid`` runs an import now."""
    return bool(
        host.db.execute(
            "SELECT 1 FROM scheduler_state WHERE stream = 'import' AND state = 'running' AND pid = ?", (pid,)
        ).fetchone()
    )


def _stored(host: Host) -> set[str]:
    return {r[0] for r in host.db.execute("SELECT marketplace_order_id FROM orders")}


def _expected(host: Host) -> dict[str, int]:
    """What the workspace's app should be offered: the quantity set, less what its stored orders reserve."""
    return {r["sku"]: r["available"] for r in stock.list_stock(host) if r["sku"] in SKUS}


def _offered(sim: Simulator, seller: str) -> dict[str, int]:
    """What Amazon offers of the seller's SKUs now."""
    return {sku: places[DE]["quantity"] for sku, places in sim.stock_truth(seller)[seller].items() if sku in SKUS}


def _status(env: dict[str, str]) -> dict:
    command = [str(Path(sys.executable).with_name("linkolis")), "sync", "status", "--json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _logs(tmp_path: Path) -> str:
    return "\n".join(f"{p.name}:\n{p.read_text()[-3000:]}" for p in sorted(tmp_path.glob("w*.log")))
