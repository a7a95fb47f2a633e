"""The store on PostgreSQL: one schema with SQLite's, SQLite's SQL translated, and what many processes share there
(the write transaction, the app locks, the quotas). The seller's stories themselves run on PostgreSQL through
``LINKOLIS_TEST_STORES=sqlite,postgresql``; these are what only PostgreSQL has."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time

import pytest

from linkolis_host import locks, postgres, store
from linkolis_host.clock import SystemClock, VirtualClock
from linkolis_host.errors import Busy
from linkolis_host.migrations import migrations
from linkolis_host.models import RateLimit
from linkolis_host.ratelimit import RateLimiter


def test_every_sqlite_migration_has_its_postgresql_form():
    ours = [*postgres.baseline_names(), *postgres.postgres_migrations]
    theirs = [m.name for m in migrations._migrations]
    assert ours == theirs, "add the new migration's PostgreSQL statements to postgres.postgres_migrations"


@pytest.mark.parametrize(
    ("sqlite", "postgresql"),
    [
        ("SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = %s AND c = %s"),
        ("SELECT :cap IS NULL", "SELECT %(cap)s IS NULL"),
        ("UPDATE t SET a = ?1, b = ?2 WHERE a <> ?1", "UPDATE t SET a = %(_1)s, b = %(_2)s WHERE a <> %(_1)s"),
        ("SELECT x FROM t WHERE s IS ?", "SELECT x FROM t WHERE s IS NOT DISTINCT FROM %s"),
        ("SELECT x FROM t WHERE s IS NOT ?", "SELECT x FROM t WHERE s IS DISTINCT FROM  %s"),
        ("SELECT x IS NULL, y IS NOT NULL", "SELECT x IS NULL, y IS NOT NULL"),
        ("UPDATE t SET q = MAX(0, q - ?)", "UPDATE t SET q = GREATEST(0, q - %s)"),
        ("SELECT MIN(a, MAX(b, c)), MAX(d), min(e)", "SELECT LEAST(a, GREATEST(b, c)), MAX(d), min(e)"),
        ("SELECT 'a?b:c%' || ? -- who? 50%", "SELECT 'a?b:c%%' || %s "),
        ("SELECT x::text", "SELECT x::text"),
        (
            "SELECT 1 WHERE a IN () OR b NOT IN ( )",
            "SELECT 1 WHERE a = ANY('{}') OR b <> ALL('{}')",
        ),
    ],
)
def test_sqlite_sql_is_translated(sqlite, postgresql):
    assert postgres.translate(sqlite) == postgresql


def _sqlite_schema() -> dict[str, dict]:
    db = store.connect(":memory:")
    schema = {}
    for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' "
        "AND name NOT LIKE 'sqlite%'"
    ):
        columns = {
            row[1]: (row[2].upper() or "TEXT", bool(row[3])) for row in db.execute(f'PRAGMA table_info("{name}")')
        }
        schema[name] = columns
    return schema


TYPES = {"INTEGER": "bigint", "REAL": "double precision", "FLOAT": "double precision", "TEXT": "text"}


def test_the_postgresql_schema_is_sqlites(postgres_url):
    db = store.connect(postgres_url)
    found: dict[str, dict] = {}
    for table, column, kind, nullable in db.execute(
        "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name <> 'linkolis_migrations'"
    ):
        if column != "rowid":  # SQLite's own, a real column on PostgreSQL
            found.setdefault(table, {})[column] = (kind, nullable == "NO")
    expected = {
        table: {c: (TYPES[kind], notnull) for c, (kind, notnull) in columns.items()}
        for table, columns in _sqlite_schema().items()
    }
    # SQLite lets an INTEGER PRIMARY KEY be NULL in its schema; PostgreSQL's keys are NOT NULL.
    for table, columns in found.items():
        for column, (kind, notnull) in columns.items():
            if notnull and not expected[table][column][1]:
                expected[table][column] = (kind, True)
    assert found == expected
    indexes = {r[0] for r in db.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")}
    sqlite_indexes = {
        r[0]
        for r in store.connect(":memory:").execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name NOT LIKE '\\_%' ESCAPE '\\'"
        )
    }
    assert sqlite_indexes <= indexes


def test_a_second_connect_migrates_nothing_and_says_nothing_is_pending(postgres_url):
    db = store.connect(postgres_url)
    assert postgres.pending(db) == []
    assert postgres.migrate(db) == []


def test_writes_are_one_at_a_time_as_on_sqlite(postgres_url):
    """A read-then-write in ``atomic()`` sees no other writer's change in between: the second waits for the first."""
    first, second = store.connect(postgres_url), store.connect(postgres_url)
    first.execute("INSERT INTO rate_clock (id, latest) VALUES (1, 0)")
    order = []
    import threading

    def bump(db, name, hold):
        with db.atomic():
            latest = db.execute("SELECT latest FROM rate_clock WHERE id = 1").fetchone()[0]
            time.sleep(hold)
            db.execute("UPDATE rate_clock SET latest = ? WHERE id = 1", (latest + 1,))
            order.append(name)

    threads = [
        threading.Thread(target=bump, args=(first, "a", 0.3)),
        threading.Thread(target=bump, args=(second, "b", 0)),
    ]
    threads[0].start()
    time.sleep(0.1)
    threads[1].start()
    for t in threads:
        t.join()
    assert order == ["a", "b"]
    assert first.execute("SELECT latest FROM rate_clock WHERE id = 1").fetchone()[0] == 2


def test_a_rolled_back_transaction_leaves_nothing_and_a_savepoint_only_its_own(postgres_url):
    db = store.connect(postgres_url)
    with pytest.raises(RuntimeError):
        with db.atomic():
            db.execute("INSERT INTO rate_clock (id, latest) VALUES (1, 5)")
            raise RuntimeError
    assert db.execute("SELECT COUNT(*) FROM rate_clock").fetchone()[0] == 0
    with db.atomic():
        db.execute("INSERT INTO rate_buckets (key, tokens, updated_at) VALUES ('a', 1, 0)")
        with pytest.raises(RuntimeError):
            with db.atomic():
                db.execute("INSERT INTO rate_buckets (key, tokens, updated_at) VALUES ('b', 1, 0)")
                raise RuntimeError
    assert [r[0] for r in db.execute("SELECT key FROM rate_buckets")] == ["a"]


def _hold_app_lock(url, home, ready, stop):
    with locks.app_lock(home, 7, "Shop EU", "import", url):
        ready.set()
        stop.wait(30)


def test_an_app_lock_is_held_across_processes_and_let_go_when_its_holder_is_killed(postgres_url, tmp_path):
    ctx = multiprocessing.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_app_lock, args=(postgres_url, tmp_path, ready, stop))
    holder.start()
    try:
        assert ready.wait(30)
        assert locks.is_held(tmp_path, 7, "import", postgres_url)
        assert not locks.is_held(tmp_path, 7, "push", postgres_url)
        with pytest.raises(Busy, match=r"another import of .Shop EU. is running \(pid \d+ on "):
            with locks.app_lock(tmp_path, 7, "Shop EU", "import", postgres_url):
                pass
    finally:
        holder.kill()
        holder.join()
    deadline = time.monotonic() + 10  # the server notices the dropped connection at once on a Unix socket
    while locks.is_held(tmp_path, 7, "import", postgres_url) and time.monotonic() < deadline:
        time.sleep(0.05)
    with locks.app_lock(tmp_path, 7, "Shop EU", "import", postgres_url):
        pass


def test_two_threads_of_one_process_never_hold_one_app_lock(postgres_url, tmp_path):
    with locks.app_lock(tmp_path, 3, "Shop", "push", postgres_url):
        with pytest.raises(Busy):
            with locks.app_lock(tmp_path, 3, "Shop", "push", postgres_url):
                pass
    with locks.app_lock(tmp_path, 3, "Shop", "push", postgres_url):
        pass


def _take_tokens(url, home, key, calls, out):
    limiter = RateLimiter(url, SystemClock(), home=home)
    limit = RateLimit(rate=5.0, burst=5)
    moments = []
    for _ in range(calls):
        before = time.time()
        reservation = limiter.take(key, limit)
        moments.append((before + reservation.wait, time.time() + reservation.wait))  # its moment lies between
        time.sleep(reservation.wait)  # as a request waits for its token (a process gone while it waits gives it back)
        limiter.went(reservation)
    out.put(moments)


def test_processes_sharing_a_quota_never_overdraw_it(postgres_url, tmp_path):
    """Four processes take 10 tokens each of one bucket (5 a second, 5 at once): the moments they were given are
    never more than the bucket allows, counted over every window."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    workers = [ctx.Process(target=_take_tokens, args=(postgres_url, tmp_path, "acct:op", 10, out)) for _ in range(4)]
    for w in workers:
        w.start()
    moments = sorted((m for _ in workers for m in out.get(timeout=60)), key=lambda m: m[1])
    for w in workers:
        w.join()
    assert len(moments) == 40
    start = min(early for early, _ in moments)
    for i, (_, late) in enumerate(moments):
        # by the latest the i-th token can have been given, at most burst + rate * elapsed calls may have gone
        assert i + 1 <= 5 + 5.0 * (late - start), (i, late - start)
    assert max(early for early, _ in moments) - start >= (40 - 5) / 5.0 - 0.1


def test_a_clock_set_back_moves_the_quotas_back_once_when_two_processes_see_it(postgres_url, tmp_path):
    """Two processes see the clock set back an hour. The first moves every stored time back; the second read the
    latest reading before that and its own time a few seconds earlier still: under the clock's lock it moves them
    back only those few seconds more, not the hour again (which would refill every bucket at once)."""
    hour = 3600.0
    first = RateLimiter(postgres_url, VirtualClock(start=1_800_000_000), home=tmp_path)
    second = RateLimiter(postgres_url, VirtualClock(start=1_800_000_000), home=tmp_path)
    limit = RateLimit(rate=1.0, burst=5)
    first.take("acct:op", limit)  # the bucket is written at the time before the step back
    stored = first._conn.execute("SELECT updated_at FROM rate_buckets").fetchone()[0]
    first.clock.advance(-hour)
    first.take("acct:other", limit)  # sees the step: everything moves back an hour
    assert (
        first._conn.execute("SELECT updated_at FROM rate_buckets WHERE key = 'acct:op'").fetchone()[0] == stored - hour
    )
    with second._begun("acct:third"):  # read its time and the latest reading before the first moved them
        moved = second._mind_the_clock(first.clock.time() - 5, latest=stored)
        second._conn.execute("COMMIT")
    assert moved
    left = first._conn.execute("SELECT updated_at FROM rate_buckets WHERE key = 'acct:op'").fetchone()[0]
    assert left == pytest.approx(stored - hour - 5)
    first.close()
    second.close()


def test_sqlites_errors_and_postgresqls_are_both_the_stores():
    assert sqlite3.Error in store.ERRORS
    assert any(e.__module__.startswith("psycopg") for e in store.ERRORS)
