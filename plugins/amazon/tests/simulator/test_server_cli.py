"""Two ways to run: the HTTP server (in a thread, or the CLI process) behaves like the in-process transport; plus
the admin endpoint's helpers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from linkolis_amazon.simulator import Simulator
from linkolis_amazon.simulator.__main__ import main
from sim_support import DE, SELLER, UA

from linkolis_host.testing.simulator import iso, make_server


def test_serve_gives_a_loopback_base_url_that_answers_like_the_transport(sim):
    rt = sim.authorize()
    data = {
        "grant_type": "refresh_token",
        "refresh_token": rt,
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
    }
    with sim.serve() as base, httpx.Client(base_url=base, timeout=10) as c:
        assert base.startswith("http://127.0.0.1:")
        token = c.post("/auth/o2/token", data=data).json()["access_token"]
        h = {"x-amz-access-token": token, "user-agent": UA}
        r = c.get(
            "/orders/2026-01-01/orders",
            params={"createdAfter": iso(sim.clock.time() - 86400 * 60), "maxResultsPerPage": 3},
            headers=h,
        )
        assert r.status_code == 200 and len(r.json()["orders"]) == 3 and r.headers["x-amzn-RateLimit-Limit"] == "0.0056"
        sku = "Tasse+Untersetzer 50%"
        market = next(iter(sim.stock_truth(SELLER)[SELLER][sku]))
        from urllib.parse import quote

        got = c.get(
            f"/listings/2021-08-01/items/{SELLER}/{quote(sku, safe='')}", params={"marketplaceIds": market}, headers=h
        )
        assert got.status_code == 200 and got.json()["sku"] == sku
        doc = c.post(
            "/feeds/2021-06-30/documents", json={"contentType": "application/json; charset=UTF-8"}, headers=h
        ).json()
        assert doc["url"].startswith(base + "/s3/")
        assert (
            c.put(doc["url"], content=b"{}", headers={"content-type": "application/json; charset=UTF-8"}).status_code
            == 200
        )


def test_accepted_connections_send_without_waiting_for_nagle(sim):
    server = make_server(sim)
    try:
        with socket.create_connection(server.server_address[:2], timeout=5):
            conn, _ = server.get_request()
            with conn:
                assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        server.server_close()


def test_non_loopback_hosts_are_refused_unless_allowed(sim):
    with pytest.raises(ValueError), sim.serve(host="0.0.0.0"):
        pass
    assert main(["--host", "0.0.0.0", "--orders", "0", "--skus", "1"]) == 2


def test_cli_help_explains(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for flag in (
        "--seed",
        "--orders",
        "--skus",
        "--time-scale",
        "--redirect-uri",
        "--draft",
        "--login-uri",
        "--client-id",
    ):
        assert flag in out
    assert "throwaway" in out


def test_the_cli_serves_and_prints_its_base_url_and_throwaway_credentials():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "linkolis_amazon.simulator",
            "--orders",
            "20",
            "--skus",
            "8",
            "--seed",
            "5",
            "--redirect-uri",
            "https://app.example.com/cb",
            "--draft",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        first = proc.stdout.readline()  # type: ignore[union-attr]
        assert first.startswith("SP-API simulator listening on http://127.0.0.1:")
        base = first.rsplit(" ", 1)[1].strip()
        rest = "".join(proc.stdout.readline() for _ in range(4))  # type: ignore[union-attr]
        assert "throwaway" in rest and "client_secret" in rest
        deadline = time.time() + 10
        while True:
            try:
                r = httpx.get(f"{base}/_sim/health", timeout=2)
                break
            except httpx.TransportError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        assert r.json()["ok"] is True
        cfg = httpx.get(f"{base}/_sim/config").json()
        assert (
            cfg["draft"] is True and cfg["redirectUris"] == ["https://app.example.com/cb"] and "clientSecret" not in cfg
        )
        assert len(httpx.get(f"{base}/_sim/orders").json()["orders"]) == 20
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_admin_endpoint_tells_truth_and_changes_the_world(sim, clock):
    with sim.client() as c:
        orders = c.get("/_sim/orders", params={"seller_id": SELLER}).json()["orders"]
        assert len(orders) == len(sim.orders_truth(SELLER))
        sku = next(
            s for s, per in c.get("/_sim/stock").json()[SELLER].items() if DE in per and per[DE]["fulfillment"] == "MFN"
        )
        q0 = sim.stock_truth(SELLER)[SELLER][sku][DE]["quantity"]
        oid = c.post("/_sim/orders", json={"items": [{"sku": sku, "quantity": 1}], "marketplace": "DE"}).json()[
            "orderId"
        ]
        assert sim.stock_truth(SELLER)[SELLER][sku][DE]["quantity"] == max(0, q0 - 1)
        clock.advance(60)
        assert c.post(f"/_sim/orders/{oid}/advance", json={}).json()["status"] == "UNSHIPPED"
        assert c.post(f"/_sim/orders/{oid}/advance", json={"status": "SHIPPED"}).json()["status"] == "SHIPPED"
        assert (
            c.post("/_sim/listings", json={"sku": "NEW/SKU 1", "marketplaces": ["DE"], "quantity": 4}).status_code
            == 200
        )
        assert sim.stock_truth(SELLER)[SELLER]["NEW/SKU 1"][DE]["quantity"] == 4
        assert (
            c.post(
                "/_sim/accounts",
                json={"selling_partner_id": "A7ADMINMADE001", "marketplaces": ["US"], "roles": ["orders"]},
            ).status_code
            == 200
        )
        rt = c.post("/_sim/authorize", json={"selling_partner_id": "A7ADMINMADE001"}).json()["refresh_token"]
        assert c.post("/_sim/refresh-tokens/revoke", json={"refresh_token": rt}).json() == {"revoked": 1}
        assert c.post("/_sim/clock/advance", json={"seconds": 10}).status_code == 200
        assert c.get("/_sim/nope").status_code == 404


def test_the_stock_truth_comes_in_pages_that_cover_every_sku_once(sim):
    whole = list(sim.stock_truth(SELLER)[SELLER])
    with sim.client() as c:
        seen = []
        for offset in range(0, len(whole) + 3, 3):
            page = c.get("/_sim/stock", params={"seller_id": SELLER, "offset": offset, "limit": 3}).json()[SELLER]
            assert len(page) <= 3
            seen += page
        assert seen == whole
        for bad in ({"limit": 0}, {"offset": -1}, {"limit": "many"}):
            assert c.get("/_sim/stock", params={"seller_id": SELLER, **bad}).status_code == 400


def test_async_transport(sim):
    import asyncio

    async def go() -> int:
        async with httpx.AsyncClient(transport=sim.async_transport(), base_url="https://sim") as c:
            r = await c.get("/_sim/health")
            return r.status_code

    assert asyncio.run(go()) == 200


def test_a_scaled_clock_runs_faster(tmp_path):
    from linkolis_host.clock import ScaledClock

    sim = Simulator(ScaledClock(1000), orders=0, skus=2)
    t0 = sim.clock.time()
    time.sleep(0.01)
    assert sim.clock.time() - t0 >= 9


def test_the_cli_refuses_loopback_redirects_unless_told_it_is_development(capsys):
    from linkolis_amazon.simulator.__main__ import build, parse_args

    loopback = "http://127.0.0.1:8765/callback"
    assert not build(parse_args([])).app.redirect_allowed(loopback)
    assert build(parse_args(["--allow-loopback-redirects"])).app.redirect_allowed(loopback)
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    assert "NOT AMAZON BEHAVIOUR" in " ".join(capsys.readouterr().out.split())
