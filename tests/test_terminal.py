"""No terminal injection: what a seller types, a redirect carries or a marketplace says never drives the terminal.

Names and SKUs with control or format characters are refused at input; text from a marketplace or a redirect is
printed with those characters written as escapes, in human output and in --json.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from helpers import install_app

from linkolis_host import apps
from linkolis_host.terminal import safe, safe_json, unsafe_characters

pytestmark = pytest.mark.no_store

ESC = "\x1b"
REDIRECT = "https://shop.example/linkolis/landing"


@pytest.mark.parametrize("name", ["Shop\x1b[2J EU", "Shop \u202eUE", "Shop\x7fEU", "Shop\u200bEU", "Shop\x9bEU"])
def test_an_app_name_with_control_or_bidi_characters_is_refused(run, market, name):
    result = run("apps", "install", "testmarket", "--name", name, "--region", "EU", code=1)
    assert "control or format characters" in result.stderr
    assert ESC not in result.stderr and "\u202e" not in result.stderr
    assert run.json("apps", "list") == []


@pytest.mark.parametrize("sku", ["SKU\x1b]0;pwned\x07", "SKU-\u202e1", "SKU\x7f"])
def test_a_sku_with_control_or_bidi_characters_is_refused(run, sku):
    result = run("stock", "set", sku, "3", code=1)
    assert "control or format characters" in result.stderr
    assert ESC not in result.stderr and "\u202e" not in result.stderr
    assert run.json("stock", "list") == []


def test_a_redirects_error_description_is_printed_escaped(run, host, market):
    install_app(run, "Shop EU", "EU")
    url = apps.start_authorization(host, "Shop EU", REDIRECT).url
    state = parse_qs(urlsplit(url).query)["state"][0]
    landed = (
        f"{REDIRECT}?{urlencode({'state': state, 'error': 'access_denied', 'error_description': 'no' + ESC + '[2J'})}"
    )
    result = run("apps", "authorize", "Shop EU", "--redirect-url", landed, code=1)
    assert "no\\x1b[2J" in result.stderr
    assert ESC not in result.stderr


def test_a_marketplace_message_is_printed_escaped_in_text_and_json(run, app, market):
    market.reject_message = f"bad {ESC}[31mred\u202e"
    run("stock", "set", "BAD-1", "4")
    run("stock", "push", code=None)
    text = run("stock", "list").stdout
    assert "bad \\x1b[31mred\\u202e" in text and ESC not in text and "\u202e" not in text
    raw = run("stock", "list", "--json").stdout
    assert ESC not in raw and "\u202e" not in raw
    assert json.loads(raw)[0]["message"] == f"bad {ESC}[31mred\u202e", "JSON escapes keep the marketplace's words"


def test_the_escapes_are_what_a_reader_can_see():
    assert safe("a\x1b[2Jb\nc\td\u202e") == "a\\x1b[2Jb\nc\td\\u202e"
    assert safe("line\r") == "line\\x0d"
    assert unsafe_characters("Amazon DE") == []
    assert unsafe_characters("Müller & Söhne — 東京") == [], "letters of any script are fine"
    assert json.loads(safe_json(json.dumps({"x": "\x7f\u2066"}, ensure_ascii=False))) == {"x": "\x7f\u2066"}
