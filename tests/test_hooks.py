"""Each hook of the contract, exercised through the host: what the plugin is handed, and what the host does with
its answer. docs/plugin-hooks.md documents each; test_docs.py checks that each has its test_hook_<name> here."""

from __future__ import annotations

import logging

import pytest
import testmarket
from click.testing import CliRunner
from helpers import authorize_app, install_app, token_of

from linkolis_host import RateLimit, StockItem, VirtualClock, apps
from linkolis_host.cli import cli
from linkolis_host.clock import Clock
from linkolis_host.context import Context, Progress, StateStore
from linkolis_host.errors import PluginLoadError
from linkolis_host.host import Host
from linkolis_host.plugins import build_plugin_manager


def calls(market, hook):
    return [(ctx, args) for name, ctx, args in market.seen if name == hook]


def test_hook_configure_fields(run, host):
    [entry] = run.json("catalog")
    assert (entry["kind"], entry["title"]) == ("testmarket", "Test Market")
    assert entry["authorization"] == "oauth + direct credentials"
    fields = {f["name"]: f for f in entry["fields"]}
    assert list(fields) == ["name", "stock_sync", "stock_buffer", "stock_max", "order_poll_minutes", "region", "shop"]
    assert fields["region"] == {
        "name": "region",
        "title": "Region",
        "help": "Where the shop sells",
        "type": "choice",
        "choices": ["EU", "US"],
        "choice_titles": {},
        "default": None,
        "required": True,
    }
    assert (fields["shop"]["default"], fields["stock_sync"]["type"]) == ("main", "bool")
    assert host.registry.kind("testmarket").rate_limits == {"orders": RateLimit(rate=1, burst=2)}

    def bad_entry():
        return {"kind": "Test Market", "title": "T", "description": "D", "settings": testmarket.TestMarketSettings}

    plugin = type("Bad", (), {"configure_fields": staticmethod(testmarket.hookimpl(bad_entry))})()
    with pytest.raises(PluginLoadError, match="returned an invalid catalog entry"):
        build_plugin_manager(extra_plugins=[plugin])


def test_hook_authorize(run, host, market, browser):
    install_app(run, "Shop EU", "EU")
    run("apps", "authorize", "Shop EU")
    (start_ctx, start), (complete_ctx, complete) = calls(market, "authorize")
    assert start["step"] == "start" and set(start["params"]) == {"state", "redirect_uri"}
    assert start["params"]["redirect_uri"].startswith("http://127.0.0.1:")
    assert start_ctx.credentials is None and start_ctx.app.settings.region == "EU"
    assert complete["step"] == "complete"
    assert complete["params"]["state"] == start["params"]["state"], "the host checked it before the plugin saw it"
    assert complete["params"]["code"] == "good-SELLER1"
    assert complete["params"]["redirect_uri"] == start["params"]["redirect_uri"]

    market.seen.clear()
    authorize_app(run, "Shop EU", "SELLER1")
    [(ctx, direct)] = calls(market, "authorize")
    assert direct == {"step": "direct", "params": {"token": token_of("SELLER1"), "account": "SELLER1"}}
    assert ctx.credentials == {"token": token_of("SELLER1")}, "a renewal sees the previous authorization's"


def test_hook_import_orders(run, home, clock, app, market):
    (home / "linkolis.toml").write_text('[plugins.testmarket]\nendpoint = "https://market.example"\n')
    host = Host(home, clock=clock, extra_plugins=[testmarket], env={"LINKOLIS_TESTMARKET_MODE": "sandbox"})
    run.host = host
    try:
        for n in range(1, 4):
            market.add_order(f"O-{n}", updated=n)
        run("orders", "import", app)
        run("orders", "import", app)
    finally:
        host.close()
    (first, first_args), (second, second_args) = calls(market, "import_orders")
    assert first_args == {"cursor": None}
    assert second_args == {"cursor": {"since": 3}}, "the cursor of the last batch committed"

    ctx: Context = first
    assert ctx.app.name == "Shop EU" and ctx.app.account_id == "SELLER1" and ctx.app.status.value == "authorized"
    assert isinstance(ctx.app.settings, testmarket.TestMarketSettings)
    assert ctx.credentials == {"token": token_of("SELLER1")}
    assert ctx.operator.endpoint == "https://market.example", "the operator's setting from linkolis.toml"
    assert ctx.http.limits == {"orders": RateLimit(rate=1, burst=2)}
    assert ctx.http.bucket_prefix == "testmarket:SELLER1"
    assert isinstance(ctx.state, StateStore) and isinstance(ctx.clock, Clock) and ctx.clock is clock
    assert isinstance(ctx.log, logging.Logger) and ctx.log.name == "linkolis.testmarket"
    assert isinstance(ctx.progress, Progress)
    assert ctx.operator.mode == "sandbox", "and from the environment"


def test_the_state_store_is_the_apps_own(host, app, run, market):
    install_app(run, "Shop US", "US")
    authorize_app(run, "Shop US", "SELLER2")
    eu, us = host.context(apps.get(host, "Shop EU")), host.context(apps.get(host, "Shop US"))
    eu.state.set("token", {"value": "cached"})
    assert eu.state.get("token") == {"value": "cached"} and us.state.get("token") is None
    assert eu.state.keys("to") == ["token"]
    run("apps", "remove", "Shop EU", "--yes")
    assert host.db["plugin_state"].count == 0


def test_hook_push_stock(run, app, market):
    run("stock", "set", "SKU-A", "5")
    run("stock", "set", "SKU-B", "2")
    run("stock", "push")
    run("stock", "set", "SKU-B", "3")
    market.pending_once.add("SKU-B")
    run("stock", "push")
    run("stock", "push")
    items = [args["items"] for _, args in calls(market, "push_stock")]
    assert items == [
        [StockItem(sku="SKU-A", quantity=5), StockItem(sku="SKU-B", quantity=2)],
        [StockItem(sku="SKU-B", quantity=3)],  # only what differs from what was last pushed
        [],  # nothing new: the call only collects the pending outcome
    ]
    assert market.listings == {"SKU-A": 5, "SKU-B": 3}


def test_hook_read_stock(run, app, market):
    run("stock", "set", "SKU-A", "5")
    run("stock", "set", "SKU-B", "2")
    run("stock", "push")
    run("stock", "set", "SKU-B", "4")
    run("stock", "push", "--dry-run")
    run("stock", "verify", code=None)
    assert [args["skus"] for _, args in calls(market, "read_stock")] == [["SKU-B"], ["SKU-A", "SKU-B"]]


def test_hook_health_check(run, app, market):
    report = run.json("apps", "verify", app)
    [(ctx, _)] = calls(market, "health_check")
    assert ctx.credentials == {"token": token_of("SELLER1")}
    assert [c["name"] for c in report["checks"]] == ["credentials present", "token works"]
    assert report["banner"] == "Module correctly installed"


def test_hook_cancel_order(run, app, market):
    market.add_order("O-1", lines=2)
    market.buyer_asks_to_cancel("O-1", "found it cheaper")
    run("orders", "import", app)
    run("orders", "ship", "O-1", "--carrier", "DHL", "--tracking", "T1", "--line", "0=1", "--yes")
    run("shipments", "push")  # line 0 is shipped: only line 1 is left to cancel
    result = run.json("orders", "cancel", "O-1", "--yes")
    [(ctx, args)] = calls(market, "cancel_order")
    cancellation = args["cancellation"]
    assert (cancellation.marketplace_order_id, cancellation.lines, cancellation.reason) == (
        "O-1",
        [("1", 1)],
        "requested_by_buyer",
    )
    assert ctx.app.name == "Shop EU" and ctx.credentials == {"token": token_of("SELLER1")}
    assert result["status"] == "accepted"
    assert run.json("orders", "show", "O-1")["status"] == "cancelled"


def test_hook_demo_environment(market, tmp_path, monkeypatch):
    import linkolis_host.demo

    monkeypatch.setattr(
        linkolis_host.demo, "Host", lambda home: Host(home, clock=VirtualClock(), extra_plugins=[testmarket])
    )
    result = CliRunner().invoke(cli, ["demo", "--home", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "The test market, in this very process." in result.stdout
    assert "Module correctly installed" in result.stdout
    assert "3 new orders" in result.stdout
    assert market.listings == {"SKU-A": 3}
    assert market.demo_closed
    [(ctx, _)] = calls(market, "health_check")
    assert ctx.operator.demo_home == str(tmp_path / "demo"), "the stand-in's environment reaches hooks"
