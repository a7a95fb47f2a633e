"""The operator's story: a plugin's operator settings are given in linkolis.toml or in the environment, read once,
and handed to every hook as ``ctx.operator``; a wrong one is named with where it came from and the fix, and stops
only the hooks that need it."""

from __future__ import annotations

import json
import types

import pytest
import testmarket
from helpers import authorize_app, install_app

import linkolis_host.host
from linkolis_host import AppKind, OperatorSettings, hookimpl
from linkolis_host.errors import OperatorConfigError
from linkolis_host.host import Host
from linkolis_host.testing import Run

READ: list = []  # what each import found in ctx.operator


def import_orders(ctx, cursor):
    READ.append(ctx.operator)
    return testmarket.import_orders(ctx, cursor)


class OtherOperator(OperatorSettings):
    region: str = "EU"


other_shop = types.ModuleType("othershop")
other_shop.configure_fields = hookimpl(  # type: ignore[attr-defined]
    lambda: AppKind(
        kind="othershop",
        title="Other Shop",
        description="A second marketplace, set up right",
        settings=testmarket.TestMarketSettings,
        operator_settings=OtherOperator,
    )
)


@pytest.fixture
def linkolis(home, clock, market):
    """`linkolis …` as the operator runs it: a new host for each command, with the environment given."""
    READ.clear()
    plugin = types.ModuleType("testmarket")
    for hook in ("configure_fields", "authorize", "health_check"):
        setattr(plugin, hook, getattr(testmarket, hook))
    plugin.import_orders = hookimpl(import_orders)  # type: ignore[attr-defined]
    hosts = []

    def command(*args, env=None, code=0):
        host = Host(home, clock=clock, extra_plugins=[plugin, other_shop], env=env or {})
        hosts.append(host)
        return Run(host)(*args, code=code)

    first = Host(home, clock=clock, extra_plugins=[plugin, other_shop])
    hosts.append(first)
    install_app(Run(first), "Shop EU", "EU")
    authorize_app(Run(first), "Shop EU")
    market.add_order("O-1")
    yield command
    for host in hosts:
        host.close()


def operator_writes(home, text):
    home.mkdir(parents=True, exist_ok=True)
    (home / "linkolis.toml").write_text("[plugins.testmarket]\n" + text, encoding="utf-8")


def test_a_setting_in_linkolis_toml_reaches_the_hooks_and_the_environment_wins(linkolis, home):
    operator_writes(home, 'mode = "sandbox"\nendpoint = "https://market.example"\n')
    linkolis("orders", "import", "Shop EU")
    linkolis("orders", "import", "Shop EU", env={"LINKOLIS_TESTMARKET_ENDPOINT": "https://proxy.example"})

    from_file, from_both = READ
    assert (from_file.mode, from_file.endpoint) == ("sandbox", "https://market.example")
    assert (from_both.mode, from_both.endpoint) == ("sandbox", "https://proxy.example"), "the variable wins"


def test_a_value_kept_out_of_the_file_is_read_from_the_variable_it_names(linkolis, home):
    operator_writes(home, 'endpoint = "env:MARKET_URL"\n')

    linkolis("orders", "import", "Shop EU", env={"MARKET_URL": "https://market.example"})

    assert READ[0].endpoint == "https://market.example"


def test_a_variable_the_file_names_but_nobody_set_is_named_with_its_setting_and_file(linkolis, home):
    operator_writes(home, 'endpoint = "env:MARKET_URL"\n')

    refused = linkolis("orders", "import", "Shop EU", code=1)

    message = refused.stderr
    assert "the Test Market operator setting endpoint" in message
    assert f"`endpoint` under [plugins.testmarket] in {home / 'linkolis.toml'}" in message
    assert "refers to the environment variable MARKET_URL, which is not set: set MARKET_URL" in message
    assert "Traceback" not in refused.output
    assert json.loads(linkolis("apps", "show", "Shop EU", "--json").stdout)["status"] == "authorized", "as it was"
    verified = linkolis("apps", "verify", "Shop EU", "--json")  # a hook that does not read them still works
    assert json.loads(verified.stdout)["banner"] == "Module correctly installed"


def test_an_invalid_value_is_named_with_the_variable_it_came_from_and_other_plugins_still_start(linkolis, home, clock):
    refused = linkolis("orders", "import", "Shop EU", env={"LINKOLIS_TESTMARKET_MODE": "staging"}, code=1)

    message = refused.stderr
    assert "the Test Market operator setting mode from LINKOLIS_TESTMARKET_MODE is invalid" in message
    assert "'live' or 'sandbox'" in message and "correct it there" in message
    assert "staging" not in message, "a value is never repeated: it may be a secret"
    with Host(home, clock=clock, extra_plugins=[testmarket, other_shop], env={"LINKOLIS_TESTMARKET_MODE": "x"}) as host:
        assert host.operator_settings("othershop").region == "EU"
        with pytest.raises(OperatorConfigError, match="LINKOLIS_TESTMARKET_MODE"):
            host.operator_settings("testmarket")


def test_the_settings_are_read_once_however_many_hooks_run(home, clock, market, monkeypatch):
    loads = []
    load = linkolis_host.host.load_operator_settings
    monkeypatch.setattr(
        linkolis_host.host, "load_operator_settings", lambda kind, *a: loads.append(kind) or load(kind, *a)
    )
    operator_writes(home, 'mode = "sandbox"\n')
    with Host(home, clock=clock, extra_plugins=[testmarket]) as host:
        run = Run(host)
        install_app(run, "Shop EU", "EU")
        authorize_app(run, "Shop EU")
        for _ in range(3):
            run("orders", "import", "Shop EU")
        run("apps", "verify", "Shop EU")
        hooks, contexts = zip(*[(hook, ctx) for hook, ctx, _ in market.seen], strict=True)

        assert [k.kind for k in loads] == ["testmarket"], "read when the host loads its plugins, and never again"
        assert set(hooks) == {"authorize", "import_orders", "health_check"}
        assert all(ctx.operator is contexts[0].operator for ctx in contexts)

        host.env["LINKOLIS_TESTMARKET_MODE"] = "live"  # tests and the demo change a running host's environment
        run("orders", "import", "Shop EU")
        assert market.seen[-1][1].operator.mode == "live" and len(loads) == 2
