"""`linkolis demo` with the two marketplaces this repository ships: it installs an Amazon app and a bol app against
their simulators and walks the seller's whole story for both; afterwards its data directory stays with the
simulators, never a real marketplace."""

from __future__ import annotations

import json
import os
import re
import time
import tomllib
from html import unescape

import pytest
from click.testing import CliRunner

from linkolis_host import apps, orders
from linkolis_host.cli import cli
from linkolis_host.demo import start_stand_ins, stop_stand_ins
from linkolis_host.host import Host

STOPPED = "the demo's simulator has stopped; start the demo again"


@pytest.fixture
def both(monkeypatch):
    monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", "amazon,bol")
    for name in ("ENDPOINT", "CLIENT_ID", "CLIENT_SECRET", "APPLICATION_ID"):
        monkeypatch.delenv(f"LINKOLIS_AMAZON_{name}", raising=False)
    monkeypatch.delenv("LINKOLIS_BOL_ENDPOINT", raising=False)
    monkeypatch.delenv("LINKOLIS_AMAZON_NOTIFICATIONS_QUEUE_URL", raising=False)


def test_the_demo_installs_amazon_and_bol_walks_the_story_for_both_and_its_data_directory_stays_with_them(
    both, tmp_path, monkeypatch
):
    demo_home = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--home", str(demo_home)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "A local Amazon is running" in out and "A local bol is running" in out
    assert out.count("Module correctly installed") == 2
    for step in ("Install Amazon as 'Amazon DE'", "Install bol as 'bol NL'", "Paste the Client ID and Client Secret"):
        assert step in out
    figures = dict(re.findall(r"^  (Amazon DE|bol NL): (.*)$", out, flags=re.M))
    for app in ("Amazon DE", "bol NL"):
        imported, accepted, shipped = map(int, re.findall(r"\d+", figures[app]))
        assert imported > 0 and accepted > 0 and shipped == 1, figures[app]
    assert out.count("confirmed by the marketplace; the order is now shipped") == 2
    # Where its data is: the file, or on PostgreSQL the setting that names it (never the URL: it may hold a password).
    url = os.environ.get("LINKOLIS_DATABASE_URL")
    assert f"(database: {'the PostgreSQL of LINKOLIS_DATABASE_URL' if url else demo_home / 'linkolis.db'})" in out
    assert not url or url not in result.output

    with Host(demo_home) as host:
        assert sorted((a.name, a.kind, a.status) for a in apps.installed.list_apps(host)) == [
            ("Amazon DE", "amazon", "verified"),
            ("bol NL", "bol", "verified"),
        ]
        assert {o["app"] for o in orders.list_orders(host, limit=1000)} == {"Amazon DE", "bol NL"}

    # Afterwards the data directory stays with the simulators: its commands say they stopped, never reach Amazon.
    config = tomllib.loads((demo_home / "linkolis.toml").read_text(encoding="utf-8"))
    amazon, bol = config["plugins"]["amazon"]["endpoint"], config["plugins"]["bol"]["endpoint"]
    assert amazon.startswith("http://127.0.0.1:") and bol.startswith("http://127.0.0.1:")
    assert config["demo"]["stand_ins"] == [amazon, bol]

    monkeypatch.setenv("LINKOLIS_HOME", str(demo_home))
    for app in ("Amazon DE", "bol NL"):
        # The cached access tokens are the simulators': with no endpoint these would go to the real marketplace.
        result = CliRunner().invoke(cli, ["orders", "import", app])
        assert result.exit_code == 1, result.output
        assert STOPPED in result.stderr
        assert "Traceback" not in result.output
    assert CliRunner().invoke(cli, ["stock", "set", "SKU-0001", "11"]).exit_code == 0
    # SKU-0001 (and the SKU both sell, when its last change came after bol's last push): refused, not sent on.
    pushed = CliRunner().invoke(cli, ["stock", "push", "bol NL"]).output
    assert re.search(r"bol NL: [12] SKUs? sent: 0 accepted, [12] rejected", pushed), pushed
    levels = json.loads(CliRunner().invoke(cli, ["stock", "list", "--app", "bol NL", "--json"]).stdout)
    [pushed] = [r for r in levels if r["sku"] == "SKU-0001"]
    assert STOPPED in pushed["message"]


@pytest.mark.one_store("the demo's stand-ins; its story on both stores is the first test's")
def test_in_the_demo_an_amazon_order_reaches_linkolis_by_notification_in_seconds_and_bol_is_offered_one_less(
    both, tmp_path
):
    demo_home = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--home", str(demo_home)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "A local SQS (moto) is running at http://127.0.0.1:" in out
    assert "Its ORDER_CHANGE notifications go to the demo's local SQS" in out
    step = out.split("== An order on Amazon reaches linkolis through a notification\n", 1)[1].split("\n== ", 1)[0]
    sku, order_id = re.search(r"a buyer ordered 1 × (.+) on Amazon: order (\S+)", step).groups()
    assert re.search(r"stored by notification \d+\.\d s after it was placed", step), step
    before, after = map(int, re.search(rf"bol NL offered (\d+) → (\d+) of {re.escape(sku)}", step).groups())
    assert after == before - 1
    # And the other way round: bol's push names the retailer, which the host learns is the bol app's.
    back = out.split("== An order on bol reaches linkolis through a notification\n", 1)[1].split("\n== ", 1)[0]
    assert re.search(r"stored by notification \d+\.\d s after it was placed", back), back
    before, after = map(int, re.search(rf"Amazon DE offered (\d+) → (\d+) of {re.escape(sku)}", back).groups())
    assert after == before - 1

    with Host(demo_home) as host:
        assert orders.get_order(host, order_id)["app"] == "Amazon DE"
        # It came by the queue (the demo polls nothing after the stories): one notification per channel, handled.
        assert [r["outcome"] for r in host.db.query("SELECT outcome FROM notifications")] == ["handled", "handled"]
    config = tomllib.loads((demo_home / "linkolis.toml").read_text(encoding="utf-8"))
    assert config["plugins"]["amazon"]["notifications_queue_url"].endswith("/linkolis-demo-amazon")


@pytest.mark.one_store("the demo's stand-ins; its story on both stores is the first test's")
def test_without_moto_the_demo_says_in_one_line_that_orders_come_by_polling(both, tmp_path, monkeypatch):
    from linkolis_host import local_sqs

    monkeypatch.setattr(local_sqs, "available", lambda: False)  # as where the test extra is not installed
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9")  # the seller's own: the demo leaves it alone
    result = CliRunner().invoke(cli, ["demo", "--home", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.count("orders come by polling, not by notification") == 1
    assert "notifications go to" not in out and "through a notification" not in out
    assert out.count("Module correctly installed") == 2


@pytest.mark.one_store("the demo's stand-ins; its story on both stores is the first test's")
def test_the_demos_data_directory_reaches_the_stand_in_while_it_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", "bol")
    monkeypatch.delenv("LINKOLIS_BOL_ENDPOINT", raising=False)
    demo_home = tmp_path / "demo"
    stand_ins = start_stand_ins(demo_home)
    [bol] = stand_ins.environments
    try:
        with Host(demo_home) as host:  # nothing in its environment: linkolis.toml alone points at the stand-in
            row = apps.install(host, "bol", bol.install)
            apps.authorize_direct(host, row, bol.credentials)
            _, checks, ok = apps.verify(host, row.name)
            assert ok, checks
            assert orders.import_orders(host, row.name)["new"] == 120
    finally:
        stop_stand_ins(stand_ins)
    with Host(demo_home) as host:
        with pytest.raises(Exception, match=re.escape(STOPPED)):
            orders.import_orders(host, "bol NL")


@pytest.mark.one_store("the demo's stand-ins; its story on both stores is the first test's")
def test_the_web_demo_offers_both_apps_in_all_applications_and_a_bol_app_installs_there(both, tmp_path, monkeypatch):
    import uvicorn
    from starlette.testclient import TestClient

    from linkolis_host.web.demo import DEMO_EMAIL, run_web_demo

    printed_lines: list[str] = []
    seen: dict[str, str] = {}

    def visit(app, host, port, **_):  # instead of serving until Ctrl-C: a visitor who reads the printed sign-in
        printed = "\n".join(printed_lines)
        password = re.search(r"Password: (\S+)", printed).group(1)
        client_id, secret = re.search(r"credentials: client_id (\S+), client_secret (\S+)", printed).groups()
        client = TestClient(app, base_url=f"http://127.0.0.1:{port}")
        token = _csrf(client.get("/signin").text)
        client.post("/signin", data={"csrf": token, "email": DEMO_EMAIL, "password": password})
        catalog = client.get("/apps/catalog")
        seen["catalog"] = catalog.text
        done = client.post(  # the settings and the pasted credentials, in the one install panel
            "/apps/new",
            data={
                "csrf": _csrf(catalog.text),
                "kind": "bol",
                "name": "bol NL",
                "credential_client_id": client_id,
                "credential_client_secret": secret,
            },
        )
        seen["installed"] = done.text

    monkeypatch.setattr(uvicorn, "run", visit)
    monkeypatch.setattr("click.echo", lambda message="", **kw: printed_lines.append(str(message)))
    monkeypatch.setattr("click.secho", lambda message="", **kw: printed_lines.append(str(message)))
    run_web_demo(tmp_path / "web-demo", port=8765)
    assert "All applications" in seen["catalog"]
    assert "Install Amazon" in seen["catalog"] and "Install bol" in seen["catalog"]
    assert "Module correctly installed" in seen["installed"]


def _csrf(text: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', text).group(1)


@pytest.mark.one_store("the demo's stand-ins; its story on both stores is the first test's")
def test_the_web_demo_imports_a_new_apps_orders_by_itself_and_says_when(tmp_path, monkeypatch):
    import uvicorn
    from starlette.testclient import TestClient

    from linkolis_host.web.demo import DEMO_EMAIL, run_web_demo

    monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", "bol")
    monkeypatch.delenv("LINKOLIS_BOL_ENDPOINT", raising=False)
    printed_lines: list[str] = []
    seen: dict[str, str] = {}

    def visit(app, host, port, **_):  # the seller installs bol in the panel, then only looks
        printed = "\n".join(printed_lines)
        password = re.search(r"Password: (\S+)", printed).group(1)
        client_id, secret = re.search(r"credentials: client_id (\S+), client_secret (\S+)", printed).groups()
        client = TestClient(app, base_url=f"http://127.0.0.1:{port}")
        client.post(
            "/signin", data={"csrf": _csrf(client.get("/signin").text), "email": DEMO_EMAIL, "password": password}
        )
        client.post(
            "/apps/new",
            data={"csrf": _csrf(client.get("/apps/catalog").text), "kind": "bol", "name": "bol NL",
                  "credential_client_id": client_id, "credential_client_secret": secret},
        )  # fmt: skip
        deadline = time.monotonic() + 60  # a safety net, not a timing check: no button is pressed meanwhile
        while "/orders/" not in client.get("/orders").text and time.monotonic() < deadline:
            time.sleep(0.2)
        seen["orders"] = client.get("/orders").text
        seen["apps"] = client.get("/apps").text
        arrive = "New orders arrive the moment they are placed"
        while not all(text in seen["apps"] for text in ("Orders last fetched", "Next fetch of orders in", arrive)):
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)  # the first import ends after its last page: the row then says when the next is due
            seen["apps"] = client.get("/apps").text

    monkeypatch.setattr(uvicorn, "run", visit)
    monkeypatch.setattr("click.echo", lambda message="", **kw: printed_lines.append(str(message)))
    monkeypatch.setattr("click.secho", lambda message="", **kw: printed_lines.append(str(message)))
    run_web_demo(tmp_path / "web-demo", port=8766)
    assert "Syncing every authorized app in the background" in "\n".join(printed_lines)
    assert 'href="/orders/' in seen["orders"]
    assert re.search(r"Orders last fetched \d+ seconds? ago", seen["apps"])
    # bol's pushes reach the demo's local SQS: new orders come by notification, and the poll is only the net (a
    # minute after the first import when it ended before the queue first answered, else the net's 15 minutes).
    assert "New orders arrive the moment they are placed; none has come yet" in seen["apps"]
    assert re.search(r"Next fetch of orders in (1 minute|15 minutes)", seen["apps"])


@pytest.mark.one_store("the demo's stand-ins; its story on both stores is the first test's")
def test_the_web_demo_prints_the_local_amazons_shop_and_a_purchase_there_is_notified_to_linkolis_queue(
    both, tmp_path, monkeypatch
):
    import boto3
    import httpx
    import uvicorn
    from linkolis_amazon.simulator.browser import SellerBrowser
    from starlette.testclient import TestClient

    from linkolis_host.web.demo import DEMO_EMAIL, run_web_demo

    home = tmp_path / "web-demo"
    printed_lines: list[str] = []
    seen: dict[str, object] = {}

    def visit(app, host, port, **_):  # the seller authorizes Amazon in the panel, then buys on the local Amazon
        printed = "\n".join(printed_lines)
        password = re.search(r"Password: (\S+)", printed).group(1)
        shop_url = re.search(r"Place an order on the local Amazon: (\S+)", printed).group(1)
        client = TestClient(app, base_url=f"http://127.0.0.1:{port}")
        client.post(
            "/signin", data={"csrf": _csrf(client.get("/signin").text), "email": DEMO_EMAIL, "password": password}
        )
        panel = client.post(
            "/apps/new",
            data={"csrf": _csrf(client.get("/apps/catalog").text), "kind": "amazon", "name": "Amazon DE",
                  "marketplace": "DE"},
        )  # fmt: skip
        consent_url = unescape(re.search(r'id="continue" data-follow href="([^"]+)"', panel.text).group(1))

        class Browser(SellerBrowser):  # Amazon is the simulator over HTTP, linkolis the web app under test
            def _client_for(self, url):
                return client if url.startswith(f"http://127.0.0.1:{port}/") else self.sim_client

        with httpx.Client(base_url=shop_url.split("/_sim/")[0], timeout=30) as amazon:
            seen["authorized"] = Browser(amazon).open(consent_url).text
            shop = amazon.get(shop_url)
            seen["shop"] = shop.text
            sku = unescape(re.search(r"name='sku' value='([^']*)'", shop.text).group(1))
            bought = amazon.post(shop_url, data={"sku": sku}, follow_redirects=True)
            seen["bought"] = bought.text
            placed = re.search(r"Order (\S+) placed", bought.text).group(1)
            truth = amazon.get("/_sim/orders").json()["orders"]
            seen["placed"] = [(i["sku"], i["quantity"]) for o in truth if o["orderId"] == placed for i in o["items"]]
        queue = tomllib.loads((home / "linkolis.toml").read_text(encoding="utf-8"))["plugins"]["amazon"][
            "notifications_queue_url"
        ]
        sqs = boto3.client("sqs")  # the demo points boto3 at its local SQS while it runs
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        deadline = time.monotonic() + 30  # a safety net, not a timing check
        waiting = 0
        while time.monotonic() < deadline:
            counts = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=names)["Attributes"]
            waiting = sum(int(counts[name]) for name in names)
            with Host(home) as reader:  # the background sync may have read it already (then it is stored)
                stored = bool(reader.db.execute("SELECT count(*) FROM notifications").fetchone()[0])
            if waiting or stored:
                break
            time.sleep(0.2)
        seen["notified"] = bool(waiting or stored)
        seen["sku"] = sku

    monkeypatch.setattr(uvicorn, "run", visit)
    monkeypatch.setattr("click.echo", lambda message="", **kw: printed_lines.append(str(message)))
    monkeypatch.setattr("click.secho", lambda message="", **kw: printed_lines.append(str(message)))
    run_web_demo(home, port=8767)
    assert "Buy one" in seen["shop"], seen.get("authorized")
    assert seen["placed"] == [(seen["sku"], 1)]
    assert seen["notified"], "no ORDER_CHANGE notification reached the demo's queue"
