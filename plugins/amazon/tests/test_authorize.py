"""Amazon app: the panel and the Seller Central authorization, as the seller and the operator live them.

The seller confirms on the (simulated) consent page; the host checks the redirect's state before the plugin trades
the 5-minute authorization code for a refresh token. Every refused authorization says why, exits non-zero and
stores nothing.
"""

from __future__ import annotations

import re
import socket
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from linkolis_amazon import lwa
from linkolis_amazon.client import SpApi
from linkolis_amazon.plugin import configure_fields
from linkolis_amazon.settings import AmazonSettings
from linkolis_amazon.simulator.browser import SellerBrowser
from pydantic import ValidationError

from linkolis_host import AppInfo, AuthorizationError, Refusal, SettingsContext
from linkolis_host.installed import App
from linkolis_host.web.i18n import plugin_translations

SELLER = "A1SIMSELLER001"
OTHER_SELLER = "A2OTHERSELLER1"
REDIRECT = "https://app.example.com/amazon/callback"  # the operator's registered HTTPS redirect page
REVOKED = "authorization revoked — authorize again"


@pytest.fixture
def sim_options():
    return {"redirect_uris": [REDIRECT]}


def shaped(**options):
    """Run the test against a simulator shaped so (a draft app, a log-in URI…)."""
    return pytest.mark.parametrize("sim_options", [{"redirect_uris": [REDIRECT], **options}], ids=["sim"])


@pytest.fixture
def installed(run):
    run("apps", "install", "amazon", "--name", "Amazon DE", "--marketplace", "DE", "--stock-sync")
    return "Amazon DE"


@pytest.fixture
def https_redirect(host):
    """The operator registered an HTTPS redirect page: the seller pastes the address the browser landed on."""
    host.env["LINKOLIS_AMAZON_REDIRECT_URI"] = REDIRECT
    return REDIRECT


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode({**query(url), **changes})))


def consent_url_of(run, name: str) -> str:
    """`apps authorize --no-browser` off a terminal: prints the consent URL, says to paste, exits 0."""
    result = run("apps", "authorize", name, "--no-browser")
    assert "--redirect-url" in result.stderr
    return next(line for line in result.stdout.splitlines() if "/apps/authorize/consent?" in line).strip()


def confirm_in_seller_central(sim, operator_env, url: str) -> str:
    """The seller confirms on the consent page; returns the address the browser lands on (not ours to receive)."""
    browser = SellerBrowser(sim.client(base_url=operator_env["LINKOLIS_AMAZON_ENDPOINT"]))
    browser.open(url)
    landed = str(browser.final.request.url)
    assert landed.startswith(REDIRECT), browser.pages
    return landed


def refused(run, *args) -> str:
    result = run(*args, code=1)
    assert "Traceback" not in result.output
    return " ".join(result.stderr.split())


def assert_nothing_stored(run, name: str, status: str = "installed") -> None:
    app = run.json("apps", "show", name)
    assert app["credentials"] == {"stored": False, "fields": []}
    assert app["account_id"] is None
    assert app["status"] == status


def grants(sim, kind: str) -> int:
    return sim.counters_snapshot()["lwa_grants"].get(kind, 0)


# -- the consent URL ---------------------------------------------------------------------------------------------


def test_the_consent_url_of_a_published_app_carries_application_id_state_and_redirect_uri_but_no_version(
    run, seller, sim, installed
):
    run("apps", "authorize", installed)

    consent = seller.browsers[-1].pages[0][0]
    params = query(consent)
    assert urlsplit(consent).path == "/apps/authorize/consent"
    assert params["application_id"] == sim.application_id
    assert len(params["state"]) >= 40
    assert urlsplit(params["redirect_uri"]).hostname == "127.0.0.1"
    assert "version" not in params


@shaped(draft=True)
def test_a_draft_app_sends_the_seller_to_the_beta_consent_page_and_completes(run, host, seller, installed):
    host.env["LINKOLIS_AMAZON_DRAFT"] = "1"

    app = run.json("apps", "authorize", installed, "--timeout", "10")

    assert query(seller.browsers[-1].pages[0][0])["version"] == "beta"
    assert "draft (beta) version" in seller.browsers[-1].pages[0][2]
    assert (app["status"], app["account_id"]) == ("authorized", SELLER)


# -- refused redirects: forged, replayed, expired, cancelled -------------------------------------------------------


def test_a_pasted_redirect_with_a_forged_state_is_refused_and_nothing_is_stored(
    run, sim, operator_env, https_redirect, installed
):
    landed = confirm_in_seller_central(sim, operator_env, consent_url_of(run, installed))

    message = refused(run, "apps", "authorize", installed, "--redirect-url", with_query(landed, state="forged" * 8))

    assert "state is not one we issued" in message
    assert_nothing_stored(run, installed)
    assert grants(sim, "authorization_code") == 0  # the code never reached Amazon


def test_a_replayed_redirect_is_refused_and_changes_nothing(run, host, sim, operator_env, https_redirect, installed):
    landed = confirm_in_seller_central(sim, operator_env, consent_url_of(run, installed))
    run("apps", "authorize", installed, "--redirect-url", landed)
    before = host.db.execute("SELECT ciphertext, updated_at FROM credentials").fetchall()

    message = refused(run, "apps", "authorize", installed, "--redirect-url", landed)

    assert "already used" in message and "replay" in message
    assert host.db.execute("SELECT ciphertext, updated_at FROM credentials").fetchall() == before
    assert run.json("apps", "show", installed)["status"] == "authorized"
    assert grants(sim, "authorization_code") == 1


def test_a_redirect_completed_after_ten_minutes_is_refused_and_nothing_is_stored(
    run, clock, sim, operator_env, https_redirect, installed
):
    landed = confirm_in_seller_central(sim, operator_env, consent_url_of(run, installed))
    clock.advance(11 * 60)

    message = refused(run, "apps", "authorize", installed, "--redirect-url", landed)

    assert "longer than 10 minutes" in message and "authorize" in message
    assert_nothing_stored(run, installed)


def test_cancel_on_the_consent_page_is_refused_and_nothing_is_stored(run, seller, sim, installed):
    seller.action = "cancel"

    message = refused(run, "apps", "authorize", installed)

    assert "not granted" in message and "denied" in message
    assert "run `linkolis apps authorize 'Amazon DE'`" in message
    assert_nothing_stored(run, installed)
    assert "Authorization failed" in seller.browsers[-1].final.text
    assert grants(sim, "authorization_code") == 0


# -- the authorization code: single use, five minutes ----------------------------------------------------------


def test_an_authorization_code_used_twice_is_invalid_grant_explained(
    run, host, sim, operator_env, https_redirect, installed
):
    landed = confirm_in_seller_central(sim, operator_env, consent_url_of(run, installed))
    run("apps", "authorize", installed, "--redirect-url", landed)
    row = App.from_row(host.db["apps"].get(1))
    ctx = host.context(row)

    with pytest.raises(AuthorizationError) as refusal:
        lwa.exchange_code(ctx, query(landed)["spapi_oauth_code"], REDIRECT)

    message = str(refusal.value)
    assert "refused the authorization code" in message and "invalid grant parameter : code" in message
    assert "used already" in message and "run the authorization again" in message
    assert grants(sim, "authorization_code") == 1


def test_a_code_older_than_five_minutes_is_refused_with_the_five_minute_explanation(
    run, clock, sim, operator_env, https_redirect, installed
):
    landed = confirm_in_seller_central(sim, operator_env, consent_url_of(run, installed))
    clock.advance(6 * 60)  # the state (10 minutes) still holds; Amazon's code (5 minutes) does not

    message = refused(run, "apps", "authorize", installed, "--redirect-url", landed)

    assert "older than 5 minutes" in message and "within 5 minutes" in message
    assert_nothing_stored(run, installed)


# -- after the authorization: revoked, wrong secret, wrong account -----------------------------------------------


def test_a_revoked_authorization_fails_verify_needs_attention_and_authorizing_again_clears_it(run, sim, authorized):
    sim.revoke_refresh_token(selling_partner_id=SELLER)  # the seller removed the app in Seller Central

    checked = run("apps", "verify", authorized, code=1)
    assert REVOKED in checked.stdout
    assert f"authorize the app again: `linkolis apps authorize {authorized!r}`" in checked.stdout
    status = run.json("apps", "show", authorized)["status"]
    assert status.startswith("needs attention: ") and REVOKED in status
    assert REVOKED in refused(run, "orders", "import", authorized)
    assert run.json("apps", "show", authorized)["status"] == f"needs attention: {REVOKED}"

    run("apps", "authorize", authorized)
    assert run.json("apps", "show", authorized)["status"] == "authorized"
    assert "Module correctly installed" in run("apps", "verify", authorized).stdout


def test_a_wrong_client_secret_names_invalid_client_and_the_180_day_rotation(run, host, seller, installed):
    host.env["LINKOLIS_AMAZON_CLIENT_SECRET"] = "amzn1.oa2-cs.v1.not-the-current-secret"

    message = refused(run, "apps", "authorize", installed)

    assert "invalid_client" in message and "180 days" in message and "LINKOLIS_AMAZON_CLIENT_SECRET" in message
    assert "not-the-current-secret" not in message
    assert_nothing_stored(run, installed)


def test_re_authorizing_with_another_seller_account_is_refused_and_the_app_keeps_its_account(
    run, host, sim, seller, wire, authorized
):
    sim.add_account(OTHER_SELLER, ["DE"], orders=5)
    seller.account = OTHER_SELLER

    message = refused(run, "apps", "authorize", authorized)

    assert "remove the app" in message and "install it again" in message
    app = run.json("apps", "show", authorized)
    assert (app["account_id"], app["status"]) == (SELLER, "authorized")
    # Nothing of the other account stays behind: the app's next calls still act as its own seller. (The other
    # account's token was used once, to prove whose it is, before the switch was refused.)
    sent = len(wire.requests)
    run("orders", "import", authorized)
    spapi_tokens = {r.headers["x-amz-access-token"] for r in wire.requests[sent:] if "x-amz-access-token" in r.headers}
    owners = {sim.lwa.access_tokens[t].selling_partner_id for t in spapi_tokens}
    assert owners == {SELLER}
    imported = {o["marketplace_order_id"] for o in run.json("orders", "list", "--limit", "1000")}
    assert imported and imported <= {o["orderId"] for o in sim.orders_truth(SELLER)}


# -- one app per marketplace ---------------------------------------------------------------------------------


def test_the_same_marketplace_twice_is_refused_at_install_before_amazon_is_asked(run, sim, wire, seller, authorized):
    asked = len(wire.requests), grants(sim, "authorization_code")

    message = refused(run, "apps", "install", "amazon", "--name", "Amazon DE 2", "--marketplace", "DE")

    assert "marketplace: 'Amazon DE' already connects this marketplace (amazon.de): one app per marketplace" in message
    assert (len(wire.requests), grants(sim, "authorization_code")) == asked
    assert [a["name"] for a in run.json("apps", "list")] == ["Amazon DE"]


def test_the_refusal_of_a_connected_marketplace_is_worded_in_each_language_the_app_ships():
    kind = configure_fields()
    connected = AppInfo(
        id=1,
        name="Amazon DE",
        kind="amazon",
        settings=AmazonSettings(name="Amazon DE", marketplace="DE"),
        status="authorized",
        account_id=SELLER,
    )
    with pytest.raises(ValidationError) as refused:
        AmazonSettings.model_validate(
            {"name": "Amazon DE 2", "marketplace": "DE"}, context=SettingsContext((connected,))
        )
    refusal = refused.value.errors()[0]["ctx"]["error"]
    assert isinstance(refusal, Refusal)

    placeholders = sorted(set(re.findall(r"%\((\w+)\)s", refusal.message)))
    assert placeholders == sorted(refusal.values) == ["name", "site"]
    dutch = plugin_translations(kind, "nl").gettext(refusal.message)
    assert sorted(set(re.findall(r"%\((\w+)\)s", dutch))) == placeholders
    assert dutch % refusal.values == (
        "'Amazon DE' is al verbonden met deze marktplaats (amazon.de): één app per marktplaats. "
        "Gebruik 'Amazon DE', of kies een andere marktplaats."
    )


def test_an_account_another_app_connects_is_still_refused_after_the_round_trip_in_marketplace_names(run, seller):
    run("apps", "install", "amazon", "--name", "Amazon DE", "--marketplace", "DE")
    run("apps", "install", "amazon", "--name", "Amazon DE 2", "--marketplace", "DE")  # neither connected yet
    run("apps", "authorize", "Amazon DE")

    message = refused(run, "apps", "authorize", "Amazon DE 2")

    assert f"already connects account {SELLER} for amazon.de: one app per marketplace" in message
    assert "A1PA6795UKMFR9" not in message
    assert_nothing_stored(run, "Amazon DE 2")


def test_another_marketplace_for_the_same_seller_is_fine(run, seller, authorized):
    run("apps", "install", "amazon", "--name", "Amazon FR", "--marketplace", "FR")

    app = run.json("apps", "authorize", "Amazon FR")

    assert (app["account_id"], app["status"]) == (SELLER, "authorized")
    assert "Module correctly installed" in run("apps", "verify", "Amazon FR").stdout


def test_moving_an_app_to_a_marketplace_another_app_connects_is_refused_and_changes_nothing(run, seller, authorized):
    run("apps", "install", "amazon", "--name", "Amazon FR", "--marketplace", "FR")
    run("apps", "authorize", "Amazon FR")

    message = refused(run, "apps", "configure", "Amazon DE", "--marketplace", "FR")

    assert "marketplace: 'Amazon FR' already connects this marketplace (amazon.fr)" in message
    app = run.json("apps", "show", "Amazon DE")
    assert (app["settings"]["marketplace"], app["status"]) == ("DE", "authorized")


def test_the_same_marketplace_with_another_seller_account_is_fine_in_another_workspace(run, sim, seller, authorized):
    sim.add_account(OTHER_SELLER, ["DE"])
    run("workspaces", "add", "Second shop")
    run("--workspace", "Second shop", "apps", "install", "amazon", "--name", "Amazon DE", "--marketplace", "DE")
    seller.account = OTHER_SELLER

    app = run.json("--workspace", "Second shop", "apps", "authorize", "Amazon DE")

    assert (app["account_id"], app["status"]) == (OTHER_SELLER, "authorized")


# -- the log-in URI step -------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PORT = _free_port()


@shaped(login_uri=f"http://127.0.0.1:{PORT}/callback")
def test_an_app_with_a_log_in_uri_completes_through_amazons_callback(run, host, seller, installed):
    host.env["LINKOLIS_AMAZON_LOGIN_URI"] = "1"

    app = run.json("apps", "authorize", installed, "--port", str(PORT), "--timeout", "10")

    assert (app["account_id"], app["status"]) == ("A1SIMSELLER001", "authorized")
    visited = [urlsplit(url) for url, _, _ in seller.browsers[-1].pages]
    assert any(u.path.startswith("/apps/authorize/confirm/") for u in visited)  # back through Amazon's callback
    callback = next(url for url, _, _ in seller.browsers[-1].pages if "/apps/authorize/confirm/" in url)
    sent = parse_qs(urlsplit(callback).query, keep_blank_values=True)
    assert {"amazon_state", "state"} <= set(sent)
    assert all(values != [""] for values in sent.values())  # no empty redirect_uri sent to Amazon


# -- self-authorization of a private app --------------------------------------------------------------------------


def test_a_private_app_is_self_authorized_with_a_pasted_refresh_token(run, sim, installed):
    token = sim.authorize()

    app = run.json(
        "apps",
        "authorize",
        installed,
        "--credential",
        f"refresh_token={token}",
        "--credential",
        f"selling_partner_id={SELLER}",
    )

    assert (app["account_id"], app["status"]) == (SELLER, "authorized")
    assert app["credentials"]["fields"] == ["refresh_token"]
    assert "Module correctly installed" in run("apps", "verify", installed).stdout


def test_a_pasted_token_that_is_not_an_lwa_refresh_token_is_refused(run, sim, installed):
    message = refused(
        run,
        "apps",
        "authorize",
        installed,
        "--credential",
        "refresh_token=Atza|an-access-token",
        "--credential",
        f"selling_partner_id={SELLER}",
    )

    assert "not an LWA refresh token" in message and "Atzr|" in message
    assert_nothing_stored(run, installed)
    assert grants(sim, "refresh_token") == 0


# -- the operator's settings ------------------------------------------------------------------------------------


def test_a_missing_client_id_names_the_setting_and_where_to_put_it(run, host, seller, sim, installed):
    del host.env["LINKOLIS_AMAZON_CLIENT_ID"]

    message = refused(run, "apps", "authorize", installed)

    assert "LINKOLIS_AMAZON_CLIENT_ID" in message and "[plugins.amazon]" in message
    assert seller.browsers == []  # the seller is not sent to Seller Central for an authorization that cannot end
    assert_nothing_stored(run, installed)


# -- access tokens ---------------------------------------------------------------------------------------------


@pytest.fixture
def api(host, authorized):
    """The Amazon client of the authorized app, as the plugin's hooks get it."""
    row = App.from_row(host.db["apps"].get(1))

    def make():
        return SpApi(host.context(row))

    return make


def test_the_access_token_is_cached_encrypted_and_reused_across_calls(host, sim, wire, api):
    before, sent = grants(sim, "refresh_token"), len(wire.requests)

    for _ in range(3):
        api().marketplace_participations()

    assert grants(sim, "refresh_token") - before == 1
    used = {r.headers["x-amz-access-token"] for r in wire.requests[sent:] if "x-amz-access-token" in r.headers}
    cached = api().ctx.state.get(lwa.TOKEN_KEY, secret=True)
    assert used == {cached["token"]} and cached["token"].startswith("Atza|")
    raw = host.db.execute("SELECT value FROM plugin_state WHERE key = ?", [lwa.TOKEN_KEY]).fetchone()[0]
    assert "sealed" in raw and cached["token"] not in raw
    on_disk = b"".join(p.read_bytes() for p in host.db_path.parent.glob(host.db_path.name + "*"))
    assert cached["token"].encode() not in on_disk


def test_an_expired_access_token_is_forgotten_by_the_log_redactor(clock, sim, api, monkeypatch):
    """A host renews each app's access token hourly: the redactor keeps the live ones, not every one ever seen."""
    from linkolis_host import context

    real = {"now": 5_000.0}
    REDACTOR = context.Redactor(now=lambda: real["now"])  # the host's, fresh for this story
    monkeypatch.setattr(context, "REDACTOR", REDACTOR)
    client = api()
    client.marketplace_participations()
    first = client.ctx.state.get(lwa.TOKEN_KEY, secret=True)["token"]
    assert first in REDACTOR

    clock.advance(3_600)
    real["now"] += 3_600 + REDACTOR.GRACE + 1
    client = api()
    client.marketplace_participations()
    second = client.ctx.state.get(lwa.TOKEN_KEY, secret=True)["token"]

    assert second != first and second in REDACTOR
    assert first in REDACTOR  # read once more as it expired: a line about it may still come

    clock.advance(60)
    real["now"] += REDACTOR.GRACE + 1
    api().marketplace_participations()
    assert first not in REDACTOR and second in REDACTOR


def test_the_access_token_is_refreshed_a_minute_before_it_expires(clock, sim, api):
    api().marketplace_participations()
    fetched = grants(sim, "refresh_token")

    clock.advance(3_500)
    api().marketplace_participations()
    assert grants(sim, "refresh_token") == fetched

    clock.advance(50)  # 3,550 s: within the last minute of the hour
    api().marketplace_participations()
    assert grants(sim, "refresh_token") == fetched + 1


def test_a_403_for_an_expired_token_refreshes_it_once_and_the_call_succeeds(clock, sim, wire, api):
    client = api()
    client.marketplace_participations()
    cached = client.ctx.state.get(lwa.TOKEN_KEY, secret=True)
    # The cache believes the token lives 5 hours; Amazon knows it lives one.
    client.ctx.state.set(lwa.TOKEN_KEY, {**cached, "expires_at": clock.time() + 5 * 3600}, secret=True)
    clock.advance(2 * 3600)
    before, sent = grants(sim, "refresh_token"), len(wire.requests)

    participations = client.marketplace_participations()

    assert participations
    assert grants(sim, "refresh_token") == before + 1
    statuses = sim.counters_snapshot()["statuses"]["getMarketplaceParticipations"]
    assert statuses.get("403") == 1
    assert len(wire.requests) - sent == 3  # the 403, the refresh, the retry
