"""The web's "Import now" against Amazon's searchOrders quota (a token every 178.6 s): a seller who presses it again
and again gets one import per token, told when the next can go, and the quota the scheduled imports live on is never
emptied by the button."""

from __future__ import annotations

import re
import time

from starlette.testclient import TestClient

from linkolis_host import workspaces
from linkolis_host.host import Host
from linkolis_host.locks import app_lock
from linkolis_host.web import WebSettings, create_app

PASSWORD = "correct horse battery staple"


def searches(wire) -> int:
    return sum(1 for r in wire.requests if r.url.path == "/orders/2026-01-01/orders")


def test_import_now_pressed_again_and_again_imports_once_per_searchorders_token(authorized, host, home, clock, wire):
    workspaces.add_user(host, "anna@example.com", PASSWORD, "Default")
    web = create_app(lambda: Host(home, clock=clock, transport=wire, env=host.env), WebSettings("https://shop.example"))
    browser = TestClient(web, base_url="https://shop.example")
    token = re.search(r'name="csrf" value="([^"]+)"', browser.get("/signin").text).group(1)
    browser.post("/signin", data={"csrf": token, "email": "anna@example.com", "password": PASSWORD})
    token = re.search(r'name="csrf" value="([^"]+)"', browser.get("/apps").text).group(1)  # a new one, signed in

    def press():
        return browser.post("/apps/import", data={"csrf": token, "app": authorized}, follow_redirects=False)

    def finished():
        deadline = time.monotonic() + 30  # a safety net, not a timing check
        while time.monotonic() < deadline:
            jobs = browser.get("/jobs").json()["jobs"]
            if jobs and all(j["state"] != "running" for j in jobs):
                return jobs
            time.sleep(0.02)
        raise AssertionError("the import did not finish")

    assert press().status_code == 303
    assert finished()[0]["state"] == "finished"
    first = searches(wire)
    assert first >= 1

    refused = [press() for _ in range(50)]
    assert {r.status_code for r in refused} == {429}
    assert "allows the next import in 2 min 59 s" in refused[0].text
    assert searches(wire) == first, "fifty presses, no request"

    clock.advance(179)  # one token later
    assert press().status_code == 303
    finished()
    assert searches(wire) > first

    app_id = host.db.execute("SELECT id FROM apps").fetchone()[0]
    with app_lock(home, app_id, authorized, "import", host.database):  # sync --watch
        clock.advance(179)
        running = press()
    assert running.status_code == 429 and f"An import of {authorized} is running now" in running.text
