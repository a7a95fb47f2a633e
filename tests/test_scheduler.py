"""The scheduler of `sync --watch`: a seller with a long order backlog behind a slow quota never holds up another
seller's stock, a stop ends the run after the page in hand, and two schedulers never run one app's unit at once.

The test market calls no HTTP of its own; here its import asks the market for each page through ``ctx.http`` (an
in-process transport) under the "orders" quota, and the account SLOW's quota is slow: one page per 10 s."""

from __future__ import annotations

import os
import random
import signal
import threading
import time

import httpx
import pytest
import testmarket
from helpers import authorize_app, install_app, token_of

from linkolis_host import hookimpl, stock
from linkolis_host.host import Host
from linkolis_host.scheduler import Scheduler

ORIGINAL = testmarket.import_orders
SLOW_RATE = 0.1  # pages a second for the account SLOW


class Watch:
    """What the test sees of the market's import: pages served per account, how many imports of one account ran at
    once, and a hook run after a page of SLOW is stored."""

    def __init__(self):
        self.pages: dict[str, int] = {}
        self.active: dict[str, int] = {}
        self.most_at_once: dict[str, int] = {}
        self.lock = threading.Lock()
        self.after_slow_page: list = []


@pytest.fixture
def watch(monkeypatch, host):
    seen = Watch()

    @hookimpl(specname="import_orders")
    def import_orders(ctx, cursor):
        account = ctx.app.account_id
        with seen.lock:
            seen.active[account] = seen.active.get(account, 0) + 1
            seen.most_at_once[account] = max(seen.most_at_once.get(account, 0), seen.active[account])
        try:
            if account == "SLOW":
                ctx.http.learn_rate("orders", SLOW_RATE, 1)
            batches = ORIGINAL(ctx, cursor)
            while True:
                ctx.http.get("https://market.invalid/orders", operation="orders")
                batch = next(batches, None)
                if batch is None:
                    return
                yield batch
                with seen.lock:
                    seen.pages[account] = seen.pages.get(account, 0) + 1
                if account == "SLOW":
                    for hook in list(seen.after_slow_page):
                        hook(seen.pages[account])
        finally:
            with seen.lock:
                seen.active[account] -= 1

    monkeypatch.setattr(testmarket, "import_orders", import_orders)
    host.transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    return seen


def backlog(market, orders=20):
    for n in range(1, orders + 1):
        market.add_order(f"B-{n}", updated=n)


def orders_of(host, name):
    return host.db.execute(
        "SELECT COUNT(*) FROM orders o JOIN apps a ON a.id = o.app_id WHERE a.name = ?", (name,)
    ).fetchone()[0]


def serve(scheduler, stop):
    thread = threading.Thread(target=scheduler.run, args=(stop,), daemon=True)
    thread.start()
    return thread


def wait_for(condition, thread):
    """Until ``condition`` holds or the scheduler thread ended (a safety net, not a timing check)."""
    deadline = time.monotonic() + 60
    while not condition() and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    return condition()


def test_a_stock_change_is_pushed_while_another_seller_imports_a_long_backlog(run, host, market, clock, watch):
    install_app(run, "Backlog Shop", "EU")
    authorize_app(run, "Backlog Shop", account="SLOW")
    install_app(run, "Quick Shop", "US", "--stock-sync")
    authorize_app(run, "Quick Shop", account="FAST")
    backlog(market)
    observer = Host(host.home, clock=clock, extra_plugins=[testmarket])
    changed = {}

    def change_stock_mid_backlog(pages):
        if pages == 3:  # the seller changes a stock level while the backlog is a third done
            changed["at"] = clock.time()
            stock.set_stock(observer, "SKU-9", 5)

    watch.after_slow_page.append(change_stock_mid_backlog)
    # One worker: if the backlog's quota wait held it, nothing else could run until the backlog was done.
    scheduler = Scheduler(host, workers=1, interval=3600, poll=1.0, defer_over=1.0)
    stop = threading.Event()
    started = clock.time()
    thread = serve(scheduler, stop)
    try:
        assert wait_for(lambda: ("SKU-9", 5) in market.pushes, thread)
        imported_when_pushed = orders_of(observer, "Backlog Shop")
        assert wait_for(lambda: ("Backlog Shop", "import", "done") in {e[1:] for e in list(scheduler.events)}, thread)
        assert orders_of(observer, "Backlog Shop") == 20
    finally:
        stop.set()
        thread.join(timeout=60)
        observer.close()
    assert not thread.is_alive()
    assert imported_when_pushed < 20, "the stock change waited for the backlog"
    events = list(scheduler.events)
    pushed_at = next(t for t, app, stream, _ in events if (app, stream) == ("Quick Shop", "push") and t > changed["at"])
    backlog_done_at = next(
        t for t, app, stream, what in events if (app, stream, what) == ("Backlog Shop", "import", "done")
    )
    assert pushed_at - changed["at"] <= 2.0  # picked up at the next poll, a second later
    assert pushed_at < backlog_done_at
    # The backlog gave its worker back at each quota wait instead of sleeping in it.
    deferred = [t for t, app, stream, what in events if (app, stream, what) == ("Backlog Shop", "import", "deferred")]
    assert len(deferred) >= 8
    assert scheduler.peak_running == 1
    # Eleven asks (ten pages, then "nothing more") at one per 10 s, the first from a full bucket: 100 s, no more.
    assert 95 <= backlog_done_at - started <= 105


class SellerAt(Scheduler):
    """The scheduler, with the seller setting a stock level at a given moment of its clock, in its own flow (a
    change from another thread would race a virtual clock that runs on), and stopping some time later."""

    def __init__(self, host, observer, change_at, stop_at, **options):
        super().__init__(host, **options)
        self.observer, self.change_at, self.stop_at, self.changed_at = observer, change_at, stop_at, None

    def _refresh(self):
        now = self.clock.time()
        if self.changed_at is None and now >= self.change_at:
            stock.set_stock(self.observer, "SKU-7", 3)
            self.changed_at = now
        if now >= self.stop_at:
            self.stop.set()
        super()._refresh()


def test_idle_apps_cost_nothing_between_rounds_and_a_change_wakes_only_its_workspaces_push(run, host, clock, watch):
    for n in range(1, 6):
        install_app(run, f"Shop {n}", "EU", "--stock-sync")
        authorize_app(run, f"Shop {n}", account=f"ACCOUNT-{n}")
    observer = Host(host.home, clock=clock, extra_plugins=[testmarket])
    start = clock.time()
    scheduler = SellerAt(host, observer, start + 100, start + 200, workers=2, interval=600, poll=1.0)
    try:
        scheduler.run(threading.Event())
    finally:
        observer.close()
    pushes = [e for e in list(scheduler.events) if e[2] == "push"]
    changed_at = scheduler.changed_at
    # The first round: each app pushes once; then for 100 virtual seconds nothing is to be done, and none is asked.
    assert len([e for e in pushes if e[0] < changed_at]) == 5
    # One workspace holds the five apps: the change wakes each once, within a poll, long before its next round.
    woken = [e for e in pushes if e[0] >= changed_at]
    assert sorted(app for _, app, _, _ in woken) == [f"Shop {n}" for n in range(1, 6)]
    assert all(at - changed_at <= 1.0 for at, _, _, _ in woken)
    assert ("SKU-7", 3) in testmarket.MARKET.pushes


def test_a_stop_ends_the_import_after_the_page_in_hand(run, host, market, clock, watch):
    install_app(run, "Backlog Shop", "EU")
    authorize_app(run, "Backlog Shop", account="SLOW")
    backlog(market)
    stop = threading.Event()

    def ctrl_c(pages):
        if pages == 2:
            stop.set()

    watch.after_slow_page.append(ctrl_c)
    # A generous deferral: the import would run its whole backlog in one go, sleeping on the quota, but for the stop.
    scheduler = Scheduler(host, workers=2, interval=3600, defer_over=10_000)
    thread = serve(scheduler, stop)
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert watch.pages["SLOW"] == 2
    assert orders_of(host, "Backlog Shop") == 4  # both pages stored; the rest waits for the next run's cursor
    statuses = run.json("sync", "status")
    assert {(u["app"], u["stream"], u["state"]) for u in statuses["units"]} == {
        ("Backlog Shop", "import", "stopped"),
        ("Backlog Shop", "push", "stopped"),
    }


def test_serve_stopping_ends_an_import_started_from_a_page_after_the_page_in_hand(run, host, market, watch):
    from starlette.testclient import TestClient

    from linkolis_host import installed, orders
    from linkolis_host.web import WebSettings, create_app
    from linkolis_host.web.jobs import Job

    install_app(run, "Backlog Shop", "EU")
    authorize_app(run, "Backlog Shop", account="SLOW")
    backlog(market)
    app = installed.get(host, "Backlog Shop")
    site = create_app(lambda: host, WebSettings("https://shop.example"))
    jobs = site.state.web.jobs
    second_page = threading.Event()

    def sigterm_while_the_second_page_is_stored(pages):
        if pages == 2:
            second_page.set()
            jobs.stop.wait(60)  # the import goes on only once serve is stopping

    watch.after_slow_page.append(sigterm_while_the_second_page_is_stored)
    with TestClient(site):  # serve running: "Import now" starts the backlog's import
        twin = host.fork()
        job = jobs.start(
            Job(workspace_id=app.workspace_id, app_id=app.id, app_name=app.name, what="import"),
            lambda job: orders.import_orders(twin, app.name, progress=job),
        )
        assert second_page.wait(60)
    # Left: serve's shutdown stopped the job and waited for it.
    twin.close()
    assert job.state == "stopped"
    assert watch.pages["SLOW"] == 2 and orders_of(host, "Backlog Shop") == 4, "both pages stored, no third asked"


def test_two_schedulers_on_one_data_dir_never_run_one_apps_import_at_once(run, host, market, clock, watch):
    for n, account in enumerate(["SLOW", "FAST", "OTHER"]):
        install_app(run, f"Shop {n}", "EU")
        authorize_app(run, f"Shop {n}", account=account)
    backlog(market)
    second = Host(host.home, clock=clock, extra_plugins=[testmarket], transport=host.transport)
    stop = threading.Event()
    first_run = Scheduler(host, workers=3, interval=3600, defer_over=5.0)
    second_run = Scheduler(second, workers=3, interval=3600, defer_over=5.0)

    def busy_seen():
        return any(e[2:] == ("import", "busy") for run_ in (first_run, second_run) for e in list(run_.events))

    def hold_until_the_other_tried(pages):
        if pages == 1:  # the import of SLOW holds its lock here until the other scheduler has tried it too
            wait_for(busy_seen, threads[1])

    watch.after_slow_page.append(hold_until_the_other_tried)
    threads = [serve(first_run, stop), serve(second_run, stop)]
    observer = Host(host.home, clock=clock, extra_plugins=[testmarket])
    try:
        assert wait_for(lambda: all(orders_of(observer, f"Shop {n}") == 20 for n in range(3)), threads[0])
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        observer.close()
        second.close()
    assert watch.most_at_once == {"SLOW": 1, "FAST": 1, "OTHER": 1}
    assert busy_seen()  # one found the other's lock held and skipped that round
    # Each order imported once (the orders table is unique per app): no doubled work.
    assert host.db.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 60


def test_sync_status_shows_what_waits_and_the_last_error(run, host, market, clock, watch):
    install_app(run, "Broken Shop", "EU")
    authorize_app(run, "Broken Shop", account="BROKEN")
    install_app(run, "Good Shop", "US", "--stock-sync")
    authorize_app(run, "Good Shop", account="GOOD")
    market.revoked.add(token_of("BROKEN"))
    stop = threading.Event()
    scheduler = Scheduler(host, workers=2, interval=600)
    scheduler.report = lambda message: stop.set() if "Broken Shop" in message else None
    thread = serve(scheduler, stop)
    thread.join(timeout=60)
    assert not thread.is_alive()
    statuses = run.json("sync", "status")
    units = {(u["app"], u["stream"]): u for u in statuses["units"]}
    assert "authoriz" in units[("Broken Shop", "import")]["last_error"].lower()
    assert units[("Good Shop", "push")]["last_error"] is None
    human = run("sync", "status").stdout
    assert "Broken Shop\timport\tstopped\t-\t" in human and "authoriz" in human.lower()


def test_sync_status_before_any_scheduler_ran(run):
    assert run.json("sync", "status") == {
        "units": [],
        "queue_depth": 0,
        "running": 0,
        "database": None,
        "notifications": {"readers": [], "apps": []},
        "queue": None,  # the task queue of `linkolis worker`: none on SQLite, nor before a worker ran
    }
    assert "sync --watch" in run("sync", "status").stdout


def test_sync_watch_runs_the_scheduler_and_sigterm_stops_it_after_the_page(run, host, market, watch):
    install_app(run, "Backlog Shop", "EU")
    authorize_app(run, "Backlog Shop", account="SLOW")
    backlog(market)
    watch.after_slow_page.append(lambda pages: os.kill(os.getpid(), signal.SIGTERM))  # the operator's `kill`
    result = run("sync", "--watch", "--workers", "2")
    assert "with 2 workers" in result.stderr and "Stopped." in result.stderr
    assert watch.pages["SLOW"] == 1
    assert orders_of(host, "Backlog Shop") == 2
    assert {u["state"] for u in run.json("sync", "status")["units"]} == {"stopped"}


def test_sync_watch_refuses_an_unknown_app_and_a_pool_of_no_workers(run, app):
    assert "no app named 'Nope'" in run("sync", "--watch", "Nope", code=1).stderr
    assert "--workers" in run("sync", "--watch", "--workers", "0", code=2).stderr


def test_ready_gives_the_order_a_sort_of_every_due_unit_would(host, clock):
    """``ready()`` keeps its due units in heaps; the units and their order must be those of sorting every due unit
    by (push first, the app served least recently, due first), through due times set again, lowered and raised,
    units dispatched, apps served on their other stream and apps gone."""
    from types import SimpleNamespace

    from linkolis_host.scheduler import IMPORT, PUSH

    rng = random.Random(25)
    scheduler = Scheduler(host, workers=3, notifications=False)
    now = clock.monotonic()
    for app_id in range(1, 41):
        scheduler.apps[app_id] = SimpleNamespace(id=app_id, name=f"Shop {app_id}", workspace_id=1)
        for stream in (PUSH, IMPORT):
            scheduler.due[(app_id, stream)] = now + rng.choice([0.0, 0.0, 1.0, 5.0, 30.0])

    def by_sort():
        at = clock.monotonic()
        keys = [
            k for k, due in scheduler.due.items() if due <= at and k not in scheduler.running and k[0] in scheduler.apps
        ]
        return sorted(keys, key=lambda k: (k[1] != PUSH, scheduler.served.get(k[0], -1), scheduler.due[k]))

    checked = 0
    for step in range(400):
        expected = by_sort()
        assert scheduler.ready() == expected, f"step {step}"
        assert scheduler.ready(2) == expected[:2], f"step {step}"
        checked += len(expected)
        for key in expected[: rng.randint(0, 3)]:  # dispatched, as ``_dispatch`` does
            scheduler.due.pop(key)
            scheduler._dispatched += 1
            scheduler.served[key[0]] = scheduler._dispatched
            scheduler.running.add(key)
        for key in list(scheduler.running):
            if rng.random() < 0.5:  # it ends, due again some time later
                scheduler.running.discard(key)
                scheduler.due[key] = clock.monotonic() + rng.choice([0.0, 2.0, 10.0])
        for key in rng.sample(sorted(scheduler.due), 3):  # woken sooner, or put off
            scheduler.due[key] = clock.monotonic() + rng.choice([-1.0, 0.0, 3.0, 20.0])
        if step == 100:
            scheduler.apps.pop(7)  # gone from the apps served: its units are not ready
        if step == 200:
            scheduler.apps[7] = SimpleNamespace(id=7, name="Shop 7", workspace_id=1)  # and back
        clock.advance(rng.choice([0.0, 0.5, 1.0, 3.0]))
    assert checked > 2000  # the check saw long ready lists, not empty ones


def test_the_state_rows_are_written_again_only_when_what_sync_status_shows_changed(host, clock):
    """A unit that ends within half a second is written once (waiting again), not running and then waiting; one
    that runs longer is shown running; a due time moved by a second or less is not written again, more is."""
    from types import SimpleNamespace

    from linkolis_host.scheduler import IMPORT, PUSH, Done

    scheduler = Scheduler(host, workers=2, notifications=False)
    shop = SimpleNamespace(id=1, name="Shop 1", workspace_id=1)
    scheduler.apps[1] = shop
    written: list[tuple] = []
    host.db.conn.set_trace_callback(lambda sql: written.append(sql) if "scheduler_state" in sql else None)

    def flush():
        scheduler._flushed_at = float("-inf")  # half a real second has passed
        before = len(written)
        scheduler._flush()
        return len(written) - before

    def shown(stream):
        return host.db.execute(
            "SELECT state, due_at FROM scheduler_state WHERE app_id = 1 AND stream = ?", (stream,)
        ).fetchone()

    now = clock.monotonic()
    for stream in (PUSH, IMPORT):
        scheduler.due[(1, stream)] = now
        scheduler._write(shop, stream, "waiting", now)
    assert flush() > 0 and shown(IMPORT)[0] == "waiting"

    scheduler._dispatch()
    assert scheduler.running == {(1, PUSH), (1, IMPORT)}
    clock.advance(0.2)
    assert flush() == 0, "a unit running for 0.2 s is not news yet"
    scheduler._finish(Done((1, PUSH), "done", clock.monotonic() + 60))
    clock.advance(0.4)
    flush()
    assert shown(PUSH)[0] == "waiting" and shown(IMPORT)[0] == "running", "the one still running is shown so"
    push_due = shown(PUSH)[1]

    scheduler._write(shop, PUSH, "waiting", clock.monotonic() + 59.5)  # a wake: half a second sooner
    assert flush() == 0 and shown(PUSH)[1] == push_due
    scheduler._write(shop, PUSH, "waiting", clock.monotonic() + 30)  # a stock change: half a minute sooner
    assert flush() > 0 and shown(PUSH)[1] == pytest.approx(push_due - 30, abs=1)
