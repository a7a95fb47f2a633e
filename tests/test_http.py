"""The HTTP client a plugin gets: it retries what retrying can cure, respects quotas, and says who it is."""

from __future__ import annotations

import httpx
import pytest

from linkolis_host import RateLimit, RateLimited, RemoteError
from linkolis_host.http import MAX_429_RETRIES, HttpClient
from linkolis_host.ratelimit import MARGIN_SECONDS, RateLimiter

URL = "https://api.market.invalid/orders"


class Market:
    """Answers each request with the next of ``answers`` (a status, or an exception to raise), then 200."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, type) and issubclass(answer, Exception):
            raise answer("simulated", request=request)
        return httpx.Response(answer, json={"n": len(self.requests)}, headers={"x-testmarket-request": "req-1"})


@pytest.fixture
def client(clock, home):
    made = []

    def make(market, limits=None, retries=3, limiter=None):
        http = HttpClient(
            clock=clock,
            transport=httpx.MockTransport(market),
            retries=retries,
            limiter=limiter,
            limits=limits,
            bucket_prefix="testmarket:SELLER1",
            request_id_header="x-testmarket-request",
        )
        made.append(http)
        return http

    yield make
    for http in made:
        http.close()


@pytest.fixture
def limiter(home, clock):
    from linkolis_host import store

    home.mkdir(parents=True, exist_ok=True)
    store.connect(home / "linkolis.db").close()
    made = RateLimiter(home / "linkolis.db", clock)
    yield made
    made.close()


def test_a_5xx_is_retried_with_growing_backoff(client, clock):
    market = Market(503, 502)
    http = client(market)
    assert http.get(URL).status_code == 200
    assert len(market.requests) == 3
    assert 1.0 + 2.0 <= clock.slept <= 2.0 + 4.0  # 2^n seconds, jittered down to half
    assert http.stats.retries["GET"] == 2


def test_a_connection_error_is_retried(client):
    market = Market(httpx.ConnectError, httpx.ReadTimeout)
    assert client(market).get(URL).status_code == 200
    assert len(market.requests) == 3


def test_a_5xx_that_keeps_coming_gives_up_with_the_status_and_request_id(client):
    market = Market(*[500] * 10)
    with pytest.raises(RemoteError) as error:
        client(market, retries=3).get(URL, operation="getOrders")
    assert (error.value.status, error.value.request_id) == (500, "req-1"), "read from the plugin's header"
    assert "getOrders: the marketplace answered 500" in str(error.value)
    assert len(market.requests) == 4


def test_the_request_id_header_is_the_plugins_not_the_hosts(clock):
    market = Market(*[500] * 10)
    http = HttpClient(clock=clock, transport=httpx.MockTransport(market), retries=0)
    try:
        with pytest.raises(RemoteError) as error:
            http.get(URL)
    finally:
        http.close()
    assert error.value.request_id is None, "another marketplace's header name means nothing here"


def test_a_post_is_not_repeated_once_it_may_have_arrived(client):
    market = Market(503)
    with pytest.raises(RemoteError):
        client(market).post(URL, json={"feed": 1})
    assert len(market.requests) == 1
    market = Market(httpx.ReadTimeout)
    with pytest.raises(RemoteError, match="no answer from api.market.invalid"):
        client(market).post(URL, json={"feed": 1})
    assert len(market.requests) == 1


def test_a_post_that_never_left_is_sent_again(client):
    market = Market(httpx.ConnectError)
    assert client(market).post(URL, json={"feed": 1}).status_code == 200
    assert len(market.requests) == 2


def test_a_post_the_plugin_says_is_safe_is_retried(client):
    market = Market(503)
    assert client(market).post(URL, retry=True).status_code == 200


def test_a_client_error_is_the_plugins_to_read(client):
    market = Market(400)
    assert client(market).get(URL).status_code == 400
    assert len(market.requests) == 1


def test_a_429_drains_the_bucket_and_the_call_resumes_when_it_refills(client, limiter, clock):
    limits = {"getOrders": RateLimit(rate=2, burst=5)}
    market = Market(429)
    http = client(market, limits=limits, limiter=limiter)
    assert http.get(URL, operation="getOrders").status_code == 200
    assert len(market.requests) == 2
    assert clock.slept == pytest.approx(0.5 + MARGIN_SECONDS, rel=0.01), "the retry waits for one token at 2 a second"
    assert http.stats.throttled["getOrders"] == 1


def test_a_429_without_a_declared_quota_backs_off(client, clock):
    market = Market(429)
    assert client(market).get(URL).status_code == 200
    assert 1.0 <= clock.slept <= 2.0


def test_a_429_that_keeps_coming_ends_in_rate_limited(client, limiter):
    market = Market(*[429] * 50)
    http = client(market, limits={"getOrders": RateLimit(rate=10, burst=1)}, limiter=limiter)
    with pytest.raises(RateLimited) as error:
        http.get(URL, operation="getOrders")
    assert error.value.status == 429
    assert len(market.requests) == MAX_429_RETRIES + 1


def test_calls_wait_for_the_operations_quota(client, limiter, clock):
    market = Market()
    http = client(market, limits={"getOrders": RateLimit(rate=1, burst=2)}, limiter=limiter)
    for _ in range(6):
        http.get(URL, operation="getOrders")
    # Four waits of a second, the first a margin longer (a call must not arrive a hair before the refill); the
    # margin is an offset, not a slower rate: the calls after it are a second apart.
    assert clock.slept == pytest.approx(4.0 + MARGIN_SECONDS, rel=0.01)
    http.get(URL, operation="undeclared")
    assert clock.slept == pytest.approx(4.0 + MARGIN_SECONDS, rel=0.01), "an operation without a quota does not wait"


def test_every_request_says_who_sends_it(client):
    market = Market()
    client(market).get(URL)
    agent = market.requests[0].headers["user-agent"]
    assert agent.startswith("linkolis/0.1.0 (Language=Python/")


# -- connections kept alive from one unit to the next --------------------------------------------------------------


class CountingServer:
    """A loopback HTTP/1.1 server that answers 200 and counts the connections it accepted."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 (the standard library's name)
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.accepted = 0
        server = self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        serve_one = server.process_request

        def counted(request, client_address):
            self.accepted += 1
            serve_one(request, client_address)

        server.process_request = counted
        self.url = f"http://127.0.0.1:{server.server_address[1]}/orders"

    def __enter__(self):
        import threading

        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("pooled", [True, False])
def test_the_clients_of_one_pool_reuse_one_connection_and_closing_one_keeps_it_open(clock, pooled):
    from linkolis_host.http import ClientPool

    pool = ClientPool()
    with CountingServer() as server:
        for _ in range(5):  # five units, each with its own client, as host.context makes them
            http = HttpClient(clock=clock, retries=0, pool=pool if pooled else None, probe=lambda url: True)
            assert http.get(server.url).status_code == 200
            http.close()
        pool.close()
        assert server.accepted == (1 if pooled else 5)


def test_a_host_shares_its_pool_with_its_forks_and_closes_it_itself(home):
    from linkolis_host.host import Host

    host = Host(home)
    twin = host.fork()
    assert twin.http_pool is host.http_pool
    client = host.http_pool.client("https://api.market.invalid/orders")
    twin.close()
    assert not client.is_closed, "a fork ending (a worker thread) closes no connection the others use"
    host.close()
    assert client.is_closed


def test_a_cookie_one_sellers_answer_sets_never_goes_with_anothers_request(clock):
    """The pool's clients serve every app of a marketplace: they keep no cookies."""
    from linkolis_host.http import ClientPool

    sent = []

    def market(request):
        sent.append(request.headers.get("cookie"))
        return httpx.Response(200, json={}, headers={"set-cookie": "session=seller-one; Path=/"})

    pool, transport = ClientPool(), httpx.MockTransport(market)
    for _ in range(2):
        http = HttpClient(clock=clock, retries=0, transport=transport, pool=pool)
        http.get(URL)
        http.close()
    pool.close()
    assert sent == [None, None]


def test_a_request_retried_through_the_pool_sends_its_headers_again(clock):
    from linkolis_host.http import ClientPool

    market = Market(503, 503)
    pool = ClientPool()
    http = HttpClient(clock=clock, retries=3, transport=httpx.MockTransport(market), pool=pool)
    assert http.get(URL, headers={"accept": "application/vnd.market+json"}).status_code == 200
    pool.close()
    assert [r.headers["accept"] for r in market.requests] == ["application/vnd.market+json"] * 3
    assert all(r.headers["user-agent"].startswith("linkolis") for r in market.requests)


def test_a_quota_wait_under_a_stop_ends_when_the_stop_comes(client, limiter, clock):
    import math
    import threading

    from linkolis_host.http import STOP_CHECK, Deferred, deferring

    market = Market()
    http = client(market, limits={"getOrders": RateLimit(rate=1 / 60, burst=1)}, limiter=limiter)
    http.get(URL, operation="getOrders")  # the burst's one token: the next waits a minute
    stop = threading.Event()
    waited = clock.sleep

    def sigterm_during_the_wait(seconds):
        waited(seconds)
        stop.set()  # serve stopping while an import started from a page waits for its quota

    clock.sleep = sigterm_during_the_wait
    with deferring(math.inf, stop), pytest.raises(Deferred):
        http.get(URL, operation="getOrders")
    assert clock.slept <= STOP_CHECK + 0.01, "the wait ended with the stop, not a minute later"
    assert len(market.requests) == 1, "and no request went after it"
