"""`linkolis backup` and `linkolis restore` (issue 26, item 5): the operator backs up while the sync runs, restores
into a fresh data directory, and the sync carries on with nothing lost or repeated; a restore refuses what would
do harm (a running linkolis, a newer version's backup, a data directory in use) and names the credentials key."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import threading

import pytest
import testmarket
from click.testing import CliRunner
from cryptography.fernet import Fernet
from filelock import FileLock, Timeout
from helpers import dump_database, install_app, token_of

from linkolis_host import backup, config, keys, orders, store
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
    assert result.exception is None or isinstance(result.exception, SystemExit), "a traceback"
    return result


def members(path):
    with tarfile.open(path) as tar:
        return {m.name: m.mode for m in tar.getmembers()}


def repack(path, *, files=None, manifest=None):
    """Pack the backup at ``path`` again as a tool of one's own would: ``files`` put in (name: bytes), the manifest's
    checksums made to agree with what is inside, then ``manifest`` (a function) let change the manifest."""
    with tarfile.open(path) as tar:
        contents = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    data = json.loads(contents.pop("manifest.json"))
    contents.update(files or {})
    for name, content in contents.items():
        if name in data.get("files", {}):
            data["files"][name] = {"sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}
    if manifest:
        manifest(data)
    with tarfile.open(path, "w:gz") as tar:
        for name, content in {"manifest.json": json.dumps(data).encode(), **contents}.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(content), 0o600
            tar.addfile(info, io.BytesIO(content))


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
    assert manifest["linkolis"] == "0.1.0" and manifest["format"] == 2
    assert manifest["database"]["last"] == LAST and len(manifest["database"]["migrations"]) == len(
        migrations._migrations
    )
    assert manifest["created_at"].endswith("+00:00")
    assert manifest["key"] == {"inside": False, "where": str(host.home / "secret.key"), "rotating": False}
    copied = (tmp_path / "out" / "linkolis.db").read_bytes()
    checked = {"sha256": hashlib.sha256(copied).hexdigest(), "bytes": len(copied)}
    assert manifest["files"] == {"linkolis.db": checked}, "what a restore checks the database against"
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
    for folder in (home / "backups", done["moved_aside"]):
        assert oct(os.stat(folder).st_mode & 0o777) == "0o700", "only its owner reads what was set aside"


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


def test_a_backup_damaged_since_it_was_made_is_refused_and_nothing_is_restored(home, tmp_path):
    """Two damages tarfile and SQLite would let through: a byte of the database changed (the tar and the pages still
    whole: a restore would bring back other data than was backed up), and the gzip checksum at the very end."""
    linkolis(home, "workspaces", "add", "Before")
    linkolis(home, "backup", str(tmp_path / "b.linkolis-backup"))
    made = (tmp_path / "b.linkolis-backup").read_bytes()

    changed = gzip.decompress(made)
    assert b"Before" in changed
    (tmp_path / "changed.linkolis-backup").write_bytes(gzip.compress(changed.replace(b"Before", b"Bafore")))
    refused = linkolis(tmp_path / "fresh", "restore", str(tmp_path / "changed.linkolis-backup"), code=1)
    assert "is damaged: linkolis.db is not what was backed up" in refused.stderr
    assert "nothing was changed" in refused.stderr and not (tmp_path / "fresh" / "linkolis.db").exists()

    crc = bytearray(made)
    crc[-8] ^= 0x01  # the gzip trailer: CRC-32, then the length
    (tmp_path / "crc.linkolis-backup").write_bytes(bytes(crc))
    refused = linkolis(tmp_path / "fresh", "restore", str(tmp_path / "crc.linkolis-backup"), code=1)
    assert "is not a linkolis backup or is damaged" in refused.stderr and "CRC" in refused.stderr
    assert not (tmp_path / "fresh" / "linkolis.db").exists()

    linkolis(tmp_path / "fresh", "restore", str(tmp_path / "b.linkolis-backup"))
    assert "Before" in linkolis(tmp_path / "fresh", "workspaces", "list").stdout, "the backup as made restores"


def test_a_backup_holding_no_linkolis_database_is_refused_before_anything_is_replaced(home, tmp_path):
    """Its checksums agree (a tool of one's own packed it), but its database is one byte: SQLite reads that as an
    empty database, and a restore would put it in place of the real one."""
    linkolis(home, "workspaces", "add", "Shop")
    linkolis(home, "backup", str(tmp_path / "b.linkolis-backup"))
    repack(tmp_path / "b.linkolis-backup", files={"linkolis.db": b"x"})
    before = dump_database(home / "linkolis.db")
    refused = linkolis(home, "restore", "--replace", str(tmp_path / "b.linkolis-backup"), code=1)
    assert "is not the linkolis database its manifest describes" in refused.stderr
    assert "nothing was changed" in refused.stderr
    assert dump_database(home / "linkolis.db") == before and not (home / "backups").exists()


@pytest.mark.parametrize(
    "damage",
    [
        lambda m: m["database"].update(migrations=5),
        lambda m: m.update(database=[]),
        lambda m: m.update(format="2"),
        lambda m: m.update(files={}),
        lambda m: m.pop("created_at"),
    ],
    ids=["migrations-a-number", "database-a-list", "format-a-string", "no-files", "no-date"],
)
def test_a_backup_whose_manifest_is_not_a_manifest_is_refused(home, tmp_path, damage):
    linkolis(home, "workspaces", "list")
    linkolis(home, "backup", str(tmp_path / "b.linkolis-backup"))
    repack(tmp_path / "b.linkolis-backup", manifest=damage)
    refused = linkolis(tmp_path / "fresh", "restore", str(tmp_path / "b.linkolis-backup"), code=1)
    assert "is not a linkolis backup" in refused.stderr
    assert not (tmp_path / "fresh" / "linkolis.db").exists()


def test_a_backup_or_a_restore_where_nothing_can_be_written_says_where_and_why(home, tmp_path):
    linkolis(home, "workspaces", "list")
    (tmp_path / "a-file").write_text("in the way")
    refused = linkolis(home, "backup", str(tmp_path / "a-file" / "b.linkolis-backup"), code=1)
    assert f"cannot write the backup {tmp_path / 'a-file' / 'b.linkolis-backup'}" in refused.stderr
    assert f"{tmp_path / 'a-file'}: " in refused.stderr and "no backup was made" in refused.stderr

    linkolis(home, "backup", str(tmp_path / "b.linkolis-backup"))
    refused = linkolis(tmp_path / "a-file" / "home", "restore", str(tmp_path / "b.linkolis-backup"), code=1)
    assert f"cannot restore into {tmp_path / 'a-file' / 'home'}: {tmp_path / 'a-file' / 'home'}: " in refused.stderr
    assert "nothing was changed" in refused.stderr


@pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="Linux's /proc and /sys: written by nobody, not even root")
def test_a_backup_into_proc_or_sys_and_a_restore_into_proc_say_why_not(home, tmp_path):
    linkolis(home, "workspaces", "list")
    for target, why in (("/proc/x/y.bk", "/proc/x: No such file or directory"), ("/sys/y.bk", "/sys: ")):
        refused = linkolis(home, "backup", target, code=1)
        assert f"cannot write the backup {target}" in refused.stderr and why in refused.stderr
    linkolis(home, "backup", str(tmp_path / "b.linkolis-backup"))
    refused = linkolis("/proc/linkolis", "restore", str(tmp_path / "b.linkolis-backup"), code=1)
    assert "cannot restore into /proc/linkolis: /proc/linkolis: No such file or directory" in refused.stderr


def test_a_backup_with_its_key_made_while_a_key_rotation_runs_from_start_to_end_holds_both_keys(
    run, host, app, clock, tmp_path, monkeypatch
):
    """`keys rotate` starts and finishes while the backup copies the database: the copy's credentials may be sealed
    with the old key or the new one, so both go in; restored, everything opens and a `keys rotate` finishes."""
    copy_database = backup._copy_database

    def copied_while_a_rotation_runs(source, copy):
        keys.rotate(host)
        copy_database(source, copy)

    monkeypatch.setattr(backup, "_copy_database", copied_while_a_rotation_runs)
    old = (host.home / "secret.key").read_bytes()
    backup.make(host.home, tmp_path / "b.linkolis-backup", with_key=True)
    assert (host.home / "secret.key").read_bytes() != old, "the key in use is another now"
    with tarfile.open(tmp_path / "b.linkolis-backup") as tar:
        inside = {name: tar.extractfile(name).read() for name in ("secret.key", "secret.key.next")}
    assert inside == {"secret.key": old, "secret.key.next": (host.home / "secret.key").read_bytes()}

    fresh = tmp_path / "fresh"
    done = json.loads(linkolis(fresh, "restore", "--json", str(tmp_path / "b.linkolis-backup")).stdout)
    assert (done["credentials"], done["unopenable"]) == (1, [])
    with Host(fresh, clock=clock, extra_plugins=[testmarket]) as again:
        rotated = keys.rotate(again)
    assert rotated.resumed and rotated.unopenable == [] and not (fresh / "secret.key.next").exists()


def test_a_restore_killed_as_the_database_goes_into_place_has_put_its_key_there_first(
    run, host, app, tmp_path, monkeypatch
):
    """A linkolis started after such a kill finds the key the restored credentials were sealed with, and makes no
    new one; the restore run again finishes. While it runs it holds the upgrade lock: a linkolis starting waits."""
    run("backup", "--with-key", str(tmp_path / "b.linkolis-backup"))
    fresh = tmp_path / "fresh"
    lock_held = []
    check_copy, replace = backup._check_copy, os.replace

    def checked_while_a_process_starts(*args):
        try:
            FileLock(fresh / "locks" / "upgrade.lock").acquire(timeout=0)
        except Timeout:
            lock_held.append(True)
        return check_copy(*args)

    def killed_at_the_database(source, target):
        if os.path.basename(target) == "linkolis.db":
            raise KeyboardInterrupt
        replace(source, target)

    monkeypatch.setattr(backup, "_check_copy", checked_while_a_process_starts)
    monkeypatch.setattr(os, "replace", killed_at_the_database)
    with pytest.raises(KeyboardInterrupt):
        backup.restore(tmp_path / "b.linkolis-backup", fresh)
    monkeypatch.undo()
    assert lock_held == [True]
    assert (fresh / "secret.key").read_bytes() == (host.home / "secret.key").read_bytes()
    assert not (fresh / "linkolis.db").exists()

    again = linkolis(fresh, "restore", str(tmp_path / "b.linkolis-backup"))
    assert "the credentials of all 1 apps open" in again.stderr


def test_a_restore_while_a_linkolis_upgrades_the_data_directory_is_refused(home, tmp_path):
    linkolis(home, "workspaces", "list")
    linkolis(home, "backup", str(tmp_path / "b.linkolis-backup"))
    before = dump_database(home / "linkolis.db")
    with FileLock(home / "locks" / "upgrade.lock"):
        refused = linkolis(home, "restore", "--replace", str(tmp_path / "b.linkolis-backup"), code=1)
    assert "a linkolis process is upgrading the database" in refused.stderr and "Nothing was changed" in refused.stderr
    assert dump_database(home / "linkolis.db") == before and not (home / "backups").exists()


def test_a_backup_from_before_a_key_rotation_names_the_old_key_that_opens_it(run, host, app, home, tmp_path):
    run("backup", str(tmp_path / "before.linkolis-backup"))
    run("keys", "rotate")
    [old] = home.glob("secret.key.old-*")
    elsewhere = tmp_path / "elsewhere"  # the data directory as the operator has it now: the new key, the old kept
    elsewhere.mkdir(mode=0o700)
    for key in (home / "secret.key", old):
        (elsewhere / key.name).write_bytes(key.read_bytes())
        (elsewhere / key.name).chmod(0o600)

    result = linkolis(elsewhere, "restore", "--json", str(tmp_path / "before.linkolis-backup"))
    assert json.loads(result.stdout)["opens_with"] == str(elsewhere / old.name)
    assert f"sealed with the key kept at {elsewhere / old.name}" in result.stderr
    assert "linkolis apps authorize" not in result.stderr, "no need to authorize again: the key is at hand"
