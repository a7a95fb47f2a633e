"""Security and integrity, as the operator and the seller live them: a secret key that changed or was lost is
recovered by authorizing again (the app keeps its orders), and secrets stay off the command line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import testmarket
from cryptography.fernet import Fernet
from helpers import install_app, token_of

from linkolis_host.cli import base as cli_base
from linkolis_host.context import StateStore
from linkolis_host.host import Host
from linkolis_host.secrets import SecretBox

ROOT = Path(__file__).resolve().parent.parent
UNOPENABLE = "cannot be opened with this secret key"
AGAIN = "authorize the app again"
RUN_AGAIN = "run `linkolis apps authorize 'Shop EU'`"


def paste_token(run, name="Shop EU", account="SELLER1", code=0, **kwargs):
    """Authorize with pasted credentials, the token piped on stdin (the safe form)."""
    return run(
        "apps",
        "authorize",
        name,
        "--credential",
        "token=-",
        "--credential",
        f"account={account}",
        input=token_of(account) + "\n",
        code=code,
        **kwargs,
    )


@pytest.fixture
def key_changed(run, home, clock, market, monkeypatch):
    """An authorized app with two imported orders; then the operator's secret key changes (a new
    LINKOLIS_SECRET_KEY, or secret.key lost). Returns the app's id."""
    install_app(run, "Shop EU", "EU", "--stock-sync")
    paste_token(run)
    market.add_order("O-1", updated=1)
    market.add_order("O-2", updated=2)
    run("orders", "import", "Shop EU")
    app_id = run.host.db.execute("SELECT id FROM apps").fetchone()[0]
    monkeypatch.setenv("LINKOLIS_SECRET_KEY", Fernet.generate_key().decode())
    fresh = Host(home, clock=clock, extra_plugins=[testmarket])
    run.host = fresh
    yield app_id
    fresh.close()


def refused(run, *args, code=1) -> str:
    result = run(*args, code=code)
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


def test_after_the_secret_key_changed_verify_names_the_cause_and_the_remedy(run, key_changed):
    report = run.json("apps", "verify", "Shop EU", code=1)

    [check] = report["checks"]
    assert (check["name"], check["status"]) == ("credentials readable", "failed")
    assert UNOPENABLE in check["detail"] and "LINKOLIS_SECRET_KEY" in check["detail"]
    assert AGAIN in check["remedy"]
    assert (check["action"], check["command"]) == ("authorize", "linkolis apps authorize 'Shop EU'")
    [listed] = run.json("apps", "list")
    assert listed["status"].startswith("needs attention: ") and UNOPENABLE in listed["status"]
    shown = run.json("apps", "show", "Shop EU")
    assert any(UNOPENABLE in notice and AGAIN in notice for notice in shown["notices"])
    assert "notice" in run("apps", "show", "Shop EU").stdout


def test_after_the_secret_key_changed_import_and_push_fail_with_the_remedy_not_a_traceback(run, key_changed):
    imported = refused(run, "orders", "import", "Shop EU")
    assert UNOPENABLE in imported and RUN_AGAIN in imported
    run("stock", "set", "SKU-0", "4")
    pushed = refused(run, "stock", "push", "Shop EU")
    assert UNOPENABLE in pushed and RUN_AGAIN in pushed


def test_authorizing_again_after_the_key_changed_keeps_the_app_its_orders_and_its_cursor(
    run, market, browser, key_changed
):
    run("apps", "verify", "Shop EU", code=1)

    app = run.json("apps", "authorize", "Shop EU")  # in the browser: start and complete, the old credentials unread

    assert (app["status"], app["account_id"], app["notices"]) == ("authorized", "SELLER1", [])
    assert run.host.db.execute("SELECT id FROM apps").fetchone()[0] == key_changed
    assert {o["marketplace_order_id"] for o in run.json("orders", "list")} == {"O-1", "O-2"}
    again = run.json("orders", "import", "Shop EU")
    assert (again["new"], again["updated"]) == (0, 0)
    [(ctx, last)] = [(c, a) for hook, c, a in market.seen if hook == "import_orders"][-1:]
    assert last["cursor"] == {"since": 2}, "the import resumed from the kept cursor"
    assert run.json("apps", "verify", "Shop EU")["ok"] is True


def test_pasted_credentials_replace_the_ones_the_old_key_sealed(run, key_changed):
    paste_token(run)

    assert run.json("apps", "show", "Shop EU")["status"] == "authorized"
    ciphertext = run.host.db.execute("SELECT ciphertext FROM credentials").fetchone()[0]
    assert run.host.secrets.open(ciphertext) == {"token": token_of("SELLER1")}
    assert run.json("apps", "verify", "Shop EU")["ok"] is True


def test_a_cached_secret_sealed_with_the_old_key_reads_as_absent(host, home, monkeypatch):
    db = host.db
    db["workspaces"].insert({"name": "Default", "name_key": "default"})
    db["apps"].insert(
        {"workspace_id": 1, "name": "x", "name_key": "x", "kind": "testmarket", "settings": "{}", "status": "installed"}
    )
    StateStore(db, 1, host.secrets).set("access_token", {"token": "Atza|old-access-token"}, secret=True)
    monkeypatch.setenv("LINKOLIS_SECRET_KEY", Fernet.generate_key().decode())

    state = StateStore(db, 1, SecretBox(home))

    assert state.get("access_token", secret=True) is None
    state.set("access_token", {"token": "Atza|new-access-token"}, secret=True)
    assert state.get("access_token", secret=True) == {"token": "Atza|new-access-token"}


# -- secrets off the command line ------------------------------------------------------------------------------


def test_a_secret_given_on_the_command_line_warns_and_points_to_the_safe_form(run, market):
    install_app(run, "Shop EU", "EU")

    result = run(
        "apps",
        "authorize",
        "Shop EU",
        "--credential",
        f"token={token_of('SELLER1')}",
        "--credential",
        "account=SELLER1",
        "--json",
    )

    assert "warning: --credential token=VALUE puts a secret on the command line" in result.stderr
    assert "--credential token=-" in result.stderr
    assert "account=VALUE" not in result.stderr  # the account id is not a secret
    assert token_of("SELLER1") not in result.output
    assert '"status": "authorized"' in result.stdout


def test_a_secret_piped_on_stdin_is_read_without_a_warning(run, market):
    install_app(run, "Shop EU", "EU")

    result = paste_token(run)

    assert "warning" not in result.stderr and token_of("SELLER1") not in result.output
    assert run.json("apps", "show", "Shop EU")["account_id"] == "SELLER1"


def test_a_secret_asked_for_on_a_terminal_is_not_echoed(run, market, monkeypatch):
    install_app(run, "Shop EU", "EU")
    monkeypatch.setattr(cli_base, "stdin_is_terminal", lambda: True)

    result = paste_token(run)

    assert "token:" in result.stderr and token_of("SELLER1") not in result.output
    assert run.json("apps", "show", "Shop EU")["status"] == "authorized"


def test_a_dash_with_nothing_on_stdin_is_a_clear_error(run, market):
    install_app(run, "Shop EU", "EU")

    result = run(
        "apps", "authorize", "Shop EU", "--credential", "token=-", "--credential", "account=SELLER1", input="", code=2
    )

    assert "token=- reads the value from stdin, but stdin had none" in result.stderr
    assert run.json("apps", "show", "Shop EU")["credentials"]["stored"] is False


def test_the_docs_and_the_help_show_secrets_only_in_the_safe_form(run):
    texts = {p: (ROOT / p).read_text(encoding="utf-8") for p in ("README.md", "docs/operations.md")}
    texts["apps authorize --help"] = run("apps", "authorize", "--help").stdout
    for where, text in texts.items():
        for value in re.findall(r"--credential (?:refresh_token|token|api_key)=(\S*)", text):
            assert value.startswith("-"), f"{where} shows a secret on the command line: {value}"
    assert "NAME=-" in " ".join(texts["apps authorize --help"].split())
