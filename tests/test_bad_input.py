"""Whatever a seller or operator gets wrong: a clear message, a non-zero exit, no traceback, nothing changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pytest
from click.testing import CliRunner
from helpers import dump_database, install_app

import linkolis_host.cli.base
from linkolis_host.cli import cli


def nothing(run, home):
    pass


def shop_installed(run, home):
    install_app(run, "Shop EU", "EU")


def config(text: str) -> Callable:
    def write(run, home, monkeypatch=None):
        (home / "linkolis.toml").write_text(text, encoding="utf-8")

    return write


@dataclass
class Case:
    args: list[str]
    message: str
    setup: Callable = nothing
    own_host: bool = False  # the CLI builds its Host from LINKOLIS_HOME, as it does for real (reads the config)
    env: dict[str, str | None] = field(default_factory=dict)


CASES = {
    "unknown kind": Case(
        ["apps", "install", "shopify"], "no plugin offers the app kind 'shopify' (available: testmarket)"
    ),
    "duplicate name": Case(
        ["apps", "install", "testmarket", "--name", "SHOP eu", "--region", "US"],
        "an app named 'SHOP eu' is already installed",
        shop_installed,
    ),
    "missing field": Case(
        ["apps", "install", "testmarket", "--name", "Shop US"], "missing --region (Region, one of: EU, US)"
    ),
    "choice not allowed": Case(
        ["apps", "install", "testmarket", "--region", "FR"], "Invalid value for '--region': 'FR' is not one of"
    ),
    "invalid field value": Case(
        ["apps", "install", "testmarket", "--region", "EU", "--name", " "],
        "invalid settings for a Test Market app:\n  name: the application name cannot be empty",
    ),
    "invalid field on configure": Case(
        ["apps", "configure", "Shop EU", "--name", "x" * 81],
        "name: the application name is at most 80 characters",
        shop_installed,
    ),
    "unknown app": Case(["apps", "show", "Shop FR"], "no app named 'Shop FR' (apps: 'Shop EU')", shop_installed),
    "unknown app to configure": Case(["apps", "configure", "Shop FR", "--region", "US"], "no app named 'Shop FR'"),
    "unknown app to sync": Case(["sync", "Shop FR"], "no app named 'Shop FR' (apps: none installed yet)"),
    "import of an app not authorized": Case(
        ["orders", "import", "Shop EU"], "'Shop EU' is not authorized yet", shop_installed
    ),
    "push to an app not authorized": Case(
        ["stock", "push", "Shop EU"], "'Shop EU' is not authorized yet", shop_installed
    ),
    "unknown order": Case(["orders", "show", "O-404"], "no order 'O-404'"),
    "stock file missing": Case(["stock", "load", "/nonexistent/stock.csv"], "cannot read /nonexistent/stock.csv"),
    "config is not TOML": Case(
        ["apps", "list"], "linkolis.toml is not valid TOML", config("plugins = ["), own_host=True
    ),
    "config with an unknown key": Case(
        ["apps", "list"],
        "has invalid settings:\n  server: Extra inputs are not permitted",
        config("[server]\nport = 8080\n"),
        own_host=True,
    ),
    "config with a bad value": Case(
        ["catalog"], "http.timeout: Input should be greater than 0", config("[http]\ntimeout = -1\n"), own_host=True
    ),
    "config is a directory": Case(
        ["apps", "list"],
        "linkolis.toml is a directory; the configuration must be a TOML file",
        lambda run, home: (home / "linkolis.toml").mkdir(),
        own_host=True,
    ),
    "enabled plugin not installed": Case(
        ["catalog"],
        "plugin 'nope' is enabled but not installed (installed plugins: ",
        config('[plugins]\nenabled = ["nope"]\n'),
        own_host=True,
        env={"LINKOLIS_LOAD_PLUGINS": None},
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_is_explained_and_changes_nothing(case, run, host, home, monkeypatch):
    monkeypatch.setattr(linkolis_host.cli.base, "stdin_is_terminal", lambda: False)
    for name, value in case.env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    case.setup(run, home)
    before = dump_database(host.db_path)

    runner = CliRunner()
    result = runner.invoke(cli, case.args) if case.own_host else runner.invoke(cli, case.args, obj=host)

    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), f"not a deliberate exit: {result.exception!r}"
    assert case.message in result.output
    assert "Traceback" not in result.output
    assert dump_database(host.db_path) == before
