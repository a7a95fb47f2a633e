"""The command line as operators like it (issue 14): tables with headers on a terminal and tab-separated lines when
piped, colour only where it belongs, progress that never shares a line with a message, help that teaches, words
that agree, and exit codes that follow click's convention.

A terminal is forced with ``LINKOLIS_TERMINAL=1`` (CliRunner's output is no terminal); ``COLUMNS`` fixes its width.
"""

from __future__ import annotations

import io
import logging
import re
import time

import click
import pytest
from helpers import install_app

import linkolis_host.apps
from linkolis_host import progress as progress_module
from linkolis_host.cli import EXAMPLES, cli, echo
from linkolis_host.progress import StderrProgress
from linkolis_host.terminal import article, plural

ESC = "\x1b"
TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
PYTHON_WORDS = re.compile(r"\bNone\b|\bTrue\b|\bFalse\b|\['|\{'")


@pytest.fixture
def terminal(monkeypatch):
    monkeypatch.setenv("LINKOLIS_TERMINAL", "1")
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture
def shop(run, app, market):
    """Shop EU with two orders imported, one SKU accepted and one rejected."""
    market.add_order("A-1", updated=1)
    market.add_order("A-2", status="CANCELLED", updated=2, lines=2)
    run("orders", "import")
    run("stock", "set", "SKU-A", "5")
    run("stock", "set", "BAD-1", "2")
    run("stock", "push", code=1)
    return app


# -- 1. tables ---------------------------------------------------------------------------------------------------


def test_on_a_terminal_apps_list_is_a_table_with_headers(run, shop, terminal):
    text = run("--no-color", "apps", "list").stdout
    header, row = text.splitlines()[:2]
    assert header.split() == ["NAME", "KIND", "STATUS", "SETTINGS", "LAST", "IMPORT", "LAST", "PUSH"]
    assert row.startswith("Shop EU  ") and "authorized" in row and "stock_sync=yes, region=EU" in row
    assert "\t" not in text and len(TIME.findall(row)) == 2, "times in the one format"


def test_piped_a_list_is_tab_separated_without_headers_or_decoration(run, shop):
    lines = run("orders", "list").stdout.splitlines()
    assert [line.split("\t") for line in lines] == [
        ["A-2", "Shop EU", "cancelled", "2023-11-14 22:13 UTC", "19.98 EUR", "2", "-"],
        ["A-1", "Shop EU", "unshipped", "2023-11-14 22:13 UTC", "9.99 EUR", "1", "-"],
    ]
    assert ESC not in "".join(lines)


def test_orders_list_shows_money_with_its_currency_on_a_terminal(run, shop, terminal):
    text = run("--no-color", "orders", "list").stdout
    assert text.splitlines()[0].split() == ["ORDER", "APP", "STATUS", "CREATED", "TOTAL", "LINES", "BUYER", "ASKS"]
    assert "19.98 EUR" in text and "9.99 EUR" in text


@pytest.mark.parametrize(
    "command",
    [
        ["apps", "list"],
        ["apps", "show", "Shop EU"],
        ["orders", "list"],
        ["orders", "show", "A-1"],
        ["stock", "list"],
        ["plugins"],
        ["catalog"],
        ["sync", "status"],
        ["shipments", "list"],
    ],
)
@pytest.mark.parametrize("where", ["terminal", "pipe"])
def test_human_output_never_shows_python_values_or_raw_iso_times(run, shop, monkeypatch, command, where):
    monkeypatch.setenv("LINKOLIS_TERMINAL", "1" if where == "terminal" else "0")
    run("orders", "ship", "A-1", "--carrier", "DHL", "--tracking", "T1")
    text = run(*command).stdout
    assert text.strip()
    assert not PYTHON_WORDS.search(text), text
    assert not re.search(r"\d\dT\d\d:\d\d|\+00:00", text), "times are written one way: 2023-11-14 22:13 UTC"


def test_an_unknown_value_is_a_dash(run, shop):
    rows = [line.split("\t") for line in run("stock", "list").stdout.splitlines()]
    bad = next(r for r in rows if r[1] == "BAD-1")
    assert bad[5] == "-", "never pushed: a dash, not None"
    assert run("apps", "show", "Shop EU").stdout.count(" -\n") >= 1


def test_a_cell_with_control_characters_or_a_tab_keeps_to_its_column(run, app, market):
    market.reject_message = f"bad\tname {ESC}[31mred\nnext"
    run("stock", "set", "BAD-1", "4")
    run("stock", "push", code=1)
    line = run("stock", "list").stdout
    assert line.count("\n") == 1 and line.count("\t") == 7
    assert "bad\\x09name \\x1b[31mred\\x0anext" in line and ESC not in line


# -- 2. colour and progress ---------------------------------------------------------------------------------------


def test_colour_on_a_terminal_and_never_with_no_color_or_a_pipe(run, shop, terminal, monkeypatch):
    assert ESC + "[" in run("apps", "list").stdout, "a terminal gets colour (status, headers)"
    assert ESC not in run("--no-color", "apps", "list").stdout
    monkeypatch.setenv("NO_COLOR", "1")
    assert ESC not in run("apps", "list").stdout
    monkeypatch.setenv("LINKOLIS_TERMINAL", "0")
    monkeypatch.delenv("NO_COLOR")
    assert ESC not in run("apps", "list").stdout


def test_the_banner_is_coloured_only_on_a_terminal(run, app, terminal, monkeypatch):
    coloured = run("apps", "verify", "Shop EU").stdout
    assert ESC + "[32m[     ok]" in coloured and ESC + "[34m" in coloured, "green marks, a blue banner"
    assert ESC not in run("--no-color", "apps", "verify", "Shop EU").stdout
    monkeypatch.setenv("LINKOLIS_TERMINAL", "0")
    text = run("apps", "verify", "Shop EU").stdout
    assert "Module correctly installed" in text and ESC not in text


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_message_during_a_progress_bar_gets_a_line_of_its_own(monkeypatch):
    stream = Tty()
    monkeypatch.setattr("sys.stderr", stream)
    progress = StderrProgress(stream=stream)
    progress.start("Pushing stock for Shop EU", total=4)
    progress.advance(2)
    echo("warning: Shop EU answered slowly", err=True)
    progress.advance(2)
    progress.finish()
    out = stream.getvalue()
    before, message, after = out.partition("warning: Shop EU answered slowly\n")
    assert message and before.endswith("\r\033[K"), "the bar's line is cleared before the message"
    assert "Pushing stock for Shop EU" in after, "and the bar is drawn again below it"
    assert not progress_module._ACTIVE


def test_a_long_wait_counts_down_and_says_what_it_waits_for(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(StderrProgress, "TICK", 0.01)
    stream = Tty()
    progress = StderrProgress(stream=stream)
    progress.wait("Amazon's quota for searchOrders", 178)
    assert stream.getvalue() == "Waiting 2 min 58 s for Amazon's quota for searchOrders…"
    now[0] += 60
    deadline = time.time() + 5
    while "1 min 58 s" not in stream.getvalue() and time.time() < deadline:
        time.sleep(0.01)
    assert "\r\033[KWaiting 1 min 58 s for Amazon's quota for searchOrders…" in stream.getvalue()
    progress.advance(1)  # the work goes on: the countdown becomes a line that stays
    assert stream.getvalue().endswith("\r\033[KWaited 2 min 58 s for Amazon's quota for searchOrders.\n  1 done\n")


def test_off_a_terminal_a_wait_is_one_line_and_under_json_an_event():
    stream = io.StringIO()
    StderrProgress(stream=stream).wait("bol to process 3 stock updates", 45)
    assert stream.getvalue() == "Waiting 45 s for bol to process 3 stock updates…\n"
    stream = io.StringIO()
    StderrProgress(quiet=True, stream=stream).wait("bol's offer export", 45)
    assert '"event": "wait"' in stream.getvalue() and '"seconds": 45' in stream.getvalue()


# -- 3. help that teaches ------------------------------------------------------------------------------------------


def every_command(group: click.Group, path=()):
    for name, command in group.commands.items():
        yield (*path, name), command
        if isinstance(command, click.Group) and name != "install":
            yield from every_command(command, (*path, name))


@pytest.mark.parametrize("path", [" ".join(p) for p, _ in every_command(cli)])
def test_every_command_has_examples_in_its_help(run, market, path):
    text = run(*path.split(), "--help").stdout
    assert "Examples:" in text
    assert all(example in text for example in EXAMPLES[path]), "shown as written (click's \\b)"


def test_every_summary_in_a_command_list_is_complete(run, market):
    for path, command in [((), cli), *every_command(cli)]:
        if isinstance(command, click.Group):
            text = run(*path, "--help").stdout
            commands = text.split("Commands:")[1].split("Examples:")[0]
            assert "..." not in commands, f"{' '.join(path)}: a summary is cut off"


def test_an_install_command_teaches_with_an_example(run, market):
    text = run("apps", "install", "testmarket", "--help").stdout
    assert "Install a Test Market app" in text
    assert "linkolis apps install testmarket --region EU" in text


def test_apps_configure_help_lists_each_kinds_options(run, market):
    text = run("apps", "configure", "--help").stdout
    assert text.startswith("Usage: linkolis apps configure NAME [OPTIONS]")
    assert "Options for a Test Market app (kind testmarket):" in text
    assert "--region [EU|US]" in text and "--stock-sync / --no-stock-sync" in text


def test_apps_configure_name_help_has_a_clean_usage_line(run, app):
    text = run("apps", "configure", "Shop EU", "--help").stdout
    assert text.startswith("Usage: linkolis apps configure 'Shop EU' [OPTIONS]\n")
    assert "--region [EU|US]" in text


def test_verbose_is_accepted_after_the_subcommand_too(run, app, monkeypatch):
    listed = linkolis_host.apps.list_apps

    def list_apps(host):
        logging.getLogger("linkolis.apps").info("reading the apps")
        return listed(host)

    monkeypatch.setattr(linkolis_host.apps, "list_apps", list_apps)
    assert "INFO linkolis.apps: reading the apps" in run("apps", "list", "-v").stderr
    assert "reading the apps" in run("-v", "apps", "list").stderr
    assert "reading the apps" not in run("apps", "list").stderr
    assert run("apps", "-v", "list").exit_code == 0
    assert run.json("stock", "list", "-vv") == []
    assert "-v, --verbose" in run("orders", "list", "--help").stdout


def test_sync_prints_a_summary_in_words_and_json_only_with_json(run, app, market):
    market.add_order("A-1")
    run("stock", "set", "SKU-A", "5")
    text = run("sync").stdout
    assert "{" not in text
    assert "import     Shop EU: 1 new, 0 updated, 0 unchanged (1 batch," in text
    assert "push       Shop EU: 1 SKU sent: 1 accepted, 0 rejected" in text
    assert run.json("sync")[0]["app"] == "Shop EU"


# -- 4. words --------------------------------------------------------------------------------------------------------


def test_counts_agree_with_their_nouns():
    assert [plural(1, "batch"), plural(2, "batch"), plural(0, "order"), plural(1, "SKU"), plural(3, "SKU")] == [
        "1 batch",
        "2 batches",
        "0 orders",
        "1 SKU",
        "3 SKUs",
    ]
    assert [article("Amazon"), article("bol"), article("Test Market")] == ["an Amazon", "a bol", "a Test Market"]


def test_an_import_says_1_batch_and_2_batches(run, app, market):
    market.page_size = 2
    market.add_order("A-1", updated=1)
    assert "(1 batch," in run("orders", "import").stdout
    for n in range(2, 5):
        market.add_order(f"A-{n}", updated=n)
    assert "3 new, 0 updated, 0 unchanged (2 batches," in run("orders", "import").stdout


def test_an_invalid_setting_names_the_kind_with_its_article(run, market):
    result = run("apps", "install", "testmarket", "--region", "EU", "--name", " ", code=1)
    assert "invalid settings for a Test Market app:" in result.stderr


def test_already_installed_names_the_app_as_the_seller_typed_it(run, market):
    install_app(run, "Shop EU", "EU")
    result = run("apps", "install", "testmarket", "--name", "shop eu", "--region", "US", code=1)
    assert "an app named 'shop eu' is already installed" in result.stderr


# -- 5. exit codes --------------------------------------------------------------------------------------------------


def test_a_usage_error_exits_2_and_a_failure_exits_1(run, market):
    assert run("apps", "list", "--no-such-option", code=2).exit_code == 2
    assert run("orders", "list", "--status", "lost", code=2).exit_code == 2
    assert "no app named 'Nope'" in run("apps", "show", "Nope", code=1).stderr
    assert "missing --region" in run("apps", "install", "testmarket", "--name", "X", input="", code=2).stderr


def test_stock_push_fails_when_a_sku_was_rejected_and_json_still_has_the_summary(run, app, market):
    run("stock", "set", "BAD-1", "2")
    run("stock", "set", "SKU-A", "5")
    summary = run.json("stock", "push", code=1)
    assert (summary["accepted"], summary["rejected"]) == (1, 1)
    result = run("stock", "push", code=0)  # nothing new to send: nothing rejected this time
    assert "0 SKUs sent" in result.stdout
