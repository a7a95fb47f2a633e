"""The web app in a real Chromium (Debian's package; Playwright cannot download browsers here), served over https
with a throwaway CA by uvicorn in a thread, against the Amazon simulator on loopback with our callback registered.

One browser per test module, a fresh context (cookies, storage) per test and per signed-in user.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("LINKOLIS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "correct horse battery staple"


def _find_chromium() -> str | None:
    return CHROMIUM if Path(CHROMIUM).exists() else None


@pytest.fixture(scope="module")  # not session: Playwright's loop must stop before other tests use asyncio.run
def chromium():
    path = _find_chromium()
    if path is None:
        message = (
            "no Chromium found (install Debian's `chromium` package: apt-get install -y chromium, or set "
            "LINKOLIS_CHROMIUM); the browser tests need it"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def tls(tmp_path_factory):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    certfile, keyfile = folder / "cert.pem", folder / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    return certfile, keyfile


class Site:
    """The operator's site: a served web app, the simulated Amazon behind it, workspaces and their users."""

    def __init__(self, home: Path, base_url: str, sim, env: dict[str, str], browser, shots: Path) -> None:
        self.home, self.base_url, self.sim, self.env = home, base_url, sim, env
        self.browser, self.shots = browser, shots
        self.contexts: list = []
        self._shot = 0

    def host(self):
        from linkolis_host.host import Host

        return Host(self.home, env=self.env)

    def user(self, email: str, workspace: str, language: str | None = None) -> str:
        from linkolis_host import workspaces

        with self.host() as host:
            if workspace not in [w.name for w in workspaces.list_workspaces(host)]:
                workspaces.add_workspace(host, workspace)
            workspaces.add_user(host, email, PASSWORD, workspace, language)
        return email

    def page(self, locale: str = "en-GB"):
        context = self.browser.new_context(ignore_https_errors=True, locale=locale, base_url=self.base_url)
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        return context.new_page()

    def sign_in(self, page, email: str, labels=("Email", "Password", "Sign in")) -> None:
        page.goto("/signin")
        page.get_by_label(labels[0]).fill(email)
        page.get_by_label(labels[1]).fill(PASSWORD)
        page.get_by_role("button", name=labels[2]).click()

    def shot(self, page, name: str) -> Path:
        self._shot += 1
        path = self.shots / f"{self._shot:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@contextmanager
def served_site(chromium, tls, tmp_path, make_sim, env_of):
    """A ``Site`` served over https on a free loopback port, on the stand-in ``make_sim(base_url)`` builds (served
    over HTTP for the block), with the operator settings ``env_of(sim, sim_url)`` gives."""
    from linkolis_host.web import WebSettings, create_app

    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    certfile, keyfile = tls
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    base_url = f"https://127.0.0.1:{port}"
    sim = make_sim(base_url)
    with sim.serve() as sim_url:
        shots = tmp_path / "screenshots"
        shots.mkdir()
        s = Site(home, base_url, sim, env_of(sim, sim_url), chromium, shots)
        app = create_app(s.host, WebSettings(base_url=base_url))
        with _serving_on(app, certfile, keyfile, port):
            try:
                yield s
            finally:
                s.close()


def amazon_sim(base_url, orders=30, skus=8):
    """The simulated Amazon the browser tests run against: 30 orders of 8 SKUs, nothing new unless a test adds it."""
    from linkolis_amazon.simulator import Simulator

    from linkolis_host import SystemClock

    return Simulator(
        SystemClock(),
        seed=7,
        orders=orders,
        skus=skus,
        order_window_days=5,
        new_orders_per_hour=0,
        listing_visibility_delay=0.2,
        feed_queue_seconds=0.2,
        feed_processing_seconds=0.2,
        redirect_uris=[f"{base_url}/apps/callback"],
    )


def amazon_env(sim, sim_url):
    """The operator's settings that point the Amazon plugin at ``sim`` served on ``sim_url``."""
    return {
        "LINKOLIS_AMAZON_ENDPOINT": sim_url,
        "LINKOLIS_AMAZON_CLIENT_ID": sim.client_id,
        "LINKOLIS_AMAZON_CLIENT_SECRET": sim.client_secret,
        "LINKOLIS_AMAZON_APPLICATION_ID": sim.application_id,
        "LINKOLIS_AMAZON_FIRST_IMPORT_DAYS": "10",
    }


@pytest.fixture
def site(chromium, tls, tmp_path, monkeypatch):
    monkeypatch.setenv("LINKOLIS_LOAD_PLUGINS", "amazon")
    with served_site(chromium, tls, tmp_path, amazon_sim, amazon_env) as s:
        yield s


@contextmanager
def _serving_on(app, certfile, keyfile, port):
    import uvicorn

    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        ssl_certfile=str(certfile),
        ssl_keyfile=str(keyfile),
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web app did not start")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10)
