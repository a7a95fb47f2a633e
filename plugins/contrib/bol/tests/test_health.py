"""The checks behind "Module correctly installed", each failure with a remedy."""

from __future__ import annotations


def _checks(result):
    return {c["name"]: c for c in result["checks"]}


def test_credentials_renewed_in_the_seller_portal_fail_the_token_check_with_the_way_back(run, sim, authorized):
    sim.client_secret = "a-renewed-secret-0000"
    result = run.json("apps", "verify", "bol NL", code=1)
    token = _checks(result)["bol token"]
    assert token["status"] == "failed" and "refused the Client ID and Client Secret" in token["detail"]
    assert token["command"] == "linkolis apps authorize 'bol NL' --credential client_id=… --credential client_secret=-"
    assert run.json("apps", "show", "bol NL")["status"].startswith("needs attention")


def test_bol_failing_to_list_orders_is_a_failed_check_with_a_remedy(run, sim, authorized):
    sim.faults.add(operation="get-orders", kind="500", count=10)
    checks = _checks(run.json("apps", "verify", "bol NL", code=1))
    assert checks["orders readable"]["status"] == "failed" and checks["orders readable"]["remedy"]
    assert checks["offers readable"]["status"] == "ok"


def test_the_export_the_health_check_asked_for_serves_the_next_push(run, sim, authorized):
    run("apps", "verify", "bol NL")
    assert sim.counters["post-offer-export"] == 1
    sku = next(o.reference for o in sim.offers if not o.fbb)
    run("stock", "set", sku, "2")
    run("stock", "push", "bol NL")
    assert sim.counters["post-offer-export"] == 1
