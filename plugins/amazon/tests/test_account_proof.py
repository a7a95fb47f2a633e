"""The account an app connects is confirmed with Amazon, not taken from the redirect's address.

Anyone can edit the `selling_partner_id` of the address the browser lands on, or paste a merchant id that is not
theirs. Before anything is stored the plugin asks Amazon, with the new token, for one listing of the claimed
seller: Amazon answers only for the selling partner the token acts for.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from linkolis_amazon import lwa
from linkolis_amazon.simulator.browser import SellerBrowser

SELLER = "A1SIMSELLER001"
OTHER_SELLER = "A2OTHERSELLER1"
REDIRECT = "https://app.example.com/amazon/callback"


@pytest.fixture
def sim_options():
    return {"redirect_uris": [REDIRECT]}


@pytest.fixture
def landed(run, host, sim, operator_env):
    """An "Amazon DE" app whose seller confirmed in Seller Central; returns the address the browser landed on."""
    host.env["LINKOLIS_AMAZON_REDIRECT_URI"] = REDIRECT
    sim.add_account(OTHER_SELLER, ["DE"], orders=5)
    run("apps", "install", "amazon", "--name", "Amazon DE", "--marketplace", "DE", "--stock-sync")
    return confirm(run, sim, operator_env, "Amazon DE")


def confirm(run, sim, operator_env, name: str) -> str:
    result = run("apps", "authorize", name, "--no-browser")
    consent = next(line for line in result.stdout.splitlines() if "/apps/authorize/consent?" in line).strip()
    browser = SellerBrowser(sim.client(base_url=operator_env["LINKOLIS_AMAZON_ENDPOINT"]))
    browser.open(consent)
    return str(browser.final.request.url)


def edited(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query=urlencode({**query, **changes})))


def refused(run, *args, input=None) -> str:
    result = run(*args, code=1, input=input)
    assert "Traceback" not in result.output
    return " ".join(result.stderr.split())


def nothing_stored(run, host, name: str) -> None:
    app = run.json("apps", "show", name)
    assert (app["account_id"], app["status"], app["credentials"]["stored"]) == (None, "installed", False)
    assert host.db.execute("SELECT count(*) FROM credentials").fetchone()[0] == 0
    assert host.db.execute("SELECT count(*) FROM plugin_state WHERE key = ?", [lwa.TOKEN_KEY]).fetchone()[0] == 0
    assert "not authorized yet" in refused(run, "orders", "import", name)
    assert run.json("orders", "list") == []


def test_a_redirect_address_edited_to_name_another_seller_is_refused_and_nothing_is_stored(run, host, sim, landed):
    message = refused(
        run, "apps", "authorize", "Amazon DE", "--redirect-url", edited(landed, selling_partner_id=OTHER_SELLER)
    )

    assert f"did not confirm that this authorization belongs to selling partner {OTHER_SELLER}" in message
    assert "403 Unauthorized: Access to requested resource is denied." in message
    assert "Nothing was stored" in message and "run `linkolis apps authorize 'Amazon DE'`" in message
    nothing_stored(run, host, "Amazon DE")
    assert sim.counters_snapshot()["statuses"]["searchListingsItems"] == {"403": 1}


def test_the_honest_redirect_is_proven_with_one_listing_call_and_its_access_token_is_not_kept(
    run, host, sim, wire, landed
):
    app = run.json("apps", "authorize", "Amazon DE", "--redirect-url", landed)

    assert (app["account_id"], app["status"]) == (SELLER, "authorized")
    [proof] = [r for r in wire.requests if r.url.path.startswith("/listings/")]
    assert proof.url.path == f"/listings/2021-08-01/items/{SELLER}"
    assert proof.url.params["pageSize"] == "1"
    # The code exchange's access token proved the account and was not cached: the host had not accepted it yet.
    assert host.db.execute("SELECT count(*) FROM plugin_state WHERE key = ?", [lwa.TOKEN_KEY]).fetchone()[0] == 0
    run("orders", "import", "Amazon DE")
    imported = {o["marketplace_order_id"] for o in run.json("orders", "list", "--limit", "1000")}
    assert imported and imported <= {o["orderId"] for o in sim.orders_truth(SELLER)}


def test_an_edited_address_cannot_slip_a_second_app_for_the_same_marketplace_past_the_one_app_rule(
    run, host, sim, operator_env, landed
):
    # Installed while "Amazon DE" is not connected yet: no settings check can refuse it before the round trip.
    run("apps", "install", "amazon", "--name", "Amazon DE 2", "--marketplace", "DE")
    run("apps", "authorize", "Amazon DE", "--redirect-url", landed)
    second = confirm(run, sim, operator_env, "Amazon DE 2")

    message = refused(
        run, "apps", "authorize", "Amazon DE 2", "--redirect-url", edited(second, selling_partner_id="A9MADEUPSELLER")
    )

    assert "did not confirm that this authorization belongs to selling partner A9MADEUPSELLER" in message
    app = run.json("apps", "show", "Amazon DE 2")
    assert (app["account_id"], app["credentials"]["stored"]) == (None, False)


def test_a_pasted_refresh_token_with_another_sellers_merchant_id_is_refused(run, host, sim):
    sim.add_account(OTHER_SELLER, ["DE"], orders=5)
    run("apps", "install", "amazon", "--name", "Amazon DE", "--marketplace", "DE")

    message = refused(
        run,
        "apps",
        "authorize",
        "Amazon DE",
        "--credential",
        "refresh_token=-",
        "--credential",
        f"selling_partner_id={OTHER_SELLER}",
        input=sim.authorize(SELLER) + "\n",
    )

    assert f"belongs to selling partner {OTHER_SELLER}" in message and "Nothing was stored" in message
    nothing_stored(run, host, "Amazon DE")


def test_a_pasted_refresh_token_with_its_own_merchant_id_is_accepted(run, sim):
    run("apps", "install", "amazon", "--name", "Amazon DE", "--marketplace", "DE")

    result = run(
        "apps",
        "authorize",
        "Amazon DE",
        "--credential",
        "refresh_token=-",
        "--credential",
        f"selling_partner_id={SELLER}",
        "--json",
        input=sim.authorize(SELLER) + "\n",
    )

    assert '"account_id": "A1SIMSELLER001"' in result.stdout
    assert "Module correctly installed" in run("apps", "verify", "Amazon DE").stdout


def test_an_app_for_a_marketplace_the_account_does_not_sell_in_is_refused_with_the_marketplace_advice(
    run, seller, host
):
    run("apps", "install", "amazon", "--name", "Amazon JP", "--marketplace", "JP")

    message = refused(run, "apps", "authorize", "Amazon JP")

    assert f"did not confirm the authorization of selling partner {SELLER} for Japan" in message
    assert "does not participate in marketplace" in message  # Amazon's own words
    assert "--marketplace" in message and "right account" in message
    app = run.json("apps", "show", "Amazon JP")
    assert (app["account_id"], app["credentials"]["stored"]) == (None, False)
