"""Sessions end when they should, server-side: a cookie is worth no more than the session it names.

A removed user's cookie opens nobody's workspace (ids are never reused), signing out ends every session of the user
(a copy of the cookie taken before included), so does a new password, and a session runs out after a while idle
and after its lifetime whatever the seller does.
"""

from __future__ import annotations

import base64
import json
import re

import pytest
from click.testing import CliRunner
from itsdangerous import TimestampSigner
from starlette.testclient import TestClient

from linkolis_host import VirtualClock, stock, workspaces
from linkolis_host.cli import cli
from linkolis_host.host import Host
from linkolis_host.web import WebSettings, create_app
from linkolis_host.web.auth import session_secret

PASSWORD = "correct horse battery staple"
BASE = "https://shop.example"


@pytest.fixture
def clock():
    return VirtualClock(start=1_800_000_000)


@pytest.fixture
def web(home, clock):
    """The web app on the data directory, its clock the test's, sessions ending after an hour idle or a day."""
    return create_app(lambda: Host(home, clock=clock), WebSettings(BASE, session_idle=3600, session_lifetime=24 * 3600))


def browser(web) -> TestClient:
    return TestClient(web, base_url=BASE)


def csrf_of(page) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def sign_in(client, email, password=PASSWORD):
    token = csrf_of(client.get("/signin"))
    answer = client.post("/signin", data={"csrf": token, "email": email, "password": password}, follow_redirects=False)
    assert answer.headers.get("location") == "/apps", answer.text
    return answer


def signed_in(client) -> bool:
    return client.get("/apps", follow_redirects=False).status_code == 200


def linkolis(*args, input=None):
    result = CliRunner().invoke(cli, list(args), input=input)
    assert result.exit_code == 0, result.output
    return result


def shop(home, name, *users):
    with Host(home) as host:
        space = workspaces.add_workspace(host, name)
        for email in users:
            workspaces.add_user(host, email, PASSWORD, name)
        return space


def test_a_removed_users_cookie_never_opens_the_next_users_workspace(home, web):
    shop(home, "Carla's shop", "carla@example.com")
    eves = shop(home, "Eve's shop")
    with Host(home) as host:
        host.workspace_id = eves.id
        stock.set_stock(host, "EVE-SECRET-SKU", 3)
    carla = browser(web)
    sign_in(carla, "carla@example.com")
    assert signed_in(carla)

    linkolis("users", "remove", "carla@example.com")
    linkolis("users", "add", "eve@example.com", "--workspace", "Eve's shop", "--password-stdin", input=PASSWORD)

    assert carla.get("/apps", follow_redirects=False).headers["location"] == "/signin"
    assert "EVE-SECRET-SKU" not in carla.get("/stock").text
    with Host(home) as host:
        ids = {u.email: u.id for u in workspaces.list_users(host)}
    assert ids["eve@example.com"] > 1, "a removed user's id is never handed out again"


def test_a_cookie_copied_before_signing_out_no_longer_signs_in(web, home):
    shop(home, "Anna's shop", "anna@example.com")
    anna = browser(web)
    sign_in(anna, "anna@example.com")
    copied = dict(anna.cookies)

    anna.post("/signout", data={"csrf": csrf_of(anna.get("/apps"))})
    assert not signed_in(anna)

    thief = browser(web)
    thief.cookies.update(copied)
    assert thief.get("/apps", follow_redirects=False).headers["location"] == "/signin"


def test_signing_out_ends_every_session_of_the_user_and_no_one_elses(web, home):
    shop(home, "Anna's shop", "anna@example.com", "ben@example.com")
    laptop, phone, colleague = browser(web), browser(web), browser(web)
    sign_in(laptop, "anna@example.com")
    sign_in(phone, "anna@example.com")
    sign_in(colleague, "ben@example.com")

    laptop.post("/signout", data={"csrf": csrf_of(laptop.get("/apps"))})

    assert not signed_in(laptop) and not signed_in(phone)
    assert signed_in(colleague)
    sign_in(phone, "anna@example.com")  # and she can sign in again
    assert signed_in(phone)


def test_a_new_password_ends_every_session_and_the_old_password_no_longer_works(web, home):
    shop(home, "Anna's shop", "anna@example.com")
    anna = browser(web)
    sign_in(anna, "anna@example.com")

    result = linkolis("users", "password", "anna@example.com", "--password-stdin", input="a brand new passphrase\n")
    assert "signed out everywhere" in result.output

    assert not signed_in(anna)
    token = csrf_of(anna.get("/signin"))
    old = anna.post("/signin", data={"csrf": token, "email": "anna@example.com", "password": PASSWORD})
    assert old.status_code == 401
    sign_in(anna, "anna@example.com", "a brand new passphrase")
    assert signed_in(anna)


def test_a_session_ends_after_an_hour_idle(web, home, clock):
    shop(home, "Anna's shop", "anna@example.com")
    anna = browser(web)
    sign_in(anna, "anna@example.com")
    clock.advance(3500)
    assert signed_in(anna)  # 58 minutes: still there, and the clock of idleness starts again
    clock.advance(3500)
    assert signed_in(anna)
    clock.advance(3601)
    assert not signed_in(anna)


def test_a_session_ends_a_day_after_signing_in_however_busy_the_seller_is(web, home, clock):
    shop(home, "Anna's shop", "anna@example.com")
    anna = browser(web)
    sign_in(anna, "anna@example.com")
    for _ in range(24):
        clock.advance(3590)  # never an hour idle
        assert signed_in(anna)
    clock.advance(300)  # 24 hours and 4 minutes after signing in
    assert not signed_in(anna)


def test_a_cookie_from_before_server_side_sessions_signs_nobody_in(web, home):
    """What the cookie held before: only the user's id. Signed with the real key, it is still nobody."""
    shop(home, "Anna's shop", "anna@example.com")
    payload = base64.b64encode(json.dumps({"user": 1, "csrf": "x"}).encode())
    forged = TimestampSigner(session_secret(home, {})).sign(payload).decode()
    old = browser(web)
    old.cookies.set("linkolis_session", forged)
    assert old.get("/apps", follow_redirects=False).headers["location"] == "/signin"
