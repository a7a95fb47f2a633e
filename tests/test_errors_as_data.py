"""Errors and remedies as data, words at the edge (issue 22, item 1): the host's core and the plugins say what went
wrong and what fixes it as a code and an action; only the CLI words an action as a `linkolis …` command."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from linkolis_host import Action, AuthorizationError, HealthCheck, UserError
from linkolis_host.cli import advice
from linkolis_host.testing import COMMAND_TEXT as COMMAND

pytestmark = pytest.mark.no_store

ROOT = Path(__file__).resolve().parent.parent
ERROR_CLASSES = re.compile(r"(Error|HealthCheck|NeedsAttention|AuthorizationRevoked|Removed|Busy)$")


def _sources() -> list[Path]:
    """The host outside its CLI, and the plugins' code but for their simulators' own command line."""
    host = [p for p in (ROOT / "linkolis_host").rglob("*.py") if "cli" not in p.relative_to(ROOT).parts[1:2]]
    plugins = [
        p
        for package in ROOT.glob("plugins/**/linkolis_*")
        if package.is_dir()
        for p in package.rglob("*.py")
        if not (p.parent.name == "simulator" and p.name == "__main__.py")
    ]
    return sorted(host + plugins)


def _called(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _strings(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _commands_in(path: Path, root: Path = ROOT) -> list[str]:
    """Command texts in a ``raise``, in an error or a health check being made, or in a ``remedy=``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise):
            spots = [node.exc] if node.exc else []
        elif isinstance(node, ast.Call) and ERROR_CLASSES.search(_called(node)):
            spots = [node]
        elif isinstance(node, ast.keyword) and node.arg == "remedy":
            spots = [node.value]
        else:
            continue
        for spot in spots:
            found += [
                f"{path.relative_to(root)}:{node.lineno}: {text!r}"
                for text in _strings(spot)
                if COMMAND.search(text)  # type: ignore[union-attr]
            ]
    return sorted(set(found))


def test_no_raise_or_remedy_outside_the_cli_names_a_command():
    found = sorted({line for path in _sources() for line in _commands_in(path)})
    assert not found, "command texts outside linkolis_host/cli/ (give the error an action instead):\n" + "\n".join(
        found
    )


def test_the_scan_finds_a_command_in_a_raise_and_in_a_remedy(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text(
        "def f(name):\n"
        "    raise UserError(f'no app: run `linkolis apps authorize {name!r}`')\n"
        "def g():\n"
        "    return HealthCheck(name='x', status='failed', remedy='give it as --credential token=-')\n",
        encoding="utf-8",
    )
    assert len(_commands_in(planted, tmp_path)) == 2


def test_an_error_carries_its_code_app_field_and_action_beside_its_text():
    exc = UserError("missing credential client_secret", code="credentials_missing", app="bol NL", param="client_secret")
    exc.action = Action.AUTHORIZE
    assert exc.as_data() == {
        "code": "credentials_missing",
        "message": "missing credential client_secret",
        "app": "bol NL",
        "param": "client_secret",
        "action": "authorize",
        "values": {},
    }
    assert AuthorizationError("refused").action is Action.AUTHORIZE, "an authorization that failed: authorize again"
    assert AuthorizationError("taken", action="").action is None, "and none where that would not help"


def test_the_cli_words_an_action_as_the_command_that_does_it():
    assert advice.command(None, Action.AUTHORIZE, "Shop EU") == "linkolis apps authorize 'Shop EU'"
    assert advice.command(None, Action.CONFIGURE, "Amazon DE", "marketplace") == (
        "linkolis apps configure 'Amazon DE' --marketplace …"
    )
    assert advice.command(None, Action.SET_STOCK, None, "SKU-1") == "linkolis stock set SKU-1 QUANTITY"
    assert advice.command(None, Action.OPERATOR, "Shop EU") == "", "the operator's settings are no command"
    check = HealthCheck(name="token", status="failed", remedy="authorize the app again", action=Action.AUTHORIZE)
    assert advice.remedy(None, "Shop EU", check) == "authorize the app again: `linkolis apps authorize 'Shop EU'`"
    old = HealthCheck(name="token", status="failed", remedy="ask the shop to reopen")
    assert advice.remedy(None, "Shop EU", old) == "ask the shop to reopen", "an older plugin's text, as it is"


def _catalog(lang: str) -> dict[str, str]:
    from babel.messages.pofile import read_po

    path = ROOT / "linkolis_host/web/locale" / lang / "LC_MESSAGES/messages.po"
    with path.open("rb") as fp:
        return {m.id: m.string for m in read_po(fp, locale=lang) if m.id}


def test_every_code_the_host_raises_is_a_sentence_the_web_words():
    from linkolis_host.web import advice as web

    raised = set()
    for path in _sources():
        if "plugins" in path.relative_to(ROOT).parts:
            continue  # a plugin's own codes are worded from its text
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "code":
                raised |= {s for s in _strings(node.value) if re.fullmatch(r"[a-z_]+", s)}
    raised |= {"app_removed", "busy", "too_busy"}  # the host's own classes, raised without a code of their own
    assert raised - set(web.SENTENCES) == set()


def test_every_sentence_and_button_of_the_web_is_in_both_catalogs_with_the_same_placeholders():
    source = ast.parse((ROOT / "linkolis_host/web/advice.py").read_text(encoding="utf-8"))
    texts = {
        node.args[0].value
        for node in ast.walk(source)
        if isinstance(node, ast.Call) and _called(node) in ("N_", "_") and node.args
        if isinstance(node.args[0], ast.Constant)
    }
    assert len(texts) > 30
    english, dutch = _catalog("en"), _catalog("nl")
    for text in texts:
        assert text in english, text
        assert dutch.get(text), f"no Dutch for {text!r}"
        placeholders = set(re.findall(r"%\(\w+\)s", text))
        assert set(re.findall(r"%\(\w+\)s", dutch[text])) == placeholders, text
