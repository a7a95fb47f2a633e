"""The Amazon app's exchanges with Amazon, recorded once and replayed with no network and no simulator.

What is recorded: the LWA token refresh, getMarketplaceParticipations, a tiny searchOrders and a
searchListingsItems, sent by the plugin's own client with the parameters of Amazon's sandbox examples, so that one
test records against either side:

- the simulator served over HTTP on loopback (the committed cassette)::

      .venv/bin/python -m pytest plugins/amazon/tests/test_cassettes.py --record-mode=rewrite

- Amazon's sandbox, when LINKOLIS_AMAZON_RECORD_REFRESH_TOKEN and LINKOLIS_AMAZON_RECORD_SELLER_ID are set,
  with LINKOLIS_AMAZON_CLIENT_ID and LINKOLIS_AMAZON_CLIENT_SECRET (docs/operations.md §5).

Replaying (`--record-mode=none`, the default) points every Amazon host at a dead loopback address and matches on
method, path and query: the cassette alone answers. Secrets and buyer data are filtered out before anything is
written, and `test_cassettes_hold_no_secret` checks that they were.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from linkolis_amazon import lwa
from linkolis_amazon.client import SpApi

from linkolis_host.host import Host
from linkolis_host.installed import App

CASSETTES = Path(__file__).parent / "cassettes"
SELLER = "A1SIMSELLER001"  # the merchant id cassettes show, whoever recorded them
REPLAY_ENDPOINT = "http://127.0.0.1:9"  # discard port: nothing answers there, so only the cassette can
SCRUBBED = "[scrubbed]"

# Taken at import: the suite's autouse fixture clears LINKOLIS_AMAZON_* before each test.
RECORDING = {
    name: os.environ.get(f"LINKOLIS_AMAZON_{name}", "")
    for name in ("RECORD_REFRESH_TOKEN", "RECORD_SELLER_ID", "CLIENT_ID", "CLIENT_SECRET")
}

# Amazon's sandbox answers only its models' example requests, and only exactly those (reference §9).
SANDBOX_ORDERS = {
    "createdAfter": "2024-12-20T00:00:00Z",
    "marketplaceIds": "A2Q3Y263D00KWC",
    "includedData": "BUYER,RECIPIENT,PROCEEDS,FULFILLMENT,TAX,PAYMENT",
}
SANDBOX_SKUS = ["GM-ZDPI-9B4E", "HW-ZDPI-9B4E", "TC-ZDPI-9B4E"]
SANDBOX_LISTINGS = {
    "identifiersType": "SKU",
    "identifiers": ",".join(SANDBOX_SKUS),
    "marketplaceIds": "ATVPDKIKX0DER,A2EUQ1WTGCTBG2",
    "includedData": "summaries,offers,fulfillmentAvailability,issues",
    "pageSize": 1,
}

# -- what must never reach a cassette ------------------------------------------------------------------------------

SECRET = re.compile(
    r"Atza\||Atzr\||Atz\.sprdt\||amzn1\.oa2-cs\."  # LWA access/refresh tokens, RDTs, client secrets
    r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"  # an e-mail address
)
TOKEN_TEXT = re.compile(r"Atz[a-z.]*\|[^\"'\s&,}]*")
EMAIL_TEXT = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
TOKEN_KEYS = {"access_token", "refresh_token"}
BUYER_KEYS = {
    "buyer",
    "recipient",
    "buyerInfo",
    "BuyerInfo",
    "shippingAddress",
    "ShippingAddress",
    "billingAddress",
    "deliveryAddress",
}
PERSONAL_KEYS = {"buyerEmail", "buyerName", "BuyerEmail", "BuyerName", "email", "phone", "Phone"}
KEEP_IN_ADDRESSES = {"countryCode", "CountryCode", "addressType", "AddressType"}


def secrets_in(text: str) -> list[str]:
    return [m.group(0) for m in SECRET.finditer(text)]


def _scrub(value: Any, personal: bool = False) -> Any:
    if isinstance(value, dict):
        return {
            k: (
                v
                if personal and k in KEEP_IN_ADDRESSES and isinstance(v, str)
                else SCRUBBED
                if k in TOKEN_KEYS | PERSONAL_KEYS and isinstance(v, str)
                else _scrub(v, personal or k in BUYER_KEYS)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_scrub(v, personal) for v in value]
    return SCRUBBED if personal and isinstance(value, str) else value


def scrub_text(text: str) -> str:
    return EMAIL_TEXT.sub(SCRUBBED, TOKEN_TEXT.sub(SCRUBBED, text))


def scrub_response(response: dict) -> dict:
    """vcr's before_record_response: tokens and buyer data out of the body, cookies out of the headers."""
    response["headers"] = {k: v for k, v in response["headers"].items() if k.lower() != "set-cookie"}
    body = response["body"]["string"]
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        text = json.dumps(_scrub(json.loads(text)), ensure_ascii=False)
    except ValueError:
        pass
    if RECORDING["RECORD_SELLER_ID"]:
        text = text.replace(RECORDING["RECORD_SELLER_ID"], SELLER)
    response["body"]["string"] = scrub_text(text).encode()
    for name in response["headers"]:
        if name.lower() == "content-length":
            response["headers"][name] = [str(len(response["body"]["string"]))]
    return response


def anonymize_request(request):
    """vcr's before_record_request (applied when matching too): the recording seller's merchant id becomes
    SELLER, and the simulator's random loopback port the replay address, so cassettes are stable."""
    parts = urlsplit(request.uri)
    path = parts.path
    if RECORDING["RECORD_SELLER_ID"]:
        path = path.replace(quote(RECORDING["RECORD_SELLER_ID"], safe=""), SELLER)
    netloc = urlsplit(REPLAY_ENDPOINT).netloc if parts.hostname in ("127.0.0.1", "localhost") else parts.netloc
    request.uri = urlunsplit(parts._replace(netloc=netloc, path=path))
    return request


@pytest.fixture
def vcr_config():
    fields = ["client_id", "client_secret", "refresh_token", "code"]
    return {
        "filter_headers": ["authorization", "x-amz-access-token", "cookie", "host"],
        "filter_query_parameters": fields,
        "filter_post_data_parameters": fields,
        "before_record_request": anonymize_request,
        "before_record_response": scrub_response,
        "decode_compressed_response": True,
        # Not the host: a cassette recorded at the sandbox or on the simulator's loopback port replays alike.
        "match_on": ["method", "path", "query"],
    }


# -- where the exchanges go ------------------------------------------------------------------------------------


@dataclass
class Amazon:
    source: str  # "replay", "simulator" or "sandbox"
    env: dict[str, str]
    refresh_token: str
    seller_id: str


@pytest.fixture
def default_cassette_name(request):
    """One cassette whatever store the test runs on (``LINKOLIS_TEST_STORES`` adds [sqlite] or [postgresql])."""
    return re.sub(r"\[(sqlite|postgresql)\]$", "", request.node.name)


@pytest.fixture
def amazon(vcr):
    if vcr.write_protected:
        yield Amazon(
            "replay",
            {
                "LINKOLIS_AMAZON_ENDPOINT": REPLAY_ENDPOINT,
                "LINKOLIS_AMAZON_CLIENT_ID": "amzn1.application-oa2-client.replay",
                "LINKOLIS_AMAZON_CLIENT_SECRET": "replay",
                "LINKOLIS_AMAZON_APPLICATION_ID": "replay",
            },
            "Atzr|replayed-from-the-cassette",
            SELLER,
        )
    elif RECORDING["RECORD_REFRESH_TOKEN"] and RECORDING["RECORD_SELLER_ID"]:
        yield Amazon(
            "sandbox",
            {
                "LINKOLIS_AMAZON_SANDBOX": "1",  # never production, whatever else is set
                "LINKOLIS_AMAZON_CLIENT_ID": RECORDING["CLIENT_ID"],
                "LINKOLIS_AMAZON_CLIENT_SECRET": RECORDING["CLIENT_SECRET"],
            },
            RECORDING["RECORD_REFRESH_TOKEN"],
            RECORDING["RECORD_SELLER_ID"],
        )
    else:
        from linkolis_amazon.simulator import Simulator

        sim = Simulator(
            seller_id=SELLER,
            marketplaces=("US", "CA", "BR"),
            orders=0,
            skus=0,
            new_orders_per_hour=0,
            validate_responses=True,
        )  # on the system clock, as served
        for sku in SANDBOX_SKUS:
            sim.add_listing(sku, ["US", "CA"], quantity=7)
        sim.add_listing("BR-BOTTLE-1", ["BR"], quantity=3)
        sim.add_order([("BR-BOTTLE-1", 1)], "BR", created=sim.clock.time() - 3600, status="UNSHIPPED")
        with sim.serve() as base_url:
            yield Amazon(
                "simulator",
                {
                    "LINKOLIS_AMAZON_ENDPOINT": base_url,
                    "LINKOLIS_AMAZON_CLIENT_ID": sim.client_id,
                    "LINKOLIS_AMAZON_CLIENT_SECRET": sim.client_secret,
                    "LINKOLIS_AMAZON_APPLICATION_ID": sim.application_id,
                },
                sim.authorize(),
                SELLER,
            )


@pytest.fixture
def host(home, amazon):
    """A host that talks HTTP for real (vcr sits in httpx's transport)."""
    h = Host(home, transport=None, env=amazon.env)
    yield h
    h.close()


# -- the recorded exchanges --------------------------------------------------------------------------------------


@pytest.mark.vcr
def test_the_apps_exchanges_with_amazon_replay_from_the_cassette(run, host, amazon):
    run("apps", "install", "amazon", "--name", "Amazon US", "--marketplace", "US", "--stock-sync")
    app = run.json(
        "apps",
        "authorize",
        "Amazon US",
        "--credential",
        "refresh_token=-",
        "--credential",
        f"selling_partner_id={amazon.seller_id}",
        input=amazon.refresh_token + "\n",
    )
    assert app["status"] == "authorized"
    api = SpApi(host.context(App.from_row(host.db["apps"].get(1))))

    participations = api.marketplace_participations()
    orders = api.search_orders(SANDBOX_ORDERS)
    listings = api.search_listings(SANDBOX_LISTINGS)

    assert api.ctx.state.get(lwa.TOKEN_KEY, secret=True)["token"]  # the refreshed access token, cached
    assert participations and all(p["marketplace"]["id"] for p in participations)
    assert any(p["participation"]["isParticipating"] for p in participations)
    assert orders["orders"] and {o["salesChannel"]["marketplaceId"] for o in orders["orders"]} == {"A2Q3Y263D00KWC"}
    assert listings["items"] and listings["items"][0]["sku"] in SANDBOX_SKUS
    if amazon.source == "replay":  # what was written is scrubbed: no buyer left in the order
        buyer = orders["orders"][0].get("buyer", {})
        assert all(value == SCRUBBED for value in buyer.values())


# -- the guard -----------------------------------------------------------------------------------------------------


def leaks_under(root: Path) -> dict[str, list[str]]:
    """Every file under ``root`` that holds a secret marker or an e-mail address, with what was found."""
    found = {
        str(p.relative_to(root)): secrets_in(p.read_text(errors="replace")) for p in root.rglob("*") if p.is_file()
    }
    return {name: hits for name, hits in found.items() if hits}


def test_cassettes_hold_no_secret():
    assert any(p.is_file() for p in CASSETTES.rglob("*.yaml"))
    assert leaks_under(CASSETTES) == {}


@pytest.mark.parametrize(
    "dirty",
    [
        "access_token: Atza|IwEBIJ2x-synthetic",
        "refresh_token=Atzr|IwEBIN8-synthetic",
        "x-amz-access-token: Atz.sprdt|IwEBIsynthetic",
        "client_secret: amzn1.oa2-cs.v1.0123456789abcdef",
        '"buyerEmail": "jane.doe+shop@marketplace.amazon.de"',
    ],
)
def test_the_guard_fails_on_a_cassette_with_a_secret(tmp_path, dirty):
    (tmp_path / "dirty").mkdir()
    (tmp_path / "dirty" / "leak.yaml").write_text(f"interactions:\n- response:\n    body: '{dirty}'\n")
    (tmp_path / "clean.yaml").write_text("interactions:\n- response:\n    body: '[scrubbed]'\n")

    assert list(leaks_under(tmp_path)) == ["dirty/leak.yaml"]


def test_the_filters_leave_nothing_the_guard_would_catch():
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {"Set-Cookie": ["session=abc"]},
        "body": {
            "string": json.dumps(
                {
                    "access_token": "Atza|IwEBIsynthetic",
                    "refresh_token": "Atzr|IwEBIsynthetic",
                    "orders": [
                        {
                            "orderId": "171-0000000-0000000",
                            "buyer": {"buyerEmail": "jane@marketplace.amazon.de", "buyerName": "Jane Doe"},
                            "recipient": {
                                "deliveryAddress": {
                                    "name": "Jane Doe",
                                    "addressLine1": "Hauptstr. 1",
                                    "phone": "+49 30 123456",
                                    "countryCode": "DE",
                                }
                            },
                        }
                    ],
                    "note": "write to john@example.com",
                }
            ).encode()
        },
    }

    scrubbed = scrub_response(response)
    text = scrubbed["body"]["string"].decode()

    assert not secrets_in(text) and "Jane" not in text and "Hauptstr" not in text and "123456" not in text
    order = json.loads(text)["orders"][0]
    assert order["orderId"] == "171-0000000-0000000"
    assert order["recipient"]["deliveryAddress"]["countryCode"] == "DE"
    assert "Set-Cookie" not in scrubbed["headers"]
