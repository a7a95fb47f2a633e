"""The HTTP client honours a 429's Retry-After and learns a quota a marketplace states in its answers."""

from __future__ import annotations

import httpx
import pytest

from linkolis_host import RateLimit, RateLimited
from linkolis_host.http import HttpClient
from linkolis_host.ratelimit import MARGIN_SECONDS, RateLimiter

URL = "https://api.market.invalid/orders"


@pytest.fixture
def limiter(home, clock):
    from linkolis_host import store

    home.mkdir(parents=True, exist_ok=True)
    store.connect(home / "linkolis.db").close()
    made = RateLimiter(home / "linkolis.db", clock)
    yield made
    made.close()


def _client(clock, handler, limiter=None, limits=None):
    return HttpClient(
        clock=clock,
        transport=httpx.MockTransport(handler),
        limiter=limiter,
        limits=limits,
        bucket_prefix="testmarket:SELLER1",
    )


def test_a_429_with_retry_after_is_waited_out_as_long_as_the_marketplace_asks(clock):
    answers = [httpx.Response(429, headers={"retry-after": "12"}), httpx.Response(200)]
    sent_at = []

    def market(request):
        sent_at.append(clock.time())
        return answers.pop(0)

    http = _client(clock, market)
    assert http.get(URL, operation="listOrders").status_code == 200
    assert sent_at[1] - sent_at[0] == pytest.approx(12.0)
    http.close()


def test_a_retry_after_as_an_http_date_counts_too_and_a_very_long_one_is_reported_at_once(clock):
    from email.utils import formatdate

    when = formatdate(clock.time() + 30, usegmt=True)
    answers = [httpx.Response(429, headers={"retry-after": when}), httpx.Response(200)]
    http = _client(clock, lambda request: answers.pop(0))
    started = clock.time()
    http.get(URL)
    assert clock.time() - started == pytest.approx(30.0, abs=1.0)
    http.close()

    http = _client(clock, lambda request: httpx.Response(429, headers={"retry-after": "3600"}))
    with pytest.raises(RateLimited, match="asks to wait 1 h"):
        http.get(URL)
    http.close()


def test_a_rate_the_marketplace_states_replaces_the_declared_one_for_the_account(clock, limiter):
    sent_at = []

    def market(request):
        sent_at.append(clock.time())
        return httpx.Response(200)

    http = _client(clock, market, limiter, {"listOrders": RateLimit(rate=10, burst=10)})
    http.learn_rate("listOrders", rate=0.5, burst=1)
    for _ in range(3):
        http.get(URL, operation="listOrders")
    assert sent_at[2] - sent_at[0] == pytest.approx(4.0 + MARGIN_SECONDS, abs=0.01)  # one every 2 s, not ten a second
    # Another client of the same account (another app, a forked host thread) waits for the learned limit too.
    twin = _client(clock, market, limiter, {"listOrders": RateLimit(rate=10, burst=10)})
    twin.get(URL, operation="listOrders")
    assert sent_at[3] - sent_at[2] == pytest.approx(2.0, abs=0.01)
    # An operation with no declared limit gets the one it is told.
    http.learn_rate("getOrder", rate=1, burst=1)
    http.get(URL, operation="getOrder")
    http.get(URL, operation="getOrder")
    assert sent_at[5] - sent_at[4] == pytest.approx(1.0 + MARGIN_SECONDS, abs=0.01)
    http.close()
    twin.close()
