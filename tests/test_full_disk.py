"""The disk holding the database fills up while `sync --watch` runs: the watch does not end. It says once that it
waits and tries again, `sync status` shows why, and when space is back it says it carries on, and the orders and
stock changes that waited get through; nothing decided meanwhile is lost.

The disk is SQLite's own: every connection opened on the database is capped at the pages the file has
(``PRAGMA max_page_count``) and the room left inside the file is taken, so a write that needs a new page fails with
SQLITE_FULL as on a full disk (a real one, a 1 MB tmpfs, fails the same way, but mounting one needs privileges).
The scheduler runs on a virtual clock; the disk fills and frees in the scheduler's own flow."""

from __future__ import annotations

import contextlib
import sqlite3
import threading

import pytest
import testmarket
from click.testing import CliRunner
from helpers import authorize_app, install_app

from linkolis_host import scheduler, stock
from linkolis_host.cli import cli
from linkolis_host.host import Host
from linkolis_host.scheduler import Scheduler

pytestmark = pytest.mark.sqlite_only("the disk holding the SQLite file fills up")

UNCAPPED = 1_073_741_823


class Disk:
    """Fills and frees the disk under the database; ``opened`` is every connection made meanwhile."""

    def __init__(self) -> None:
        self.opened: list[sqlite3.Connection] = []
        self.cap: int | None = None

    def connected(self, conn: sqlite3.Connection) -> None:
        self.opened.append(conn)
        if self.cap is not None:
            conn.execute(f"PRAGMA max_page_count = {self.cap}")

    def cap_all(self, pages: int) -> None:
        for conn in self.opened:
            with contextlib.suppress(sqlite3.ProgrammingError):  # closed since
                conn.execute(f"PRAGMA max_page_count = {pages}")

    def fill(self, path) -> None:
        other = sqlite3.connect(path)  # another program's files, taking what room is left
        other.execute("CREATE TABLE IF NOT EXISTS other_files (data BLOB)")
        other.commit()
        self.cap = other.execute("PRAGMA page_count").fetchone()[0]
        self.cap_all(self.cap)
        with pytest.raises(sqlite3.OperationalError, match="full"):
            for size in [4000] * 1000 + [100] * 1000:
                other.execute("INSERT INTO other_files VALUES (randomblob(?))", (size,))
                other.commit()
        other.close()

    def free(self) -> None:
        self.cap = None
        self.cap_all(UNCAPPED)


@pytest.fixture
def disk(monkeypatch):
    """The disk under the data directory; ask for it before the host, so the host's connections are on it."""
    made = Disk()
    real = sqlite3.connect

    def connect(*args, **kwargs):
        conn = real(*args, **kwargs)
        made.connected(conn)
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)
    return made


def serve(sync):
    """Run the scheduler in a thread; return what it raised, if anything."""
    raised = []

    def run():
        try:
            sync.run(threading.Event())
        except BaseException as exc:  # the test's to look at
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive()
    return raised


class Watched(Scheduler):
    """The scheduler, with what it says kept, an observer (another host, as `sync status` is) and the disk."""

    def __init__(self, host, observer, disk, **options):
        super().__init__(host, **options)
        self.observer, self.disk = observer, disk
        self.said: list[str] = []
        self.report = self.said.append
        self.started = self.clock.monotonic()


class FillsUp(Watched):
    """The scheduler; ten seconds in, the seller sets 300 stock levels and the disk fills up, then 100 orders come
    in. Once `sync status` shows the push and the import waiting for the disk, space is made; it stops once
    everything went through, or an hour on."""

    def __init__(self, host, observer, disk, **options):
        super().__init__(host, observer, disk, **options)
        self.filled_at = self.freed_at = None
        self.shown = None  # `sync status` while the disk was full: (json, human)

    def _refresh(self):
        now = self.clock.monotonic()
        if self.filled_at is None and now >= self.started + 10 and not self.running:
            for n in range(300):
                stock.set_stock(self.observer, f"SKU-{n:03d}", 5)
            self.disk.fill(self.host.db_path)
            for n in range(1, 101):
                testmarket.MARKET.add_order(f"F-{n}", updated=n, lines=3)
            self.filled_at = now
        elif self.filled_at is not None and self.freed_at is None and not self.running:
            shown = scheduler.status(self.observer)
            # Both units shown waiting for the disk (not the import alone, before the push's row was written).
            if {(unit["stream"], unit["state"]) for unit in shown["units"]} == {
                ("push", "stalled"),
                ("import", "stalled"),
            }:
                self.shown = shown, status_text(self.observer)
                self.disk.free()
                self.freed_at = now
        if now > self.started + 3600 or (self.freed_at is not None and self.all_through()):
            self.stop.set()
        super()._refresh()

    def all_through(self):
        orders = self.observer.db.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
        accepted = self.observer.db.execute(
            "SELECT COUNT(*) FROM stock_pushes WHERE outcome = 'accepted' AND pushed_quantity = 5"
        ).fetchone()[0]
        return orders == 100 and accepted == 300


def status_text(host):
    """What `linkolis sync status` prints."""
    return CliRunner().invoke(cli, ["sync", "status"], obj=host, catch_exceptions=False).stdout


def test_a_full_disk_makes_the_watch_wait_and_say_so_and_it_carries_on_when_space_is_back(
    disk, host, market, clock, app
):
    market.page_size = 100  # the hundred orders come in one batch: one transaction, pages of new rows
    observer = Host(host.home, clock=clock, extra_plugins=[testmarket])
    sync = FillsUp(host, observer, disk, workers=2, interval=60, poll=1.0)
    try:
        raised = serve(sync)
        events = list(sync.events)
        through = sync.all_through()
    finally:
        observer.close()

    assert raised == [], "the watch ended"
    assert sync.shown is not None, "`sync status` never showed why the sync waits"
    shown, text = sync.shown
    full = f"the disk holding {host.db_path} is full: the sync waits and tries again every 10 s"
    assert shown["database"] == full
    units = {u["stream"]: u for u in shown["units"]}
    assert {units["push"]["state"], units["import"]["state"]} == {"stalled"}
    assert units["push"]["last_error"] == units["import"]["last_error"] == full
    assert f"Database: {full}." in text
    about_the_disk = [message for message in sync.said if str(host.db_path) in message]
    assert about_the_disk == [full, f"{host.db_path} can be written again: the sync carries on"]  # each said once
    assert "Shop EU: 300 sent, 300 accepted, 0 rejected, 0 pending" in sync.said
    assert "Shop EU: 100 new, 0 updated orders" in sync.said
    # Tried again every ten seconds, not every round: within seconds of the space being back, all went through.
    stalled = [at for at, _, stream, what in events if what == "stalled"]
    done_after = [at for at, _, _, what in events if what == "done" and at > max(stalled)]
    assert len(stalled) > 2 and done_after and done_after[0] - max(stalled) <= 11
    assert through
    assert market.listings == {f"SKU-{n:03d}": 5 for n in range(300)}


class FullFromTheStart(Watched):
    """The scheduler of forty shops, started on a full disk; once it has said so, space is made; it stops once the
    state of every unit is written, or an hour on."""

    def __init__(self, host, observer, disk, **options):
        super().__init__(host, observer, disk, **options)
        self.rows_while_full = None

    def _refresh(self):
        now = self.clock.monotonic()
        rows = self.observer.db.execute("SELECT COUNT(*) FROM scheduler_state").fetchone()[0]
        if self.rows_while_full is None and self.said and not self.running:
            self.rows_while_full = rows
            self.disk.free()
        if now > self.started + 3600 or (self.rows_while_full is not None and rows == 80):
            self.stop.set()
        super()._refresh()


def test_a_watch_started_on_a_full_disk_keeps_the_state_it_could_not_write_until_it_can(disk, run, host, market, clock):
    for n in range(40):
        install_app(run, f"Garden & Outdoor Shop {n:02d}", "EU")
        authorize_app(run, f"Garden & Outdoor Shop {n:02d}", account=f"ACCOUNT-{n}")
    disk.fill(host.db_path)
    observer = Host(host.home, clock=clock, extra_plugins=[testmarket])
    sync = FullFromTheStart(host, observer, disk, workers=4, interval=3600, poll=1.0)
    try:
        raised = serve(sync)
    finally:
        observer.close()

    assert raised == [], "the watch ended"
    assert sync.rows_while_full == 0, "the disk was not full for the state rows"
    assert sync.said[0] == f"the disk holding {host.db_path} is full: the sync waits and tries again every 10 s"
    assert sync.said[-1] == f"{host.db_path} can be written again: the sync carries on"
    units = run.json("sync", "status")["units"]
    assert len(units) == 80 and {u["state"] for u in units} == {"stopped"}
    assert run.json("sync", "status")["database"] is None
