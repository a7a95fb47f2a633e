"""Login with Amazon: codes, refresh tokens, grantless tokens, and LWA's error shapes."""

from __future__ import annotations

import base64
import re

import pytest
from sim_support import DE, SELLER, UA, SpApi

REAL_TOKEN = re.compile(r"Atz[ar]\|[A-Za-z0-9]{20}")
REAL_SECRET = re.compile(r"amzn1\.oa2-cs\.v1\.[a-f0-9]{20}")


def _code(sim, redirect_uri="https://app.example.com/amazon/callback", seller=SELLER):
    return sim.lwa.issue_code(seller, redirect_uri, sim.clock.time())


def _exchange(client, sim, code, redirect_uri="https://app.example.com/amazon/callback", **over):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        **over,
    }
    return client.post("/auth/o2/token", data=data)


def test_a_code_buys_an_access_token_and_a_refresh_token(sim):
    with sim.client() as c:
        r = _exchange(c, sim, _code(sim))
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["access_token"].startswith("Atza|") and body["refresh_token"].startswith("Atzr|")
    assert r.headers["x-amzn-RequestId"]


def test_tokens_and_throwaway_secret_never_look_real(sim):
    with sim.client() as c:
        body = _exchange(c, sim, _code(sim)).json()
    assert not REAL_TOKEN.search(body["access_token"]) and not REAL_TOKEN.search(body["refresh_token"])
    assert not REAL_SECRET.search(sim.client_secret)


def test_a_code_used_twice_is_refused(sim):
    code = _code(sim)
    with sim.client() as c:
        assert _exchange(c, sim, code).status_code == 200
        again = _exchange(c, sim, code)
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant", "error_description": again.json()["error_description"]}


def test_a_code_older_than_five_minutes_is_refused(sim, clock):
    code = _code(sim)
    clock.advance(301)
    with sim.client() as c:
        r = _exchange(c, sim, code)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_an_unknown_code_is_refused(sim):
    with sim.client() as c:
        r = _exchange(c, sim, "sim-not-a-code")
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")


def test_the_redirect_uri_must_be_the_one_used_on_consent(sim):
    with sim.client() as c:
        r = _exchange(c, sim, _code(sim), redirect_uri="https://elsewhere.example.com/cb")
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize(
    "field,value", [("client_id", "amzn1.application-oa2-client.wrong"), ("client_secret", "wrong")]
)
def test_a_wrong_client_id_or_secret_is_invalid_client(sim, field, value):
    with sim.client() as c:
        r = _exchange(c, sim, _code(sim), **{field: value})
    assert r.status_code == 401
    assert r.json() == {"error": "invalid_client", "error_description": "Client authentication failed"}


def test_client_credentials_in_basic_auth_work_too(sim):
    basic = base64.b64encode(f"{sim.client_id}:{sim.client_secret}".encode()).decode()
    with sim.client() as c:
        r = c.post(
            "/auth/o2/token",
            data={"grant_type": "refresh_token", "refresh_token": sim.authorize()},
            headers={"authorization": f"Basic {basic}"},
        )
    assert r.status_code == 200


def test_refresh_gives_a_new_access_token_and_echoes_the_refresh_token(sim):
    rt = sim.authorize()
    with sim.client() as c:
        r = c.post(
            "/auth/o2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": rt,
                "client_id": sim.client_id,
                "client_secret": sim.client_secret,
            },
        )
    assert r.status_code == 200 and r.json()["refresh_token"] == rt


def test_a_revoked_refresh_token_is_invalid_grant_and_its_access_tokens_stop(sim):
    api = SpApi(sim)
    assert api.get("/sellers/v1/marketplaceParticipations").status_code == 200
    assert sim.revoke_refresh_token(api.refresh_token) == 1
    r = api.http.post(
        "/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": api.refresh_token,
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
        },
    )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
    assert api.get("/sellers/v1/marketplaceParticipations").status_code == 403


def test_grantless_tokens_need_a_known_scope_and_cannot_read_seller_data(sim):
    with sim.client() as c:
        bad = c.post(
            "/auth/o2/token",
            data={
                "grant_type": "client_credentials",
                "scope": "nope",
                "client_id": sim.client_id,
                "client_secret": sim.client_secret,
            },
        )
        ok = c.post(
            "/auth/o2/token",
            data={
                "grant_type": "client_credentials",
                "scope": "sellingpartnerapi::notifications",
                "client_id": sim.client_id,
                "client_secret": sim.client_secret,
            },
        )
        assert (bad.status_code, bad.json()["error"]) == (400, "invalid_scope")
        assert ok.status_code == 200 and "refresh_token" not in ok.json()
        r = c.get(
            "/sellers/v1/marketplaceParticipations",
            headers={"x-amz-access-token": ok.json()["access_token"], "user-agent": UA},
        )
    assert r.status_code == 403


def test_an_access_token_expires_after_an_hour(sim, clock):
    api = SpApi(sim)
    path, params = f"/listings/2021-08-01/items/{SELLER}", {"marketplaceIds": DE}
    clock.advance(3599)
    assert api.http.get(path, params=params, headers=api.headers()).status_code == 200
    clock.advance(2)
    r = api.http.get(path, params=params, headers=api.headers())
    assert "expired" in r.json()["errors"][0]["details"]
    assert r.status_code == 403 and r.json()["errors"][0]["code"] == "Unauthorized"
    assert "x-amzn-RateLimit-Limit" not in r.headers


@pytest.mark.parametrize(
    "data,error",
    [
        ({}, "invalid_request"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code"}, "invalid_request"),
    ],
)
def test_malformed_token_requests_get_lwa_errors(sim, data, error):
    with sim.client() as c:
        r = c.post("/auth/o2/token", data={"client_id": sim.client_id, "client_secret": sim.client_secret, **data})
    assert r.status_code == 400 and r.json()["error"] == error and "error_description" in r.json()


def test_lwa_calls_are_counted_but_never_throttled(sim):
    rt = sim.authorize()
    with sim.client() as c:
        for _ in range(50):
            assert (
                c.post(
                    "/auth/o2/token",
                    data={
                        "grant_type": "refresh_token",
                        "refresh_token": rt,
                        "client_id": sim.client_id,
                        "client_secret": sim.client_secret,
                    },
                ).status_code
                == 200
            )
    snap = sim.counters_snapshot()
    assert snap["calls"]["lwaToken"] == 50 and snap["lwa_grants"]["refresh_token"] == 50
