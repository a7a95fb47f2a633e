"""deploy/: the systemd units, their environment file and the nginx site that docs/deployment.md quotes, checked as
far as this machine allows. The docs quote each file as it is; each unit starts a command linkolis accepts and
gives it time to stop; `systemd-analyze verify` finds nothing to say of the units (when it is installed); and
Debian's nginx, configured by the site file, stands in front of a real `linkolis serve` on loopback while a seller
signs in, opens My applications and comes back through the callback (when nginx is installed: .ci/run installs it).
"""

from __future__ import annotations

import html
import json
import os
import re
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import click
import httpx
import pytest
import trustme
from helpers import token_of

from linkolis_host import apps, installed, scheduler, stock_files, workspaces
from linkolis_host.cli import cli
from linkolis_host.cli.serve import REQUESTS_GRACE
from linkolis_host.web.app import JOBS_GRACE
from linkolis_host.web.pages import FORM_BYTES

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
DOC = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
UNITS = ["linkolis-serve.service", "linkolis-sync.service", "linkolis-worker@.service"]
NO_SYNC = "linkolis-serve.service.d/no-sync.conf"
INSTALLED = "/opt/linkolis/bin/linkolis"  # where the units expect linkolis (the docs' venv)
LINKOLIS = Path(sys.executable).with_name("linkolis")
PASSWORD = "correct horse battery staple"
SITE = (DEPLOY / "nginx-linkolis.conf").read_text(encoding="utf-8")
# The scheduler's own bound on its running units when serve or sync --watch stops (scheduler.background).
SYNC_GRACE = 30.0

# `linkolis serve` with the Test Market plugin, whose consent page and callback need no real marketplace.
SERVE = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[1])
    import testmarket
    from linkolis_host.cli import cli
    from linkolis_host.host import Host
    cli.main(sys.argv[2:], obj=Host(extra_plugins=[testmarket]), prog_name="linkolis")
""")


def settings(path: str) -> list[tuple[str, str, str]]:
    """A unit file's (section, key, value) lines in order, a repeated key kept (``ExecStart=``, then another)."""
    section, found = "", []
    for line in (DEPLOY / path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.append((section, key, value))
    return found


def setting(path: str, key: str) -> str:
    values = [v for _, k, v in settings(path) if k == key and v]
    assert len(values) == 1, (path, key, values)
    return values[0]


def exec_start(path: str) -> list[str]:
    words = shlex.split(setting(path, "ExecStart"))
    assert words[0] == INSTALLED, words
    return words[1:]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_directive(name: str) -> list[str]:
    return re.findall(rf"^\s*{name}\s+([^;]+);", SITE, flags=re.M)


# -- the files and the docs -------------------------------------------------------------------------------------


@pytest.mark.no_store
def test_the_docs_quote_every_file_of_deploy_as_it_is():
    files = sorted(p.relative_to(DEPLOY).as_posix() for p in DEPLOY.rglob("*") if p.is_file())
    assert files == sorted([*UNITS, NO_SYNC, "linkolis.env", "nginx-linkolis.conf"])
    for name in files:
        text = (DEPLOY / name).read_text(encoding="utf-8")
        blocks = re.findall(r"```[a-z]*\n(.*?)```", DOC, flags=re.S)
        assert text in blocks, f"docs/deployment.md does not quote deploy/{name} as it is"
        assert f"`deploy/{name}`" in DOC


@pytest.mark.no_store
@pytest.mark.parametrize("path", [*UNITS, NO_SYNC])
def test_each_unit_starts_a_command_linkolis_accepts(path):
    """Parsed by the command itself, as it would be started: an unknown option or a value out of range fails."""
    args = exec_start(path)
    command = cli.commands[args[0]]
    command.make_context(args[0], args[1:])  # raises on anything the command would refuse
    with pytest.raises(click.UsageError):
        command.make_context(args[0], [*args[1:], "--no-such-option"])


@pytest.mark.no_store
def test_each_unit_gives_its_command_time_to_stop_cleanly():
    """systemd sends SIGKILL TimeoutStopSec after SIGTERM: longer than the command's own bound on stopping."""
    worker = exec_start("linkolis-worker@.service")
    bounds = {
        # requests, then the jobs started from the pages, then the scheduler thread (joined grace + 5 s)
        "linkolis-serve.service": REQUESTS_GRACE + JOBS_GRACE + SYNC_GRACE + 5,
        "linkolis-sync.service": SYNC_GRACE,
        "linkolis-worker@.service": float(worker[worker.index("--grace") + 1]),
    }
    for unit, bound in bounds.items():
        assert float(setting(unit, "TimeoutStopSec")) > bound, unit


@pytest.mark.no_store
def test_the_units_share_one_data_directory_environment_and_hardening():
    def service_lines(unit):
        return [(k, v) for section, k, v in settings(unit) if section == "Service" and k not in ("ExecStart",)]

    first = service_lines(UNITS[0])
    for unit in UNITS[1:]:
        assert service_lines(unit) == first, unit
    service = dict(first)
    assert service["Environment"] == "LINKOLIS_HOME=/var/lib/linkolis"
    assert service["StateDirectory"] == "linkolis" and service["ReadWritePaths"] == "/var/lib/linkolis"
    assert service["EnvironmentFile"] == "/etc/linkolis/linkolis.env"
    assert service["User"] == "linkolis" and service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == "yes" and service["UMask"] == "0077"
    assert service["Restart"] == "on-failure"  # a worker whose database went away exits 1 for this


@pytest.mark.no_store
def test_the_sync_split_serves_the_same_address_without_the_background_sync():
    assert exec_start(NO_SYNC) == [*exec_start("linkolis-serve.service"), "--no-sync"]
    assert [k for _, k, _ in settings(NO_SYNC)] == ["ExecStart", "ExecStart"]  # the first one empties the list
    assert exec_start("linkolis-sync.service") == ["sync", "--watch"]


@pytest.mark.no_store
def test_the_nginx_site_sends_serve_what_it_believes():
    """serve listens on 127.0.0.1 and believes X-Forwarded-* from there only; the proxy must overwrite the address,
    and let through the largest body the app takes (the stock upload), no larger."""
    serve = exec_start("linkolis-serve.service")
    assert serve[serve.index("--host") + 1] == "127.0.0.1"
    assert nginx_directive("proxy_pass") == [f"http://127.0.0.1:{serve[serve.index('--port') + 1]}"]
    headers = [tuple(h.split(None, 1)) for h in nginx_directive("proxy_set_header")]
    assert [v for k, v in headers if k.startswith("X-Forwarded-")] == ["$remote_addr", "$scheme"]
    assert dict(headers)["X-Forwarded-For"] == "$remote_addr" and dict(headers)["X-Forwarded-Proto"] == "$scheme"
    (size,) = nginx_directive("client_max_body_size")
    assert int(size.removesuffix("m")) * 1024 * 1024 == stock_files.MAX_STOCK_FILE_BYTES + FORM_BYTES
    assert nginx_directive("add_header") == ['Strict-Transport-Security "max-age=31536000" always']
    assert nginx_directive("proxy_hide_header") == ["Strict-Transport-Security"]


# -- systemd-analyze --------------------------------------------------------------------------------------------


def verify(units: Path, names: list[str]) -> str:
    """What `systemd-analyze verify` says of the units: nothing, when they are right. It exits 0 on an unknown key
    or a value it cannot parse and only says so, so what it says is the check."""
    done = subprocess.run(
        [shutil.which("systemd-analyze"), "verify", *names], cwd=units, capture_output=True, text=True, timeout=60
    )
    return (done.stdout + done.stderr).strip() or ("" if done.returncode == 0 else f"exit {done.returncode}")


@pytest.mark.no_store
@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_analyze_finds_nothing_to_say_of_the_units(tmp_path):
    """Copies of the units, started from this venv's linkolis (verify wants the program to exist); the worker as an
    instance (linkolis-worker@1), the serve unit with its no-sync drop-in beside it."""
    (tmp_path / "linkolis-serve.service.d").mkdir()
    for name in [*UNITS, NO_SYNC]:
        text = (DEPLOY / name).read_text(encoding="utf-8").replace(INSTALLED, str(LINKOLIS))
        (tmp_path / name.replace("@.", "@1.")).write_text(text, encoding="utf-8")
    names = ["linkolis-serve.service", "linkolis-sync.service", "linkolis-worker@1.service"]

    assert verify(tmp_path, names) == ""

    exposure = subprocess.run(
        [shutil.which("systemd-analyze"), "security", "--offline=yes", *names],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    levels = [float(x) for x in re.findall(r"Overall exposure level for \S+: ([\d.]+)", exposure)]
    if levels:  # systemd 250 and later
        assert len(levels) == 3 and max(levels) < 2.0, exposure  # "OK" by systemd's own scale

    drop_in = tmp_path / NO_SYNC
    drop_in.write_text(drop_in.read_text(encoding="utf-8") + "NoNewPrivilege=yes\n", encoding="utf-8")
    assert "Unknown key 'NoNewPrivilege'" in verify(tmp_path, names), "a misspelt key must fail this check"
    broken = tmp_path / "linkolis-sync.service"
    broken.write_text(broken.read_text(encoding="utf-8").replace(str(LINKOLIS), "/nonexistent/linkolis"))
    assert "/nonexistent/linkolis" in verify(tmp_path, ["linkolis-sync.service"])


# -- a real serve: SIGTERM, and behind nginx --------------------------------------------------------------------


def start_serve(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    """`linkolis ARGS` (serve) with the Test Market, ready once its sign-in page answers on ``--port``."""
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(Path(__file__).parent), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{args[args.index('--port') + 1]}/signin"
    deadline = time.monotonic() + 30  # a safety net for a slow start, not a timing check
    while True:
        try:
            httpx.get(url, timeout=2)
            return process
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"linkolis serve did not start: {process.communicate()[0]}") from None
            time.sleep(0.1)


def stop(process: subprocess.Popen) -> tuple[int, str, float]:
    """SIGTERM, as systemd stops a unit: the exit code, what it said, and how long it took."""
    started = time.monotonic()
    process.terminate()
    try:
        out, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return process.returncode, out, time.monotonic() - started


@pytest.mark.one_store("a real serve process on the data directory's SQLite file: the one-machine shape")
def test_serve_as_its_unit_starts_it_stops_its_sync_on_sigterm_and_exits_0(host):
    """uvicorn raises SIGTERM again once it has stopped serving; Python's default then ended the process (exit -15)
    before the background sync had stopped its units. Now the sync stops as on Ctrl-C and serve exits 0."""
    host.workspace_id = workspaces.add_workspace(host, "Anna's shop").id
    apps.install(host, "testmarket", {"name": "Shop EU", "region": "EU"})
    apps.authorize_direct(host, "Shop EU", {"token": token_of("SELLER1"), "account": "SELLER1"})
    args = exec_start("linkolis-serve.service")
    port = free_port()
    args[args.index("--port") + 1] = str(port)
    process = start_serve(args)
    try:
        deadline = time.monotonic() + 30
        while not scheduler.status(host)["units"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert scheduler.status(host)["units"], "the background sync never ran"
    finally:
        code, said, took = stop(process)

    assert code == 0, said
    assert "Syncing every authorized app in the background" in said and said.rstrip().endswith("Stopped.")
    assert {u["state"] for u in scheduler.status(host)["units"]} == {"stopped"}, "the sync was not stopped cleanly"
    assert took < float(setting("linkolis-serve.service", "TimeoutStopSec"))


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def nginx_in_front(workdir: Path, serve_port: int, ca: trustme.CA) -> tuple[subprocess.Popen, int, int]:
    """Debian's nginx from ``workdir`` with deploy/nginx-linkolis.conf, only its addresses, certificate and upstream
    port changed: (the process, its https port, its http port)."""
    https_port, http_port = free_port(), free_port()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_and_cert_chain_pem.write_to_path(str(workdir / "fullchain.pem"))
    cert.private_key_pem.write_to_path(str(workdir / "privkey.pem"))
    site = SITE
    for line in [line for line in site.splitlines(keepends=True) if "[::]" in line]:
        site = site.replace(line, "")  # IPv6 may be missing where the tests run
    for old, new in {
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "/etc/letsencrypt/live/linkolis.example.com/fullchain.pem": str(workdir / "fullchain.pem"),
        "/etc/letsencrypt/live/linkolis.example.com/privkey.pem": str(workdir / "privkey.pem"),
        "http://127.0.0.1:8000": f"http://127.0.0.1:{serve_port}",
    }.items():
        assert site.count(old) == 1, old
        site = site.replace(old, new)
    site = site.replace("/var/log/nginx/linkolis.access.log", str(workdir / "access.log"))
    (workdir / "linkolis.conf").write_text(site, encoding="utf-8")
    temp = " ".join(
        f"{kind}_temp_path {workdir / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (workdir / "nginx.conf").write_text(
        # As root, nginx's workers would run as nobody, who may not enter this test's temporary directory.
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\npid {workdir / 'nginx.pid'};\nerror_log {workdir / 'error.log'} warn;\n"
        + "events { worker_connections 64; }\n"
        + f"http {{\n    access_log off;\n    {temp}\n    include {workdir / 'linkolis.conf'};\n}}\n",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [nginx_binary(), "-p", str(workdir), "-c", str(workdir / "nginx.conf"), "-e", str(workdir / "error.log")]
        + ["-g", "daemon off;"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
            return process, https_port, http_port
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log = (workdir / "error.log").read_text() if (workdir / "error.log").exists() else ""
                raise AssertionError(f"nginx did not start: {process.communicate()[0]} {log}") from None
            time.sleep(0.05)


def csrf_of(page: httpx.Response) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def sign_in(client: httpx.Client, email: str, password: str, forwarded_for: str | None = None) -> httpx.Response:
    token = csrf_of(client.get("/signin"))
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post("/signin", data={"csrf": token, "email": email, "password": password}, headers=headers)


def raw_request(port: int, context: ssl.SSLContext, head: str) -> bytes:
    """``head`` sent over TLS as it is, no body after it, and what comes back until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as plain:
        with context.wrap_socket(plain, server_hostname="127.0.0.1") as tls:
            tls.sendall(head.encode())
            answer = b""
            while chunk := tls.recv(65536):
                answer += chunk
    return answer


@pytest.mark.one_store("nginx in front of a real serve process: what it is about does not change with the store")
# Skipped where nginx is missing, but never in CI, whose .ci/run installs Debian's: a proxy test that quietly stops
# running would prove nothing.
@pytest.mark.skipif(
    nginx_binary() is None and os.environ.get("CI") != "true", reason="nginx is not installed (.ci/run installs it)"
)
def test_behind_nginx_a_seller_signs_in_opens_my_applications_and_comes_back_through_the_callback(host, tmp_path):
    host.workspace_id = workspaces.add_workspace(host, "Anna's shop").id
    workspaces.add_user(host, "anna@example.com", PASSWORD, workspace="Anna's shop")
    ca = trustme.CA()
    context = ssl.create_default_context()
    ca.configure_trust(context)
    serve_port = free_port()
    workdir = tmp_path / "nginx"
    workdir.mkdir()
    nginx, https_port, http_port = nginx_in_front(workdir, serve_port, ca)
    base = f"https://127.0.0.1:{https_port}"
    args = exec_start("linkolis-serve.service")
    args[args.index("--port") + 1] = str(serve_port)
    as_env_file_gives_it = {"LINKOLIS_BASE_URL": base, "LINKOLIS_LOG_FORMAT": "json"}
    serve = start_serve(args, env={**os.environ, **as_env_file_gives_it})
    try:
        with httpx.Client(base_url=base, verify=context, timeout=30) as client:
            page = client.get("/signin")
            assert page.status_code == 200
            assert page.headers.get_list("strict-transport-security") == ["max-age=31536000"], "one HSTS header"

            signed_in = sign_in(client, "anna@example.com", PASSWORD)
            assert signed_in.status_code == 303 and signed_in.headers["location"] == "/apps"
            cookie = signed_in.headers["set-cookie"]
            assert cookie.startswith("linkolis_session=") and "secure" in cookie.lower()
            my_apps = client.get("/apps")
            assert my_apps.status_code == 200 and "My applications" in my_apps.text
            assert my_apps.headers.get_list("strict-transport-security") == ["max-age=31536000"]
            request_id = my_apps.headers["x-request-id"]  # nginx's $request_id, as serve logs it
            assert client.get("/healthz").text == "ok\n", "the balancer's check, through the proxy"
            assert client.get("/metrics").status_code == 404, "no metrics token set: no metrics page"

            # X-Forwarded-Proto: the app sees https, so a form posted from this host's plain-http pages is not ours.
            language = {"csrf": csrf_of(my_apps), "lang": "en", "next": "/apps"}
            refused = client.post("/language", data=language, headers={"Origin": "http://127.0.0.1"})
            assert refused.status_code == 403
            taken = client.post("/language", data=language, headers={"Origin": "https://127.0.0.1"})
            assert taken.status_code == 303

            # Install an app and authorize it: the consent page sends the browser back to <base>/apps/callback.
            new = client.post(
                "/apps/new",
                data={"csrf": csrf_of(client.get("/apps/new?kind=testmarket")), "kind": "testmarket"}
                | {"name": "Shop EU", "region": "EU"},
            )
            assert new.status_code == 200, new.text
            consent = html.unescape(re.search(r'https://auth\.testmarket\.invalid/consent\?[^"\s<]+', new.text)[0])
            query = parse_qs(urlsplit(consent).query)
            assert query["redirect_uri"] == [f"{base}/apps/callback"]
            back = client.get(query["redirect_uri"][0], params={"state": query["state"][0], "code": "good-SELLER1"})
            assert back.status_code == 303 and back.headers["location"].startswith("/apps")
            assert back.headers.get_list("strict-transport-security") == ["max-age=31536000"]
            assert client.get(back.headers["location"]).status_code == 200
        app = installed.get(host, "Shop EU")
        assert app.authorized and app.account_id == "SELLER1"

        # X-Forwarded-For: nginx overwrites what the client claims, so the one client behind 19 forged addresses
        # still meets the limit of 20 sign-in attempts per address (Anna's counted one).
        def guess(n: int) -> int:
            with httpx.Client(base_url=base, verify=context, timeout=30) as guesser:
                return sign_in(guesser, f"user{n}@example.com", "a guess", forwarded_for=f"198.51.100.{n}").status_code

        with ThreadPoolExecutor(2) as pool:  # two at a time, as many as serve checks at once
            codes = list(pool.map(guess, range(20)))
        assert sorted(codes) == [401] * 19 + [429], codes

        # The body limit: past the stock upload's cap nginx answers 413 itself, before a byte reaches serve.
        declared = stock_files.MAX_STOCK_FILE_BYTES + FORM_BYTES + 1
        answer = raw_request(
            https_port,
            context,
            f"POST /stock/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {declared}\r\n"
            "Content-Type: multipart/form-data; boundary=x\r\n\r\n",
        )
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413"), head
        assert b"nginx" in body and b"strict-transport-security: max-age=31536000" in head.lower()

        plain = httpx.get(f"http://127.0.0.1:{http_port}/apps", timeout=10)
        assert plain.status_code == 301 and plain.headers["location"] == "https://127.0.0.1/apps"
    finally:
        code, said, _ = stop(serve)
        nginx.terminate()
        nginx.wait(timeout=30)
    assert code == 0, said
    lines = [json.loads(line) for line in said.splitlines() if line.strip()]  # every line one JSON object
    seen = next(line for line in lines if line["request_id"] == request_id)
    assert seen["message"].startswith("GET /apps 200 ") and seen["workspace"] == host.workspace_id
    assert not any("good-SELLER1" in line["message"] for line in lines), "the callback's code never logged"
    access = (workdir / "access.log").read_text(encoding="utf-8")
    assert '"GET /apps HTTP/1.1" 200 ' in access and request_id in access, "nginx's line carries the same id"
    assert "/apps/callback" in access and "good-SELLER1" not in access, "nor in nginx's access log"
