"""After authorizing, the seller verifies the app and sees "Module correctly installed" — or what to do."""

from __future__ import annotations

from helpers import install_app, token_of


def test_all_checks_ok_shows_the_banner_and_marks_the_app_verified(run, app):
    result = run("apps", "verify", "Shop EU")
    assert "Module correctly installed" in result.stdout
    assert "[     ok] credentials present" in result.stdout
    shown = run.json("apps", "show", "Shop EU")
    assert shown["status"] == "verified"
    assert shown["verified_at"] is not None


def test_verify_json_reports_each_check(run, app):
    report = run.json("apps", "verify", "Shop EU")
    assert report["ok"] is True and report["banner"] == "Module correctly installed"
    assert report["status"] == "verified"
    assert [(c["name"], c["status"]) for c in report["checks"]] == [
        ("credentials present", "ok"),
        ("token works", "ok"),
    ]


def test_a_failing_check_exits_1_prints_the_remedy_and_needs_attention(run, app, market):
    run("apps", "verify", "Shop EU")
    market.revoked.add(token_of("SELLER1"))
    result = run("apps", "verify", "Shop EU", code=1)
    assert "[ FAILED] token works: authorization revoked" in result.stdout
    assert "→ authorize again" in result.stdout
    assert "Module correctly installed" not in result.output
    assert run.json("apps", "show", "Shop EU")["status"] == "needs attention: authorization revoked"


def test_verify_json_on_failure_has_no_banner_and_exits_1(run, app, market):
    market.revoked.add(token_of("SELLER1"))
    report = run.json("apps", "verify", "Shop EU", code=1)
    assert report["ok"] is False and report["banner"] is None
    assert report["status"].startswith("needs attention: ")


def test_a_never_authorized_app_fails_with_the_authorize_remedy(run, market):
    install_app(run, "Shop EU", "EU")
    result = run("apps", "verify", "Shop EU", code=1)
    assert "[ FAILED] authorized: the app was never authorized" in result.stdout
    assert "→ authorize the app and confirm in the browser: `linkolis apps authorize 'Shop EU'`" in result.stdout
    assert "Module correctly installed" not in result.output
    assert run.json("apps", "show", "Shop EU")["status"] == "installed"


def test_verifying_again_after_authorizing_again_clears_the_attention(run, app, market):
    market.revoked.add(token_of("SELLER1"))
    run("apps", "verify", "Shop EU", code=1)
    market.revoked.clear()
    run("apps", "verify", "Shop EU")
    assert run.json("apps", "show", "Shop EU")["status"] == "verified"
