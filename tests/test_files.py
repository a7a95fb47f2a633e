"""The data directory holds buyers' names and addresses and the key to the credentials: only its owner may read it,
whatever the umask of the shell that ran linkolis."""

from __future__ import annotations

import json
import os
import stat

import pytest
from click.testing import CliRunner

from linkolis_host import store
from linkolis_host.cli import cli
from linkolis_host.host import Host
from linkolis_host.locks import app_lock
from linkolis_host.secrets import SecretBox

pytestmark = pytest.mark.sqlite_only("the modes of the data directory's files, the SQLite database among them")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(params=[0o022, 0o000], ids=["umask 022", "umask 000"])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_a_new_data_directory_and_everything_in_it_is_for_the_owner_only(umask, home):
    result = CliRunner().invoke(cli, ["stock", "set", "SKU-1", "5", "--json"])  # creates the db, writes it
    assert result.exit_code == 0, result.output
    with Host(home) as host:
        SecretBox(home).seal({"token": "x"})  # creates secret.key
        with app_lock(home, 1, "Shop EU", "import"):
            host.db.execute(
                "INSERT INTO desired_stock (workspace_id, sku, quantity, version) VALUES (1, 'SKU-2', 1, 2)"
            )
            host.db.conn.commit()
            files = {p.name: mode(p) for p in home.iterdir() if p.is_file()}
            assert mode(home) == 0o700
            assert mode(home / "locks") == 0o700
            assert mode(home / "locks" / "app-1-import.lock") == 0o600
            assert mode(home / "locks" / "app-1-import.holder") == 0o600  # the holder's pid note
    assert {"linkolis.db", "linkolis.db-wal", "linkolis.db-shm", "secret.key"} <= set(files)
    assert files == {name: 0o600 for name in files}


def test_an_existing_data_directory_others_can_read_is_tightened_and_the_operator_told(home):
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    store.connect(home / "linkolis.db").close()
    os.chmod(home / "linkolis.db", 0o644)  # as an older linkolis left it under umask 022

    result = CliRunner().invoke(cli, ["apps", "list", "--json"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []
    assert f"the data directory {home} was readable by other users (mode 755); it is now 700" in result.stderr
    assert mode(home) == 0o700
    assert mode(home / "linkolis.db") == 0o600


def test_a_data_directory_of_another_user_is_left_alone_with_a_warning(home, monkeypatch):
    # As root here, the directory is ours whoever we pretend to be; "another user" is an effective uid we are not.
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    monkeypatch.setattr(os, "geteuid", lambda: os.stat(home).st_uid + 1)
    said = []

    Host(home, say=said.append).close()

    assert mode(home) == 0o755
    assert said == [
        f"warning: other users may read the data directory {home} (mode 755), which belongs to uid "
        f"{os.stat(home).st_uid}; ask its owner to run: chmod 700 {home}"
    ]


def test_a_lock_file_an_older_linkolis_left_readable_is_made_private(home):
    (home / "locks").mkdir(parents=True)
    lock = home / "locks" / "app-1-push.lock"
    lock.write_text("pid 1")
    os.chmod(lock, 0o644)
    with app_lock(home, 1, "Shop EU", "push"):
        assert mode(lock) == 0o600


def test_a_config_file_this_user_may_not_read_is_named(home, monkeypatch):
    # As root, no mode bit stops us reading; the refusal the operating system gives another user is injected.
    home.mkdir()
    config = home / "linkolis.toml"
    config.write_text("[http]\ntimeout = 10\n")
    real = type(config).read_text

    def read_text(path, *args, **kwargs):
        if path == config:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(type(config), "read_text", read_text)
    result = CliRunner().invoke(cli, ["apps", "list"])
    assert result.exit_code == 1
    assert f"cannot read {config}: Permission denied" in result.stderr
    assert "Traceback" not in result.output
