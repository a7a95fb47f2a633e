"""What an operator's tools see: `/healthz` and `/readyz` for the load balancer and the supervisor, with no sign-in
and nothing private, and `/metrics` for Prometheus, only with its token (or on `--metrics-port`, on loopback)."""

from __future__ import annotations

import socket
import sqlite3
import threading

import httpx
import pytest
from helpers import authorize_app, install_app
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from linkolis_host import RateLimit, metrics, stock, sync
from linkolis_host.errors import UserError
from linkolis_host.http import HttpClient
from linkolis_host.scheduler import Scheduler
from linkolis_host.web import WebSettings, create_app

TOKEN = "s3cret-metrics-token-for-prometheus"


@pytest.fixture
def site(host):
    app = create_app(lambda: host, WebSettings("https://shop.example", metrics_token=TOKEN))
    return TestClient(app, base_url="https://shop.example")


def figures(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus' text as {(sample name, sorted labels): value}, parsed by prometheus-client's own parser."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def readiness(site) -> tuple[int, dict[str, dict]]:
    answer = site.get("/readyz")
    return answer.status_code, {c["name"]: c for c in answer.json()["checks"]}


def run_scheduler_until_the_imports_ran(host, market) -> None:
    """A sync that runs until its import stored the market's new orders (its report says "N new")."""
    stop = threading.Event()
    scheduler = Scheduler(host, workers=1, interval=600, notifications=False)
    scheduler.report = lambda message: stop.set() if " new" in message else None
    thread = threading.Thread(target=scheduler.run, args=(stop,), daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()


def test_healthz_answers_without_sign_in_and_readyz_waits_for_a_sync_of_the_authorized_apps(site, run, host, market):
    alive = site.get("/healthz")
    assert alive.status_code == 200 and alive.text == "ok\n"
    assert alive.headers["cache-control"] == "no-store"

    status, checks = readiness(site)
    assert status == 200, "nothing to sync yet: ready"
    assert {n: c["ok"] for n, c in checks.items()} == {
        "database": True,
        "migrations": True,
        "sync": True,
        "units": True,
    }

    install_app(run, "Anna's Secret Shop", "EU")
    authorize_app(run, "Anna's Secret Shop", account="SELLER1")
    status, checks = readiness(site)
    assert status == 503 and checks["sync"]["problem"] == "sync_not_running", "an authorized app and no sync"
    assert "Anna" not in site.get("/readyz").text, "a probe without sign-in names no seller"

    market.add_order("O-1")
    run_scheduler_until_the_imports_ran(host, market)
    status, checks = readiness(site)
    assert status == 200 and checks["sync"] == {"name": "sync", "ok": True, "count": 1}

    host.clock.advance(3 * host.config.sync.interval + 61)
    status, checks = readiness(site)
    assert status == 503 and checks["sync"]["problem"] == "sync_not_running", "the sync stopped moving its units"


def test_readyz_counts_stuck_units_and_an_unreachable_database(site, run, host, monkeypatch):
    install_app(run, "Shop EU", "EU")
    authorize_app(run, "Shop EU")
    now = host.clock.time()
    host.db["scheduler_state"].upsert_all(
        [
            {"app_id": 1, "stream": "import", "app_name": "Shop EU", "workspace_id": 1, "state": "running",
             "due_at": now - 3600, "last_error": "", "updated_at": now - 3600, "pid": 1},
            {"app_id": 1, "stream": "push", "app_name": "Shop EU", "workspace_id": 1, "state": "waiting",
             "due_at": now + 1, "last_error": "", "updated_at": now, "pid": 1},
        ],
        pk=("app_id", "stream"),
    )  # fmt: skip
    status, checks = readiness(site)
    assert status == 503 and checks["units"] == {"name": "units", "ok": False, "problem": "units_stuck", "count": 1}

    def gone(*args, **kwargs):
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(type(host.db), "execute", gone)
    answer = site.get("/readyz")
    assert answer.status_code == 503
    assert answer.json() == {
        "ready": False,
        "checks": [{"name": "database", "ok": False, "problem": "database_unreachable"}],
    }
    assert site.get("/healthz").status_code == 200, "alive is not ready: a database away does not restart the process"


def test_metrics_need_the_token_and_name_no_seller(site, run, host, market):
    assert site.get("/metrics").status_code == 401
    assert site.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    install_app(run, "Anna's Secret Shop", "EU", "--stock-sync")
    authorize_app(run, "Anna's Secret Shop", account="SELLER1")
    for n in range(3):
        market.add_order(f"O-{n}")
    stock.set_stock(host, "SKU-1", 4)
    run_scheduler_until_the_imports_ran(host, market)
    sync.sync_once(host)  # the push, whether or not the scheduler reached it before it stopped

    answer = site.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    seen = figures(answer.text)
    assert seen[("linkolis_orders", (("kind", "testmarket"),))] == 3
    assert seen[("linkolis_apps", (("kind", "testmarket"), ("state", "authorized")))] == 1
    assert seen[("linkolis_stock_outcomes", (("kind", "testmarket"), ("outcome", "accepted")))] == 1
    assert seen[("linkolis_store_up", ())] == 1
    assert seen[("linkolis_sync_queue_depth", ())] == 0
    ran = {labels: value for (name, labels), value in seen.items() if name == "linkolis_units_total"}
    assert ran[(("outcome", "done"), ("stream", "import"))] >= 1
    assert "Anna" not in answer.text and "SELLER1" not in answer.text and TOKEN not in answer.text
    assert "_created" not in answer.text, "no creation-time series beside each counter"


def test_without_a_token_there_is_no_metrics_page(host):
    site = TestClient(create_app(lambda: host, WebSettings("https://shop.example")), base_url="https://shop.example")
    assert site.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_marketplace_calls_429s_and_quota_waits_are_counted_per_operation(clock, home):
    from linkolis_host import store
    from linkolis_host.ratelimit import RateLimiter

    answers = [429, 200, 200, 200]
    transport = httpx.MockTransport(lambda request: httpx.Response(answers.pop(0) if answers else 200))
    home.mkdir(parents=True, exist_ok=True)
    store.connect(home / "linkolis.db").close()
    limiter = RateLimiter(home / "linkolis.db", clock)
    http = HttpClient(
        clock=clock,
        transport=transport,
        limiter=limiter,
        limits={"getWidgets": RateLimit(rate=1, burst=1)},
        bucket_prefix="acme:S1",
        marketplace="Acme",
    )
    labels = (("marketplace", "Acme"), ("operation", "getWidgets"))
    before = figures(metrics.counters())
    for _ in range(3):
        http.get("https://acme.invalid/widgets", operation="getWidgets")
    http.close()
    limiter.close()
    after = figures(metrics.counters())

    def grew(name):
        return after.get((name, labels), 0) - before.get((name, labels), 0)

    assert grew("linkolis_marketplace_calls_total") == 4
    assert grew("linkolis_marketplace_throttled_total") == 1
    assert grew("linkolis_quota_waits_total") == 3, "the retry after the 429 and the two calls after it waited"
    assert grew("linkolis_quota_waited_seconds_total") == pytest.approx(clock.slept, rel=0.01)


def test_metrics_port_serves_on_loopback_and_a_port_in_use_is_a_clear_error(host, run):
    install_app(run, "Shop EU", "EU")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    metrics.serve(host, port)
    seen = figures(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)
    assert seen[("linkolis_apps", (("kind", "testmarket"), ("state", "installed")))] == 1
    with pytest.raises(UserError, match=f"127.0.0.1:{port}.*--metrics-port"):
        metrics.serve(host, port)


@pytest.mark.no_store
def test_deployment_md_names_every_readiness_problem_and_every_metric():
    import ast
    import re
    from pathlib import Path

    import linkolis_host.health as health_module

    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "deployment.md").read_text(encoding="utf-8")
    source = ast.parse(Path(health_module.__file__).read_text(encoding="utf-8"))
    problems = {
        node.value.value
        for node in ast.walk(source)
        if isinstance(node, ast.keyword) and node.arg == "problem" and isinstance(node.value, ast.Constant)
    } | {
        value.value
        for node in ast.walk(source)
        if isinstance(node, ast.IfExp)
        for value in (node.body, node.orelse)
        if isinstance(value, ast.Constant) and isinstance(value.value, str)
    }
    assert {"database_unreachable", "migrations_pending", "sync_not_running", "units_stuck"} <= problems
    assert [p for p in problems if f"`{p}`" not in doc] == []
    named = set(re.findall(r'"(linkolis_[a-z_]+)"', Path(metrics.__file__).read_text(encoding="utf-8")))
    assert len(named) > 15
    counters = {n for n in named if f"`{n}_total" in doc}
    assert [n for n in named if n not in counters and f"`{n}" not in doc] == [], "docs/deployment.md misses these"


def test_a_store_that_does_not_answer_is_a_gauge_not_a_failed_scrape(site, monkeypatch, host):
    def gone(*args, **kwargs):
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(type(host.db), "execute", gone)
    answer = site.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    seen = figures(answer.text)
    assert seen[("linkolis_store_up", ())] == 0
    assert not [name for name, _ in seen if name.startswith(("linkolis_apps", "linkolis_orders"))], "no stale gauges"


@pytest.mark.no_store
def test_the_metrics_token_comes_from_the_environment_and_a_short_one_is_refused_without_showing_it():
    from linkolis_host import config

    assert config.metrics_token({}) is None
    assert config.metrics_token({"LINKOLIS_METRICS_TOKEN": f" {TOKEN}\n"}) == TOKEN
    with pytest.raises(UserError) as refused:
        config.metrics_token({"LINKOLIS_METRICS_TOKEN": "pa55word"})
    assert "at least 16 characters" in str(refused.value) and "pa55word" not in str(refused.value)


def test_serve_on_postgresql_carries_on_when_the_database_drops_its_connections(postgres_url, tmp_path):
    """A restart or failover of PostgreSQL drops every connection; serve's threads open new ones, and no page the
    seller reads nor the balancer's /readyz fails for it."""
    import psycopg

    from linkolis_host import workspaces
    from linkolis_host.host import Host

    host = Host(tmp_path / "home", env={"LINKOLIS_DATABASE_URL": postgres_url})
    workspaces.add_workspace(host, "Anna's shop")
    workspaces.add_user(host, "anna@example.com", "correct horse battery staple", "Anna's shop")
    app = create_app(lambda: host, WebSettings("https://shop.example"))
    # As served: one event loop, whose worker threads (and their connections) live from request to request.
    with TestClient(app, base_url="https://shop.example") as site:
        page = site.get("/signin")
        token = page.text.split('name="csrf" value="')[1].split('"')[0]
        signed_in = site.post(
            "/signin",
            data={"csrf": token, "email": "anna@example.com", "password": "correct horse battery staple"},
            follow_redirects=False,
        )
        assert signed_in.status_code == 303
        assert site.get("/readyz").status_code == 200 and site.get("/apps").status_code == 200

        with psycopg.connect(postgres_url, autocommit=True) as admin:  # what a restart does to every connection
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        assert [site.get("/readyz").status_code for _ in range(5)] == [200] * 5
        assert [site.get("/apps").status_code for _ in range(5)] == [200] * 5
    host.close()
