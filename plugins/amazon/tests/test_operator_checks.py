"""An operator's mistake in this shell (missing or refused operator settings) is reported as the operator's, and the
seller's app keeps its status."""

from __future__ import annotations


def checks_of(run, name):
    report = run.json("apps", "verify", name, code=1)
    return {check["name"]: check for check in report["checks"]}


def test_a_client_secret_amazon_refuses_is_the_operators_to_fix(run, host, authorized):
    before = run.json("apps", "show", authorized)["status"]
    host.env["LINKOLIS_AMAZON_CLIENT_SECRET"] = "amzn1.oa2-cs.v1.the-secret-before-rotation"

    lwa = checks_of(run, authorized)["LWA token refresh"]

    assert lwa["status"] == "failed" and lwa["operator"] is True
    assert run.json("apps", "show", authorized)["status"] == before


def test_missing_operator_settings_are_the_operators_to_fix(run, host, authorized):
    before = run.json("apps", "show", authorized)["status"]
    del host.env["LINKOLIS_AMAZON_CLIENT_ID"]

    settings = checks_of(run, authorized)["operator settings"]
    result = run("orders", "import", code=1)

    assert settings["status"] == "failed" and settings["operator"] is True
    assert "Traceback" not in result.output
    assert run.json("apps", "show", authorized)["status"] == before


def test_a_revoked_authorization_is_still_the_sellers_to_fix(run, sim, authorized):
    sim.revoke_refresh_token(selling_partner_id="A1SIMSELLER001")

    lwa = checks_of(run, authorized)["LWA token refresh"]

    assert lwa["operator"] is False
    assert run.json("apps", "show", authorized)["status"].startswith("needs attention")
