"""Shell completion (issue 14, item 6): a seller presses Tab after `linkolis apps show` or `--app` and gets the
names of the apps installed in the data directory, as click's bash completion asks for them."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from helpers import install_app

from linkolis_host.cli import cli


def complete(words: str, obj=None, shell="bash") -> list[str]:
    """What the shell offers for the command line ``words`` (the last word is the one being completed)."""
    parts = words.split(" ")
    # bash and zsh say which word is being completed; fish gives that word itself
    cword = parts[-1] if shell == "fish" else str(len(parts) - 1)
    env = {"_LINKOLIS_COMPLETE": f"{shell}_complete", "COMP_WORDS": words, "COMP_CWORD": cword}
    result = CliRunner().invoke(cli, [], prog_name="linkolis", obj=obj, env=env)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line]
    if shell == "bash":  # "plain,VALUE"
        return [line.partition(",")[2] for line in lines]
    if shell == "zsh":  # type, value, help: three lines an item
        return [v for t, v, _ in zip(lines[::3], lines[1::3], lines[2::3], strict=True) if t == "plain"]
    return [line.partition(",")[2].partition("\t")[0] for line in lines]  # fish: "plain,VALUE[\tHELP]"


@pytest.fixture
def shops(run, market):
    install_app(run, "Shop EU", "EU")
    install_app(run, "Shop US", "US")
    install_app(run, "Outlet", "EU", "--shop", "outlet")


def test_an_app_name_argument_completes_the_installed_apps(shops):
    # bash inserts a completion as it is, so a name with a space comes quoted
    assert complete("linkolis apps show Sh") == ["'Shop EU'", "'Shop US'"]
    assert complete("linkolis apps verify ") == ["Outlet", "'Shop EU'", "'Shop US'"]
    assert complete("linkolis stock push o") == ["Outlet"], "in any case"


def test_an_app_option_completes_the_installed_apps(shops):
    assert complete("linkolis orders list --app Shop") == ["'Shop EU'", "'Shop US'"]
    assert complete("linkolis stock map SKU-1 --app Out") == ["Outlet"]


def test_zsh_and_fish_get_the_names_unquoted(shops):
    assert complete("linkolis apps show Sh", shell="zsh") == ["Shop EU", "Shop US"]
    assert complete("linkolis apps show Sh", shell="fish") == ["Shop EU", "Shop US"]


def test_completion_reads_the_data_directory_given_by_the_host(run, shops):
    assert complete("linkolis apps configure Sh", obj=run.host) == ["'Shop EU'", "'Shop US'"]


def test_without_a_data_directory_nothing_completes_and_none_is_made(home):
    assert complete("linkolis apps show ") == []
    assert not home.exists()


def test_commands_complete_too(shops):
    assert "configure" in complete("linkolis apps con")
