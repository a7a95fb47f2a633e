"""`python -m linkolis_amazon.simulator` prints the operator settings that point linkolis at it, ready to paste
(`export LINKOLIS_AMAZON_…` lines and a `[plugins.amazon]` block), and its --help teaches by example."""

from __future__ import annotations

import shlex
import tomllib

from linkolis_amazon.plugin import configure_fields
from linkolis_amazon.simulator.lwa import DEFAULT_APPLICATION_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

from linkolis_host.operator import load_operator_settings
from linkolis_host.testing import commands


def _printed(*args):
    with commands.printout("linkolis_amazon.simulator", "--orders", "3", "--skus", "2", *args) as lines:
        return lines


def test_the_printout_is_the_operator_settings_as_exports_and_as_toml():
    lines = _printed("--draft", "--redirect-uri", "https://linkolis.example.com/apps/callback")
    base = lines[0].rsplit(" ", 1)[1]
    exports = dict(shlex.split(line)[1].split("=", 1) for line in lines if line.startswith("export "))
    assert exports == {
        "LINKOLIS_AMAZON_ENDPOINT": base,
        "LINKOLIS_AMAZON_CLIENT_ID": DEFAULT_CLIENT_ID,
        "LINKOLIS_AMAZON_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
        "LINKOLIS_AMAZON_APPLICATION_ID": DEFAULT_APPLICATION_ID,
        "LINKOLIS_AMAZON_REDIRECT_URI": "https://linkolis.example.com/apps/callback",
        "LINKOLIS_AMAZON_DRAFT": "1",
    }
    start = lines.index("[plugins.amazon]")
    block = []
    for line in lines[start:]:
        if not line:
            break
        block.append(line)
    section = tomllib.loads("\n".join(block))["plugins"]["amazon"]
    # Both read by the host as the same settings.
    amazon = configure_fields()
    from_env, from_file = load_operator_settings(amazon, {}, exports), load_operator_settings(amazon, section, {})
    assert from_env.model_dump() == from_file.model_dump()
    assert from_file.endpoint == base and from_file.draft is True
    assert from_file.secret() == DEFAULT_CLIENT_SECRET


def test_the_help_has_a_summary_then_examples():
    out = commands.help_text("linkolis_amazon.simulator")
    assert out.index("Serve a local Amazon") < out.index("options:") < out.index("Examples:")
    assert "python -m linkolis_amazon.simulator --port 8320 --allow-loopback-redirects" in out
