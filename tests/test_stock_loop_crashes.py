"""Every order event moves stock once, whatever kills the process: a real process is killed (os._exit, no cleanup)
just before each write statement of an order event in turn, then the event is run again, and stock, reservations and
the ledger come out as if it had run once.

The events: importing an open order (it reserves), recording its shipment (on hand goes down, the reservation goes),
importing an order the buyer cancelled (its reservation goes)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.sqlite_only("copies data directories, the SQLite file with them, to replay each step")

TESTS = Path(__file__).parent
SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    sys.path.insert(0, sys.argv[1])
    import testmarket
    from linkolis_host import apps, orders, shipments, stock
    from linkolis_host.host import Host

    home, crash_at, plan = sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
    for o in plan["orders"]:
        testmarket.MARKET.add_order(o["id"], status=o["status"], updated=o["updated"])
        testmarket.MARKET.details[o["id"]] = {"lines": [{"line_id": "1", "sku": "MUG", "quantity_ordered": o["qty"]}]}
    host = Host(home, extra_plugins=[testmarket])
    writes = 0

    def trace(statement):
        global writes
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "REPLACE")):
            writes += 1
            if writes == crash_at:
                os._exit(9)  # killed: nothing is flushed, nothing is rolled back by us

    host.db.conn.set_trace_callback(trace)
    for _ in range(plan.get("times", 1)):
        run(host, plan)
    print(json.dumps({"writes": writes}))
    """
)
SCRIPT_EVENTS = textwrap.dedent(
    """
    def run(host, plan):
      if plan["event"] == "setup":
        apps.install(host, "testmarket", {"name": "Shop EU", "region": "EU", "stock_sync": True})
        apps.authorize_direct(host, "Shop EU", {"token": "tok-S1", "account": "S1"})
        stock.set_stock(host, "MUG", 10)
      elif plan["event"] == "import":
        orders.import_orders(host, "Shop EU")
      elif plan["event"] == "ship":
        shipments.ship_order(host, plan["order"], carrier="DHL", tracking="JJD0001", app="Shop EU")
    """
)

OPEN = {"id": "O-1", "status": "UNSHIPPED", "updated": 1, "qty": 3}
CANCELLED = {"id": "O-2", "status": "CANCELLED", "updated": 3, "qty": 2}
OPEN_2 = {"id": "O-2", "status": "UNSHIPPED", "updated": 2, "qty": 2}


def run(home: Path, plan: dict, crash_at: int = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "LINKOLIS_HOME": str(home), "LINKOLIS_LOAD_PLUGINS": ""}
    return subprocess.run(
        [sys.executable, "-c", SCRIPT_EVENTS + SCRIPT, str(TESTS), str(home), str(crash_at), json.dumps(plan)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def state(home: Path) -> dict:
    conn = sqlite3.connect(home / "linkolis.db")
    try:
        return {
            "level": conn.execute("SELECT quantity, reserved FROM desired_stock WHERE sku = 'MUG'").fetchone(),
            "lines": conn.execute("SELECT order_id, reserved, shipped, taken FROM line_stock ORDER BY 1").fetchall(),
            "ledger": conn.execute(
                "SELECT cause, on_hand_change, reserved_change FROM stock_ledger WHERE sku = 'MUG' ORDER BY id"
            ).fetchall(),
        }
    finally:
        conn.close()


@pytest.fixture(scope="module")
def before(tmp_path_factory):
    """Data directories at the moment before each event, made once by running the events before it."""
    base = tmp_path_factory.mktemp("loop")
    homes = {}
    steps = [
        ("import an open order", {"event": "import", "orders": [OPEN]}),
        ("ship it", {"event": "ship", "order": "O-1", "orders": [OPEN]}),
        ("import another, open", {"event": "import", "orders": [OPEN, OPEN_2]}),
        ("import its cancellation", {"event": "import", "orders": [OPEN, CANCELLED]}),
    ]
    home = base / "home"
    assert run(home, {"event": "setup", "orders": []}).returncode == 0
    for name, plan in steps:
        homes[name] = (base / name.replace(" ", "-"), plan)
        shutil.copytree(home, homes[name][0])
        done = run(home, plan)
        assert done.returncode == 0, done.stderr
    return homes


EXPECTED = {
    "import an open order": ((10, 3), [("counted", 10, 0), ("reserved", 0, 3)]),
    "ship it": ((7, 0), [("counted", 10, 0), ("reserved", 0, 3), ("shipped", -3, -3)]),
    "import another, open": ((7, 2), [("counted", 10, 0), ("reserved", 0, 3), ("shipped", -3, -3), ("reserved", 0, 2)]),
    "import its cancellation": (
        (7, 0),
        [("counted", 10, 0), ("reserved", 0, 3), ("shipped", -3, -3), ("reserved", 0, 2), ("released", 0, -2)],
    ),
}


@pytest.mark.parametrize("event", list(EXPECTED))
def test_an_order_event_killed_before_any_of_its_writes_then_run_again_moves_stock_exactly_once(
    event, before, tmp_path
):
    start, plan = before[event]
    level, ledger = EXPECTED[event]
    total = json.loads(run(_copy(start, tmp_path / "count"), plan).stdout)["writes"]
    assert total >= 3, "an order event writes several statements"
    for crash_at in range(1, total + 1):
        home = _copy(start, tmp_path / f"crash-{crash_at}")
        killed = run(home, plan, crash_at)
        assert killed.returncode == 9, f"write {crash_at} of {total}: {killed.stderr}"
        again = run(home, {**plan, "times": 2})  # run again, and once more as a later import would
        assert again.returncode == 0, again.stderr
        after = state(home)
        assert (after["level"], after["ledger"]) == (level, ledger), f"killed before write {crash_at} of {total}"


def _copy(start: Path, to: Path) -> Path:
    shutil.copytree(start, to)
    return to
