"""The operator enables plugins; the host loads exactly those, and says plainly when it cannot."""

from __future__ import annotations

import json

import fakeplugins
import pytest
import testmarket
from click.testing import CliRunner
from fakeplugins import FakeDistribution, with_fake_distributions

from linkolis_host.cli import cli
from linkolis_host.errors import PluginLoadError
from linkolis_host.plugins import build_plugin_manager, enabled_from, installed_plugins

OTHER = FakeDistribution("linkolis-othermarket", "2.0.1", {"other": "fakeplugins:othermarket"})
TWIN = FakeDistribution("linkolis-twin", "0.3", {"twin": "fakeplugins:testmarket_twin"})


def loaded_names(registry) -> set[str]:
    return {registry.pm.get_name(p) for p in registry.pm.get_plugins()}


def test_a_plugin_enabled_but_not_installed_is_an_error_that_lists_what_is_installed(monkeypatch):
    monkeypatch.delenv("LINKOLIS_LOAD_PLUGINS")
    with pytest.raises(PluginLoadError) as error:
        build_plugin_manager(["nope"])
    message = str(error.value)
    assert "'nope' is enabled but not installed" in message
    assert "amazon" in message.split("installed plugins: ", 1)[1]


def test_a_misspelled_hook_is_an_error_not_silence():
    with pytest.raises(PluginLoadError) as error:
        build_plugin_manager(extra_plugins=[fakeplugins.misspelled])
    assert "import_order" in str(error.value)
    assert "does not fit the hook contract" in str(error.value)


def test_a_hook_with_a_parameter_the_spec_does_not_know_is_an_error():
    from linkolis_host import hookimpl

    class Plugin:
        @hookimpl
        def health_check(self, ctx, verbose):
            return []

    with pytest.raises(PluginLoadError, match="verbose"):
        build_plugin_manager(extra_plugins=[Plugin()])


def test_two_plugins_offering_one_app_kind_is_an_error_naming_both():
    with pytest.raises(PluginLoadError) as error:
        build_plugin_manager(extra_plugins=[testmarket, fakeplugins.testmarket_twin])
    assert "two plugins offer the app kind 'testmarket'" in str(error.value)
    assert "testmarket_twin" in str(error.value)


def test_two_installed_distributions_with_one_plugin_id_is_an_error_naming_both(monkeypatch):
    with_fake_distributions(
        monkeypatch,
        FakeDistribution("linkolis-other-a", "1.0", {"other": "fakeplugins:othermarket"}),
        FakeDistribution("linkolis-other-b", "1.1", {"other": "fakeplugins:othermarket"}),
    )
    with pytest.raises(PluginLoadError) as error:
        build_plugin_manager([])
    message = str(error.value)
    assert "two installed plugins have the id 'other'" in message
    assert "linkolis-other-a 1.0" in message and "linkolis-other-b 1.1" in message


def test_installed_plugins_come_from_entry_points_of_group_linkolis(monkeypatch):
    with_fake_distributions(monkeypatch, OTHER)
    installed = installed_plugins()
    assert [(p.package, p.version) for p in installed["other"]] == [("linkolis-othermarket", "2.0.1")]
    assert [p.package for p in installed["amazon"]] == ["linkolis-amazon"]


class TestEnableRules:
    """LINKOLIS_LOAD_PLUGINS overrides config: unset = config, "" = none, "a,b" = exactly those."""

    def test_unset_follows_the_config(self, monkeypatch):
        monkeypatch.delenv("LINKOLIS_LOAD_PLUGINS")
        assert enabled_from(["other"], ["amazon", "other"]) == ["other"]

    def test_unset_and_no_config_enables_every_installed_plugin(self, monkeypatch):
        monkeypatch.delenv("LINKOLIS_LOAD_PLUGINS")
        assert enabled_from(None, ["other", "amazon"]) == ["amazon", "other"]

    def test_empty_enables_none_whatever_the_config_says(self, monkeypatch):
        monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", "")
        assert enabled_from(["amazon"], ["amazon", "other"]) == []

    def test_a_list_enables_exactly_those(self, monkeypatch):
        monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", " other , twin")
        assert enabled_from(["amazon"], ["amazon", "other", "twin"]) == ["other", "twin"]

    def test_the_loaded_plugins_follow_the_rules(self, monkeypatch):
        with_fake_distributions(monkeypatch, OTHER, TWIN)
        monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", "other")
        registry = build_plugin_manager(["twin"])
        assert loaded_names(registry) == {"other"}
        assert sorted(registry.kinds) == ["othermarket"]

        monkeypatch.delenv("LINKOLIS_LOAD_PLUGINS")
        registry = build_plugin_manager(["twin"])
        assert loaded_names(registry) == {"twin"}
        assert sorted(registry.kinds) == ["testmarket"]

        monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", "")
        assert loaded_names(build_plugin_manager(["twin", "other"])) == set()

    def test_a_list_naming_a_plugin_not_installed_is_an_error(self, monkeypatch):
        monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", "amazon,nope")
        with pytest.raises(PluginLoadError, match="'nope' is enabled but not installed"):
            build_plugin_manager(None)


def test_a_hook_is_called_only_for_the_plugin_that_owns_the_app_kind(monkeypatch):
    calls = []
    from linkolis_host import hookimpl

    class Spy:
        @hookimpl
        def health_check(self, ctx):
            calls.append("spy")
            return []

    registry = build_plugin_manager(extra_plugins=[testmarket, fakeplugins.othermarket, Spy()])
    assert registry.implements("testmarket", "health_check")
    assert not registry.implements("othermarket", "health_check")
    assert registry.health_check("othermarket", ctx=None) == []
    assert calls == []


def test_plugins_json_lists_id_package_version_and_whether_enabled(monkeypatch, home):
    monkeypatch.delenv("LINKOLIS_LOAD_PLUGINS")
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    amazon = next(r for r in rows if r["id"] == "amazon")
    assert amazon == {"id": "amazon", "package": "linkolis-amazon", "version": amazon["version"], "enabled": True}
    assert amazon["version"]


def test_plugins_list_shows_installed_but_disabled_plugins(monkeypatch, home):
    with_fake_distributions(monkeypatch, OTHER)
    monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", "other")
    result = CliRunner().invoke(cli, ["plugins", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in json.loads(result.stdout)}
    assert rows["other"] == {"id": "other", "package": "linkolis-othermarket", "version": "2.0.1", "enabled": True}
    assert rows["amazon"]["enabled"] is False
