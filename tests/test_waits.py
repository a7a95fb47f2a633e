"""Waiting: a marketplace that cannot be reached costs seconds and no quota, and a long wait says what for."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import testmarket
from helpers import authorize_app, install_app

from linkolis_host import AppKind, OrderBatch, RateLimit, RemoteError, SystemClock, hookimpl, store
from linkolis_host import progress as progress_module
from linkolis_host.host import Host
from linkolis_host.http import HttpClient
from linkolis_host.progress import StderrProgress
from linkolis_host.ratelimit import RateLimiter

URL = "https://api.market.invalid/orders"
# Like Amazon's searchOrders: one request, then a token every three minutes.
SLOW = RateLimit(rate=1 / 180, burst=1)
KEY = "amazon:SELLER1:searchOrders"


@pytest.fixture
def limiter(home, clock):
    home.mkdir(parents=True, exist_ok=True)
    store.connect(home / store.DB_FILE).close()
    made = RateLimiter(home / store.DB_FILE, clock)
    yield made
    made.close()


def refusing(requests):
    def market(request):
        requests.append(request)
        raise httpx.ConnectError("connection refused", request=request)

    return market


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_marketplace_fails_within_seconds_and_spends_no_quota(clock, limiter):
    requests = []
    http = HttpClient(
        clock=clock,
        limiter=limiter,
        limits={"searchOrders": SLOW},
        bucket_prefix="amazon:SELLER1",
        transport=httpx.MockTransport(refusing(requests)),
    )
    try:
        with pytest.raises(RemoteError) as error:
            http.get(URL, operation="searchOrders")
    finally:
        http.close()

    assert "searchOrders: cannot connect to api.market.invalid" in str(error.value)
    assert len(requests) == 4, "tried again a few times"
    assert clock.slept < 10, f"waited {clock.slept} s of virtual time"
    assert limiter.wait_time(KEY, SLOW) == 0, "the token is still there for the next request"


def test_once_the_network_is_back_the_first_request_does_not_wait(clock, limiter):
    down = []
    for _ in range(3):  # three imports in a row against a dead network
        http = HttpClient(
            clock=clock,
            limiter=limiter,
            limits={"searchOrders": SLOW},
            bucket_prefix="amazon:SELLER1",
            transport=httpx.MockTransport(refusing(down)),
        )
        with pytest.raises(RemoteError):
            http.get(URL, operation="searchOrders")
        http.close()
    slept = clock.slept
    http = HttpClient(
        clock=clock,
        limiter=limiter,
        limits={"searchOrders": SLOW},
        bucket_prefix="amazon:SELLER1",
        transport=httpx.MockTransport(lambda request: httpx.Response(200)),
    )
    assert http.get(URL, operation="searchOrders").status_code == 200
    http.close()
    assert clock.slept == slept


def test_with_the_quota_used_up_an_unreachable_marketplace_is_not_waited_for(clock, limiter):
    limiter.reserve(KEY, SLOW)  # an import a minute ago took the token: the next comes in three minutes
    http = HttpClient(clock=clock, limiter=limiter, limits={"searchOrders": SLOW}, bucket_prefix="amazon:SELLER1")
    try:
        with pytest.raises(RemoteError) as error:
            http.get(f"http://127.0.0.1:{closed_port()}/orders", operation="searchOrders")
    finally:
        http.close()

    assert "cannot connect to 127.0.0.1" in str(error.value)
    assert clock.slept < 10, f"waited {clock.slept} s of virtual time"
    assert 170 < limiter.wait_time(KEY, SLOW) <= 181, "the bucket is as the earlier import left it"


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self):  # http.server's name
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_with_the_quota_used_up_a_reachable_marketplace_is_waited_for_as_usual(clock, limiter):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    limiter.reserve(KEY, SLOW)
    http = HttpClient(clock=clock, limiter=limiter, limits={"searchOrders": SLOW}, bucket_prefix="amazon:SELLER1")
    try:
        assert http.get(f"http://127.0.0.1:{server.server_port}/orders", operation="searchOrders").status_code == 200
    finally:
        http.close()
        server.shutdown()
        server.server_close()
    assert 179 < clock.slept < 181


# -- long waits say so ------------------------------------------------------------------------------------------


def slow_market_plugin():
    """The test market with a searchOrders-like quota; its import asks the marketplace twice."""
    plugin = types.ModuleType("slowmarket")
    for hook in ("authorize", "health_check", "push_stock", "read_stock"):
        setattr(plugin, hook, getattr(testmarket, hook))

    def configure_fields():
        return AppKind(
            kind="testmarket",
            title="Test Market",
            description="A marketplace with a slow quota",
            settings=testmarket.TestMarketSettings,
            rate_limits={"searchOrders": SLOW},
            direct_credentials=testmarket.configure_fields().direct_credentials,
        )

    def import_orders(ctx, cursor):
        for page in (1, 2):
            ctx.http.get(URL, operation="searchOrders", params={"page": page})
            yield OrderBatch(orders=[], cursor={"page": page})

    plugin.configure_fields = hookimpl(configure_fields)
    plugin.import_orders = hookimpl(import_orders)
    return plugin


@pytest.fixture
def host(home, clock, market):
    made = Host(
        home,
        clock=clock,
        extra_plugins=[slow_market_plugin()],
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json={})),
    )
    yield made
    made.close()


@pytest.fixture
def slow_run(run):
    install_app(run)
    authorize_app(run)
    return run


def test_a_wait_for_quota_is_told_on_stderr(slow_run):
    result = slow_run("orders", "import")

    assert "Waiting 3 min for Test Market's quota for searchOrders…" in result.stderr
    assert "Waiting" not in result.stdout
    assert "Shop EU: 0 new" in result.stdout


def test_under_json_a_wait_is_a_json_event_on_stderr_and_stdout_stays_json(slow_run):
    result = slow_run("orders", "import", "--json")

    assert json.loads(result.stdout)["batches"] == 2
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert events == [
        {
            "event": "wait",
            "for": "Test Market's quota for searchOrders",
            "seconds": 180.2,
            "message": "Waiting 3 min for Test Market's quota for searchOrders…",
        }
    ]


def test_a_short_wait_is_not_told(clock, limiter):
    heard = []
    progress = types.SimpleNamespace(wait=lambda what, seconds: heard.append((what, seconds)))
    quick = RateLimit(rate=1, burst=1)
    http = HttpClient(
        clock=clock,
        limiter=limiter,
        limits={"getOrder": quick},
        bucket_prefix="amazon:SELLER1",
        transport=httpx.MockTransport(lambda request: httpx.Response(200)),
        progress=progress,
        marketplace="Amazon",
    )
    for _ in range(3):
        http.get(URL, operation="getOrder")
    http.close()
    assert clock.slept > 1.9 and heard == []


def test_backing_off_from_a_failing_marketplace_is_told(clock):
    heard = []
    progress = types.SimpleNamespace(wait=lambda what, seconds: heard.append(what))
    answers = [503, 503, 503, 200]
    http = HttpClient(
        clock=clock,
        transport=httpx.MockTransport(lambda request: httpx.Response(answers.pop(0))),
        progress=progress,
        marketplace="Amazon",
    )
    assert http.get(URL, operation="getOrder").status_code == 200
    http.close()
    assert "Amazon to recover (getOrder answered 503)" in heard  # the third back-off is 4-8 s


def test_a_wait_line_never_lands_inside_a_progress_bar(capsys):
    progress = StderrProgress()
    drawn = []
    progress._bar = types.SimpleNamespace(render_progress=lambda: drawn.append("bar"))
    progress_module._ACTIVE.append(progress)  # as start() does for a bar on a terminal

    progress.note("Feed 12 stays pending")

    progress_module._ACTIVE.remove(progress)
    err = capsys.readouterr().err
    assert err == "\r\033[KFeed 12 stays pending\n"
    assert drawn == ["bar"], "the bar is drawn again below the line"


@pytest.mark.parametrize(
    "seconds, text",
    [(0.4, "0 s"), (45, "45 s"), (120, "2 min"), (178.2, "2 min 58 s"), (3600, "1 h"), (3780, "1 h 3 min")],
)
def test_a_wait_reads_as_a_person_says_it(seconds, text):
    from linkolis_host.http import duration_text

    assert duration_text(seconds) == text


# -- a stopped wait gives its token back -------------------------------------------------------------------------

QUOTA_KEY = "testmarket:SELLER1:searchOrders"
IMPORT = textwrap.dedent("""
    import sys
    import httpx
    sys.path.insert(0, sys.argv[1])
    from test_waits import slow_market_plugin
    from linkolis_host.cli import cli
    from linkolis_host.host import Host
    host = Host(
        extra_plugins=[slow_market_plugin()],
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json={})),
    )
    cli.main(["orders", "import", "--json"], obj=host, prog_name="linkolis")
""")


def start_import() -> subprocess.Popen:
    """`linkolis orders import --json` in a process of its own, on the real clock, against the slow market."""
    return subprocess.Popen(
        [sys.executable, "-c", IMPORT, str(Path(__file__).parent)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def announced_wait(importer: subprocess.Popen) -> float:
    """The seconds the import says it waits for searchOrders' token (its JSON event on stderr)."""
    for line in importer.stderr:
        with contextlib.suppress(ValueError):
            event = json.loads(line)
            if isinstance(event, dict) and event.get("event") == "wait":
                return event["seconds"]
    raise AssertionError(f"the import ended without waiting: {importer.wait()}")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["ctrl-c", "kill", "kill -9"])
def test_an_import_stopped_while_it_waits_for_quota_keeps_no_token_from_the_next(slow_run, home, stop):
    """The seller stops an import that waits three minutes for searchOrders' token (Ctrl-C, the service manager's
    SIGTERM, kill -9): the next import waits no longer than the stopped one would have."""
    taken = RateLimiter(os.environ.get("LINKOLIS_DATABASE_URL") or home / store.DB_FILE, SystemClock(), home=home)
    taken.reserve(QUOTA_KEY, SLOW)  # an import a moment ago took the token: the next comes in three minutes
    taken.close()
    first = start_import()
    try:
        waits = announced_wait(first)
        first.send_signal(stop)
        _, said = first.communicate(timeout=60)
    finally:
        first.kill()
    if stop == signal.SIGKILL:
        assert first.returncode == -signal.SIGKILL
    else:
        assert first.returncode == 1 and "Aborted!" in said and "Traceback" not in said, said
    assert 170 < waits < 181

    second = start_import()
    try:
        waits_next = announced_wait(second)
        second.send_signal(signal.SIGINT)
        second.communicate(timeout=60)
    finally:
        second.kill()
    assert waits_next <= waits, "the stopped import's token is still reserved"
    left = RateLimiter(os.environ.get("LINKOLIS_DATABASE_URL") or home / store.DB_FILE, SystemClock(), home=home)
    assert left.wait_time(QUOTA_KEY, SLOW) <= waits_next, "the second one's token went back too"
    left.close()
