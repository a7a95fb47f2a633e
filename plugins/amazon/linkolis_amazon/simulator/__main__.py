"""``python -m linkolis_amazon.simulator``: serve a local Amazon (LWA, Seller Central consent, SP-API) over HTTP."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from linkolis_host import Clock
from linkolis_host.testing.simulator import (
    add_notify_options,
    clock_of,
    command_line,
    notify_faults,
    printout,
    serve_until_interrupted,
    shop_options,
)

from .app import SimConfig, Simulator
from .lwa import DEFAULT_APPLICATION_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

DESCRIPTION = """\
Serve a local Amazon (Login with Amazon, Seller Central consent, SP-API) on this machine, and print the settings
that point linkolis at it, ready to paste.

One base URL serves every Amazon host:
  Login with Amazon     POST /auth/o2/token
  Seller Central        GET  /apps/authorize/consent?application_id=...&state=...[&version=beta][&redirect_uri=...]
  SP-API                /orders/2026-01-01/..., /listings/2021-08-01/..., /feeds/2021-06-30/..., /sellers/v1/...,
                        /notifications/v1/... (destinations, ORDER_CHANGE subscriptions)
  Feed documents        /s3/... (presigned upload and download URLs handed out by the Feeds API)
  Admin / ground truth  /_sim/health, /_sim/orders, /_sim/stock, /_sim/counters, /_sim/faults, ...
                        /_sim/requests (with --request-log: when each import and stock quantity arrived)
  A buyer's page        /_sim/shop ("Buy one" places an order, as POST /_sim/orders does)
Requests are checked against Amazon's own models; rate limits, expiries and feed progress follow the clock
(--time-scale speeds it up). The credentials it prints are the simulator's own throwaway values.
"""
EXAMPLES = """\
Examples:
  python -m linkolis_amazon.simulator --port 8320 --allow-loopback-redirects
      then paste the printed `export` lines into the shell that runs linkolis
  python -m linkolis_amazon.simulator --orders 5000 --skus 2000 --time-scale 60
      a bigger shop, an hour of Amazon's clock a minute
  python -m linkolis_amazon.simulator --sqs-endpoint http://127.0.0.1:5056 --notify-duplicate 0.5
      ORDER_CHANGE notifications to the SQS queue a subscription's destination names (moto's server here),
      half of them sent twice
  python -m linkolis_amazon.simulator --redirect-uri https://linkolis.example.com/apps/callback
      for `linkolis serve` at that address
"""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = command_line("python -m linkolis_amazon.simulator", DESCRIPTION, EXAMPLES)
    p.add_argument("--skus", type=int, default=40, help="listings generated (default 40; per seller)")
    p.add_argument(
        "--sellers",
        type=int,
        default=1,
        help="selling accounts, each with its own seeded orders, listings and rate buckets; with more than one each "
        "sells in one marketplace, taken in turn (default 1); POST /_sim/authorize gives each a refresh token",
    )
    p.add_argument(
        "--new-orders-per-hour",
        type=float,
        default=None,
        help="new orders per simulated hour (default: the history's rate)",
    )
    p.add_argument("--client-id", default=DEFAULT_CLIENT_ID, help="LWA client id the token endpoint accepts")
    p.add_argument(
        "--client-secret", default=DEFAULT_CLIENT_SECRET, help="LWA client secret the token endpoint accepts"
    )
    p.add_argument("--application-id", default=DEFAULT_APPLICATION_ID, help="application id the consent page knows")
    p.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        metavar="URI",
        help="registered OAuth redirect URI (repeatable; https only, as on Amazon)",
    )
    p.add_argument(
        "--allow-loopback-redirects",
        action="store_true",
        help="NOT AMAZON BEHAVIOUR: also accept any http://127.0.0.1:PORT (or localhost) redirect URI, registered "
        "or not, for development with linkolis' loopback receiver; Amazon accepts only registered https ones",
    )
    p.add_argument("--draft", action="store_true", help="the app is a draft: consent needs version=beta")
    p.add_argument("--login-uri", default=None, help="the app's log-in URI: consent goes there before redirecting")
    p.add_argument(
        "--listing-delay", type=float, default=60.0, help="seconds before accepted listing changes show (default 60)"
    )
    p.add_argument(
        "--feed-seconds",
        type=float,
        nargs=2,
        default=(30.0, 60.0),
        metavar=("QUEUE", "PROCESS"),
        help="seconds a feed stays IN_QUEUE, then IN_PROGRESS (default 30 60)",
    )
    p.add_argument(
        "--request-log",
        action="store_true",
        help="NOT AMAZON BEHAVIOUR: log when each searchOrders first page and each SKU's quantity (listing patch or "
        "feed) arrived, for GET /_sim/requests?since=N (benchmarks on a real clock); it grows with every call",
    )
    p.add_argument("--no-rate-limits", action="store_true", help="switch the token buckets off")
    add_notify_options(p, "ORDER_CHANGE notifications go to (each to the queue its destination's ARN names)")
    return p.parse_args(argv)


def build(args: argparse.Namespace, clock: Clock | None = None) -> Simulator:
    cfg = SimConfig(
        **shop_options(args),
        skus=args.skus,
        sellers=args.sellers,
        new_orders_per_hour=args.new_orders_per_hour,
        client_id=args.client_id,
        client_secret=args.client_secret,
        application_id=args.application_id,
        redirect_uris=list(args.redirect_uri),
        allow_loopback_redirects=args.allow_loopback_redirects,
        draft=args.draft,
        login_uri=args.login_uri,
        listing_visibility_delay=args.listing_delay,
        feed_queue_seconds=args.feed_seconds[0],
        feed_processing_seconds=args.feed_seconds[1],
        rate_limits=not args.no_rate_limits,
        request_log=args.request_log,
        sqs_endpoint=args.sqs_endpoint,
        notification_faults=notify_faults(args),
    )
    return Simulator(clock or clock_of(args), config=cfg)


def describe(sim: Simulator, base: str, args: argparse.Namespace) -> list[str]:
    """What the command prints once it listens: the base URL, the throwaway credentials, and the operator settings
    that point linkolis at it (names and meaning: linkolis_amazon/settings.py and docs/operations.md)."""
    settings: dict[str, str | bool] = {
        "endpoint": base,
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        "application_id": sim.application_id,
    }
    if len(args.redirect_uri) == 1:
        settings["redirect_uri"] = args.redirect_uri[0]
    if args.draft:
        settings["draft"] = True
    if args.login_uri:
        settings["login_uri"] = True
    more = len(sim.seller_ids) - 1
    consent = f"{base}/apps/authorize/consent?application_id={sim.application_id}&state=STATE"
    return printout(
        args,
        base,
        name="SP-API simulator",
        marketplace="Amazon",
        credentials={
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
            "application_id": sim.application_id,
            "seller": sim.default_seller_id + (f" and {more} more ({sim.seller_ids[1]} …)" if more else ""),
            "consent URL": consent + ("&version=beta" if args.draft else ""),
            "ground truth": f"{base}/_sim/orders  {base}/_sim/stock  {base}/_sim/counters",
        },
        notes=["  loopback redirects accepted (--allow-loopback-redirects: not Amazon behaviour)"]
        * args.allow_loopback_redirects
        + [
            f"  ORDER_CHANGE notifications go to {args.sqs_endpoint}"
            if args.sqs_endpoint
            else "  no --sqs-endpoint: ORDER_CHANGE notifications are not delivered"
        ],
        plugin_id="amazon",
        settings=settings,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return serve_until_interrupted(lambda clock: build(args, clock), args, lambda sim, base: describe(sim, base, args))


if __name__ == "__main__":
    raise SystemExit(main())
