"""`linkolis backup` and `linkolis restore` (issue 26, item 5): the operator backs up while the sync runs, restores
into a fresh data directory, and the sync carries on with nothing lost or repeated; a restore refuses what would
do harm (a running linkolis, a newer version's backup, a data directory in use) and names the credentials key."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import tarfile
import threading

import pytest
import testmarket
from click.testing import CliRunner
from cryptography.fernet import Fernet
from helpers import dump_database, install_app, token_of

from linkolis_host import backup, config, orders, store
from linkolis_host.cli import cli
from linkolis_host.host import Host
from linkolis_host.migrations import migrations
from linkolis_host.testing import Run

pytestmark = pytest.mark.sqlite_only("backs up and restores the SQLite data directory (PostgreSQL: pg_dump)")

LAST = [m.name for m in migrations._migrations][-1]


def linkolis(home, *args, code=0, env=None):
    """The command as an operator types it on a data directory of its own (no test host: restore needs none)."""
    result = CliRunner().invoke(cli, list(args), env={"LINKOLIS_HOME": str(home), **(env or {})})
    assert result.exit_code == code, f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def members(path):
    with tarfile.open(path) as tar:
        return {m.name: m.mode for m in tar.getmembers()}


def test_the_file_names_the_module_keeps_are_the_hosts():
    assert (backup.DB_FILE, backup.CONFIG_FILE) == (store.DB_FILE, config.CONFIG_FILE)


def test_a_backup_made_while_a_sync_imports_is_whole_and_says_what_it_holds(run, host, app, market, tmp_path):
    """A thread imports order after order on its own connection while the backup copies: the copy is one moment of
    the database (every order with its lines), and the manifest says which version and schema made it."""
    writer, stop, imported = host.fork(), threading.Event(), []

    def sync_runs():
        n = 0
        while not stop.is_set() or n < 5:
            n += 1
            market.add_order(f"O-{n}", updated=n, lines=2)
            imported.append(orders.import_orders(writer, app)["new"])

    thread = threading.Thread(target=sync_runs)
    thread.start()
    try:
        while len(imported) < 3:
            threading.Event().wait(0.01)
        result = run("backup", str(tmp_path / "shop.linkolis-backup"))
    finally:
        stop.set()
        thread.join()
        writer.close()

    path = tmp_path / "shop.linkolis-backup"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert set(members(path)) == {"manifest.json", "linkolis.db"}, "no key unless asked for"
    assert "key not inside" in result.stdout
    assert f"keep {host.home / 'secret.key'} safe and apart from it" in result.stderr
    with tarfile.open(path) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        tar.extract("linkolis.db", tmp_path / "out", filter="data")
    assert manifest["linkolis"] == "0.1.0" and manifest["format"] == 1
    assert manifest["database"]["last"] == LAST and len(manifest["database"]["migrations"]) == len(
        migrations._migrations
    )
    assert manifest["created_at"].endswith("+00:00")
    assert manifest["key"] == {"inside": False, "where": str(host.home / "secret.key"), "rotating": False}
    copy = sqlite3.connect(tmp_path / "out" / "linkolis.db")
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    counted = copy.execute(
        "SELECT o.marketplace_order_id, o.line_count, (SELECT COUNT(*) FROM order_lines l WHERE l.order_id = o.id) "
        "FROM orders o"
    ).fetchall()
    copy.close()
    assert 3 <= len(counted) <= sum(imported), "the orders imported when it began, and perhaps a few more"
    assert all(lines == 2 == line_count for _, line_count, lines in counted), "no order without its lines"


def test_restored_into_a_fresh_data_directory_the_sync_carries_on_with_nothing_lost_or_repeated(
    run, host, app, market, clock, tmp_path
):
    run("stock", "set", "SKU-0", "10")
    for n in (1, 2, 3):
        market.add_order(f"O-{n}", updated=n)
    run("sync")
    run("backup", "--with-key", str(tmp_path / "shop.linkolis-backup"))
    for n in (4, 5):  # after the backup: imported, reserved and pushed, then the data directory is lost
        market.add_order(f"O-{n}", updated=n)
    run("sync")
    before = sorted(o["marketplace_order_id"] for o in run.json("orders", "list"))
    assert market.listings == {"SKU-0": 5}

    fresh = tmp_path / "fresh"
    restored = linkolis(fresh, "restore", str(tmp_path / "shop.linkolis-backup"))
    assert "restored" in restored.stdout and "the credentials of all 1 apps open" in restored.stderr
    market.pushes.clear()
    with Host(fresh, clock=clock, extra_plugins=[testmarket]) as again:
        carry_on = Run(again)
        [result] = carry_on.json("sync")
        assert result["import"]["new"] == 2, "the orders after the backup, imported once more"
        after = [o["marketplace_order_id"] for o in carry_on.json("orders", "list")]
        assert sorted(after) == before, "none lost, none twice"
        assert carry_on.json("sync")[0]["import"]["new"] == 0
    assert market.listings == {"SKU-0": 5} and set(market.pushes) <= {("SKU-0", 5)}, "never a stale quantity"


def test_a_restore_is_refused_while_linkolis_runs_on_the_data_directory(home, tmp_path):
    linkolis(home, "workspaces", "list")
    linkolis(home, "backup", str(tmp_path / "b.linkolis-backup"))
    code = (
        "import sys, time; from linkolis_host import store; db = store.connect(sys.argv[1]); "
        "db.execute('SELECT 1 FROM apps').fetchall(); print('ready', flush=True); time.sleep(60)"
    )
    running = subprocess.Popen(
        [sys.executable, "-c", code, str(home / "linkolis.db")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert running.stdout.readline().strip() == "ready"
        before = dump_database(home / "linkolis.db")
        refused = linkolis(home, "restore", "--replace", str(tmp_path / "b.linkolis-backup"), code=1)
        assert f"linkolis is running on {home} (a process has {home / 'linkolis.db'} open)" in refused.stderr
        assert "stop it first" in refused.stderr and "Nothing was changed" in refused.stderr
        assert dump_database(home / "linkolis.db") == before and not (home / "backups").exists()
    finally:
        running.kill()
        running.wait()
    linkolis(home, "restore", "--replace", str(tmp_path / "b.linkolis-backup"))


def test_a_restore_over_a_data_directory_in_use_needs_replace_and_keeps_the_old_database_aside(home, tmp_path):
    linkolis(home, "workspaces", "add", "Before")
    linkolis(home, "backup", str(tmp_path / "b.linkolis-backup"))
    linkolis(home, "workspaces", "add", "After")
    refused = linkolis(home, "restore", str(tmp_path / "b.linkolis-backup"), code=1)
    assert "already holds linkolis.db; nothing was changed" in refused.stderr and "--replace" in refused.stderr
    done = json.loads(linkolis(home, "restore", "--replace", "--json", str(tmp_path / "b.linkolis-backup")).stdout)
    assert [w["name"] for w in json.loads(linkolis(home, "workspaces", "list", "--json").stdout)] == ["Before"]
    aside = sqlite3.connect(f"{done['moved_aside']}/linkolis.db")
    assert {r[0] for r in aside.execute("SELECT name FROM workspaces")} == {"Before", "After"}, "nothing deleted"
    aside.close()


def test_a_backup_from_a_newer_version_is_refused_and_nothing_is_written(home, tmp_path):
    linkolis(home, "workspaces", "list")
    conn = sqlite3.connect(home / "linkolis.db")
    conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('linkolis_host', 'm999_future', '')"
    )
    conn.commit()
    conn.close()
    linkolis(home, "backup", str(tmp_path / "newer.linkolis-backup"))  # a newer version's data can still be saved
    fresh = tmp_path / "fresh"
    refused = linkolis(fresh, "restore", str(tmp_path / "newer.linkolis-backup"), code=1)
    assert "was written by a newer version of linkolis" in refused.stderr and "m999_future" in refused.stderr
    assert "Install the version that wrote it" in refused.stderr
    assert not (fresh / "linkolis.db").exists()


def test_a_file_that_is_no_backup_is_refused(home, tmp_path):
    (tmp_path / "junk").write_bytes(b"not a tar at all")
    refused = linkolis(home, "restore", str(tmp_path / "junk"), code=1)
    assert "is not a linkolis backup" in refused.stderr and "Traceback" not in refused.output


def test_without_its_key_a_restore_names_the_apps_to_authorize_again_and_the_key(run, host, app, tmp_path):
    install_app(run, "Shop US", "US")  # never authorized: no credentials, nothing to say of it
    run("backup", str(tmp_path / "b.linkolis-backup"))

    bare = linkolis(tmp_path / "bare", "restore", str(tmp_path / "b.linkolis-backup"))
    assert f"1 of 1 apps need authorizing again, as there is no key at {tmp_path / 'bare' / 'secret.key'}" in (
        bare.stderr
    )
    assert "linkolis apps authorize 'Shop EU'" in bare.stderr and "Shop US" not in bare.stderr
    assert not (tmp_path / "bare" / "secret.key").exists(), "no key is made up: the operator may still bring it"

    other = {"LINKOLIS_SECRET_KEY": Fernet.generate_key().decode()}
    result = linkolis(tmp_path / "other", "restore", "--json", str(tmp_path / "b.linkolis-backup"), env=other)
    assert "the key LINKOLIS_SECRET_KEY does not open them" in result.stderr
    done = json.loads(result.stdout)
    assert (done["unopenable"], done["credentials"], done["key"]) == (["Shop EU"], 1, "LINKOLIS_SECRET_KEY")
    assert other["LINKOLIS_SECRET_KEY"] not in result.output


def test_on_postgresql_backup_and_restore_point_at_the_servers_tools_and_never_show_the_url(tmp_path):
    env = {"LINKOLIS_DATABASE_URL": "postgresql://linkolis:hunter2@db.example.com/linkolis"}
    for args in (["backup", "x"], ["restore", "x"]):
        refused = linkolis(tmp_path / "home", *args, code=1, env=env)
        assert "pg_dump" in refused.stderr and "docs/deployment.md" in refused.stderr
        assert "hunter2" not in refused.output


def test_db_status_shows_the_migration_level_without_migrating(home, tmp_path):
    assert "there is no database" in linkolis(home, "db", "status", code=1).stderr
    linkolis(home, "workspaces", "list")
    status = json.loads(linkolis(home, "db", "status", "--json").stdout)
    assert status == {
        "linkolis": "0.1.0",
        "store": "sqlite",
        "database": str(home / "linkolis.db"),
        "applied": len(migrations._migrations),
        "last": LAST,
        "pending": [],
        "newer": [],
        "up_to_date": True,
    }
    assert f"applied:   {len(migrations._migrations)} migrations (last {LAST})" in linkolis(home, "db", "status").stdout


def test_a_backup_with_its_key_made_during_a_key_rotation_holds_the_next_key_too(run, host, app, home, tmp_path):
    from linkolis_host import keys

    keys.write_new_key(home / "secret.key.next")  # a rotation under way: what is sealed now is under the next key
    install_app(run, "Shop US", "US")
    run("apps", "authorize", "Shop US", "--credential", f"token={token_of('US1')}", "--credential", "account=US1")
    made = run("backup", "--with-key", str(tmp_path / "b.linkolis-backup"))
    assert "key rotation is under way" not in made.stderr, "the next key is inside: nothing more to keep"
    assert {"secret.key", "secret.key.next"} <= set(members(tmp_path / "b.linkolis-backup"))

    done = json.loads(linkolis(tmp_path / "fresh", "restore", "--json", str(tmp_path / "b.linkolis-backup")).stdout)
    assert done["unopenable"] == [], "both apps open: the one sealed before the rotation and the one during it"
    without = run("backup", str(tmp_path / "no-key.linkolis-backup")).stderr
    assert "key rotation is under way" in without and "secret.key.next" in without, "the operator keeps both keys"
