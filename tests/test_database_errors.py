"""Whatever happened to the database file — damaged, replaced by a directory, locked by another process, not
writable here — the operator gets a clear message and a non-zero exit, never a traceback; commands that only read
still work where they can."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from linkolis_host import store
from linkolis_host.cli import cli

pytestmark = pytest.mark.sqlite_only("the SQLite file's own errors: damaged, locked, read-only, a directory")

DB = store.DB_FILE


def linkolis(*args, input=None):
    """The command as the operator runs it: the host built from LINKOLIS_HOME."""
    return CliRunner().invoke(cli, list(args), input=input)


def assert_refused(result, message):
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), f"not a deliberate exit: {result.exception!r}"
    assert message in result.stderr
    assert "Traceback" not in result.output


@pytest.fixture
def stocked(home):
    """A data directory whose database has a few stock levels, closed cleanly (no -wal left)."""
    assert linkolis("stock", "set", "SKU-1", "5").exit_code == 0
    assert linkolis("stock", "set", "SKU-2", "7").exit_code == 0
    return home / DB


def test_a_file_that_is_not_a_database_is_named_with_what_to_do(home):
    home.mkdir()
    (home / DB).write_text("sku,quantity\nSKU-1,5\n" * 100)
    assert_refused(linkolis("apps", "list"), f"{home / DB} is damaged or is not a linkolis database")
    assert "move it aside to start with an empty one" in linkolis("apps", "list").stderr


def test_a_truncated_database_is_damaged_not_a_traceback(stocked):
    with sqlite3.connect(stocked) as conn:  # enough rows to spread the tables over many pages
        conn.executemany(
            "INSERT INTO desired_stock (workspace_id, sku, quantity, version) VALUES (1, ?, 1, 3)",
            [(f"SKU-{n:05}-{'x' * 200}",) for n in range(3, 2000)],
        )
    conn.close()
    data = stocked.read_bytes()
    stocked.write_bytes(data[: len(data) // 3])

    for command in (["apps", "list"], ["stock", "list"], ["stock", "set", "SKU-1", "6"]):
        assert_refused(linkolis(*command), "is damaged or is not a linkolis database")


def test_a_database_that_is_a_directory_is_named(home):
    (home / DB).mkdir(parents=True)
    assert_refused(linkolis("orders", "list"), f"{home / DB} is a directory, not the database file")


def test_a_data_directory_that_is_a_file_is_named(home):
    home.write_text("oops")
    assert_refused(linkolis("apps", "list"), f"the data directory {home} is a file, not a directory")


HOLDER = textwrap.dedent("""
    import sqlite3, sys
    from pathlib import Path
    from linkolis_host.locks import app_lock
    home = Path(sys.argv[1])
    with app_lock(home, 1, "Shop EU", "import"):
        conn = sqlite3.connect(home / "linkolis.db", isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        print("holding", flush=True)
        sys.stdin.read()
""")


@pytest.fixture
def short_waits(monkeypatch):
    """Wait a fraction of a second, not half a minute, for the lock: how long is no part of what is shown."""
    monkeypatch.setattr(store, "NOTICE_AFTER", 0.05)
    monkeypatch.setattr(store, "LOCK_WAIT", 0.2)


def test_a_write_while_another_linkolis_process_writes_waits_says_so_then_names_it(stocked, short_waits):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(stocked.parent)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "holding\n"
        who = f"another linkolis process (pid {holder.pid}, import of 'Shop EU')"

        result = linkolis("stock", "set", "SKU-1", "9")
        assert_refused(result, f"{stocked} stayed locked by {who} for 0.2 s; nothing was changed: try again")
        assert f"{stocked} is busy: {who} is writing to it; waiting up to 0.15 s more for it to finish" in result.stderr

        reading = linkolis("stock", "list", "--json")  # readers are not blocked by a writer
        assert reading.exit_code == 0, reading.output
        assert [r["on_hand"] for r in json.loads(reading.stdout)] == [5, 7]
    finally:
        holder.communicate("")
    assert linkolis("stock", "set", "SKU-1", "9").exit_code == 0


def test_a_write_while_another_program_holds_the_database_says_it_does_not_know_who(stocked, short_waits):
    other = sqlite3.connect(stocked, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        result = linkolis("stock", "set", "SKU-3", "1")
        assert_refused(result, "stayed locked by another linkolis process (or another program with the database open)")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert [r[0] for r in sqlite3.connect(stocked).execute("SELECT sku FROM desired_stock")] == ["SKU-1", "SKU-2"]


@pytest.fixture
def not_writable(monkeypatch):
    """The operating system says this user may not write the database (another user's, or chmod a-w).

    We run as root, which may write anything whatever the mode bits say, so the OS's answer is injected; what follows
    from it is real: the database is opened with SQLite's ``mode=ro``, which refuses every write, root or not.
    """
    real = store._may

    def may(path, how):
        return False if how == os.W_OK and path.name == DB else real(path, how)

    monkeypatch.setattr(store, "_may", may)


def test_a_database_that_is_not_writable_still_serves_reading_commands(stocked, not_writable):
    result = linkolis("stock", "list", "--json")
    assert result.exit_code == 0, result.output
    assert [r["sku"] for r in json.loads(result.stdout)] == ["SKU-1", "SKU-2"]
    assert f"{stocked} is open read-only: you may not write to it" in result.stderr

    for command in (["apps", "list"], ["orders", "list"]):
        assert linkolis(*command, "--json").exit_code == 0


def test_a_command_that_must_write_to_a_database_that_is_not_writable_says_so(stocked, not_writable):
    for command in (["stock", "set", "SKU-1", "9"], ["apps", "install", "testmarket"]):
        result = linkolis(*command)
        assert result.exit_code != 0
        assert "Traceback" not in result.output
    assert_refused(
        linkolis("stock", "set", "SKU-1", "9"),
        f"this command needs to write to {stocked}, which is open read-only: you may not write to it",
    )
    assert [r[0] for r in sqlite3.connect(stocked).execute("SELECT quantity FROM desired_stock")] == [5, 7]


def test_a_write_that_slips_past_the_read_only_check_is_refused_by_sqlite_and_explained(stocked, not_writable):
    db = store.connect(stocked)
    with pytest.raises(sqlite3.OperationalError) as error:
        db.execute("DELETE FROM desired_stock")
    assert str(store.explain(error.value, stocked)).startswith(
        f"this command needs to write to {stocked}, which cannot be written here"
    )


def test_a_database_that_is_not_writable_and_needs_upgrading_is_refused(stocked, not_writable):
    with sqlite3.connect(stocked) as conn:  # as if written by an older linkolis, before its last migration
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm003_stock'")
    conn.close()
    assert_refused(
        linkolis("apps", "list"),
        f"{stocked} must be upgraded for this version of linkolis, but you may not write to it",
    )


def test_a_database_this_user_may_not_read_is_named(stocked, monkeypatch):
    real = store._may
    monkeypatch.setattr(store, "_may", lambda path, how: False if path.name == DB else real(path, how))
    assert_refused(linkolis("apps", "list"), f"cannot read {stocked}: it belongs to another user")


@pytest.mark.parametrize("holder", ["a write transaction", "a token reservation"])
def test_a_write_waiting_for_a_thread_of_its_own_process_names_that_thread_not_another_process(host, holder):
    """``sync --watch``'s workers write on connections of their own and reserve tokens on the rate limiter's: a wait
    that ends while one of them holds the lock says which thread held it."""
    import threading

    holding, done = threading.Event(), threading.Event()

    def hold():
        transaction = host.db.atomic() if holder == "a write transaction" else host.limiter._transaction()
        with transaction:
            holding.set()
            done.wait(10)

    thread = threading.Thread(target=hold, name="linkolis-worker-7")
    thread.start()
    twin = host.fork()
    try:
        assert holding.wait(10)
        twin.db.execute("PRAGMA busy_timeout=100")
        with pytest.raises(sqlite3.OperationalError) as refused:
            with twin.db.atomic():
                pass
        said = store.cannot_write(refused.value, host.db_path)
    finally:
        done.set()
        thread.join(10)
        twin.close()
    own = f"this linkolis process's own thread linkolis-worker-7 (pid {os.getpid()})"
    assert said == f"{host.db_path} stays locked by {own}"
    with host.db.atomic():  # and once it ends, the write goes through
        pass


def test_a_write_lock_held_elsewhere_is_tried_again_until_it_is_free_then_taken(stocked):
    """``begin_immediate`` tries again between short pauses (not SQLite's busy handler) and takes the lock the first
    try after the other program lets go; given up, it raises SQLite's own ``SQLITE_BUSY``. Either way the
    connection's busy timeout is as it was."""
    other = sqlite3.connect(stocked, isolation_level=None)
    mine = sqlite3.connect(stocked, isolation_level=None)
    mine.execute("PRAGMA busy_timeout=1234")
    tries = []

    def waiting(waited_ms, ours):
        tries.append((waited_ms, ours))
        if len(tries) == 3:
            other.execute("ROLLBACK")  # the other program's transaction ends

    try:
        other.execute("BEGIN IMMEDIATE")
        store.begin_immediate(mine, 60_000, waiting)
        assert mine.in_transaction and len(tries) == 3
        assert [ours for _, ours in tries] == [False, False, False]  # no thread of this process held it
        mine.execute("ROLLBACK")

        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError) as refused:
            store.begin_immediate(mine, 20)
        assert refused.value.sqlite_errorname == "SQLITE_BUSY" and not mine.in_transaction
        assert mine.execute("PRAGMA busy_timeout").fetchone()[0] == 1234
    finally:
        other.close()
        mine.close()
