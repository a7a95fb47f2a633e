"""The seller authorizes an app at the marketplace; the host makes sure only that seller's redirect counts.

Every refused redirect: a clear message, a non-zero exit, and nothing stored.
"""

from __future__ import annotations

import base64
import os
import stat
import threading
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import testmarket
from cryptography.fernet import Fernet
from helpers import authorize_app, dump_database, install_app, token_of

from linkolis_host import apps, oauth
from linkolis_host.host import Host

REDIRECT = "https://shop.example/linkolis/landing"  # a registered HTTPS page: the seller pastes where it landed


def start(host, name="Shop EU", redirect_uri=REDIRECT) -> str:
    """Start an authorization as the CLI does; return the state the consent URL carries."""
    url = apps.start_authorization(host, name, redirect_uri).url
    return parse_qs(urlsplit(url).query)["state"][0]


def landed(state: str | None = None, **params: str) -> str:
    """The address the seller's browser lands on after the consent page."""
    query = ({"state": state} if state is not None else {}) | params
    return f"{REDIRECT}?{urlencode(query)}"


def paste(run, url, name="Shop EU", code=0):
    return run("apps", "authorize", name, "--redirect-url", url, code=code)


def stored(host) -> dict:
    """What an authorization writes, everything but the burnt states."""
    dump = dump_database(host.db_path)
    dump.pop("oauth_states")
    return dump


@pytest.fixture
def installed(run, market):
    install_app(run, "Shop EU", "EU")
    return "Shop EU"


# -- the state: random, single use, short lived, bound to the app ----------------------------------------------


def test_the_state_carries_at_least_128_random_bits_and_is_stored_only_as_a_hash(host, installed):
    first, second = start(host), start(host)
    assert first != second
    assert len(base64.urlsafe_b64decode(first + "=" * (-len(first) % 4))) * 8 >= 128
    dump = repr(dump_database(host.db_path))
    assert first not in dump and second not in dump


def test_a_pasted_redirect_completes_the_authorization(run, host, installed):
    state = start(host)
    result = paste(run, landed(state, code="good-SELLER1"))
    assert "'Shop EU' is authorized for account SELLER1" in result.stdout
    shown = run.json("apps", "show", "Shop EU")
    assert (shown["status"], shown["account_id"], shown["credentials"]["stored"]) == ("authorized", "SELLER1", True)


def test_a_replayed_redirect_is_refused_and_changes_nothing(run, host, installed):
    state = start(host)
    paste(run, landed(state, code="good-SELLER1"))
    before = dump_database(host.db_path)
    result = paste(run, landed(state, code="good-SELLER1"), code=1)
    assert "already used (a replay)" in result.stderr
    assert "Traceback" not in result.output
    assert dump_database(host.db_path) == before


def test_a_state_older_than_ten_minutes_is_refused(run, host, installed, clock):
    state = start(host)
    before = stored(host)
    clock.advance(601)
    result = paste(run, landed(state, code="good-SELLER1"), code=1)
    assert "took longer than 10 minutes" in result.stderr
    assert stored(host) == before
    assert run.json("apps", "show", "Shop EU")["status"] == "installed"


def test_a_state_just_under_ten_minutes_old_is_accepted(run, host, installed, clock):
    state = start(host)
    clock.advance(599)
    paste(run, landed(state, code="good-SELLER1"))


def test_a_state_issued_for_another_app_is_refused(run, host, installed):
    install_app(run, "Shop US", "US")
    state_for_us = start(host, "Shop US")
    before = stored(host)
    result = paste(run, landed(state_for_us, code="good-SELLER1"), name="Shop EU", code=1)
    assert "not one we issued for this app" in result.stderr
    assert stored(host) == before
    paste(run, landed(state_for_us, code="good-SELLER1"), name="Shop US")  # still good where it belongs


@pytest.mark.parametrize(
    "state, message",
    [
        ("x" * 43, "not one we issued for this app"),
        ("", "carries no state"),
        (None, "carries no state"),
    ],
)
def test_a_forged_or_missing_state_is_refused(run, host, installed, state, message):
    start(host)
    before = dump_database(host.db_path)
    result = paste(run, landed(state, code="good-SELLER1"), code=1)
    assert message in result.stderr
    assert dump_database(host.db_path) == before


def test_a_cancelled_consent_is_refused_and_stores_nothing(run, host, installed):
    state = start(host)
    before = stored(host)
    result = paste(run, landed(state, error="access_denied", error_description="The seller cancelled"), code=1)
    assert "the authorization was not granted (The seller cancelled)" in result.stderr
    assert "apps authorize 'Shop EU'" in result.stderr
    assert stored(host) == before


def test_a_code_the_marketplace_refuses_stores_nothing(run, host, installed):
    state = start(host)
    before = stored(host)
    result = paste(run, landed(state, code="expired"), code=1)
    assert "refused the code" in result.stderr
    assert stored(host) == before


def test_a_pasted_address_that_is_not_a_url_is_refused(run, installed):
    result = paste(run, "state=abc&code=good-SELLER1", code=1)
    assert "is not a URL" in result.stderr


# -- the browser flows -------------------------------------------------------------------------------------------


def test_authorize_opens_the_consent_page_and_receives_the_redirect(run, browser, installed):
    browser.account = "SELLER7"
    shown = run.json("apps", "authorize", "Shop EU")
    assert (shown["status"], shown["account_id"]) == ("authorized", "SELLER7")
    assert browser.visited[0].startswith(testmarket.CONSENT)


def test_no_browser_prints_the_address_and_waits_for_the_redirect(run, browser, installed, monkeypatch):
    started = []
    printed = threading.Event()
    real_start = apps.start_authorization

    def start_and_tell(*args, **kwargs):
        started.append(real_start(*args, **kwargs))
        printed.set()
        return started[-1]

    monkeypatch.setattr(apps, "start_authorization", start_and_tell)
    results = []
    worker = threading.Thread(
        target=lambda: results.append(run("apps", "authorize", "Shop EU", "--no-browser", "--timeout", "10", code=None))
    )
    worker.start()
    assert printed.wait(5), "the authorization never started"
    query = parse_qs(urlsplit(started[0].url).query)
    # The seller opens the printed address themselves, confirms, and the browser comes back to the receiver.
    httpx.get(query["redirect_uri"][0] + "?" + urlencode({"state": query["state"][0], "code": "good-SELLER1"}))
    worker.join(10)
    result = results[0]
    assert result.exit_code == 0, result.output
    assert started[0].url in result.stdout
    assert browser.visited == []
    assert run.json("apps", "show", "Shop EU")["account_id"] == "SELLER1"


def test_a_cancel_on_the_consent_page_fails_the_browser_flow(run, installed, monkeypatch, host):
    def cancel(url):
        query = parse_qs(urlsplit(url).query)
        target = query["redirect_uri"][0] + "?" + urlencode({"state": query["state"][0], "error": "access_denied"})
        threading.Thread(target=httpx.get, args=(target,), daemon=True).start()

    monkeypatch.setattr(oauth, "open_browser", cancel)
    result = run("apps", "authorize", "Shop EU", code=1)
    assert "not granted (access_denied)" in result.stderr
    assert host.db["credentials"].count == 0


# -- direct credentials, accounts --------------------------------------------------------------------------------


def test_credentials_can_be_given_directly(run, installed):
    authorize_app(run, "Shop EU", "SELLER9")
    assert run.json("apps", "show", "Shop EU")["account_id"] == "SELLER9"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--credential", "token=nope", "--credential", "account=A"], "not a Test Market token"),
        (["--credential", "token=tok-A"], "missing credential account"),
        (
            ["--credential", "token=tok-A", "--credential", "account=A", "--credential", "pin=1"],
            "unknown credential pin",
        ),
        (["--credential", "token"], "expected NAME=VALUE"),
    ],
)
def test_wrong_direct_credentials_are_refused_and_store_nothing(run, host, installed, args, message):
    before = dump_database(host.db_path)
    result = run("apps", "authorize", "Shop EU", *args, code=None)
    assert result.exit_code != 0
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert dump_database(host.db_path) == before


def test_authorizing_again_with_another_account_is_refused_with_the_advice(run, host, installed):
    authorize_app(run, "Shop EU", "SELLER1")
    before = dump_database(host.db_path)
    result = authorize_app(run, "Shop EU", "SELLER2", code=1)
    assert "connected to account SELLER1, but account SELLER2 signed in" in result.stderr
    assert "remove the app" in result.stderr and "install it again" in result.stderr
    assert dump_database(host.db_path) == before


def test_authorizing_again_with_the_same_account_renews_it(run, host, installed):
    authorize_app(run, "Shop EU", "SELLER1")
    state = start(host)
    paste(run, landed(state, code="good-SELLER1"))
    assert run.json("apps", "show", "Shop EU")["status"] == "authorized"


def test_a_second_app_for_the_same_account_and_marketplace_is_refused(run, host, installed):
    authorize_app(run, "Shop EU", "SELLER1")
    install_app(run, "Shop EU again", "EU")
    result = authorize_app(run, "Shop EU again", "SELLER1", code=1)
    assert "app 'Shop EU' already connects account SELLER1 for EU/main" in result.stderr
    assert run.json("apps", "show", "Shop EU again")["status"] == "installed"
    install_app(run, "Shop US", "US")
    authorize_app(run, "Shop US", "SELLER1")  # another marketplace of the same account is fine


# -- secrets at rest and in output ------------------------------------------------------------------------------


def database_bytes(home) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(home.glob("linkolis.db*")))


def test_the_credentials_are_stored_encrypted(run, host, home, installed):
    authorize_app(run, "Shop EU", "SELLER1")
    assert token_of("SELLER1").encode() not in database_bytes(home)
    ciphertext = host.db.execute("SELECT ciphertext FROM credentials").fetchone()[0]
    key = (home / "secret.key").read_bytes().strip()
    assert token_of("SELLER1") in Fernet(key).decrypt(ciphertext.encode()).decode()


def test_the_key_file_is_created_readable_by_its_owner_only(run, home, installed):
    authorize_app(run, "Shop EU", "SELLER1")
    assert stat.S_IMODE(os.stat(home / "secret.key").st_mode) == 0o600


def test_a_key_file_others_can_read_is_refused(run, home, installed):
    authorize_app(run, "Shop EU", "SELLER1")
    os.chmod(home / "secret.key", 0o644)
    fresh = Host(home, clock=run.host.clock, extra_plugins=[testmarket])
    try:
        run.host = fresh
        result = run("apps", "verify", "Shop EU", code=1)
    finally:
        fresh.close()
    assert "readable by others" in result.stderr and "chmod 600" in result.stderr


def test_the_key_can_come_from_the_environment(run, host, home, installed, monkeypatch):
    key = Fernet.generate_key()
    monkeypatch.setenv("LINKOLIS_SECRET_KEY", key.decode())
    authorize_app(run, "Shop EU", "SELLER1")
    assert not (home / "secret.key").exists()
    ciphertext = host.db.execute("SELECT ciphertext FROM credentials").fetchone()[0]
    assert token_of("SELLER1") in Fernet(key).decrypt(ciphertext.encode()).decode()


@pytest.mark.parametrize(
    "wrong, message",
    [
        # Named ids: a random key in the id would make each xdist worker collect a different test.
        pytest.param(Fernet.generate_key().decode(), "cannot be opened with this secret key", id="another-key"),
        pytest.param("not-a-key", "LINKOLIS_SECRET_KEY is not a valid key", id="not-a-key"),
    ],
)
def test_a_wrong_key_is_a_clear_error(run, home, clock, installed, monkeypatch, wrong, message):
    monkeypatch.setenv("LINKOLIS_SECRET_KEY", Fernet.generate_key().decode())
    authorize_app(run, "Shop EU", "SELLER1")
    monkeypatch.setenv("LINKOLIS_SECRET_KEY", wrong)
    fresh = Host(home, clock=clock, extra_plugins=[testmarket])
    try:
        run.host = fresh
        result = run("apps", "verify", "Shop EU", code=1)
    finally:
        fresh.close()
    assert message in result.output  # a failed check (stdout) for a changed key; an error (stderr) for a bad one
    assert "Traceback" not in result.output


def test_no_secret_shows_in_any_output_or_log(run, host, market, installed):
    token = token_of("SELLER1")
    outputs = [authorize_app(run, "Shop EU", "SELLER1").output]
    for args in (
        ["apps", "show", "Shop EU", "--json"],
        ["apps", "list", "--json"],
        ["apps", "show", "Shop EU"],
        ["-vv", "apps", "verify", "Shop EU"],
        ["-vv", "orders", "import", "--json"],
        ["-vv", "sync"],
    ):
        result = run(*args)
        outputs.append(result.output + result.stderr)
    text = "\n".join(outputs)
    assert "calling the market with token [redacted]" in text, "the careless plugin's log line was not seen"
    assert token not in text
    assert token not in repr(dump_database(host.db_path))


def test_verbose_logging_ends_with_the_command(run, app):
    import logging

    run("-vv", "apps", "list")
    run("-v", "apps", "list")
    assert logging.getLogger("linkolis").handlers == [], "a handler outlived its command (and its stream)"
