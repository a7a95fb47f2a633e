"""A plugin that answers a hook with the wrong shape is reported as that plugin's fault, by name and hook, never
as a traceback; and every HTTP client a hook's context opens is closed again, whatever the command."""

from __future__ import annotations

import types

import pytest
import testmarket
from cryptography.fernet import Fernet
from helpers import authorize_app, install_app, token_of

from linkolis_host import hookimpl
from linkolis_host.host import Host
from linkolis_host.http import HttpClient

HOOKS = ("configure_fields", "authorize", "import_orders", "push_stock", "read_stock", "health_check")


def sloppy(**hooks):
    """The test market, as a plugin called "sloppymarket", with some hooks answering the wrong shape."""
    plugin = types.ModuleType("sloppymarket")
    for hook in HOOKS:
        setattr(plugin, hook, hookimpl(hooks[hook]) if hook in hooks else getattr(testmarket, hook))
    return plugin


def bad_health(ctx):
    return [{"name": "token works", "status": "fine"}]


def bad_outcomes(ctx, items):
    for item in items:
        yield {"sku": item.sku, "status": "done"}


def bad_batches(ctx, cursor):
    yield {"orders": [{"marketplace_order_id": "O-1", "status": "unshipped"}], "cursor": {}}


@pytest.fixture
def hooks():
    """The hooks a test replaces (a test parametrizes this); none by default."""
    return {}


@pytest.fixture
def host(home, clock, market, hooks):
    made = Host(home, clock=clock, extra_plugins=[sloppy(**hooks) if hooks else testmarket])
    yield made
    made.close()


@pytest.fixture
def sloppy_app(run):
    install_app(run, "Shop EU", "EU", "--stock-sync")
    authorize_app(run, "Shop EU")
    return "Shop EU"


def assert_reported(result, hook, model):
    assert result.exit_code == 1
    assert f"the sloppymarket plugin's {hook} answered something that is not a {model}" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("hooks", [{"health_check": bad_health}])
def test_a_malformed_health_report_names_the_plugin_and_the_hook(run, sloppy_app):
    result = run("apps", "verify", "Shop EU", code=1)

    assert_reported(result, "health_check", "HealthCheck")
    assert "status:" in result.stderr


@pytest.mark.parametrize("hooks", [{"push_stock": bad_outcomes}])
def test_a_malformed_stock_outcome_names_the_plugin_and_the_hook(run, sloppy_app):
    run("stock", "set", "SKU-A", "5")

    result = run("stock", "push", code=1)

    assert_reported(result, "push_stock", "StockOutcome")


@pytest.mark.parametrize("hooks", [{"import_orders": bad_batches}])
def test_a_malformed_order_batch_names_the_plugin_and_the_hook(run, sloppy_app, host):
    result = run("orders", "import", code=1)

    assert_reported(result, "import_orders", "OrderBatch")
    assert host.db["orders"].count == 0 and host.db["sync_cursors"].count == 0


# -- every HTTP client is closed --------------------------------------------------------------------------------


@pytest.fixture
def clients(monkeypatch):
    """Counts the HTTP clients made and closed."""
    counts = {"opened": 0, "closed": 0}
    made, closed = HttpClient.__init__, HttpClient.close

    def counting_init(self, *args, **kwargs):
        counts["opened"] += 1
        made(self, *args, **kwargs)

    def counting_close(self):
        counts["closed"] += 1
        closed(self)

    monkeypatch.setattr(HttpClient, "__init__", counting_init)
    monkeypatch.setattr(HttpClient, "close", counting_close)
    return counts


def test_every_http_client_a_command_opens_is_closed(run, market, clients):
    market.add_order("O-1")
    install_app(run, "Shop EU", "EU", "--stock-sync")
    authorize_app(run, "Shop EU")
    run("apps", "verify", "Shop EU")
    run("orders", "import")
    run("stock", "set", "SKU-A", "5")
    run("stock", "push")
    run("stock", "set", "SKU-A", "6")
    run("stock", "push", "--dry-run")
    run("stock", "verify", "Shop EU", code=None)
    run("sync")
    market.revoked.add(token_of("SELLER1"))
    run("orders", "import", code=1)  # a hook that fails closes its client too

    assert clients["opened"] >= 9
    assert clients["closed"] == clients["opened"]


def test_a_context_that_cannot_be_built_leaves_no_client_open(run, home, clock, monkeypatch, clients):
    install_app(run, "Shop EU", "EU")
    authorize_app(run, "Shop EU")
    monkeypatch.setenv("LINKOLIS_SECRET_KEY", Fernet.generate_key().decode())  # not the key that sealed them
    with Host(home, clock=clock, extra_plugins=[testmarket]) as other:
        result = type(run)(other)("orders", "import", "Shop EU", code=1)

    assert "cannot be opened with this secret key" in result.stderr
    assert clients["closed"] == clients["opened"]
