"""`linkolis keys rotate`, as the operator lives it: every credential re-encrypted under a new key, the old key kept
for the backups made before, and a rotation killed at any moment leaves every credential readable and is finished by
running it again."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys

import pytest
import testmarket
from cryptography.fernet import Fernet, InvalidToken
from helpers import authorize_app, install_app, token_of

from linkolis_host import keys
from linkolis_host.context import StateStore
from linkolis_host.host import Host
from linkolis_host.secrets import SecretBox, SecretsError
from linkolis_host.testing.fixtures import open_store


@pytest.fixture
def two_apps(run, market):
    """Two authorized apps, each with an access token cached sealed in its state: their ids."""
    install_app(run, "Shop EU", "EU")
    install_app(run, "Shop US", "US")
    authorize_app(run, "Shop EU", "SELLER1")
    authorize_app(run, "Shop US", "SELLER2")
    ids = [r[0] for r in run.host.db.execute("SELECT id FROM apps ORDER BY name").fetchall()]
    for app_id in ids:
        StateStore(run.host.db, app_id, run.host.secrets).set("access_token", {"token": f"Atza|{app_id}"}, secret=True)
    return ids


def sealed_values(home) -> list[bytes]:
    """Every sealed value in the store, read from outside the host."""
    db = open_store(home)
    try:
        found = [r[0].encode() for r in db.execute("SELECT ciphertext FROM credentials").fetchall()]
        for (value,) in db.execute("SELECT value FROM plugin_state").fetchall():
            held = json.loads(value)
            if isinstance(held, dict) and "sealed" in held:
                found.append(held["sealed"].encode())
        return found
    finally:
        db.close()


def opens(key: bytes, token: bytes) -> bool:
    try:
        Fernet(key).decrypt(token)
        return True
    except InvalidToken:
        return False


def key_in(path) -> bytes:
    return path.read_bytes().strip()


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def assert_every_credential_opens(home, ids, clock):
    """What a process started now sees: every app's credentials and cached token open."""
    fresh = Host(home, clock=clock, extra_plugins=[testmarket])
    try:
        for app_id in ids:
            assert fresh.open_credentials(app_id)["token"].startswith("tok-SELLER")
            assert StateStore(fresh.db, app_id, fresh.secrets).get("access_token", secret=True) == {
                "token": f"Atza|{app_id}"
            }
    finally:
        fresh.close()


# -- the rotation ------------------------------------------------------------------------------------------------------


def test_rotating_reencrypts_every_credential_and_keeps_the_old_key_for_old_backups(run, home, two_apps):
    old = key_in(home / "secret.key")

    result = run("keys", "rotate")
    done = run.json("keys", "rotate")  # a second rotation: a newer key again, the one before kept too

    assert "Re-encrypted 4 sealed values under a new key" in result.stdout
    assert "a backup of the database made before now needs it" in result.stdout
    new = key_in(home / "secret.key")
    assert done["reencrypted"] == 4 and done["key"] == str(home / "secret.key") and done["unopenable"] == []
    assert all(opens(new, v) and not opens(old, v) for v in sealed_values(home))
    kept = sorted(home.glob("secret.key.old-*"))
    assert len(kept) == 2 and old in [key_in(k) for k in kept] and done["old_key"] in map(str, kept)
    assert all(mode(k) == 0o600 for k in [*kept, home / "secret.key"])
    assert not (home / "secret.key.next").exists()
    assert run.json("apps", "verify", "Shop EU")["ok"] is True
    for key in (old, new):
        assert key.decode() not in result.output + json.dumps(done)


def test_a_running_host_follows_a_rotation_another_process_does(run, host, home, clock, two_apps):
    assert host.open_credentials(two_apps[0])  # its SecretBox has read the old key
    other = Host(home, clock=clock, extra_plugins=[testmarket])
    try:
        keys.rotate(other)
    finally:
        other.close()

    assert host.open_credentials(two_apps[0]) == {"token": token_of("SELLER1")}
    StateStore(host.db, two_apps[1], host.secrets).set("access_token", {"token": f"Atza|{two_apps[1]}"}, secret=True)
    assert all(opens(key_in(home / "secret.key"), v) for v in sealed_values(home)), "it seals with the new key"
    assert_every_credential_opens(home, two_apps, clock)


def test_while_a_rotation_is_under_way_every_process_seals_with_the_new_key(run, host, home, two_apps):
    host.open_credentials(two_apps[0])
    (home / "secret.key.next").write_bytes(Fernet.generate_key() + b"\n")
    os.chmod(home / "secret.key.next", 0o600)

    StateStore(host.db, two_apps[0], host.secrets).set("access_token", {"token": "Atza|fresh"}, secret=True)

    token = json.loads(host.db.execute("SELECT value FROM plugin_state WHERE app_id = ?", (two_apps[0],)).fetchone()[0])
    assert opens(key_in(home / "secret.key.next"), token["sealed"].encode())
    assert host.open_credentials(two_apps[0]) == {"token": token_of("SELLER1")}, "what the old key sealed still opens"


# -- killed in the middle ----------------------------------------------------------------------------------------------

# `linkolis keys rotate` as the operator runs it, but its third batch waits inside its write transaction, re-encrypted
# and not committed, until the process is killed: the kill lands mid-rotation however busy the machine is.
STOPPED_ROTATION = """
import sys, time
from linkolis_host import keys
from linkolis_host.cli import cli

keys.BATCH = 4
rewrite = keys._rewrite_batch
calls = []

def third_waits(host, *args):
    calls.append(1)
    if len(calls) < 3:
        return rewrite(host, *args)
    with host.db.atomic():
        rewrite(host, *args)
        print("waiting in a transaction", file=sys.stderr, flush=True)
        time.sleep(60)

keys._rewrite_batch = third_waits
cli(["keys", "rotate"], prog_name="linkolis")
"""


def test_a_rotation_killed_mid_way_leaves_every_credential_readable_and_finishes_when_run_again(
    run, home, clock, two_apps
):
    for app_id in two_apps:  # enough sealed values for many batches: 4 + 32
        state = StateStore(run.host.db, app_id, run.host.secrets)
        for n in range(16):
            state.set(f"token-{n}", {"token": f"t{n}"}, secret=True)
    old = key_in(home / "secret.key")
    rotation = subprocess.Popen(
        [sys.executable, "-c", STOPPED_ROTATION], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    try:
        # "Re-encrypting 36…", "  2 done" (the credentials), "  6 done", then the third batch waits
        seen = []
        while not seen or seen[-1] != "waiting in a transaction\n":
            seen.append(rotation.stderr.readline())
            assert seen[-1], f"the rotation ended before it was killed: {seen}"
        assert [line.strip() for line in seen[-3:-1]] == ["2 done", "6 done"], seen
        rotation.send_signal(signal.SIGKILL)
    finally:
        rotation.kill()
        rotation.wait()
        rotation.stderr.close()

    new = key_in(home / "secret.key.next")
    values = sealed_values(home)
    assert key_in(home / "secret.key") == old
    assert sum(opens(new, v) for v in values) == 6, "two batches committed, the third rolled back by the kill"
    assert sum(opens(old, v) for v in values) == 30
    assert_every_credential_opens(home, two_apps, clock)

    done = run.json("keys", "rotate")

    assert done["resumed"] is True and done["reencrypted"] + done["already"] == 36
    assert key_in(home / "secret.key") == new and not (home / "secret.key.next").exists()
    assert all(opens(new, v) and not opens(old, v) for v in sealed_values(home))
    assert_every_credential_opens(home, two_apps, clock)


class Killed(BaseException):
    """The process ends here, as by kill -9: nothing after it runs, an open transaction is not committed."""


def _stop(*_args, **_kwargs):
    raise Killed


def _stop_after(original, calls=1):
    count = [0]

    def step(*args, **kwargs):
        result = original(*args, **kwargs)
        count[0] += 1
        if count[0] >= calls:
            raise Killed
        return result

    return step


STOPS = {
    "the new key written": lambda: ("_count", _stop),
    "one batch re-encrypted": lambda: ("_rewrite_batch", _stop_after(keys._rewrite_batch)),
    "every batch re-encrypted": lambda: ("_keep_old_key", _stop),
    "the old key kept": lambda: ("_keep_old_key", _stop_after(keys._keep_old_key)),
}


@pytest.mark.parametrize("where", list(STOPS))
def test_a_rotation_stopped_at_each_step_leaves_every_credential_readable(
    run, home, clock, two_apps, monkeypatch, where
):
    monkeypatch.setattr(keys, "BATCH", 2)
    old = key_in(home / "secret.key")
    name, step = STOPS[where]()
    with monkeypatch.context() as patched:
        patched.setattr(keys, name, step)
        with pytest.raises(Killed):
            keys.rotate(run.host)

    assert_every_credential_opens(home, two_apps, clock)
    done = run.json("keys", "rotate")
    assert done["resumed"] is True
    assert [key_in(k) for k in home.glob("secret.key.old-*")] == [old], "the old key kept once"
    assert all(opens(key_in(home / "secret.key"), v) for v in sealed_values(home))
    assert_every_credential_opens(home, two_apps, clock)


# -- the key in the environment ----------------------------------------------------------------------------------------


def test_with_the_key_in_the_environment_the_operator_is_told_the_way_and_the_new_key_goes_to_a_file(
    run, home, tmp_path, clock, market, monkeypatch
):
    old = Fernet.generate_key()
    monkeypatch.setenv("LINKOLIS_SECRET_KEY", old.decode())
    install_app(run, "Shop EU", "EU")
    authorize_app(run, "Shop EU", "SELLER1")

    refused = run("keys", "rotate", code=1)
    assert "LINKOLIS_SECRET_KEY" in refused.stderr and "LINKOLIS_SECRET_KEY_NEXT" in refused.stderr
    assert "linkolis keys rotate --new-key-file PATH" in refused.stderr

    written = run("keys", "rotate", "--new-key-file", str(tmp_path / "new.key"))
    new = key_in(tmp_path / "new.key")
    assert mode(tmp_path / "new.key") == 0o600 and new.decode() not in written.output
    assert "LINKOLIS_SECRET_KEY_NEXT" in written.stdout
    assert "exists already" in run("keys", "rotate", "--new-key-file", str(tmp_path / "new.key"), code=1).stderr

    monkeypatch.setenv("LINKOLIS_SECRET_KEY_NEXT", new.decode())
    done = run.json("keys", "rotate")
    assert done["finished"] is False and done["reencrypted"] == 1 and done["key"] == "LINKOLIS_SECRET_KEY_NEXT"
    assert "move that key to LINKOLIS_SECRET_KEY" in done["next_step"]

    monkeypatch.setenv("LINKOLIS_SECRET_KEY", new.decode())
    monkeypatch.delenv("LINKOLIS_SECRET_KEY_NEXT")
    assert all(opens(new, v) and not opens(old, v) for v in sealed_values(home))
    assert run.json("apps", "verify", "Shop EU")["ok"] is True
    assert not (home / "secret.key").exists()


# -- what cannot be re-encrypted, and what is wrong with a key ---------------------------------------------------------


def test_a_credential_sealed_with_a_key_lost_before_is_named_and_left_as_it_was(run, home, two_apps):
    lost = Fernet(Fernet.generate_key()).encrypt(b'{"token": "x"}').decode()
    with run.host.db.atomic():
        run.host.db.execute("UPDATE credentials SET ciphertext = ? WHERE app_id = ?", (lost, two_apps[1]))

    result = run("keys", "rotate")

    assert "'Shop US' open with neither key" in result.stderr and "authorize those apps again" in result.stderr
    assert "Re-encrypted 3 sealed values" in result.stdout
    left = run.host.db.execute("SELECT ciphertext FROM credentials WHERE app_id = ?", (two_apps[1],)).fetchone()
    assert left[0] == lost


def test_a_next_key_others_can_read_is_refused_naming_the_file(run, home, two_apps):
    (home / "secret.key.next").write_bytes(Fernet.generate_key() + b"\n")
    os.chmod(home / "secret.key.next", 0o644)

    result = run("keys", "rotate", code=1)

    assert f"{home / 'secret.key.next'} is readable by others" in result.stderr
    assert f"chmod 600 {home / 'secret.key.next'}" in result.stderr


def test_a_value_that_does_not_open_names_where_the_keys_live(home):
    home.mkdir()
    sealed = SecretBox(home).seal({"token": "x"})
    (home / "secret.key").unlink()

    with pytest.raises(Exception) as raised:
        SecretBox(home).open(sealed)

    assert str(home / "secret.key") in str(raised.value) and "restore the key" in str(raised.value)


def test_opening_without_a_key_makes_none_and_a_rotation_of_a_home_with_none_keeps_no_old_one(home, tmp_path):
    home.mkdir()
    sealed = SecretBox(home).seal({"token": "x"})
    (home / "secret.key").rename(tmp_path / "kept.key")  # the operator is about to put it back
    with pytest.raises(SecretsError, match="there is no secret key"):
        SecretBox(home).open(sealed)
    assert not (home / "secret.key").exists(), (
        "opening makes no key: it would open nothing, and take the old one's place"
    )

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    with Host(fresh) as host:
        done = keys.rotate(host)
    assert done.old_key is None and not list(fresh.glob("secret.key.old-*")), "no key before: none kept"
    assert (fresh / "secret.key").exists()
