"""Helpers shared by the simulator tests (imported by name: conftest puts this folder on sys.path)."""

from __future__ import annotations

import gzip
import json
from typing import Any
from urllib.parse import quote

import httpx
import jsonschema
from linkolis_amazon.simulator import Simulator, contract

START = 1_780_000_000.0  # 2026-05-28T20:26:40Z
UA = "LinkolisTest/1.0 (Language=Python/3.11; Platform=Linux)"
SELLER = "A1SIMSELLER001"
CT = "application/json; charset=UTF-8"
FEEDS = "/feeds/2021-06-30"
DE, FR, UK, US = "A1PA6795UKMFR9", "A13V1IB3VIYZZH", "A1F83G8C2ARO7P", "ATVPDKIKX0DER"


def make_sim(clock: Any, **kw: Any) -> Simulator:
    """A small simulator that checks its own responses against the models."""
    opts: dict[str, Any] = dict(
        orders=120,
        skus=24,
        new_orders_per_hour=0,
        validate_responses=True,
        listing_visibility_delay=60,
        redirect_uris=["https://app.example.com/amazon/callback"],
    )
    opts.update(kw)
    return Simulator(clock, **opts)


def lwa_token(client: httpx.Client, sim: Simulator, refresh_token: str) -> str:
    r = client.post(
        "/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
        },
    )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


class SpApi:
    """An SP-API client as a plugin would write one: LWA token, x-amz-access-token, user-agent."""

    def __init__(self, sim: Simulator, seller: str = SELLER, patient: bool = False) -> None:
        self.sim = sim
        self.seller = seller
        self.patient = patient  # on 429, wait on the simulator's clock and retry, as a polite client does
        self.http = sim.client()
        self.refresh_token = sim.authorize(seller)
        self.token = lwa_token(self.http, sim, self.refresh_token)

    def headers(self, **extra: str) -> dict[str, str]:
        return {"x-amz-access-token": self.token, "user-agent": UA, **extra}

    def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        while True:
            r = self.http.request(method, path, headers=self.headers(), **kw)
            if r.status_code == 403 and "expired" in r.text:
                self.token = lwa_token(self.http, self.sim, self.refresh_token)  # as a client does after an hour
                continue
            if r.status_code != 429 or not self.patient:
                return r
            self.sim.clock.sleep(30)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self._send("GET", path, params=_flat(params))

    def post(self, path: str, body: Any) -> httpx.Response:
        return self._send("POST", path, json=body)

    def patch(self, path: str, body: Any, **params: Any) -> httpx.Response:
        return self._send("PATCH", path, params=_flat(params), json=body)

    def listing_path(self, sku: str) -> str:
        return f"/listings/2021-08-01/items/{self.seller}/{quote(sku, safe='')}"


def _flat(params: dict[str, Any]) -> dict[str, str]:
    return {k: ",".join(v) if isinstance(v, (list, tuple)) else str(v) for k, v in params.items() if v is not None}


def qty_patch(quantity: int, op: str = "replace", channel: str = "DEFAULT", **extra: Any) -> dict[str, Any]:
    return {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": op,
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": channel, "quantity": quantity, **extra}],
            }
        ],
    }


def form_fields(html: str) -> dict[str, str]:
    """Hidden inputs and the selected option of the consent page's form, as a browser would submit them."""
    from html.parser import HTMLParser

    fields: dict[str, str] = {}

    class P(HTMLParser):
        select: str | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if tag == "input" and a.get("name"):
                fields[a["name"] or ""] = a.get("value") or ""
            elif tag == "select":
                self.select = a.get("name")
            elif tag == "option" and self.select and "selected" in a:
                fields[self.select] = a.get("value") or ""

    P().feed(html)
    return fields


# --- feeds ---------------------------------------------------------------------------------------------------


def patch_msg(
    mid: int, sku: str, qty: int, path: str = "/attributes/fulfillment_availability", op: str = "replace"
) -> dict[str, Any]:
    return {
        "messageId": mid,
        "sku": sku,
        "operationType": "PATCH",
        "productType": "PRODUCT",
        "patches": [{"op": op, "path": path, "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": qty}]}],
    }


def feed_doc(messages: list[dict[str, Any]], report: bool = False) -> dict[str, Any]:
    header: dict[str, Any] = {"sellerId": SELLER, "version": "2.0", "issueLocale": "en_US"}
    if report:
        header["report"] = {"includedData": ["fulfillmentAvailability", "summaries"], "apiVersion": "2021-08-01"}
    return {"header": header, "messages": messages}


def upload(api: SpApi, content: bytes, content_type: str = CT, conforms=None) -> str:
    r = api.post(f"{FEEDS}/documents", {"contentType": content_type})
    if conforms:
        conforms(r)
    assert r.status_code == 201, r.text
    doc = r.json()
    put = api.http.put(doc["url"], content=content, headers={"content-type": content_type})
    assert put.status_code == 200, put.text
    return doc["feedDocumentId"]


def submit(api: SpApi, doc: Any, conforms=None, markets=(DE,)) -> str:
    content = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    doc_id = upload(api, content, conforms=conforms)
    r = api.post(
        f"{FEEDS}/feeds",
        {"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": list(markets), "inputFeedDocumentId": doc_id},
    )
    if conforms:
        conforms(r)
    assert r.status_code == 202, r.text
    return r.json()["feedId"]


def finish(api: SpApi, feed_id: str, conforms=None) -> dict[str, Any]:
    api.sim.clock.advance(200)
    r = api.get(f"{FEEDS}/feeds/{feed_id}")
    if conforms:
        conforms(r)
    return r.json()


def report(api: SpApi, feed: dict[str, Any], conforms=None, **params: Any) -> dict[str, Any]:
    r = api.get(f"{FEEDS}/documents/{feed['resultFeedDocumentId']}", **params)
    if conforms:
        conforms(r)
    info = r.json()
    raw = api.http.get(info["url"]).content
    if info.get("compressionAlgorithm") == "GZIP" and not params.get("enableContentEncodingUrlHeader"):
        raw = gzip.decompress(raw)
    rep = json.loads(raw)
    jsonschema.validate(rep, contract.load_model(contract.REPORT_SCHEMA))
    return rep
