"""The seller's story with Amazon, through the CLI, against the simulator in-process."""

from __future__ import annotations


def test_a_seller_installs_amazon_de_authorizes_in_seller_central_and_sees_module_correctly_installed(run, seller):
    catalog = run.json("catalog")
    amazon = next(entry for entry in catalog if entry["kind"] == "amazon")
    fields = {f["name"]: f for f in amazon["fields"]}
    assert fields["name"]["default"] == "Amazon"
    assert len(fields["marketplace"]["choices"]) == 23
    assert fields["stock_sync"]["default"] is False

    app = run.json("apps", "install", "amazon", "--name", "Amazon DE", "--marketplace", "de")
    assert app["settings"] == {
        "name": "Amazon DE",
        "marketplace": "DE",
        "stock_sync": False,
        "stock_buffer": 0,
        "stock_max": None,
        "order_poll_minutes": None,
    }

    authorized = run.json("apps", "authorize", "Amazon DE")
    assert authorized["status"] == "authorized"
    assert authorized["account_id"] == "A1SIMSELLER001"
    assert "refresh_token" in authorized["credentials"]["fields"]

    verified = run("apps", "verify", "Amazon DE")
    assert "Module correctly installed" in verified.stdout
    assert run.json("apps", "show", "Amazon DE")["status"] == "verified"


def test_the_demo_environment_serves_the_whole_story(tmp_path):
    from linkolis_amazon.demo import environment

    env = environment(tmp_path)
    try:
        assert env.kind == "amazon"
        assert env.env["LINKOLIS_AMAZON_ENDPOINT"].startswith("http://127.0.0.1:")
        assert env.stock and env.bulk_stock
    finally:
        env.close()
