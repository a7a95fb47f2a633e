"""A third marketplace on the kits alone: Corner Shop (tests/corner_shop: an API key, one orders endpoint, one stock
endpoint) is a plugin on ``linkolis_host``'s public names, a simulator on ``linkolis_host.testing.simulator``'s, and
these tests use the pytest fixtures and the conformance kit and nothing of the host's own tests. Its size is what
docs/plugin-hooks.md states a new marketplace costs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import corner_shop.plugin
import pytest
from corner_shop.simulator import KEY, CornerShop

import linkolis_host
import linkolis_host.testing
import linkolis_host.testing.simulator
from linkolis_host import apps

SHOP = Path(corner_shop.plugin.__file__).parent
FILES = {"plugin": SHOP / "plugin.py", "simulator": SHOP / "simulator.py", "tests": Path(__file__)}
PUBLIC = {
    module.__name__: set(module.__all__)
    for module in (linkolis_host, linkolis_host.testing, linkolis_host.testing.simulator)
}


@pytest.fixture
def extra_plugins():
    return [corner_shop.plugin]


@pytest.fixture
def sim(clock):
    return CornerShop(clock)


@pytest.fixture
def transport(wire):
    return wire


def connect(run):
    run("apps", "install", "corner", "--name", "Corner", "--stock-sync")
    run("apps", "authorize", "Corner", "--credential", "api_key=-", input=KEY + "\n")


def test_corner_shop_keeps_the_hook_contract(conformance):
    conformance(
        corner_shop.plugin,
        authorize=lambda host, name: apps.authorize_direct(host, name, {"api_key": KEY}),
        stock=[("MUG-1", 5), ("NOT-LISTED", 1)],
    )


def test_a_seller_connects_the_shop_and_an_order_there_lowers_what_it_is_offered(run, sim):
    connect(run)
    assert run.json("apps", "show", "Corner")["account_id"] == "corner-42"
    assert run.json("apps", "verify", "Corner")["status"] == "verified"
    sim.place("C-1", "MUG-1", qty=2)
    run("orders", "import", "Corner")
    assert [o["marketplace_order_id"] for o in run.json("orders", "list", "--app", "Corner")] == ["C-1"]
    run("stock", "set", "MUG-1", "10")
    run("stock", "push", "Corner")
    assert sim.stock["MUG-1"] == 8  # ten on hand, two reserved by the open order


def test_a_key_the_shop_does_not_know_is_refused_and_nothing_is_stored(run):
    run("apps", "install", "corner", "--name", "Corner")
    refused = run("apps", "authorize", "Corner", "--credential", "api_key=-", input="key-0\n", code=None)
    assert refused.exit_code != 0 and "does not know this API key" in refused.stderr
    assert run.json("apps", "show", "Corner")["status"] == "installed"


def test_an_operator_setting_out_of_range_is_named_with_its_variable(run, host):
    connect(run)
    host.env = {**host.env, "LINKOLIS_CORNER_FIRST_IMPORT_DAYS": "400"}
    failed = run("orders", "import", "Corner", code=None)
    assert failed.exit_code != 0 and "LINKOLIS_CORNER_FIRST_IMPORT_DAYS" in failed.stderr


def test_the_shop_uses_only_the_kits_public_names():
    for path in SHOP.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("linkolis_host"):
                assert node.module in PUBLIC, f"{path.name} imports {node.module}"
                unknown = {alias.name for alias in node.names} - PUBLIC[node.module]
                assert not unknown, f"{path.name} imports {unknown} from {node.module}, not public"


def test_what_a_new_marketplace_costs_is_stated_as_it_is():
    doc = (SHOP.parents[1] / "docs" / "plugin-hooks.md").read_text(encoding="utf-8")
    lines = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in FILES.items()}
    stated = dict(re.findall(r"\*\*(\d+) lines of (plugin|simulator|tests)\*\*", doc))
    assert {kind: int(n) for n, kind in stated.items()} == lines
    assert f"a {len((SHOP / 'openapi.json').read_text(encoding='utf-8').splitlines())}-line OpenAPI file" in doc
