"""Upgrades (issue 26, item 6): a newer linkolis started on an older database backs it up first, migrates, and says
so, once; `linkolis db status` shows the level; a database a newer version wrote is refused before anything is
written, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
import tarfile
import threading

import pytest
import testmarket
from click.testing import CliRunner
from filelock import FileLock
from helpers import dump_database

from linkolis_host import backup, postgres, store
from linkolis_host.cli import cli
from linkolis_host.errors import UserError
from linkolis_host.host import Host
from linkolis_host.migrations import migrations
from linkolis_host.testing import Run

NAMES = [m.name for m in migrations._migrations]


def _database_of_an_older_version(home):
    """A data directory as the version before the last migration left it, with an app in it."""
    home.mkdir(mode=0o700, parents=True)
    conn = sqlite3.connect(str(home / store.DB_FILE))
    old = store.HostDatabase(conn)
    migrations.apply(old, stop_before=NAMES[-1])
    old.execute("INSERT INTO workspaces (name, name_key) VALUES ('Shop', 'shop')")
    conn.commit()
    conn.close()


def _status(home):
    result = CliRunner().invoke(cli, ["db", "status", "--json"], env={"LINKOLIS_HOME": str(home)})
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.sqlite_only("a SQLite database from an older version, upgraded")
def test_a_newer_version_on_an_older_database_backs_it_up_migrates_and_says_so_once(home, clock):
    _database_of_an_older_version(home)
    assert _status(home)["pending"] == [NAMES[-1]] and not _status(home)["up_to_date"]
    said: list[str] = []
    with Host(home, clock=clock, extra_plugins=[testmarket], say=said.append) as host:
        assert [w["name"] for w in Run(host).json("workspaces", "list")] == ["Shop"], "the data came along"
    [made] = (home / "backups").glob(f"before-{NAMES[-1]}-*.linkolis-backup")
    [message] = said
    assert message.startswith(f"upgraded {home / store.DB_FILE} for linkolis 0.1.0: 1 migration applied")
    assert f"({NAMES[-2]} -> {NAMES[-1]})" in message and str(made) in message
    with tarfile.open(made) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert manifest["database"]["last"] == NAMES[-2], "the database as it was before"
    assert oct(made.stat().st_mode & 0o777) == "0o600"
    assert _status(home)["up_to_date"] and _status(home)["last"] == NAMES[-1]

    with Host(home, clock=clock, say=said.append):
        pass
    assert len(said) == 1 and len(list((home / "backups").iterdir())) == 1, "nothing more to do, nothing said"


@pytest.mark.sqlite_only("a SQLite database from an older version, upgraded")
def test_processes_starting_at_once_on_an_older_database_upgrade_it_once(home):
    _database_of_an_older_version(home)
    said: list[str] = []
    failed: list[BaseException] = []

    def start():
        try:
            store.connect(home / store.DB_FILE, say=said.append).close()
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            failed.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == [] and len(said) == 1
    assert len(list((home / "backups").iterdir())) == 1


@pytest.mark.sqlite_only("a SQLite database a newer version wrote")
def test_a_database_a_newer_version_wrote_is_refused_before_anything_is_written(home, clock):
    Host(home, clock=clock).close()
    conn = sqlite3.connect(home / store.DB_FILE)
    conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('linkolis_host', 'm999_future', '')"
    )
    conn.commit()
    conn.close()
    before = dump_database(home / store.DB_FILE)
    with pytest.raises(UserError, match="written by a newer version of linkolis") as refused:
        store.connect(home / store.DB_FILE)
    assert refused.value.code == "database_newer" and refused.value.values["newer"] == ["m999_future"]
    assert dump_database(home / store.DB_FILE) == before
    assert _status(home)["newer"] == ["m999_future"] and not _status(home)["up_to_date"]

    result = CliRunner().invoke(cli, ["apps", "list"], env={"LINKOLIS_HOME": str(home)})
    assert result.exit_code == 1 and "m999_future" in result.stderr and "Traceback" not in result.output
    assert "Install the version that wrote it" in result.stderr


def test_a_postgresql_database_a_newer_version_wrote_is_refused(postgres_url, monkeypatch):
    db = postgres.PgDatabase(postgres_url)
    db.conn.raw.execute("INSERT INTO linkolis_migrations (name, applied_at) VALUES ('m999_future', now())")
    db.close()
    monkeypatch.setattr(postgres, "_migrated", set())
    with pytest.raises(UserError, match="newer version of linkolis") as refused:
        postgres.connect(postgres_url)
    assert refused.value.code == "database_newer"
    db = postgres.PgDatabase(postgres_url)
    try:
        assert backup.postgres_level(db).newer == ["m999_future"]
    finally:
        db.close()


@pytest.mark.sqlite_only("the upgrade lock of a SQLite data directory")
def test_a_process_that_waits_too_long_for_another_ones_upgrade_is_refused_and_migrates_nothing(home, monkeypatch):
    """Another process holds the upgrade lock all the while (a backup of a large database): this one gives up with a
    clear message rather than migrate beside it."""
    _database_of_an_older_version(home)
    monkeypatch.setattr(backup, "UPGRADE_WAIT", 0.05)
    with FileLock(home / "locks" / "upgrade.lock"):
        with pytest.raises(UserError, match="another linkolis process is upgrading") as refused:
            store.connect(home / store.DB_FILE)
    assert refused.value.code == "database_not_upgraded"
    assert _status(home)["pending"] == [NAMES[-1]] and not (home / "backups").exists()
