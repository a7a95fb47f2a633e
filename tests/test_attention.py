""" "Needs attention" is the seller's to-do: an operator's mistake never puts it there, and a run that works again
takes it away."""

from __future__ import annotations

import types

import pytest
import testmarket
from helpers import token_of

from linkolis_host import HealthCheck, OperatorConfigError, hookimpl
from linkolis_host.host import Host

HOOKS = ("configure_fields", "authorize", "import_orders", "push_stock", "read_stock", "health_check")


def operator_check(ctx):
    return [
        HealthCheck(name="credentials present", status="ok"),
        HealthCheck(
            name="operator settings",
            status="failed",
            detail="the client id is not set",
            remedy="the host operator sets it (see docs/operations.md)",
            operator=True,
        ),
    ]


def operator_import(ctx, cursor):
    raise OperatorConfigError("the client id is not set: the host operator sets LINKOLIS_TESTMARKET_CLIENT_ID")


def mixed_check(ctx):
    return [
        *operator_check(ctx),
        HealthCheck(name="orders readable", status="failed", detail="the shop is closed", remedy="open it"),
    ]


@pytest.fixture
def hooks():
    return {}


@pytest.fixture
def host(home, clock, market, hooks):
    plugin = types.ModuleType("testmarket")
    for hook in HOOKS:
        setattr(plugin, hook, hookimpl(hooks[hook]) if hook in hooks else getattr(testmarket, hook))
    made = Host(home, clock=clock, extra_plugins=[plugin])
    yield made
    made.close()


def status(run, name="Shop EU"):
    return run.json("apps", "show", name)["status"]


@pytest.mark.parametrize("hooks", [{"health_check": operator_check}])
def test_a_check_the_operator_must_fix_is_shown_but_leaves_the_sellers_app_as_it_was(run, app):
    report = run.json("apps", "verify", app, code=1)

    assert report["ok"] is False
    failed = [c for c in report["checks"] if c["status"] == "failed"]
    assert [(c["name"], c["operator"]) for c in failed] == [("operator settings", True)]
    assert status(run) == "authorized"
    text = run("apps", "verify", app, code=1)
    assert "the host operator sets it" in text.stdout


@pytest.mark.parametrize("hooks", [{"health_check": mixed_check}])
def test_a_check_the_seller_must_fix_next_to_an_operators_one_needs_attention_for_the_sellers(run, app):
    run("apps", "verify", app, code=1)

    assert status(run) == "needs attention: the shop is closed"


@pytest.mark.parametrize("hooks", [{"import_orders": operator_import}])
def test_missing_operator_settings_stop_an_import_without_touching_the_sellers_app(run, app):
    result = run("orders", "import", code=1)

    assert "the host operator sets LINKOLIS_TESTMARKET_CLIENT_ID" in result.stderr
    assert "Traceback" not in result.output
    assert status(run) == "authorized"
    assert run.json("apps", "show", app)["last_import_at"] is None


def test_a_later_successful_import_clears_needs_attention(run, app, market):
    market.add_order("O-1")
    market.revoked.add(token_of("SELLER1"))
    run("orders", "import", code=1)
    assert status(run).startswith("needs attention")

    market.revoked.clear()  # the seller sorted it out at the marketplace
    run("orders", "import")

    assert status(run) == "authorized"


def test_a_later_successful_verify_clears_needs_attention(run, app, market):
    market.revoked.add(token_of("SELLER1"))
    run("apps", "verify", app, code=1)
    assert status(run) == "needs attention: authorization revoked"

    market.revoked.clear()
    run("apps", "verify", app)

    assert status(run) == "verified"
