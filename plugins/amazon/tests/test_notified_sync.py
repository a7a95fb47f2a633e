"""The running sync reads the notification queue: an order placed at Amazon is stored within seconds, on a real
clock, though searchOrders would not list it for two minutes; while the queue is read, the app is polled only as the
net (every ``net_interval``), and ``sync status`` says that the app is on notifications and when the last came."""

from __future__ import annotations

import time

import pytest

from linkolis_host import SystemClock, order_notifications, scheduler

SKU = "FAST-MUG"


@pytest.fixture
def clock():
    return SystemClock()


@pytest.fixture
def sim_options(moto_endpoint):
    return {"sqs_endpoint": moto_endpoint}


@pytest.fixture
def operator_env(operator_env, sqs_queue):
    return {**operator_env, "LINKOLIS_AMAZON_NOTIFICATIONS_QUEUE_URL": sqs_queue}


def until(condition, limit=60.0):
    deadline = time.monotonic() + limit  # a safety net, not a timing check
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def test_the_sync_stores_a_notified_order_in_seconds_and_polls_only_as_the_net(run, host, sim, authorized):
    sim.add_listing(SKU, ["DE"], quantity=5)
    run("stock", "set", SKU, "5")
    with scheduler.background(host, workers=1, interval=1.0, net_interval=3600, poll=0.05, refresh=0.1) as running:
        assert until(lambda: order_notifications.readers(host).get("amazon", {}).get("state") == "reading")
        assert until(lambda: "amazon" in running.reading and running.notified)
        [app_id] = running.notified
        # The round due when its queue answered runs; the next poll is the net's, an hour later, not a second.
        assert until(lambda: running.due.get((app_id, "import"), 0) > running.clock.monotonic() + 600)
        imports_before = sum(1 for e in list(running.events) if e[2] == "import")
        placed = sim.add_order([(SKU, 2)], "DE")
        assert until(
            lambda: placed in {o["marketplace_order_id"] for o in run.json("orders", "list", "--limit", "500")}
        )
        imports = sum(1 for e in list(running.events) if e[2] == "import")
    # searchOrders lists an order two minutes after it changed at the earliest: this one came by its notification.
    assert imports == imports_before
    [row] = [r for r in run.json("stock", "list") if r["sku"] == SKU]
    assert row["reserved"] == 2

    status = run.json("sync", "status")
    [state] = [a for a in status["notifications"]["apps"] if a["app"] == authorized]
    assert state["on"] and state["received"] == 1 and state["last_at"]
