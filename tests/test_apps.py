"""My applications: install from the panel, see, reconfigure (the wrench) and remove (the bin) an app."""

from __future__ import annotations

import pytest
from helpers import authorize_app, install_app

import linkolis_host.cli.base

# -- install: the panel comes from the plugin's settings model --------------------------------------------------


def test_install_takes_the_defaults_of_the_settings_model(run):
    app = run.json("apps", "install", "testmarket", "--region", "EU")
    assert app["name"] == "Test Market"
    assert app["settings"] == {
        "name": "Test Market",
        "stock_sync": False,
        "stock_buffer": 0,
        "stock_max": None,
        "order_poll_minutes": None,
        "region": "EU",
        "shop": "main",
    }
    assert app["status"] == "installed"


def test_install_options_show_the_fields_help_and_defaults(run):
    help_text = run("apps", "install", "testmarket", "--help").stdout
    assert "--region" in help_text and "Where the shop sells" in help_text
    assert "--shop" in help_text and "[default: main]" in help_text
    assert "--stock-sync / --no-stock-sync" in help_text


def test_a_choice_is_case_insensitive_and_stored_as_the_model_spells_it(run):
    app = run.json("apps", "install", "testmarket", "--name", "Shop US", "--region", "us")
    assert app["settings"]["region"] == "US"


def test_a_choice_not_offered_is_refused_with_the_choices(run):
    result = run("apps", "install", "testmarket", "--region", "FR", code=2)
    assert "'FR' is not one of" in result.stderr
    assert run.json("apps", "list") == []


def test_a_missing_field_is_asked_for_on_a_terminal(run, monkeypatch):
    monkeypatch.setattr(linkolis_host.cli.base, "stdin_is_terminal", lambda: True)
    result = run("apps", "install", "testmarket", "--name", "Shop US", "--json", input="us\n")
    assert "Region" in result.stderr
    assert run.json("apps", "show", "Shop US")["settings"]["region"] == "US"


def test_a_missing_field_off_a_terminal_is_a_clear_error(run, monkeypatch):
    monkeypatch.setattr(linkolis_host.cli.base, "stdin_is_terminal", lambda: False)
    result = run("apps", "install", "testmarket", "--name", "Shop US", code=2)
    assert "missing --region (Region, one of: EU, US)" in result.stderr
    assert run.json("apps", "list") == []


def test_names_are_unique_whatever_their_case_and_spacing(run):
    install_app(run, "Shop EU", "EU")
    result = run("apps", "install", "testmarket", "--name", "  shop   eu ", "--region", "US", code=1)
    assert "an app named 'shop eu' is already installed; choose another name" in result.stderr
    assert [a["name"] for a in run.json("apps", "list")] == ["Shop EU"]


def test_an_app_is_found_by_its_name_in_any_case(run):
    install_app(run, "Shop EU", "EU")
    assert run.json("apps", "show", "SHOP eu")["name"] == "Shop EU"


def test_an_unknown_app_names_the_installed_ones(run):
    install_app(run, "Shop EU", "EU")
    result = run("apps", "show", "Shop FR", code=1)
    assert "no app named 'Shop FR' (apps: 'Shop EU')" in result.stderr


# -- list and show ----------------------------------------------------------------------------------------------


def test_list_and_show_give_status_and_last_import_and_push(run, app, market, clock):
    listed = run.json("apps", "list")
    assert [(a["name"], a["status"], a["last_import_at"], a["last_push_at"]) for a in listed] == [
        ("Shop EU", "authorized", None, None)
    ]
    market.add_order("O-1")
    run("orders", "import", "Shop EU")
    clock.advance(60)
    run("stock", "set", "SKU-A", "4")
    run("stock", "push", "Shop EU")
    shown = run.json("apps", "show", "Shop EU")
    assert shown["last_import_at"] == "2027-01-15T08:00:00+00:00"
    assert shown["last_push_at"] == "2027-01-15T08:01:00+00:00"
    assert shown["account_id"] == "SELLER1"
    assert shown["credentials"] == {"stored": True, "fields": ["token"]}
    assert shown == run.json("apps", "list")[0]


def test_list_in_words_shows_status_and_when_it_last_imported(run, app):
    text = run("apps", "list").stdout  # piped: name, kind, status, settings, last import, last push
    assert text == "Shop EU\ttestmarket\tauthorized\tstock_sync=yes, region=EU, shop=main\t-\t-\n"


# -- configure (the wrench) -------------------------------------------------------------------------------------


def test_a_stock_sync_change_keeps_the_authorization(run, app):
    changed = run.json("apps", "configure", "Shop EU", "--no-stock-sync")
    assert changed["settings"]["stock_sync"] is False
    assert changed["authorization_voided"] is False
    assert changed["status"] == "authorized"
    assert changed["account_id"] == "SELLER1"
    assert changed["credentials"]["stored"] is True


def test_a_change_to_a_verified_app_asks_for_verification_again(run, app):
    run("apps", "verify", "Shop EU")
    assert run.json("apps", "configure", "Shop EU", "--shop", "outlet")["status"] == "authorized"


def test_a_region_change_voids_the_authorization_and_deletes_the_credentials(run, app, host):
    result = run("apps", "configure", "Shop EU", "--region", "us")
    assert "voids the authorization" in result.stdout
    shown = run.json("apps", "show", "Shop EU")
    assert shown["settings"]["region"] == "US"
    assert (shown["status"], shown["account_id"], shown["credentials"]["stored"]) == ("installed", None, False)
    assert host.db["credentials"].count == 0
    run("orders", "import", "Shop EU", code=1)


def test_a_region_change_burns_an_authorization_started_for_the_old_region(run, host, market):
    from linkolis_host import apps

    install_app(run, "Shop EU", "EU")
    start = apps.start_authorization(host, "Shop EU", "http://127.0.0.1:1/callback")
    state = dict(p.split("=", 1) for p in start.url.split("?", 1)[1].split("&"))["state"]
    run("apps", "configure", "Shop EU", "--region", "US")
    result = run(
        "apps",
        "authorize",
        "Shop EU",
        "--redirect-url",
        f"http://127.0.0.1:1/callback?state={state}&code=good-SELLER1",
        code=1,
    )
    assert "not one we issued" in result.stderr
    assert run.json("apps", "show", "Shop EU")["status"] == "installed"


def test_renaming_to_a_taken_name_is_refused(run, app):
    install_app(run, "Shop US", "US")
    result = run("apps", "configure", "shop us", "--name", "SHOP EU", code=1)
    assert "already installed" in result.stderr
    assert sorted(a["name"] for a in run.json("apps", "list")) == ["Shop EU", "Shop US"]


def test_configure_with_nothing_to_change_says_so(run, app):
    result = run("apps", "configure", "Shop EU", code=2)
    assert "nothing to change" in result.stderr


# -- remove (the bin) -------------------------------------------------------------------------------------------


def test_remove_deletes_the_credentials_at_once_and_keeps_the_orders(run, app, market, host):
    market.add_order("O-1")
    run("orders", "import", "Shop EU")
    result = run("apps", "remove", "Shop EU", "--yes")
    assert "its orders kept" in result.stdout
    assert host.db["credentials"].count == 0
    assert host.db["plugin_state"].count == 0
    assert run.json("apps", "list") == []
    assert [o["marketplace_order_id"] for o in run.json("orders", "list")] == ["O-1"]


def test_remove_with_purge_deletes_the_orders_too(run, app, market, host):
    market.add_order("O-1", lines=2)
    run("orders", "import", "Shop EU")
    run("apps", "remove", "Shop EU", "--purge", "--yes")
    assert run.json("orders", "list") == []
    assert host.db["order_lines"].count == 0
    assert host.db["order_status_history"].count == 0


def test_remove_off_a_terminal_needs_yes(run, app, monkeypatch):
    monkeypatch.setattr(linkolis_host.cli.base, "stdin_is_terminal", lambda: False)
    result = run("apps", "remove", "Shop EU", code=2)
    assert "needs --yes" in result.stderr
    assert run.json("apps", "show", "Shop EU")["credentials"]["stored"] is True


@pytest.mark.parametrize("answer, kept", [("y\n", False), ("n\n", True)])
def test_remove_on_a_terminal_asks_first(run, app, monkeypatch, answer, kept):
    monkeypatch.setattr(linkolis_host.cli.base, "stdin_is_terminal", lambda: True)
    run("apps", "remove", "Shop EU", input=answer, code=None)
    assert bool(run.json("apps", "list")) is kept


def test_a_removed_name_can_be_installed_again_as_a_new_app(run, app, host):
    old_id = run.host.db.execute("SELECT id FROM apps").fetchone()[0]
    run("apps", "remove", "Shop EU", "--yes")
    again = install_app(run, "Shop EU", "EU")
    assert again["status"] == "installed" and again["account_id"] is None
    new_id = host.db.execute("SELECT id FROM apps WHERE status != 'removed'").fetchone()[0]
    assert new_id != old_id
    authorize_app(run, "Shop EU")  # the removed app's account no longer counts as taken


def test_an_app_removed_and_installed_again_for_the_same_account_lists_each_order_once(run, app, market):
    for n in range(3):
        market.add_order(f"ORDER-{n}", updated=n + 1)
    run("orders", "import", "Shop EU")
    run("orders", "ship", "ORDER-0", "--carrier", "DHL", "--tracking", "TRACK-0")
    run("apps", "remove", "Shop EU", "--yes")

    install_app(run, "Shop EU", "EU", "--stock-sync")
    authorize_app(run, "Shop EU")  # the same account as before
    market.add_order("ORDER-3", updated=4)
    run("orders", "import", "Shop EU")

    listed = run.json("orders", "list")
    assert sorted(o["marketplace_order_id"] for o in listed) == ["ORDER-0", "ORDER-1", "ORDER-2", "ORDER-3"]
    assert {o["app"] for o in listed} == {"Shop EU"}
    shipped = run.json("shipments", "list", "--app", "Shop EU")
    assert [(s["app"], s["order"]) for s in shipped] == [("Shop EU", "ORDER-0")]


def test_an_app_installed_again_for_another_account_takes_none_of_the_removed_ones_orders(run, app, market):
    market.add_order("ORDER-0")
    run("orders", "import", "Shop EU")
    run("apps", "remove", "Shop EU", "--yes")
    install_app(run, "Shop EU", "EU")
    authorize_app(run, "Shop EU", account="SELLER2")
    assert run.json("orders", "list", "--app", "Shop EU") == []
    assert len(run.json("orders", "list")) == 1  # the removed app's order stays, its own
