"""A seller at a browser, for the demo and tests: opens the consent page, picks an account, clicks a button,
and follows the redirects — to the simulator, and to a loopback receiver over real HTTP."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urljoin, urlsplit

import httpx

LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}
MAX_HOPS = 10


class SellerBrowser:
    """``SellerBrowser(sim_client).open(consent_url)``: confirms (or cancels) as ``account``.

    ``sim_client`` reaches the simulator (in-process transport or HTTP); loopback addresses other than the
    simulator's own are visited with a plain HTTP client, as a browser would. ``pages`` keeps what was seen.
    """

    def __init__(self, sim_client: httpx.Client, account: str | None = None, action: str = "confirm") -> None:
        self.sim_client = sim_client
        self.account = account
        self.action = action
        self.pages: list[tuple[str, int, str]] = []
        self.final: httpx.Response | None = None

    def _client_for(self, url: str) -> httpx.Client | None:
        host = urlsplit(url).hostname or ""
        sim_host = self.sim_client.base_url.host if self.sim_client.base_url else ""
        if host in LOOPBACK and host != sim_host:
            return None
        return self.sim_client

    def _get(self, url: str) -> httpx.Response:
        client = self._client_for(url)
        if client is None:
            response = httpx.get(url, timeout=30)
        else:
            response = client.get(url)
        self.pages.append((url, response.status_code, response.text[:4000]))
        return response

    def open(self, url: str) -> httpx.Response:
        response = self._get(url)
        form = re.search(r'name="consent_session" value="([^"]+)"', response.text)
        if response.status_code != 200 or form is None:
            self.final = response
            return response  # an error page: a browser would show it and stop
        data = {"consent_session": unescape(form.group(1)), "action": self.action}
        if self.account:
            data["selling_partner_id"] = self.account
        action_url = urljoin(url, "/apps/authorize/consent")
        response = self.sim_client.post(action_url, data=data)
        self.pages.append((action_url, response.status_code, response.text[:4000]))
        hops = 0
        while response.status_code in (301, 302, 303, 307, 308) and hops < MAX_HOPS:
            hops += 1
            response = self._get(urljoin(str(response.request.url), response.headers["location"]))
        self.final = response
        return response
