"""Two seller businesses on one Linkolis: each workspace sees and pushes only its own apps, orders and stock."""

from __future__ import annotations

import sqlite3

import pytest
import testmarket
from helpers import token_of

from linkolis_host import store, workspaces
from linkolis_host.host import Host

ANNA, BRAM = "Anna's shop", "Bram's shop"


def in_workspace(run, workspace, *args, code=0):
    return run.json("--workspace", workspace, *args, code=code)


def set_up_two_shops(run, anna_app="Shop", bram_app="Shop"):
    run("workspaces", "add", ANNA)
    run("workspaces", "add", BRAM)
    for workspace, name, account in ((ANNA, anna_app, "SELLER1"), (BRAM, bram_app, "SELLER2")):
        in_workspace(run, workspace, "apps", "install", "testmarket", "--name", name, "--region", "EU", "--stock-sync")
        run(
            "--workspace",
            workspace,
            "apps",
            "authorize",
            name,
            "--credential",
            f"token={token_of(account)}",
            "--credential",
            f"account={account}",
        )


def pushed_items(market, since):
    """(app id, sku, quantity) of every SKU the plugin was handed after the first ``since`` calls."""
    return [
        (ctx.app.id, item.sku, item.quantity)
        for hook, ctx, args in market.seen[since:]
        if hook == "push_stock"
        for item in args["items"]
    ]


def test_two_workspaces_each_push_and_list_only_their_own_stock(run, market):
    set_up_two_shops(run)  # one app name in two workspaces: each workspace names its apps
    listed = {w["name"]: w["apps"] for w in run.json("workspaces", "list")}
    assert listed == {ANNA: 1, BRAM: 1}
    anna_id = in_workspace(run, ANNA, "apps", "list")
    assert [a["name"] for a in anna_id] == ["Shop"]
    with Host(run.host.home) as host:
        ids = {
            ws: next(
                r[0]
                for r in host.db.execute(
                    "SELECT a.id FROM apps a JOIN workspaces w ON w.id = a.workspace_id WHERE w.name = ?", (ws,)
                )
            )
            for ws in (ANNA, BRAM)
        }

    in_workspace(run, ANNA, "stock", "set", "SKU-A", "5")
    in_workspace(run, BRAM, "stock", "set", "SKU-B", "7")
    seen = len(market.seen)
    assert in_workspace(run, BRAM, "stock", "push")["sent"] == 1
    assert pushed_items(market, seen) == [(ids[BRAM], "SKU-B", 7)]  # Anna's SKU never reaches Bram's app
    assert [r["sku"] for r in in_workspace(run, BRAM, "stock", "list")] == ["SKU-B"]
    assert [r["sku"] for r in in_workspace(run, ANNA, "stock", "list")] == ["SKU-A"]

    # One SKU in both workspaces is two stock levels.
    in_workspace(run, BRAM, "stock", "set", "SKU-A", "1")
    seen = len(market.seen)
    in_workspace(run, ANNA, "stock", "push")
    assert pushed_items(market, seen) == [(ids[ANNA], "SKU-A", 5)]

    # `sync` without --workspace serves every workspace, each app with its own workspace's quantities.
    in_workspace(run, ANNA, "stock", "set", "SKU-A", "4")
    seen = len(market.seen)
    results = run.json("sync")
    assert len(results) == 2
    assert sorted(pushed_items(market, seen)) == sorted([(ids[ANNA], "SKU-A", 4), (ids[BRAM], "SKU-A", 1)])


def test_one_workspace_does_not_see_anothers_orders(run, market):
    set_up_two_shops(run, "Anna EU", "Bram EU")
    market.add_order("O-1", updated=1)
    market.add_order("O-2", updated=2)
    in_workspace(run, ANNA, "orders", "import")
    anna_orders = in_workspace(run, ANNA, "orders", "list")
    assert sorted(o["marketplace_order_id"] for o in anna_orders) == ["O-1", "O-2"]
    assert in_workspace(run, ANNA, "orders", "show", "O-1")["app"] == "Anna EU"

    assert in_workspace(run, BRAM, "orders", "list") == []
    for ref in ("O-1", str(anna_orders[0]["id"])):  # neither Amazon's order id nor the host's id
        refused = run("--workspace", BRAM, "orders", "show", ref, code=1)
        assert f"no order {ref!r}" in refused.output
    assert "no app named 'Anna EU'" in run("--workspace", BRAM, "orders", "list", "--app", "Anna EU", code=1).output


def test_with_several_workspaces_a_command_says_which_to_choose(run, market, monkeypatch):
    set_up_two_shops(run, "Anna EU", "Bram EU")
    refused = run("apps", "list", code=1)
    assert "several workspaces" in refused.output and ANNA in refused.output and BRAM in refused.output
    unknown = run("--workspace", "Carla", "apps", "list", code=1)
    assert "no workspace named 'Carla'" in unknown.output
    monkeypatch.setenv("LINKOLIS_WORKSPACE", BRAM)
    assert [a["name"] for a in run.json("apps", "list")] == ["Bram EU"]


def test_an_account_connected_in_one_workspace_cannot_be_connected_in_another(run, market):
    run("workspaces", "add", ANNA)
    run("workspaces", "add", BRAM)
    for workspace, name in ((ANNA, "Anna EU"), (BRAM, "Bram EU")):
        in_workspace(run, workspace, "apps", "install", "testmarket", "--name", name, "--region", "EU")
    run(
        "--workspace",
        ANNA,
        "apps",
        "authorize",
        "Anna EU",
        "--credential",
        f"token={token_of('SELLER1')}",
        "--credential",
        "account=SELLER1",
    )
    refused = run(
        "--workspace",
        BRAM,
        "apps",
        "authorize",
        "Bram EU",
        "--credential",
        f"token={token_of('SELLER1')}",
        "--credential",
        "account=SELLER1",
        code=1,
    )
    assert "another workspace" in refused.output and "across all workspaces" in refused.output
    assert "Anna EU" not in refused.output  # another workspace's app names are its own
    assert in_workspace(run, BRAM, "apps", "show", "Bram EU")["account_id"] is None


def test_a_fresh_data_directory_makes_a_default_workspace_on_first_write(run, market):
    assert run.json("apps", "list") == []  # reading makes nothing
    assert run.json("workspaces", "list") == []
    run("stock", "set", "SKU-1", "3")
    assert run.json("workspaces", "list") == [{"id": 1, "name": "Default", "time_zone": "Europe/Amsterdam", "apps": 0}]


def test_each_workspace_reads_times_in_its_own_time_zone(run):
    run("workspaces", "add", ANNA)
    run("workspaces", "add", BRAM, "--time-zone", "Europe/London")
    assert {w["name"]: w["time_zone"] for w in run.json("workspaces", "list")} == {
        ANNA: "Europe/Amsterdam",
        BRAM: "Europe/London",
    }
    assert run.json("workspaces", "set", ANNA, "--time-zone", "America/New_York")["time_zone"] == "America/New_York"
    refused = run("workspaces", "set", BRAM, "--time-zone", "Mars/Olympus", code=1)
    assert "'Mars/Olympus' is not a time zone" in refused.stderr and "Traceback" not in refused.output
    assert {w["name"]: w["time_zone"] for w in run.json("workspaces", "list")} == {
        ANNA: "America/New_York",
        BRAM: "Europe/London",
    }


def _database_before_workspaces(home, workspace=None):
    """A data directory as linkolis left it before workspaces scoped data: an app, an order, a stock level."""
    home.mkdir(parents=True)
    conn = sqlite3.connect(str(home / store.DB_FILE))
    old = store.HostDatabase(conn)
    store.migrations.apply(old, stop_before="m009_workspace_data")
    if workspace:
        old.execute("INSERT INTO workspaces (name, name_key) VALUES (?, ?)", (workspace, workspace.casefold()))
    old.execute(
        "INSERT INTO apps (id, name, name_key, kind, settings, status) VALUES "
        '(1, \'Shop EU\', \'shop eu\', \'testmarket\', \'{"name": "Shop EU", "region": "EU", '
        "\"stock_sync\": true}', 'installed')"
    )
    old.execute(
        "INSERT INTO orders (id, app_id, marketplace_order_id, marketplace, status, created_at, "
        "updated_at, line_count) VALUES (1, 1, 'O-OLD', 'EU', 'shipped', '2026-01-01T00:00:00+00:00', "
        "'2026-01-01T00:00:00+00:00', 0)"
    )
    old.execute("INSERT INTO desired_stock (sku, quantity, version) VALUES ('SKU-OLD', 9, 1)")
    conn.commit()
    conn.close()


@pytest.mark.sqlite_only("a SQLite database from an older version, migrated")
def test_data_from_before_workspaces_moves_into_a_default_workspace(home, clock, market, run):
    run.host.close()
    import shutil

    shutil.rmtree(home)
    _database_before_workspaces(home)
    with Host(home, clock=clock, extra_plugins=[testmarket]) as host:
        run.host = host
        assert run.json("workspaces", "list") == [
            {"id": 1, "name": "Default", "time_zone": "Europe/Amsterdam", "apps": 1}
        ]
        assert [a["name"] for a in run.json("apps", "list")] == ["Shop EU"]
        assert run.json("orders", "show", "O-OLD")["app"] == "Shop EU"
        assert [(r["sku"], r["on_hand"]) for r in run.json("stock", "list")] == [("SKU-OLD", 9)]
        # Names are unique per workspace now: another workspace may have its own "Shop EU".
        run("workspaces", "add", ANNA)
        in_workspace(run, ANNA, "apps", "install", "testmarket", "--name", "Shop EU", "--region", "EU")
        assert in_workspace(run, ANNA, "stock", "list") == []


@pytest.mark.sqlite_only("a SQLite database from an older version, migrated")
def test_data_from_before_workspaces_moves_into_the_only_workspace_there_was(home, clock, market):
    _database_before_workspaces(home, workspace=ANNA)
    with Host(home, clock=clock, extra_plugins=[testmarket]) as host:
        assert [w.name for w in workspaces.list_workspaces(host)] == [ANNA]
        assert host.db.execute("SELECT DISTINCT workspace_id FROM apps").fetchall() == [(1,)]
        assert host.db.execute("SELECT DISTINCT workspace_id FROM desired_stock").fetchall() == [(1,)]
