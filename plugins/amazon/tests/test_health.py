"""The checks behind "Module correctly installed": each one failing on its own, with the step that fixes it."""

from __future__ import annotations

SELLER = "A1SIMSELLER001"
BANNER = "Module correctly installed"
DAY = 86_400


def verify(run, name: str, ok: bool) -> dict[str, dict]:
    """`apps verify NAME --json`: the checks by name; the exit code says whether the app is ready."""
    report = run.json("apps", "verify", name, code=0 if ok else 1)
    assert report["ok"] is ok and report["banner"] == (BANNER if ok else None)
    return {check["name"]: check for check in report["checks"]}


def not_ok(checks: dict[str, dict]) -> dict[str, str]:
    """The checks that are not ok, but the endpoint warning: every test here talks to the simulator."""
    return {name: c["status"] for name, c in checks.items() if c["status"] != "ok" and name != "Amazon endpoint"}


def without(*roles: str) -> list[str]:
    every = ["orders", "listings", "sellers", "recipient", "buyer"]
    return [r for r in every if r not in roles]


def test_every_check_passes_and_the_seller_sees_module_correctly_installed(run, authorized):
    checks = verify(run, authorized, ok=True)

    assert list(checks) == [
        "credentials present",
        "Amazon endpoint",
        "LWA token refresh",
        "marketplace participation",
        "orders readable",
        "listings readable",
    ]
    assert not_ok(checks) == {}
    assert "Germany" in checks["marketplace participation"]["detail"]
    assert BANNER in run("apps", "verify", authorized).stdout
    assert run.json("apps", "show", authorized)["status"] == "verified"


def test_never_authorized_fails_credentials_present_with_authorize_as_the_remedy(run, seller):
    run("apps", "install", "amazon", "--name", "Amazon DE", "--marketplace", "DE")

    checks = verify(run, "Amazon DE", ok=False)

    assert checks["credentials present"]["status"] == "failed"
    assert checks["credentials present"]["command"] == "linkolis apps authorize 'Amazon DE'"
    assert checks["Amazon endpoint"]["status"] == "warning", "the override is told before any authorization too"
    assert "linkolis" not in checks["credentials present"]["remedy"], "the command is the CLI's to word"
    assert "LWA token refresh" not in checks  # nothing is asked of Amazon without an authorization
    assert run.json("apps", "show", "Amazon DE")["status"] == "installed"


def test_a_revoked_authorization_fails_the_lwa_refresh_with_authorize_again_as_the_remedy(run, sim, authorized):
    sim.revoke_refresh_token(selling_partner_id=SELLER)

    checks = verify(run, authorized, ok=False)

    assert not_ok(checks) == {"LWA token refresh": "failed"}
    assert "revoked" in checks["LWA token refresh"]["detail"]
    assert checks["LWA token refresh"]["action"] == "authorize"
    assert checks["LWA token refresh"]["command"] == "linkolis apps authorize 'Amazon DE'"


def test_an_expired_client_secret_fails_the_lwa_refresh_with_rotation_as_the_remedy(run, host, authorized):
    host.env["LINKOLIS_AMAZON_CLIENT_SECRET"] = "amzn1.oa2-cs.v1.the-secret-before-rotation"

    checks = verify(run, authorized, ok=False)

    assert not_ok(checks) == {"LWA token refresh": "failed"}
    assert "invalid_client" in checks["LWA token refresh"]["detail"]
    assert "rotate" in checks["LWA token refresh"]["remedy"]
    assert "LINKOLIS_AMAZON_CLIENT_SECRET" in checks["LWA token refresh"]["remedy"]


def test_an_app_for_a_marketplace_the_seller_no_longer_sells_in_fails_participation_with_the_wrong_account_advice(
    run, sim, authorized
):
    # (Authorizing an app for a marketplace the account does not sell in is refused outright: test_account_proof.)
    sim.accounts[SELLER].marketplace_ids[:] = ["A13V1IB3VIYZZH"]  # France only, from now on

    checks = verify(run, authorized, ok=False)

    assert not_ok(checks)["marketplace participation"] == "failed"
    participation = checks["marketplace participation"]
    assert "does not sell in Germany" in participation["detail"] and "it sells in: FR" in participation["detail"]
    assert "remove the app and install it again" in participation["remedy"]
    assert "right account" in participation["remedy"]


def test_without_the_sellers_role_participation_is_skipped_and_the_app_still_verifies(run, sim, authorized):
    sim.set_roles(SELLER, without("sellers"))

    checks = verify(run, authorized, ok=True)

    assert not_ok(checks) == {"marketplace participation": "skipped"}
    assert "403" in checks["marketplace participation"]["detail"]


def test_without_the_orders_role_orders_readable_fails_and_names_the_role(run, sim, authorized):
    sim.set_roles(SELLER, without("orders"))

    checks = verify(run, authorized, ok=False)

    assert not_ok(checks) == {"orders readable": "failed"}
    assert "Inventory and Order Tracking" in checks["orders readable"]["remedy"]
    assert "authorizes again" in checks["orders readable"]["remedy"]


def test_without_the_listing_role_listings_readable_fails_when_stock_sync_is_on(run, sim, authorized):
    sim.set_roles(SELLER, without("listings"))

    checks = verify(run, authorized, ok=False)

    assert not_ok(checks) == {"listings readable": "failed"}
    assert "Product Listing" in checks["listings readable"]["remedy"]


def test_without_the_listing_role_listings_are_not_checked_when_stock_sync_is_off(run, sim, authorized):
    run("apps", "configure", authorized, "--no-stock-sync")
    sim.set_roles(SELLER, without("listings"))

    checks = verify(run, authorized, ok=True)

    assert "listings readable" not in checks
    assert not_ok(checks) == {}


def test_a_month_before_the_yearly_renewal_verify_warns_and_the_app_still_verifies(run, clock, authorized):
    clock.advance(340 * DAY)

    checks = verify(run, authorized, ok=True)

    assert not_ok(checks) == {"authorization renewal": "warning"}
    assert "25 days" in checks["authorization renewal"]["detail"]
    assert "before then" in checks["authorization renewal"]["remedy"]


def test_past_the_yearly_renewal_verify_fails_with_authorize_again(run, clock, authorized):
    clock.advance(366 * DAY)

    checks = verify(run, authorized, ok=False)

    assert not_ok(checks) == {"authorization renewal": "failed"}
    assert "lapsed" in checks["authorization renewal"]["detail"]
    assert checks["authorization renewal"]["action"] == "authorize"
    assert checks["authorization renewal"]["command"] == "linkolis apps authorize 'Amazon DE'"
    run("apps", "authorize", authorized)
    assert not_ok(verify(run, authorized, ok=True)) == {}
