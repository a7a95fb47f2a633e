"""Seller Central consent: the page, Confirm and Cancel, Amazon's error pages, and the log-in URI variant."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sim_support import SELLER, form_fields, make_sim

REGISTERED = "https://app.example.com/amazon/callback"
LOOPBACK = "http://127.0.0.1:50123/amazon/callback"


def consent(c: httpx.Client, sim, **params):
    q = {"application_id": sim.application_id, "state": "st-123", **params}
    return c.get("/apps/authorize/consent", params={k: v for k, v in q.items() if v is not None})


def submit(c: httpx.Client, page: httpx.Response, action: str = "confirm", **override):
    fields = form_fields(page.text)
    fields.update(override)
    fields["action"] = action
    return c.post("/apps/authorize/consent", data=fields)


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def exchange(c: httpx.Client, sim, code: str, redirect_uri: str) -> httpx.Response:
    return c.post(
        "/auth/o2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
        },
    )


def test_the_consent_page_shows_app_marketplaces_permissions_and_two_buttons(sim):
    with sim.client() as c:
        page = consent(c, sim)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert sim.app.name in html and "Amazon.de" in html and "Amazon.com" in html
    assert "Inventory and Order Tracking" in html and "Product Listing" in html  # orders and stock
    assert 'value="confirm"' in html and 'value="cancel"' in html and "Confirm" in html and "Cancel" in html
    assert form_fields(html)["selling_partner_id"] == SELLER


def test_confirm_redirects_with_state_seller_and_a_code_that_buys_tokens(sim):
    with sim.client() as c:
        page = consent(c, sim, redirect_uri=REGISTERED)
        r = submit(c, page)
        assert r.status_code in (302, 303)
        loc = r.headers["location"]
        assert loc.startswith(REGISTERED + "?")
        q = query(loc)
        assert q["state"] == "st-123" and q["selling_partner_id"] == SELLER and q["spapi_oauth_code"]
        tokens = exchange(c, sim, q["spapi_oauth_code"], REGISTERED)
    assert tokens.status_code == 200 and tokens.json()["refresh_token"].startswith("Atzr|")


def test_without_redirect_uri_the_first_registered_one_is_used(sim):
    with sim.client() as c:
        r = submit(c, consent(c, sim))
        q = query(r.headers["location"])
        assert r.headers["location"].startswith(REGISTERED + "?")
        assert exchange(c, sim, q["spapi_oauth_code"], REGISTERED).status_code == 200


def test_cancel_redirects_with_access_denied_and_the_state(sim):
    with sim.client() as c:
        r = submit(c, consent(c, sim), action="cancel")
    q = query(r.headers["location"])
    assert r.status_code == 302 and q["error"] == "access_denied" and q["state"] == "st-123" and q["error_description"]
    assert "spapi_oauth_code" not in q


def test_a_different_selling_account_can_be_authorized(sim):
    sim.add_account("A2OTHERSELLER9", ["UK"], roles=["orders"])
    with sim.client() as c:
        page = consent(c, sim, selling_partner_id="A2OTHERSELLER9")
        assert form_fields(page.text)["selling_partner_id"] == "A2OTHERSELLER9"
        r = submit(c, consent(c, sim), selling_partner_id="A2OTHERSELLER9")
    assert query(r.headers["location"])["selling_partner_id"] == "A2OTHERSELLER9"


def test_the_consent_form_can_be_submitted_once(sim):
    with sim.client() as c:
        page = consent(c, sim)
        assert submit(c, page).status_code == 302
        again = submit(c, page)
    assert again.status_code == 400 and "Error Code" in again.text and "location" not in again.headers


@pytest.mark.parametrize(
    "params,status,code",
    [
        ({"application_id": "amzn1.sellerapps.app.unknown"}, 404, "MD4100"),
        ({"redirect_uri": "https://evil.example.com/cb"}, 400, "MD5101"),
        ({"redirect_uri": "https://app.example.com/amazon/callback#frag"}, 400, "MD5110"),
        ({"redirect_uri": LOOPBACK}, 400, "MD5101"),  # Amazon accepts no http, loopback or not
        ({"redirect_uri": "http://app.example.com/amazon/callback"}, 400, "MD5101"),  # the registered one, in http
        ({"state": None}, 400, "MD9999"),  # no state: refused (Amazon documents no answer; see docs/operations.md)
    ],
)
def test_errors_get_amazons_error_page_and_no_redirect(sim, params, status, code):
    with sim.client() as c:
        r = consent(c, sim, **params)
    assert r.status_code == status and "location" not in r.headers
    assert r.headers["content-type"].startswith("text/html") and f'Error Code: <span id="error-code">{code}' in r.text


def test_a_draft_app_needs_version_beta(clock):
    sim = make_sim(clock, draft=True)
    with sim.client() as c:
        without = consent(c, sim)
        with_beta = consent(c, sim, version="beta")
    assert without.status_code == 400 and "MD1000" in without.text
    assert with_beta.status_code == 200 and "draft" in with_beta.text


def test_no_registered_redirect_and_none_given_is_an_error_page(clock):
    sim = make_sim(clock, redirect_uris=[])
    with sim.client() as c:
        assert consent(c, sim).status_code == 400


def test_an_http_redirect_registered_is_still_refused_as_amazon_would(clock):
    sim = make_sim(clock, redirect_uris=[LOOPBACK])
    with sim.client() as c:
        given, default = consent(c, sim, redirect_uri=LOOPBACK), consent(c, sim)
    assert given.status_code == default.status_code == 400
    assert 'id="error-code">MD5101' in given.text and 'id="error-code">MD5101' in default.text


def test_loopback_redirects_work_only_when_allowed_for_development(clock):
    """Not Amazon behaviour: ``allow_loopback_redirects`` accepts any http loopback address, for the demo."""
    sim = make_sim(clock, redirect_uris=[], allow_loopback_redirects=True)
    with sim.client() as c:
        page = consent(c, sim, redirect_uri="http://localhost:8765/cb")
        assert page.status_code == 200
        assert submit(c, page).headers["location"].startswith("http://localhost:8765/cb?state=st-123&")
        assert 'id="error-code">MD5101' in consent(c, sim, redirect_uri="http://evil.example.com/cb").text
        assert consent(c, sim, redirect_uri="http://localhost:8765/cb", state=None).status_code == 400


def test_login_uri_step_then_callback_completes_with_a_code(clock):
    sim = make_sim(clock, login_uri="https://app.example.com/amazon/login", draft=True)
    with sim.client() as c:
        r = submit(c, consent(c, sim, version="beta", redirect_uri=REGISTERED))
        loc = r.headers["location"]
        assert loc.startswith("https://app.example.com/amazon/login?")
        q = query(loc)
        assert q["selling_partner_id"] == SELLER and q["version"] == "beta" and q["amazon_state"]
        callback = q["amazon_callback_uri"]
        assert urlsplit(callback).path == f"/apps/authorize/confirm/{sim.application_id}"
        # The app's log-in page sends the browser back, with its own state and version=beta.
        missing_beta = c.get(urlsplit(callback).path, params={"amazon_state": q["amazon_state"], "state": "mine"})
        assert missing_beta.status_code == 400 and "MD1000" in missing_beta.text
        back = c.get(
            urlsplit(callback).path,
            params={"amazon_state": q["amazon_state"], "state": "mine", "redirect_uri": REGISTERED, "version": "beta"},
        )
        assert back.status_code == 302
        final = query(back.headers["location"])
        assert back.headers["location"].startswith(REGISTERED) and final["state"] == "mine"
        assert exchange(c, sim, final["spapi_oauth_code"], REGISTERED).status_code == 200
        # amazon_state is single-use
        replay = c.get(
            urlsplit(callback).path, params={"amazon_state": q["amazon_state"], "state": "mine", "version": "beta"}
        )
        assert replay.status_code == 400


def test_consent_over_real_http_reaches_a_loopback_receiver(clock):
    """The demo's path (allowed loopback redirects, not Amazon behaviour): fetch the page over HTTP, POST Confirm,
    follow the redirect to a loopback receiver."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    got: dict[str, str] = {}

    class Receiver(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            got.update(query(self.path))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *a: object) -> None:
            pass

    sim = make_sim(clock, allow_loopback_redirects=True)
    receiver = HTTPServer(("127.0.0.1", 0), Receiver)
    t = threading.Thread(target=receiver.handle_request, daemon=True)
    t.start()
    redirect_uri = f"http://127.0.0.1:{receiver.server_address[1]}/amazon/callback"
    try:
        with sim.serve() as base, httpx.Client(base_url=base, follow_redirects=True, timeout=10) as c:
            page = consent(c, sim, redirect_uri=redirect_uri)
            assert page.status_code == 200
            done = submit(c, page)
            assert done.status_code == 200 and done.text == "ok"
    finally:
        t.join(timeout=5)
        receiver.server_close()
    assert got["state"] == "st-123" and got["selling_partner_id"] == SELLER and got["spapi_oauth_code"]
