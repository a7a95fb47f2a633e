"""Which plugins are installed, as the operator's machine really lists them: one distribution seen twice is one
plugin; a plugin enabled but not installed stops every command with the same message."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from fakeplugins import FakeDistribution, with_fake_distributions

from linkolis_host.cli import cli
from linkolis_host.errors import PluginLoadError
from linkolis_host.plugins import build_plugin_manager, installed_plugins

OTHER = FakeDistribution("linkolis-othermarket", "2.0.1", {"other": "fakeplugins:othermarket"})


def test_one_distribution_found_twice_on_the_path_is_one_plugin(monkeypatch):
    # pytest run from a plugin's own folder: its source tree's metadata and site-packages' both list it, and the
    # two may spell the name differently (linkolis_othermarket.egg-info next to linkolis-othermarket).
    twice = FakeDistribution("linkolis_othermarket", "2.0.1", {"other": "fakeplugins:othermarket"})
    with_fake_distributions(monkeypatch, OTHER, twice)

    assert [(p.package, p.version) for p in installed_plugins()["other"]] == [("linkolis-othermarket", "2.0.1")]
    monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", "other")
    registry = build_plugin_manager()
    assert sorted(registry.kinds) == ["othermarket"]

    result = CliRunner().invoke(cli, ["plugins", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert [r for r in json.loads(result.stdout) if r["id"] == "other"] == [
        {"id": "other", "package": "linkolis-othermarket", "version": "2.0.1", "enabled": True}
    ]


@pytest.mark.parametrize(
    "second",
    [
        FakeDistribution("linkolis-othermarket", "1.9", {"other": "fakeplugins:othermarket"}),  # a stale old install
        FakeDistribution("linkolis-fork", "2.0.1", {"other": "fakeplugins:othermarket"}),
        FakeDistribution("linkolis-othermarket", "2.0.1", {"other": "fakeplugins:testmarket_twin"}),
    ],
    ids=["another version", "another distribution", "another entry point"],
)
def test_two_different_distributions_with_one_plugin_id_stay_an_error(monkeypatch, second):
    with_fake_distributions(monkeypatch, OTHER, second)
    with pytest.raises(PluginLoadError, match="two installed plugins have the id 'other'"):
        build_plugin_manager([])


@pytest.mark.parametrize(
    "command", [["apps", "list"], ["orders", "list"], ["stock", "list"], ["catalog"], ["plugins", "list"]]
)
def test_a_plugin_enabled_but_not_installed_stops_every_command_with_the_same_message(monkeypatch, command):
    monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", "nope")
    result = CliRunner().invoke(cli, [*command, "--json"])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), f"not a deliberate exit: {result.exception!r}"
    assert result.stdout == ""
    assert result.stderr.startswith("Error: plugin 'nope' is enabled but not installed (installed plugins: amazon")
    assert result.stderr.rstrip().endswith("install it or remove it from [plugins] enabled in linkolis.toml")
